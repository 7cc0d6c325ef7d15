"""The reference a button `value` or a modal's `private_metadata` carries: parsed in ONE place.

    CaseRef(case_id=42, version=3)  <->  "v1:case:42:3"

`version` is the case's version when the card was rendered; the handler compares it with
the stored one to tell a click on a stale card from a fresh one. The `v1` prefix lets the
format change later without misreading old cards still sitting in channels.

Anything that is not exactly this shape raises `BadRef` (a `ValueError`): another prefix
or version, signs, spaces, leading zeros, non-ASCII digits, numbers out of range, or a
string longer than any valid reference. The canonical form is the only accepted one, so
`str(CaseRef.parse(s)) == s` whenever parsing succeeds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "v1:case"
MAX_CASE_ID = 2**63 - 1  # a BIGINT primary key
MAX_VERSION = 2**31 - 1
MAX_LENGTH = len(f"{PREFIX}:{MAX_CASE_ID}:{MAX_VERSION}")

_NUMBER = r"(0|[1-9][0-9]*)"
_SHAPE = re.compile(rf"{re.escape(PREFIX)}:{_NUMBER}:{_NUMBER}", re.ASCII)


class BadRef(ValueError):
    """A button value or private_metadata that is not a reference this bot made."""


@dataclass(frozen=True, slots=True)
class CaseRef:
    case_id: int
    version: int

    def __post_init__(self) -> None:
        for name, value, low, high in (
            ("case_id", self.case_id, 1, MAX_CASE_ID),
            ("version", self.version, 0, MAX_VERSION),
        ):
            if type(value) is not int:  # bool is an int; refuse it too
                raise BadRef(f"{name} must be an int, got {type(value).__name__}")
            if not low <= value <= high:
                raise BadRef(f"{name} out of range: {value}")

    def __str__(self) -> str:
        return f"{PREFIX}:{self.case_id}:{self.version}"

    def encode(self) -> str:
        return str(self)

    @classmethod
    def parse(cls, raw: object) -> CaseRef:
        if not isinstance(raw, str):
            raise BadRef(f"expected a string, got {type(raw).__name__}")
        if len(raw) > MAX_LENGTH:
            raise BadRef(f"reference too long ({len(raw)} characters)")
        match = _SHAPE.fullmatch(raw)
        if match is None:
            raise BadRef(f"not a case reference: {raw[:40]!r}")
        return cls(case_id=int(match.group(1)), version=int(match.group(2)))
