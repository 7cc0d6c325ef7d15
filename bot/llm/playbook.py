"""Playbook proposals: a case's thread notes turned into "When …, do …, because …".

Claude proposes through a forced tool with the three parts; a person saves it with one
click or ignores it. No key, any failure, a part missing or too long, or Claude saying
there is no general lesson: None (no proposal; nothing else changes).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.llm.client import Claude, ClaudeUnavailable
from bot.llm.prompts import DATA_RULE, as_data

log = logging.getLogger(__name__)

TOOL_NAME = "propose_playbook_entry"
MAX_ENTRY_CHARS = 400

PLAYBOOK_TOOL = {
    "name": TOOL_NAME,
    "description": "Propose one playbook entry for the team, or say there is no general lesson.",
    "input_schema": {
        "type": "object",
        "properties": {
            "lesson": {"type": "boolean", "description": "false when the notes hold no rule worth keeping"},
            "when": {"type": "string", "description": "the situation, general enough to recur"},
            "do": {"type": "string", "description": "what to do"},
            "because": {"type": "string", "description": "why"},
        },
        "required": ["lesson", "when", "do", "because"],
        "additionalProperties": False,
    },
    "strict": True,
}

SYSTEM = ("You keep an e-commerce operations team's playbook. From a decided case and the team's notes, "
          "propose at most one short, general rule: when (situation), do (action), because (reason). No "
          "customer names, emails, addresses or order numbers in it. " + DATA_RULE)


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lesson: bool
    when: str = Field(max_length=200)
    do: str = Field(max_length=200)
    because: str = Field(max_length=200)


def propose_playbook_entry(notes: Sequence[str], case_summary: str, *, claude: Claude | None) -> str | None:
    if claude is None or not any(n.strip() for n in notes):
        return None
    body = (f"Case: {case_summary}\n\n" + as_data("case_notes", "\n---\n".join(notes))
            + "\n\nPropose a playbook entry with the tool.")
    try:
        answer = claude.create(model=claude.classify_model, max_tokens=400, system=SYSTEM, tools=[PLAYBOOK_TOOL],
                               tool_choice={"type": "tool", "name": TOOL_NAME},
                               messages=[{"role": "user", "content": body}], purpose="playbook")
    except ClaudeUnavailable as exc:
        log.info("llm.playbook_skipped", extra={"reason": str(exc)})
        return None
    try:
        entry = _Entry.model_validate(answer.tool_input(TOOL_NAME) or {})
    except ValidationError:
        return None
    parts = [p.strip().rstrip(".,;") for p in (entry.when, entry.do, entry.because)]
    if not entry.lesson or not all(parts):
        return None
    when, do, because = (_lower_first(p) for p in parts)
    text = f"When {when}, {do}, because {because}."
    return text if len(text) <= MAX_ENTRY_CHARS else None


def _lower_first(text: str) -> str:
    for prefix in ("when ", "do ", "because "):
        if text.casefold().startswith(prefix):
            text = text[len(prefix):]
    first_word = text.split(" ", 1)[0]
    return text if len(first_word) > 1 and first_word.isupper() else text[:1].lower() + text[1:]  # "VIP" stays
