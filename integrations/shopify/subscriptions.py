"""Webhook subscriptions, made by a command instead of by hand (`returnsbot shopify webhooks
sync`).

Lists the app's subscriptions (`webhookSubscriptions`, every page), then creates each
missing topic with `webhookSubscriptionCreate` to `{RETURNSBOT_PUBLIC_URL}/webhooks/shopify`,
JSON. Running it again changes nothing: a topic already subscribed to that address is
"already there". A subscription of ours to another address (an old host) is reported,
not deleted. Shopify shows an app only the subscriptions it created itself through the
API; ones made in the Shopify admin or in the app's configuration are not listed, and
compliance topics can only be set in the configuration (see compliance.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from policy.ports import IntegrationError

# The business topics returnsbot listens to (WebhookSubscriptionTopic, 2026-10). Each is
# decoded by integrations/shopify/webhooks.py or stored and ignored until it is.
TOPICS = (
    "RETURNS_REQUEST",
    "RETURNS_APPROVE",
    "RETURNS_DECLINE",
    "RETURNS_PROCESS",
    "RETURNS_CLOSE",
    "RETURNS_CANCEL",
    "RETURNS_REOPEN",
    "REVERSE_DELIVERIES_ATTACH_DELIVERABLE",
    "REVERSE_FULFILLMENT_ORDERS_DISPOSE",
    "REFUNDS_CREATE",
    "ORDERS_CREATE",
    "DISPUTES_CREATE",
    "DISPUTES_UPDATE",
)
WEBHOOK_PATH = "/webhooks/shopify"
COMPLIANCE_PATH = "/webhooks/shopify/compliance"
PAGE_SIZE = 100

WEBHOOK_SUBSCRIPTIONS = """
query WebhookSubscriptions($first: Int!, $after: String) {
  webhookSubscriptions(first: $first, after: $after) {
    nodes {
      id
      topic
      uri
      format
      apiVersion { handle }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

WEBHOOK_SUBSCRIPTION_CREATE = """
mutation WebhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { id topic uri format apiVersion { handle } }
    userErrors { field message }
  }
}
"""

DOCUMENTS = {"WEBHOOK_SUBSCRIPTIONS": WEBHOOK_SUBSCRIPTIONS, "WEBHOOK_SUBSCRIPTION_CREATE": WEBHOOK_SUBSCRIPTION_CREATE}


def enum_topic(header_topic: str) -> str:
    """`returns/request` (the X-Shopify-Topic spelling) → `RETURNS_REQUEST`."""
    return header_topic.strip().upper().replace("/", "_")


class GraphQL(Protocol):
    def execute(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Line:
    status: str  # "created", "ok" (already there), "FAIL", "note"
    topic: str
    text: str


@dataclass(frozen=True)
class SyncReport:
    lines: tuple[Line, ...]

    @property
    def failed(self) -> bool:
        return any(line.status == "FAIL" for line in self.lines)

    def count(self, status: str) -> int:
        return sum(1 for line in self.lines if line.status == status)


def list_subscriptions(client: GraphQL) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = None
    while True:
        data = client.execute(WEBHOOK_SUBSCRIPTIONS, {"first": PAGE_SIZE, "after": after})
        conn = data.get("webhookSubscriptions") or {}
        found += [n for n in conn.get("nodes") or [] if isinstance(n, dict)]
        info = conn.get("pageInfo") or {}
        if not info.get("hasNextPage") or not info.get("endCursor"):
            return found
        after = info["endCursor"]


def sync(client: GraphQL, callback_url: str, *, topics: tuple[str, ...] = TOPICS,
         api_version: str | None = None) -> SyncReport:
    """Make sure each topic is subscribed to `callback_url` (JSON)."""
    lines: list[Line] = []
    try:
        existing = list_subscriptions(client)
    except IntegrationError as exc:
        return SyncReport((Line("FAIL", "-", f"could not list the app's webhook subscriptions: {exc}"),))
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for sub in existing:
        by_topic.setdefault(str(sub.get("topic")), []).append(sub)
    for topic in topics:
        subs = by_topic.get(topic, [])
        ours = [s for s in subs if _same_url(s.get("uri"), callback_url)]
        elsewhere = [s for s in subs if not _same_url(s.get("uri"), callback_url)]
        for other in elsewhere:
            lines.append(Line("note", topic, f"also subscribed to {other.get('uri')} ({other.get('id')}): delete "
                                             f"it if that host is gone, or it is sent there too"))
        if ours:
            sub = ours[0]
            if sub.get("format") not in (None, "JSON"):
                lines.append(Line("FAIL", topic, f"subscribed to {callback_url} in {sub.get('format')}, returnsbot "
                                                 f"reads JSON: delete {sub.get('id')} and run sync again"))
            else:
                lines.append(Line("ok", topic, f"already there ({sub.get('id')}){_version_note(sub, api_version)}"))
            continue
        lines.append(_create(client, topic, callback_url, api_version))
    return SyncReport(tuple(lines))


def _create(client: GraphQL, topic: str, callback_url: str, api_version: str | None) -> Line:
    try:
        data = client.execute(WEBHOOK_SUBSCRIPTION_CREATE,
                              {"topic": topic, "webhookSubscription": {"uri": callback_url, "format": "JSON"}})
    except IntegrationError as exc:
        return Line("FAIL", topic, f"not created: {exc} (run sync again: it only creates what is missing)")
    payload = data.get("webhookSubscriptionCreate") or {}
    errors = [e for e in payload.get("userErrors") or [] if isinstance(e, dict)]
    if errors:
        message = "; ".join(str(e.get("message", "error")) for e in errors)
        if "already been taken" in message.lower():  # another sync made it in the meantime
            return Line("ok", topic, "already there")
        return Line("FAIL", topic, f"Shopify refused it: {message}")
    sub = payload.get("webhookSubscription") or {}
    return Line("created", topic, f"→ {callback_url} ({sub.get('id')}){_version_note(sub, api_version)}")


def _version_note(sub: dict[str, Any], api_version: str | None) -> str:
    handle = (sub.get("apiVersion") or {}).get("handle")
    if api_version and handle and handle != api_version:
        return (f"; deliveries use API version {handle}, not {api_version} (the app's webhook API version, set on "
                f"its version in the Dev Dashboard)")
    return ""


def _same_url(a: Any, b: str) -> bool:
    return isinstance(a, str) and a.rstrip("/") == b.rstrip("/")
