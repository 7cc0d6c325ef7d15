"""Shopify as a connector: the store (orders, returns, customers, disputes), its webhook
route and pollers, and the return actions — everything the core needs to know of it."""

from __future__ import annotations

from integrations.connector import Capability, Connector, PollSpec, WebhookRoute
from policy.ports import store_actions

NAME = "shopify"
LABEL = "Shopify"


def webhook_route(secret: bytes | None) -> WebhookRoute:
    from integrations.shopify import webhooks as shw

    def verify(body: bytes, headers) -> bool:
        # No secret configured: nothing can be verified, so nothing is accepted.
        return secret is not None and shw.verify_hmac(secret, body, headers.get(shw.HMAC_HEADER))

    return WebhookRoute(
        path=f"/webhooks/{NAME}", source=NAME, verify=verify, topic=lambda h: h.get(shw.TOPIC_HEADER),
        delivery_id=shw.delivery_id, validate=shw.event_from_webhook, decode=shw.event_from_webhook,
    )


def connector_for(store, *, webhook_secret: bytes | None) -> Connector:
    """A connector around a ShopifyStore (or anything with its methods)."""
    from integrations.shopify.shop import shop_facts

    client = getattr(store, "client", None)
    return Connector(
        name=NAME, label=LABEL, handles=frozenset({NAME}),
        capabilities=frozenset({Capability.ORDERS, Capability.RETURNS, Capability.CUSTOMERS, Capability.DISPUTES}),
        source=store, webhooks=(webhook_route(webhook_secret),),
        pollers=(PollSpec(f"{NAME}.returns", store.poll_requested_returns),
                 PollSpec(f"{NAME}.orders", store.poll_new_orders)),
        actions=store_actions(store), ping=getattr(store, "ping", None), admin_url=getattr(store, "admin_url", None),
        admin_label="Shopify admin",
        reconnect_hint="reinstall the app or update SHOPIFY_ACCESS_TOKEN",
        facts=(lambda: shop_facts(client)) if client is not None else None,
    )


def connector(settings, *, clock) -> Connector | None:
    """From settings: None when no SHOPIFY_* setting is present (the sample store then)."""
    if settings.uses_sample_store:
        return None
    from integrations.shopify.client import ShopifyGraphQL
    from integrations.shopify.source import ShopifyStore

    client = ShopifyGraphQL(settings.shopify_graphql_url, settings.shopify_access_token.get_secret_value())
    store = ShopifyStore(client, shop_domain=settings.shopify_shop, now=clock)
    return connector_for(store, webhook_secret=_secret(settings))


def _secret(settings) -> bytes | None:
    return settings.shopify_api_secret.get_secret_value().encode() if settings.shopify_api_secret else None
