"""Small pieces every renderer uses: Block Kit limits and text primitives, defined once.

Limits are Slack's (reference/slack/block-kit-limits.md); `fit` is the last guard on
composed mrkdwn and cuts at a line break, so no token or link is split.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from blocks.escape import escape_mrkdwn
from blocks.format import ago, mention

SECTION_TEXT = 3000  # characters in a section's text
CONTEXT_ELEMENTS = 10  # elements in a context block
PLAYBOOK_SHOWN = 3  # playbook entries on a card or an order answer

# On every card, digest and /order answer made from the bundled sample store (the view
# says so: `sample_store=True`; renderers never guess it from names).
SAMPLE_STORE = "Sample store — not a real shop"
SAMPLE_STORE_LINE = f":test_tube: *{SAMPLE_STORE}.* Nothing here touches a real customer or payment."


def md(text: str) -> MarkdownTextObject:
    """mrkdwn that Slack must not auto-link or auto-mention (`verbatim`)."""
    return MarkdownTextObject(text=text, verbatim=True)


def fit(text: str, limit: int = SECTION_TEXT) -> str:
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit - 1)
    return (text[:cut] if cut > 0 else text[: limit - 1]) + "…"


def section(text: str) -> SectionBlock:
    return SectionBlock(text=md(fit(text)))


def context(*texts: str) -> ContextBlock:
    return ContextBlock(elements=[md(fit(t)) for t in texts[:CONTEXT_ELEMENTS]])


def capped_lines(lines: Sequence[str], limit: int, more: Callable[[int], str]) -> str:
    """Join lines up to `limit` characters; the rest become one `more(n)` line."""
    out: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        left = len(lines) - i - 1
        reserve = len(more(len(lines))) + 1 if left else 0
        if used + len(line) + 1 + reserve > limit:
            out.append(more(len(lines) - i))
            break
        out.append(line)
        used += len(line) + 1
    return "\n".join(out)


def quote(text: str, limit: int, *, empty: str = "") -> str:
    """Outside text as a mrkdwn block quote (escaped, so it cannot end the quote)."""
    body = escape_mrkdwn(text.strip(), limit) or empty
    return "\n".join(f">{line}" for line in body.split("\n"))


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def playbook_section(entries: Sequence, now: datetime, *, note_chars: int) -> Block | None:
    """Playbook entries (blocks.views.PlaybookEntry) with who wrote them and when."""
    if not entries:
        return None
    lines = [":notebook: *Playbook from earlier cases*"]
    for entry in entries[:PLAYBOOK_SHOWN]:
        lines.append(f"{mention(entry.author)} · {ago(entry.created_at, now)}")
        lines.append(quote(entry.text, note_chars))
    return section("\n".join(lines))


def sample_store_context() -> ContextBlock:
    return context(SAMPLE_STORE_LINE)
