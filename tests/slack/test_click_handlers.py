"""Case-card clicks and modal submissions, dispatched in-process (tests/slack/dispatch.py).

Every `dispatch` also checks the ack path: no Slack Web API call but `views.open` may
happen before the ack."""

from __future__ import annotations

import json
import logging

import pytest

from blocks.ids import ActionId, BlockId, CallbackId, OptionValue
from blocks.refs import CaseRef
from policy.models import CaseStatus
from tests.fakes import slack_requests as sr
from tests.loop.harness import ESCALATION, T1, T2A, T2B, T3
from tests.slack.dispatch import app_for, body_json

DENY_STATE = {
    BlockId.DENY_REASON: {ActionId.DENY_REASON: {"type": "static_select", "selected_option": {"value": "FINAL_SALE"}}},
    BlockId.DENY_NOTIFY: {ActionId.DENY_NOTIFY: {"type": "checkboxes",
                                                 "selected_options": [{"value": OptionValue.NOTIFY_CUSTOMER}]}},
}
ESCALATE_STATE = {BlockId.ESCALATE_NOTE: {ActionId.ESCALATE_NOTE: {"type": "plain_text_input", "value": "odd"}}}


def _no_tracebacks(caplog) -> None:
    assert [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []


# --- finding: a click proves only which card it came from ---------------------------------


def test_a_button_on_one_cards_message_carrying_another_cases_value_is_refused_and_audited(database_url):
    with app_for(database_url) as h:
        first = h.open_case("#1045")  # tier 1
        second = h.open_case("#1034")  # tier 2
        # Case 1's card, case 2's button value (a forged or mixed-up payload, signed by Slack).
        resp = h.click(first, ActionId.CASE_APPROVE, T2A, value=h.card_value(second))
        assert resp.status == 200
        h.run_background()
        assert h.c.cases.get(second.id).status is CaseStatus.OPEN
        assert h.c.cases.decisions(second.id) == [] and h.c.outbox.for_case(second.id) == []
        [msg] = h.ephemerals_to(T2A)
        assert "isn't on this case's card" in msg
        refusal = h.c.cases.audit(second.id)[-1]
        assert refusal["event"] == "case.refused" and refusal["detail"]["reason"] == "wrong_card"
        assert refusal["detail"]["message_ts"] == first.slack_ts


def test_the_escalation_card_is_the_cases_card_too(database_url):
    with app_for(database_url) as h:
        case = h.open_case("#1034")
        h.click(case, ActionId.CASE_ESCALATE, T2A)
        h.submit(CallbackId.ESCALATE_MODAL, ESCALATE_STATE, T2A)
        h.run_background()
        h.sync_cards()
        esc = h.c.cases.get(case.id)
        assert esc.status is CaseStatus.ESCALATED and esc.escalation_ts and esc.escalation_channel == ESCALATION
        h.click(esc, ActionId.CASE_APPROVE, T3)
        h.run_background()
        assert h.c.cases.get(case.id).status is CaseStatus.APPROVED


# --- finding: a modal submission proves only what the bot signed --------------------------


def test_deny_through_the_modal_the_bot_opened(database_url):
    with app_for(database_url) as h:
        case = h.open_case("#1045")
        assert h.click(case, ActionId.CASE_DENY, T1).status == 200
        view = h.opened_view()
        assert view["callback_id"] == CallbackId.DENY_MODAL
        resp = h.submit(CallbackId.DENY_MODAL, DENY_STATE, T1)
        assert resp.status == 200 and "response_action" not in body_json(resp)
        h.run_background()
        assert h.c.cases.get(case.id).status is CaseStatus.DENIED


@pytest.mark.parametrize("forgery", ["never_opened", "other_user", "other_verb", "other_version", "other_case",
                                     "no_metadata"])
def test_a_submission_that_does_not_match_a_view_the_bot_opened_changes_nothing(database_url, forgery, caplog):
    with app_for(database_url) as h:
        case = h.open_case("#1045")
        other = h.open_case("#1034")
        user, callback = T1, CallbackId.DENY_MODAL
        if forgery == "never_opened":
            metadata = str(CaseRef(case.id, case.version))  # what a view of ours used to carry
        else:
            h.click(case, ActionId.CASE_ESCALATE if forgery == "other_verb" else ActionId.CASE_DENY, T1)
            metadata = h.opened_view()["private_metadata"]
            if forgery == "other_user":
                user = T2A  # T2A may deny tier-1 cases, but this modal was opened for T1
            elif forgery == "other_version":
                metadata = metadata.replace(f":{case.id}:{case.version}:", f":{case.id}:{case.version + 1}:")
            elif forgery == "other_case":
                metadata = metadata.replace(f":{case.id}:{case.version}:", f":{other.id}:{other.version}:")
            elif forgery == "no_metadata":
                metadata = ""
        caplog.clear()
        resp = h.submit(callback, DENY_STATE, user, metadata=metadata)
        assert resp.status == 200
        body = body_json(resp)
        assert body["response_action"] == "errors" and "open it again" in json.dumps(body)
        h.run_background()
        for c in (case, other):
            assert h.c.cases.get(c.id).status is CaseStatus.OPEN
            assert h.c.outbox.for_case(c.id) == [] and h.c.cases.decisions(c.id) == []
        _no_tracebacks(caplog)


# --- finding: versions --------------------------------------------------------------------


def test_a_click_on_a_stale_card_says_what_changed_and_refreshes_the_card(database_url):
    with app_for(database_url) as h:
        case = h.open_case("#1034")  # tier 2
        h.click(case, ActionId.CASE_ESCALATE, T2A)
        h.submit(CallbackId.ESCALATE_MODAL, ESCALATE_STATE, T2A)
        h.run_background()
        h.changed.clear()
        # T3 may decide the escalated case, but this click comes from the owner card, as it
        # looked before the escalation.
        h.click(case, ActionId.CASE_APPROVE, T3, channel=case.slack_channel, message_ts=case.slack_ts)
        h.run_background()
        [msg] = h.ephemerals_to(T3)
        assert msg.startswith(f"This case changed since your card showed it: escalated by <@{T2A}>")
        assert h.changed == [case.id]
        assert h.c.cases.get(case.id).status is CaseStatus.ESCALATED


# --- finding: nothing but views.open before the ack ---------------------------------------


def test_deny_by_a_user_group_member_opens_the_modal_without_asking_slack_first(database_url):
    with app_for(database_url) as h:
        case = h.open_case("#1034")  # tier 2: the S0TIER2 group
        h.slack.fail_next("usergroups.users.list", status=429, retry_after=30, times=5)
        assert h.click(case, ActionId.CASE_DENY, T2A).status == 200  # dispatch checks the ack path
        assert [c.method for c in h.ack_path_calls] == ["views.open"]
        h.run_background()


def test_before_a_modal_a_known_non_member_is_refused_and_an_unknown_one_decided_on_submission(database_url):
    with app_for(database_url) as h:
        case = h.open_case("#1034")  # tier 2; T1 is tier 1 only
        # Membership unknown: the modal opens, the decision is authorised on submission.
        h.click(case, ActionId.CASE_DENY, T1)
        assert len(h.slack.calls_to("views.open")) == 1
        h.submit(CallbackId.DENY_MODAL, DENY_STATE, T1)
        h.run_background()  # also refreshes the cached membership
        [msg] = h.ephemerals_to(T1)
        assert "needs tier 2" in msg
        assert h.c.cases.get(case.id).status is CaseStatus.OPEN
        # Now the cache knows T1 is not in S0TIER2: refused before any modal opens.
        h.click(case, ActionId.CASE_DENY, T1)
        assert len(h.slack.calls_to("views.open")) == 1
        h.run_background()
        assert len(h.ephemerals_to(T1)) == 2 and "needs tier 2" in h.ephemerals_to(T1)[-1]
        assert h.c.cases.audit(case.id)[-1]["detail"]["reason"] == "not_authorised"


def test_commands_events_and_shortcuts_call_no_slack_method_before_the_ack(database_url):
    with app_for(database_url) as h:
        case = h.open_case("#1034")
        h.dispatch(*sr.slash_command("/order", "#1034", user_id=T2A))
        h.dispatch(*sr.slash_command("/playbook", "refund", user_id=T2A))
        h.dispatch(*sr.event_callback({"type": "app_home_opened", "user": T2A, "channel": "D0HOME", "tab": "home",
                                       "event_ts": "1700000000.000100"}, event_id="Ev0HOME1"))
        h.dispatch(*sr.event_callback(sr.message_event("playbook: check the label", user=T2A,
                                                       channel=case.slack_channel, ts="1700000200.000100",
                                                       thread_ts=case.slack_ts), event_id="Ev0MSG1"))
        assert h.ack_path_calls == []  # (the answers, after the ack, would go to hooks.slack.com)


# --- finding: cold start while Slack rate-limits auth.test --------------------------------


def test_a_click_at_a_cold_start_while_auth_test_is_rate_limited_is_acked_and_decided(database_url):
    with app_for(database_url) as h:
        case = h.open_case("#1034")
        h.slack.fail_next("auth.test", status=429, retry_after=30, times=100)
        resp = h.click(case, ActionId.CASE_APPROVE, T2A)
        assert resp.status == 200 and not resp.body  # not Bolt's "We apologize, but for some unknown reason…"
        h.run_background()
        assert h.c.cases.get(case.id).status is CaseStatus.APPROVED


# --- finding: malformed but signed input --------------------------------------------------


@pytest.mark.parametrize("body", [b"payload=%7Bnot+json", b"payload=%5B1%2C2%5D", b"payload=" + b"%5B" * 100_000])
def test_a_signed_payload_field_that_is_not_a_json_object_is_a_400(database_url, body, caplog):
    with app_for(database_url) as h:
        resp = h.dispatch(body, sr.FORM)
        assert resp.status == 400
        _no_tracebacks(caplog)


@pytest.mark.parametrize("shape", ["actions_empty", "actions_null", "actions_string", "action_without_id",
                                   "view_missing", "event_string"])
def test_a_signed_payload_without_what_bolt_routes_on_is_a_400(database_url, shape, caplog):
    if shape == "view_missing":
        payload = sr.payload_of(sr.view_submission(CallbackId.DENY_MODAL, "", {}, user_id=T1)[0])
        del payload["view"]
        body, ctype = sr.form(payload)
    elif shape == "event_string":
        body = json.dumps({**json.loads(sr.event_callback(sr.message_event("hi"))[0]), "event": "x"}).encode()
        ctype = sr.JSON
    else:
        payload = sr.payload_of(sr.block_action("v1:case:1:1", ActionId.CASE_APPROVE, user_id=T1)[0])
        payload["actions"] = {"actions_empty": [], "actions_null": None, "actions_string": "x",
                              "action_without_id": [{"value": "v1:case:1:1"}]}[shape]
        body, ctype = sr.form(payload)
    with app_for(database_url) as h:
        assert h.dispatch(body, ctype).status == 400
        _no_tracebacks(caplog)


def test_a_signed_json_body_that_is_not_json_is_a_400(database_url, caplog):
    with app_for(database_url) as h:
        assert h.dispatch(b'{"type": "event_callback", ', sr.JSON).status == 400
        assert h.dispatch(b"[" * 100_000, sr.JSON).status == 400
        _no_tracebacks(caplog)


def test_an_unsigned_malformed_payload_is_a_401_not_a_400(database_url):
    with app_for(database_url) as h:
        assert h.dispatch(b"payload=%7Bnot+json", sr.FORM, secret="wrong").status == 401


@pytest.mark.parametrize("action_id", [ActionId.CASE_APPROVE, ActionId.CASE_DENY, ActionId.CASE_RETRY])
def test_a_block_action_without_a_value_is_acked_refused_and_changes_nothing(database_url, action_id, caplog):
    with app_for(database_url) as h:
        case = h.open_case("#1034")
        body, ctype = sr.block_action("unused", action_id, user_id=T2A, channel=case.slack_channel,
                                      message_ts=case.slack_ts)
        payload = sr.payload_of(body)
        del payload["actions"][0]["value"]
        body, ctype = sr.form(payload)
        caplog.clear()
        resp = h.dispatch(body, ctype)
        assert resp.status == 200  # Slack shows an error to the person for anything else
        h.run_background()
        assert h.c.cases.get(case.id).status is CaseStatus.OPEN
        assert h.slack.calls_to("views.open") == []
        [msg] = h.ephemerals_to(T2A)
        assert "nothing was done" in msg
        assert any("slack.click_refused" in r.getMessage() for r in caplog.records)
        _no_tracebacks(caplog)


# --- finding: override instead of two denies ----------------------------------------------


def test_override_grants_a_request_recommended_for_decline(database_url):
    with app_for(database_url) as h:
        case = h.open_case("#1045")  # final sale: recommended deny, tier 1
        assert case.recommended_action == "deny"
        h.click(case, ActionId.CASE_OVERRIDE, T2B)
        h.run_background()
        after = h.c.cases.get(case.id)
        assert after.status is CaseStatus.APPROVED and after.decided_action == "refund"
        assert [r.operation for r in h.c.outbox.for_case(case.id)] == ["approve_return", "refund_return"]
        [d] = h.c.cases.decisions(case.id)
        assert d["followed_recommendation"] is False and d["detail"] == {"override": True}
        assert d["decided_by"] == T2B


def test_override_needs_the_cases_tier_and_a_deny_recommendation(database_url):
    with app_for(database_url) as h:
        deny = h.open_case("#1045")  # tier 1
        h.click(deny, ActionId.CASE_OVERRIDE, "U0NOBODY01")
        refund = h.open_case("#1034")  # tier 2, recommended refund
        h.click(refund, ActionId.CASE_OVERRIDE, T2A)
        h.run_background()
        assert "needs tier 1" in h.ephemerals_to("U0NOBODY01")[0]
        assert h.ephemerals_to(T2A)[0].startswith("Nothing to override")
        for case in (deny, refund):
            assert h.c.cases.get(case.id).status is CaseStatus.OPEN and h.c.cases.decisions(case.id) == []


def test_the_bot_learns_who_it_is_in_the_background_once_slack_allows(database_url):
    with app_for(database_url) as h:
        identity = h.services.identity
        now = [1000.0]
        identity.monotonic = lambda: now[0]
        h.slack.fail_next("auth.test", status=503, times=6)  # every attempt the gateway makes
        event = sr.event_callback(sr.message_event("hello", user=T2A), event_id="Ev0ID1")
        h.dispatch(*event)
        h.run_background()  # the attempt fails: nobody waited for it
        assert not identity.known
        tried = len(h.slack.calls_to("auth.test"))
        h.dispatch(*sr.event_callback(sr.message_event("again", user=T2A), event_id="Ev0ID2"))
        h.run_background()
        assert len(h.slack.calls_to("auth.test")) == tried  # backing off, not asking on every request
        now[0] += 31
        h.dispatch(*sr.event_callback(sr.message_event("later", user=T2A), event_id="Ev0ID3"))
        h.run_background()
        assert identity.known and identity.user_id == "UBOT" and identity.bot_id == "BBOT"
        seen = {}
        h.app.middleware(lambda context, next: (seen.update(bot_user_id=context.bot_user_id), next()))
        h.dispatch(*sr.event_callback(sr.message_event("known now", user=T2A), event_id="Ev0ID4"))
        assert seen == {"bot_user_id": "UBOT"} and len(h.slack.calls_to("auth.test")) == tried + 1
