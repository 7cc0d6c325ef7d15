"""What the Slack handlers need from the application, reached through Bolt's context
(`context["services"]`, set once by the app factory) so handlers never import the wiring."""

from __future__ import annotations

from typing import Any, Callable, Protocol

SERVICES_KEY = "services"
MODAL_KEY = "returnsbot_modal_key"  # bytes: signs modal references (blocks.refs.modal_key)


class Services(Protocol):
    decide: Any  # bot.services.decide.DecideService
    gateway: Any  # integrations.slack.gateway.SlackGateway
    views: Any  # bot.services.card_view.CaseViews
    background: Any  # concurrent.futures.Executor: work that runs after the ack
    lookup: Any  # bot.services.lookup.OrderLookup
    playbook: Any  # bot.services.playbook.PlaybookService
    digest: Any  # bot.services.digest.DigestService
    home: Any  # bot.services.home.HomeService
    # Takes a bot.services.clicks.Click before the ack; it is decided after (ClickService.handle).
    submit_click: Callable[[Any], None]


def services(context: dict) -> Services:
    return context[SERVICES_KEY]


def modal_key(context: dict) -> bytes:
    return context[MODAL_KEY]
