"""The App Home tab: a person's queue and their recent decisions (pure renderer)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from slack_sdk.models.blocks import ContextBlock, DividerBlock, HeaderBlock, MarkdownTextObject, SectionBlock
from slack_sdk.models.views import View

from blocks.parts import fit
from blocks.escape import escape_mrkdwn, link
from blocks.format import ago, kind_label, signal_label, slack_date
from policy.models import Action, CaseKind, CaseStatus, Money
from policy.priority import level_of


class HomeCase(Protocol):
    id: int
    kind: CaseKind
    status: CaseStatus
    order_name: str | None
    customer_name: str | None
    amount: Money
    recommended_action: str
    signal_codes: tuple[str, ...]
    opened_at: datetime
    decided_at: datetime | None
    decided_action: str | None
    priority_rank: int | None  # a ticket's (policy.priority.rank_of); None for other cases
    reply_due_at: datetime | None  # a ticket's SLA: when the first reply is due


def render_home(queue: list[tuple[HomeCase, str | None]], queue_total: int,
                recent: list[tuple[HomeCase, str | None]], now: datetime, *,
                followups: list[str] | None = None) -> dict:
    """A `home` view: queue (in the order given: tickets by priority, then longest waiting),
    the person's open follow-ups (mrkdwn lines, blocks.moment.open_tasks_lines; None: not
    shown), then recent decisions; ≤ 50 blocks."""
    blocks: list = [HeaderBlock(text="Waiting for you")]
    if not queue:
        blocks.append(SectionBlock(text=_md("Nothing is waiting on your tier. :white_check_mark:")))
    for case, url in queue:
        title = f"*{escape_mrkdwn(kind_label(case.kind))} · {escape_mrkdwn(case.order_name or '')} · {case.amount.format()}*"
        signals = ", ".join(signal_label(s) for s in case.signal_codes) or "no risk signals"
        line = (f"{title}\n{escape_mrkdwn(case.customer_name or 'guest', 80)} — recommended "
                f"{Action(case.recommended_action).label}; {escape_mrkdwn(signals, 300)}\n"
                f"Waiting {ago(case.opened_at, now).removesuffix(' ago')}"
                + _sla(case, now)
                + (" · escalated" if case.status is CaseStatus.ESCALATED else "")
                + (f" · {link(url, 'open the card')}" if url else ""))
        blocks.append(SectionBlock(text=_md(line)))
    if queue_total > len(queue):
        blocks.append(ContextBlock(elements=[_md(f"…and {queue_total - len(queue)} more, in the order above.")]))
    if followups is not None:
        blocks += [DividerBlock(), HeaderBlock(text="Your follow-ups")]
        text = "\n".join(followups) if followups else "No open follow-ups. :white_check_mark:"
        blocks.append(SectionBlock(text=_md(fit(text))))
    blocks += [DividerBlock(), HeaderBlock(text="Your recent decisions")]
    if not recent:
        blocks.append(SectionBlock(text=_md("You haven't decided a case yet.")))
    for case, url in recent:
        what = Action(case.decided_action).label if case.decided_action in Action._value2member_map_ else "decided"
        line = (f"*{escape_mrkdwn(case.order_name or '')}* {escape_mrkdwn(kind_label(case.kind).lower())} "
                f"{case.amount.format()} — {what}"
                + (f", {slack_date(case.decided_at)}" if case.decided_at else "")
                + (f" · {link(url, 'card')}" if url else ""))
        blocks.append(ContextBlock(elements=[_md(line)]))
    return View(type="home", blocks=blocks[:50]).to_dict()


def _sla(case: HomeCase, now: datetime) -> str:
    """" · *urgent* · reply due in 40 minutes" / " · *high* · :rotating_light: reply overdue by 2 hours";
    nothing for a case that is not a ticket."""
    level = level_of(getattr(case, "priority_rank", None))
    due = getattr(case, "reply_due_at", None)
    if level is None:
        return ""
    text = f" · *{level.value}*"
    if due is not None:
        when = ago(due, now)
        if when == "just now":
            text += " · reply due now"
        elif due <= now:
            text += f" · :rotating_light: reply overdue by {when.removesuffix(' ago')}"
        else:
            text += f" · reply due {when}"
    return text


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text, verbatim=True)
