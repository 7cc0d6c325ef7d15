"""The early fraud warning's card (figures, how the payment was linked, Radar's evidence,
hostile processor text escaped) and the sample store's payment data in the demo."""

from __future__ import annotations

import json

import pytest

from blocks.card import render_case_card
from bot.clock import utcnow
from bot.container import Container
from bot.settings import Settings
from integrations.sample.payments import SamplePayments, connector_for
from integrations.sample.store import SampleStore
from policy.models import CaseKind, EventKind, PaymentRisk, RiskLevel

pytestmark = pytest.mark.usefixtures("database_url")


@pytest.fixture
def world(database_url):
    store = SampleStore.load(now=utcnow())
    sample = connector_for(store)
    c = Container.build(Settings(_env_file=None, database_url=database_url), store=store, connectors=(sample,))
    yield c, store, sample.source
    c.engine.dispose()


def _text(card: dict) -> str:
    return json.dumps(card["blocks"], ensure_ascii=False) + card["text"]


def test_the_sample_warning_becomes_a_case_with_its_card(world):
    c, store, payments = world
    [event] = payments.events()
    assert event.kind is EventKind.FRAUD_WARNING and event.source == "stripe"
    case = c.ingest.ingest(event).case
    assert case.kind is CaseKind.EARLY_FRAUD_WARNING and case.order_name == "#1038"
    assert case.recommended_action == "refund" and str(case.amount) == "$58.00"
    text = _text(render_case_card(c.views.build(case)))
    assert "Early fraud warning · #1038 · $58.00" in text
    assert "made with stolen card" in text and "ch_sample_1038" in text
    assert "Linked to the order: the order's payment transaction names it" in text
    assert "Radar risk: medium (score 72)" in text
    assert "$73.00 ($58.00 plus the $15.00 dispute fee)" in text  # the figures
    assert "Approve refund $58.00" in text
    assert c.ingest.ingest(event).outcome.value == "duplicate"


def test_approving_the_sample_warning_refunds_once_in_the_sample_processor(world):
    c, store, payments = world
    [event] = payments.events()
    case = c.ingest.ingest(event).case
    from bot.services.effects import approval_ops
    from policy.models import Action

    [op] = approval_ops(case, Action.REFUND)
    first = payments.refund_payment(op.payload, op.idempotency_key)
    again = payments.refund_payment(op.payload, op.idempotency_key)
    assert first == again and len(payments._refunds) == 1
    assert not payments.warnings[case.external_id].actionable


def test_the_disputed_and_risky_sample_orders_carry_payment_facts_onto_return_cards(world):
    c, store, payments = world
    for event in store.events():
        if event.kind is EventKind.RETURN_REQUESTED and store.get_order(event.order_id).name in ("#1037", "#1040"):
            c.ingest.ingest(event)
    cards = {k.order_name: _text(render_case_card(c.views.build(k))) for k in c.cases.list()}
    assert "Open dispute du_sample_1037: fraudulent, network code 10.4" in cards["#1037"]
    assert "Radar risk: high" in cards["#1040"] and "score" not in cards["#1040"].split("Radar risk: high")[1][:10]
    [case_1040] = [k for k in c.cases.list() if k.order_name == "#1040"]
    assert "high_payment_risk" in case_1040.signal_codes


def test_processor_text_on_the_card_is_escaped(world):
    c, store, payments = world
    order = store.find_orders("#1038")[0]
    payments.risks[order.id] = PaymentRisk(source="stripe", level=RiskLevel.MEDIUM, score=70,
                                           seller_message="<!channel> see <https://evil.example|here> & pay")
    case = c.ingest.ingest(payments.events()[0]).case
    text = _text(render_case_card(c.views.build(case)))
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text and "&amp; pay" in text


def test_order_lookup_shows_the_payment_systems_facts(world):
    from blocks.order import render_order_context

    c, store, payments = world
    warned = _text(render_order_context(c.lookup.context_for(store.find_orders("#1038")[0])))
    assert "Radar risk: medium (score 72)" in warned
    disputed = _text(render_order_context(c.lookup.context_for(store.find_orders("#1037")[0])))
    assert "Open dispute du_sample_1037: fraudulent, network code 10.4" in disputed
    # Priya Raman's other order #1030: the warning on #1038 is a signal there.
    other = _text(render_order_context(c.lookup.context_for(store.find_orders("#1030")[0])))
    assert "Another open fraud warning: made with stolen card" in other
    assert "early fraud warning on the customer" in other
