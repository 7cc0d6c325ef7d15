"""The value types of the policy file, shared by every section (policy/config.py, and the
sections kept beside their rules: policy/moments.py, policy/priority.py): one place for
what a number, an amount, a tag or a Slack id must look like, and the message a typo gets.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictInt


class Section(BaseModel):
    """A policy table: immutable, and an unknown key is an error (a typo never passes)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def to_decimal(value: Any) -> Decimal:
    """TOML int/float/str -> Decimal via str(), so a float never survives."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError("expected a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("expected a number") from None
    if not number.is_finite():
        raise ValueError("expected a finite number")
    return number


def _currency(value: str) -> str:
    if len(value) != 3 or not value.isascii() or not value.isalpha():
        raise ValueError("expected a 3-letter currency code such as USD")
    return value.upper()


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("expected an IANA time zone such as UTC or America/New_York") from None
    return value


def _slack_id(pattern: str, expected: str):
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(expected)
        return value

    return check


def _tag(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("expected a non-empty tag")
    return value


def _store_tag(value: str) -> str:
    value = _tag(value)
    if len(value) > 255 or "," in value:  # what a store accepts as one tag (Shopify: ≤ 255, no commas)
        raise ValueError("expected a non-empty tag of at most 255 characters, without commas")
    return value


Amount = Annotated[Decimal, BeforeValidator(to_decimal), Field(ge=0)]
Rate = Annotated[Decimal, BeforeValidator(to_decimal), Field(ge=0, le=1)]
Days = Annotated[StrictInt, Field(ge=0)]
Weight = Annotated[StrictInt, Field(ge=-100, le=100)]
Score = Annotated[StrictInt, Field(ge=0, le=100)]
CurrencyCode = Annotated[str, AfterValidator(_currency)]
TimeZoneName = Annotated[str, AfterValidator(_timezone)]
ChannelId = Annotated[str, AfterValidator(_slack_id(
    r"[CG][A-Z0-9]{2,}", "expected a Slack channel id such as C0123ABCD (not a channel name)"))]
ApproverId = Annotated[str, AfterValidator(_slack_id(
    r"[UWS][A-Z0-9]{2,}", "expected a Slack user id (U…/W…) or user-group id (S…)"))]
LookupId = Annotated[str, AfterValidator(_slack_id(
    r"[UWSCG][A-Z0-9]{2,}", "expected a Slack user id (U…/W…), user-group id (S…) or channel id (C…/G…)"))]
OwnerId = Annotated[str, AfterValidator(_slack_id(
    r"[UWCG][A-Z0-9]{2,}", "expected a Slack channel id (C…/G…) or user id (U…/W…)"))]
UserId = Annotated[str, AfterValidator(_slack_id(r"[UW][A-Z0-9]{2,}", "expected a Slack user id (U…/W…)"))]
Tag = Annotated[str, AfterValidator(_tag)]  # matched against a store's tags
StoreTag = Annotated[str, AfterValidator(_store_tag)]  # written to a store
