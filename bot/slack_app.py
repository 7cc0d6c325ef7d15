"""The Bolt app: built once by the container, served at POST /slack/events (or over
Socket Mode when SLACK_APP_TOKEN is set)."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from slack_bolt import App
from slack_bolt.middleware import Middleware
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import Authorize
from slack_sdk import WebClient

from blocks.refs import modal_key
from bot import bolt_fixes
from bot.priority import InFlight, YieldingExecutor
from bot.services.card_view import CaseViews
from bot.services.clicks import Click, ClickService
from bot.services.followup import Followups
from bot.services.digest import DigestService
from bot.services.home import HomeService
from bot.services.lookup import OrderLookup
from bot.services.playbook import PlaybookService
from bot.services.decide import DecideService, DecisionRefused
from bot.settings import Settings
from handlers.slack import actions, followup, home, order, playbook, policy, tasks
from handlers.slack.errors import on_error
from handlers.slack.services import MODAL_KEY, SERVICES_KEY
from integrations.slack.gateway import SlackGateway

log = logging.getLogger(__name__)

Spawn = Callable[[Callable[[], None]], object]


def _daemon(fn: Callable[[], None]) -> None:
    threading.Thread(target=fn, name="slack-identity", daemon=True).start()


class BotIdentity:
    """Who the bot is (auth.test: its user id, bot id, team), learned in the background.

    Bolt would otherwise call auth.test on the first request, on the ack path; when Slack
    answered that with a 429 at a cold start, the click was dropped with Bolt's "We
    apologize, but for some unknown reason…". Nothing on the request path needs the
    answer — the token and the signing secret come from settings — so requests go on while
    it is unknown, and each one nudges a background attempt (at most one at a time, and
    backing off after a failure).
    """

    def __init__(self, fetch: Callable[[], dict[str, Any]], *, spawn: Spawn = _daemon,
                 monotonic: Callable[[], float] = time.monotonic, backoff: float = 30.0,
                 max_backoff: float = 600.0) -> None:
        self.fetch = fetch
        self.spawn = spawn
        self.monotonic = monotonic
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.user_id: str | None = None
        self.bot_id: str | None = None
        self.team_id: str | None = None
        self._lock = threading.Lock()
        self._busy = False
        self._failures = 0
        self._next_try = 0.0

    @property
    def known(self) -> bool:
        return self.user_id is not None

    def learn_soon(self) -> None:
        if self.user_id is not None:
            return
        with self._lock:
            if self._busy or self.monotonic() < self._next_try:
                return
            self._busy = True
        try:
            self.spawn(self._learn)
        except Exception:  # no thread to be had: a later request tries again
            with self._lock:
                self._busy = False

    def _learn(self) -> None:
        try:
            data = self.fetch()
            self.team_id, self.bot_id = data.get("team_id"), data.get("bot_id")
            self.user_id = data.get("user_id")
            log.info("slack.identity bot_user_id=%s team_id=%s", self.user_id, self.team_id)
        except Exception as exc:
            with self._lock:
                self._failures += 1
                wait = min(self.backoff * 2 ** (self._failures - 1), self.max_backoff)
                self._next_try = self.monotonic() + wait
            log.warning("slack.identity_unknown error=%s retry_in_s=%.0f", type(exc).__name__, wait)
        finally:
            with self._lock:
                self._busy = False


class SettingsAuthorize(Authorize):
    """Bolt authorization from settings: the bot token, and whatever `BotIdentity` knows.
    No network call on the request path (single workspace: the signature already proved
    the request is Slack's)."""

    def __init__(self, token: str, identity: BotIdentity) -> None:
        self.token = token
        self.identity = identity

    def __call__(self, *, context, enterprise_id, team_id, user_id, **_: Any) -> AuthorizeResult:
        self.identity.learn_soon()
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id or self.identity.team_id,
                               bot_token=self.token, bot_user_id=self.identity.user_id,
                               bot_id=self.identity.bot_id, user_id=user_id)


@dataclass
class SlackServices:
    """What handlers reach through `context["services"]`."""

    decide: DecideService
    gateway: SlackGateway
    views: CaseViews
    lookup: OrderLookup
    playbook: PlaybookService
    digest: DigestService
    home: HomeService
    # Claude's playbook proposals in decided cases' threads (Save / Ignore).
    proposals: Any = None
    # After-ack work: few threads, and each task yields to requests in flight (see
    # bot.priority) so a burst of clicks is acked before the work it causes runs.
    background: ThreadPoolExecutor = field(
        default_factory=lambda: YieldingExecutor(InFlight(), max_workers=2, name="slack-work")
    )
    clicks: ClickService | None = None  # decides a Click after the ack
    # Takes a Click before the ack. Default: decide it on `background`. A host that must
    # not lose a click after its 200 sets one that persists it (one insert) and has a
    # worker run `clicks.handle(Click.from_payload(payload))`.
    submit_click: Callable[[Click], None] | None = None
    identity: BotIdentity | None = None
    # Carries out a follow-up decision at receipt (LifecycleService.decide_followup).
    decide_followup: Callable | None = None
    # A moment's follow-up tasks: Done / Snooze / Reassign, /followups (bot.services.moments.FollowTasks).
    tasks: Any = None
    simulator: Any = None  # bot.services.policy_sim.PolicySimulator: /policy simulate

    def __post_init__(self) -> None:
        if self.clicks is None:
            self.clicks = ClickService(decide=self.decide, gateway=self.gateway,
                                       followups=Followups(decide=self.decide, decide_followup=self.decide_followup))
        if self.submit_click is None:
            self.submit_click = self.run_click_in_background
        if self.identity is None:
            self.identity = BotIdentity(self.gateway.auth_test)

    def run_click_in_background(self, click: Click) -> None:
        self.background.submit(self.clicks.handle, click)


class _InjectServices(Middleware):
    """Puts the services in every request's context. A Middleware subclass, not a function:
    Bolt calls it directly instead of inspecting and injecting its arguments per request."""

    def __init__(self, services: SlackServices, key) -> None:
        self.services = services
        self.key = key

    def process(self, *, req, resp, next):  # noqa: A002 - Bolt's parameter name
        req.context[SERVICES_KEY] = self.services
        req.context[MODAL_KEY] = self.key
        return next()


def web_client(settings: Settings) -> WebClient:
    return WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=str(settings.slack_api_url),
        timeout=10,
    )


def build_app(settings: Settings, services: SlackServices, client: WebClient) -> App:
    bolt_fixes.apply()
    signing_secret = settings.slack_signing_secret.get_secret_value()
    key = modal_key(signing_secret)
    app = App(
        signing_secret=signing_secret,
        # The token reaches each request through `authorize`; this client only gives Bolt
        # its base URL and timeout (with a token too, Bolt warns that it is unused).
        client=WebClient(base_url=client.base_url, timeout=client.timeout, logger=client.logger),
        authorize=SettingsAuthorize(settings.slack_bot_token.get_secret_value(), services.identity),
        before_authorize=bolt_fixes.RefuseMalformed(),  # after the signature check
        process_before_response=True,  # acks are explicit and first; work runs after (submit_click, after_ack)
        logger=logging.getLogger("slack_bolt"),
    )

    app.use(_InjectServices(services, key))

    actions.register(app, refused=(DecisionRefused,))
    followup.register(app, refused=(DecisionRefused,))
    order.register(app)
    playbook.register(app)
    policy.register(app)
    home.register(app)
    tasks.register(app)
    app.error(on_error)
    return app
