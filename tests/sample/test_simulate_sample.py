"""The policy simulator over the sample store's history: `returnsbot demo`'s cases, some
decided by a person, replayed through a policy with a longer return window. What it
reports must be the real changes: which denies become refunds or exchanges, for how much,
and how agreement with the person's decisions moves."""

from __future__ import annotations

from io import StringIO

import pytest

from blocks.simulate import render_text
from bot.demo import DEMO_APPROVER, demo_container, run_demo
from bot.settings import Settings
from bot.simulate import Scope, proposed_policy, resolved, run, stored_shop_facts
from bot.suggest import suggest
from policy.config import Policy, parse_policy
from policy.models import Action, CaseKind
from tests.sample.helpers import NOW


@pytest.fixture
def history(database_url):
    """The demo's cases, then a person's decisions on two outside-policy denies: Zoe Adams'
    late return granted anyway (an override), Ben Foster's final-sale item denied."""
    c, clock = demo_container(Settings(_env_file=None, database_url=database_url), Policy.default(), now=NOW)
    run_demo(c, StringIO(), clock=clock)
    # (Ben Foster's order also has a Loop return, recommended for escalation: the store's is the deny.)
    returns = {(k.order_name, k.customer_name): k for k in c.cases.list()
               if k.kind is CaseKind.RETURN_REQUEST and k.decided_in == "shopify"}
    zoe, ben = returns[("#1029", "Zoe Adams")], returns[("#1045", "Ben Foster")]
    assert zoe.recommended_action == "deny" and "outside_window" in zoe.signal_codes
    assert ben.recommended_action == "deny" and "final_sale" in ben.signal_codes
    c.decide.override(zoe.id, DEMO_APPROVER)
    c.decide.deny(ben.id, DEMO_APPROVER, reason="FINAL_SALE", internal_note=None, customer_message=None,
                  notify_customer=False)
    yield c, returns
    c.engine.dispose()


def _policies(engine, **changes):
    facts = stored_shop_facts(engine)
    return resolved(Policy.default(), facts), resolved(proposed_policy(changes=changes), facts)


def test_a_longer_window_turns_the_late_denies_into_what_the_policy_then_grants(history):
    c, returns = history
    current, longer = _policies(c.engine, **{"returns.window_days": "60"})
    sim = run(c.engine, current, longer, Scope())
    assert sim.cases == 35 and sim.unreadable == 0  # the demo: 31 cases and 4 tickets with cases of their own

    changed = {(ch.before, ch.after): [e.label for e in ch.examples] for ch in sim.sorted_changes()}
    # Zoe Adams' OTHER-reason return is a refund inside 60 days; Jamal Carter's and Priya
    # Raman's size/style returns are exchanges (the reasons rule) once they are in time.
    assert changed == {
        (Action.DENY, Action.REFUND): ["#1029 Zoe Adams"],
        (Action.DENY, Action.EXCHANGE): ["#1031 Jamal Carter"],
        (Action.STORE_CREDIT, Action.EXCHANGE): ["#1030 Priya Raman"],
    }
    # the money is each case's own amount, in the shop's currency
    by_pair = {(ch.before, ch.after): ch for ch in sim.changes.values()}
    for pair, key in (((Action.DENY, Action.REFUND), ("#1029", "Zoe Adams")),
                      ((Action.DENY, Action.EXCHANGE), ("#1031", "Jamal Carter")),
                      ((Action.STORE_CREDIT, Action.EXCHANGE), ("#1030", "Priya Raman"))):
        assert by_pair[pair].money.in_("USD") == returns[key].amount
    # Denied money falls by exactly the two late denies that are now granted.
    denied_before = sim.current.money[Action.DENY].in_("USD")
    denied_after = sim.proposed.money[Action.DENY].in_("USD")
    assert denied_before - denied_after == returns[("#1029", "Zoe Adams")].amount + returns[("#1031", "Jamal Carter")].amount

    # The person granted Zoe's return: the new policy agrees with that, the current did not;
    # Ben Foster's final-sale deny stays a deny under both.
    assert sim.decided == 5  # the demo approver's three, and the two above
    assert sim.proposed.agrees == sim.current.agrees + 1
    text = render_text(sim, title="t")
    assert "deny → refund: 1 case, $89" in text.replace(".00", "")
    assert "35 cases replayed; 3 cases would be decided differently." in text


def test_nothing_changes_under_the_same_policy(history):
    c, _ = history
    current, same = _policies(c.engine)
    sim = run(c.engine, current, same, Scope())
    assert sim.changed == 0 and sim.higher_tier == sim.lower_tier == 0
    assert sim.proposed.agrees == sim.current.agrees and sim.current.auto_approved == sim.proposed.auto_approved


def test_the_scope_limits_the_replay_to_one_kind(history):
    c, _ = history
    current, longer = _policies(c.engine, **{"returns.window_days": "60"})
    sim = run(c.engine, current, longer, Scope(kind=CaseKind.DISPUTE))
    assert sim.cases == 1 and sim.changed == 0 and set(sim.kinds) == {CaseKind.DISPUTE}


def test_suggest_finds_the_window_that_matches_the_override_and_simulates_it(history):
    c, returns = history
    found = suggest(c.engine, None, Scope(), since="90d")
    assert found.decided == 5 and found.overrides == 1  # Zoe's granted return
    (kept,) = found.kept
    assert kept.dotted == "returns.window_days"
    assert int(kept.value) > 30 and kept.matched == 1
    assert "granted once in the last 90d a return the policy denied as outside the 30-day window" in kept.evidence
    # simulated over the same history: agreement up by that one decision
    assert kept.simulation.proposed.agrees == kept.simulation.current.agrees + 1
    assert parse_policy(kept.policy_text).returns.window_days == int(kept.value)  # what --write writes


def test_the_stored_verdicts_of_the_running_policy_are_read_and_give_the_same_report(history):
    """Ingest stamps each snapshot with its policy's fingerprint: replaying with that same
    policy as the current one reads the stored recommendation instead of recomputing it,
    and the report is exactly the recomputed one."""
    from policy.edit import with_values
    from policy.simulate import to_json

    c, _ = history
    running = c.policy  # the demo's effective policy: the one that assessed every case
    longer = parse_policy(with_values("", {"returns.window_days": "60"})).for_shop(
        stored_shop_facts(c.engine))
    read = run(c.engine, running, longer, Scope())
    recomputed = run(c.engine, running, longer, Scope(), reuse=False)
    assert read.reused > 20 and recomputed.reused == 0
    assert {**to_json(read), "current_verdicts_reused": 0} == to_json(recomputed)
    # another running policy (the default one, without the demo's approver) reads none
    assert run(c.engine, resolved(Policy.default(), stored_shop_facts(c.engine)), longer, Scope()).reused == 0


def test_money_arithmetic_without_revalidation_gives_the_same_report(history, monkeypatch):
    """The fast path (derived Money built without re-validation) against the straightforward
    one (every Money through the validating constructor): the same report, byte for byte."""
    from policy.models import Money
    from policy.simulate import to_json

    c, _ = history
    current, proposed = _policies(c.engine, **{"returns.window_days": "60", "vip.lifetime_spend": "300"})
    fast = to_json(run(c.engine, current, proposed, Scope(), reuse=False))
    built = []
    monkeypatch.setattr(Money, "_derived", classmethod(lambda cls, amount, currency: built.append(1) or
                                                       cls(amount=amount, currency=currency)))
    validated = to_json(run(c.engine, current, proposed, Scope(), reuse=False))
    assert built, "the replay does Money arithmetic"
    assert fast["changed"] > 0 and fast == validated


def test_the_stored_assessments_are_what_the_running_policy_makes_of_the_stored_contexts(history):
    """What the simulator's reuse rests on: a snapshot stamped with the running policy's
    fingerprint holds exactly `assess(its context, that policy)`, signals included (the
    proposed policy's detection starts from those signals)."""
    from sqlalchemy import select

    from bot.policy_fingerprint import fingerprint
    from bot.schema import case_snapshots, cases
    from bot.store.snapshots import read
    from policy.assess import assess

    c, _ = history
    mark = fingerprint(c.policy)
    with c.engine.connect() as conn:
        rows = conn.execute(select(case_snapshots.c.context, case_snapshots.c.assessment)
                            .join(cases, cases.c.snapshot_id == case_snapshots.c.id)
                            .where(case_snapshots.c.policy_fingerprint == mark)).all()
    assert len(rows) > 30
    kinds = set()
    for row in rows:
        ctx, stored = read(row.context, row.assessment)
        assert assess(ctx, c.policy) == stored, ctx.kind
        kinds.add(ctx.kind)
    assert kinds == set(CaseKind)  # tickets and delayed parcels are stamped where they open, too


def test_incremental_detection_gives_the_report_of_a_full_assess_per_case(history, monkeypatch):
    """The replay re-runs only the checks a proposal's changes reach; against a replay
    that assesses every case in full under the proposed policy, the report is the same,
    byte for byte — over several sections at once, and over one key."""
    import policy.simulate as simulate_module
    from policy.assess import assess
    from policy.simulate import to_json

    c, _ = history
    running = c.policy
    facts = stored_shop_facts(c.engine)
    proposals = [{"returns.window_days": "60", "vip.lifetime_spend": "300", "risk.high_value_threshold": "100"},
                 {"risk.weights.vip_customer": "-40"}, {"shipping.late_after_days": "1"}]
    reports = []
    for changes in proposals:
        proposed = resolved(proposed_policy(changes=changes), facts)
        incremental = to_json(run(c.engine, running, proposed, Scope()))
        with monkeypatch.context() as m:
            calls = []
            m.setattr(simulate_module, "reassess",
                      lambda ctx, p, before, changes: calls.append(1) or assess(ctx, p))
            full = to_json(run(c.engine, running, proposed, Scope()))
        assert calls and incremental == full, changes
        assert incremental["current_verdicts_reused"] > 20
        reports.append(incremental)
    assert reports[0]["changed"] > 0  # not a comparison of two empty reports



def test_several_workers_over_several_ranges_give_the_one_process_report(history):
    from policy.simulate import to_json

    c, _ = history
    current, proposed = _policies(c.engine, **{"returns.window_days": "60", "vip.lifetime_spend": "300"})
    alone = to_json(run(c.engine, current, proposed, Scope(), workers=1))
    assert alone["changed"] > 0
    assert to_json(run(c.engine, current, proposed, Scope(), workers=2)) == alone
    assert to_json(run(c.engine, current, proposed, Scope(), workers=3)) == alone


def test_kinds_a_proposal_cannot_reach_are_not_read_and_the_report_is_the_same(history, monkeypatch):
    """A change only delayed parcels read (`[shipping]`): with the stored verdicts, only
    those cases' contexts are read (and any case without one); the report is the one that
    reads and assesses every case."""
    import bot.simulate as bot_simulate
    from policy.simulate import to_json

    c, _ = history
    # the demo's running policy with one key changed
    proposed = c.policy.model_copy(update={"shipping": c.policy.shipping.model_copy(update={"late_after_days": 0})})
    read_kinds = []
    real = bot_simulate.read_context_text

    def reading(text, version):
        ctx = real(text, version)
        read_kinds.append(ctx.kind)
        return ctx

    monkeypatch.setattr(bot_simulate, "read_context_text", reading)
    quick = run(c.engine, c.policy, proposed, Scope())
    # read: every delayed parcel, and the few cases with no stored verdict of this policy
    delayed, unstored = quick.kinds[CaseKind.DELAYED_SHIPMENT], quick.cases - quick.reused
    assert quick.cases == 35 and delayed >= 1 and read_kinds.count(CaseKind.DELAYED_SHIPMENT) == delayed
    assert len(read_kinds) <= delayed + unstored < 15
    read_kinds.clear()
    full = run(c.engine, c.policy, proposed, Scope(), reuse=False)
    assert len(read_kinds) == 35
    assert {**to_json(quick), "current_verdicts_reused": 0} == to_json(full)
