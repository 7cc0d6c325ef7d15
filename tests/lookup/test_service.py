"""OrderLookup against the sample store (with cases in a real database) and FakeShopify."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from blocks.order import OrderChoicesView, OrderContextView, Problem, UsageView, render_order_answer
from bot.container import Container
from bot.services.context import assemble
from bot.services.lookup import OrderLookup
from bot.settings import Settings
from bot.store import CaseRepo
from integrations.sample.store import SampleStore
from integrations.shopify.client import ShopifyGraphQL
from integrations.shopify.source import ShopifyStore
from policy.config import Policy
from policy.detect import detect
from policy.models import CaseKind, CaseStatus, DomainEvent, EventKind, Money, ShopFacts, SignalCode
from policy.ports import IntegrationError
from tests.blocks.limits import block_texts, check_limits
from tests.fakes.shopify import FakeClock, FakeShopify


def usd(a: str) -> Money:
    return Money.of(a, "USD")


class Playbook:
    """Records what the card asked the playbook for."""

    def __init__(self, entries=()):
        self.asked, self.entries = [], tuple(entries)

    def for_case(self, kind, signal_codes, limit=3):
        self.asked.append((kind, tuple(signal_codes), limit))
        return self.entries


@pytest.fixture
def sample(clock):
    return SampleStore.load(now=clock())


@pytest.fixture
def container(database_url, sample, clock, engine):
    return Container.build(Settings(_env_file=None, database_url=database_url), clock=clock, store=sample,
                           policy=Policy.default(), engine=engine)


def lookup_for(container, store=None, playbook=None) -> OrderLookup:
    return OrderLookup(store=store or container.store, cases=container.cases, playbook=playbook or Playbook(),
                       policy=container.policy, clock=container.clock)


def ingest(container, sample, order_name: str, kind: EventKind):
    order = sample.find_orders(order_name)[0]
    event = next(e for e in sample.events() if e.order_id == order.id and e.kind is kind)
    return container.ingest.ingest(event).case


# --- the sample store -----------------------------------------------------------------------


def test_one_order_with_its_case_customer_and_items(container, sample):
    case = ingest(container, sample, "#1034", EventKind.RETURN_REQUESTED)
    container.cases.set_card(case.id, slack_channel="C0REVIEW01", slack_ts="1700000000.000100")
    links = []
    playbook = Playbook()

    def permalink(channel, ts):
        links.append((channel, ts))
        return f"https://returnsbot-test.slack.com/archives/{channel}/p{ts.replace('.', '')}"

    answer = lookup_for(container, playbook=playbook).lookup("#1034", permalink=permalink)
    assert isinstance(answer, OrderContextView)
    assert answer.order.name == "#1034" and answer.customer.display_name == "Marcus Webb"
    expected_spend = sample.get_customer(answer.order.customer_id).lifetime_spend
    assert answer.customer.lifetime_spend == expected_spend
    [link] = answer.cases
    assert (link.case_id, link.kind, link.status) == (case.id, CaseKind.RETURN_REQUEST, CaseStatus.OPEN)
    assert link.card_url == "https://returnsbot-test.slack.com/archives/C0REVIEW01/p1700000000000100"
    assert links == [("C0REVIEW01", "1700000000.000100")]
    assert [r.name for r in answer.returns] == ["#1034-R1"]
    # The playbook is asked about the case on the order, with its signals.
    assert playbook.asked == [(CaseKind.RETURN_REQUEST, case.signal_codes, 3)]
    payload = render_order_answer(answer)
    check_limits(payload)
    texts = block_texts(payload)
    assert "Marcus Webb :star: VIP" in texts and expected_spend.format() in texts
    assert f"*Case {case.id}* · Return request · $549.00 · *Needs a decision*" in texts
    assert answer.unavailable == ()


def test_returns_and_refunds_so_far(container):
    answer = lookup_for(container).lookup("1033")
    assert isinstance(answer, OrderContextView)
    assert [r.name for r in answer.returns] == ["#1033-R2", "#1033-R1"]  # newest first
    assert answer.order.refunded == usd("139.00") and len(answer.order.refunds) == 1
    texts = block_texts(render_order_answer(answer))
    assert "Refunded so far: *$139.00* of $206.00" in texts and "$67.00 left to refund" in texts


def test_signals_come_from_the_policy_engine(container, sample, clock):
    lk = lookup_for(container)
    for name in ("#1040", "#1037", "#1051", "#1010"):
        order = sample.find_orders(name)[0]
        ctx = assemble(DomainEvent(source="shopify", kind=EventKind.ORDER_CREATED, resource_id=order.id),
                       sample, now=clock(), lookback_days=container.policy.risk.lookback_days)
        answer = lk.lookup(name)
        assert [s.code for s in answer.signals] == [s.code for s in detect(ctx, container.policy)], name
    risky = lk.lookup("#1040")
    assert SignalCode.HIGH_PAYMENT_RISK in [s.code for s in risky.signals]
    assert "(and 1 more)" not in risky.signals[0].explanation  # one assessment, counted once
    assert [s.code for s in lk.lookup("#1037").signals] == [SignalCode.OPEN_DISPUTE]
    assert lk.lookup("#1037").disputes[0].is_open


def test_playbook_for_an_order_without_a_case_uses_the_detected_signals(container):
    playbook = Playbook()
    answer = lookup_for(container, playbook=playbook).lookup("#1040")
    assert playbook.asked == [(CaseKind.ORDER_REVIEW, tuple(s.code.value for s in answer.signals), 3)]


def test_guest_checkout(container):
    answer = lookup_for(container).lookup("#1013")
    assert isinstance(answer, OrderContextView) and answer.customer is None and answer.history is None
    assert "Guest checkout" in block_texts(render_order_answer(answer))
    assert answer.unavailable == ()


def test_email_with_many_orders_is_a_list_newest_first(container):
    for text in ("d.okafor@example.net", "<mailto:D.Okafor@example.net|D.Okafor@example.net>"):
        answer = lookup_for(container).lookup(text)
        assert isinstance(answer, OrderChoicesView)
        assert [o.name for o in answer.orders] == ["#1042", "#1025", "#1015", "#1007", "#1003", "#1001"]
        assert not answer.maybe_more


def test_email_with_one_order_is_the_card(container):
    answer = lookup_for(container).lookup("noah.williams@example.com")
    assert isinstance(answer, OrderContextView) and answer.order.name == "#1051"


def test_gid_and_admin_url(container):
    lk = lookup_for(container)
    assert lk.lookup("gid://shopify/Order/5001000040").order.name == "#1040"
    assert lk.lookup("https://admin.shopify.com/store/ridgeline/orders/5001000040").order.name == "#1040"


@pytest.mark.parametrize("text, problem", [
    ("", Problem.EMPTY), ("help", Problem.EMPTY), ("payload", Problem.MALFORMED), ("Daniel", Problem.MALFORMED),
    ("#9999", Problem.NOT_FOUND), ("nobody@example.com", Problem.NOT_FOUND),
    ("gid://shopify/Order/1", Problem.NOT_FOUND),
])
def test_usage_answers(container, text, problem):
    answer = lookup_for(container).lookup(text)
    assert isinstance(answer, UsageView) and answer.problem is problem


class Flaky:
    """The sample store with chosen reads failing (or slow)."""

    def __init__(self, inner, fail=(), delay=0.0):
        self.inner, self.fail, self.delay = inner, set(fail), delay
        self.threads = set()

    def __getattr__(self, name):
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def call(*a, **kw):
            self.threads.add(threading.current_thread().name)
            if name in self.fail:
                raise IntegrationError(f"{name} timed out", system="shopify")
            if name != "find_orders":
                time.sleep(self.delay)
            return attr(*a, **kw)

        return call


def test_store_down_says_so(container, sample):
    answer = lookup_for(container, store=Flaky(sample, fail={"find_orders"})).lookup("#1034")
    assert answer == UsageView(Problem.UNAVAILABLE, "#1034")


def test_a_part_that_fails_is_left_out_and_named(container, sample):
    store = Flaky(sample, fail={"get_customer_history", "order_disputes"})
    answer = lookup_for(container, store=store).lookup("#1034")
    assert isinstance(answer, OrderContextView)
    assert answer.customer is not None and answer.history is None and answer.disputes == ()
    assert set(answer.unavailable) == {"customer history", "disputes"}
    assert "Couldn't load" in block_texts(render_order_answer(answer))


def test_side_reads_run_in_parallel(container, sample):
    store = Flaky(sample, delay=0.2)
    started = time.monotonic()
    answer = lookup_for(container, store=store).lookup("#1034")
    assert isinstance(answer, OrderContextView)
    assert time.monotonic() - started < 0.6  # four 0.2 s reads, not 0.8 s in a row
    assert len({t for t in store.threads if t.startswith("order-lookup")}) >= 2


def test_a_failing_permalink_costs_only_the_link(container, sample):
    case = ingest(container, sample, "#1034", EventKind.RETURN_REQUESTED)
    container.cases.set_card(case.id, slack_channel="C0REVIEW01", slack_ts="1.2")

    def broken(channel, ts):
        raise RuntimeError("slack down")

    answer = lookup_for(container).lookup("1034", permalink=broken)
    assert answer.cases[0].case_id == case.id and answer.cases[0].card_url is None


def test_cases_for_order_newest_first(container, sample, clock):
    first = ingest(container, sample, "#1037", EventKind.RETURN_REQUESTED)
    clock.advance(minutes=5)
    second = ingest(container, sample, "#1037", EventKind.DISPUTE_CREATED)
    order_id = sample.find_orders("#1037")[0].id
    assert [c.id for c in container.cases.for_order(order_id)] == [second.id, first.id]
    assert container.cases.for_order("gid://shopify/Order/0") == []
    answer = lookup_for(container).lookup("#1037")
    assert [c.kind for c in answer.cases] == [CaseKind.DISPUTE, CaseKind.RETURN_REQUEST]


# --- FakeShopify ----------------------------------------------------------------------------


@pytest.fixture
def shopify(engine):
    clock = FakeClock()
    fake = FakeShopify(monotonic=clock.monotonic, now=clock.now)
    now = clock.now()
    ada = fake.add_customer(display_name="Ada Lovelace", email="ada@example.com", tags=["VIP"],
                            created_at=now - timedelta(days=900))
    old = fake.add_order(customer_id=ada, created_at=now - timedelta(days=100),
                         line_items=[{"title": "Scarf", "price": "40.00"}])
    order = fake.add_order(customer_id=ada, created_at=now - timedelta(days=20),
                           line_items=[{"title": "Boots", "sku": "BOOT-9", "price": "149.00"},
                                       {"title": "Socks", "sku": "SOCK-1", "price": "5.50", "quantity": 3}],
                           risk_level="HIGH", risk_facts=[("Card used on 3 accounts", "NEGATIVE")])
    ret = fake.add_return(order, line_items=[{"sku": "SOCK-1", "quantity": 2, "reason": "SIZE_TOO_SMALL",
                                              "customer_note": "Too small <!channel>"}],
                          status="CLOSED", requested_at=now - timedelta(days=10))
    fake.add_refund(order, amount="11.00", note="Socks back", created_at=now - timedelta(days=8), return_id=ret)
    fake.add_dispute(order, amount="60.00", status="NEEDS_RESPONSE", initiated_at=now - timedelta(days=2))
    client = ShopifyGraphQL(fake.graphql_url(), fake.access_token, http=fake.http_client(), sleep=clock.sleep,
                            monotonic=clock.monotonic)
    store = ShopifyStore(client, shop_domain=fake.shop_domain, now=clock.now)
    lk = OrderLookup(store=store, cases=CaseRepo(engine), playbook=Playbook(),
                     policy=Policy.default().for_shop(ShopFacts(currency="USD", timezone="UTC")), clock=clock.now)
    yield fake, lk, {"order": order, "old": old, "customer": ada}
    client.close()


def test_shopify_order_with_returns_refunds_and_a_dispute(shopify):
    fake, lk, ids = shopify
    name = fake.orders[ids["order"]]["name"]
    answer = lk.lookup(name)
    assert isinstance(answer, OrderContextView), answer
    assert answer.order.id == ids["order"]
    assert answer.order.refunded == usd("11.00") and [r.note for r in answer.order.refunds] == ["Socks back"]
    assert [r.status.value for r in answer.returns] == ["CLOSED"]
    assert [d.status for d in answer.disputes] == ["NEEDS_RESPONSE"]
    assert answer.customer.display_name == "Ada Lovelace" and answer.customer.orders_count == 2
    codes = [s.code for s in answer.signals]
    assert SignalCode.HIGH_PAYMENT_RISK in codes and SignalCode.OPEN_DISPUTE in codes
    assert SignalCode.VIP_CUSTOMER in codes
    assert answer.order_url == f"https://admin.shopify.com/store/acme-test/orders/{ids['order'].rsplit('/', 1)[1]}"
    assert answer.unavailable == ()
    assert not fake.invalid_documents
    payload = render_order_answer(answer)
    check_limits(payload)
    texts = block_texts(payload)
    assert "Refund *$11.00*" in texts and "2 × Socks (Size too small)" in texts
    assert "<!channel>" not in texts
    assert "Ada Lovelace :star: VIP" in texts


def test_shopify_email_and_gid(shopify):
    fake, lk, ids = shopify
    choices = lk.lookup("<mailto:ada@example.com|ada@example.com>")
    assert isinstance(choices, OrderChoicesView)
    assert [o.id for o in choices.orders] == [ids["order"], ids["old"]]
    assert lk.lookup(ids["old"]).order.id == ids["old"]
    assert lk.lookup("#99999") == UsageView(Problem.NOT_FOUND, "#99999")


# --- the sample store says so ---------------------------------------------------------------


@pytest.mark.parametrize("text", ["#1034", "d.okafor@example.net", "#99999", "hello there"])
def test_every_answer_from_the_sample_store_says_sample_store(container, text):
    flagged = OrderLookup(store=container.store, cases=container.cases, playbook=Playbook(), policy=container.policy,
                          clock=container.clock, sample_store=True)
    answer = flagged.lookup(text)
    assert answer.sample_store is True
    payload = render_order_answer(answer)
    assert "Sample store — not a real shop" in block_texts(payload)
    assert "sample store" in payload["text"].lower()
    plain = render_order_answer(lookup_for(container).lookup(text))
    assert "sample store" not in (block_texts(plain) + plain["text"]).lower()
