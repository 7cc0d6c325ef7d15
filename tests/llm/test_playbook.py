"""Playbook proposals: "When …, do …, because …", or None."""

from __future__ import annotations

from bot.llm.playbook import TOOL_NAME, propose_playbook_entry
from tests.fakes.anthropic import failure, tool_use

NOTES = ["Customer is a VIP, item worn once. Gave store credit instead of a refund.",
         "Agreed, we do that for VIPs outside the window."]
SUMMARY = "Return request #1001-R1, outside window, VIP customer, decided: store credit"


def test_a_proposal_reads_when_do_because(fake, claude):
    fake.script += [tool_use({"lesson": True, "when": "A VIP returns outside the window",
                              "do": "Offer store credit instead of a refund",
                              "because": "We keep VIPs happy without refunding late returns."})]
    entry = propose_playbook_entry(NOTES, SUMMARY, claude=claude)
    assert entry == ("When a VIP returns outside the window, offer store credit instead of a refund, "
                     "because we keep VIPs happy without refunding late returns.")
    body = fake.requests[0].body
    assert body["tool_choice"] == {"type": "tool", "name": TOOL_NAME}
    assert "<case_notes>" in body["messages"][0]["content"]


def test_no_lesson_no_key_no_notes_or_an_error_is_none(fake, claude, waits):
    fake.script += [tool_use({"lesson": False, "when": "", "do": "", "because": ""})]
    assert propose_playbook_entry(NOTES, SUMMARY, claude=claude) is None
    assert propose_playbook_entry(NOTES, SUMMARY, claude=None) is None
    assert propose_playbook_entry(["  "], SUMMARY, claude=claude) is None
    fake.responder = lambda body: failure(529, retry_after=31)
    assert propose_playbook_entry(NOTES, SUMMARY, claude=claude) is None
    fake.responder = None
    fake.script += [tool_use({"lesson": True, "when": "x" * 300, "do": "a", "because": "b"})]
    assert propose_playbook_entry(NOTES, SUMMARY, claude=claude) is None
    assert len(fake.requests) == 3  # no call without notes or key
