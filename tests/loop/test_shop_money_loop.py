"""A shop that does not price in dollars, end to end (issue 8's "done when"): the sample
store as a European shop, the loop's policy (no [store] section: the shop's currency and
time zone), real signed clicks, the refund carried out once."""

from __future__ import annotations

from bot.clock import utcnow
from blocks.card import render_case_card
from blocks.ids import ActionId
from bot.container import Container
from bot.settings import Settings
from integrations.sample import SampleStore
from policy.config import parse_policy
from policy.models import CaseStatus, Money
from tests.loop.harness import T1, action_ids, card_text, loop, wait_for

MULTI = "#1901"  # Oliver Hughes: €145.00 in shop money, charged £124.10
NOW = utcnow().replace(hour=12, minute=0, second=0, microsecond=0)


def test_a_tier_one_approver_refunds_a_multi_currency_return_in_a_eur_shop(database_url):
    store = SampleStore.load(now=utcnow(), variant="eur")
    with loop(database_url, store=store) as lp:
        assert lp.c.policy.shop_currency == "EUR" and lp.c.policy.store.timezone == "Europe/Berlin"
        case = lp.open_case(MULTI)
        assert case.amount == Money.of("145.00", "EUR") and case.required_tier == 0
        card = lp.last_card(case)
        text = card_text(card)
        assert "Return request · #1901 · €145.00 · charged £124.10" in text
        assert "Tier 1 (≤ €250)" in text and "Approve refund €145.00" in text
        assert action_ids(card)[0] == ActionId.CASE_APPROVE

        assert lp.click(case, ActionId.CASE_APPROVE, T1).status_code == 200
        done = wait_for(lambda: (k := lp.c.cases.get(case.id)).status is CaseStatus.DONE and k, what="the refund")
        lp.settle(case.id)
        refunds = [c for c in store.calls if c.method == "refund_return"]
        assert len(refunds) == 1 and refunds[0].params["amount"] == Money.of("145.00", "EUR")
        refund = store.get_refund(refunds[0].result.external_id)
        assert refund.presentment_amount == Money.of("124.10", "GBP")  # back in the currency the customer paid
        assert "refund €145.00 issued (£124.10 to the customer)" in card_text(lp.last_card(done))


def test_the_eur_shop_auto_approves_and_finds_vips_as_the_dollar_shop_does(database_url):
    """The same sample data priced in euros gives the same decisions as in dollars."""
    from tests.conftest import reset_database

    def decisions(variant: str) -> dict:
        reset_database(database_url)
        store = SampleStore.load(now=NOW, variant=variant)
        c = Container.build(Settings(_env_file=None, database_url=database_url), store=store, clock=lambda: NOW)
        try:
            for event in store.events():
                c.ingest.ingest(event)
            return {(k.order_name, k.kind.value): (k.required_tier, k.recommended_action, k.auto_approved,
                                                    k.signal_codes, k.amount.amount)
                    for k in c.cases.list()}
        finally:
            c.engine.dispose()

    dollars, euros = decisions("us"), decisions("eur")
    euros.pop(("#1901", "return_request"))  # only the European shop has the order paid in pounds
    assert euros == dollars
    assert any(auto for _, _, auto, _, _ in euros.values())
    assert any("vip_customer" in codes for _, _, _, codes, _ in euros.values())


JPY_POLICY = """
[risk]
high_value_threshold = 75000
[vip]
lifetime_spend = 300000
[auto_approve]
max_amount = 5000
[[approval_tiers]]
up_to = 30000
approvers = ["U0TIERONE1"]
[[approval_tiers]]
approvers = ["U0TIERTHRE"]
"""


def test_a_yen_shop_stores_compares_renders_and_refunds_whole_yen(database_url):
    store = SampleStore.load(now=NOW, variant="jpy")
    c = Container.build(Settings(_env_file=None, database_url=database_url), store=store, clock=lambda: NOW,
                        policy=parse_policy(JPY_POLICY))
    try:
        assert c.policy.shop_currency == "JPY"
        event = next(e for e in store.events() if e.order_id == store.find_orders("#1042")[0].id
                     and e.kind.value == "return_requested")  # Daniel's exchange, ¥14,900
        case = c.ingest.ingest(event).case
        assert case.amount == Money.of("14900", "JPY") and case.required_tier == 0  # ≤ ¥30,000
        assert not case.auto_approved  # above the ¥5,000 limit
        with c.engine.connect() as conn:
            from sqlalchemy import text

            assert conn.execute(text("SELECT amount_minor, currency FROM cases WHERE id = :id"),
                                {"id": case.id}).one() == (14900, "JPY")
        card = render_case_card(c.views.for_id(case.id))
        assert "¥14,900" in card["text"] and "Tier 1 (≤ ¥30,000)" in str(card["blocks"])

        # A refund, in whole yen, exactly once.
        small = next(e for e in store.events() if e.order_id == store.find_orders("#1044")[0].id
                     and e.kind.value == "return_requested")  # Maya's ¥5,200 refund
        refund_case = c.ingest.ingest(small).case
        c.decide.approve(refund_case.id, "U0TIERONE1")
        c.drain("actions")
        [call] = [k for k in store.calls if k.method == "refund_return"]
        assert call.params["amount"] == Money.of("5200", "JPY") and call.params["amount"].to_minor() == 5200
        assert c.cases.get(refund_case.id).status is CaseStatus.DONE
        assert "refund ¥5,200 issued" in render_case_card(c.views.for_id(refund_case.id))["text"]
    finally:
        c.engine.dispose()
