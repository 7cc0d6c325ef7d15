"""Exchanges through the lifecycle, with FakeShopify as the store and the real job runner:
approval queues approve + release once; a replayed release is a repeat at the fake (every
call counted); an exchange item out of stock opens the follow-up whose only choices are a
refund or store credit; the items received close the return, with no refund."""

from __future__ import annotations

import dataclasses
import pytest

from bot.jobs.kinds import Kind
from bot.jobs.runner import JobRunner
from bot.services.effects import approval_ops
from bot.services.exchanges import ExchangeService
from bot.services.execute import ActionJobs
from bot.services.lifecycle import FollowupRefused, LifecycleService
from bot.store import CaseRepo, OpsRepo, OutboxRepo
from bot.store.cases import Decision
from bot.store.jobs import JobRepo
from bot.store.stages import StageRepo
from integrations.connector import Registry
from integrations.shopify.client import ShopifyGraphQL
from integrations.shopify.connector import connector_for
from integrations.shopify.source import ShopifyStore
from policy.config import Policy
from policy.lifecycle import DisposedLine, Disposition, ReturnStage, StageUpdate
from policy.models import Action, CaseStatus, Money
from policy.ports import ExchangeOutOfStock, Operation
from tests.bot.factories import NOW, new_case
from tests.fakes.shopify import FakeClock, FakeShopify

RELEASE_DOC = "ReturnProcessExchange"


class World:
    def __init__(self, engine, clock, *, stock: int | None = 3, exchange: bool = True):
        self.clock = clock
        self.fake = FakeShopify(currency="USD", now=clock)
        ticks = FakeClock(start=NOW)
        self.customer = customer = self.fake.add_customer(display_name="Ada Lovelace")
        oid = self.fake.add_order(customer_id=customer, line_items=[{"title": "Trail Jacket", "price": "149.00"}])
        self.return_id = self.fake.add_return(oid)
        self.variant = self.fake.add_variant("Trail Jacket", variant_title="L", inventory_quantity=stock,
                                             tracked=stock is not None)
        if exchange:
            self.fake.add_exchange_item(self.return_id, variant_id=self.variant)
        client = ShopifyGraphQL(self.fake.graphql_url(), self.fake.access_token, http=self.fake.http_client(),
                                sleep=ticks.sleep, monotonic=ticks.monotonic)
        self.store = store = ShopifyStore(client, shop_domain=self.fake.shop_domain, now=clock)
        self.cases, self.outbox = CaseRepo(engine), OutboxRepo(engine)
        policy = Policy.default()
        self.exchanges = ExchangeService(cases=self.cases, outbox=self.outbox, policy=policy, clock=clock)
        self.lifecycle = LifecycleService(cases=self.cases, stages=StageRepo(engine), source=store, policy=policy, clock=clock)
        self.lifecycle.exchanges = self.exchanges
        registry = Registry([connector_for(store, webhook_secret=None)])
        actions = ActionJobs(cases=self.cases, outbox=self.outbox, registry=registry, clock=clock,
                             on_out_of_stock=self.exchanges.out_of_stock)
        self.runner = JobRunner(repo=JobRepo(engine), ops=OpsRepo(engine), clock=clock,
                                handlers={Kind.ACTION: actions}, holder="test")
        spec = new_case(action=Action.EXCHANGE)
        ctx = spec.context.model_copy(update={
            "order": spec.context.order.model_copy(update={"id": oid, "customer_id": customer}),
            "return_request": spec.context.return_request.model_copy(update={"id": self.return_id,
                                                                              "order_id": oid})})
        self.case, _ = self.cases.open(dataclasses.replace(spec, external_id=self.return_id, context=ctx))
        self.line = spec.context.return_request.line_items[0]

    def approve(self):
        case = self.cases.get(self.case.id)
        return self.cases.transition(case.id, expected=CaseStatus.OPEN, to=CaseStatus.APPROVED, actor="U1",
                                     at=self.clock(), event="case.approved",
                                     decision=Decision("approve", Action.EXCHANGE.value, True),
                                     ops=approval_ops(case, Action.EXCHANGE))

    def drain(self):
        for _ in range(5):  # retries are due after their backoff: move the clock past it
            self.runner.drain()
            self.clock.advance(minutes=15)
        return self.cases.get(self.case.id)

    def received(self, disposition=Disposition.RESTOCKED, ref="rfo-1"):
        return self.lifecycle.apply(StageUpdate(
            return_id=self.return_id, stage=ReturnStage.RECEIVED, at=self.clock(), source="shopify", ref=ref,
            dispositions=(DisposedLine(return_line_id=self.line.id, quantity=self.line.quantity,
                                       disposition=disposition),)))

    def ops(self):
        return [r.operation for r in self.outbox.for_case(self.case.id)]


def test_approval_queues_approve_and_release_once(engine, clock):
    w = World(engine, clock)
    assert w.approve().ok
    assert not w.approve().ok  # a second approval of the same case changes nothing
    keys = [op.idempotency_key for op in approval_ops(w.case, Action.EXCHANGE)]
    assert keys == [f"returnsbot:shopify:case-{w.case.id}:approve_return",
                    f"returnsbot:shopify:case-{w.case.id}:release_exchange"]
    assert w.ops() == [Operation.APPROVE_RETURN, Operation.RELEASE_EXCHANGE]
    done = w.drain()
    assert done.status is CaseStatus.DONE
    assert w.fake.exchange_released(w.return_id) == 1
    assert len(w.fake.calls_to(RELEASE_DOC)) == 1
    # Only the exchange was processed: no refund, no returned lines, no money.
    [(name, sent)] = [m for m in w.fake.mutations if m[0] == "returnProcess"]
    assert "financialTransfer" not in sent and not sent.get("returnLineItems") and not sent.get("refundShipping")
    assert sent["exchangeLineItems"] == [{"id": w.fake.returns[w.return_id]["_exchanges"][0]["id"], "quantity": 1}]
    assert w.fake.refunds_of_return(w.return_id) == []
    assert w.fake.variants[w.variant]["inventoryQuantity"] == 2


def test_an_exchange_recommended_without_exchange_items_in_the_store_is_approved_not_failed(engine, clock):
    w = World(engine, clock, exchange=False)  # the policy said exchange; the customer chose no item
    w.approve()
    done = w.drain()
    assert done.status is CaseStatus.DONE
    [release] = [r for r in w.outbox.for_case(w.case.id) if r.operation == Operation.RELEASE_EXCHANGE]
    assert "no exchange items" in release.result_summary
    assert w.fake.calls_to(RELEASE_DOC) == [] and w.fake.return_status(w.return_id) == "OPEN"


def test_a_release_whose_answer_was_lost_is_a_repeat_at_the_fake(engine, clock):
    w = World(engine, clock)
    w.approve()
    w.fake.timeout_next(1, after_execute=True, operation=RELEASE_DOC)
    done = w.drain()
    assert done.status is CaseStatus.DONE
    # The first request landed (its answer lost); the retry read the return, found the
    # exchange processed and sent nothing: one request to process it, ever.
    assert len(w.fake.calls_to(RELEASE_DOC)) == 1
    assert [m[0] for m in w.fake.mutations].count("returnProcess") == 1
    assert w.fake.exchange_released(w.return_id) == 1
    [release] = [r for r in w.outbox.for_case(w.case.id) if r.operation == Operation.RELEASE_EXCHANGE]
    assert release.status == "done" and release.attempts == 2 and "already released" in release.result_summary


def test_out_of_stock_opens_the_followup_with_only_refund_or_store_credit(engine, clock):
    w = World(engine, clock, stock=0)
    w.approve()
    opened = w.drain()
    assert opened.status is CaseStatus.OPEN
    fu = opened.followup
    assert fu["reason"] == "exchange_out_of_stock" and fu["recommended"] == "store_credit"
    assert "Trail Jacket" in fu["summary"] and "out of stock" in fu["summary"]
    assert fu["refundable"] == "149.00"
    assert w.fake.calls_to(RELEASE_DOC) == [] and w.fake.exchange_released(w.return_id) == 0
    [release] = [r for r in w.outbox.for_case(w.case.id) if r.operation == Operation.RELEASE_EXCHANGE]
    assert release.status == "done" and "out of stock" in release.result_summary  # answered, not failed
    for choice, amount in (("partial_refund", Money.of("10", "USD")), ("no_refund", None)):
        with pytest.raises(FollowupRefused, match="refund or store credit"):
            w.lifecycle.decide_followup(w.case.id, choice=choice, amount=amount, message="sorry", actor="U1",
                                        version=opened.version)
    assert w.cases.get(w.case.id).version == opened.version  # refused: nothing changed
    w.lifecycle.decide_followup(w.case.id, choice="store_credit", amount=None, message=None, actor="U1",
                                version=opened.version)
    assert w.ops()[-2:] == [Operation.REMOVE_EXCHANGE, Operation.ISSUE_STORE_CREDIT]
    done = w.drain()
    assert done.status is CaseStatus.DONE and done.followup is None
    assert w.fake.store_credit_balance(w.customer, "USD") == 149
    assert len(w.fake.calls_to("StoreCreditAccountCredit")) == 1


def test_a_refund_for_an_exchange_out_of_stock_removes_the_exchange_first(engine, clock):
    w = World(engine, clock, stock=0)
    w.approve()
    opened = w.drain()
    w.fake.set_stock(w.variant, 4)  # restocked meanwhile: the refund must still not ship it
    w.lifecycle.decide_followup(w.case.id, choice="refund", amount=None, message=None, actor="U1",
                                version=opened.version)
    done = w.drain()
    assert done.status is CaseStatus.DONE
    [refund] = w.fake.refunds_of_return(w.return_id)
    assert w.fake.exchange_released(w.return_id) == 0
    assert len(w.fake.calls_to("RemoveExchangeFromReturn")) == 1
    assert w.fake.return_status(w.return_id) == "CLOSED"  # processed in full: nothing left to ship or refund


def test_a_replayed_out_of_stock_refusal_opens_one_followup(engine, clock):
    w = World(engine, clock, stock=0)
    w.approve()
    opened = w.drain()
    # The job runs again (its completion was lost after the follow-up opened): the store
    # refuses again, and the follow-up already open is the answer, not a second one.
    [job] = [j for j in JobRepo(engine).for_case(w.case.id, kind=Kind.ACTION)
             if j.operation == Operation.RELEASE_EXCHANGE]
    with pytest.raises(ExchangeOutOfStock) as again:
        w.store.release_exchange(w.return_id, notify_customer=True, idempotency_key=job.idempotency_key)
    assert "out of stock" in w.exchanges.out_of_stock(job, again.value).summary
    assert w.cases.get(w.case.id).version == opened.version
    assert [a["event"] for a in w.cases.audit(w.case.id)].count("case.followup_opened") == 1
    assert w.fake.calls_to(RELEASE_DOC) == []


def test_an_out_of_stock_refusal_for_a_case_no_longer_executing_fails_the_job(engine, clock):
    w = World(engine, clock, stock=0)
    w.approve()
    w.drain()
    [job] = [j for j in JobRepo(engine).for_case(w.case.id, kind=Kind.ACTION)
             if j.operation == Operation.RELEASE_EXCHANGE]
    fu = w.cases.get(w.case.id)
    w.lifecycle.decide_followup(w.case.id, choice="refund", amount=None, message=None, actor="U1",
                                version=fu.version)
    with pytest.raises(ExchangeOutOfStock):
        w.store.release_exchange(w.return_id, notify_customer=True, idempotency_key=job.idempotency_key)
    exc = ExchangeOutOfStock("short", items=())
    with pytest.raises(ExchangeOutOfStock):  # decided since: the refusal is not turned into a new follow-up
        w.exchanges.out_of_stock(job, exc)
    assert w.cases.get(w.case.id).followup is None


def test_received_items_close_the_exchange_without_a_refund(engine, clock):
    w = World(engine, clock)
    w.approve()
    w.drain()
    w.received()
    w.received()  # the same dispose fact again
    done = w.drain()
    assert done.status is CaseStatus.DONE and done.stage is ReturnStage.RECEIVED
    assert w.ops().count(Operation.CLOSE_RETURN) == 1
    assert w.fake.return_status(w.return_id) == "CLOSED"
    assert len(w.fake.calls_to("ReturnClose")) <= 1
    assert w.fake.refunds_of_return(w.return_id) == []
    assert Operation.REFUND_RETURN not in w.ops()


def test_a_missing_item_after_the_exchange_opens_the_usual_followup_recommending_no_refund(engine, clock):
    w = World(engine, clock)
    w.approve()
    w.drain()
    opened = w.received(Disposition.MISSING)
    assert opened.status is CaseStatus.OPEN
    assert opened.followup["reason"] == "missing" and opened.followup["recommended"] == "no_refund"
    assert Operation.CLOSE_RETURN not in w.ops()
    w.lifecycle.decide_followup(w.case.id, choice="partial_refund", amount=Money.of("20", "USD"), message=None,
                                actor="U1", version=opened.version)  # the usual choices stay open here
    assert Operation.REFUND_RETURN in w.ops()


def test_a_refund_case_is_not_closed_on_receipt_by_the_exchange_rule(engine, clock):
    w = World(engine, clock)
    case = w.cases.get(w.case.id)
    w.cases.transition(case.id, expected=CaseStatus.OPEN, to=CaseStatus.DONE, actor="U1", at=clock(),
                       event="case.approved", decision=Decision("approve", "refund", True))
    w.received()
    assert Operation.CLOSE_RETURN not in w.ops()
    assert w.cases.get(w.case.id).status is CaseStatus.DONE
