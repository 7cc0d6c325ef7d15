"""The Stripe API through the official SDK (stripe-python 16), and its errors in our terms.

`base` points the SDK at another host (`STRIPE_API_BASE`: a local fake in tests) through
`StripeClient(base_addresses={"api": …})`. The SDK retries connection errors, 409s and
5xx itself (not 429s); `max_network_retries` bounds that so a job's call stays well under
its lease, and the job runner's own backoff does the rest. A POST carries the key we give
(a job's stable key), else the SDK's own random one.
"""

from __future__ import annotations

from typing import Any, Iterator

from policy.ports import IntegrationError, NotFound

SYSTEM = "stripe"
DEFAULT_BASE = "https://api.stripe.com"
MAX_NETWORK_RETRIES = 2  # the SDK's default; three tries with its backoff stay under ~3 s
TIMEOUT_SECONDS = 20
PAGE_LIMIT = 100  # Stripe's largest page
MAX_PAGES = 50  # a list longer than 5,000 objects is a bug here, not a page to fetch


class StripeAPI:
    def __init__(self, api_key: str, *, base: str = DEFAULT_BASE, max_network_retries: int = MAX_NETWORK_RETRIES,
                 http_client=None) -> None:
        import stripe

        if http_client is None:
            http_client = stripe.RequestsClient(timeout=TIMEOUT_SECONDS)
        self._sdk = stripe.StripeClient(api_key, base_addresses={"api": base.rstrip("/")},
                                        max_network_retries=max_network_retries, http_client=http_client)

    # --- reads ----------------------------------------------------------------------------

    def get(self, path: str, **params: Any) -> dict:
        return self._call("get", path, params)

    def list_all(self, path: str, **params: Any) -> Iterator[dict]:
        """Every object of a list endpoint, page by page (`starting_after`)."""
        params = {"limit": PAGE_LIMIT, **params}
        for _ in range(MAX_PAGES):
            page = self._call("get", path, params)
            yield from page.get("data", [])
            if not page.get("has_more") or not page.get("data"):
                return
            params = {**params, "starting_after": page["data"][-1]["id"]}
        raise IntegrationError(f"Stripe list {path} is longer than {MAX_PAGES} pages", retryable=False, system=SYSTEM)

    # --- writes ---------------------------------------------------------------------------

    def create_refund(self, params: dict, *, idempotency_key: str) -> dict:
        return self._call("post", "/v1/refunds", params, idempotency_key=idempotency_key)

    def update_dispute(self, dispute_id: str, params: dict, *, idempotency_key: str) -> dict:
        return self._call("post", f"/v1/disputes/{dispute_id}", params, idempotency_key=idempotency_key)

    def close_dispute(self, dispute_id: str, *, idempotency_key: str) -> dict:
        return self._call("post", f"/v1/disputes/{dispute_id}/close", {}, idempotency_key=idempotency_key)

    # --- one request ----------------------------------------------------------------------

    def _call(self, method: str, path: str, params: dict, *, idempotency_key: str | None = None) -> dict:
        import stripe

        options = {"idempotency_key": idempotency_key} if idempotency_key else {}
        try:
            response = self._sdk.raw_request(method, path, **params, **options)
            return self._sdk.deserialize(response, api_mode="V1").to_dict()
        except stripe.StripeError as exc:
            raise as_integration_error(exc, f"{method.upper()} {path}") from exc


def as_integration_error(exc, what: str) -> Exception:
    """The SDK's error → NotFound or IntegrationError with retryable / retry_after. Only
    Stripe's own message is kept (it never contains the key)."""
    import stripe

    status = getattr(exc, "http_status", None)
    body = (getattr(exc, "json_body", None) or {}).get("error", {}) if isinstance(getattr(exc, "json_body", None),
                                                                                 dict) else {}
    message = body.get("message") or getattr(exc, "user_message", None) or type(exc).__name__
    text = f"Stripe {what}: {status or 'no answer'} {message}"
    if isinstance(exc, stripe.InvalidRequestError) and status == 404:
        return NotFound(text)
    if isinstance(exc, stripe.RateLimitError):
        retry_after = _retry_after(getattr(exc, "headers", None))
        return IntegrationError(text, retryable=True, system=SYSTEM, retry_after=retry_after or 1.0)
    if isinstance(exc, (stripe.AuthenticationError, stripe.PermissionError)):
        return IntegrationError(text, retryable=False, system=SYSTEM)
    if isinstance(exc, (stripe.IdempotencyError, stripe.InvalidRequestError, stripe.CardError)):
        return IntegrationError(text, retryable=False, system=SYSTEM)
    if isinstance(exc, stripe.APIConnectionError):
        return IntegrationError(f"Stripe {what}: cannot connect ({message})", retryable=True, system=SYSTEM)
    return IntegrationError(text, retryable=True, system=SYSTEM)  # APIError: 5xx


def _retry_after(headers) -> float | None:
    try:
        value = headers.get("Retry-After") if headers is not None else None
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
