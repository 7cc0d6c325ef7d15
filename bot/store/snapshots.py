"""Case snapshots as stored JSON: written with a schema version, read leniently.

A snapshot (`case_snapshots.context` / `.assessment`) is what the case looked like when it
opened, rendered on every card update for as long as the case lives — across releases
that rename, add and drop model fields. So:

* `dump(model)` writes the model's JSON with `"_v": VERSION` inside it.
* `read(context, assessment)` takes the stored JSON of any version: the upcasters turn
  version n into n+1 until it is current, keys the current models do not know are dropped
  (a field removed since, or added by a newer release), and what is left is validated.
  When that still fails it raises `SnapshotUnreadable`; the card is then rendered from the
  case's own columns ("details unavailable"), never not at all.

Changing `CaseContext`, `Assessment` or anything inside them in a way old JSON does not
satisfy (a rename, a new required field, a changed type): bump VERSION and add
`UPCASTERS[old]` that turns an old pair into the new shape. Adding an optional field or
removing one needs nothing. Version 0 is what releases before versioning wrote (no `_v`;
tests/fixtures/snapshots/sample_store_v0.json); 1 is the same shape, stamped.

`read_context_text(text, version)` is the bulk reader (the policy simulator replays every
stored context): the stored JSON text straight into pydantic's JSON validator, unknown keys
ignored, when no upcaster changes the shape since `version` (`SAME_SHAPE`) — 8x faster
than `json.loads` + `known_only` + `model_validate` — and `read` for anything else.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any, Callable

from pydantic import BaseModel, ValidationError

from policy.models import Assessment, CaseContext

VERSION = 1
KEY = "_v"

Upcaster = Callable[[dict, dict], tuple[dict, dict]]


def _v0_to_v1(context: dict, assessment: dict) -> tuple[dict, dict]:
    return context, assessment  # the same shape; v1 only adds the version stamp


# UPCASTERS[n] turns a version-n (context, assessment) pair into version n+1.
UPCASTERS: dict[int, Upcaster] = {0: _v0_to_v1}
# Versions whose JSON is already the current shape (their upcasters only stamp): the bulk
# reader validates them as they are. An upcaster that changes anything removes its
# version (and every older one) from here.
SAME_SHAPE: frozenset[int] = frozenset({0, 1})


class SnapshotUnreadable(ValueError):
    """Stored snapshot JSON that no upcaster turns into the current models."""


def dump(model: BaseModel) -> dict[str, Any]:
    """The JSON to store for a CaseContext or Assessment, stamped with VERSION."""
    return {**model.model_dump(mode="json"), KEY: VERSION}


def read(context: Any, assessment: Any) -> tuple[CaseContext, Assessment]:
    """The stored pair as current models (see the module docstring)."""
    if not isinstance(context, dict) or not isinstance(assessment, dict):
        raise SnapshotUnreadable("the snapshot is not a JSON object")
    ctx, asm = dict(context), dict(assessment)
    version = ctx.pop(KEY, 0)
    asm.pop(KEY, None)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise SnapshotUnreadable(f"unknown snapshot version {version!r}")
    if version > VERSION:
        # Written by a newer release (a rollback): read it as far as today's models allow.
        version = VERSION
    while version < VERSION:
        upcast = UPCASTERS.get(version)
        if upcast is None:
            raise SnapshotUnreadable(f"no upcaster from snapshot version {version}")
        try:
            ctx, asm = upcast(ctx, asm)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SnapshotUnreadable(f"upcasting version {version}: {type(exc).__name__}: {exc}") from exc
        version += 1
    try:
        return (CaseContext.model_validate(known_only(CaseContext, ctx)),
                Assessment.model_validate(known_only(Assessment, asm)))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SnapshotUnreadable(f"{exc.error_count()} problem(s), first: {where}: {first['msg']}") from exc


def known_only(model: type[BaseModel], data: Any) -> Any:
    """`data` without the keys `model` (and the models inside it) does not declare.

    The models forbid unknown keys, which is right for what integrations hand in but
    wrong for what an earlier or later release stored."""
    if not isinstance(data, dict):
        return data
    out = {}
    for name, value in data.items():
        field = model.model_fields.get(name)
        if field is None:
            continue
        out[name] = _prune(field.annotation, value)
    return out


def _prune(annotation: Any, value: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return known_only(annotation, value)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (tuple, list) and isinstance(value, list):
        inner = args[0] if args else Any
        return [_prune(inner, v) for v in value]
    if origin in (typing.Union, types.UnionType):
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        if len(models) == 1 and isinstance(value, dict):
            return known_only(models[0], value)
    return value


def read_context_text(text: str | bytes, version: int | None) -> CaseContext:
    """A stored context from its JSON text and `_v` (None: unstamped, version 0)."""
    if (version or 0) in SAME_SHAPE or (isinstance(version, int) and version > VERSION):
        try:
            return CaseContext.model_validate_json(text, extra="ignore")
        except ValidationError:
            pass  # let the full path say what is wrong (or upcast what it can)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SnapshotUnreadable(f"not JSON: {exc}") from exc
    return _context_only(data)


def _context_only(data: Any) -> CaseContext:
    if not isinstance(data, dict):
        raise SnapshotUnreadable("the snapshot is not a JSON object")
    ctx = dict(data)
    version = ctx.pop(KEY, 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise SnapshotUnreadable(f"unknown snapshot version {version!r}")
    version = min(version, VERSION)
    while version < VERSION:
        upcast = UPCASTERS.get(version)
        if upcast is None:
            raise SnapshotUnreadable(f"no upcaster from snapshot version {version}")
        try:
            ctx, _ = upcast(ctx, {})
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SnapshotUnreadable(f"upcasting version {version}: {type(exc).__name__}: {exc}") from exc
        version += 1
    try:
        return CaseContext.model_validate(known_only(CaseContext, ctx))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SnapshotUnreadable(f"{exc.error_count()} problem(s), first: {where}: {first['msg']}") from exc


def read_assessment_text(text: str | bytes) -> Assessment | None:
    """A stored assessment from its JSON text; None when it cannot be read as the current
    model (the caller recomputes it)."""
    try:
        return Assessment.model_validate_json(text, extra="ignore")
    except ValidationError:
        return None


def version_matters() -> bool:
    """Whether the bulk reader needs a snapshot's version: not while every version up to
    the current one reads as the current shape (SAME_SHAPE) — then the simulator does not
    ask the database to pull `_v` out of every context (a third of its query's time)."""
    return not all(v in SAME_SHAPE for v in range(VERSION + 1))
