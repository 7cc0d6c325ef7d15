"""The policy simulator's answer: a plain-text table (the CLI) and a Slack message (the
`/policy simulate` reply), both from a `policy.simulate.Simulation`."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from slack_sdk.models.blocks import ContextBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from blocks.escape import escape_mrkdwn as escape
from blocks.format import whole_money
from policy.models import Action
from policy.simulate import MONEY_GROUPS, Simulation, Totals

SLACK_CHANGES = 6  # changes listed in Slack (each with its first example)


def _label(action: Action) -> str:
    return action.label


def _money(totals: Totals, currency: str) -> str:
    text = whole_money(totals.in_(currency))
    others = totals.others(currency)
    return text + "".join(f" + {whole_money(m)}" for m in others)


def _pct(value: Decimal | None) -> str:
    if value is None:
        return "–"
    return f"{(value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)}%"


def _cases(n: int) -> str:
    return f"{n:,} case" + ("" if n == 1 else "s")


def agreement_line(sim: Simulation) -> str:
    if not sim.decided:
        return "Agreement with the team: no case in scope was decided by a person."
    now, before = sim.agreement(sim.proposed), sim.agreement(sim.current)
    trend = ("up from" if now > before else "down from" if now < before else "the same as")  # type: ignore[operator]
    return (f"The new policy agrees with your team on {_pct(now)} of {_cases(sim.decided)} decided by people, "
            f"{trend} {_pct(before)} with the current one.")


def summary_lines(sim: Simulation) -> list[str]:
    """The headline facts, one per line (shared by the CLI and Slack)."""
    lines = [f"{_cases(sim.cases)} replayed; {_cases(sim.changed)} would be decided differently."]
    if sim.unreadable:
        lines.append(f"{_cases(sim.unreadable)} skipped: their snapshot could not be read.")
    cur, new = sim.current, sim.proposed
    lines.append(f"Auto-approved: {new.auto_approved:,} (now {cur.auto_approved:,}); "
                 f"{sim.higher_tier:,} would need a higher approval tier, {sim.lower_tier:,} a lower one.")
    lines.append(agreement_line(sim))
    return lines


def money_rows(sim: Simulation) -> list[tuple[str, str, str]]:
    """(recommended action, current policy, new policy) money rows."""
    rows = []
    for action in MONEY_GROUPS:
        cur = sim.current.money.get(action, Totals())
        new = sim.proposed.money.get(action, Totals())
        if not cur.by_currency and not new.by_currency:
            continue
        rows.append((_label(action), f"{_money(cur, sim.currency)} ({sim.current.actions[action]:,})",
                     f"{_money(new, sim.currency)} ({sim.proposed.actions[action]:,})"))
    return rows


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]


def render_text(sim: Simulation, *, title: str) -> str:
    out = [title, "", *summary_lines(sim), ""]
    out.append("Decisions that change:")
    if not sim.changes:
        out.append("  none")
    for ch in sim.sorted_changes():
        people = f"; people decided {ch.matches_people} of them this way" if ch.matches_people else ""
        out.append(f"  {_label(ch.before)} → {_label(ch.after)}: {_cases(ch.count)}, "
                   f"{_money(ch.money, sim.currency)}{people}")
        for ex in ch.examples:
            decided = f" (people: {_label(ex.decided)})" if ex.decided else ""
            out.append(f"      case {ex.case_id} {ex.label}, {whole_money(ex.amount)}{decided}: {ex.why}")
    out += ["", "Money by recommendation (cases):"]
    rows = money_rows(sim)
    out += _table([("", "current", "new"), *rows]) if rows else ["  none"]
    if sim.disagreements:
        out += ["", "Biggest disagreements with the team (new policy):"]
        out += _table([("case", "amount", "people", "current", "new"),
                       *((f"{d.case_id} {d.label}", whole_money(d.amount), _label(d.decided), _label(d.current),
                          _label(d.proposed)) for d in sim.disagreements)])
    return "\n".join(out) + "\n"


def render_slack(sim: Simulation, *, title: str) -> dict:
    """`{blocks, text}` for a private reply; customer-supplied names are escaped."""
    changes = []
    for ch in sim.sorted_changes()[:SLACK_CHANGES]:
        line = f"• *{_label(ch.before)} → {_label(ch.after)}*: {_cases(ch.count)}, {_money(ch.money, sim.currency)}"
        if ch.examples:
            ex = ch.examples[0]
            line += f" — e.g. case {ex.case_id} {escape(ex.label)}, {whole_money(ex.amount)}"
        changes.append(line)
    hidden = len(sim.changes) - SLACK_CHANGES
    if hidden > 0:
        changes.append(f"…and {hidden} more (run `returnsbot simulate` for all of them)")
    money = "\n".join(f"• {label}: {cur} → {new}" for label, cur, new in money_rows(sim))
    blocks = [
        HeaderBlock(text=title[:150]),
        SectionBlock(text=MarkdownTextObject(text="\n".join(escape(line) for line in summary_lines(sim))[:3000])),
        SectionBlock(text=MarkdownTextObject(
            text=("*Decisions that change*\n" + ("\n".join(changes) or "none"))[:3000])),
    ]
    if money:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*Money by recommendation (cases)*\n{money}"[:3000])))
    if sim.disagreements:
        worst = "\n".join(f"• case {d.case_id} {escape(d.label)}, {whole_money(d.amount)}: people chose "
                          f"{_label(d.decided)}, the new policy says {_label(d.proposed)}"
                          for d in sim.disagreements)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*Biggest disagreements*\n{worst}"[:3000])))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text="Only you can see this. Nothing was changed.")]))
    return {"text": f"{title}: {summary_lines(sim)[0]}", "blocks": [b.to_dict() for b in blocks]}
