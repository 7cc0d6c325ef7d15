"""Stripe-Signature at the door (the reference vector, stale, forged, rotation, v0) and
what the route validates before the 200."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from integrations.stripe import webhooks as sw

DATA = Path(__file__).parent / "data"
VECTOR = json.loads((DATA / "stripe_signature_test_vector.json").read_text())
FIXTURES = json.loads((DATA / "fixtures3_objects.json").read_text())
SECRET = VECTOR["secret"].encode()
BODY = VECTOR["payload"].encode()
T = VECTOR["timestamp"]


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def test_the_reference_vector_verifies():
    assert sw.verify_signature(SECRET, BODY, VECTOR["header_value"], now=at(T))


def test_the_sdk_test_helper_signs_what_we_verify():
    import stripe

    header = stripe.WebhookSignature.generate_signature_header(VECTOR["payload"], VECTOR["secret"], timestamp=T)
    assert header == VECTOR["header_value"]


@pytest.mark.parametrize("offset, ok", [(0, True), (300, True), (-300, True), (301, False), (-301, False)])
def test_tolerance_is_300_seconds_either_way(offset, ok):
    assert sw.verify_signature(SECRET, BODY, VECTOR["header_value"], now=at(T + offset)) is ok


@pytest.mark.parametrize("header", [
    None, "", "garbage", f"t={T}", f"v1={VECTOR['expected_v1']}",  # malformed: no t, or no v1
    f"t={T},v0={VECTOR['expected_v1']}",  # only v0: ignored
    f"t={T},v1={'0' * 64}",  # forged
    f"t={T + 1},v1={VECTOR['expected_v1']}",  # the timestamp is signed too
])
def test_malformed_forged_or_v0_only_headers_fail(header):
    assert not sw.verify_signature(SECRET, BODY, header, now=at(T))


def test_any_v1_may_match_for_secret_rotation():
    header = f"t={T},v1=bad_signature,v1={VECTOR['expected_v1']},v0=ignored"
    assert sw.verify_signature(SECRET, BODY, header, now=at(T))


def test_a_changed_body_or_another_secret_fails():
    assert not sw.verify_signature(SECRET, BODY + b" ", VECTOR["header_value"], now=at(T))
    assert not sw.verify_signature(b"whsec_other", BODY, VECTOR["header_value"], now=at(T))


def test_no_secret_configured_accepts_nothing():
    verify = sw.verifier(None, lambda: at(T))
    assert not verify(BODY, {sw.SIGNATURE_HEADER: VECTOR["header_value"]})


def test_topic_and_delivery_id_come_from_the_signed_body():
    assert sw.body_ids(json.loads(VECTOR["payload"])) == (None, "evt_test_webhook")
    assert sw.body_ids(FIXTURES["event"]) == ("plan.created", "evt_1Pgc76B7WZ01zgkWwyRHS12y")
    assert sw.body_ids({"id": 5, "type": ["x"]}) == (None, None)


def _event(type_: str, obj: dict) -> dict:
    return {**FIXTURES["event"], "type": type_, "data": {"object": obj}}


def test_validate_accepts_the_fixture_warning_and_refuses_shapes_we_cannot_decode():
    warning = FIXTURES["radar.early_fraud_warning"]
    sw.validate("radar.early_fraud_warning.created", _event("radar.early_fraud_warning.created", warning))
    with pytest.raises(ValueError, match="not an early fraud warning"):
        sw.validate("radar.early_fraud_warning.created", _event("radar.early_fraud_warning.created",
                                                                FIXTURES["dispute"]))
    with pytest.raises(ValueError, match="charge and actionable"):
        sw.validate("radar.early_fraud_warning.updated",
                    _event("radar.early_fraud_warning.updated", {**warning, "actionable": "yes"}))
    with pytest.raises(ValueError, match="not a Stripe event"):
        sw.validate("charge.refunded", {**_event("charge.refunded", FIXTURES["charge"]), "object": "list"})
    with pytest.raises(ValueError, match="data.object"):
        sw.validate("charge.refunded", {**FIXTURES["event"], "data": {}})


def test_our_own_calls_are_told_by_the_echoed_idempotency_key():
    ours = {**FIXTURES["event"], "request": {"id": "req_1", "idempotency_key": "returnsbot:stripe:case-7:refund_payment"}}
    dashboard = {**FIXTURES["event"], "request": {"id": "req_2", "idempotency_key": "8c1f7f2e-uuid"}}
    assert sw.caused_by_us(ours)
    assert not sw.caused_by_us(dashboard) and not sw.caused_by_us(FIXTURES["event"])
