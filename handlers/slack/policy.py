"""`/policy simulate …`: the policy simulator for approvers, answered privately.

Acked at once; the approver check (the one /playbook's retire uses: named in a tier, or in a
user group named there) and the replay run after the ack, and the summary goes back
through the command's response_url (chat.postEphemeral if that fails). What can be
simulated: bot/services/policy_sim.py.
"""

from __future__ import annotations

import logging

import httpx
from slack_bolt import Ack, App
from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

from blocks.simulate import render_slack
from handlers.slack.errors import correlation_id
from handlers.slack.order import RESPONSE_URL_TIMEOUT, respond
from handlers.slack.playbook import is_approver
from handlers.slack.services import services

log = logging.getLogger(__name__)

COMMAND = "/policy"
USAGE = ("`/policy simulate returns.window_days=45` tries the running policy with one key changed; "
         "`/policy simulate` tries the newest .toml policy file you shared here (or give a link to the file). "
         "Only you see the answer; nothing is changed.")
NOT_APPROVER = ("Only approvers can simulate policy changes: people named in `[[approval_tiers]]`, "
                "or in a user group named there.")


def register(app: App) -> None:
    http = httpx.Client(timeout=RESPONSE_URL_TIMEOUT, follow_redirects=False)

    @app.command(COMMAND)
    def on_policy(ack: Ack, command: dict, context: dict) -> None:
        ack()
        svc = services(context)
        text, user, channel = (command.get("text") or "").strip(), command.get("user_id"), command.get("channel_id")
        response_url = command.get("response_url")

        def run() -> None:
            payload = answer(svc, text, user=user, channel=channel)
            respond(svc, http, payload, channel=channel, user=user, response_url=response_url)

        svc.background.submit(run)


def answer(svc, text: str, *, user: str | None, channel: str | None) -> dict:
    """The private reply to `/policy <text>`."""
    from bot.services.policy_sim import SimulateError, SimulationRefused
    from integrations.slack.gateway import SlackGatewayError
    from policy.config import PolicyError

    verb, _, rest = text.partition(" ")
    if verb.lower() != "simulate":
        return _said(USAGE)
    if not user or not is_approver(svc.decide, user):
        log.info("policy.simulate_refused user=%s", user)
        return _said(NOT_APPROVER)
    try:
        sim, title = svc.simulator.simulate(rest, channel=channel, user=user)
    except PolicyError as exc:
        return _said("That policy can't be used, nothing was simulated:\n```" + _plain(str(exc))[:2800] + "```")
    except (SimulationRefused, SimulateError) as exc:
        return _said(_plain(str(exc)))
    except SlackGatewayError as exc:
        log.warning("policy.simulate_file_failed user=%s error=%s", user, exc)
        needed = getattr(exc, "needed", None) or getattr(exc, "error", None)
        return _said(f"Slack would not give returnsbot the file ({needed or exc}). Nothing was simulated.")
    except Exception:
        ref = correlation_id()
        log.exception("policy.simulate_failed ref=%s user=%s", ref, user)
        return _said(f"Something went wrong on our side and nothing was simulated. Reference: `{ref}`.")
    log.info("policy.simulated user=%s cases=%d changed=%d", user, sim.cases, sim.changed)
    return render_slack(sim, title=title)


def _plain(text: str) -> str:
    """Text from a policy file (keys, values) inside mrkdwn: no links, no mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _said(text: str) -> dict:
    return {"text": text, "blocks": [SectionBlock(text=MarkdownTextObject(text=text[:3000])).to_dict()]}
