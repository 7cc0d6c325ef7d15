"""Playbook proposals: after a decision on a case whose card thread has people's notes,
Claude proposes one entry ("When …, do …, because …") in that thread; a person saves it
with one click or ignores it.

Once per decision, across restarts: the decision's transaction queues a `proposal` job
keyed on the decision row (`playbook:<case>:d<decision>`) — only when Claude is configured,
the card is in Slack and the case has notes, so without a key nothing at all changes. The
job stores the proposal (unique per decision) before it posts, so a retry after Slack
failed posts what Claude said instead of asking again; only the job's holder posts, and the
message ts is saved the moment Slack answers (as for cards). A later decision on the same
case proposes again only if notes were written since the last proposal.

What Claude reads: the case's kind, signals, recommendation and decision, and the notes as
delimited data (`bot.llm.prompts.as_data`) with the customer's name, emails and phone and
any email address taken out. No order number, no customer.

Save stores the entry through `PlaybookService.insert_entry` (the case's kind and signals,
linked to the case), in the transaction that moves the proposal from `proposed` to
`saved`: a second click finds it saved. Ignore moves it to `ignored`. Either way the
message is re-rendered without its buttons.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from sqlalchemy import Connection, Engine, func, select, update

from blocks.format import kind_label, signal_label
from blocks.playbook_proposal import ProposalView, render_proposal
from bot.jobs.errors import Permanent, RetryLater
from bot.jobs.kinds import Kind
from bot.jobs.runner import Done
from bot.llm.playbook import propose_playbook_entry
from bot.services.playbook import Entry, PlaybookService
from bot.services.redact import Scrubber
from bot.schema import case_notes, cases as cases_table, playbook_proposals
from bot.store import CaseRecord, CaseRepo
from bot.store.jobs import Job, JobRepo, NewJob, enqueue
from bot.store.sql import insert_ignore
from integrations.slack.gateway import SlackError, SlackGatewayError

log = logging.getLogger(__name__)

PROPOSED, SAVED, IGNORED = "proposed", "saved", "ignored"
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


class ProposalLeaseLost(RetryLater):
    """Another worker holds this job now; it will do the posting."""


@dataclass(frozen=True)
class Proposal:
    id: int
    case_id: int
    decision_id: int
    text: str
    last_note_id: int
    status: str
    channel: str | None
    ts: str | None
    created_at: datetime
    answered_by: str | None
    answered_at: datetime | None
    entry_id: int | None

    @classmethod
    def from_row(cls, row: Any) -> Proposal:
        m = row._mapping
        return cls(**{k: m[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Answer:
    """What a Save or Ignore click did. status: `saved`, `ignored` (this click did it),
    `already` (someone answered it before: `proposal.status` says how), `gone` (no such
    proposal, or its case is gone)."""

    status: str
    proposal: Proposal | None = None
    entry: Entry | None = None


def proposal_key(case_id: int, decision_id: int) -> str:
    return f"playbook:{case_id}:d{decision_id}"


class PlaybookProposals:
    def __init__(self, *, engine: Engine, cases: CaseRepo, playbook: PlaybookService, jobs: JobRepo,
                 clock: Callable[[], datetime], claude: Any = None, gateway: Any = None) -> None:
        self.engine, self.cases, self.playbook, self.jobs, self.clock = engine, cases, playbook, jobs, clock
        self.claude = claude  # bot.llm.Claude, or None: no proposals at all
        self.gateway = gateway  # SlackGateway, or None: no proposals at all

    @property
    def active(self) -> bool:
        return self.claude is not None and self.gateway is not None

    # --- queued with the decision -----------------------------------------------------

    def queue_within(self, conn: Connection, case_row: Any, decision_id: int, now: datetime) -> None:
        """CaseRepo's decision hook: a proposal job for this decision, if it can come to anything."""
        m = case_row._mapping
        if not self.active or not m["slack_ts"]:
            return
        has_notes = conn.execute(select(case_notes.c.id).where(
            case_notes.c.case_id == m["id"], case_notes.c.deleted_at.is_(None), case_notes.c.text != "").limit(1)
        ).first()
        if has_notes is None:
            return
        enqueue(conn, NewJob(kind=Kind.PROPOSAL, system="slack", operation="propose_playbook_entry",
                             case_id=m["id"], payload={"decision_id": decision_id},
                             idempotency_key=proposal_key(m["id"], decision_id)), now=now)

    # --- the job ------------------------------------------------------------------------

    def run(self, job: Job) -> Done:
        case = self.cases.get(job.case_id)
        if case is None:
            return Done("case gone")
        decision_id = int(job.payload["decision_id"])
        proposal = self.for_decision(decision_id)
        if proposal is None:
            proposal = self._propose(case, decision_id)
            if isinstance(proposal, str):
                return Done(proposal)
        if proposal.ts:
            return Done("posted already", external_id=proposal.ts)
        if not case.slack_channel or not case.slack_ts:
            return Done("no card thread")
        if not self.jobs.holds(job):  # chat.postMessage has no idempotency key
            raise ProposalLeaseLost(f"lost the claim on job {job.id} before posting")
        message = render_proposal(self.view(proposal, case))
        try:
            ts = self.gateway.post_message(case.slack_channel, thread_ts=case.slack_ts, blocks=message["blocks"],
                                           text=message["text"])
        except SlackError as exc:
            raise Permanent(f"Slack refused the playbook proposal of case {case.id}: {exc.error}") from exc
        except SlackGatewayError as exc:
            raise RetryLater(str(exc), retry_after=getattr(exc, "retry_after", None)) from exc
        with self.engine.begin() as conn:  # at once: never post twice
            conn.execute(update(playbook_proposals).where(playbook_proposals.c.id == proposal.id)
                         .values(channel=case.slack_channel, ts=ts))
        log.info("playbook.proposal_posted case_id=%s proposal_id=%s", case.id, proposal.id)
        return Done(f"proposal #{proposal.id} posted", external_id=ts)

    def _propose(self, case: CaseRecord, decision_id: int) -> Proposal | str:
        """Ask Claude and store what it proposes; a string says why there is nothing to post."""
        with self.engine.connect() as conn:
            since = conn.execute(select(func.max(playbook_proposals.c.last_note_id))
                                 .where(playbook_proposals.c.case_id == case.id)).scalar() or 0
        notes = [n for n in self.playbook.notes_for_case(case.id) if n.id > since and n.text.strip()]
        if not notes:
            return "no new notes"
        scrub = self._scrubber(case)
        text = propose_playbook_entry([_EMAIL.sub("[email]", scrub.text(n.text)) for n in notes],
                                      self.summary(case), claude=self.claude)
        if text is None:  # no key, Claude failed or saw no general lesson: nothing changes
            return "no proposal"
        stmt = (insert_ignore(self.engine, playbook_proposals, ["decision_id"])
                .values(case_id=case.id, decision_id=decision_id, text=text, last_note_id=max(n.id for n in notes),
                        status=PROPOSED, created_at=self.clock()))
        with self.engine.begin() as conn:
            conn.execute(stmt)
        stored = self.for_decision(decision_id)
        assert stored is not None  # inserted now, or by a worker that got there first
        return stored

    def summary(self, case: CaseRecord) -> str:
        """The case as Claude reads it: what kind, which risks, what was recommended and decided."""
        signals = ", ".join(signal_label(s) for s in case.signal_codes) or "none"
        parts = [f"{kind_label(case.kind)} case", f"signals: {signals}",
                 f"recommended: {case.recommended_action}", f"decided: {case.decided_action or 'unknown'}"]
        if case.amount.amount:
            parts.append(f"amount: {case.amount.format()}")
        return "; ".join(parts)

    def _scrubber(self, case: CaseRecord) -> Scrubber:
        """The customer's name, emails and phone, as this case's snapshot holds them."""
        terms: set[str] = set()
        if case.customer_name:
            terms.add(case.customer_name)
        try:
            ctx, _ = self.cases.snapshot(case)
        except Exception:  # no snapshot readable: the email pattern still applies
            log.warning("playbook.proposal_no_snapshot case_id=%s", case.id, exc_info=True)
            return Scrubber(terms, name_parts=True)
        if ctx.customer is not None:
            terms |= {t for t in (ctx.customer.display_name, ctx.customer.email) if t}
        if ctx.order.email:
            terms.add(ctx.order.email)
        for ticket in ctx.tickets:
            terms |= {t for t in (ticket.requester_name, ticket.requester_email) if t}
        return Scrubber(terms, name_parts=True)

    # --- reading ------------------------------------------------------------------------

    def get(self, proposal_id: int) -> Proposal | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(playbook_proposals).where(playbook_proposals.c.id == proposal_id)).first()
        return Proposal.from_row(row) if row else None

    def for_decision(self, decision_id: int) -> Proposal | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(playbook_proposals)
                               .where(playbook_proposals.c.decision_id == decision_id)).first()
        return Proposal.from_row(row) if row else None

    def for_case(self, case_id: int) -> list[Proposal]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(playbook_proposals).where(playbook_proposals.c.case_id == case_id)
                                .order_by(playbook_proposals.c.id))
            return [Proposal.from_row(r) for r in rows]

    def view(self, proposal: Proposal, case: CaseRecord | None = None) -> ProposalView:
        case = case or self.cases.get(proposal.case_id)
        return ProposalView(id=proposal.id, text=proposal.text, kind=case.kind, signal_codes=case.signal_codes)

    # --- answering ------------------------------------------------------------------------

    def save(self, proposal_id: int, *, by: str) -> Answer:
        """Save to playbook: the entry stored once, however often it is clicked."""
        now = self.clock()
        with self.engine.begin() as conn:
            case = self._case_of(conn, proposal_id)
            if case is None:
                return Answer("gone")
            moved = conn.execute(update(playbook_proposals)
                                 .where(playbook_proposals.c.id == proposal_id,
                                        playbook_proposals.c.status == PROPOSED)
                                 .values(status=SAVED, answered_by=by[:64], answered_at=now)).rowcount
            if moved != 1:
                return Answer("already", proposal=self._get(conn, proposal_id))
            proposal = self._get(conn, proposal_id)
            # The person who saved it vouches for it: author and promoter both.
            entry = self.playbook.insert_entry(conn, case, text=proposal.text, author=by, created_at=now, by=by)
            conn.execute(update(playbook_proposals).where(playbook_proposals.c.id == proposal_id)
                         .values(entry_id=entry.id))
            proposal = self._get(conn, proposal_id)
        log.info("playbook.proposal_saved proposal_id=%s entry_id=%s by=%s", proposal_id, entry.id, by)
        return Answer(SAVED, proposal=proposal, entry=entry)

    def ignore(self, proposal_id: int, *, by: str) -> Answer:
        now = self.clock()
        with self.engine.begin() as conn:
            if self._case_of(conn, proposal_id) is None:
                return Answer("gone")
            moved = conn.execute(update(playbook_proposals)
                                 .where(playbook_proposals.c.id == proposal_id,
                                        playbook_proposals.c.status == PROPOSED)
                                 .values(status=IGNORED, answered_by=by[:64], answered_at=now)).rowcount
            proposal = self._get(conn, proposal_id)
        if moved != 1:
            return Answer("already", proposal=proposal)
        log.info("playbook.proposal_ignored proposal_id=%s by=%s", proposal_id, by)
        return Answer(IGNORED, proposal=proposal)

    @staticmethod
    def _get(conn: Connection, proposal_id: int) -> Proposal | None:
        row = conn.execute(select(playbook_proposals).where(playbook_proposals.c.id == proposal_id)).first()
        return Proposal.from_row(row) if row else None

    @staticmethod
    def _case_of(conn: Connection, proposal_id: int) -> CaseRecord | None:
        row = conn.execute(select(cases_table).join(playbook_proposals, playbook_proposals.c.case_id == cases_table.c.id)
                           .where(playbook_proposals.c.id == proposal_id)).first()
        return CaseRecord.from_row(row) if row else None
