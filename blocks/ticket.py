"""A ticket case's part of the card: who classified it and how, its priority, the
customer's message (escaped, trimmed), how its order was found, and the draft as it will
be sent, flagged when the template replaced Claude's.

Pure: a CaseView in, blocks out. Customer text and drafts are escaped (a message can
carry mrkdwn or a mention); long texts are cut on the card, sent whole.
"""

from __future__ import annotations

from slack_sdk.models.blocks import Block, ButtonElement

from blocks.escape import escape_mrkdwn, link
from blocks.format import slack_date
from blocks.ids import ActionId
from blocks.parts import context, section
from blocks.views import CaseView
from policy.models import CaseKind

MESSAGE_CHARS = 700
DRAFT_CHARS = 1800
_BY = {"claude": "Claude", "rules": "the rules classifier (no Claude)", "template": "the template"}


def ticket_blocks(view: CaseView) -> list[Block]:
    t = view.ticket
    if t is None:
        return []
    subject = escape_mrkdwn(t.subject, 150)
    head = f":speech_balloon: *Ticket: {link(t.url, t.subject, limit=150) if t.url else subject}*"
    head += f" · {escape_mrkdwn(t.helpdesk, 40)}"
    if t.requester:
        head += f" · from {escape_mrkdwn(t.requester, 80)}"
    triage = (f"*{escape_mrkdwn(t.intent.replace('_', ' '), 30)}* · sentiment {escape_mrkdwn(t.sentiment, 12)} · "
              f"urgency {escape_mrkdwn(t.urgency, 12)} · language {escape_mrkdwn(t.language, 4)} — classified by "
              f"{_BY.get(t.classified_by, escape_mrkdwn(t.classified_by, 20))}")
    if t.fallback_reason:
        triage += f" ({escape_mrkdwn(t.fallback_reason, 160)})"
    priority = (f"Priority *{escape_mrkdwn(t.priority, 12)}* ({t.priority_score}) · reply due "
                f"{slack_date(t.reply_due_at)}")
    if t.priority_reasons:
        priority += " · " + ", ".join(escape_mrkdwn(r, 40) for r in t.priority_reasons)
    lines = [head, triage, priority]
    if t.reopened:
        lines.insert(0, ":leftwards_arrow_with_hook: *Reopened: the customer wrote again* after the reply was sent")
    if t.order_found_by:
        lines.append(f":package: Order {escape_mrkdwn(view.order_name, 30)}: {escape_mrkdwn(t.order_found_by, 120)}")
    elif t.no_order:
        lines.append(f":mag: *No order found*: {escape_mrkdwn(t.no_order, 200)}")
    if t.context_note:
        lines.append(f"Order context note on the ticket: {escape_mrkdwn(t.context_note, 200)}")
    if t.asks_return_of:
        lines.append("Asks to return: " + ", ".join(escape_mrkdwn(x, 80) for x in t.asks_return_of))
    blocks: list[Block] = [section("\n".join(lines)),
                           section(f"*The customer wrote*\n>{escape_mrkdwn(t.message, MESSAGE_CHARS).replace(chr(10), chr(10) + '>')}")]
    if t.draft:
        title = f":memo: *Draft reply* by {_BY.get(t.drafted_by or '', 'the template')}"
        if t.draft_problems:
            title = f":warning: *Draft reply by the template* — Claude's draft was replaced"
        blocks.append(section(f"{title}\n```{escape_mrkdwn(t.draft, DRAFT_CHARS)}```"))
        if t.draft_problems:
            blocks.append(context("Why: " + "; ".join(escape_mrkdwn(p, 160) for p in t.draft_problems[:4])))
    if t.store_plan and view.kind is CaseKind.TICKET and not t.sent_as:
        blocks.append(context(":package: " + escape_mrkdwn(t.store_plan, 400)))
    if view.kind is not CaseKind.TICKET and not t.sent_as:
        blocks.append(context(":link: This ticket joined the return's case: Approve & send carries out the "
                              "recommendation below and sends the reply to the ticket."))
    who = t.sent_as or t.sends_as
    blocks.append(context(("Sent " if t.sent_as else "Sends ") + escape_mrkdwn(who, 200)))
    return blocks


def ticket_buttons(view: CaseView, ref: str, button) -> list[ButtonElement]:
    """Approve & send, Edit & send, Reclassify (Escalate is the card's own)."""
    out = []
    if view.ticket is not None and view.ticket.draft:
        out.append(button("Approve & send", ActionId.TICKET_SEND, ref, "primary"))
    out.append(button("Edit & send", ActionId.TICKET_EDIT, ref, None))
    if view.kind is CaseKind.TICKET:  # a return case a ticket joined keeps the store's return as it is
        out.append(button("Reclassify", ActionId.TICKET_RECLASSIFY, ref, None))
    return out


def open_ticket_blocks(view: CaseView) -> list[Block]:
    """A return case whose customer has a ticket open: which ticket the decision's message
    goes to (approving posts the drafted approval; the deny form is prefilled)."""
    t = view.open_ticket
    if t is None:
        return []
    name = link(t.url, t.subject, limit=150) if t.url else escape_mrkdwn(t.subject, 150)
    said = "the drafted approval message" if t.approve_text else "no approval message"
    return [context(f":speech_balloon: The customer has a ticket open: *{name}* ({escape_mrkdwn(t.helpdesk, 40)}). "
                    f"Approving posts {said} there; Deny's message to the customer is drafted and posted there too.")]
