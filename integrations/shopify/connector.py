"""Shopify as a connector: the store (orders, returns, customers, disputes), its webhook
route and pollers, and the return actions — everything the core needs to know of it."""

from __future__ import annotations

from integrations.connector import Capability, Connector, PollSpec, WebhookRoute
from policy.ports import dispute_actions, store_actions

NAME = "shopify"
LABEL = "Shopify"


def webhook_route(secret: bytes | None, watch=None, *, resolve=None) -> WebhookRoute:
    """`watch` (a versions.VersionWatch): remembers which API version deliveries come in.
    `resolve` (a reverse.ReverseLookup): finds the return of a reverse_* delivery that names
    none, when the delivery is decoded (after the 200)."""
    from integrations.shopify import webhooks as shw

    def verify(body: bytes, headers) -> bool:
        # No secret configured: nothing can be verified, so nothing is accepted.
        return secret is not None and shw.verify_hmac(secret, body, headers.get(shw.HMAC_HEADER))

    return WebhookRoute(
        path=f"/webhooks/{NAME}", source=NAME, verify=verify, topic=lambda h: h.get(shw.TOPIC_HEADER),
        delivery_id=shw.delivery_id, decode=shw.decoder(resolve),
        # with no lookup a reverse_* body naming no return is refused at the door, as before
        validate=shw.validate_webhook if resolve is not None else shw.event_from_webhook,
        observe=(lambda headers: shw.api_version_mismatch(headers, watch)) if watch is not None else (lambda h: None),
    )


def connector_for(store, *, webhook_secret: bytes | None, api_version: str | None = None) -> Connector:
    """A connector around a ShopifyStore (or anything with its methods)."""
    from integrations.shopify.versions import VersionWatch

    watch = VersionWatch(api_version, where="webhooks") if api_version else None

    def notes() -> list[tuple[str, str]]:
        found = [getattr(store, "api_version_note", None), watch.mismatch if watch else None]
        return [(f"{NAME}.api", note) for note in found if note]

    from integrations.shopify.shop import shop_facts

    client = getattr(store, "client", None)
    from integrations.shopify.reverse import ReverseLookup

    resolve = ReverseLookup(client) if client is not None else None
    return Connector(
        name=NAME, label=LABEL, handles=frozenset({NAME}),
        capabilities=frozenset({Capability.ORDERS, Capability.RETURNS, Capability.CUSTOMERS, Capability.DISPUTES}),
        source=store, webhooks=(webhook_route(webhook_secret, watch, resolve=resolve),), notes=notes,
        pollers=(PollSpec(f"{NAME}.returns", store.poll_requested_returns),
                 PollSpec(f"{NAME}.orders", store.poll_new_orders),
                 PollSpec(f"{NAME}.return_progress", store.poll_return_progress)),
        actions={**store_actions(store), **dispute_actions(store)}, ping=getattr(store, "ping", None), admin_url=getattr(store, "admin_url", None),
        admin_label="Shopify admin",
        reconnect_hint="reinstall the app or update SHOPIFY_ACCESS_TOKEN",
        facts=(lambda: shop_facts(client)) if client is not None else None,
    )


def connector(settings, *, clock, client=None) -> Connector | None:
    """From settings: None when no SHOPIFY_* setting is present (the sample store then).
    `client`: a ShopifyGraphQL authenticated the way the settings say (static token,
    client credentials, or an installed app's tokens); built from the static token if not
    given."""
    if settings.uses_sample_store:
        return None
    from integrations.shopify.client import ShopifyGraphQL
    from integrations.shopify.source import ShopifyStore

    if client is None:
        client = ShopifyGraphQL(settings.shopify_graphql_url, settings.shopify_access_token.get_secret_value())
    store = ShopifyStore(client, shop_domain=settings.shopify_shop, now=clock)
    return connector_for(store, webhook_secret=_secret(settings), api_version=settings.shopify_api_version)


def _secret(settings) -> bytes | None:
    return settings.shopify_api_secret.get_secret_value().encode() if settings.shopify_api_secret else None
