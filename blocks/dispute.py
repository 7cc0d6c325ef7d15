"""A dispute case's part of the card: what the card holder claims, when evidence is due
(a countdown), the evidence packet as it will be sent, what is missing, who has it.

Pure: a CaseView in, blocks out. Every fact from the store, the processor or the customer
is escaped; long policy texts are cut on the card (they are sent whole).
"""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import ActionsBlock, Block, PlainTextObject, UserSelectElement

from blocks.escape import escape_mrkdwn, one_line, plain
from blocks.format import mention, slack_date
from blocks.ids import ActionId, BlockId
from blocks.parts import SECTION_TEXT, capped_lines, section
from blocks.views import CaseView
from policy.models import Action, CaseStatus, DisputeStatus

LINE_CHARS = 240  # one packet fact on the card
URGENT_HOURS, SOON_HOURS = 24, 72

_AFTER = {
    DisputeStatus.UNDER_REVIEW: ":hourglass_flowing_sand: With the card issuer: evidence under review",
    DisputeStatus.WON: ":trophy: Won: the money stays with the shop",
    DisputeStatus.LOST: ":x: Lost: the money went back to the card holder",
    DisputeStatus.ACCEPTED: ":x: Accepted as lost",
    DisputeStatus.REFUNDED: ":leftwards_arrow_with_hook: Closed by a refund of the charge",
}


def countdown(due: datetime, now: datetime) -> str:
    """"in 3 d 4 h", "in 5 h 10 min", "past due"."""
    seconds = int((due - now).total_seconds())
    if seconds <= 0:
        return "past due"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"in {days} d {hours} h"
    return f"in {hours} h {rest // 60} min" if hours else f"in {max(rest // 60, 1)} min"


def _urgency(due: datetime, now: datetime) -> str:
    hours = (due - now).total_seconds() / 3600
    if hours <= 0:
        return ":no_entry:"
    return ":red_circle:" if hours <= URGENT_HOURS else ":large_orange_circle:" if hours <= SOON_HOURS else ":calendar:"


def reason_label(reason: str) -> str:
    return reason.replace("_", " ").capitalize()


def dispute_blocks(view: CaseView) -> list[Block]:
    d = view.dispute
    if d is None:
        return []
    p = d.packet
    head = f":rotating_light: *Dispute: {escape_mrkdwn(reason_label(p.reason), 60)}*"
    if d.network_reason_code:
        head += f" (network code {escape_mrkdwn(d.network_reason_code, 20)})"
    head += f" · {view.amount.format()} · held by {escape_mrkdwn(d.system, 40)}"
    lines = [head]
    if p.due_by is not None:
        undecided = view.status in (CaseStatus.OPEN, CaseStatus.ESCALATED)
        due = f"Evidence due {slack_date(p.due_by)}"
        lines.append(f"{_urgency(p.due_by, view.now)} {due} — *{countdown(p.due_by, view.now)}*" if undecided else due)
    if d.assignee:
        lines.append(f":bust_in_silhouette: Assigned to {mention(d.assignee)}")
    if d.external_status:
        after = _AFTER.get(DisputeStatus(d.external_status))
        if after:
            lines.append(after)
    if not d.accept_by_api:
        system = escape_mrkdwn(d.system, 40)
        if view.status in (CaseStatus.OPEN, CaseStatus.ESCALATED):
            lines.append(f"_{system} has no call to accept a dispute: Accept the loss records it here; with no "
                         "evidence by the due date the dispute closes as lost._")
        elif view.decision is not None and view.decision.action is Action.CONCEDE and not d.external_status:
            lines.append(f"_Recorded here only: nothing was sent to {system}. Accept it in {system}'s admin to close "
                         "it sooner; with no evidence by the due date it closes as lost._")
    blocks: list[Block] = [section("\n".join(lines))]

    facts = [f"*{escape_mrkdwn(s.title, 40)}*: " + " · ".join(escape_mrkdwn(one_line(x), LINE_CHARS) for x in s.lines)
             for s in p.sections]
    if p.gaps:
        facts.append(":warning: *Missing*: " + "; ".join(escape_mrkdwn(g, 120) for g in p.gaps))
    title = ":file_folder: *Evidence packet* (sent as shown when you submit)"
    body = capped_lines(facts, SECTION_TEXT - len(title) - 1, lambda n: f"…and {n} more")
    blocks.append(section(f"{title}\n{body}"))
    return blocks


def assign_block(view: CaseView, ref: str) -> ActionsBlock | None:
    """Assign… (a user picker): its own block, whose id carries the card's reference (a
    select's action has no value of its own)."""
    if view.dispute is None or view.status not in (CaseStatus.OPEN, CaseStatus.ESCALATED):
        return None
    picker = UserSelectElement(action_id=ActionId.DISPUTE_ASSIGN,
                               placeholder=PlainTextObject(text=plain("Assign to…", 150)),
                               initial_user=view.dispute.assignee)
    return ActionsBlock(block_id=f"{BlockId.DISPUTE_ASSIGN}:{ref}", elements=[picker])
