"""What a connected system declares, and the registry the container builds from settings.

Each system's package (integrations/<system>/connector.py) returns a `Connector`: its name
and label, the capabilities it provides, its webhook routes (verification, decoding), its
pollers, the actions it executes, what it adds to a case's context, and how `check` pings
it. Nothing outside a connector names a vendor: the core asks the registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Callable, Iterable, Mapping

from policy.models import CaseContext, DomainEvent, ShopFacts
from policy.ports import STORE, ActionResult, PollPage


class Capability(StrEnum):
    ORDERS = "orders"
    RETURNS = "returns"
    CUSTOMERS = "customers"
    PAYMENTS = "payments"  # payment risk (Radar), early fraud warnings
    DISPUTES = "disputes"
    SHIPMENTS = "shipments"
    TICKETS = "tickets"


Headers = Any  # handlers.http.Headers: anything with .get(name)


@dataclass(frozen=True)
class WebhookRoute:
    """POST {path}: how to check a delivery at the door, and turn it into an event after."""

    path: str  # "/webhooks/shopify"
    source: str  # the receipts' source column, and the decoder's key
    verify: Callable[[bytes, Headers], bool]  # signature over the raw body
    topic: Callable[[Headers], str | None]
    delivery_id: Callable[[Headers], str | None]
    validate: Callable[[str, dict], object]  # at the door: raises ValueError for a malformed payload
    decode: Callable[[str, dict], DomainEvent | None]  # after the 200: the event, or None to ignore
    # Told the headers of every accepted delivery (e.g. which API version the vendor used).
    observe: Callable[[Headers], None] = lambda headers: None
    # For vendors that put them in the signed body, not in headers (Stripe): the parsed
    # payload → (topic, delivery id), asked when `topic` / `delivery_id` give None.
    body_ids: Callable[[dict], tuple[str | None, str | None]] | None = None
    # A vendor that signs nothing (ShipStation V1) is given a secret in the URL instead:
    # set, the route answers every path under `path` ("/webhooks/x/<secret>") and this is
    # told the rest; False → 404 before anything else, nothing stored.
    path_secret: Callable[[str], bool] | None = None


@dataclass(frozen=True)
class PollSpec:
    name: str  # "shopify.returns": the cursor's and the health row's name
    fetch: Callable[[str | None], PollPage]


# An action: the outbox job's payload and idempotency key → what it did.
Action = Callable[[Mapping[str, Any], str], ActionResult]
# A contribution to a case's context: the context as the primary store assembled it → the
# same context with this system's facts added (payment risk, parcel tracking, tickets).
Contributor = Callable[[CaseContext], CaseContext]


@dataclass
class Connector:
    name: str  # "shopify", "sample", "stripe"
    label: str  # how people call it: "Shopify", "the sample store"
    capabilities: frozenset[Capability]
    # Event sources / action targets it answers for. The sample store stands in for Shopify:
    # its events say "shopify", so a poller's and a webhook's view of a return are one case.
    handles: frozenset[str]
    source: Any = None  # the reader (policy.ports.StoreSource) when it provides orders
    helpdesk: Any = None  # the tickets port (policy.tickets.Helpdesk) when it provides tickets
    webhooks: tuple[WebhookRoute, ...] = ()
    pollers: tuple[PollSpec, ...] = ()
    actions: Mapping[str, Action] = field(default_factory=dict)
    contribute: Contributor | None = None
    contribute_timeout: float = 5.0  # seconds; a slower answer is left out and named on the card
    ping: Callable[[], str] | None = None  # `check`: one line on success, raises on failure
    admin_url: Callable[..., str] | None = None  # a link to the object in the vendor's admin
    admin_label: str | None = None  # "Shopify admin": where `admin_url` leads
    sample: bool = False  # the bundled sample store: everything it produces says so
    reconnect_hint: str | None = None  # what to do when it refuses our credentials (the digest)
    # Problems that aren't a failed call (e.g. the vendor serves another API version than
    # we speak): (health system, note) pairs, recorded in integration health periodically.
    notes: Callable[[], list[tuple[str, str]]] | None = None
    # The primary store: the shop's currency and time zone, asked at start-up (and stored,
    # so a restart while the shop is unreachable still knows them). Raises on failure.
    facts: Callable[[], ShopFacts] | None = None


class Registry:
    """The connectors configured for this deployment; the one place the core asks."""

    def __init__(self, connectors: Iterable[Connector]) -> None:
        self.connectors = tuple(connectors)
        names = [c.name for c in self.connectors]
        if len(names) != len(set(names)):
            raise ValueError(f"two connectors share a name: {names}")
        stores = [c for c in self.connectors if Capability.ORDERS in c.capabilities and c.source is not None]
        if len(stores) != 1:
            raise ValueError(f"exactly one connector must provide orders, got {[c.name for c in stores]}")
        self.store = stores[0]

    def get(self, name: str) -> Connector | None:
        return next((c for c in self.connectors if c.name == name), None)

    def for_system(self, system: str) -> Connector | None:
        """The connector answering for an event source or action target (`policy.ports.STORE`:
        the primary store)."""
        if system == STORE:
            return self.store
        return next((c for c in self.connectors if system in c.handles), None)

    def action(self, system: str, operation: str) -> Action:
        connector = self.for_system(system)
        if connector is None:
            raise LookupError(f"no connector handles {system!r}")
        try:
            return connector.actions[operation]
        except KeyError:
            raise LookupError(f"{connector.label} has no action {operation!r}") from None

    def label(self, system: str) -> str:
        connector = self.for_system(system) or self.get(system.split(".")[0])
        return connector.label if connector else system

    @property
    def webhooks(self) -> list[WebhookRoute]:
        return [w for c in self.connectors for w in c.webhooks]

    @property
    def pollers(self) -> list[PollSpec]:
        return [p for c in self.connectors for p in c.pollers]

    @property
    def helpdesks(self) -> list[Connector]:
        """The connectors whose tickets the bot reads and answers (Capability.TICKETS)."""
        return [c for c in self.connectors if c.helpdesk is not None]

    @property
    def contributors(self) -> list[Connector]:
        return [c for c in self.connectors if c.contribute is not None]

    def decoders(self) -> dict[str, Callable[[str, dict], DomainEvent | None]]:
        return {w.source: w.decode for w in self.webhooks}

    def vendors(self) -> dict[str, tuple[str, str | None]]:
        """Health-row prefix → (name, reconnect hint), for the digest's integration health."""
        out = {}
        for c in self.connectors:
            for prefix in {c.name, *c.handles}:
                out.setdefault(prefix, (c.label[:1].upper() + c.label[1:], c.reconnect_hint))
        return out

    @property
    def sample(self) -> bool:
        return self.store.sample
