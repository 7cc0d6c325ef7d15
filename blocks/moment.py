"""A moment's alert card (a high-value order, a VIP event) and its follow-up task, the
open follow-ups list (`/followups`, App Home) and the task reference the buttons carry.

Pure: `MomentView` in, `{blocks, text}` out. Everything the store or the customer wrote
(names, titles, tags) is escaped. While the task is open the card carries Done, Snooze
(1 day / 1 week) and Reassign (a user picker); done, it says who did it and when.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    Option,
    OverflowMenuElement,
    PlainTextObject,
    UserSelectElement,
)

from blocks.escape import escape_mrkdwn, one_line, plain
from blocks.format import mention, slack_date
from blocks.ids import ActionId, BlockId, OptionValue
from blocks.parts import SAMPLE_STORE_LINE, md, section

TRIGGER_LABELS = {
    "order_over": ":moneybag: High-value order",
    "first_order_over": ":sparkles: Big first order",
    "became_vip": ":star2: New VIP",
    "vip_order_delayed": ":hourglass: VIP order delayed",
    "vip_order_returned": ":leftwards_arrow_with_hook: VIP return",
}
SNOOZES = {OptionValue.SNOOZE_DAY: ("1 day", 1), OptionValue.SNOOZE_WEEK: ("1 week", 7)}
ITEMS_SHOWN = 8
LIST_SHOWN = 20

_REF = re.compile(r"task:([1-9][0-9]{0,17}):([0-9]{1,9})")


class BadTaskRef(ValueError):
    """Not a follow-up reference returnsbot made."""


@dataclass(frozen=True)
class TaskRef:
    task_id: int
    version: int

    def __str__(self) -> str:
        return f"task:{self.task_id}:{self.version}"

    @classmethod
    def parse(cls, raw: object) -> TaskRef:
        if not isinstance(raw, str) or len(raw) > 40:
            raise BadTaskRef("not a follow-up reference")
        match = _REF.fullmatch(raw)
        if match is None:
            raise BadTaskRef("not a follow-up reference")
        return cls(task_id=int(match.group(1)), version=int(match.group(2)))


def snooze_value(ref: TaskRef, choice: OptionValue) -> str:
    return f"{ref}|{choice.value}"


def parse_snooze(raw: object) -> tuple[TaskRef, int]:
    """(the task, days to snooze) from an overflow option value."""
    if not isinstance(raw, str) or "|" not in raw:
        raise BadTaskRef("not a snooze choice")
    ref, _, choice = raw.rpartition("|")
    for option, (_, days) in SNOOZES.items():
        if choice == option.value:
            return TaskRef.parse(ref), days
    raise BadTaskRef("not a snooze choice")


def parse_block_ref(block_id: object) -> TaskRef:
    prefix = f"{BlockId.FOLLOWUP_TASK}:"
    if not isinstance(block_id, str) or not block_id.startswith(prefix):
        raise BadTaskRef("not a follow-up block")
    return TaskRef.parse(block_id[len(prefix):])


@dataclass(frozen=True)
class TaskView:
    id: int
    version: int
    text: str
    owner: str | None
    due_at: datetime
    first_due_at: datetime
    done_at: datetime | None = None
    done_by: str | None = None

    @property
    def ref(self) -> TaskRef:
        return TaskRef(self.id, self.version)


@dataclass(frozen=True)
class MomentView:
    id: int
    trigger: str
    why: str
    order_name: str | None
    customer_name: str | None
    amount: str  # formatted money
    owner: str
    detail: dict[str, Any]
    now: datetime
    task: TaskView | None = None
    tags: dict[str, list[str]] = field(default_factory=dict)  # "customer"/"order" -> tags asked for
    tags_done: dict[str, str] = field(default_factory=dict)  # target -> what the store said, once done
    sample_store: bool = False


def render_moment_card(view: MomentView) -> dict[str, Any]:
    title = TRIGGER_LABELS.get(view.trigger, "Moment").split(" ", 1)[-1]
    who = view.customer_name or "a guest"
    text = f"{title}: {one_line(who)} — {view.order_name or ''} {view.amount}".strip()
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=plain(f"{title}: {who}", 150)))]
    if view.sample_store:
        blocks.append(ContextBlock(elements=[md(SAMPLE_STORE_LINE)]))
    blocks.append(section(f"*{escape_mrkdwn(one_line(view.why), 400)}*"))
    blocks.append(section("\n".join(_who_lines(view))))
    items = _items(view.detail.get("items") or [])
    if items:
        blocks.append(section(f"*What they bought* ({escape_mrkdwn(view.order_name or '', 64)}, {view.amount})\n"
                              + items))
    history = _history(view.detail)
    if history:
        blocks.append(ContextBlock(elements=[md(history)]))
    tags = _tag_lines(view)
    if tags:
        blocks.append(ContextBlock(elements=[md(tags)]))
    blocks.extend(_task_blocks(view))
    card = {"blocks": [b.to_dict() for b in blocks], "text": plain(text, 3000)}
    return card


def _who_lines(view: MomentView) -> list[str]:
    d = view.detail
    name = escape_mrkdwn(one_line(view.customer_name or "Guest checkout"), 200)
    lines = [f"*Who:* {name}" + (f" ({escape_mrkdwn(one_line(d['email']), 200)})" if d.get("email") else "")]
    if d.get("lifetime_spend") is not None:
        orders = d.get("orders_count")
        lines.append(f"*Lifetime value:* {escape_mrkdwn(str(d['lifetime_spend']), 40)}"
                     + (f" over {orders} order{'s' if orders != 1 else ''}" if orders is not None else ""))
    if d.get("customer_tags"):
        lines.append("*Tagged:* " + ", ".join(escape_mrkdwn(one_line(t), 60) for t in d["customer_tags"][:10]))
    lines.append(f"*Owner:* {mention(view.owner)}")
    return lines


def _items(items: list[dict[str, Any]]) -> str:
    lines = [f"• {int(i.get('quantity') or 1)} × {escape_mrkdwn(one_line(str(i.get('title') or '')), 120)}"
             + (f" — {escape_mrkdwn(str(i['amount']), 40)}" if i.get("amount") else "")
             for i in items[:ITEMS_SHOWN]]
    if len(items) > ITEMS_SHOWN:
        lines.append(f"…and {len(items) - ITEMS_SHOWN} more")
    return "\n".join(lines)


def _history(d: dict[str, Any]) -> str:
    if d.get("history_orders") is None:
        return ""
    parts = [f"History: {d['history_orders']} order(s)"]
    if d.get("history_returns") is not None:
        parts.append(f"{d['history_returns']} return(s)")
    if d.get("history_days") is not None:
        parts.append(f"in the last {d['history_days']} days")
    if d.get("customer_since"):
        parts.append(f"customer since {escape_mrkdwn(str(d['customer_since'])[:10], 20)}")
    return " · ".join(parts)


def _tag_lines(view: MomentView) -> str:
    parts = []
    for target, tags in view.tags.items():
        if not tags:
            continue
        state = view.tags_done.get(target)
        shown = ", ".join(f"`{escape_mrkdwn(one_line(t), 60)}`" for t in tags)
        parts.append(f":label: {target.capitalize()} tags {shown}: " + (escape_mrkdwn(state, 200) if state else "queued"))
    return "\n".join(parts)


def _task_blocks(view: MomentView) -> list[Block]:
    task = view.task
    if task is None:
        return []
    out: list[Block] = [DividerBlock()]
    owner = mention(task.owner) if task.owner else "anyone here"
    text = escape_mrkdwn(one_line(task.text), 300)
    if task.done_at is not None:
        on_time = "on time" if task.done_at <= task.first_due_at else "late"
        out.append(section(f":white_check_mark: *Follow-up done* by {mention(task.done_by)} "
                           f"{slack_date(task.done_at)} ({on_time}): ~{text}~"))
        return out
    due = slack_date(task.due_at)
    overdue = " :rotating_light: *overdue*" if task.due_at <= view.now else ""
    out.append(section(f":memo: *Follow-up:* {text}\nOwner: {owner} · due {due}{overdue}"))
    ref = task.ref
    out.append(ActionsBlock(block_id=f"{BlockId.FOLLOWUP_TASK}:{ref}", elements=[
        ButtonElement(action_id=ActionId.FOLLOWUP_DONE, text=PlainTextObject(text="Done"), value=str(ref),
                      style="primary"),
        OverflowMenuElement(action_id=ActionId.FOLLOWUP_SNOOZE, options=[
            Option(value=snooze_value(ref, choice), text=PlainTextObject(text=f"Snooze {label}"))
            for choice, (label, _) in SNOOZES.items()]),
        UserSelectElement(action_id=ActionId.FOLLOWUP_REASSIGN,
                          placeholder=PlainTextObject(text="Reassign to…"),
                          initial_user=task.owner),
    ]))
    return out


# --- the open follow-ups list (/followups, App Home) -----------------------------------


@dataclass(frozen=True)
class OpenTask:
    text: str
    owner: str | None
    due_at: datetime
    title: str  # "Big first order: Ada Lovelace #1042"


def open_tasks_lines(tasks: list[OpenTask], now: datetime) -> list[str]:
    lines = []
    for t in tasks[:LIST_SHOWN]:
        overdue = " :rotating_light: overdue" if t.due_at <= now else ""
        owner = mention(t.owner) if t.owner else "unassigned"
        lines.append(f"• {escape_mrkdwn(one_line(t.text), 200)} — {escape_mrkdwn(one_line(t.title), 200)} · "
                     f"{owner} · due {slack_date(t.due_at)}{overdue}")
    if len(tasks) > LIST_SHOWN:
        lines.append(f"…and {len(tasks) - LIST_SHOWN} more")
    return lines


def render_open_tasks(tasks: list[OpenTask], now: datetime, *, whose: str | None = None) -> dict[str, Any]:
    """The `/followups` answer: every open follow-up (or one person's), soonest due first."""
    heading = f"Open follow-ups of {mention(whose)}" if whose else "Open follow-ups"
    if not tasks:
        text = f"{heading}: none. :tada:"
        return {"blocks": [section(text).to_dict()], "text": plain(text.replace(":tada:", ""), 3000)}
    body = f"*{heading}* ({len(tasks)})\n" + "\n".join(open_tasks_lines(tasks, now))
    return {"blocks": [section(body).to_dict()], "text": f"{len(tasks)} open follow-up(s)"}
