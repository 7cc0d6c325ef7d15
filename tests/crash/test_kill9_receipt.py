"""kill -9 on the way from the warehouse's disposal to the refund on receipt, then one restart:
Shopify refunds exactly once. A real `returnsbot serve` process with `refund_on = "receipt"`
talks to FakeShopify over HTTP; the fake plays the warehouse and its dispose webhook (naming
no return: looked up by GraphQL) is signed and posted to the server. Every mutation the fake
received is counted, whatever came of it."""

from __future__ import annotations

import httpx

from tests.crash.test_kill9 import (  # noqa: F401  (deployment: the fixture)
    APP_SECRET,
    LEASE_SECONDS,
    POLICY,
    Deployment,
    _blocker,
    _card_posted,
    _exactly_once,
    _finished,
    _wait,
    deployment,
)

RECEIPT_POLICY = POLICY + '\n[returns]\nrefund_on = "receipt"\n'


def _approved_on_receipt_terms(d: Deployment) -> str:
    """Start with the receipt policy, approve from the card: approved in Shopify, no refund."""
    from pathlib import Path

    Path(d.env["RETURNSBOT_POLICY"]).write_text(RECEIPT_POLICY)
    d.start()
    case = _card_posted(d)
    assert d.click_approve(case).status_code == 200
    [ret] = d.shopify.returns
    _wait(lambda: d.shopify.return_status(ret) == "OPEN" and (r := d.case()).status == "done"
          and r.card_version == r.version, what="the approval")
    assert _mutations(d) == ["ReturnApproveRequest"]
    return ret


def _mutations(d: Deployment) -> list[str | None]:
    return [c.operation for c in d.shopify.calls if c.query.lstrip().startswith("mutation")]


def _warehouse_restocks(d: Deployment, ret: str) -> None:
    fake = d.shopify
    body = fake.dispose(ret, [(0, 1, "RESTOCKED", fake.location["id"])], names_return=False)
    raw, headers = fake.signed_webhook("reverse_fulfillment_orders/dispose", "", APP_SECRET.encode(), payload=body)
    response = httpx.post(f"{d.url}/webhooks/shopify", content=raw, headers=headers, timeout=10)
    assert response.status_code == 200, response.text


def test_killed_after_the_dispose_webhooks_200_before_the_refund(deployment):
    d = deployment
    ret = _approved_on_receipt_terms(d)
    hook, reached, release = _blocker("ReturnProcessContext")  # the refund's read, right before returnProcess
    d.shopify.before_reply = hook
    _warehouse_restocks(d, ret)
    assert reached.wait(30), "the refund on receipt never started"
    d.kill()  # the delivery was stored and decoded, the refund queued; nothing sent to Shopify yet
    d.shopify.before_reply = None
    release.set()
    assert _mutations(d) == ["ReturnApproveRequest"]
    took = _finished(d, d.start())
    _exactly_once(d)
    assert _mutations(d) == ["ReturnApproveRequest", "ReturnProcess"]
    assert len(d.shopify.refunds_of_return(ret)) == 1
    assert took < LEASE_SECONDS + 10


def test_killed_during_the_refund_call_after_shopify_processed_it(deployment):
    d = deployment
    ret = _approved_on_receipt_terms(d)
    hook, reached, release = _blocker("ReturnProcess")
    d.shopify.before_reply = hook
    _warehouse_restocks(d, ret)
    assert reached.wait(30), "the refund on receipt was never sent"
    d.kill()  # Shopify processed and refunded; the bot never heard back
    d.shopify.before_reply = None
    release.set()
    took = _finished(d, d.start())
    _exactly_once(d)  # the re-read before acting found the refund on the return
    assert _mutations(d) == ["ReturnApproveRequest", "ReturnProcess"]
    assert len(d.shopify.refunds_of_return(ret)) == 1
    assert took < LEASE_SECONDS + 10
