"""The approver's helpdesk agent from their Slack email (users.info, scopes users:read and
users:read.email): without the scope, or without an email, the default agent
(RETURNSBOT_HELPDESK_AGENT_EMAIL) sends and the card says why."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient

from integrations.helpdesk import ticket_event
from integrations.slack.gateway import SlackGateway
from policy.models import AuthorKind, CaseStatus
from tests.fakes.slack import FakeSlack
from tests.loop.harness import T1, card_text, loop, wait_for
from tests.tickets.test_ticket_loop import _card, _setup, _ticket


@pytest.fixture
def slack():
    with FakeSlack() as fake:
        yield fake, SlackGateway(WebClient(token=fake.token, base_url=fake.base_url, timeout=5),
                                 min_interval_per_channel=0.0, sleep=lambda s: None)


def test_email_of_says_why_there_is_no_email(slack):
    fake, gateway = slack
    fake.users["U0HASMAIL1"] = {"email": "Support@Ridgeline.example"}
    assert gateway.email_of("U0HASMAIL1") == ("support@ridgeline.example", None)
    fake.error_next("users.info", "missing_scope", needed="users:read", provided="chat:write,commands")
    email, why = gateway.email_of("U0HASMAIL1")
    assert email is None and "lacks the users:read scope" in why
    fake.users["U0NOMAIL01"] = {"profile": {"email": None}}  # users:read without users:read.email
    email, why = gateway.email_of("U0NOMAIL01")
    assert email is None and "users:read.email" in why
    assert gateway.email_of("U0NOMAIL01")[0] is None and gateway.email_of("U0HASMAIL1")[0] == "support@ridgeline.example"


@pytest.mark.usefixtures("database_url")
def test_a_missing_scope_sends_as_the_default_agent_and_the_card_says_why(database_url):
    store, helpdesk, connector = _setup()
    with loop(database_url, store=store, connectors=(connector,)) as lp:
        lp.slack.users[T1] = {"email": "support@ridgeline.example"}  # an agent, if Slack would say so
        lp.slack.error_next("users.info", "missing_scope", needed="users:read.email")
        lp.c.decide.tickets.default_agent_email = "returnsbot@ridgeline.example"
        ticket_id = _ticket(lp, helpdesk)
        lp.c.ingest.ingest(ticket_event(helpdesk.get_ticket(ticket_id)))
        case = _card(lp, helpdesk.name, ticket_id)
        assert lp.click(case, "ticket-send", T1).status_code == 200
        done = wait_for(lambda: (c := lp.c.cases.get(case.id)).status is CaseStatus.DONE and c, what="the send")
        lp.settle(done.id)
        [reply] = [m for m in helpdesk.get_ticket(ticket_id).messages if m.author is AuthorKind.AGENT]
        assert reply.author_name == "sample-agent-bot"  # the default agent, not T1's
        card = card_text(lp.last_card(done))
        assert "the default agent returnsbot@ridgeline.example" in card
        assert "lacks the users:read.email scope" in card
