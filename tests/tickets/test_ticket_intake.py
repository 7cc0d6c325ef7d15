"""A support ticket becomes one TICKET case on the sample store: classified (the rules,
without a key), its order found, judged (a return intent by the return policy), a draft
grounded in the decision; a later message refreshes the case, our own writes are ignored."""

from __future__ import annotations

import pytest

from bot.container import Container
from bot.services.ingest import Outcome
from bot.settings import load_settings
from integrations.helpdesk import ticket_event
from integrations.sample.store import SampleStore
from integrations.sample.tickets import connector_for as sample_helpdesk
from policy.models import Action, CaseKind
from policy.ticket_case import review_of
from policy.triage import Intent
from tests.conftest import FrozenClock


@pytest.fixture
def app(database_url):
    clock = FrozenClock()
    store = SampleStore.load(now=clock())
    c = Container.build(load_settings(_env_file=None, database_url=database_url), clock=clock, store=store,
                        connectors=(sample_helpdesk(store),))
    yield c
    c.engine.dispose()


def _helpdesk(c):
    (connector,) = c.registry.helpdesks
    return connector.helpdesk


def _return_ticket(c) -> str:
    order = c.store.find_orders("#1001")[0]
    customer = c.store.get_customer(order.customer_id)
    return _helpdesk(c).add("Return", email=customer.email, name=customer.display_name,
                            text="Hello, I want to return my hiking pants from #1001, they don't fit.")


def test_a_return_ticket_opens_one_ticket_case_judged_by_the_return_policy(app):
    ticket_id = _return_ticket(app)
    result = app.ingest.ingest(ticket_event(_helpdesk(app).get_ticket(ticket_id)))
    assert result.outcome is Outcome.CREATED
    case = result.case
    assert case.kind is CaseKind.TICKET and case.order_name == "#1001" and case.external_id == ticket_id
    ctx, assessment = app.cases.snapshot(case)
    assert ctx.tickets[0].id == ticket_id
    review = review_of(ctx)
    assert review.classification.intent is Intent.RETURN and review.classification.by == "rules"
    assert review.order_found_by.startswith("order number #1001")
    assert ctx.return_request is not None and ctx.return_request.id.startswith("ticket:")
    rec = assessment.recommendation
    assert rec.action in (Action.REFUND, Action.DENY, Action.STORE_CREDIT, Action.ESCALATE, Action.EXCHANGE)
    assert "judged by the return policy" in rec.reasons[0]
    assert review.draft is not None and review.draft.by == "template" and "#1001" in review.draft.text
    assert review.priority.level is not None


def test_a_later_message_refreshes_the_case_and_our_own_writes_are_ignored(app):
    helpdesk = _helpdesk(app)
    ticket_id = _return_ticket(app)
    first = app.ingest.ingest(ticket_event(helpdesk.get_ticket(ticket_id))).case
    helpdesk.customer_writes(ticket_id, "Any news? I'd like my money back.")
    again = app.ingest.ingest(ticket_event(helpdesk.get_ticket(ticket_id)))
    assert again.outcome is Outcome.DUPLICATE and again.case.id == first.id
    assert again.case.version > first.version and app.cases.count() == 1
    ctx, _ = app.cases.snapshot(again.case)
    assert len(ctx.tickets[0].messages) == 2
    helpdesk.add_internal_note(ticket_id, text="looked at it", idempotency_key="k1")
    ours = app.ingest.ingest(ticket_event(helpdesk.get_ticket(ticket_id)))
    assert ours.outcome is Outcome.IGNORED and app.cases.get(first.id).version == again.case.version


def test_other_intents_get_a_reply_recommendation(app):
    helpdesk = _helpdesk(app)
    ticket_id = helpdesk.keys["vip_complaint"]
    result = app.ingest.ingest(ticket_event(helpdesk.get_ticket(ticket_id)))
    assert result.outcome is Outcome.CREATED
    ctx, assessment = app.cases.snapshot(result.case)
    assert assessment.recommendation.action is Action.ACCEPT and ctx.return_request is None
    assert review_of(ctx).classification.intent is not Intent.RETURN  # the rules read it as they do
