"""A fingerprint of what an assessment depends on besides the context: the effective
policy and the policy code. Equal fingerprints mean `assess(ctx, policy)` gives the same
Assessment for the same context, so a stored one can be read instead of recomputed (the
policy simulator's "current policy" side). Any change to the policy or to a file under
policy/ changes it: conservative, never stale."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from policy.config import Policy

_cached: dict[int, tuple[Policy, str]] = {}


@cache
def _code_digest() -> bytes:
    import policy

    h = hashlib.sha256()
    for path in sorted(Path(policy.__file__).parent.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.digest()


def fingerprint(policy: Policy) -> str:
    """sha256 hex of the policy's JSON and the policy code; cached per policy object."""
    hit = _cached.get(id(policy))
    if hit is not None and hit[0] is policy:
        return hit[1]
    h = hashlib.sha256(_code_digest())
    h.update(policy.model_dump_json().encode())
    value = h.hexdigest()
    if len(_cached) > 32:
        _cached.clear()
    _cached[id(policy)] = (policy, value)
    return value
