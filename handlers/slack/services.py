"""What the Slack handlers need from the application, reached through Bolt's context
(`context["services"]`, set once by the app factory) so handlers never import the wiring."""

from __future__ import annotations

from typing import Any, Protocol

SERVICES_KEY = "services"


class Services(Protocol):
    decide: Any  # bot.services.decide.DecideService
    gateway: Any  # integrations.slack.gateway.SlackGateway
    views: Any  # bot.services.card_view.CaseViews
    background: Any  # concurrent.futures.Executor: work that runs after the ack
    lookup: Any  # bot.services.lookup.OrderLookup
    playbook: Any  # bot.services.playbook.PlaybookService
    digest: Any  # bot.services.digest.DigestService
    home: Any  # bot.services.home.HomeService


def services(context: dict) -> Services:
    return context[SERVICES_KEY]
