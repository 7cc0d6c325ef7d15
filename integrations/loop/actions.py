"""Decisions carried out in Loop: process, cancel, close, flag, note — each once.

Loop takes no idempotency keys, so every action reads the return first (check before act):
- a note carries a marker with the job's key (`[returnsbot <key>]`); one already among the
  return's notes is a repeat;
- close / cancel / flag: a return already closed / cancelled / flagged is a repeat;
- process is **queued** in Loop (`true` means accepted, not done). Before calling it, a
  marker note "processing requested" is written; a marker newer than any "processing
  failed" note means it was requested already (a crash after the call, a reclaimed job),
  so it is not called twice. Until Loop says the return is closed the action answers
  `Underway` (the job checks back, not a failure); Loop's `return.processing.failed`
  webhook makes the case writes a "processing failed" note (bot side), so a Retry asks
  again.
Refusals Loop gives in any of its error shapes (some with HTTP 200) are `LoopRefused`,
non-retryable, with a message the card shows: a flagged return must be unflagged in Loop,
a closed or cancelled one can't be processed.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from integrations.loop import mapping
from integrations.loop.client import LoopAPI, LoopRefused
from integrations.loop.mapping import LoopState
from policy.ports import ActionResult, IntegrationError, Operation, Underway

SYSTEM = mapping.SOURCE
CHECK_BACK_SECONDS = 60  # how often a queued processing is looked at until Loop finishes it
NOTE_LIMIT = 1000  # our notes stay short (Loop's documented limit was 255, since raised)
REQUESTED = "processing requested"
FAILED = "processing failed"  # the bot writes it when Loop reports return.processing.failed


def marker(key: str) -> str:
    return f"[returnsbot {key}]"


class LoopActions:
    def __init__(self, api: LoopAPI) -> None:
        self.api = api

    def actions(self) -> dict[str, Callable[[Mapping[str, Any], str], ActionResult]]:
        return {Operation.PROCESS_RETURN: self.process, Operation.CANCEL_RETURN: self.cancel,
                Operation.CLOSE_RETURN: self.close, Operation.FLAG_RETURN: self.flag,
                Operation.NOTE_RETURN: self.note}

    # --- the actions ------------------------------------------------------------------------

    def note(self, payload: Mapping[str, Any], key: str) -> ActionResult:
        rid = mapping.return_id_of(payload["return_id"])
        tag = marker(key)
        if any(tag in _content(n) for n in self.api.notes(rid)):
            return ActionResult(ok=True, summary="note already in Loop (not added twice)")
        self.api.note(rid, _noted(payload.get("text") or "", tag))
        return ActionResult(ok=True, summary="note added in Loop")

    def flag(self, payload: Mapping[str, Any], key: str) -> ActionResult:
        """Flag for review (stops Loop's automatic processing), with the reason as a note."""
        rid = mapping.return_id_of(payload["return_id"])
        ret = self._read(rid)
        if ret.state in (LoopState.CLOSED, LoopState.CANCELLED, LoopState.EXPIRED):
            raise _refused(f"the return is {ret.state.value} in Loop: nothing to hold")
        if not ret.flagged:
            self.api.flag(rid)
        if payload.get("text"):
            self.note({"return_id": payload["return_id"], "text": payload["text"]}, f"{key}:note")
        return ActionResult(ok=True, summary="flagged in Loop: it won't process until it is unflagged there")

    def close(self, payload: Mapping[str, Any], key: str) -> ActionResult:
        return self._end(payload, LoopState.CLOSED, LoopState.CANCELLED, self.api.close,
                         "closed in Loop (and in Shopify): the items can't be returned again")

    def cancel(self, payload: Mapping[str, Any], key: str) -> ActionResult:
        return self._end(payload, LoopState.CANCELLED, LoopState.CLOSED, self.api.cancel,
                         "cancelled in Loop: the customer may start a new return")

    def _end(self, payload: Mapping[str, Any], to: LoopState, other: LoopState, call, summary: str) -> ActionResult:
        """Close or cancel: already in that state is a repeat; in the other, a refusal."""
        rid = mapping.return_id_of(payload["return_id"])
        ret = self._read(rid)
        if ret.state is to:
            return ActionResult(ok=True, summary=f"the return was already {to.value} in Loop")
        if ret.state is other:
            verb = "closed" if to is LoopState.CLOSED else "cancelled"
            raise _refused(f"the return is {other.value} in Loop: it can't be {verb}")
        call(rid)
        return ActionResult(ok=True, summary=summary)

    def process(self, payload: Mapping[str, Any], key: str) -> ActionResult:
        rid = mapping.return_id_of(payload["return_id"])
        ret = self._read(rid)
        if ret.state is LoopState.CLOSED:
            done = "processed in Loop" if ret.fulfilled else "closed in Loop"
            return ActionResult(ok=True, summary=done, external_id=ret.external_id)
        if ret.state in (LoopState.CANCELLED, LoopState.EXPIRED):
            raise _refused(f"the return is {ret.state.value} in Loop: there is nothing to process")
        if ret.flagged:
            raise _refused("the return is flagged in Loop: unflag it there, then press Retry")
        if ret.state is LoopState.REVIEW:
            raise _refused("the return is in Loop's review queue: accept it in Loop; it is processed when Loop opens it")
        if self._requested(rid, key):
            raise Underway("Loop is processing the return (queued)", system=SYSTEM, retry_after=CHECK_BACK_SECONDS)
        self.api.note(rid, _noted(f"returnsbot: {REQUESTED}", marker(key)))
        self.api.process(rid)
        raise Underway("Loop accepted the processing (queued); waiting for it to finish", system=SYSTEM,
                       retry_after=CHECK_BACK_SECONDS)

    # --- reading -----------------------------------------------------------------------------

    def _read(self, rid: str):
        return mapping.loop_return(self.api.details(rid))

    def _requested(self, rid: str, key: str) -> bool:
        """Our processing request is the latest word on the return (no failure noted since)."""
        tag = marker(key)
        ours = [n for n in self.api.notes(rid) if tag in _content(n) or f"returnsbot: {FAILED}" in _content(n)]
        return bool(ours) and REQUESTED in _content(_latest(ours))


def failure_note(message: str) -> str:
    """The note written when Loop reports a failed processing: a Retry then asks again."""
    return f"returnsbot: {FAILED} — {message}"


def _content(note: dict) -> str:
    value = note.get("content") if isinstance(note, dict) else None
    return value if isinstance(value, str) else ""


def _latest(notes: list[dict]) -> dict:
    # Loop lists notes with created_at; fall back to list order when a time is missing.
    indexed = list(enumerate(notes))
    return max(indexed, key=lambda pair: (str(pair[1].get("created_at") or ""), pair[0]))[1]


def _noted(text: str, tag: str) -> str:
    room = NOTE_LIMIT - len(tag) - 1
    return f"{text[:room]} {tag}".strip()


def _refused(message: str) -> IntegrationError:
    return IntegrationError(message, retryable=False, system=SYSTEM)


__all__ = ["LoopActions", "LoopRefused", "failure_note", "marker"]
