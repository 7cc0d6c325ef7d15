"""The payments section of a case card: the early fraud warning, how the payment was linked
to the order (never a silent guess), the processor's risk with its evidence, and open
warnings and disputes. Pure: a view in, mrkdwn out; processor text is escaped."""

from __future__ import annotations

from blocks.escape import escape_mrkdwn
from blocks.views import PaymentsView

MAX_SHOWN = 3


def payments_text(view: PaymentsView) -> str | None:
    if view.empty:
        return None
    lines = ["*Payment*"]
    w = view.warning
    if w is not None:
        lines.append(f":rotating_light: Early fraud warning from the card issuer: *{escape_mrkdwn(w.fraud_label, 60)}*"
                     f" · {escape_mrkdwn(w.source.capitalize(), 20)} charge `{escape_mrkdwn(w.charge_id, 60)}`")
        lines.append(f"Charged {w.amount} · refunded so far {w.refunded} · left to refund {w.left_to_refund}"
                     + ("" if w.actionable else " · no longer actionable"))
    h = view.holder
    if h is not None:
        who = escape_mrkdwn(h.system.capitalize(), 20)
        lines.append(f":bank: The money is held by {who}: {escape_mrkdwn(h.detail or h.payment_id, 160)} · a refund "
                     f"goes back through {who}, then the store records it")
    for link in view.links[:MAX_SHOWN]:
        lines.append(f"Linked to the order: {link.method.label} ({escape_mrkdwn(link.detail, 120)})")
    for risk in view.risks[:MAX_SHOWN]:
        text = f"{escape_mrkdwn(risk.source.capitalize(), 20)} Radar risk: {risk.level.value.lower()}"
        if risk.score is not None:
            text += f" (score {risk.score})"
        if risk.rule:
            text += f" · rule {escape_mrkdwn(risk.rule, 80)}"
        if risk.seller_message:
            text += f" · “{escape_mrkdwn(risk.seller_message, 200)}”"
        lines.append(text)
    for other in view.other_warnings[:MAX_SHOWN]:
        lines.append(f":warning: Another open fraud warning: {escape_mrkdwn(other.fraud_label, 60)} on "
                     f"`{escape_mrkdwn(other.charge_id, 60)}` ({other.amount})")
    for d in view.disputes[:MAX_SHOWN]:
        due = f", evidence due {d.evidence_due_by:%Y-%m-%d}" if d.evidence_due_by else ""
        code = f", network code {escape_mrkdwn(d.network_reason_code, 20)}" if d.network_reason_code else ""
        lines.append(f":warning: Open dispute {escape_mrkdwn(d.id, 60)}: {escape_mrkdwn(d.reason or 'no reason', 60)}"
                     f"{code} · {d.amount}{due}")
    return "\n".join(lines)
