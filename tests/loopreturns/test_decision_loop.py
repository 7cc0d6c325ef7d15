"""Issue 11's done-when through the running app, over FakeLoop and the sample store (the
Shopify side): a signed Loop return the policy flags → one case with Loop's outcome and
the store's context; Approve → one `process` at the policy's stage, and the card done once
Loop closes it; a return in Loop's review queue → Approve records it and links to Loop,
then is processed once when Loop opens it, with no second click; Deny → close or cancel as
chosen, once; Escalate → flagged with a note; Loop's processing failing → the card fails
with Retry, and Retry asks again. Every request FakeLoop received is counted."""

from __future__ import annotations

import httpx
import pytest

from blocks.ids import ActionId, BlockId, CallbackId
from integrations.loop.client import LoopAPI
from integrations.loop.connector import connector_for
from policy.models import CaseKind, CaseStatus
from tests.fakes.loop import FakeLoop
from tests.loop.harness import T1, T2A, action_ids, card_text, loop, wait_for

pytestmark = pytest.mark.usefixtures("database_url")


@pytest.fixture(autouse=True)
def quick_check_back(monkeypatch):
    """A queued processing is looked at again after a minute in production; here after a
    fraction of a second, so waiting for Loop to finish is not a minute of the suite."""
    import integrations.loop.actions as loop_actions

    monkeypatch.setattr(loop_actions, "CHECK_BACK_SECONDS", 0.2)

ORDER = "#1034"  # Marcus Webb, $549: a high-value return the policy sends to a person


@pytest.fixture
def fake():
    fake = FakeLoop()
    with fake.serve():
        yield fake


def _loop(fake):
    def build(store, clock):
        return (connector_for(LoopAPI(fake.api_key, fake.base_url), webhook_secret=fake.webhook_secret.encode(),
                              clock=clock),)
    return build


def loop_return(fake: FakeLoop, lp, *, state="open", order_name=ORDER):
    """A Loop return of every unit of the sample order (its Shopify ids), refund outcome."""
    order = lp.store.find_orders(order_name)[0]
    lines = []
    for li in order.line_items:
        price = str(li.unit_price.amount)
        lines += [{"provider_line_item_id": li.id.rsplit("/", 1)[1], "title": li.title, "price": price,
                   "discount": "0.00", "tax": "0.00", "refund": price}] * li.quantity
    total = str(order.total.amount)
    return fake.add_return(state=state, order_id=order.id.rsplit("/", 1)[1], order_name=order.name, lines=lines,
                           refund=total, total=total, return_total=total, currency=order.currency,
                           exchanges=[], gift_card="0.00", label_status="new")


def deliver(lp, fake, trigger, return_id):
    raw, headers = fake.signed(fake.webhook(trigger, return_id))
    response = httpx.post(f"{lp.server.url}/webhooks/loop", content=raw, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return response


def deliver_body(lp, fake, body):
    raw, headers = fake.signed(body)
    assert httpx.post(f"{lp.server.url}/webhooks/loop", content=raw, headers=headers, timeout=10).status_code == 200


def the_card(lp, ret, **more):
    return wait_for(lambda: (c := lp.c.cases.find("loop", f"loop:{ret['id']}", CaseKind.RETURN_REQUEST))
                    and c.slack_ts and c.card_version == c.version and all(getattr(c, k) == v for k, v in more.items())
                    and c, what="the Loop return's card")


def posts(fake, action, rid):
    return [c for c in fake.calls if c.method == "POST" and c.path == f"/warehouse/return/{rid}/{action}"]


def test_an_open_return_the_policy_flags_is_one_case_and_approve_processes_it_once(database_url, fake):
    with loop(database_url, connectors=_loop(fake)) as lp:
        ret = loop_return(fake, lp)
        deliver(lp, fake, "return.updated", ret["id"])
        case = the_card(lp, ret)
        assert lp.c.cases.count() == 1
        assert case.order_name == ORDER and case.recommended_action == "refund" and case.external_status == "open"
        card = card_text(lp.last_card(case))
        assert "Loop owns this return" in card and "admin.loopreturns.com/returns/" in card
        assert "high value" in card.lower()  # the store's context, judged by the policy

        assert lp.click(case, ActionId.CASE_APPROVE, T2A).status_code == 200
        assert lp.click(case, ActionId.CASE_APPROVE, T2A).status_code == 200  # a double click
        wait_for(lambda: len(posts(fake, "process", ret["id"])) == 1, what="process called")
        executing = lp.c.cases.get(case.id)
        assert executing.status in (CaseStatus.EXECUTING, CaseStatus.APPROVED)  # queued in Loop, not done
        notes = fake.notes[str(ret["id"])]
        assert any("Approved in Slack by" in n["content"] and "high value" in n["content"] for n in notes)

        deliver_body(lp, fake, fake.complete_processing(ret["id"]))
        done = wait_for(lambda: (c := lp.c.cases.get(case.id)).status is CaseStatus.DONE and c, timeout=20,
                        what="done once Loop closed it")
        lp.settle(done.id)
        assert len(posts(fake, "process", ret["id"])) == 1
        assert "processed in Loop" in card_text(lp.last_card(done))


def test_the_same_return_also_announced_by_shopify_is_still_one_case(database_url, fake):
    from tests.loop.test_shopify_warehouse_loop import deliver as shopify_deliver  # noqa: F401 - for the shape

    with loop(database_url, connectors=_loop(fake)) as lp:
        ret = loop_return(fake, lp)
        deliver(lp, fake, "return.created", ret["id"])
        case = the_card(lp, ret)
        # The sample store (Shopify's side) reports its return of the same units.
        order = lp.store.find_orders(ORDER)[0]
        from policy.models import DomainEvent, EventKind, ReturnLineItem, ReturnRequest, ReturnStatus

        twin = ReturnRequest(id="gid://shopify/Return/999001", order_id=order.id, status=ReturnStatus.REQUESTED,
                             requested_at=order.created_at, line_items=tuple(
                                 ReturnLineItem(id=f"gid://shopify/ReturnLineItem/{i}", line_item_id=li.id,
                                                title=li.title, quantity=li.quantity, unit_price=li.unit_price,
                                                reason="OTHER") for i, li in enumerate(order.line_items)))
        lp.store._state.returns[twin.id] = twin
        result = lp.c.ingest.ingest(DomainEvent(source="shopify", kind=EventKind.RETURN_REQUESTED,
                                                resource_id=twin.id, occurred_at=order.created_at))
        assert result.case is not None and result.case.id == case.id
        assert lp.c.cases.count() == 1
        assert len([c for c in lp.slack.calls_to("chat.postMessage") if c.params.get("thread_ts") is None]) == 1


def test_a_return_in_review_is_approved_here_then_processed_once_when_loop_opens_it(database_url, fake):
    with loop(database_url, connectors=_loop(fake)) as lp:
        ret = loop_return(fake, lp, state="review", order_name="#1040")  # $329: in review, a person decides
        deliver(lp, fake, "return.created", ret["id"])
        case = the_card(lp, ret)
        assert case.external_status == "review"
        assert "review queue" in card_text(lp.last_card(case))
        assert lp.click(case, ActionId.CASE_APPROVE, T2A).status_code == 200
        decided = wait_for(lambda: (c := lp.c.cases.get(case.id)).status is CaseStatus.DONE and
                           c.card_version == c.version and c, what="approved, noted")
        card = card_text(lp.last_card(decided))
        assert "now accept it in Loop" in card and "admin.loopreturns.com/returns/" in card
        assert posts(fake, "process", ret["id"]) == [] and len(posts(fake, "note", ret["id"])) == 1

        fake.set(ret["id"], state="open")  # a person accepts it in Loop's admin
        deliver(lp, fake, "return.updated", ret["id"])
        wait_for(lambda: len(posts(fake, "process", ret["id"])) == 1, what="processed once, no second click")
        deliver(lp, fake, "return.updated", ret["id"])  # Loop tells us again: still once
        deliver_body(lp, fake, fake.complete_processing(ret["id"]))
        wait_for(lambda: lp.c.cases.get(case.id).status is CaseStatus.DONE, timeout=20, what="done")
        assert len(posts(fake, "process", ret["id"])) == 1


@pytest.mark.parametrize("deny_as", ["close", "cancel"])
def test_deny_closes_or_cancels_as_chosen_once(database_url, fake, deny_as):
    with loop(database_url, connectors=_loop(fake)) as lp:
        ret = loop_return(fake, lp)
        deliver(lp, fake, "return.updated", ret["id"])
        case = the_card(lp, ret)
        assert lp.click(case, ActionId.CASE_DENY, T2A).status_code == 200
        modal = [c.params["view"] for c in lp.slack.calls_to("views.open")][-1]
        assert "also closes it in Shopify" in str(modal) and "may start a new return" in str(modal)
        state = {str(BlockId.DENY_REASON): {str(ActionId.DENY_REASON): {
                     "type": "static_select", "selected_option": {"value": "OTHER"}}},
                 str(BlockId.DENY_AS): {str(ActionId.DENY_AS): {
                     "type": "radio_buttons", "selected_option": {"value": deny_as}}}}
        assert lp.submit(CallbackId.DENY_MODAL, case, state, T2A).status_code == 200
        done = wait_for(lambda: (c := lp.c.cases.get(case.id)).status is CaseStatus.DONE and c, what="denied")
        lp.settle(done.id)
        assert len(posts(fake, deny_as, ret["id"])) == 1
        assert posts(fake, "close" if deny_as == "cancel" else "cancel", ret["id"]) == []
        assert posts(fake, "process", ret["id"]) == []
        assert fake.returns[str(ret["id"])]["state"] == ("closed" if deny_as == "close" else "cancelled")


def test_escalate_flags_it_in_loop_with_the_reason(database_url, fake):
    with loop(database_url, connectors=_loop(fake)) as lp:
        ret = loop_return(fake, lp)
        deliver(lp, fake, "return.updated", ret["id"])
        case = the_card(lp, ret)
        assert lp.click(case, ActionId.CASE_ESCALATE, T1).status_code == 200
        state = {"escalate-note": {"escalate-note-input": "check the photos"}}
        assert lp.submit(CallbackId.ESCALATE_MODAL, case, state, T1).status_code == 200
        wait_for(lambda: len(posts(fake, "flag", ret["id"])) == 1, what="flagged")
        wait_for(lambda: any("check the photos" in n["content"] for n in fake.notes.get(str(ret["id"]), [])),
                 what="the reason noted")
        assert lp.c.cases.get(case.id).status is CaseStatus.ESCALATED


def test_loop_failing_to_process_fails_the_card_and_retry_asks_again(database_url, fake):
    with loop(database_url, connectors=_loop(fake)) as lp:
        ret = loop_return(fake, lp)
        deliver(lp, fake, "return.updated", ret["id"])
        case = the_card(lp, ret)
        assert lp.click(case, ActionId.CASE_APPROVE, T2A).status_code == 200
        wait_for(lambda: len(posts(fake, "process", ret["id"])) == 1, what="process called")
        deliver_body(lp, fake, fake.fail_processing(ret["id"], "Exchange variant out of stock"))
        failed = wait_for(lambda: (c := lp.c.cases.get(case.id)).status is CaseStatus.FAILED
                          and c.card_version == c.version and c, what="the card fails")
        card = lp.last_card(failed)
        assert "Exchange variant out of stock" in card_text(card) and ActionId.CASE_RETRY in action_ids(card)
        assert lp.click(failed, ActionId.CASE_RETRY, T2A).status_code == 200
        wait_for(lambda: len(posts(fake, "process", ret["id"])) == 2, what="Retry asks Loop again")


def test_a_return_shopify_reported_first_is_handed_to_loop_and_decided_there(database_url, fake):
    from policy.models import DomainEvent, EventKind, ReturnLineItem, ReturnRequest, ReturnStatus

    with loop(database_url, connectors=_loop(fake)) as lp:
        order = lp.store.find_orders(ORDER)[0]
        twin = ReturnRequest(id="gid://shopify/Return/999002", order_id=order.id, status=ReturnStatus.REQUESTED,
                             requested_at=order.created_at, line_items=tuple(
                                 ReturnLineItem(id=f"gid://shopify/ReturnLineItem/{i}", line_item_id=li.id,
                                                title=li.title, quantity=li.quantity, unit_price=li.unit_price,
                                                reason="OTHER") for i, li in enumerate(order.line_items)))
        lp.store._state.returns[twin.id] = twin
        first = lp.c.ingest.ingest(DomainEvent(source="shopify", kind=EventKind.RETURN_REQUESTED,
                                               resource_id=twin.id, occurred_at=order.created_at)).case
        assert first.source == "shopify" and first.owner is None
        ret = loop_return(fake, lp)
        deliver(lp, fake, "return.created", ret["id"])
        case = wait_for(lambda: (c := lp.c.cases.get(first.id)).owner == "loop" and c.slack_ts
                        and c.card_version == c.version and c, what="handed over to Loop")
        assert case.owner_ref == f"loop:{ret['id']}" and lp.c.cases.count() == 1
        assert "Loop owns this return" in card_text(lp.last_card(case))
        calls_before = len(lp.store.calls)
        assert lp.click(case, ActionId.CASE_APPROVE, T2A).status_code == 200
        wait_for(lambda: len(posts(fake, "process", ret["id"])) == 1, what="processed in Loop")
        assert [c.method for c in lp.store.calls[calls_before:]] == []  # nothing on the store's return
