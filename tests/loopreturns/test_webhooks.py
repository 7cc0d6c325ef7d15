"""X-Loop-Signature at the door (the reference vector; forged, missing, re-serialised),
the dedupe digest (a retry of the same body is one delivery, a new state is not), what
`validate` refuses, and the same through the running app's /webhooks/loop route."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from integrations.loop import webhooks as lw
from integrations.loop.client import LoopAPI
from integrations.loop.connector import connector_for
from tests.fakes.loop import FakeLoop
from tests.loop.harness import loop

DATA = Path(__file__).parent / "data"
VECTOR = json.loads((DATA / "loop_signature_test_vector.json").read_text())
SECRET = VECTOR["secret"].encode()
RAW = VECTOR["raw_body"].encode()
BODY = json.loads(RAW)


def test_the_reference_vector_verifies_and_its_unescaped_variant_differs():
    assert VECTOR["header_name"] == lw.SIGNATURE_HEADER
    assert lw.sign(SECRET, RAW) == VECTOR["expected_signature_base64"]
    assert lw.verify_signature(SECRET, RAW, VECTOR["expected_signature_base64"])
    variant = VECTOR["variant_unescaped_slashes"]
    assert lw.verify_signature(SECRET, variant["raw_body"].encode(), variant["expected_signature_base64"])
    assert not lw.verify_signature(SECRET, variant["raw_body"].encode(), VECTOR["expected_signature_base64"])


@pytest.mark.parametrize("header", [None, "", "garbage", "0" * 44, VECTOR["expected_signature_base64"].lower()])
def test_forged_or_missing_signatures_fail(header):
    assert not lw.verify_signature(SECRET, RAW, header)


def test_another_secret_a_changed_body_or_no_secret_fails():
    good = VECTOR["expected_signature_base64"]
    assert not lw.verify_signature(b"other", RAW, good)
    assert not lw.verify_signature(SECRET, RAW + b" ", good)
    assert not lw.verifier(None)(RAW, {lw.SIGNATURE_HEADER: good})
    assert lw.verifier(SECRET)(RAW, {lw.SIGNATURE_HEADER: good})


def test_topics_from_triggers_new_and_legacy():
    for trigger, topic in [("return.created", "return"), ("updated", "return"), ("closed", "return"),
                           ("label.updated", "label"), ("restock.requested", "restock"),
                           ("return.processing.failed", "return.processing.failed"),
                           ("giftcard.requested", "giftcard.requested")]:
        assert lw.body_ids({**BODY, "trigger": trigger})[0] == topic
    assert lw.body_ids({"id": 1})[0] == lw.UNKNOWN


def test_the_digest_dedupes_a_retry_and_tells_a_new_state_or_trigger():
    topic, first = lw.body_ids(BODY)
    assert topic == "return" and first.startswith("loop:")
    assert lw.body_ids(json.loads(RAW)) == (topic, first)  # the same body again: one delivery
    assert lw.body_ids({**BODY, "state": "closed"})[1] != first
    assert lw.body_ids({**BODY, "trigger": "return.updated"})[1] != first
    assert lw.body_ids({**BODY, "id": 1673})[1] != first  # the body differs, so the digest does
    assert lw.body_ids({**BODY, "label_status": "in_transit"})[1] != first
    assert lw.digest(BODY, RAW) != lw.digest(BODY, RAW + b" ")


@pytest.mark.parametrize("payload, error", [
    ({"id": "1"}, "needs a `trigger`"),
    ({"trigger": "return.updated", "id": "abc"}, "numeric return id"),
    ({"trigger": "return.updated"}, "numeric return id"),
    ({"trigger": "return.updated", "id": 1, "topic": "label"}, "does not match"),
    ({"trigger": "return.processing.failed", "id": 1, "message": {"x": 1}}, "string or null"),
])
def test_validate_refuses_what_cannot_be_decoded(payload, error):
    with pytest.raises(ValueError, match=error):
        lw.validate(lw.topic_of(payload), payload)


def test_validate_accepts_the_example_a_legacy_body_and_an_unsubscribed_trigger():
    lw.validate("return", BODY)
    lw.validate("return", {**BODY, "trigger": "created", "id": 1673})
    lw.validate("return.processing.failed", {"trigger": "return.processing.failed", "id": 5, "message": None})
    lw.validate("giftcard.requested", {"trigger": "giftcard.requested", "id": 5})


# --- through the running app ------------------------------------------------------------------


@pytest.fixture
def fake():
    fake = FakeLoop()
    with fake.serve():
        yield fake


def _loop_connector(fake):
    def build(store, clock):
        return (connector_for(LoopAPI(fake.api_key, fake.base_url), webhook_secret=fake.webhook_secret.encode(),
                              clock=clock),)
    return build


def _post(lp, raw: bytes, headers: dict) -> httpx.Response:
    return httpx.post(f"{lp.server.url}/webhooks/loop", content=raw, headers=headers, timeout=10)


def test_forged_or_unsigned_deliveries_are_401_and_nothing_is_stored(database_url, fake):
    ret = fake.add_return()
    with loop(database_url, connectors=_loop_connector(fake)) as lp:
        raw, headers = fake.signed(fake.webhook("return.updated", ret["id"]), secret="not_the_secret")
        assert _post(lp, raw, headers).status_code == 401
        assert _post(lp, raw, {"Content-Type": "application/json"}).status_code == 401
        assert lp.c.receipts.counts() == {}
        assert fake.calls == []  # nothing was read from Loop either


def test_a_signed_delivery_is_stored_once_and_a_new_state_is_a_new_delivery(database_url, fake):
    ret = fake.add_return()
    with loop(database_url, connectors=_loop_connector(fake), start=True) as lp:
        raw, headers = fake.signed(fake.webhook("return.updated", ret["id"]))
        first, again = _post(lp, raw, headers), _post(lp, raw, headers)
        assert first.status_code == 200 and first.json()["duplicate"] is False
        assert again.status_code == 200 and again.json()["duplicate"] is True
        fake.set(ret["id"], state="review")
        moved = _post(lp, *fake.signed(fake.webhook("return.updated", ret["id"])))
        assert moved.status_code == 200 and moved.json()["duplicate"] is False
        assert sum(lp.c.receipts.counts().values()) == 2


def test_a_signed_but_malformed_body_is_400_and_nothing_is_stored(database_url, fake):
    with loop(database_url, connectors=_loop_connector(fake)) as lp:
        response = _post(lp, *fake.signed({"topic": "return", "trigger": "return.updated", "id": "x1"}))
        assert response.status_code == 400 and "numeric return id" in response.json()["error"]
        assert lp.c.receipts.counts() == {} and fake.calls == []
