"""The policy file: a TOML document read into frozen pydantic models.

Every default lives on the fields below (and nowhere else); `Policy.default()` is what you
get with no file, and `policy.example.toml` documents each key with exactly these values.

Errors are `PolicyError`s that name the file, the line and the dotted key, e.g.

    policy.toml:14: unknown key 'retrun_window' in [returns] (did you mean 'window_days'?)
    policy.toml:22: approval_tiers[1].up_to: expected a number, got 'abc'

tomllib reports no positions for valid TOML, so `_TomlLines` finds them by scanning the
text for table headers and `key =` lines.

Money thresholds are Decimals in the shop's currency. TOML ints, floats and strings are
accepted and converted through `str()`, so `0.1` stays `Decimal("0.1")`.

The shop's currency and time zone are the shop's own facts (`policy.models.ShopFacts`):
`[store] currency` / `timezone` may be left out, and `Policy.for_shop(facts)` is the
effective policy the bot runs with — the shop's values filled in, or a `ShopMismatch` when
the file states one that disagrees. Anything that compares money or counts days asks the
effective policy (`shop_currency`, `store.tz`); an unresolved one refuses, never guesses.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable
from decimal import Decimal
from enum import StrEnum
from functools import cache, lru_cache
from pathlib import Path
from types import NoneType, UnionType
from typing import Annotated, Any, Union, get_args, get_origin
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    field_validator,
)
from pydantic_core import PydanticCustomError

from policy.fields import (Amount, ApproverId, ChannelId, CurrencyCode, Days, LookupId, Rate, Score, Section, Tag,
                           TimeZoneName, Weight)
from policy.models import CaseKind, RiskLevel, ShopFacts, SignalCode, TicketStatus, Tier
from policy.moments import Moments
from policy.priority import PrioritySettings
from policy.voice import Voice

DEFAULT_SOURCE_NAME = "policy.toml"


class PolicyError(ValueError):
    """A policy file that cannot be used. One line per problem: `file:line: what`."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


class ShopMismatch(PolicyError):
    """The policy file states a currency or time zone the shop does not use: one line each."""


class ShopUnknown(RuntimeError):
    """The policy was asked for the shop's currency or time zone before it was resolved
    against the shop (`Policy.for_shop`): a wiring mistake, never a default."""


class ReturnReason(StrEnum):
    """Our return reason codes (what a customer can pick); each connector maps its system's
    reasons to these (Shopify's return reason definitions in integrations/shopify/mapping)."""

    SIZE_TOO_SMALL = "SIZE_TOO_SMALL"
    SIZE_TOO_LARGE = "SIZE_TOO_LARGE"
    UNWANTED = "UNWANTED"
    NOT_AS_DESCRIBED = "NOT_AS_DESCRIBED"
    WRONG_ITEM = "WRONG_ITEM"
    DEFECTIVE = "DEFECTIVE"
    STYLE = "STYLE"
    COLOR = "COLOR"
    OTHER = "OTHER"
    UNKNOWN = "UNKNOWN"


# The value types (amounts, tags, Slack ids, …) and the table base are policy/fields.py.


def _folded(values: Iterable[str]) -> frozenset[str]:
    return frozenset(v.casefold() for v in values)


# Derived values are cached by the field values they come from, not on the instance:
# `model_copy(update=...)` copies an instance's cache along with it, stale.
_cached_folded = lru_cache(maxsize=64)(_folded)


# --- sections ---------------------------------------------------------------------------


class StoreSettings(Section):
    # Left out (the default): the shop's own, as the store connector reports it. Stated:
    # it must be the shop's, or start-up and `check` refuse (a wrong currency would compare
    # every threshold against the wrong money).
    currency: CurrencyCode | None = None
    timezone: TimeZoneName | None = None

    @property
    def tz(self) -> ZoneInfo:
        if self.timezone is None:
            raise ShopUnknown("the shop's time zone is not known yet: resolve the policy with Policy.for_shop")
        return ZoneInfo(self.timezone)  # ZoneInfo keeps its own cache by name

    def for_shop(self, facts: ShopFacts) -> StoreSettings:
        problems = []
        if self.currency is not None and self.currency != facts.currency:
            problems.append(f"policy [store] currency is {self.currency} but the shop prices in {facts.currency} "
                            f"(leave it out to use the shop's)")
        if self.timezone is not None and self.timezone != facts.timezone:
            problems.append(f"policy [store] timezone is {self.timezone} but the shop's time zone is "
                            f"{facts.timezone} (leave it out to use the shop's)")
        if problems:
            raise ShopMismatch(problems)
        return StoreSettings(currency=facts.currency, timezone=facts.timezone)

    @property
    def stated(self) -> ShopFacts | None:
        """The policy's own currency and time zone, when it states both (what the bot can
        run with while the shop has never been reached)."""
        if self.currency is None or self.timezone is None:
            return None
        return ShopFacts(currency=self.currency, timezone=self.timezone)


class WindowOverride(Section):
    tag: Tag
    window_days: Days


class RefundOn(StrEnum):
    APPROVAL = "approval"  # the refund goes out with the approval (today's behaviour)
    RECEIPT = "receipt"  # approval only approves; the refund runs once the items are disposed


class Segment(StrEnum):
    VIP = "vip"
    SERIAL_RETURNER = "serial_returner"


class Disposition(StrEnum):
    # Mirrors policy.lifecycle.Disposition (kept here so the config module stays self-contained).
    RESTOCKED = "RESTOCKED"
    NOT_RESTOCKED = "NOT_RESTOCKED"
    PROCESSING_REQUIRED = "PROCESSING_REQUIRED"
    MISSING = "MISSING"


class RefundOnRule(Section):
    """An override of `refund_on`: every condition given must hold; the first matching rule wins."""

    tag: Tag | None = None
    min_amount: Amount | None = None  # shop money, inclusive
    max_amount: Amount | None = None  # shop money, exclusive
    segment: Segment | None = None
    refund_on: RefundOn


class ReturnsSettings(Section):
    window_days: Days = 30
    final_sale_tags: tuple[Tag, ...] = ("final-sale", "clearance")
    exchange_reasons: tuple[ReturnReason, ...] = (
        ReturnReason.SIZE_TOO_SMALL,
        ReturnReason.SIZE_TOO_LARGE,
        ReturnReason.COLOR,
        ReturnReason.STYLE,
    )
    window_overrides: tuple[WindowOverride, ...] = ()
    refund_on: RefundOn = RefundOn.APPROVAL
    refund_on_rule: tuple[RefundOnRule, ...] = ()
    accepted_dispositions: tuple[Disposition, ...] = (Disposition.RESTOCKED,)
    label_within_days: Days = 3
    stalled_after_days: Days = 7
    inspect_within_days: Days = 2
    expire_after_days: Days = 0  # 0: a return approved and never shipped is never closed
    # A return asked for in a support ticket, worth at most this (shop money), is refunded on
    # the order and the customer keeps the items (no store return); 0: never, every such
    # return is opened in the store and the items come back.
    returnless_refund_up_to: Amount = Decimal("0")

    @property
    def final_sale_folded(self) -> frozenset[str]:
        return _cached_folded(self.final_sale_tags)

    def window_for(self, tags: Iterable[str]) -> int:
        """The most generous override matching any of `tags`, else the base window."""
        if not self.window_overrides:  # the usual policy: no tag to fold
            return self.window_days
        folded = _folded(tags)
        matching = [o.window_days for o in self.window_overrides if o.tag.casefold() in folded]
        return max(matching) if matching else self.window_days


class SerialReturnerSettings(Section):
    min_returns: Annotated[StrictInt, Field(ge=1)] = 4
    min_return_rate: Rate = Decimal("0.5")
    min_orders: Annotated[StrictInt, Field(ge=1)] = 4


class SignalWeights(Section):
    """Contribution of each signal to the 0-100 risk score; one field per SignalCode."""

    outside_window: Weight = 25
    high_value: Weight = 20
    final_sale: Weight = 20
    serial_returner: Weight = 30
    vip_customer: Weight = -15
    high_payment_risk: Weight = 40
    open_dispute: Weight = 50
    not_delivered: Weight = 20
    refund_exceeds_paid: Weight = 50
    repeat_claim: Weight = 30
    shipment_delayed: Weight = 10

    def of(self, code: SignalCode) -> int:
        return getattr(self, code)  # a StrEnum is its value (without enum's `.value` descriptor: hot)


class RiskSettings(Section):
    high_value_threshold: Amount = Decimal("500")
    lookback_days: Annotated[StrictInt, Field(ge=1)] = 365
    high_payment_risk_levels: tuple[RiskLevel, ...] = (RiskLevel.HIGH,)
    serial_returner: SerialReturnerSettings = Field(default_factory=SerialReturnerSettings)
    weights: SignalWeights = Field(default_factory=SignalWeights)


class FraudSettings(Section):
    """Early fraud warnings (policy/fraud.py): below `proactive_refund_below` (shop
    currency) the recommendation is a full proactive refund; at or above it, a review.
    `dispute_fee` is what the payment processor charges the shop for a dispute, win or
    lose: the card weighs it against the refund. Set it to your processor's fee."""

    proactive_refund_below: Amount = Decimal("100")
    dispute_fee: Amount = Decimal("15")


class VipSettings(Section):
    customer_tags: tuple[Tag, ...] = ("VIP",)
    lifetime_spend: Amount = Decimal("2000")

    @property
    def tags_folded(self) -> frozenset[str]:
        return _cached_folded(self.customer_tags)


class AutoApproveSettings(Section):
    enabled: StrictBool = True
    max_amount: Amount = Decimal("75")
    max_risk_score: Score = 20


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _weekday(value: str) -> str:
    day = value.strip().lower()[:3]
    if day not in _WEEKDAYS:
        raise PydanticCustomError("weekday", "expected a day of the week such as \"mon\"")
    return day


def _clock_time(value: str) -> str:
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value.strip()):
        raise PydanticCustomError("clock_time", "expected a 24-hour time such as \"09:00\"")
    return value.strip()


Weekday = Annotated[str, AfterValidator(_weekday)]
ClockTime = Annotated[str, AfterValidator(_clock_time)]
Hours = Annotated[StrictInt, Field(ge=1, le=24 * 30)]


PolicyText = Annotated[str, Field(max_length=5000)]


class DisputeSettings(Section):
    """Disputes (policy/disputes.py): the store's own words, sent with the evidence (the
    payment system shows them to the card issuer), and when to remind before evidence is
    due. Texts left empty are left out of the packet, and the card says so."""

    refund_policy: PolicyText = ""
    shipping_policy: PolicyText = ""
    cancellation_policy: PolicyText = ""
    remind_before_hours: tuple[Hours, ...] = (72, 24)


class DigestSettings(Section):
    """When the weekly digest goes to [slack] digest_channel, in the [store] timezone."""

    day: Weekday = "mon"
    time: ClockTime = "09:00"

    @property
    def weekday(self) -> int:
        return _WEEKDAYS.index(self.day)

    @property
    def hour_minute(self) -> tuple[int, int]:
        h, m = self.time.split(":")
        return int(h), int(m)


class SlaSettings(Section):
    """Open cases past these ages get one reminder in their thread, then go to the
    escalation channel."""

    remind_after_hours: Hours = 4
    escalate_after_hours: Hours = 24

    @field_validator("escalate_after_hours")
    @classmethod
    def _after_reminder(cls, v: int, info: Any) -> int:
        remind = info.data.get("remind_after_hours")
        if remind is not None and v <= remind:
            raise PydanticCustomError("sla_order", "must be greater than remind_after_hours ({remind})", {"remind": remind})
        return v


class ShippingSettings(Section):
    """When a shipment counts as delayed (a delayed-shipment case): an order not shipped
    within ship_within_days of being placed, or a parcel still in transit late_after_days
    after the carrier's estimated delivery. A carrier exception or a failed delivery
    attempt is a delay at once."""

    ship_within_days: Annotated[StrictInt, Field(ge=1)] = 3
    late_after_days: Days = 2


class TicketSettings(Section):
    """What Approve & send leaves on the helpdesk ticket besides the reply: its status
    (solved: answered, the customer can still reopen it; pending: waiting on them) and the
    tags added to the ticket's own (returnsbot's and `intent-<intent>` are always added)."""

    status_after_send: TicketStatus = TicketStatus.SOLVED
    tags: tuple[Tag, ...] = ()


class SlackRouting(Section):
    """Owner channel per case kind; one optional field per CaseKind."""

    return_request: ChannelId | None = None
    high_value_refund: ChannelId | None = None
    dispute: ChannelId | None = None
    order_review: ChannelId | None = None
    early_fraud_warning: ChannelId | None = None
    delayed_shipment: ChannelId | None = None
    ticket: ChannelId | None = None

    def of(self, kind: CaseKind) -> str | None:
        return getattr(self, kind)  # a StrEnum is its value


class SlackSettings(Section):
    # None until Slack is configured (a later issue makes them required when it is).
    review_channel: ChannelId | None = None
    escalation_channel: ChannelId | None = None
    digest_channel: ChannelId | None = None
    routing: SlackRouting = Field(default_factory=SlackRouting)


class AccessSettings(Section):
    """Who may look things up with /order and /playbook: Slack user ids, user-group ids
    (their members) and channel ids (anyone asking from that channel). None (the
    default): the approvers of every tier."""

    lookup: tuple[LookupId, ...] | None = None


class ApprovalTier(Section):
    up_to: Amount | None = None  # only the last tier may leave it out (no upper limit)
    approvers: tuple[ApproverId, ...]  # required; empty means nobody approves at this tier


_DEFAULT_TIERS = (
    ApprovalTier(up_to=Decimal("250"), approvers=()),
    ApprovalTier(up_to=Decimal("1000"), approvers=()),
    ApprovalTier(up_to=None, approvers=()),
)


class Policy(Section):
    store: StoreSettings = Field(default_factory=StoreSettings)
    returns: ReturnsSettings = Field(default_factory=ReturnsSettings)
    risk: RiskSettings = Field(default_factory=RiskSettings)
    vip: VipSettings = Field(default_factory=VipSettings)
    fraud: FraudSettings = Field(default_factory=FraudSettings)
    disputes: DisputeSettings = Field(default_factory=DisputeSettings)
    auto_approve: AutoApproveSettings = Field(default_factory=AutoApproveSettings)
    digest: DigestSettings = Field(default_factory=DigestSettings)
    sla: SlaSettings = Field(default_factory=SlaSettings)
    shipping: ShippingSettings = Field(default_factory=ShippingSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    access: AccessSettings = Field(default_factory=AccessSettings)
    voice: Voice = Field(default_factory=Voice)  # customer replies: policy/voice.py
    priority: PrioritySettings = Field(default_factory=PrioritySettings)  # tickets: policy/priority.py
    tickets: TicketSettings = Field(default_factory=TicketSettings)
    approval_tiers: tuple[ApprovalTier, ...] = _DEFAULT_TIERS
    moments: Moments = ()  # [[moments]]: high-value and VIP moments (policy/moments.py)

    @field_validator("approval_tiers")
    @classmethod
    def _tiers_increase(cls, tiers: tuple[ApprovalTier, ...]) -> tuple[ApprovalTier, ...]:
        # The error carries the offending element in ctx["at"] so the line can be found.
        if not tiers:
            raise PydanticCustomError("tier_none", "must have at least one tier")
        for i, tier in enumerate(tiers):
            if tier.up_to is None and i != len(tiers) - 1:
                raise PydanticCustomError(
                    "tier_limit", "only the last tier may leave out up_to", {"at": (i, "up_to")}
                )
            if i and tier.up_to is not None and tier.up_to <= tiers[i - 1].up_to:  # type: ignore[operator]
                raise PydanticCustomError(
                    "tier_order",
                    "must be greater than the previous tier's up_to ({previous})",
                    {"previous": str(tiers[i - 1].up_to), "at": (i, "up_to")},
                )
        return tiers

    @classmethod
    def default(cls) -> Policy:
        return _default_policy()

    def for_shop(self, facts: ShopFacts) -> Policy:
        """The effective policy: the shop's currency and time zone where the file leaves
        them out; `ShopMismatch` (one line per disagreement) where it states others."""
        store = self.store.for_shop(facts)
        return self if store == self.store else self.model_copy(update={"store": store})

    @property
    def resolved(self) -> bool:
        return self.store.currency is not None and self.store.timezone is not None

    @property
    def shop_currency(self) -> str:
        """The currency every threshold and limit is in: the shop's."""
        if self.store.currency is None:
            raise ShopUnknown("the shop's currency is not known yet: resolve the policy with Policy.for_shop")
        return self.store.currency

    @property
    def tiers(self) -> tuple[Tier, ...]:
        """The approval tiers as domain `Tier`s."""
        return _domain_tiers(self.approval_tiers)

    @property
    def lookup_access(self) -> tuple[str, ...]:
        """Who may use /order and /playbook: `[access] lookup`, else every tier's approvers."""
        if self.access.lookup is not None:
            return self.access.lookup
        return tuple(dict.fromkeys(a for tier in self.approval_tiers for a in tier.approvers))


_TIERS: dict[int, tuple[tuple[ApprovalTier, ...], tuple[Tier, ...]]] = {}


def _domain_tiers(tiers: tuple[ApprovalTier, ...]) -> tuple[Tier, ...]:
    # Read on every assessment: kept per tiers tuple by identity (hashing the frozen
    # models each time cost more than building them). The entry holds the tuple, so its
    # id is not reused while the entry lives.
    hit = _TIERS.get(id(tiers))
    if hit is not None and hit[0] is tiers:
        return hit[1]
    if len(_TIERS) > 64:
        _TIERS.clear()
    domain = tuple(Tier(index=i, up_to=t.up_to, approvers=t.approvers) for i, t in enumerate(tiers))
    _TIERS[id(tiers)] = (tiers, domain)
    return domain


@cache
def _default_policy() -> Policy:
    return Policy()


# --- loading ----------------------------------------------------------------------------


def load_policy(path: str | Path | None) -> Policy:
    """Read and validate a policy file; `None` gives `Policy.default()`."""
    if path is None:
        return Policy.default()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError([f"{path}: policy file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError([f"{path}: cannot read policy file: {exc}"]) from None
    return parse_policy(text, source_name=str(path))


_TOML_POSITION = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)\s*$")


def parse_policy(text: str, source_name: str = DEFAULT_SOURCE_NAME) -> Policy:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError([_syntax_problem(str(exc), text, source_name)]) from None
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        lines = _TomlLines(text)
        problems = sorted(
            (_describe(err, lines) for err in exc.errors()), key=lambda p: p[0]
        )
        raise PolicyError(f"{source_name}:{line}: {message}" for line, message in problems) from None


def _syntax_problem(message: str, text: str, source_name: str) -> str:
    match = _TOML_POSITION.search(message)
    if match is None:
        return f"{source_name}: invalid TOML: {message}"
    reason = message[: match.start()]
    if match.group(1):
        return f"{source_name}:{match.group(1)}:{match.group(2)}: invalid TOML: {reason}"
    last_line = max(1, len(text.splitlines()))
    return f"{source_name}:{last_line}: invalid TOML: {reason} (at end of file)"


# --- turning pydantic errors into one readable line ------------------------------------

Loc = tuple[str | int, ...]


def _describe(err: Any, lines: _TomlLines) -> tuple[int, str]:
    loc: Loc = tuple(err["loc"])
    ctx = err.get("ctx") or {}
    loc = loc + tuple(ctx.get("at", ()))
    kind = err["type"]
    if kind == "extra_forbidden":
        return lines.line_of(loc), _unknown_key(loc, err["input"])
    if kind == "missing":
        return lines.line_of(loc), f"{_dotted(loc[:-1]) or 'top level'}: missing required key '{loc[-1]}'"
    message = _MESSAGES.get(kind, lambda e: _plain(e["msg"]))(err)
    got = _got(err["input"], kind)
    return lines.line_of(loc), f"{_dotted(loc)}: {message}{got}"


def _plain(msg: str) -> str:
    return msg.removeprefix("Value error, ")


_MESSAGES: dict[str, Any] = {
    "int_type": lambda e: "expected a whole number",
    "int_parsing": lambda e: "expected a whole number",
    "int_from_float": lambda e: "expected a whole number",
    "bool_type": lambda e: "expected true or false",
    "string_type": lambda e: "expected a string",
    "tuple_type": lambda e: "expected a list",
    "list_type": lambda e: "expected a list",
    "model_type": lambda e: "expected a table",
    "model_attributes_type": lambda e: "expected a table",
    "dict_type": lambda e: "expected a table",
    "greater_than_equal": lambda e: f"must be at least {e['ctx']['ge']}",
    "less_than_equal": lambda e: f"must be at most {e['ctx']['le']}",
    "enum": lambda e: f"expected one of {e['ctx']['expected']}",
}

# Errors about a whole list or table: the input is not worth echoing.
_NO_ECHO = {"tier_none", "tier_order", "tier_limit", "moment_rule"}


def _got(value: Any, kind: str) -> str:
    if kind in _NO_ECHO:
        return ""
    if isinstance(value, dict):
        return ", got a table"
    if isinstance(value, list):
        return ", got a list"
    return f", got {_toml_repr(value)}"


def _toml_repr(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _unknown_key(loc: Loc, value: Any) -> str:
    parent, key = loc[:-1], str(loc[-1])
    known = _known_keys(parent)
    is_table = isinstance(value, dict) or (
        isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)
    )
    if not parent and is_table:
        brackets = ("[[", "]]") if isinstance(value, list) else ("[", "]")
        hint = _suggest(key, known)
        tail = f" (did you mean {brackets[0]}{hint}{brackets[1]}?)" if hint else ""
        return f"unknown table {brackets[0]}{key}{brackets[1]}{tail}"
    where = "at the top level" if not parent else f"in {_table_label(parent)}"
    hint = _suggest(key, known)
    return f"unknown key '{key}' {where}" + (f" (did you mean '{hint}'?)" if hint else "")


def _table_label(parent: Loc) -> str:
    if isinstance(parent[-1], int):
        return _dotted(parent)
    return f"[{_dotted(parent)}]"


def _known_keys(parent: Loc) -> list[str]:
    """Field names of the section model found at `parent` (walking Policy's annotations)."""
    model: type[BaseModel] | None = Policy
    for part in parent:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        model = _model_in(field.annotation) if field else None
    return list(model.model_fields) if model else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (tuple, Union, UnionType):
        for arg in get_args(annotation):
            if arg is not NoneType and arg is not Ellipsis and (found := _model_in(arg)):
                return found
    return None


def _suggest(key: str, known: list[str]) -> str | None:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return close[0]
    # Fall back to shared words: 'retrun_window' -> 'window_days'.
    words = set(re.split(r"[_\-]", key.casefold()))
    sharing = [k for k in known if words & set(k.split("_"))]
    return max(sharing, key=lambda k: difflib.SequenceMatcher(None, key, k).ratio(), default=None)


# --- finding line numbers in TOML text --------------------------------------------------

_KEY_PART = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_DOTTED_KEY = rf"{_KEY_PART}(?:\s*\.\s*{_KEY_PART})*"
_ARRAY_HEADER = re.compile(rf"\s*\[\[\s*({_DOTTED_KEY})\s*\]\]")
_TABLE_HEADER = re.compile(rf"\s*\[\s*({_DOTTED_KEY})\s*\]")
_KEY_VALUE = re.compile(rf"\s*({_DOTTED_KEY})\s*=")


class _TomlLines:
    """Line numbers of tables and keys in (already valid) TOML text, by dotted path.

    Paths look like pydantic's error locations: ("approval_tiers", 1, "up_to"). Values that
    span lines (arrays, multi-line strings) are skipped so their content is never taken for
    a key. Only built when there is an error to report.
    """

    def __init__(self, text: str) -> None:
        self.positions: dict[Loc, int] = {}
        self._array_counts: dict[Loc, int] = {}
        self._depth = 0  # open [ or { of a value spanning lines
        self._multiline: str | None = None  # open ''' or """
        table: Loc = ()
        for number, line in enumerate(text.splitlines(), start=1):
            if self._depth or self._multiline:
                self._scan_value(line)
                continue
            if match := _ARRAY_HEADER.match(line):
                table = self._open_array(_split_key(match.group(1)))
                self.positions.setdefault(table[:-1], number)  # the array: its first entry
                self.positions.setdefault(table, number)
            elif match := _TABLE_HEADER.match(line):
                table = self._resolve(_split_key(match.group(1)))
                self.positions.setdefault(table, number)
            elif match := _KEY_VALUE.match(line):
                keys = _split_key(match.group(1))
                for i in range(1, len(keys) + 1):
                    self.positions.setdefault(table + keys[:i], number)
                self._scan_value(line[match.end() :])

    def line_of(self, loc: Loc) -> int:
        """The line of `loc`, else of its nearest enclosing key or table, else 1."""
        for end in range(len(loc), 0, -1):
            if (found := self.positions.get(loc[:end])) is not None:
                return found
        return 1

    def _resolve(self, keys: tuple[str, ...]) -> Loc:
        # A key naming an array of tables refers to its latest element.
        path: Loc = ()
        for key in keys:
            path += (key,)
            if path in self._array_counts:
                path += (self._array_counts[path] - 1,)
        return path

    def _open_array(self, keys: tuple[str, ...]) -> Loc:
        parent = self._resolve(keys[:-1])
        path = parent + (keys[-1],)
        index = self._array_counts.get(path, 0)
        self._array_counts[path] = index + 1
        return path + (index,)

    def _scan_value(self, rest: str) -> None:
        """Track brackets and multi-line strings so continuation lines are skipped."""
        i = 0
        while i < len(rest):
            if self._multiline:
                end = rest.find(self._multiline, i)
                if end < 0:
                    return
                i, self._multiline = end + 3, None
                continue
            ch = rest[i]
            if rest.startswith(('"""', "'''"), i):
                self._multiline, i = rest[i : i + 3], i + 3
            elif ch == '"':
                i = _end_of_basic_string(rest, i + 1)
            elif ch == "'":
                end = rest.find("'", i + 1)
                i = len(rest) if end < 0 else end + 1
            elif ch == "#":
                return
            else:
                self._depth += (ch in "[{") - (ch in "]}")
                i += 1


def _end_of_basic_string(text: str, i: int) -> int:
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == '"':
            return i + 1
        else:
            i += 1
    return i


def _split_key(dotted: str) -> tuple[str, ...]:
    parts = re.findall(_KEY_PART, dotted)
    return tuple(tomllib.loads(f"k = {p}")["k"] if p[0] in "\"'" else p for p in parts)
