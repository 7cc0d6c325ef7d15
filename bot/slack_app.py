"""The Bolt app: built once by the container, served at POST /slack/events (or over
Socket Mode when SLACK_APP_TOKEN is set)."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from slack_bolt import App
from slack_sdk import WebClient

from bot import bolt_fixes
from bot.priority import InFlight, YieldingExecutor
from bot.services.card_view import CaseViews
from bot.services.digest import DigestService
from bot.services.home import HomeService
from bot.services.lookup import OrderLookup
from bot.services.playbook import PlaybookService
from bot.services.decide import DecideService, DecisionRefused
from bot.settings import Settings
from handlers.slack import actions, home, order, playbook
from handlers.slack.errors import on_error
from handlers.slack.services import SERVICES_KEY
from integrations.slack.gateway import SlackGateway

log = logging.getLogger(__name__)


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
    # After-ack work: few threads, and each task yields to requests in flight (see
    # bot.priority) so a burst of clicks is acked before the work it causes runs.
    background: ThreadPoolExecutor = field(
        default_factory=lambda: YieldingExecutor(InFlight(), max_workers=2, name="slack-work")
    )


def web_client(settings: Settings) -> WebClient:
    return WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=str(settings.slack_api_url),
        timeout=10,
    )


def build_app(settings: Settings, services: SlackServices, client: WebClient) -> App:
    bolt_fixes.apply()
    app = App(
        token=settings.slack_bot_token.get_secret_value(),
        signing_secret=settings.slack_signing_secret.get_secret_value(),
        client=client,
        process_before_response=True,  # acks are explicit and first; work runs after (after_ack)
        token_verification_enabled=False,  # no auth.test at start-up: `returnsbot check` does it
        logger=logging.getLogger("slack_bolt"),
    )

    @app.middleware
    def inject_services(context, next):  # noqa: A002 - Bolt's parameter name
        context[SERVICES_KEY] = services
        next()

    actions.register(app, refused=(DecisionRefused,))
    order.register(app)
    playbook.register(app)
    home.register(app)
    app.error(on_error)
    return app
