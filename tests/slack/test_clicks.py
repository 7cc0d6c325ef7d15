"""The Click contract: what a handler hands to `submit_click` before the ack, and what
`ClickService.handle` does with it after (in this process, or in a worker that read it
back from a job row)."""

from __future__ import annotations

import json
import logging

import pytest

from blocks.ids import ActionId, BlockId, CallbackId
from bot.services.clicks import Click
from policy.models import CaseStatus
from tests.loop.harness import T2A
from tests.slack.dispatch import app_for

CLICKS = [
    Click("approve", 7, 3, "U0TIERTWOA", "C0REVIEW01", "1700000000.000100"),
    Click("override", 7, 3, "U0TIERTWOA", "C0REVIEW01", "1700000000.000100", thread_ts="1700000000.000050"),
    Click("retry", 7, 3, "U0TIERTWOA", "C0ESCALATE", "1700000000.000200"),
    Click("deny", 7, 3, "U0TIERONE1", "C0REVIEW01", "1700000000.000100", view_id="V1", reason="FINAL_SALE",
          customer_message="Sorry — final sale", notify_customer=True, internal_note="policy"),
    Click("escalate", 7, 3, "U0TIERONE1", "C0REVIEW01", "1700000000.000100", view_id="V2", note="odd"),
]


@pytest.mark.parametrize("click", CLICKS, ids=[c.verb for c in CLICKS])
def test_a_click_survives_a_trip_through_json(click):
    payload = click.to_payload()
    assert Click.from_payload(json.loads(json.dumps(payload))) == click
    assert len(click.correlation_id) == 12


def test_a_newer_payloads_extra_keys_are_ignored_and_a_bad_one_refused():
    payload = CLICKS[0].to_payload() | {"added_later": 1}
    assert Click.from_payload(payload) == CLICKS[0]
    for bad in ({k: v for k, v in CLICKS[0].to_payload().items() if k != "version"},
                CLICKS[0].to_payload() | {"verb": "delete"},
                CLICKS[0].to_payload() | {"case_id": "7"},
                CLICKS[0].to_payload() | {"v": 2},
                CLICKS[3].to_payload() | {"reason": None},
                CLICKS[0].to_payload() | {"notify_customer": "yes"},
                ["not", "an", "object"]):
        with pytest.raises(ValueError):
            Click.from_payload(bad)


def test_the_decision_happens_only_through_submit_click_and_can_run_from_a_stored_payload(database_url):
    with app_for(database_url) as h:
        case = h.open_case("#1034")
        stored: list[str] = []
        h.services.submit_click = lambda click: stored.append(json.dumps(click.to_payload()))
        assert h.click(case, ActionId.CASE_APPROVE, T2A).status == 200
        h.run_background()
        assert h.c.cases.get(case.id).status is CaseStatus.OPEN  # only the stored intent so far
        [row] = stored
        click = Click.from_payload(json.loads(row))
        assert (click.verb, click.case_id, click.version, click.user) == ("approve", case.id, case.version, T2A)
        assert (click.channel, click.message_ts) == (case.slack_channel, case.slack_ts)
        h.services.clicks.handle(click)  # what a worker does with the row
        assert h.c.cases.get(case.id).status is CaseStatus.APPROVED


def test_a_modal_submission_becomes_a_click_with_its_form(database_url):
    with app_for(database_url) as h:
        case = h.open_case("#1034")
        stored: list[Click] = []
        h.services.submit_click = stored.append
        h.click(case, ActionId.CASE_ESCALATE, T2A)
        h.submit(CallbackId.ESCALATE_MODAL, {BlockId.ESCALATE_NOTE: {ActionId.ESCALATE_NOTE: {
            "type": "plain_text_input", "value": "third jacket"}}}, T2A)
        [click] = stored
        assert (click.verb, click.note, click.version) == ("escalate", "third jacket", case.version)
        assert (click.channel, click.message_ts) == (case.slack_channel, case.slack_ts)


def test_a_click_that_cannot_be_taken_is_acked_and_the_person_told(database_url, caplog):
    with app_for(database_url) as h:
        case = h.open_case("#1034")

        def store_down(click):
            raise ConnectionError("database unreachable")

        h.services.submit_click = store_down
        assert h.click(case, ActionId.CASE_APPROVE, T2A).status == 200
        h.run_background()
        [msg] = h.ephemerals_to(T2A)
        ref = msg.split("`")[1]
        assert "nothing was changed" in msg
        assert any(getattr(r, "correlation_id", None) == ref for r in caplog.records if r.levelname == "ERROR")
        assert h.c.cases.get(case.id).status is CaseStatus.OPEN


def test_the_correlation_id_follows_the_click_through_the_background_work(database_url, caplog):
    caplog.set_level(logging.INFO)
    with app_for(database_url) as h:
        case = h.open_case("#1034")
        stored: list[Click] = []
        h.services.submit_click = lambda click: (stored.append(click), h.services.run_click_in_background(click))
        h.click(case, ActionId.CASE_APPROVE, T2A)
        caplog.clear()
        h.run_background()
        [click] = stored
        steps = [r.getMessage().split()[0] for r in caplog.records
                 if getattr(r, "correlation_id", None) == click.correlation_id]
        assert steps == ["click.handling", "click.decided"]
        decided = next(r for r in caplog.records if r.getMessage().startswith("click.decided"))
        assert (decided.case_id, decided.user, decided.status) == (case.id, T2A, "approved")


# --- the signed modal reference -------------------------------------------------------------


def test_a_modal_reference_verifies_only_as_signed_with_our_key():
    from blocks.refs import BadRef, ModalRef, modal_key

    key = modal_key("loop-signing-secret")
    ref = ModalRef("deny", 42, 3, "U0TIERONE1", "C0REVIEW01", "1700000000.000100")
    signed = ref.sign(key)
    assert ModalRef.verify(signed, key) == ref
    assert "loop-signing-secret" not in signed and key.hex() not in signed
    tampered = [signed.replace(":deny:", ":escalate:"), signed.replace(":42:", ":43:"), signed.replace(":3:", ":4:"),
                signed.replace("U0TIERONE1", "U0TIERTWOA"), signed.replace("C0REVIEW01", "C0ESCALATE"),
                signed.replace("000100", "000200"), signed[:-1] + ("0" if signed[-1] != "0" else "1"),
                "v1:case:42:3", "", signed + "0", "x" * 5000]
    for raw in tampered:
        with pytest.raises(BadRef):
            ModalRef.verify(raw, key)
    with pytest.raises(BadRef):
        ModalRef.verify(signed, modal_key("another-secret"))
    with pytest.raises(BadRef):
        ModalRef("deny", 42, 3, "U1:x", "C0REVIEW01", "1700000000.000100")  # ':' can't get into the body
