"""Composition root: builds adapters and wires them into the use cases, once.

Tests build a Container with fakes (a FakeShopify-backed source, a frozen clock) instead
of patching; nothing here runs at import time.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable

from sqlalchemy import Engine, text

from bot.clock import Clock, utcnow
from bot.db import make_engine
from bot.services.card_view import CaseViews
from bot.services.decide import DecideService
from bot.services.digest import DigestService
from bot.jobs.click_intake import ClickIntake
from bot.jobs.group_commit import GroupCommitter
from bot.jobs.kinds import LANES, Kind
from bot.metrics import Metrics, error_code
from bot.jobs.runner import JobRunner, RetryPolicy
from bot.services.clicks import ClickJobs, click_job
from bot.services.execute import ActionJobs
from bot.services.opened_returns import OpenedReturns
from bot.services.ticket_note import TicketNoteJobs
from bot.services.home import HomeService
from bot.services.inbox import InboxJobs, WebhookInbox
from bot.services.ingest import IngestService
from bot.services.exchanges import ExchangeService
from bot.services.lifecycle import LifecycleService
from bot.services.lookup import OrderLookup
from bot.services.playbook import PlaybookService
from bot.services.poll import IngestJobs, PeriodicJobs, Poller, PollJobs
from bot.services.reminders import Reminders
from bot.services.dispute_deadlines import DisputeDeadlines
from bot.services.stalls import Stalls
from bot.settings import Settings, SettingsError
from bot.store import CaseRepo, OpsRepo, OutboxRepo, ReceiptRepo
from bot.store.jobs import JobRepo, NewJob
from bot.store.stages import StageRepo
from integrations.connector import Registry
from policy.config import Policy, load_policy
from policy.ports import StoreSource

log = logging.getLogger(__name__)

# Transitions that are a decision about a case (by a person, the policy, or the store admin).
DECISION_EVENTS = frozenset({"case.approved", "case.denied", "case.escalated", "case.auto_approved",
                             "case.approved_in_store", "case.declined_in_store"})


def load_policy_for(settings: Settings) -> Policy:
    return load_policy(settings.returnsbot_policy) if settings.returnsbot_policy else Policy.default()


def build_registry(settings: Settings, *, clock: Clock = utcnow, extra: tuple = (), client_options=None):
    """The connectors this deployment's settings configure (integrations/registry.py). The
    Shopify client is built here, with the token provider of the configured auth mode
    (bot/shopify_connect.py: it may keep tokens in the database). `client_options`: the
    client's retry settings where they differ (`check` tries briefly)."""
    from integrations.registry import build_registry as build

    shopify_client = None
    if not settings.uses_sample_store:
        from bot.shopify_connect import graphql_client

        shopify_client = graphql_client(settings, **(client_options or {}))
    return build(settings, clock=clock, extra=extra, shopify_client=shopify_client)


def effective_policy(policy: Policy, registry: Registry, engine: Engine, *, now) -> Policy:
    """The policy with the shop's currency and time zone (asked now, else stored)."""
    from bot.shop import resolve
    from bot.store.shop import ShopFactsRepo

    resolution = resolve(policy, registry.store, ShopFactsRepo(engine), now=now)
    if resolution.policy is None:
        raise SettingsError(resolution.problem or "the shop's currency and time zone are not known")
    if resolution.unchecked:
        log.warning("shop.facts_unchecked %s", resolution.text)
    return resolution.policy


@dataclass
class Container:
    settings: Settings
    policy: Policy
    engine: Engine
    registry: Registry
    clock: Clock = utcnow
    cases: CaseRepo = field(init=False)
    outbox: OutboxRepo = field(init=False)
    receipts: ReceiptRepo = field(init=False)
    ops: OpsRepo = field(init=False)
    jobs: JobRepo = field(init=False)
    ingest: IngestService = field(init=False)
    inbox: WebhookInbox = field(init=False)
    pollers: list[Poller] = field(init=False)
    decide: DecideService = field(init=False)
    views: CaseViews = field(init=False)
    slack_client: object | None = None  # a WebClient; built from settings when Slack is configured
    slack_gateway: object | None = None  # tests pass one with pacing off
    # bot.llm.Claude: built from settings (None without ANTHROPIC_API_KEY: the rules and
    # templates decide); tests pass one pointed at FakeAnthropic.
    claude: object | None = None
    # Nudges for the background workers, by lane; the server replaces them with real ones.
    wake: dict[str, Callable[[], None]] = field(default_factory=dict)
    holder: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}")

    def __post_init__(self) -> None:
        self.store = self.registry.store.source  # the primary store: orders, returns, customers
        if self.claude is None:
            from bot.llm.client import from_settings as claude_from_settings

            self.claude = claude_from_settings(self.settings)
        self.cases = CaseRepo(self.engine)
        self.outbox = OutboxRepo(self.engine)
        self.receipts = ReceiptRepo(self.engine)
        self.ops = OpsRepo(self.engine)
        self.jobs = JobRepo(self.engine)
        self.click_intake = ClickIntake(self.engine, self.clock, click_job)
        self.click_commits = GroupCommitter(self.engine, self.clock, on_committed=self._clicks_committed)
        self.metrics = Metrics(engine=self.engine, jobs=self.jobs, clock=self.clock)
        self.cases.observers.append(self._count_case_event)
        self.ingest = IngestService(
            cases=self.cases, outbox=self.outbox, source=self.store, policy=self.policy, clock=self.clock,
            contributors=self.registry.contributors,
        )
        self.inbox = WebhookInbox(receipts=self.receipts, clock=self.clock, wake=lambda: self._wake("intake"))
        self.ingest.on_case_changed = self._case_changed
        self.gateway = self.slack_gateway
        if self.gateway is None and self.slack_client is None and self.settings.slack_configured:
            from bot.slack_app import web_client

            self.slack_client = web_client(self.settings)
        if self.gateway is None and self.slack_client is not None:
            from integrations.slack.gateway import SlackGateway

            self.gateway = SlackGateway(self.slack_client)
        self.decide = DecideService(
            cases=self.cases, outbox=self.outbox, policy=self.policy, clock=self.clock,
            members=self.gateway.user_groups_members if self.gateway else (lambda group: set()),
            on_case_changed=self._case_changed, on_outbox=lambda: self._wake("actions"),
            can_act=self._can_act,
        )
        self.stages = StageRepo(self.engine)
        # Stage facts (RETURN_STAGE events) go through ingest to the lifecycle service.
        self.lifecycle = LifecycleService(cases=self.cases, stages=self.stages, source=self.store, policy=self.policy,
                                          clock=self.clock, on_case_changed=self._case_changed,
                                          on_outbox=lambda: self._wake("actions"))
        self.ingest.lifecycle = self.lifecycle
        self.exchanges = ExchangeService(cases=self.cases, outbox=self.outbox, policy=self.policy, clock=self.clock,
                                         on_case_changed=self._case_changed, on_outbox=lambda: self._wake("actions"))
        self.lifecycle.exchanges = self.exchanges
        # Returns a returns platform owns (Loop): followed after the card (bot.services.platform_returns).
        from bot.services.platform_returns import PlatformReturns

        self.platform_returns = PlatformReturns(cases=self.cases, jobs=self.jobs, policy=self.policy, clock=self.clock,
                                                on_case_changed=self._case_changed,
                                                on_outbox=lambda: self._wake("actions"),
                                                on_dead=lambda job, reason: self.handlers[Kind.ACTION].on_dead(job, reason))
        self.ingest.platform = self.lifecycle.platform = self.platform_returns
        # Parcels from the shipping systems: delayed-shipment cases, and return parcels' stages.
        from bot.services.shipping import ShippingService

        self.shipping = ShippingService(cases=self.cases, source=self.store, policy=self.policy, clock=self.clock,
                                        ingest_stage=self.ingest.ingest, on_case_changed=self._case_changed)
        self.ingest.shipping = self.shipping
        # [[moments]]: tags, an owner alert and a follow-up task for high-value and VIP orders.
        from bot.services.moments import FollowTasks, MomentService
        from bot.store.moments import MomentRepo

        self.moment_repo = MomentRepo(self.engine)
        self.moments = MomentService(repo=self.moment_repo, policy=self.policy, clock=self.clock,
                                     on_queued=self._moment_queued)
        self.ingest.moments = self.shipping.moments = self.moments
        self.follow_tasks = FollowTasks(repo=self.moment_repo, clock=self.clock, on_changed=lambda: self._wake("cards"))
        from bot.services.tickets import TicketIntake

        from bot.services.ticket_send import TicketSender, helpdesk_lookup

        self.decide.tickets = TicketSender(
            cases=self.cases, helpdesk_for=helpdesk_lookup(self.registry.helpdesks),
            email_lookup=getattr(self.gateway, "email_of", None) or (lambda user_id: (None, None)),
            default_agent_email=self.settings.returnsbot_helpdesk_agent_email, settings=self.policy.tickets,
            policy=self.policy)
        self.ingest.tickets = TicketIntake(cases=self.cases, source=self.store, policy=self.policy, clock=self.clock,
                                           claude=self.claude, contributors=tuple(self.registry.contributors),
                                           on_case_changed=self._case_changed)
        self.decide.reclassifier = self.ingest.tickets.reclassify
        self.playbook = PlaybookService(engine=self.engine, cases=self.cases, clock=self.clock)
        from bot.services.playbook_proposals import PlaybookProposals

        # After a decision on a case with thread notes, Claude's proposed entry (needs Claude and Slack).
        self.proposals = PlaybookProposals(engine=self.engine, cases=self.cases, playbook=self.playbook,
                                           jobs=self.jobs, clock=self.clock, claude=self.claude, gateway=self.gateway)
        self.cases.decision_hooks.append(self.proposals.queue_within)
        self.lookup = OrderLookup(store=self.store, cases=self.cases, playbook=self.playbook, policy=self.policy,
                                  clock=self.clock, sample_store=self.sample_store,
                                  stage_history=self._stage_history(), contributors=self.registry.contributors,
                                  jobs=self.jobs)
        self.home = HomeService(cases=self.cases, decide=self.decide, policy=self.policy, clock=self.clock,
                                gateway=self.gateway)
        self.home.tasks = self.follow_tasks
        self.reminders = Reminders(cases=self.cases, decide=self.decide, gateway=self.gateway, policy=self.policy,
                                   clock=self.clock) if self.gateway else None
        self.stalls = self._stalls()
        self.deadlines = (DisputeDeadlines(cases=self.cases, decide=self.decide, gateway=self.gateway,
                                           policy=self.policy, clock=self.clock) if self.gateway else None)
        self.digest = DigestService(engine=self.engine, ops=self.ops, policy=self.policy, clock=self.clock,
                                    gateway=self.gateway, sample_store=self.sample_store,
                                    vendors=self.registry.vendors())
        self.views = CaseViews(
            cases=self.cases, outbox=self.outbox, policy=self.policy, clock=self.clock,
            tier_for=self.decide.tier_for, admin_url=self.registry.store.admin_url,
            admin_label=self.registry.store.admin_label,
            sample_store=self.sample_store,
            playbook_for=self.playbook.for_case,
            stage_history=self._stage_history(),
            system_of=self._system_of,
        )
        self._slack_services = None
        self.pollers = [
            Poller(name=spec.name, fetch=spec.fetch, ingest=self.ingest, ops=self.ops, clock=self.clock,
                   engine=self.engine)
            for spec in self.registry.pollers
        ]
        self.periodic: dict[str, Callable[[], object]] = {"prune": self.prune, "notes": self.record_notes,
                                                          "receipts": self.lifecycle.overdue_receipts}
        if self.reminders is not None:
            self.periodic["reminders"] = self.reminders.run_once
        if self.stalls is not None:
            self.periodic["stalls"] = self.stalls.run_once
        if self.deadlines is not None:
            self.periodic["disputes"] = self.deadlines.run_once
        if self.gateway is not None:
            from bot.services.moments import TaskReminders

            self.periodic["followups"] = TaskReminders(repo=self.moment_repo, gateway=self.gateway,
                                                       clock=self.clock).run_once
        self.handlers = self._job_handlers()
        self.runners = {
            lane: JobRunner(repo=self.jobs, ops=self.ops, clock=self.clock, handlers=self.handlers,
                            holder=f"{self.holder}/{lane}", retry=self.retry_policy,
                            lease=timedelta(seconds=self.settings.returnsbot_job_lease_seconds),
                            kinds=[k for k in kinds if k in self.handlers], on_finished=self._job_finished,
                            on_failure=self._count_failure,
                            feed=self.click_intake.feed if Kind.CLICK in kinds and Kind.CLICK in self.handlers else None)
            for lane, kinds in LANES.items()
        }

    # --- background work ------------------------------------------------------------------

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(budget=timedelta(hours=self.settings.returnsbot_retry_budget_hours))

    def _can_act(self, system: str, operation: str) -> bool:
        connector = self.registry.for_system(system)
        return connector is not None and operation in connector.actions

    def _system_of(self, system: str) -> tuple[str, bool]:
        """(how people call the system holding a case, whether it can accept a dispute by API)."""
        from policy.ports import Operation

        return self.registry.label(system), self._can_act(system, Operation.ACCEPT_DISPUTE)

    def _stage_history(self) -> Callable[[int], list]:
        return StageRepo(self.engine).history

    def _stage_lines(self):
        """The thread's one line per stage, posted from the card job."""
        from bot.services.stage_lines import StageLines

        return StageLines(engine=self.engine, gateway=self.gateway, clock=self.clock,
                          tz=self.policy.store.timezone)

    def _job_handlers(self) -> dict:
        handlers: dict = {
            Kind.INBOX: InboxJobs(receipts=self.receipts, ingest=self.ingest, decoders=self.registry.decoders(),
                                  clock=self.clock),
            Kind.INGEST: IngestJobs(self.ingest),
            Kind.POLL: PollJobs(self.pollers),
            Kind.PERIODIC: PeriodicJobs(self.periodic),
            Kind.ACTION: ActionJobs(cases=self.cases, outbox=self.outbox, registry=self.registry, clock=self.clock,
                                    on_case_changed=self._case_changed,
                                    within_done=self.lifecycle.queue_receipt_within,
                                    on_out_of_stock=self.exchanges.out_of_stock),
            Kind.TICKET_NOTE: TicketNoteJobs(cases=self.cases, registry=self.registry, clock=self.clock,
                                             on_card=lambda: self._wake("cards")),
        }
        handlers[Kind.ACTION].on_caseless_dead = self._moment_tags_finished
        handlers[Kind.ACTION].on_result = OpenedReturns(cases=self.cases, registry=self.registry, clock=self.clock,
                                                        on_case_changed=self._case_changed).adopt
        if self.gateway is not None and self.settings.slack_signing_secret:
            handlers[Kind.CLICK] = ClickJobs(lambda: self.slack_services)
        if self.gateway is not None:
            from bot.services.cards import CardJobs

            handlers[Kind.PROPOSAL] = self.proposals
            handlers[Kind.CARD] = CardJobs(cases=self.cases, views=self.views, gateway=self.gateway, jobs=self.jobs,
                                           clock=self.clock, stage_lines=self._stage_lines())
            from bot.services.moments import MomentAlerts

            handlers[Kind.MOMENT] = MomentAlerts(repo=self.moment_repo, gateway=self.gateway, jobs=self.jobs,
                                                 clock=self.clock, sample_store=self.sample_store)
        return handlers

    def drain(self, *lanes: str) -> int:
        """Run every due job of these lanes (all by default) until none is left: the demo,
        `poll`, and tests that don't start the workers."""
        total = 0
        while True:
            n = sum(self.runners[lane].drain() for lane in (lanes or tuple(self.runners)))
            total += n
            if not n:
                return total

    def _stalls(self) -> Stalls | None:
        """Stalled-return reminders (need Slack to remind anyone)."""
        if not self.gateway:
            return None
        return Stalls(cases=self.cases, stages=StageRepo(self.engine), decide=self.decide, gateway=self.gateway,
                      policy=self.policy, clock=self.clock)

    def prune(self) -> str:
        """Daily: forget Events API ids after a day, raw webhook bodies after the retention
        period, finished background jobs after a week."""
        now = self.clock()
        days = self.settings.returnsbot_retention_days
        events = self.playbook.prune_events(now - timedelta(days=1))
        bodies = self.receipts.prune_bodies(before=now - timedelta(days=days))
        finished = self.jobs.prune_finished(before=now - timedelta(days=7))
        return f"{events} event ids, {bodies} webhook bodies, {finished} finished jobs pruned"

    @property
    def sample_store(self) -> bool:
        """Cases come from the bundled sample store: every card, digest and answer says so."""
        return self.registry.sample

    def _count_case_event(self, event: str, case) -> None:
        if event == "case.opened":
            self.metrics.cases_opened.labels(case.kind.value).inc()
        elif event in DECISION_EVENTS:
            self.metrics.cases_decided.labels(event).inc()

    def _count_failure(self, job, exc: Exception) -> None:
        self.metrics.vendor_errors.labels(job.system, error_code(exc)).inc()

    def record_notes(self) -> str:
        """Connectors' standing problems (another API version served) into health."""
        notes = [n for c in self.registry.connectors if c.notes for n in c.notes()]
        for system, note in notes:
            self.ops.record_failure(system, at=self.clock(), error=note)
        return f"{len(notes)} note(s)"

    def _moment_tags_finished(self, job) -> None:
        """A moment's tags are done (or dead): its alert says so."""
        if job.payload.get("moment_id"):
            self.moment_repo.queue_update(int(job.payload["moment_id"]), now=self.clock())
            self._wake("cards")

    def _moment_queued(self) -> None:
        self._wake("actions")
        self._wake("cards")

    def _wake(self, lane: str) -> None:
        self.wake.get(lane, lambda: None)()

    def _case_changed(self, case) -> None:
        # A change queues its card job, and an auto-approval its action jobs, in its own
        # transaction: nudge both lanes (a nudge with nothing due costs one claim query).
        self._wake("cards")
        self._wake("actions")
        self._wake("learning")  # a decision may have queued a playbook proposal
        self._wake("notes")  # a ticket case's context note, queued with its opening

    def _job_finished(self, job) -> None:
        # A finished action may have made the case done (a card to update, a receipt that
        # waited for it to evaluate) or unblocked the next action of its case.
        if job.kind == Kind.ACTION and job.case_id is None:
            self._moment_tags_finished(job)
        if job.kind == Kind.ACTION:
            self._wake("actions")
            self._wake("cards")
            self._wake("intake")

    @property
    def slack_services(self):
        """What Slack handlers use (None without Slack settings); built once."""
        if self.gateway is None or not self.settings.slack_signing_secret:
            return None
        if self._slack_services is None:
            from bot.slack_app import SlackServices

            self._slack_services = SlackServices(decide=self.decide, gateway=self.gateway, views=self.views,
                                                 lookup=self.lookup, playbook=self.playbook,
                                                 proposals=self.proposals, digest=self.digest,
                                                 home=self.home, submit_click=self._persist_click,
                                                 decide_followup=self.lifecycle.decide_followup,
                                                 tasks=self.follow_tasks,
                                                 simulator=self._policy_simulator())
        return self._slack_services

    def _policy_simulator(self):
        from bot.services.policy_sim import PolicySimulator

        return PolicySimulator(engine=self.engine, running=self.settings.returnsbot_policy, gateway=self.gateway,
                               clock=self.clock)

    def _persist_click(self, click) -> None:
        """Before the ack: the click is committed as an intent (grouped with the clicks
        arriving at the same moment), so a crash right after the 200 loses nothing; the
        clicks lane moves it into a job (`click_intake`) and decides it."""
        self.click_commits.submit(click.to_payload())

    def _clicks_committed(self) -> None:
        self.click_intake.nudge()
        self._wake("clicks")

    def slack_app(self):
        """The Bolt app (None without Slack settings)."""
        if self.slack_services is None:
            return None
        from bot.slack_app import build_app

        return build_app(self.settings, self.slack_services, self.slack_client)

    @classmethod
    def build(cls, settings: Settings, *, clock: Clock = utcnow, store: StoreSource | None = None,
              policy: Policy | None = None, engine: Engine | None = None, slack_client=None,
              slack_gateway=None, registry: Registry | None = None, connectors: tuple = ()) -> Container:
        """`store` (tests, the demo): that store object as the primary store, plus any extra
        `connectors`; else the registry the settings configure.

        The policy becomes the effective one: the shop's currency and time zone where it
        leaves them out (`bot.shop`). A policy that disagrees with the shop, or a shop whose
        currency nobody knows, is a SettingsError of one line per problem."""
        if registry is None:
            from integrations.registry import registry_for_store

            registry = (registry_for_store(store, settings, extra=connectors) if store is not None
                        else build_registry(settings, clock=clock, extra=connectors))
        own_engine = engine is None
        engine = engine or make_engine(settings.database_url)
        try:
            policy = effective_policy(policy or load_policy_for(settings), registry, engine, now=clock())
        except SettingsError:
            if own_engine:
                engine.dispose()
            raise
        return cls(
            settings=settings,
            policy=policy,
            engine=engine,
            registry=registry,
            clock=clock,
            slack_client=slack_client,
            slack_gateway=slack_gateway,
        )

    def check_db(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

