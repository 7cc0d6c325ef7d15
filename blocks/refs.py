"""The references a button `value` and a modal's `private_metadata` carry: parsed in ONE place.

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

import hashlib
import hmac
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


# --- modals -------------------------------------------------------------------------------

MODAL_PREFIX = "v1:modal"
_MAC_HEX = 32  # 128 bits of HMAC-SHA256
_ID = r"[A-Z0-9]{1,32}"  # Slack user and channel ids
_TS = r"[0-9]{1,12}\.[0-9]{1,9}"  # a message ts
_MODAL_SHAPE = re.compile(
    rf"(?P<body>{re.escape(MODAL_PREFIX)}:(?P<verb>[a-z]{{1,16}}):{_NUMBER}:{_NUMBER}"
    rf":(?P<user>{_ID}):(?P<channel>{_ID}):(?P<ts>{_TS})):(?P<mac>[0-9a-f]{{{_MAC_HEX}}})",
    re.ASCII,
)
MODAL_MAX_LENGTH = 200  # far below Slack's 3,000 characters of private_metadata


def modal_key(signing_secret: str) -> bytes:
    """The key modal references are signed with: derived from the Slack signing secret, so
    there is no second secret to configure, and never the signing secret itself."""
    return hmac.new(signing_secret.encode("utf-8"), b"returnsbot:modal-private-metadata:v1", hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class ModalRef:
    """What a modal the bot opened is for: one user, one case at one version, one verb,
    opened from one card (channel + message ts). Signed into `private_metadata`:

        v1:modal:deny:42:3:U0TIERONE1:C0REVIEW01:1700000000.000100:<32 hex HMAC>

    Slack hands `private_metadata` back untouched, so a submission whose reference verifies
    is one of ours; the handler still checks that the user and the verb are the ones the
    modal was opened for. No row is written when the modal opens (nothing before the ack).
    """

    verb: str
    case_id: int
    version: int
    user: str
    channel: str
    message_ts: str

    def __post_init__(self) -> None:
        CaseRef(self.case_id, self.version)  # the same ranges
        for name, value, shape in (("verb", self.verb, r"[a-z]{1,16}"), ("user", self.user, _ID),
                                   ("channel", self.channel, _ID), ("message_ts", self.message_ts, _TS)):
            if not isinstance(value, str) or re.fullmatch(shape, value, re.ASCII) is None:
                raise BadRef(f"{name} is not a Slack value: {str(value)[:40]!r}")

    def _body(self) -> str:
        return f"{MODAL_PREFIX}:{self.verb}:{self.case_id}:{self.version}:{self.user}:{self.channel}:{self.message_ts}"

    def sign(self, key: bytes) -> str:
        body = self._body()
        return f"{body}:{_mac(key, body)}"

    @classmethod
    def verify(cls, raw: object, key: bytes) -> ModalRef:
        """The reference, if `raw` is one signed with `key`; else `BadRef`."""
        if not isinstance(raw, str) or not raw:
            raise BadRef("no modal reference")
        if len(raw) > MODAL_MAX_LENGTH:
            raise BadRef(f"modal reference too long ({len(raw)} characters)")
        match = _MODAL_SHAPE.fullmatch(raw)
        if match is None:
            raise BadRef(f"not a modal reference: {raw[:40]!r}")
        if not hmac.compare_digest(match.group("mac"), _mac(key, match.group("body"))):
            raise BadRef("modal reference signature does not match")
        return cls(verb=match.group("verb"), case_id=int(match.group(3)), version=int(match.group(4)),
                   user=match.group("user"), channel=match.group("channel"), message_ts=match.group("ts"))


def _mac(key: bytes, body: str) -> str:
    return hmac.new(key, body.encode("ascii"), hashlib.sha256).hexdigest()[:_MAC_HEX]
