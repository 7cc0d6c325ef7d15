"""Card jobs: every case's card in Slack follows its stored state.

Each change to a case queues a card job in the same transaction (CaseRepo). The job posts
the card (first time) or updates it (chat.update — never a second post), and, while
escalated, a second card in the escalation channel linked from the original thread. Slack
being slow or down delays a card, never loses it: the job is retried. Slack refusing a
card (channel_not_found, invalid_blocks) parks that version; the next change tries again.
"""

from __future__ import annotations

import logging

from blocks.card import render_case_card
from bot import actors
from bot.clock import Clock
from bot.jobs.errors import Permanent, RetryLater
from bot.jobs.runner import Done
from bot.services.card_view import CaseViews
from bot.services.stage_lines import StageLines
from bot.store import CaseRecord, CaseRepo
from bot.store.jobs import Job, JobRepo
from integrations.slack.gateway import SlackError, SlackGateway, SlackGatewayError
from policy.models import CaseStatus

log = logging.getLogger(__name__)


class LeaseLost(RetryLater):
    """Another worker holds this job now; it will do the posting."""


class CardJobs:
    def __init__(self, *, cases: CaseRepo, views: CaseViews, gateway: SlackGateway, jobs: JobRepo,
                 clock: Clock, stage_lines: StageLines | None = None) -> None:
        self.cases = cases
        self.stage_lines = stage_lines  # the thread's one line per stage (issue 9)
        self.views = views
        self.gateway = gateway
        self.jobs = jobs
        self.clock = clock

    def run(self, job: Job) -> Done:
        case = self.cases.get(job.case_id)
        if case is None:
            return Done("case gone")
        if case.card_version >= job.payload.get("version", 0) and not job.payload.get("force"):
            self._stage_lines(job, case)
            return Done("already current")
        try:
            self._owner_card(job, case)
            if case.status is CaseStatus.ESCALATED or case.escalation_ts:
                self._escalation_card(job, self.cases.get(case.id) or case)
        except SlackError as exc:
            # Slack refused: sending the same request again gets the same answer.
            self.cases.card_synced(case.id, version=case.version, error=exc.error)
            raise Permanent(f"Slack refused the card of case {case.id}: {exc.error}") from exc
        except SlackGatewayError as exc:
            raise RetryLater(str(exc), retry_after=getattr(exc, "retry_after", None)) from exc
        self.cases.card_synced(case.id, version=case.version)
        self._stage_lines(job, self.cases.get(case.id) or case)
        return Done(f"card at v{case.version}")

    def _stage_lines(self, job: Job, case: CaseRecord) -> None:
        """After the card: the thread line for stages not yet posted. A failure here leaves
        them for the next card job (they are released), never fails the card."""
        if self.stage_lines is None or not self.jobs.holds(job):
            return
        try:
            self.stage_lines.post_pending(case)
        except (SlackError, SlackGatewayError) as exc:
            log.warning("stage_lines.failed case_id=%s error=%s", case.id, exc)

    def _post(self, job: Job, channel: str, card: dict, **kw) -> str:
        # chat.postMessage has no idempotency key: only the holder of the claim may post.
        if not self.jobs.holds(job):
            raise LeaseLost(f"lost the claim on job {job.id} before posting")
        return self.gateway.post_message(channel, blocks=card.get("blocks"), text=card["text"], **kw)

    def _owner_card(self, job: Job, case: CaseRecord) -> None:
        card = render_case_card(self.views.build(case))
        if case.slack_ts is None:
            ts = self._post(job, case.channel, card)
            self.cases.set_card(case.id, slack_channel=case.channel, slack_ts=ts)  # at once: never post twice
            log.info("card.posted", extra={"channel": case.channel, "ts": ts})
        else:
            self.gateway.update_message(case.slack_channel, case.slack_ts, blocks=card["blocks"], text=card["text"])
            log.info("card.updated", extra={"version": case.version})

    def _escalation_card(self, job: Job, case: CaseRecord) -> None:
        channel = case.escalation_channel or case.slack_channel
        card = render_case_card(self.views.build(case, escalation_card=True))
        if case.escalation_ts is None:
            ts = self._post(job, channel, card)
            # Saved the moment Slack answers: a failure after this (the permalink, the
            # thread note) must not lead to a second escalation card.
            self.cases.set_card(case.id, escalation_ts=ts, escalation_channel=channel)
            case = self.cases.get(case.id) or case
        else:
            self.gateway.update_message(channel, case.escalation_ts, blocks=card["blocks"], text=card["text"])
        if case.escalation_url is None:
            url = self.gateway.get_permalink(channel, case.escalation_ts)
            self.cases.set_card(case.id, escalation_url=url)
            # The original thread points to where the decision now happens, and the owner
            # card is re-rendered with the link. (Saved before the note: a crash here costs
            # the note, never a second one; the owner card carries the link anyway.)
            if case.slack_ts:
                self.gateway.post_message(case.slack_channel, thread_ts=case.slack_ts, blocks=None,
                                          text=f"Escalated by {actors.display(case.escalated_by)}: {url}")
                self._owner_card(job, self.cases.get(case.id) or case)
