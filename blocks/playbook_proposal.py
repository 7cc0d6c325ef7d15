"""Claude's playbook proposal in a decided case's thread: the entry, Save / Ignore, and what
the message becomes once someone answered it (no buttons).

Pure renderers. The proposal text came from a model reading people's notes: escaped like
every other outside text. Button values are `proposal_ref(id)`; the handler checks the
stored proposal again on every click.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, PlainTextObject

from blocks.escape import escape_mrkdwn
from blocks.format import kind_label, mention, signal_label
from blocks.ids import PlaybookId
from blocks.parts import context, quote, section
from blocks.refs import BadRef
from policy.models import CaseKind

PROPOSAL_PREFIX = "v1:proposal"
_REF = re.compile(rf"{re.escape(PROPOSAL_PREFIX)}:([1-9][0-9]{{0,18}})", re.ASCII)
TEXT_CHARS = 500


@dataclass(frozen=True)
class ProposalView:
    id: int
    text: str  # raw, as Claude proposed it
    kind: CaseKind
    signal_codes: tuple[str, ...] = ()


def proposal_ref(proposal_id: int) -> str:
    if type(proposal_id) is not int or proposal_id < 1:
        raise BadRef(f"bad proposal id {proposal_id!r}")
    return f"{PROPOSAL_PREFIX}:{proposal_id}"


def parse_proposal_ref(raw: object) -> int:
    """The proposal id from a Save / Ignore button's value; `BadRef` for anything else."""
    match = _REF.fullmatch(raw) if isinstance(raw, str) and len(raw) <= 40 else None
    if not match:
        raise BadRef("not a playbook proposal reference")
    return int(match.group(1))


def _where(view: ProposalView) -> str:
    kind = escape_mrkdwn(kind_label(view.kind).lower())
    signals = ", ".join(signal_label(s) for s in view.signal_codes)
    return (f"new {kind} cards with any of {escape_mrkdwn(signals, 300)}" if signals
            else f"new {kind} cards")


def render_proposal(view: ProposalView) -> dict:
    """The thread message: the proposed entry and its two buttons."""
    ref = proposal_ref(view.id)
    blocks = [
        section(f":bulb: *Playbook proposal* from this thread's notes\n{quote(view.text, TEXT_CHARS)}"),
        context(f"Proposed by Claude. Saved, it shows on {_where(view)}; ignored, nothing changes."),
        ActionsBlock(elements=[
            ButtonElement(text=PlainTextObject(text="Save to playbook", emoji=False),
                          action_id=PlaybookId.PROPOSAL_SAVE.value, value=ref, style="primary"),
            ButtonElement(text=PlainTextObject(text="Ignore", emoji=False),
                          action_id=PlaybookId.PROPOSAL_IGNORE.value, value=ref),
        ]),
    ]
    return {"blocks": [b.to_dict() for b in blocks], "text": f"Playbook proposal: {escape_mrkdwn(view.text, 2900)}"}


def render_proposal_saved(view: ProposalView, *, entry_id: int, by: str) -> dict:
    """The same message once saved: what it says, who saved it as which entry."""
    blocks = [
        section(f":notebook: *Saved to the playbook* as *#{entry_id}* by {mention(by)}\n"
                f"{quote(view.text, TEXT_CHARS)}"),
        context(f"Proposed by Claude from this thread's notes. It shows on {_where(view)}."),
    ]
    return {"blocks": [b.to_dict() for b in blocks], "text": f"Saved to the playbook as #{entry_id}."}


def render_proposal_ignored(view: ProposalView, *, by: str) -> dict:
    """The same message once ignored: the buttons gone, the text kept for the record."""
    blocks = [
        section(f"~Playbook proposal~ · ignored by {mention(by)}\n{quote(view.text, TEXT_CHARS)}"),
    ]
    return {"blocks": [b.to_dict() for b in blocks], "text": "Playbook proposal ignored."}
