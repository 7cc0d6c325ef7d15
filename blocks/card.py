"""The case card: one message per case, re-rendered from stored state on every change.

    render_case_card(view) -> {"blocks": [...], "text": "..."}

Layout, top to bottom:
  header        "Return request · #1001 · $149.00" (· "charged £124.10" on a
                multi-currency order: the amount in the customer's currency)
  context       status · risk · return name · case number
  outcome       after a decision: who, what, when, what ran (or failed, with the error);
                while escalated: who escalated, why, and where the escalation card is
  recommend     the recommended action, its reasons and conflicts; while decidable also
                the required tier and who may decide
  signals       one line per signal with its explanation
  customer      fields: name (VIP), orders, lifetime spend, returns in the last year, tags
  items         one section per item (first 8), then "…and 7 more items"
  shipping      status, carrier, tracking link, delivered when
  playbook      up to 3 notes the team left on earlier cases
  links         the store admin's order / return (the connector's admin_label)
  actions       the buttons, only when someone may act (below)

Buttons (one primary action per card):
- OPEN, on the owner card: Approve (labelled with what it does, see
  `format.approve_outcome`), Deny (return requests only; opens the deny modal), Escalate.
  When the recommendation is "deny", the primary button carries it out instead, naming
  the reason ("Decline — outside window", CASE_APPROVE: approving the recommendation),
  the alternative is an explicit override ("Override: refund $64.50", CASE_OVERRIDE),
  and there is no separate Deny.
- ESCALATED, on the escalation-tier card (`view.escalation_card`): the same, without
  Escalate.
- FAILED: Retry (the outbox operations carry idempotency keys, so nothing runs twice).
- Anything else, and every auto-approved case: no buttons.
Every button value is the `CaseRef` (case id + version) the handler checks for staleness.

All outside text is escaped (`escape.escape_mrkdwn`) and shortened so every Block Kit limit
holds however large the input; mrkdwn objects are `verbatim` so Slack adds no links or
mentions of its own. The `text` fallback (notifications, screen readers) is escaped and
never mentions anyone.
"""

from __future__ import annotations


from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    PlainTextObject,
    SectionBlock,
)

from blocks.parts import (
    SAMPLE_STORE,
    SECTION_TEXT,
    capped_lines,
    context,
    fit,
    md,
    playbook_section,
    plural,
    quote,
    sample_store_context,
    section,
)
from blocks.dispute import assign_block, dispute_blocks
from blocks.ticket import open_ticket_blocks, ticket_blocks, ticket_buttons
from blocks.escape import escape_mrkdwn, link, one_line, plain, truncate
from blocks.format import (
    DATE,
    ago,
    approve_label,
    approve_outcome,
    carrier_facts,
    decided_verb,
    kind_label,
    mention,
    outcome_phrase,
    reason_label,
    signal_label,
    slack_date,
    utc_text,
)
from blocks.followup import followup_choices, followup_heading
from blocks.ids import ActionId, BlockId
from blocks.stages import stages_text, status_line
from blocks.refs import CaseRef
from blocks.views import CaseView, DecisionView, ItemView, ShippingView
from blocks.payments import payments_text
from policy.models import Action, CaseKind, CaseStatus, DeclineReason, DeliveryStatus, decline_reason_for

# Slack's limits (reference/slack/block-kit-limits.md).
MAX_BLOCKS = 50
FIELD_TEXT = 2000
HEADER_TEXT = 150
BUTTON_TEXT = 75

# Our own budgets, well inside them.
MAX_ITEMS_SHOWN = 8
MAX_SHIPMENTS_SHOWN = 3
MAX_APPROVERS_SHOWN = 10
MAX_RESULTS_SHOWN = 10
NOTE_CHARS = 500  # customer notes, decision notes, playbook entries
TITLE_CHARS = 200
ERROR_CHARS = 1500
FALLBACK_CHARS = 3000  # raw parts are capped far below; escaping can grow them 5x

_STATUS_LABELS = {
    CaseStatus.OPEN: (":large_yellow_circle:", "Needs a decision"),
    CaseStatus.ESCALATED: (":arrow_double_up:", "Escalated"),
    CaseStatus.APPROVED: (":hourglass_flowing_sand:", "Approved"),
    CaseStatus.DENIED: (":hourglass_flowing_sand:", "Denied"),
    CaseStatus.EXECUTING: (":hourglass_flowing_sand:", "Executing"),
    CaseStatus.DONE: (":white_check_mark:", "Done"),
    CaseStatus.FAILED: (":warning:", "Failed"),
    CaseStatus.CLOSED: (":white_check_mark:", "Closed in store"),
}

_DELIVERY_LABELS = {
    DeliveryStatus.UNFULFILLED: "Not shipped yet",
    DeliveryStatus.IN_TRANSIT: "In transit",
    DeliveryStatus.DELIVERED: "Delivered",
    DeliveryStatus.FAILED: "Delivery failed",
    DeliveryStatus.UNKNOWN: "No tracking",
}

_RUNNING = (CaseStatus.APPROVED, CaseStatus.DENIED, CaseStatus.EXECUTING)
_DECIDED = (*_RUNNING, CaseStatus.DONE, CaseStatus.FAILED)


# --- public -------------------------------------------------------------------------------


DETAILS_UNAVAILABLE_LINE = (
    ":warning: *Details unavailable*: this case's stored details could not be read by this version of "
    "returnsbot. What is shown comes from the case record; deciding works as usual."
)


def render_case_card(view: CaseView) -> dict:
    blocks: list[Block] = [_header(view), _status_context(view)]
    stage_line = status_line(view.stages, view.now) if view.stages else None
    if stage_line:
        blocks.append(context(stage_line))
    if view.sample_store:
        blocks.append(sample_store_context())
    if view.details_unavailable:
        blocks.append(context(DETAILS_UNAVAILABLE_LINE))
    if view.unavailable:
        blocks.append(context(_unavailable_line(view.unavailable)))
    platform = _platform(view)
    if platform is not None:
        blocks.append(platform)
    blocks += _outcome(view)
    blocks += _followup(view)
    blocks += dispute_blocks(view)
    blocks += ticket_blocks(view)
    blocks += open_ticket_blocks(view)
    blocks.append(_recommendation(view))
    blocks.append(_signals(view))
    customer = _customer(view)
    if customer is not None:
        blocks.append(customer)
    blocks += _items(view)
    shipping = _shipping(view)
    if shipping is not None:
        blocks.append(shipping)
    payments = payments_text(view.payments) if view.payments is not None else None
    if payments is not None:
        blocks.append(section(payments))
    playbook = playbook_section(view.playbook, view.now, note_chars=NOTE_CHARS)
    if playbook is not None:
        blocks.append(playbook)
    stages = stages_text(view.stages) if view.stages else None
    if stages:
        blocks.append(context(stages))
    links = _links(view)
    if links is not None:
        blocks.append(links)
    buttons = _buttons(view)
    if buttons:
        blocks.append(DividerBlock())
        blocks.append(ActionsBlock(block_id=BlockId.CASE_ACTIONS, elements=buttons))
        assign = assign_block(view, str(CaseRef(case_id=view.case_id, version=view.version)))
        if assign is not None:
            blocks.append(assign)
    if len(blocks) > MAX_BLOCKS:  # cannot happen with the budgets above; never send a bad card
        raise AssertionError(f"case card has {len(blocks)} blocks")
    return {"blocks": [b.to_dict() for b in blocks], "text": fallback_text(view)}


def _unavailable_line(labels: tuple[str, ...]) -> str:
    """Connected systems that didn't answer when the case was assembled: decide knowing it."""
    names = ", ".join(escape_mrkdwn(label) for label in labels)
    return f":warning: {names} didn't answer when this case was put together; what it would add is missing."


def is_decidable(view: CaseView) -> bool:
    """Whether this card offers Approve/Deny: the person looking at it may decide here."""
    if view.auto_approved:
        return False
    if view.status is CaseStatus.OPEN:
        return not view.escalation_card
    if view.status is CaseStatus.ESCALATED:
        return view.escalation_card
    return False


def amount_text(view: CaseView) -> str:
    """"$149.00", or on a multi-currency order "€145.00 · charged £124.10" (shop money
    first: it is what the policy and the tiers compare)."""
    text = view.amount.format()
    if view.charged is not None and view.charged.currency != view.amount.currency:
        text += f" · charged {view.charged.format()}"
    return text


def header_text(view: CaseView) -> str:
    """"Return request · #1001 · $149.00" (plain text, at most 150 characters)."""
    order = plain(view.order_name, 60)
    return plain(f"{kind_label(view.kind)} · {order} · {amount_text(view)}", HEADER_TEXT)


def fallback_text(view: CaseView) -> str:
    """The message `text`: what a notification shows. Escaped; no mentions, no tokens."""
    head = f"{kind_label(view.kind)} · {truncate(one_line(view.order_name), 60)} · {amount_text(view)}"
    if view.customer is not None:
        head += f" · {truncate(one_line(view.customer.name), 80)}"
    if view.sample_store:
        head = f"[{SAMPLE_STORE}] {head}"
    return escape_mrkdwn(f"{head}: {_summary(view)}", FALLBACK_CHARS)


# --- text building blocks -----------------------------------------------------------------
















def _amount_phrase(view: CaseView) -> str:
    return view.recommendation.amount.format()


# --- sections -----------------------------------------------------------------------------


def _header(view: CaseView) -> HeaderBlock:
    return HeaderBlock(text=PlainTextObject(text=header_text(view), emoji=True))


def _status_context(view: CaseView) -> ContextBlock:
    emoji, label = _STATUS_LABELS.get(view.status, (":grey_question:", str(view.status)))
    if view.auto_approved and view.status in _DECIDED:
        label = "Auto-approved"
    if view.parcel_closed is not None:
        label = "Closed by the carrier's progress"
    parts = [f"{emoji} *{label}*"]
    if view.return_name:
        parts.append(f"Return {escape_mrkdwn(one_line(view.return_name), 60)}")
    parts.append(f"Case {view.case_id}")
    if view.escalation_card:
        parts.append("Escalation card")
    return context(" · ".join(parts))


def _recommendation(view: CaseView) -> SectionBlock:
    rec = view.recommendation
    if rec.action is Action.ACCEPT:
        what = "acknowledge"
    elif rec.action is Action.ESCALATE:
        what = "escalate"
    else:
        what = outcome_phrase(rec.action, rec.amount)
    head = f":bulb: *Recommended: {what}* · risk {rec.risk_score}/100"
    lines = [f"• {escape_mrkdwn(one_line(r), 400)}" for r in rec.reasons]
    lines += [f":scales: {escape_mrkdwn(one_line(c), 400)}" for c in rec.conflicts]
    if is_decidable(view):
        lines.append(_who_decides(view))
    body = capped_lines(lines, SECTION_TEXT - len(head) - 1, lambda n: f"…and {n} more")
    return section(f"{head}\n{body}" if body else head)


def _who_decides(view: CaseView) -> str:
    tier = escape_mrkdwn(one_line(view.tier_label), 100)
    shown = view.approvers[:MAX_APPROVERS_SHOWN]
    if not shown:
        return f":bust_in_silhouette: Needs *{tier}* — no approvers are listed for it"
    who = ", ".join(mention(a) for a in shown)
    if len(view.approvers) > len(shown):
        who += f" and {len(view.approvers) - len(shown)} more"
    return f":bust_in_silhouette: Needs *{tier}*: {who}"


def _signals(view: CaseView) -> Block:
    if not view.signals:
        return context(":white_circle: No risk signals.")
    if view.details_unavailable:  # codes from the case row: no weights or explanations
        names = ", ".join(escape_mrkdwn(signal_label(s.code), 60) for s in view.signals)
        return section(f"*{plural(len(view.signals), 'signal')}*: {names}")
    lines = []
    for s in view.signals:
        icon = ":small_red_triangle:" if s.weight > 0 else ":small_blue_diamond:"
        weight = f"+{s.weight}" if s.weight > 0 else f"−{abs(s.weight)}" if s.weight < 0 else "0"
        label = escape_mrkdwn(signal_label(s.code), 60)
        lines.append(f"{icon} *{label}* ({weight}) — {escape_mrkdwn(one_line(s.explanation), 400)}")
    head = f"*{plural(len(view.signals), 'signal')}*"
    body = capped_lines(lines, SECTION_TEXT - len(head) - 1, lambda n: f"…and {plural(n, 'more signal')}")
    return section(f"{head}\n{body}")


def _customer(view: CaseView) -> SectionBlock | None:
    c = view.customer
    if c is None:
        return None
    name = escape_mrkdwn(one_line(c.name), 200) or "(no name)"
    if c.vip:
        name += " :star: VIP"
    if c.email:
        name += f"\n{escape_mrkdwn(one_line(c.email), 200)}"
    fields = [f"*Customer*\n{name}"]
    if c.orders_count is not None:
        fields.append(f"*Orders*\n{c.orders_count}")
    if c.lifetime_spend is not None:
        fields.append(f"*Lifetime spend*\n{c.lifetime_spend.format()}")
    if c.returns_last_year is not None:
        fields.append(f"*Returns, last 12 months*\n{c.returns_last_year}")
    if c.tags:
        fields.append(f"*Tags*\n{escape_mrkdwn(', '.join(one_line(t) for t in c.tags), 500)}")
    return SectionBlock(fields=[md(fit(f, FIELD_TEXT)) for f in fields])


def _items(view: CaseView) -> list[Block]:
    if not view.items:
        return []
    shown = view.items[:MAX_ITEMS_SHOWN]
    blocks: list[Block] = [section(_item_text(item)) for item in shown]
    hidden = view.items[len(shown):]
    if hidden:
        blocks.append(context(f"…and {plural(len(hidden), 'more item')}"))
    return blocks


def _item_text(item: ItemView) -> str:
    title = escape_mrkdwn(one_line(item.title), TITLE_CHARS) or "(untitled item)"
    first = f":package: *{item.quantity} × {title}* — {item.amount.format()}"
    if item.sku:
        first += f" · SKU {escape_mrkdwn(one_line(item.sku), 80)}"
    lines = [first]
    if item.reason or item.reason_note:
        reason = f"Reason: {escape_mrkdwn(reason_label(item.reason), 80)}" if item.reason else "Reason:"
        if item.reason_note and item.reason_note.strip():
            reason += f" — “{escape_mrkdwn(one_line(item.reason_note), NOTE_CHARS)}”"
        lines.append(reason)
    if item.customer_note and item.customer_note.strip():
        lines.append("Customer note:")
        lines.append(quote(item.customer_note, NOTE_CHARS))
    return "\n".join(lines)


def _shipping(view: CaseView) -> Block | None:
    if not view.shipments:
        return None
    lines = [_shipment_line(s, view) for s in view.shipments[:MAX_SHIPMENTS_SHOWN]]
    hidden = len(view.shipments) - len(lines)
    if hidden > 0:
        lines.append(f"…and {plural(hidden, 'more shipment')}")
    return section("\n".join(lines))


def _shipment_line(s: ShippingView, view: CaseView) -> str:
    icon = ":white_check_mark:" if s.status is DeliveryStatus.DELIVERED else ":truck:"
    parts = [f"{icon} *{_DELIVERY_LABELS.get(s.status, str(s.status))}*"]
    if s.carrier:
        parts.append(escape_mrkdwn(one_line(s.carrier), 60))
    if s.tracking_url or s.tracking_number:
        label = f"Track {one_line(s.tracking_number)}" if s.tracking_number else "Track"
        parts.append(link(s.tracking_url, label, limit=120))
    if s.delivered_at is not None:
        parts.append(f"delivered {slack_date(s.delivered_at, DATE)} ({ago(s.delivered_at, view.now)})")
    elif s.estimated_delivery_at is not None:
        parts.append(f"expected {slack_date(s.estimated_delivery_at, DATE)}")
    line = " · ".join(parts)
    carrier = carrier_facts(s, view.now)
    return line + ("\n" + " · ".join(carrier) if carrier else "")




def _links(view: CaseView) -> Block | None:
    parts = []
    if view.order_url:
        parts.append(link(view.order_url, f"Order {one_line(view.order_name)} in {view.admin_label}"))
    if view.return_url:
        name = one_line(view.return_name) if view.return_name else "request"
        parts.append(link(view.return_url, f"Return {name} in {view.admin_label}"))
    if not parts:
        return None
    return context(":link: " + " · ".join(parts))


# --- after the decision -------------------------------------------------------------------


def _outcome(view: CaseView) -> list[Block]:
    if view.status is CaseStatus.OPEN:
        return []
    if view.status is CaseStatus.ESCALATED:
        return _escalated(view)
    if view.status is CaseStatus.CLOSED:
        return [section(_closed_line(view))]
    blocks: list[Block] = [section(_decision_text(view))]
    if view.status is CaseStatus.FAILED:
        error = escape_mrkdwn((view.error or "no error message was recorded").strip(), ERROR_CHARS)
        blocks.append(
            section(
                f":warning: *It did not go through:*\n{_quote_escaped(error)}\n"
                "Retry runs it again; whatever already went through is not repeated."
            )
        )
    if view.escalation is not None:
        blocks.append(context(_escalated_earlier(view)))
    return blocks


def _quote_escaped(escaped: str) -> str:
    return "\n".join(f">{line}" for line in escaped.split("\n"))


def _decision_action(view: CaseView) -> Action:
    if view.decision is not None:
        return view.decision.action
    return approve_outcome(view.kind, view.recommendation.action)


def _tail(view: CaseView, action: Action, *, raw: bool = False) -> str:
    """What ran, or is running, or failed: the part after the dash.

    mrkdwn-escaped, unless `raw` (for the fallback text, which is escaped as a whole).
    """
    what = outcome_phrase(action, view.recommendation.amount)
    cap = 3 if raw else MAX_RESULTS_SHOWN  # the fallback stays short enough to end with the outcome
    shown = [one_line(r) for r in view.results[:cap] if r.strip()]
    results = [truncate(r, 80) if raw else escape_mrkdwn(r, 200) for r in shown]
    if len(view.results) > cap:
        results.append(f"and {len(view.results) - cap} more")
    done = "; ".join(results)  # what already went through
    if view.status is CaseStatus.FAILED:
        failed = f"{what} failed" if what else "failed"
        return f"{done}; {failed}" if done else failed
    if view.status in _RUNNING and action is not Action.ACCEPT:
        return f"{done or what} · executing…" if (done or what) else "executing…"
    if done or action is Action.ACCEPT:
        return done
    return f"{what}: done"


def _actor(view: CaseView, action: Action) -> str:
    d = view.decision
    if view.auto_approved and (d is None or d.by is None):
        return "Auto-approved by policy"
    if d is None or d.by is None:
        return decided_verb(action)
    return f"{decided_verb(action)} by {mention(d.by)}"


def _decision_icon(view: CaseView, action: Action) -> str:
    if view.status is CaseStatus.FAILED:
        return ":warning:"
    if view.status in _RUNNING and action is not Action.ACCEPT:
        return ":hourglass_flowing_sand:"
    return ":no_entry_sign:" if action is Action.DENY else ":white_check_mark:"


def _decision_text(view: CaseView) -> str:
    action = _decision_action(view)
    line = f"{_decision_icon(view, action)} {_actor(view, action)}"
    if view.decision is not None:
        line += f" {slack_date(view.decision.at)}"
    tail = _tail(view, action)
    if tail:
        line += f" — {tail}"
    return "\n".join([line, *_decision_details(view.decision)])


def _decision_details(d: DecisionView | None) -> list[str]:
    if d is None:
        return []
    lines = []
    if d.decline_reason is not None:
        lines.append(f"Reason: {d.decline_reason.label}")
    if d.note and d.note.strip():
        lines.append("Note:")
        lines.append(quote(d.note, NOTE_CHARS))
    return lines


_PARCEL_CLOSED = {"delivered": "the parcel was delivered", "moving": "the parcel is moving again",
                  "shipped": "the order has shipped"}


def _parcel_closed_line(view: CaseView) -> str:
    p = view.parcel_closed
    line = f":white_check_mark: Closed itself: {_PARCEL_CLOSED.get(p.progress, 'the parcel moved')}"
    if p.at is not None:
        line += f" {slack_date(p.at)}"
    lines = [line]
    if p.last_scan:
        lines.append(f"Last scan: {escape_mrkdwn(one_line(p.last_scan), 200)}")
    return "\n".join(lines)


def _closed_line(view: CaseView) -> str:
    if view.closed_reason:
        return f":white_check_mark: Closed: {escape_mrkdwn(view.closed_reason, 300)}"
    if view.parcel_closed is not None:
        return _parcel_closed_line(view)
    d = view.decision
    if d is None:
        return f":white_check_mark: Closed in {view.admin_label}"
    verb = "Declined" if d.action is Action.DENY else "Approved"
    line = f":white_check_mark: {verb} in {view.admin_label} {slack_date(d.at)}"
    return "\n".join([line, *_decision_details(d)])


def _escalated(view: CaseView) -> list[Block]:
    e = view.escalation
    if e is None:
        return [section(":arrow_double_up: Escalated — waiting for a higher tier.")]
    line = f":arrow_double_up: Escalated by {mention(e.by)} {slack_date(e.at)}"
    if e.tier_label:
        line += f" to *{escape_mrkdwn(one_line(e.tier_label), 100)}*"
    lines = [line]
    if e.note and e.note.strip():
        lines.append(quote(e.note, NOTE_CHARS))
    if view.escalation_card:
        lines.append("Decide here: this card has the buttons now.")
    elif e.card_url:
        lines.append(f"Waiting for a decision on {link(e.card_url, 'the escalation card')}.")
    else:
        lines.append("Waiting for a decision from the higher tier.")
    return [section("\n".join(lines))]


def _escalated_earlier(view: CaseView) -> str:
    e = view.escalation
    assert e is not None
    text = f":arrow_double_up: Escalated by {mention(e.by)} {slack_date(e.at)}"
    if e.card_url and not view.escalation_card:
        text += f" · {link(e.card_url, 'escalation card')}"
    return text


# --- buttons ------------------------------------------------------------------------------


_FOLLOWUP_CHOICES = {
    "refund": "Refund anyway",
    "partial_refund": "Partial refund",
    "store_credit": "Store credit",
    "no_refund": "No refund",
}


_FOLLOWUP_REASONS = {
    "missing": "items missing",
    "not_restocked": "not restocked (damaged, used or wrong item)",
    "fewer_received": "fewer items received than approved",
    "exceeds_refundable": "more than is left to refund",
    "exchange_unavailable": "exchange item out of stock",
}


def followup_open(view: CaseView) -> bool:
    return view.followup is not None and view.status is CaseStatus.OPEN


def _followup(view: CaseView) -> list[Block]:
    """The exception at receipt: what was found, what we recommend and why, and its buttons."""
    if not followup_open(view):
        return []
    f = view.followup
    rec = _FOLLOWUP_CHOICES.get(f.recommended, f.recommended).lower()
    if f.recommended == "partial_refund" and f.suggested_amount is not None:
        rec += f" {f.suggested_amount.format()}"
    why = escape_mrkdwn(one_line(f.summary), 200)
    reason = _FOLLOWUP_REASONS.get(f.reason, escape_mrkdwn(one_line(f.reason).replace("_", " "), 40))
    lines = [followup_heading(view, reason),
             f"Recommended: {why} → *{escape_mrkdwn(rec, 80)}*"]
    if f.refundable is not None:
        lines.append(f"Left to refund: {f.refundable.format()}")
    return [SectionBlock(text=md(fit("\n".join(lines))))]


def _followup_buttons(view: CaseView, ref: str) -> list[ButtonElement]:
    rec = view.followup.recommended
    ids = {"refund": ActionId.FOLLOWUP_REFUND, "partial_refund": ActionId.FOLLOWUP_PARTIAL,
           "store_credit": ActionId.FOLLOWUP_CREDIT, "no_refund": ActionId.FOLLOWUP_NO_REFUND}
    return [_button(label, ids[choice], ref, "primary" if choice == rec else None)
            for choice, label in _FOLLOWUP_CHOICES.items() if choice in followup_choices(view)]


def _buttons(view: CaseView) -> list[ButtonElement]:
    ref = str(CaseRef(case_id=view.case_id, version=view.version))
    if followup_open(view):
        return _followup_buttons(view, ref)
    if view.status is CaseStatus.FAILED:
        return [_button("Retry", ActionId.CASE_RETRY, ref, "primary")]
    if not is_decidable(view):
        return []
    rec = view.recommendation
    escalate_recommended = rec.action is Action.ESCALATE and not view.escalation_card
    if view.kind is CaseKind.DISPUTE:
        buttons = _dispute_buttons(view, ref)
    elif view.kind is CaseKind.TICKET or view.ticket is not None:  # a ticket's, or a return a ticket joined
        buttons = ticket_buttons(view, ref, _button)
        if not view.escalation_card:
            buttons.append(_button("Escalate", ActionId.TICKET_ESCALATE, ref, None))
        return buttons
    elif view.kind is CaseKind.RETURN_REQUEST and rec.action is Action.DENY:
        # One primary action: carrying the recommendation out. Going against it is an
        # explicit override, not a second button that also declines.
        buttons = [_button(decline_label(view), ActionId.CASE_APPROVE, ref, "primary"),
                   _button(f"Override: {outcome_phrase(Action.REFUND, rec.amount)}", ActionId.CASE_OVERRIDE, ref, None)]
    else:
        approve = approve_label(view.kind, rec.action, rec.amount)
        buttons = [_button(approve, ActionId.CASE_APPROVE, ref, None if escalate_recommended else "primary")]
        if view.kind is CaseKind.RETURN_REQUEST:
            buttons.append(_button("Deny", ActionId.CASE_DENY, ref, "danger"))
        if view.kind is CaseKind.DELAYED_SHIPMENT:
            buttons += _remedy_buttons(view, ref)
    if not view.escalation_card:
        buttons.append(_button("Escalate", ActionId.CASE_ESCALATE, ref, "primary" if escalate_recommended else None))
    return buttons


def _platform(view: CaseView) -> Block | None:
    """A return a returns platform owns: where the decision is carried out, and what the
    person must still do there (the platform's API can't accept a return out of review)."""
    p = view.platform
    if p is None:
        return None
    name = escape_mrkdwn(p.label, 40)
    there = link(p.admin_url, f"Open it in {p.label}", limit=80) if p.admin_url else f"in {name}"
    lines = [f":arrows_counterclockwise: *{name} owns this return*: decisions here are carried out in {name} "
             f"(a note, then process, close, cancel or flag) — never on the store's return. {there}"]
    undecided = view.status in (CaseStatus.OPEN, CaseStatus.ESCALATED)
    approved = view.decision is not None and view.decision.action is not Action.DENY
    if p.state == "review" and undecided:
        lines.append(f":inbox_tray: In {name}'s review queue: its API can't accept a return out of review. Approve "
                     f"records the decision and notes it there; then accept it in {name} — it is processed when "
                     f"{name} opens it, with no second click.")
    elif p.state == "review" and approved:
        lines.append(f":point_right: *Approved here — now accept it in {name}*: {there}. It is processed when "
                     f"{name} opens it.")
    elif p.state == "flagged":
        lines.append(f":triangular_flag_on_post: Flagged in {name}: it won't process until it is unflagged there.")
    return section("\n".join(lines))


def _remedy_buttons(view: CaseView, ref: str) -> list[ButtonElement]:
    """Reship (only once the order shipped: before that the order itself still owes the
    items) and Refund shipping, each behind a confirmation: they run in the store."""
    out = []
    if any(s.status not in (DeliveryStatus.UNFULFILLED, DeliveryStatus.DELIVERED) for s in view.shipments):
        out.append(_button("Reship", ActionId.SHIPMENT_RESHIP, ref, None,
                           confirm=("Reship the order?", "A replacement of the undelivered items is created in the "
                                                         "store at no charge to the customer.", "Reship")))
    out.append(_button("Refund shipping", ActionId.SHIPMENT_REFUND_SHIPPING, ref, None,
                       confirm=("Refund the shipping?", "All of the order's shipping charge not refunded yet goes "
                                                        "back to the customer.", "Refund shipping")))
    return out


def _dispute_buttons(view: CaseView, ref: str) -> list[ButtonElement]:
    """Submit evidence (unless past due) and Accept the loss, each behind a confirmation:
    both are final in the payment system."""
    rec = view.recommendation.action
    system = view.dispute.system if view.dispute is not None else "the payment system"
    due = view.dispute.packet.due_by if view.dispute is not None else None
    buttons = []
    if due is None or due > view.now:
        buttons.append(_button("Submit evidence", ActionId.CASE_APPROVE, ref, "primary" if rec is Action.CONTEST else None,
                               confirm=(f"Submit the evidence to {system}?",
                                        "The packet on the card goes to the card issuer as it is; it can't be "
                                        "changed after.", "Submit")))
    buttons.append(_button("Accept the loss", ActionId.DISPUTE_CONCEDE, ref, "danger" if rec is Action.CONCEDE else None,
                           confirm=("Accept the loss?", f"The {view.amount.format()} stays with the card holder; "
                                                        "this can't be undone.", "Accept the loss")))
    return buttons


_DECLINE_LABELS = {
    DeclineReason.OUTSIDE_WINDOW: "Decline — outside window",
    DeclineReason.FINAL_SALE: "Decline — final sale",
}


def decline_label(view: CaseView) -> str:
    """The primary button of a "deny" recommendation, naming the reason approving it
    declines with (`policy.models.decline_reason_for`, the same rule the decision uses)."""
    reason = decline_reason_for(s.code.value for s in view.signals)
    return _DECLINE_LABELS.get(reason, "Decline return")


def _button(text: str, action_id: ActionId, value: str, style: str | None,
            confirm: tuple[str, str, str] | None = None) -> ButtonElement:
    """`confirm`: (title, text, confirm label) of a dialog Slack shows before the click counts."""
    dialog = None
    if confirm is not None:
        title, body, yes = confirm
        dialog = ConfirmObject(title=plain(title, 100), text=plain(body, 300), confirm=plain(yes, 30),
                               deny=plain("Cancel", 30), style="danger" if style == "danger" else None)
    return ButtonElement(
        text=PlainTextObject(text=plain(text, BUTTON_TEXT), emoji=True),
        action_id=action_id,
        value=value,
        style=style,
        confirm=dialog,
    )


# --- the fallback text --------------------------------------------------------------------


def _summary(view: CaseView) -> str:
    if view.status is CaseStatus.OPEN:
        rec = view.recommendation
        what = {Action.ACCEPT: "acknowledge", Action.ESCALATE: "escalate"}.get(rec.action) or outcome_phrase(
            rec.action, rec.amount
        )
        return f"needs a decision (recommended: {what})"
    if view.status is CaseStatus.ESCALATED:
        return "escalated, waiting for a higher tier"
    if view.status is CaseStatus.CLOSED:
        if view.closed_reason:
            return f"closed: {view.closed_reason}"
        if view.parcel_closed is not None:
            return f"closed itself: {_PARCEL_CLOSED.get(view.parcel_closed.progress, 'the parcel moved')}"
        if view.decision is None:
            return f"closed in {view.admin_label}"
        return f"{'declined' if view.decision.action is Action.DENY else 'approved'} in {view.admin_label}"
    action = _decision_action(view)
    actor = "auto-approved by policy" if view.auto_approved else decided_verb(action).lower()
    when = f" at {utc_text(view.decision.at)}" if view.decision is not None else ""
    tail = _tail(view, action, raw=True)
    if view.status is CaseStatus.FAILED:
        tail += ", retry from the card"
    return f"{actor}{when} — {tail}" if tail else f"{actor}{when}"
