"""The bundled sample store as a connector. It stands in for Shopify — its events say
"shopify" and it answers Shopify-format webhooks, signed with SHOPIFY_API_SECRET when one
is set — so everything can be tried without a shop, and everything it produces says so."""

from __future__ import annotations

from integrations.connector import Capability, Connector, PollSpec
from policy.ports import dispute_actions, store_actions

NAME = "sample"


def connector_for(store, *, webhook_secret: bytes | None = None) -> Connector:
    from integrations.sample import shipments  # its parcels, as a shipping system reports them
    from integrations.sample.store import EVENT_SOURCE
    from integrations.shopify.connector import webhook_route

    return Connector(
        name=NAME, label="the sample store", handles=frozenset({EVENT_SOURCE}),
        capabilities=frozenset({Capability.ORDERS, Capability.RETURNS, Capability.CUSTOMERS, Capability.DISPUTES,
                                Capability.SHIPMENTS}),
        source=store, webhooks=(webhook_route(webhook_secret),),
        pollers=(PollSpec(f"{NAME}.returns", store.poll_requested_returns),
                 PollSpec(f"{NAME}.orders", store.poll_new_orders),
                 PollSpec(f"{NAME}.return_progress", store.poll_return_progress),
                 PollSpec(shipments.POLLER, shipments.poll(store))),
        contribute=shipments.contribute(store),
        actions={**store_actions(store), **dispute_actions(store)}, ping=lambda: "the bundled sample store (no shop configured)",
        admin_url=getattr(store, "admin_url", None), admin_label="the sample store", sample=True,
        facts=getattr(store, "shop_facts", None),
    )


def connector(settings, *, clock) -> Connector | None:
    if not settings.uses_sample_store:
        return None
    from integrations.sample.store import SampleStore

    return connector_for(SampleStore.load(now=clock()))
