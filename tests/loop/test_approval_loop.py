"""Signed Slack requests against the running app; FakeSlack records what Slack was told."""

from __future__ import annotations

import json
import threading

import pytest

from blocks.ids import ActionId, BlockId, CallbackId, OptionValue
from policy.models import CaseStatus
from tests.fakes import slack_requests as sr
from tests.fakes.slack import FakeSlack
from tests.loop.harness import (
    ESCALATION, REVIEW, SIGNING_SECRET, T1, T2A, T2B, T3, action_ids, card_text, loop, wait_for,
)


def store_calls(lp, method: str, target: str | None = None):
    """Every call the store received for `method`: replays and failures count too, so an
    exactly-once assertion fails if a row is executed twice, even idempotently."""
    return [c for c in lp.store.calls if c.method == method and (target is None or c.target_id == target)]


def test_case_card_is_posted_to_the_owner_channel_with_buttons(database_url):
    with loop(database_url) as lp:
        case = lp.open_case("#1034")  # Marcus, VIP by spend, $549 refund: tier 2
        [post] = lp.slack.calls_to("chat.postMessage")
        assert post.params["channel"] == REVIEW
        card = lp.last_card(case)
        text = card_text(card)
        assert "Return request" in text and "#1034" in text and "$549.00" in text
        assert "Marcus Webb" in text and "Tier 2" in text
        assert action_ids(card) == [ActionId.CASE_APPROVE, ActionId.CASE_DENY, ActionId.CASE_ESCALATE]
        assert "Approve refund $549.00" in text
        assert card["text"]  # notification fallback


def test_approve_runs_the_refund_once_and_the_card_says_who_and_what(database_url):
    with loop(database_url) as lp:
        case = lp.open_case("#1034")
        resp = lp.click(case, ActionId.CASE_APPROVE, T2A)
        assert resp.status_code == 200
        done = wait_for(lambda: (k := lp.c.cases.get(case.id)).status is CaseStatus.DONE and k, what="execution")
        lp.settle(case.id)
        assert len(store_calls(lp, "approve_return", case.external_id)) == 1
        assert len(store_calls(lp, "refund_return", case.external_id)) == 1
        card = lp.last_card(done)
        assert action_ids(card) == []
        text = card_text(card)
        assert f"<@{T2A}>" in text and "refund $549.00 issued" in text
        assert lp.c.store.get_return(case.external_id).status.value == "APPROVED"
        events = [a["event"] for a in lp.c.cases.audit(case.id)]
        assert events == ["case.opened", "case.approved", "case.executing", "case.executed"]


def test_unauthorised_click_is_explained_privately_and_changes_nothing(database_url):
    with loop(database_url) as lp:
        case = lp.open_case("#1034")  # tier 2; U1 is tier 1 only
        assert lp.click(case, ActionId.CASE_APPROVE, T1).status_code == 200
        [msg] = wait_for(lambda: lp.ephemerals_to(T1), what="the ephemeral")
        assert "needs tier 2" in msg and "<!subteam^S0TIER2>" in msg
        after = lp.c.cases.get(case.id)
        assert after.status is CaseStatus.OPEN and after.version == case.version
        assert store_calls(lp, "approve_return") == []
        assert lp.c.cases.audit(case.id)[-1]["event"] == "case.refused"


def test_click_on_a_decided_case_says_who_decided(database_url):
    with loop(database_url) as lp:
        case = lp.open_case("#1034")
        lp.click(case, ActionId.CASE_APPROVE, T2A)
        lp.settle(wait_for(lambda: lp.c.cases.get(case.id).status is CaseStatus.DONE, what="done") and case.id)
        lp.click(case, ActionId.CASE_APPROVE, T2B)  # the stale card, clicked by a colleague
        [msg] = wait_for(lambda: lp.ephemerals_to(T2B), what="the ephemeral")
        assert msg.startswith(f"This case changed since your card showed it: approved by <@{T2A}>")
        assert len(store_calls(lp, "refund_return")) == 1


def test_thirty_concurrent_clicks_execute_once(database_url):
    with loop(database_url) as lp:
        case = lp.open_case("#1034")
        barrier = threading.Barrier(30)
        codes = []

        def click(i: int) -> None:
            barrier.wait()
            codes.append(lp.click(case, ActionId.CASE_APPROVE, T2A if i % 2 else T2B).status_code)

        threads = [threading.Thread(target=click, args=(i,)) for i in range(30)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert codes == [200] * 30
        wait_for(lambda: lp.c.cases.get(case.id).status is CaseStatus.DONE, what="execution")
        wait_for(lambda: len(lp.slack.calls_to("chat.postEphemeral")) == 29, what="29 refusals")
        lp.settle(case.id)
        assert len(store_calls(lp, "approve_return")) == 1
        assert len(store_calls(lp, "refund_return")) == 1
        assert len(lp.c.cases.decisions(case.id)) == 1
        assert len(lp.c.outbox.for_case(case.id)) == 2


def test_deny_opens_a_modal_and_the_submission_declines_in_the_store(database_url):
    with loop(database_url) as lp:
        case = lp.open_case("#1045")  # Ben's final-sale item: recommended deny, tier 1
        assert lp.click(case, ActionId.CASE_DENY, T1).status_code == 200
        [opened] = lp.slack.calls_to("views.open")
        view = opened.params["view"]
        assert view["callback_id"] == CallbackId.DENY_MODAL
        state = {
            BlockId.DENY_REASON: {ActionId.DENY_REASON: {"type": "static_select",
                                                         "selected_option": {"value": "FINAL_SALE"}}},
            BlockId.DENY_CUSTOMER_MESSAGE: {ActionId.DENY_CUSTOMER_MESSAGE: {"type": "plain_text_input",
                                                                             "value": "Final-sale items can't be returned."}},
            BlockId.DENY_NOTIFY: {ActionId.DENY_NOTIFY: {"type": "checkboxes",
                                                         "selected_options": [{"value": OptionValue.NOTIFY_CUSTOMER}]}},
            BlockId.DENY_INTERNAL_NOTE: {ActionId.DENY_INTERNAL_NOTE: {"type": "plain_text_input", "value": "Policy."}},
        }
        resp = lp.submit(CallbackId.DENY_MODAL, case, state, T1)
        assert resp.status_code == 200 and b"response_action" not in resp.content
        wait_for(lambda: lp.c.cases.get(case.id).status is CaseStatus.DONE, what="decline")
        done = lp.settle(case.id)
        [call] = store_calls(lp, "decline_return", case.external_id)
        assert call.params["reason"] == "FINAL_SALE" and call.params["notify_customer"] is True
        assert lp.store.get_return(case.external_id).status.value == "DECLINED"
        text = card_text(lp.last_card(done))
        assert f"<@{T1}>" in text and action_ids(lp.last_card(done)) == []


def test_deny_modal_errors_are_shown_in_the_modal(database_url):
    with loop(database_url) as lp:
        case = lp.open_case("#1045")
        lp.click(case, ActionId.CASE_DENY, T1)
        state = {
            BlockId.DENY_REASON: {ActionId.DENY_REASON: {"type": "static_select",
                                                         "selected_option": {"value": "FINAL_SALE"}}},
            BlockId.DENY_CUSTOMER_MESSAGE: {ActionId.DENY_CUSTOMER_MESSAGE: {"type": "plain_text_input",
                                                                             "value": "x" * 501}},
            BlockId.DENY_NOTIFY: {ActionId.DENY_NOTIFY: {"type": "checkboxes", "selected_options": [
                {"value": OptionValue.NOTIFY_CUSTOMER}]}},
        }
        resp = lp.submit(CallbackId.DENY_MODAL, case, state, T1)
        assert resp.status_code == 200
        body = resp.json()
        assert body["response_action"] == "errors" and BlockId.DENY_CUSTOMER_MESSAGE in body["errors"]
        assert lp.c.cases.get(case.id).status is CaseStatus.OPEN


def test_escalate_moves_the_case_to_the_next_tier(database_url):
    with loop(database_url) as lp:
        case = lp.open_case("#1034")  # tier 2
        lp.click(case, ActionId.CASE_ESCALATE, T2A)
        [opened] = lp.slack.calls_to("views.open")
        assert opened.params["view"]["callback_id"] == CallbackId.ESCALATE_MODAL
        state = {BlockId.ESCALATE_NOTE: {ActionId.ESCALATE_NOTE: {"type": "plain_text_input",
                                                                   "value": "VIP but 3rd jacket this year"}}}
        assert lp.submit(CallbackId.ESCALATE_MODAL, case, state, T2A).status_code == 200
        esc = wait_for(lambda: (k := lp.c.cases.get(case.id)).escalation_ts and k.card_version == k.version and k,
                       what="the escalation card")
        assert esc.status is CaseStatus.ESCALATED
        [esc_post] = [c for c in lp.slack.calls_to("chat.postMessage") if c.params["channel"] == ESCALATION]
        thread = [c for c in lp.slack.calls_to("chat.postMessage") if c.params.get("thread_ts") == case.slack_ts]
        assert len(thread) == 1 and f"Escalated by <@{T2A}>" in thread[0].params["text"]
        assert action_ids(lp.last_card(esc)) == []  # the owner card points to the escalation card
        esc_card = lp.slack.message(ESCALATION, esc.escalation_ts)
        assert ActionId.CASE_APPROVE in action_ids(esc_card)
        # Tier 2 can no longer decide it; tier 3 can.
        lp.click(esc, ActionId.CASE_APPROVE, T2B, channel=ESCALATION)
        [msg] = wait_for(lambda: lp.ephemerals_to(T2B), what="the refusal")
        assert "tier 3" in msg
        lp.click(esc, ActionId.CASE_APPROVE, T3, channel=ESCALATION)
        wait_for(lambda: lp.c.cases.get(case.id).status is CaseStatus.DONE, what="execution")
        done = lp.settle(case.id)
        assert len(store_calls(lp, "refund_return")) == 1
        assert f"<@{T3}>" in card_text(lp.slack.message(ESCALATION, done.escalation_ts))


def test_injection_in_customer_notes_is_escaped_on_the_card(database_url):
    with loop(database_url) as lp:
        case = lp.open_case("#1040")  # Kevin's note carries <!channel> and &
        raw = json.dumps(lp.last_card(case))
        assert "<!channel>" not in raw and "<!here>" not in raw and "<!everyone>" not in raw
        assert "&lt;!channel&gt;" in raw


def test_auto_approved_case_gets_an_fyi_card_without_buttons(database_url):
    with loop(database_url) as lp:
        event = next(e for e in lp.store.events() if e.kind.value == "return_requested"
                     and e.order_id == lp.store.find_orders("#1044")[0].id)
        case = lp.c.ingest.ingest(event).case
        wait_for(lambda: lp.c.cases.get(case.id).status is CaseStatus.DONE, what="auto-approval")
        done = lp.settle(case.id)
        card = lp.last_card(done)
        assert action_ids(card) == []
        assert "Auto-approved" in card_text(card) and "refund $52.00 issued" in card_text(card)
        posts = lp.slack.calls_to("chat.postMessage")
        # One card; the thread may carry the return's stage line (issue 9), never a second card.
        assert len([p for p in posts if not p.params.get("thread_ts")]) == 1
        assert all(p.params.get("thread_ts") == done.slack_ts for p in posts if p.params.get("thread_ts"))


@pytest.mark.parametrize("status", [429, 500])
def test_slack_failing_still_delivers_the_card_exactly_once(database_url, status):
    with loop(database_url) as lp:
        lp.slack.fail_next("chat.postMessage", status=status, retry_after=1, times=2)
        case = lp.open_case("#1039")
        ok_posts = [c for c in lp.slack.calls_to("chat.postMessage")]
        assert len(lp.slack.messages(REVIEW)) == 1
        assert len(ok_posts) == 3  # two failures, then the one that landed
        assert lp.c.cases.get(case.id).slack_ts is not None
        # The gateway's waits are recorded, not slept: Retry-After twice, or two backoffs.
        assert len(lp.slack_waits) == 2 and all(0.25 <= w <= 1.0 for w in lp.slack_waits)


def test_forged_or_stale_slack_requests_are_rejected(database_url):
    import time

    with loop(database_url) as lp:
        case = lp.open_case("#1034")
        body, ctype = sr.block_action(lp.card_value(case), ActionId.CASE_APPROVE, user_id=T2A)
        assert sr.post(lp.url, body, ctype, "wrong-secret").status_code == 401
        assert sr.post(lp.url, body, ctype, SIGNING_SECRET, timestamp=int(time.time()) - 600).status_code == 401
        assert lp.c.cases.get(case.id).status is CaseStatus.OPEN


def test_crash_between_decision_and_execution_executes_once_after_restart(database_url):
    with FakeSlack() as slack:
        with loop(database_url, slack=slack) as lp:
            case = lp.open_case("#1034")
            store = lp.store
            # The process dies right after the decision commits, before the outbox runs.
            lp.server.lane_workers["actions"].stop()
            lp.click(case, ActionId.CASE_APPROVE, T2A)
            wait_for(lambda: lp.c.cases.get(case.id).status is CaseStatus.APPROVED, what="the decision")
            assert store_calls(lp, "refund_return") == []
        with loop(database_url, slack=slack, store=store) as restarted:
            wait_for(lambda: restarted.c.cases.get(case.id).status is CaseStatus.DONE, what="execution after restart")
            restarted.settle(case.id)
            assert len(store_calls(restarted, "approve_return")) == 1
            assert len(store_calls(restarted, "refund_return")) == 1
            cards = [m for m in slack.messages(REVIEW) if m.get("thread_ts") in (None, m.get("ts"))]  # not stage lines
            assert len(cards) == 1  # the same card, updated


def test_failed_execution_shows_the_error_and_retry_runs_it(database_url):
    from policy.ports import IntegrationError

    with loop(database_url) as lp:
        case = lp.open_case("#1034")
        real_refund = lp.store.refund_return
        attempts = []

        def refund_declined_once(*args, **kwargs):
            attempts.append(1)
            if len(attempts) == 1:
                raise IntegrationError("card declined by the payment gateway", retryable=False, system="sample")
            return real_refund(*args, **kwargs)

        lp.store.refund_return = refund_declined_once
        lp.click(case, ActionId.CASE_APPROVE, T2A)
        wait_for(lambda: lp.c.cases.get(case.id).status is CaseStatus.FAILED, what="the failure")
        failed = lp.settle(case.id)
        card = lp.last_card(failed)
        assert action_ids(card) == [ActionId.CASE_RETRY]
        assert "card declined by the payment gateway" in card_text(card)
        lp.click(failed, ActionId.CASE_RETRY, T2A)
        wait_for(lambda: lp.c.cases.get(case.id).status is CaseStatus.DONE, what="the retry")
        done = lp.settle(case.id)
        assert len(store_calls(lp, "approve_return")) == 1  # the approval is not repeated
        assert len(attempts) == 2
        assert "refund $549.00 issued" in card_text(lp.last_card(done))


def test_an_unexpected_error_tells_the_clicker_a_reference_that_is_in_the_log(database_url, caplog):
    with loop(database_url) as lp:
        case = lp.open_case("#1034")

        def broken(*args, **kwargs):
            raise RuntimeError("database exploded")

        lp.c.decide.approve = broken
        lp.click(case, ActionId.CASE_APPROVE, T2A)
        [msg] = wait_for(lambda: lp.ephemerals_to(T2A), what="the apology")
        assert "nothing was changed" in msg and "Reference: `" in msg
        ref = msg.split("`")[1]
        assert any(ref in r.getMessage() for r in caplog.records if r.levelname == "ERROR")
        assert lp.c.cases.get(case.id).status is CaseStatus.OPEN


def test_a_tampered_button_value_is_refused_politely(database_url):
    from tests.fakes import slack_requests as sr

    with loop(database_url) as lp:
        case = lp.open_case("#1034")
        body, ctype = sr.block_action("v1:case:not-a-number:1", ActionId.CASE_APPROVE, user_id=T2A,
                                      channel=REVIEW, message_ts=case.slack_ts)
        assert sr.post(lp.url, body, ctype, SIGNING_SECRET).status_code == 200
        [msg] = wait_for(lambda: lp.ephemerals_to(T2A), what="the refusal")
        assert "Reference" not in msg
        assert lp.c.cases.get(case.id).status is CaseStatus.OPEN


def test_a_click_at_a_cold_start_while_slack_rate_limits_auth_test_is_acked_and_decided(database_url):
    with FakeSlack() as slack:
        slack.fail_next("auth.test", status=429, retry_after=1, times=1000)
        with loop(database_url, slack=slack) as lp:
            case = lp.open_case("#1034")
            resp = lp.click(case, ActionId.CASE_APPROVE, T2A)
            assert resp.status_code == 200 and resp.content == b""  # not "We apologize, but…"
            wait_for(lambda: lp.c.cases.get(case.id).status is CaseStatus.DONE, what="execution")
            lp.settle(case.id)
            assert len(store_calls(lp, "refund_return")) == 1
