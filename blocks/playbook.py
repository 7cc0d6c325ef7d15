"""`/playbook` answers: search results, the most used entries, help, and confirmations.

Pure renderers: plain data in, `{blocks, text}` out (sent privately with
chat.postEphemeral). Entry text is what a person typed in a card's thread: it is escaped
and shortened like every other outside text, and never mentions anyone. Each entry the
viewer may retire carries a Retire button (action id `playbook-retire:<id>`, value `entry_ref(id)`,
with a confirmation dialog); the handler checks again on click.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    PlainTextObject,
    SectionBlock,
)

from blocks.escape import escape_mrkdwn, one_line
from blocks.format import DATE, kind_label, mention, signal_label, slack_date
from blocks.ids import PlaybookId
from blocks.parts import fit, md, quote, section
from blocks.refs import BadRef
from policy.models import CaseKind

MAX_SHOWN = 10
ENTRY_CHARS = 700
QUERY_CHARS = 100
MAX_BLOCKS = 50

ENTRY_PREFIX = "v1:playbook"
_ENTRY_REF = re.compile(rf"{re.escape(ENTRY_PREFIX)}:([1-9][0-9]{{0,18}})", re.ASCII)

HOW_TO_ADD = (
    "Start a reply in a case card's thread with `playbook:` to add it at once, or use "
    "*Save to playbook* (the ⋯ menu on any reply in a card's thread)."
)


@dataclass(frozen=True)
class PlaybookItem:
    """One entry as `/playbook` lists it."""

    id: int
    author: str  # Slack user id of who wrote the reply
    created_at: datetime  # when it was written
    text: str  # raw, as written
    kind: CaseKind
    signal_codes: tuple[str, ...] = ()
    uses: int = 0
    can_retire: bool = False  # the viewer may retire it: show the button

    def __post_init__(self) -> None:
        if self.created_at.tzinfo is None or self.created_at.utcoffset() is None:
            raise ValueError("PlaybookItem.created_at must be timezone-aware")


def entry_ref(entry_id: int) -> str:
    """The Retire button's value: `v1:playbook:<id>`."""
    if type(entry_id) is not int or entry_id < 1:
        raise BadRef(f"bad entry id {entry_id!r}")
    return f"{ENTRY_PREFIX}:{entry_id}"


def retire_action_id(entry_id: int) -> str:
    """`playbook-retire:<id>`; the handler matches `RETIRE_ACTION` (with or without the id)."""
    return f"{PlaybookId.RETIRE.value}:{entry_id}"


RETIRE_ACTION = re.compile(rf"^{re.escape(PlaybookId.RETIRE.value)}(:[0-9]+)?$")


def parse_entry_ref(raw: object) -> int:
    """The entry id from a Retire button's value; `BadRef` for anything we did not make."""
    if not isinstance(raw, str) or len(raw) > 40:
        raise BadRef("not a playbook reference")
    match = _ENTRY_REF.fullmatch(raw)
    if not match:
        raise BadRef("not a playbook reference")
    return int(match.group(1))


# --- answers --------------------------------------------------------------------------------


def render_search(query: str, items: list[PlaybookItem]) -> dict:
    """`/playbook <words>`: the entries holding every word, most used first."""
    q = escape_mrkdwn(one_line(query), QUERY_CHARS)
    if not items:
        text = f"Nothing in the playbook matches “{q}”."
        return _message([section(f":mag: {text}\n{HOW_TO_ADD}")], text)
    head = f":mag: *Playbook* · {_count(len(items))} matching “{q}”"
    return _message([section(head), *_entries(items)], f"Playbook: {_count(len(items))} matching “{q}”")


def render_most_used(items: list[PlaybookItem]) -> dict:
    """`/playbook` alone: the most used entries."""
    if not items:
        text = "The playbook is empty so far."
        return _message([section(f":notebook: {text}\n{HOW_TO_ADD}")], text)
    head = ":notebook: *Playbook* · most used\nSearch with `/playbook <words>`."
    return _message([section(head), *_entries(items)], f"Playbook: the {_count(len(items))} most used")


def render_help() -> dict:
    text = (
        ":notebook: *Playbook* — what the team learned on earlier cases, shown on new cards of the same kind.\n"
        "• `/playbook` — the most used entries\n"
        "• `/playbook <words>` — entries holding every word\n"
        "• `/playbook retire <id>` — retire an entry (its author or an approver)\n"
        f"{HOW_TO_ADD}"
    )
    return _message([section(text)], "Playbook help: /playbook, /playbook <words>, /playbook retire <id>")


def render_retired(item: PlaybookItem, by: str) -> dict:
    """The private confirmation after a retire."""
    quote = _quote(item.text, 300)
    text = f":wastebasket: Playbook entry *#{item.id}* retired by {mention(by)}. It no longer shows on cards.\n{quote}"
    return _message([section(text)], f"Playbook entry #{item.id} retired.")


def render_saved(item: PlaybookItem) -> dict:
    """The private confirmation after "Save to playbook" (or a `playbook:` reply)."""
    kind = escape_mrkdwn(kind_label(item.kind).lower())
    signals = ", ".join(signal_label(s) for s in item.signal_codes)
    where = (f"new {kind} cards with any of {escape_mrkdwn(signals, 300)} will show it" if signals
             else f"new {kind} cards will show it")
    text = f":notebook: Saved to the playbook as *#{item.id}*: {where}.\n{_quote(item.text, 300)}"
    return _message([section(text)], f"Saved to the playbook as #{item.id}.")


# --- pieces ---------------------------------------------------------------------------------


def _entries(items: list[PlaybookItem]) -> list[Block]:
    blocks: list[Block] = []
    for item in items[:MAX_SHOWN]:
        signals = ", ".join(signal_label(s) for s in item.signal_codes)
        about = escape_mrkdwn(kind_label(item.kind)) + (f" · {escape_mrkdwn(signals, 300)}" if signals else "")
        uses = "used once" if item.uses == 1 else f"used {item.uses} times"
        line = (f"*#{item.id}* · {mention(item.author)} · {slack_date(item.created_at, DATE)} · {uses}\n"
                f"{about}\n{_quote(item.text, ENTRY_CHARS)}")
        blocks.append(SectionBlock(text=_fitted_md(line), accessory=_retire_button(item) if item.can_retire else None))
    if len(items) > MAX_SHOWN:
        blocks.append(ContextBlock(elements=[_fitted_md(f"…and {len(items) - MAX_SHOWN} more: add a word to narrow it.")]))
    return blocks


def _retire_button(item: PlaybookItem) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text="Retire", emoji=False),
        action_id=retire_action_id(item.id),  # unique in the message, as Slack wants
        value=entry_ref(item.id),
        style="danger",
        confirm=ConfirmObject(
            title="Retire this entry?",
            text=f"Entry #{item.id} will no longer show on cards or in /playbook.",
            confirm="Retire",
            deny="Keep it",
        ),
    )


def _quote(text: str, limit: int) -> str:
    return quote(text, limit, empty="_(empty)_")


def _fitted_md(text: str):
    return md(fit(text))


def _count(n: int) -> str:
    return "1 entry" if n == 1 else f"{n} entries"








def _message(blocks: list[Block], text: str) -> dict:
    return {"blocks": [b.to_dict() for b in blocks[:MAX_BLOCKS]], "text": text[:3000]}
