"""Playbook proposals end to end: a decided case whose thread has notes gets one proposal
from Claude (FakeAnthropic, every request counted) in its card's thread; Save stores the
entry once however often it is clicked; Ignore removes the buttons; no notes, no key or a
failing Claude → no proposal and nothing else changes."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from blocks.ids import ActionId, PlaybookId
from blocks.playbook_proposal import proposal_ref
from bot.jobs.kinds import Kind
from bot.llm.client import Claude
from bot.llm.playbook import TOOL_NAME
from bot.schema import jobs as jobs_table, playbook_entries, playbook_proposals
from policy.models import CaseStatus
from tests.fakes import slack_requests as sr
from tests.fakes.anthropic import FakeAnthropic, failure, tool_use
from tests.loop import harness
from tests.loop.harness import REVIEW, SIGNING_SECRET, T1, T2A, T2B, action_ids, wait_for
from tests.playbook.test_loop import loop

pytestmark = pytest.mark.usefixtures("database_url")

LESSON = {"lesson": True, "when": "A VIP returns a worn item outside the window",
          "do": "Offer store credit instead of a refund", "because": "It keeps the customer and the margin"}
ENTRY = ("When a VIP returns a worn item outside the window, offer store credit instead of a refund, "
         "because it keeps the customer and the margin.")


def _claude(fake: FakeAnthropic) -> Claude:
    return Claude(api_key=fake.api_key, classify_model="claude-haiku-5-5", draft_model="claude-sonnet-5-5",
                  base_url=fake.base_url, timeout=5, retry_seconds=0.1, sleep=lambda s: None)


def _note(lp, case, text: str, ts: str, user: str = T1) -> None:
    event = sr.message_event(text, user=user, ts=ts, thread_ts=case.slack_ts, channel=case.slack_channel)
    body, ctype = sr.event_callback(event, f"Ev{ts.replace('.', '')}")
    assert sr.post(lp.url, body, ctype, SIGNING_SECRET).status_code == 200
    wait_for(lambda: lp.c.playbook.note(case.slack_channel, ts), what="the note")


def _proposal_posts(lp, case) -> list:
    return [c for c in lp.slack.calls_to("chat.postMessage")
            if c.params.get("thread_ts") == case.slack_ts and PlaybookId.PROPOSAL_SAVE in json.dumps(c.params)]


def _posted_proposal(lp, case):
    """The case's one proposal once its message's ts is saved (Slack answers the post a
    moment before the row records where it went)."""
    return wait_for(lambda: (ps := lp.c.proposals.for_case(case.id)) and ps[0].ts and ps[0],
                    what="the proposal's message saved")


def _click(lp, proposal_id: int, action_id: str, user: str, ts: str):
    body, ctype = sr.block_action(proposal_ref(proposal_id), action_id, user_id=user, channel=REVIEW,
                                  message_ts=ts, block_id="playbook-proposal", button_text="Save to playbook")
    resp = sr.post(lp.url, body, ctype, SIGNING_SECRET)
    assert resp.status_code == 200, resp.text
    return resp


def _count(lp, table, *where) -> int:
    with lp.c.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar()


def _proposal_jobs(lp) -> int:
    return _count(lp, jobs_table, jobs_table.c.kind == Kind.PROPOSAL.value)


def _approved(lp, case):
    assert lp.click(case, ActionId.CASE_APPROVE, T2A).status_code == 200
    wait_for(lambda: lp.c.cases.get(case.id).status is not CaseStatus.OPEN, what="the decision")
    return lp.settle(case.id)


def _idle(lp) -> None:
    """Every job due is finished (the proposal lane included)."""
    wait_for(lambda: _count(lp, jobs_table, jobs_table.c.status.in_(("pending", "running"))) == 0,
             what="idle workers")


def test_one_proposal_per_decided_case_with_notes_saved_once_on_a_double_click(database_url):
    fake = FakeAnthropic()
    with fake.serve(), loop(database_url) as lp:
        lp.c.proposals.claude = _claude(fake)
        case = lp.open_case("#1034")  # return request: high_value, vip_customer; tier 2
        customer = lp.store.get_customer(lp.store.find_orders("#1034")[0].customer_id)
        _note(lp, case, f"{customer.display_name} ({customer.email}) wore it once, VIP: store credit, not cash",
              "1700001000.000100")
        _note(lp, case, "Agreed, we do that for VIPs outside the window", "1700001001.000100", user=T2B)
        fake.script += [tool_use(LESSON)]
        _approved(lp, case)

        [post] = wait_for(lambda: _proposal_posts(lp, case), what="the proposal in the thread")
        assert ENTRY in json.dumps(post.params) and post.params["channel"] == case.slack_channel
        # One request, the notes as data, without the customer's name or email.
        [request] = fake.requests
        assert request.body["tool_choice"] == {"type": "tool", "name": TOOL_NAME}
        content = request.body["messages"][0]["content"]
        assert "<case_notes>" in content and "wore it once" in content
        assert customer.email not in content and customer.display_name not in content
        assert "#1034" not in content

        proposal = _posted_proposal(lp, case)
        assert len(lp.c.proposals.for_case(case.id)) == 1
        assert proposal.status == "proposed" and proposal.channel == case.slack_channel
        message = lp.slack.message(case.slack_channel, proposal.ts)
        assert action_ids(message) == [PlaybookId.PROPOSAL_SAVE, PlaybookId.PROPOSAL_IGNORE]

        _click(lp, proposal.id, PlaybookId.PROPOSAL_SAVE, T1, proposal.ts)
        _click(lp, proposal.id, PlaybookId.PROPOSAL_SAVE, T2B, proposal.ts)  # a colleague's click on the same message
        saved = wait_for(lambda: (p := lp.c.proposals.get(proposal.id)).status == "saved" and p, what="the save")
        wait_for(lambda: len([c for c in lp.slack.calls_to("chat.postEphemeral")
                              if c.params.get("user") in (T1, T2B)]) >= 2, what="both answers")
        assert _count(lp, playbook_entries) == 1
        entry = lp.c.playbook.get(saved.entry_id)
        # As the playbook saves any entry: the case's kind and signals, linked to the case.
        assert entry.text == ENTRY and entry.case_id == case.id and entry.kind is case.kind
        assert entry.signal_codes == case.signal_codes and entry.author == T1 and entry.promoted_by == T1
        assert lp.c.playbook.search("VIP store credit")[0].id == entry.id
        answers = [c.params["text"] for c in lp.slack.calls_to("chat.postEphemeral")]
        assert any(f"Saved to the playbook as #{entry.id}" in t for t in answers)
        assert any(f"saved as playbook entry #{entry.id} already" in t for t in answers)
        message = lp.slack.message(case.slack_channel, proposal.ts)
        assert action_ids(message) == [] and f"#{entry.id}" in json.dumps(message["blocks"])

        _idle(lp)
        assert len(fake.requests) == 1 and len(_proposal_posts(lp, case)) == 1 and _proposal_jobs(lp) == 1


def test_no_proposal_without_notes_and_none_without_a_key(database_url):
    fake = FakeAnthropic()
    with fake.serve(), loop(database_url) as lp:
        lp.c.proposals.claude = _claude(fake)
        quiet = lp.open_case("#1034")
        _approved(lp, quiet)
        _idle(lp)
        assert fake.requests == [] and _proposal_jobs(lp) == 0 and _count(lp, playbook_proposals) == 0

        lp.c.proposals.claude = None  # no ANTHROPIC_API_KEY
        noted = lp.open_case("#1039")
        _note(lp, noted, "Checked the photos, fine to refund", "1700002000.000100")
        _approved(lp, noted)
        _idle(lp)
        assert fake.requests == [] and _proposal_jobs(lp) == 0 and _count(lp, playbook_proposals) == 0
        assert not _proposal_posts(lp, noted)


def test_a_failing_claude_proposes_nothing_and_the_case_goes_on(database_url):
    fake = FakeAnthropic()
    with fake.serve(), loop(database_url) as lp:
        lp.c.proposals.claude = _claude(fake)
        fake.responder = lambda body: failure(529)
        case = lp.open_case("#1034")
        _note(lp, case, "VIP, store credit", "1700003000.000100")
        done = _approved(lp, case)
        _idle(lp)
        assert fake.requests and all(r.status == 529 for r in fake.requests)
        assert _count(lp, playbook_proposals) == 0 and not _proposal_posts(lp, case)
        assert _count(lp, jobs_table, jobs_table.c.kind == Kind.PROPOSAL.value, jobs_table.c.status == "done") == 1
        assert done.status is not CaseStatus.FAILED


def test_ignore_removes_the_buttons_and_a_later_save_stores_nothing(database_url):
    fake = FakeAnthropic()
    with fake.serve(), loop(database_url) as lp:
        lp.c.proposals.claude = _claude(fake)
        case = lp.open_case("#1034")
        _note(lp, case, "VIP, store credit instead", "1700004000.000100")
        fake.script += [tool_use(LESSON)]
        _approved(lp, case)
        wait_for(lambda: _proposal_posts(lp, case), what="the proposal")
        proposal = _posted_proposal(lp, case)
        _click(lp, proposal.id, PlaybookId.PROPOSAL_IGNORE, T1, proposal.ts)
        wait_for(lambda: action_ids(lp.slack.message(case.slack_channel, proposal.ts)) == [], what="buttons gone")
        assert lp.c.proposals.get(proposal.id).status == "ignored"
        _click(lp, proposal.id, PlaybookId.PROPOSAL_SAVE, T2B, proposal.ts)  # a stale copy of the message
        wait_for(lambda: any("ignored already" in c.params["text"] for c in lp.slack.calls_to("chat.postEphemeral")
                             if c.params.get("user") == T2B), what="the refusal")
        assert _count(lp, playbook_entries) == 0


def test_the_proposal_survives_a_slack_failure_without_asking_claude_again(database_url):
    from integrations.slack.gateway import SlackGatewayError

    fake = FakeAnthropic()
    with fake.serve(), harness.loop(database_url, start=False) as lp:  # no workers: drained here
        lp.c.proposals.claude = _claude(fake)
        event = next(e for e in lp.store.events() if e.order_id == lp.store.find_orders("#1034")[0].id
                     and e.kind.value == "return_requested")
        case = lp.c.ingest.ingest(event).case
        lp.c.drain()  # the card
        case = lp.c.cases.get(case.id)
        lp.c.playbook.record_reply(channel=case.slack_channel, ts="1700005000.000100", thread_ts=case.slack_ts,
                                   author=T1, text="VIP: store credit")
        fake.script += [tool_use(LESSON)]
        real_post = lp.c.gateway.post_message
        failures = []

        def flaky(channel, **kw):
            if kw.get("text", "").startswith("Playbook proposal") and not failures:
                failures.append(1)
                raise SlackGatewayError("Slack timed out")
            return real_post(channel, **kw)

        lp.c.gateway.post_message = flaky
        lp.c.decide.approve(case.id, T2A)
        lp.c.drain("cards", "learning")
        assert failures and _count(lp, playbook_proposals) == 1 and not _proposal_posts(lp, case)
        # The retry (after its backoff, as after a restart) posts what Claude said, once.
        with lp.c.engine.begin() as conn:
            conn.execute(jobs_table.update().where(jobs_table.c.kind == Kind.PROPOSAL.value)
                         .values(next_attempt_at=lp.c.clock()))
        lp.c.drain("learning")
        lp.c.drain("learning")
        assert len(_proposal_posts(lp, case)) == 1 and len(fake.requests) == 1 and _proposal_jobs(lp) == 1


def test_a_later_decision_proposes_again_only_from_notes_written_since(database_url):
    from bot.store.cases import Decision

    fake = FakeAnthropic()
    with fake.serve(), harness.loop(database_url, start=False) as lp:
        lp.c.proposals.claude = _claude(fake)
        event = next(e for e in lp.store.events() if e.order_id == lp.store.find_orders("#1034")[0].id
                     and e.kind.value == "return_requested")
        case = lp.c.ingest.ingest(event).case
        lp.c.drain()
        case = lp.c.cases.get(case.id)
        lp.c.playbook.record_reply(channel=case.slack_channel, ts="1700006000.000100", thread_ts=case.slack_ts,
                                   author=T1, text="VIP: store credit")
        fake.script += [tool_use(LESSON)] * 2
        lp.c.decide.approve(case.id, T2A)
        lp.c.drain()

        def decide_again():  # a second decision on the case (as a follow-up at receipt is)
            now = lp.c.cases.get(case.id)
            assert lp.c.cases.transition(case.id, expected=now.status, to=now.status, actor=T2A, at=lp.c.clock(),
                                         event="case.followup_decided",
                                         decision=Decision("followup", "refund", followed_recommendation=True)).ok
            lp.c.drain()

        decide_again()  # no note since the first proposal: no request, no second proposal
        assert len(fake.requests) == 1 and len(lp.c.proposals.for_case(case.id)) == 1
        lp.c.playbook.record_reply(channel=case.slack_channel, ts="1700006100.000100", thread_ts=case.slack_ts,
                                   author=T2B, text="And tell them the credit never expires")
        decide_again()
        assert len(fake.requests) == 2 and len(lp.c.proposals.for_case(case.id)) == 2
        second = fake.requests[1].body["messages"][0]["content"]
        assert "never expires" in second and "VIP: store credit" not in second
        assert len(_proposal_posts(lp, case)) == 2


def test_a_ticket_sent_with_notes_in_its_thread_gets_one_proposal(database_url):
    from integrations.helpdesk import ticket_event
    from tests.tickets.test_ticket_loop import _card, _setup, _ticket

    store, helpdesk, connector = _setup()
    fake = FakeAnthropic()
    with fake.serve(), harness.loop(database_url, store=store, connectors=(connector,)) as lp:
        lp.c.proposals.claude = _claude(fake)
        lp.slack.users[T1] = {"email": "support@ridgeline.example"}
        ticket_id = _ticket(lp, helpdesk)
        lp.c.ingest.ingest(ticket_event(helpdesk.get_ticket(ticket_id)))  # triaged by the rules: no key there
        case = _card(lp, helpdesk.name, ticket_id)
        _note(lp, case, "Sweaters that don't fit: offer the exchange first", "1700007000.000100")
        fake.script += [tool_use(LESSON)]
        assert lp.click(case, "ticket-send", T1).status_code == 200
        wait_for(lambda: _proposal_posts(lp, case), what="the proposal")
        _idle(lp)
        assert len(fake.requests) == 1 and len(_proposal_posts(lp, case)) == 1
        content = fake.requests[0].body["messages"][0]["content"]
        assert content.startswith("Case: Support ticket case") and "exchange first" in content
        assert helpdesk.get_ticket(ticket_id).requester_email not in content
        assert [p.status for p in lp.c.proposals.for_case(case.id)] == ["proposed"]
