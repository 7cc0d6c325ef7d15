"""A moment's follow-up in Slack: Done, Snooze (1 day / 1 week), Reassign, and `/followups`.

Acked first; the change runs after the ack on the background executor (a compare-and-set
on the version in the button, see bot.services.moments.FollowTasks) and the card is
re-rendered by its job. These are not case clicks, so they are not stored as click intents
before the ack: a click lost to a crash changes nothing and its button is still there.
A reference we did not make, or a change refused (done already, an old card), is answered
privately to the clicker.
"""

from __future__ import annotations

import logging

from slack_bolt import Ack, App

from blocks.ids import ActionId
from blocks.moment import BadTaskRef, TaskRef, parse_block_ref, parse_snooze, render_open_tasks
from handlers.slack.clicks import NOT_OURS, refuse
from handlers.slack.errors import after_ack
from handlers.slack.services import services

log = logging.getLogger(__name__)


def _refused():
    from bot.services.moments import TaskRefused  # the contract with FollowTasks

    return (TaskRefused,)


def _action(body: dict) -> dict:
    actions = body.get("actions")
    return actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}


def _user(body: dict) -> str | None:
    return (body.get("user") or {}).get("id")


def register(app: App) -> None:
    @app.action(ActionId.FOLLOWUP_DONE.value)
    def on_done(ack: Ack, body: dict, context: dict) -> None:
        ack()
        user = _user(body)
        try:
            ref = TaskRef.parse(_action(body).get("value"))
            if not user:
                raise BadTaskRef("no user")
        except BadTaskRef:
            refuse(context, body, "bad_click:task", NOT_OURS)
            return
        tasks = services(context).tasks
        after_ack(context, lambda: tasks.done(ref.task_id, user, version=ref.version), body=body, refused=_refused())

    @app.action(ActionId.FOLLOWUP_SNOOZE.value)
    def on_snooze(ack: Ack, body: dict, context: dict) -> None:
        ack()
        user = _user(body)
        try:
            ref, days = parse_snooze((_action(body).get("selected_option") or {}).get("value"))
            if not user:
                raise BadTaskRef("no user")
        except BadTaskRef:
            refuse(context, body, "bad_click:task", NOT_OURS)
            return
        tasks = services(context).tasks
        after_ack(context, lambda: tasks.snooze(ref.task_id, user, version=ref.version, days=days), body=body,
                  refused=_refused())

    @app.action(ActionId.FOLLOWUP_REASSIGN.value)
    def on_reassign(ack: Ack, body: dict, context: dict) -> None:
        ack()
        action, user = _action(body), _user(body)
        to = action.get("selected_user")
        try:
            ref = parse_block_ref(action.get("block_id"))
            if not user or not isinstance(to, str) or not to[:1] in ("U", "W"):
                raise BadTaskRef("no user picked")
        except BadTaskRef:
            refuse(context, body, "bad_click:task", NOT_OURS)
            return
        tasks = services(context).tasks
        after_ack(context, lambda: tasks.reassign(ref.task_id, user, version=ref.version, to=to), body=body,
                  refused=_refused())

    @app.command("/followups")
    def on_command(ack: Ack, body: dict, context: dict, respond) -> None:
        ack()
        svc = services(context)
        user = body.get("user_id")
        mine = (body.get("text") or "").strip().lower() in ("mine", "me")

        def answer() -> None:
            if not mine:  # everyone's names and orders: for whom `[access] lookup` allows, like /order
                refused = svc.lookup.access.check("/followups", user=user, channel=body.get("channel_id"),
                                                  query=body.get("text") or "", members=svc.decide.membership.members)
                if refused is not None:
                    respond(response_type="ephemeral", text=f"{refused} `/followups mine` lists your own.")
                    return
            tasks = svc.tasks.open_list(owner=user if mine else None)
            respond(response_type="ephemeral", **render_open_tasks(tasks, svc.tasks.clock(), whose=user if mine else None))

        after_ack(context, answer, body=body, refused=_refused())
