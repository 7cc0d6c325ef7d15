"""What the Slack handlers need from the application, reached through Bolt's context
(`context["services"]`, set once by the app factory) so handlers never import the wiring."""

from __future__ import annotations

from typing import Any, Protocol

SERVICES_KEY = "services"


class Services(Protocol):
    decide: Any  # bot.services.decide.DecideService
    gateway: Any  # integrations.slack.gateway.SlackGateway

    def case_view(self, case_id: int) -> Any:
        """blocks.views.CaseView for a case (modals render from it)."""
        ...


def services(context: dict) -> Services:
    return context[SERVICES_KEY]
