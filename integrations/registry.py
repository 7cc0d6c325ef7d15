"""Every system returnsbot can connect, in one list: the container builds the registry from
it. Adding a system is a package under integrations/ with a `connector(settings, clock=)`
function, and one line here."""

from __future__ import annotations

from integrations.connector import Connector, Registry
from integrations.gorgias import connector as gorgias
from integrations.loop import connector as loop
from integrations.loop.mapping import SOURCE as LOOP
from integrations.sample import connector as sample
from integrations.shipstation import connector as shipstation
from integrations.shopify import connector as shopify
from integrations.stripe import connector as stripe
from integrations.zendesk import connector as zendesk

FACTORIES = (shopify.connector, sample.connector, shipstation.connector, loop.connector, gorgias.connector,
             zendesk.connector)
# Payment processors link their payments to the primary store's orders: built after it.
PAYMENT_FACTORIES = (stripe.connector,)


def build_registry(settings, *, clock, extra: tuple[Connector, ...] = (), shopify_client=None) -> Registry:
    """The configured connectors (a factory returns None when its system isn't set up).
    `shopify_client`: the GraphQL client with the auth mode's token provider, built by the
    container (tokens may live in its database)."""
    built = [c for factory in FACTORIES
             if (c := factory(settings, clock=clock, **({"client": shopify_client} if factory is shopify.connector
                                                        else {}))) is not None]
    primary = Registry([*built, *extra]).store
    payments = [c for factory in PAYMENT_FACTORIES
                if (c := factory(settings, clock=clock, store=primary.source)) is not None]
    if primary.sample and not any("stripe" in c.handles for c in (*payments, *extra)):
        # The sample store's payment data (an early fraud warning, a dispute, Radar risk).
        from integrations.sample.payments import connector_for as sample_payments

        payments.append(sample_payments(primary.source))
    if primary.sample and not any(LOOP in c.handles for c in (*built, *extra)):
        # The sample store's Loop returns (in review, an exchange, a flagged one).
        from integrations.sample.loop import connector_for as sample_loop

        payments.append(sample_loop(primary.source))
    if primary.sample and not any(c.helpdesk is not None for c in (*built, *extra)):
        # The sample store's support tickets (a VIP complaint, a stuck parcel, a German return, …).
        from integrations.sample.tickets import connector_for as sample_helpdesk

        payments.append(sample_helpdesk(primary.source))
    return Registry([*built, *payments, *extra])


def registry_for_store(store, settings, *, extra: tuple[Connector, ...] = ()) -> Registry:
    """A registry around a store object built elsewhere (tests, the demo, benchmarks)."""
    from integrations.sample.store import SampleStore

    secret = settings.shopify_api_secret.get_secret_value().encode() if settings.shopify_api_secret else None
    if isinstance(store, SampleStore):
        return Registry([sample.connector_for(store, webhook_secret=secret), *extra])
    return Registry([shopify.connector_for(store, webhook_secret=secret, api_version=settings.shopify_api_version),
                     *extra])
