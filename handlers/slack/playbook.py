"""The playbook in Slack: thread replies become notes, notes become entries, `/playbook`.

* `message` events (message.channels / message.groups): a person's reply in a case
  card's thread is stored as a note; `message_changed` edits it, `message_deleted` erases
  it (and retires its entry). Bot messages and the bot's own are ignored. A reply that
  starts with `playbook:` becomes an entry at once; its author gets a private "saved".
* "Save to playbook" message shortcut (`PlaybookId.SAVE_SHORTCUT`): promotes any reply in
  a card's thread after the fact.
* Claude's proposal in a decided case's thread (bot.services.playbook_proposals):
  `PlaybookId.PROPOSAL_SAVE` stores it once, `PROPOSAL_IGNORE` drops it; both re-render
  the message without buttons.
* `/playbook` (for whom `[access] lookup` allows, each use audited) lists the most used entries, `/playbook <words>` searches, `/playbook
  retire <id>` (or the Retire button on a result) retires one — its author, whoever saved
  it, or an approver (named in an approval tier, or in a user group named there).

Every listener acks first; the work runs after the ack (`after_ack`) with plain values.
Answers are ephemeral (chat.postEphemeral through the gateway); where the bot is not in
the channel (a DM, a channel it was never invited to) they go through the command's
`response_url` instead.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Callable

from slack_bolt import Ack, App

from blocks.ids import PlaybookId
from blocks.playbook import (
    RETIRE_ACTION,
    PlaybookItem,
    parse_entry_ref,
    render_help,
    render_most_used,
    render_retired,
    render_saved,
    render_search,
)
from blocks.format import mention
from blocks.playbook_proposal import parse_proposal_ref, render_proposal_ignored, render_proposal_saved
from blocks.refs import BadRef
from handlers.slack.errors import after_ack, correlation_id
from handlers.slack.services import services

log = logging.getLogger(__name__)

# Subtypes of a `message` event that are a person writing (a plain message has none).
HUMAN_SUBTYPES = frozenset({None, "thread_broadcast", "file_share", "me_message"})
# Where an ephemeral answer cannot go, so the response_url is used instead.
NOT_REACHABLE = frozenset({"channel_not_found", "not_in_channel", "user_not_in_channel"})

_RETIRE = re.compile(r"^(?:retire|remove)\s+#?([0-9]{1,18})$", re.IGNORECASE)
_HELP = frozenset({"help", "?", "-h", "--help"})


# --- reading Slack's messages --------------------------------------------------------------


_MARKUP = re.compile(r"<([^<>]*)>")


def _markup_to_plain(match: re.Match[str]) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if target.startswith("@"):  # <@U123> or <@U123|name>
        return "@" + (label or target[1:])
    if target.startswith("#"):  # <#C123|general>
        return "#" + (label or target[1:])
    if target.startswith("!subteam^"):  # <!subteam^S123|@team>
        return label or "@" + target[len("!subteam^"):]
    if target.startswith("!date^"):  # <!date^1700000000^{date}|Nov 14>
        return label or ""
    if target.startswith("!"):  # <!here>, <!channel>, <!everyone>
        return label or "@" + target[1:]
    if target.startswith("mailto:"):
        return label or target[len("mailto:"):]
    if label and label != target:
        return f"{label} ({target})"
    return target


def slack_text_to_plain(text: str | None) -> str:
    """A message's `text` as a person reads it: mentions and links as their labels,
    `&amp;` `&lt;` `&gt;` back to characters. Renderers escape it again when it is shown."""
    if not text:
        return ""
    plain = _MARKUP.sub(_markup_to_plain, text)
    # Slack escapes exactly these three; `&amp;` last, so a typed "&lt;" stays as typed.
    return plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


@dataclass(frozen=True)
class Reply:
    """A change to a possible thread reply, from one `message` event."""

    change: str  # new | edit | delete
    channel: str
    ts: str
    thread_ts: str | None
    author: str | None
    text: str = ""


def _is_bot(message: dict, bot_user_id: str | None, bot_id: str | None) -> bool:
    return bool(
        message.get("bot_id")
        or message.get("subtype") == "bot_message"
        or message.get("bot_profile")
        or (bot_user_id and message.get("user") == bot_user_id)
        or (bot_id and message.get("bot_id") == bot_id)
    )


def reply_from_event(event: dict, *, bot_user_id: str | None = None, bot_id: str | None = None) -> Reply | None:
    """The reply change this `message` event is, or None if it cannot be one (a top-level
    message, a bot's message, a join, an unfurl)."""
    if event.get("type") != "message" or not event.get("channel"):
        return None
    channel, subtype = event["channel"], event.get("subtype")
    if subtype == "message_changed":
        message, previous = event.get("message") or {}, event.get("previous_message") or {}
        if _is_bot(message, bot_user_id, bot_id) or message.get("subtype") not in HUMAN_SUBTYPES:
            return None
        ts, thread_ts = message.get("ts"), message.get("thread_ts")
        if not ts or not thread_ts or thread_ts == ts or not message.get("user"):
            return None
        if previous and previous.get("text") == message.get("text"):
            return None  # an unfurl or a reply count, not an edit
        return Reply("edit", channel, ts, thread_ts, message["user"], slack_text_to_plain(message.get("text")))
    if subtype == "message_deleted":
        previous = event.get("previous_message") or {}
        ts = event.get("deleted_ts") or previous.get("ts")
        if not ts or (previous and _is_bot(previous, bot_user_id, bot_id)):
            return None
        thread_ts = previous.get("thread_ts")
        if thread_ts == ts:
            return None  # a thread's parent: the card itself, or a top-level message
        return Reply("delete", channel, ts, thread_ts, previous.get("user"))
    if subtype not in HUMAN_SUBTYPES or _is_bot(event, bot_user_id, bot_id):
        return None
    ts, thread_ts, user = event.get("ts"), event.get("thread_ts"), event.get("user")
    if not ts or not thread_ts or thread_ts == ts or not user:
        return None
    text = slack_text_to_plain(event.get("text"))
    if not text:
        return None  # a file with no words: nothing to learn from
    return Reply("new", channel, ts, thread_ts, user, text)


# --- who may retire -----------------------------------------------------------------------


def is_approver(decide: Any, user: str) -> bool:
    """Named in an approval tier, or a member of a user group named there."""
    if any(user in tier.approvers for tier in decide.policy.tiers):
        return True
    try:
        return bool(decide.groups_of(user))
    except Exception:  # Slack could not say: not an approver, for now
        log.warning("playbook.approver_check_failed user=%s", user, exc_info=True)
        return False


def _item(entry: Any, can_retire: bool = False) -> PlaybookItem:
    return PlaybookItem(id=entry.id, author=entry.author, created_at=entry.created_at, text=entry.text,
                        kind=entry.kind, signal_codes=entry.signal_codes, uses=entry.uses, can_retire=can_retire)


def _items(svc: Any, entries: list, user: str) -> list[PlaybookItem]:
    approver: bool | None = None
    items = []
    for entry in entries:
        mine = user in (entry.author, entry.promoted_by)
        if not mine and approver is None:
            approver = is_approver(svc.decide, user)
        items.append(_item(entry, can_retire=mine or bool(approver)))
    return items


def answer_lookup(svc: Any, text: str, user: str, channel: str | None) -> dict:
    """`/playbook` for someone `[access] lookup` allows (audited either way), else who can."""
    refused = svc.lookup.access.check("/playbook", user=user, channel=channel, query=text,
                                      members=svc.decide.membership.members)
    if refused is not None:
        return {"text": refused}
    return answer_command(svc, text, user)


def answer_command(svc: Any, text: str, user: str) -> dict:
    """What `/playbook <text>` answers (blocks + text), run after the ack."""
    text = " ".join((text or "").split())
    if text.lower() in _HELP:
        return render_help()
    retire = _RETIRE.match(text)
    if retire:
        try:
            entry = svc.playbook.retire(int(retire.group(1)), user, is_approver=lambda u: is_approver(svc.decide, u))
        except svc.playbook.Refused as exc:
            return {"text": str(exc)}
        return render_retired(_item(entry), user)
    if not text:
        return render_most_used(_items(svc, svc.playbook.most_used(), user))
    return render_search(text, _items(svc, svc.playbook.search(text), user))


# --- answering --------------------------------------------------------------------------------


def _send(svc: Any, channel: str | None, user: str, message: dict, *, thread_ts: str | None = None,
          respond: Callable[..., Any] | None = None) -> None:
    """Privately, in the channel; through the response_url where the bot can't post."""
    try:
        if not channel:
            raise LookupError("no channel")
        svc.gateway.post_ephemeral(channel, user, text=message["text"], blocks=message.get("blocks"),
                                   thread_ts=thread_ts)
    except Exception as exc:
        reachable = isinstance(exc, LookupError) or getattr(exc, "error", None) in NOT_REACHABLE
        if respond is None or not reachable:
            raise
        respond(text=message["text"], blocks=message.get("blocks"), response_type="ephemeral",
                replace_original=False)


def _guarded(svc: Any, channel: str | None, user: str, respond, work: Callable[[], dict],
             thread_ts: str | None = None) -> Callable[[], None]:
    """after_ack work that always answers: the result, a refusal, or a correlation id."""

    def run() -> None:
        try:
            message = work()
        except (svc.playbook.Refused, BadRef) as exc:
            message = {"text": str(exc) if not isinstance(exc, BadRef) else "That button is not one of ours."}
        except Exception:
            ref = correlation_id()
            log.exception("playbook.failed ref=%s user=%s", ref, user)
            message = {"text": f"Something went wrong on our side and nothing was changed. Reference: `{ref}`."}
        try:
            _send(svc, channel, user, message, thread_ts=thread_ts, respond=respond)
        except Exception:
            log.exception("playbook.answer_failed user=%s channel=%s", user, channel)

    return run


# --- listeners -------------------------------------------------------------------------------


def register(app: App) -> None:
    """Registers this module's listeners on the Bolt app."""

    @app.event("message")
    def on_message(ack: Ack, body: dict, event: dict, context: dict) -> None:
        """Every message event in the bot's channels lands here; only thread replies are work."""
        ack()
        reply = reply_from_event(event, bot_user_id=context.get("bot_user_id"), bot_id=context.get("bot_id"))
        if reply is None:
            return
        event_id = body.get("event_id")

        def work() -> None:
            svc = services(context)
            if reply.change == "new":
                outcome = svc.playbook.record_reply(channel=reply.channel, ts=reply.ts, thread_ts=reply.thread_ts,
                                                    author=reply.author, text=reply.text, event_id=event_id)
            elif reply.change == "edit":
                outcome = svc.playbook.edit_reply(channel=reply.channel, ts=reply.ts, thread_ts=reply.thread_ts,
                                                  author=reply.author, text=reply.text, event_id=event_id)
            else:
                outcome = svc.playbook.delete_reply(channel=reply.channel, ts=reply.ts, thread_ts=reply.thread_ts,
                                                    author=reply.author, event_id=event_id)
            if outcome.promoted is not None and reply.author:
                _send(svc, reply.channel, reply.author, render_saved(_item(outcome.promoted)),
                      thread_ts=reply.thread_ts)

        after_ack(context, work, body=body, refused=())

    @app.shortcut(PlaybookId.SAVE_SHORTCUT.value)
    def on_save(ack: Ack, body: dict, context: dict, respond) -> None:
        """"Save to playbook" from a message's ⋯ menu."""
        ack()
        svc = services(context)
        channel = (body.get("channel") or {}).get("id")
        user = (body.get("user") or {}).get("id")
        message = body.get("message") or {}
        ts = message.get("ts") or body.get("message_ts")
        thread_ts = message.get("thread_ts")
        author = message.get("user")
        text = slack_text_to_plain(message.get("text"))
        from_bot = _is_bot(message, context.get("bot_user_id"), context.get("bot_id"))

        def work() -> dict:
            if from_bot or not ts or not channel:
                return {"text": "Save to playbook works on people's replies in a case card's thread."}
            outcome = svc.playbook.promote(channel=channel, ts=ts, by=user, thread_ts=thread_ts, author=author,
                                           text=text)
            if outcome.status == "promoted":
                return render_saved(_item(outcome.entry))
            if outcome.status == "already":
                entry = outcome.entry
                if entry.retired:
                    return {"text": f"That reply was playbook entry #{entry.id}, retired since."}
                return {"text": f"That reply is in the playbook already, as #{entry.id}."}
            if outcome.status == "deleted":
                return {"text": "That reply was deleted."}
            if outcome.status == "empty":
                return {"text": "That reply has no text to save."}
            return {"text": "Save to playbook works on people's replies in a case card's thread."}

        svc.background.submit(_guarded(svc, channel, user, respond, work, thread_ts=thread_ts))

    @app.command("/playbook")
    def on_command(ack: Ack, body: dict, context: dict, respond) -> None:
        ack()
        svc = services(context)
        text, user, channel = body.get("text") or "", body.get("user_id"), body.get("channel_id")
        svc.background.submit(_guarded(svc, channel, user, respond, lambda: answer_lookup(svc, text, user, channel)))

    @app.action(RETIRE_ACTION)
    def on_retire(ack: Ack, body: dict, context: dict, respond) -> None:
        ack()
        svc = services(context)
        value = ((body.get("actions") or [{}])[0]).get("value")
        user = (body.get("user") or {}).get("id")
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")

        def work() -> dict:
            entry = svc.playbook.retire(parse_entry_ref(value), user,
                                        is_approver=lambda u: is_approver(svc.decide, u))
            return render_retired(_item(entry), user)

        svc.background.submit(_guarded(svc, channel, user, respond, work))

    @app.action(PlaybookId.PROPOSAL_SAVE.value)
    def on_proposal_save(ack: Ack, body: dict, context: dict, respond) -> None:
        """"Save to playbook" under Claude's proposal: the entry once, the buttons gone."""
        ack()
        _answer_proposal(services(context), body, respond, save=True)

    @app.action(PlaybookId.PROPOSAL_IGNORE.value)
    def on_proposal_ignore(ack: Ack, body: dict, context: dict, respond) -> None:
        ack()
        _answer_proposal(services(context), body, respond, save=False)


def _answer_proposal(svc: Any, body: dict, respond, *, save: bool) -> None:
    value = ((body.get("actions") or [{}])[0]).get("value")
    user = (body.get("user") or {}).get("id")
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    thread_ts = (body.get("message") or {}).get("thread_ts") or (body.get("container") or {}).get("thread_ts")

    def work() -> dict | None:
        proposals = svc.proposals
        proposal_id = parse_proposal_ref(value)
        answer = proposals.save(proposal_id, by=user) if save else proposals.ignore(proposal_id, by=user)
        if answer.status == "gone":
            return {"text": "That proposal's case is gone."}
        proposal = answer.proposal
        view = proposals.view(proposal)
        if proposal.status == "saved":
            message = render_proposal_saved(view, entry_id=proposal.entry_id, by=proposal.answered_by)
        else:
            message = render_proposal_ignored(view, by=proposal.answered_by)
        if proposal.channel and proposal.ts:  # the thread message keeps no buttons, whoever answered first
            try:
                svc.gateway.update_message(proposal.channel, proposal.ts, blocks=message["blocks"],
                                           text=message["text"])
            except Exception:  # answered and stored; the next click re-renders it
                log.warning("playbook.proposal_update_failed proposal_id=%s", proposal.id, exc_info=True)
        if answer.status == "saved":
            return render_saved(_item(answer.entry))
        if answer.status == "already":
            how = (f"saved as playbook entry #{proposal.entry_id}" if proposal.status == "saved" else "ignored")
            return {"text": f"That proposal was {how} already, by {mention(proposal.answered_by)}."}
        return None  # ignored: the message says so

    def run() -> None:
        try:
            message = work()
        except BadRef:
            message = {"text": "That button is not one of ours."}
        except Exception:
            ref = correlation_id()
            log.exception("playbook.proposal_failed ref=%s user=%s", ref, user)
            message = {"text": f"Something went wrong on our side and nothing was changed. Reference: `{ref}`."}
        if message is None:
            return
        try:
            _send(svc, channel, user, message, thread_ts=thread_ts, respond=respond)
        except Exception:
            log.exception("playbook.answer_failed user=%s channel=%s", user, channel)

    svc.background.submit(run)
