"""Card sync: every case's card in Slack follows its stored state.

A case whose version is ahead of its `card_version` gets its card posted (first time) or
updated (chat.update — never a second post), and, while escalated, a second card in the
escalation channel linked from the original thread. Slack being slow or down delays a
card, never loses it: the case stays behind until a sync succeeds.
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from blocks.card import render_case_card
from bot import actors
from bot.clock import Clock
from bot.services.card_view import CaseViews
from bot.store import CaseRecord, CaseRepo, OpsRepo
from integrations.slack.gateway import SlackError, SlackGateway, SlackGatewayError
from policy.models import CaseStatus

log = logging.getLogger(__name__)

SYSTEM = "slack"



class CardSync:
    def __init__(self, *, cases: CaseRepo, views: CaseViews, gateway: SlackGateway, ops: OpsRepo, clock: Clock,
                 lease: timedelta = timedelta(seconds=60)) -> None:
        self.cases = cases
        self.views = views
        self.gateway = gateway
        self.ops = ops
        self.clock = clock
        self.lease = lease

    def run_once(self, limit: int = 20) -> int:
        claimed = self.cases.claim_cards(now=self.clock(), lease=self.lease, limit=limit)
        for case in claimed:
            self._sync(case)
        return len(claimed)

    def drain(self) -> int:
        done = 0
        while n := self.run_once():
            done += n
        return done

    def _sync(self, case: CaseRecord) -> None:
        try:
            self._owner_card(case)
            if case.status is CaseStatus.ESCALATED or case.escalation_ts:
                self._escalation_card(self.cases.get(case.id) or case)
        except SlackError as exc:
            # Slack refused (channel_not_found, not_in_channel, invalid_blocks): retrying the
            # same request won't help. Park this version; the next state change tries again.
            self.cases.card_synced(case.id, version=case.version, error=exc.error)
            self.ops.record_failure(SYSTEM, at=self.clock(), error=f"{exc.error} (case {case.id})")
            log.error("card.refused case_id=%s error=%s", case.id, exc.error)
            return
        except SlackGatewayError as exc:
            retry = self.clock() + timedelta(seconds=5 + random.random() * 5)
            self.cases.card_retry_at(case.id, at=retry, error=str(exc))
            self.ops.record_failure(SYSTEM, at=self.clock(), error=str(exc))
            log.warning("card.retry case_id=%s error=%s", case.id, exc)
            return
        self.cases.card_synced(case.id, version=case.version)
        self.ops.record_success(SYSTEM, at=self.clock())

    def _owner_card(self, case: CaseRecord) -> None:
        card = render_case_card(self.views.build(case))
        if case.slack_ts is None:
            ts = self.gateway.post_message(case.channel, blocks=card["blocks"], text=card["text"])
            self.cases.set_card(case.id, slack_channel=case.channel, slack_ts=ts)
            log.info("card.posted case_id=%s channel=%s ts=%s", case.id, case.channel, ts)
        else:
            self.gateway.update_message(case.slack_channel, case.slack_ts, blocks=card["blocks"], text=card["text"])
            log.info("card.updated case_id=%s version=%s", case.id, case.version)

    def _escalation_card(self, case: CaseRecord) -> None:
        channel = case.escalation_channel or case.slack_channel
        card = render_case_card(self.views.build(case, escalation_card=True))
        if case.escalation_ts is None:
            ts = self.gateway.post_message(channel, blocks=card["blocks"], text=card["text"])
            url = self.gateway.get_permalink(channel, ts)
            self.cases.set_card(case.id, escalation_ts=ts, escalation_url=url, escalation_channel=channel)
            # The original thread points to where the decision now happens, and the owner
            # card is re-rendered with the link.
            if case.slack_ts:
                self.gateway.post_message(case.slack_channel, thread_ts=case.slack_ts,
                                          blocks=None, text=f"Escalated by {actors.display(case.escalated_by)}: {url}")
                refreshed = self.cases.get(case.id)
                self._owner_card(refreshed)
        else:
            self.gateway.update_message(channel, case.escalation_ts, blocks=card["blocks"], text=card["text"])
