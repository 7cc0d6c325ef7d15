"""Slack: the outbound gateway (every Web API call the bot makes goes through it)."""

from integrations.slack.gateway import (
    SlackError,
    SlackGateway,
    SlackGatewayError,
    SlackRateLimited,
    SlackUnavailable,
)

__all__ = ["SlackError", "SlackGateway", "SlackGatewayError", "SlackRateLimited", "SlackUnavailable"]
