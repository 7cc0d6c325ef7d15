"""The refund action with its stable Idempotency-Key, against FakeStripe: a replayed
request never refunds twice, a stored 500 is reconciled by reading the charge's refunds
before a fresh key is tried; and the fake's own rules (auth, replay, params mismatch, 429,
pagination), since the tests above lean on them. Every request is counted."""

from __future__ import annotations

import pytest

from integrations.sample.store import SampleStore
from integrations.stripe.client import StripeAPI
from integrations.stripe.connector import StripeConnector
from policy.ports import IntegrationError, NotFound
from tests.fakes.stripe import FakeStripe

KEY = "returnsbot:stripe:case-7:refund_payment"


@pytest.fixture
def fake():
    fake = FakeStripe()
    with fake.serve():
        yield fake


def _connector(fake, retries=0):
    from bot.clock import utcnow

    api = StripeAPI(fake.api_key, base=fake.base_url, max_network_retries=retries)
    return StripeConnector(api, store=SampleStore.load(now=utcnow()), webhook_secret=None, clock=utcnow)


def _payload(warning, amount="49.99"):
    return {"warning_id": warning["id"], "amount": amount, "currency": "USD", "reason": "fraudulent"}


def test_one_refund_with_the_jobs_key_and_the_same_job_again_does_not_refund_twice(fake):
    charge = fake.add_charge(amount=4999)
    warning = fake.add_warning(charge["id"])
    stripe = _connector(fake)
    first = stripe.refund_payment(_payload(warning), KEY)
    again = stripe.refund_payment(_payload(warning), KEY)
    assert first.ok and first.external_id == again.external_id
    assert "not refunded twice" in again.summary
    posts = fake.calls_to("POST", "/v1/refunds")
    assert [p.idempotency_key for p in posts] == [KEY]
    assert posts[0].params == {"charge": charge["id"], "amount": "4999", "reason": "fraudulent",
                               "metadata": {"returnsbot_key": KEY}}
    assert len(fake.refunds_made) == 1


def test_a_stored_500_before_the_refund_is_reconciled_then_a_fresh_key_refunds_once(fake):
    charge = fake.add_charge(amount=4999)
    warning = fake.add_warning(charge["id"])
    fake.fail_next("/v1/refunds", 500)
    result = _connector(fake, retries=1).refund_payment(_payload(warning), KEY)
    posts = fake.calls_to("POST", "/v1/refunds")
    # The SDK's own retry replays the stored 500 under the same key; then the charge's
    # refunds are read (none of ours), then one fresh key.
    assert [(p.idempotency_key, p.status, p.replayed) for p in posts] == [
        (KEY, 500, False), (KEY, 500, True), (f"{KEY}:retry-1", 200, False)]
    assert len(fake.calls_to("GET", "/v1/refunds")) == 2
    assert result.ok and len(fake.refunds_made) == 1


def test_a_500_after_the_refund_was_made_is_found_and_never_refunded_again(fake):
    charge = fake.add_charge(amount=4999)
    warning = fake.add_warning(charge["id"])
    fake.fail_next("/v1/refunds", 500, after_execute=True)
    result = _connector(fake).refund_payment(_payload(warning), KEY)
    assert [p.status for p in fake.calls_to("POST", "/v1/refunds")] == [500]
    assert result.ok and "not refunded twice" in result.summary and len(fake.refunds_made) == 1


def test_stripe_failing_on_every_key_is_retryable_and_refunds_nothing(fake):
    charge = fake.add_charge(amount=4999)
    warning = fake.add_warning(charge["id"])
    for _ in range(3):
        fake.fail_next("/v1/refunds", 500)
    with pytest.raises(IntegrationError) as err:
        _connector(fake).refund_payment(_payload(warning), KEY)
    assert err.value.retryable and fake.refunds_made == []
    assert len(fake.calls_to("POST", "/v1/refunds")) == 3


def test_a_refused_refund_is_not_retried(fake):
    charge = fake.add_charge(amount=4999)
    warning = fake.add_warning(charge["id"])
    with pytest.raises(IntegrationError) as err:
        _connector(fake).refund_payment(_payload(warning, amount="50.00"), KEY)
    assert not err.value.retryable and "greater than unrefunded" in str(err.value)
    assert len(fake.calls_to("POST", "/v1/refunds")) == 1


# --- the fake's rules -----------------------------------------------------------------------


def test_same_key_other_params_is_an_idempotency_error_and_a_validation_400_stores_nothing(fake):
    charge = fake.add_charge(amount=1000)
    api = StripeAPI(fake.api_key, base=fake.base_url, max_network_retries=0)
    with pytest.raises(IntegrationError, match="400 Refund amount"):
        api.create_refund({"charge": charge["id"], "amount": 5000}, idempotency_key="k")  # not stored
    api.create_refund({"charge": charge["id"], "amount": 100}, idempotency_key="k")
    replay = api.create_refund({"charge": charge["id"], "amount": 100}, idempotency_key="k")
    assert fake.calls[-1].replayed and replay["id"] == next(iter(fake.refunds))
    with pytest.raises(IntegrationError, match="same parameters") as err:
        api.create_refund({"charge": charge["id"], "amount": 200}, idempotency_key="k")
    assert not err.value.retryable and len(fake.refunds_made) == 1


def test_wrong_key_401_denied_permission_403_missing_404(fake):
    with pytest.raises(IntegrationError, match="401") as err:
        StripeAPI("sk_test_wrong_key_1234", base=fake.base_url, max_network_retries=0).get("/v1/charges")
    assert not err.value.retryable and "sk_test_wrong_key_1234" not in str(err.value)
    fake.denied.add("/v1/disputes")
    api = StripeAPI(fake.api_key, base=fake.base_url, max_network_retries=0)
    with pytest.raises(IntegrationError, match="403"):
        api.get("/v1/disputes")
    with pytest.raises(NotFound):
        api.get("/v1/charges/ch_missing")


def test_429_has_stripes_error_shape_is_retryable_and_the_sdk_does_not_retry_it(fake):
    fake.fail_next("/v1/charges", 429)
    api = StripeAPI(fake.api_key, base=fake.base_url, max_network_retries=2)
    with pytest.raises(IntegrationError) as err:
        api.get("/v1/charges")
    assert err.value.retryable and err.value.retry_after is not None
    assert [c.status for c in fake.calls] == [429]


def test_lists_page_with_starting_after_and_has_more(fake):
    for n in range(7):
        fake.add_charge(amount=100 + n)
    api = StripeAPI(fake.api_key, base=fake.base_url, max_network_retries=0)
    first = api.get("/v1/charges", limit=3)
    assert len(first["data"]) == 3 and first["has_more"] is True and first["object"] == "list"
    everything = list(api.list_all("/v1/charges", limit=3))
    assert len({c["id"] for c in everything}) == 7 and len(fake.calls) == 4
    assert [c.params.get("starting_after") for c in fake.calls[-3:]] == [None, everything[2]["id"],
                                                                         everything[5]["id"]]
