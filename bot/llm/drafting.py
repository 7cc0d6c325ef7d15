"""Reply drafts by Claude, checked in code, with the templates as the fallback.

The system prompt (the rules and the brand's `[voice]`) is the same for every ticket of a
shop and goes out with `cache_control` (prompt caching: later drafts read it from the
cache). The user turn carries the reply's facts as JSON, the decision, and the customer's
message as delimited data. Claude answers through a forced `submit_reply` tool, so the
draft is the reply itself, never a preamble.

A draft that fails `policy.drafting.check_draft` is sent back once as a failed tool result
naming every problem; a second failure (or no usable answer at all) gives the
deterministic template in the customer's language, with the problems kept for the card.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable

from bot.llm.client import Answer, Claude, ClaudeUnavailable
from bot.llm.prompts import DATA_RULE, as_data
from policy.drafting import Draft, DraftContext, DraftDecision, check_draft, template_reply
from policy.triage import NO_TOKENS, Tokens
from policy.voice import Voice

log = logging.getLogger(__name__)

TOOL_NAME = "submit_reply"
MAX_TOKENS = 1500

REPLY_TOOL = {
    "name": TOOL_NAME,
    "description": "Submit the reply to the customer, exactly as it should be sent.",
    "input_schema": {
        "type": "object",
        "properties": {"reply": {"type": "string", "description": "The whole reply: greeting, body, sign-off."}},
        "required": ["reply"],
        "additionalProperties": False,
    },
    "strict": True,
}


def system_prompt(voice: Voice) -> list[dict]:
    lines = [
        f"You write replies to customers of {voice.brand_name}, an online shop. A person reviews each reply "
        "before it is sent. Submit the reply with the submit_reply tool.",
        "Rules:",
        "- Write in the language given as `language` in the facts, and greet the customer by first name when "
        "one is given.",
        "- Use only the facts and the decision you are given. Mention an amount, a date, an order number, a "
        "tracking number or a product only if it is in the facts, written the same way. Never invent one.",
        "- The decision is final. Never promise more or other than it says: no refund unless the action is "
        "refund, no store credit unless it is store_credit, no replacement unless it is exchange or reship. "
        "For answer_only, answer the question without promising any action.",
        "- Never mention risk, fraud, scores, internal notes, policies' internals or how the decision was made; "
        "give the customer-facing reason only when one is given.",
        f"- Keep it between {voice.min_chars} and {voice.max_chars} characters. No placeholders.",
        "- " + DATA_RULE,
        "",
        f"Tone: {voice.tone}",
        f"Sign off with: {voice.sign_off}",
    ]
    if voice.use_phrases:
        lines.append("Phrases to use where they fit: " + "; ".join(voice.use_phrases))
    if voice.avoid_phrases:
        lines.append("Phrases never to use: " + "; ".join(voice.avoid_phrases))
    for i, example in enumerate(voice.examples, 1):
        lines.append(f"<example_reply_{i}>\n{example}\n</example_reply_{i}>")
    return [{"type": "text", "text": "\n".join(lines), "cache_control": {"type": "ephemeral"}}]


def draft_reply(context: DraftContext, decision: DraftDecision, voice: Voice, *, claude: Claude | None,
                internal_texts: Iterable[str] = (), catalog: Iterable[str] = ()) -> Draft:
    """A draft that passed the guardrails, or the template (flagged with why)."""
    internal_texts, catalog = tuple(internal_texts), tuple(catalog)

    def template(problems: tuple[str, ...], tokens: Tokens) -> Draft:
        text, notes = template_reply(context, decision, voice)
        return Draft(text=text, by="template", problems=problems + notes, tokens=tokens)

    if claude is None:
        return template((), NO_TOKENS)
    messages: list[dict] = [{"role": "user", "content": _message(context, decision)}]
    system = system_prompt(voice)
    tokens = NO_TOKENS
    problems: tuple[str, ...] = ()
    for attempt in (1, 2):
        try:
            answer = claude.create(model=claude.draft_model, max_tokens=MAX_TOKENS, system=system,
                                   tools=[REPLY_TOOL], tool_choice={"type": "tool", "name": TOOL_NAME},
                                   messages=messages, purpose="draft")
        except ClaudeUnavailable as exc:
            log.warning("llm.draft_fallback", extra={"reason": str(exc)})
            return template(problems + (str(exc),), tokens)
        tokens = tokens + answer.tokens
        text = _reply_text(answer)
        if text is None:
            return template(problems + (f"Claude's answer had no usable {TOOL_NAME} call "
                                        f"(stop_reason {answer.stop_reason})",), tokens)
        found = check_draft(text, context, decision, voice=voice, internal_texts=internal_texts, catalog=catalog)
        if not found:
            return Draft(text=text.strip(), by="claude", problems=(), tokens=tokens)
        log.info("llm.draft_rejected", extra={"attempt": attempt, "problems": len(found)})
        problems = problems + tuple(f"draft {attempt}: {p}" for p in found)
        messages = messages + [
            {"role": "assistant", "content": answer.content},
            {"role": "user", "content": [{
                "type": "tool_result", "tool_use_id": answer.tool_use_id(TOOL_NAME), "is_error": True,
                "content": "The reply was rejected by the shop's checks:\n- " + "\n- ".join(found)
                           + "\nWrite the reply again, fixing every point, and submit it with submit_reply.",
            }]},
        ]
    return template(problems, tokens)


def _message(context: DraftContext, decision: DraftDecision) -> str:
    facts = json.dumps({"facts": context.facts(), "decision": decision.facts()}, ensure_ascii=False, indent=1)
    return (f"<reply_facts>\n{facts}\n</reply_facts>\n\n{as_data('customer_message', context.customer_message)}\n\n"
            "Write the reply to this customer and submit it with submit_reply.")


def _reply_text(answer: Answer) -> str | None:
    if answer.stop_reason not in ("tool_use", "end_turn"):
        return None  # max_tokens: a cut-off reply; refusal: nothing to send
    raw = answer.tool_input(TOOL_NAME)
    text = raw.get("reply") if raw else None
    return text if isinstance(text, str) and text.strip() else None
