"""Claude in returnsbot: ticket triage, reply drafts, playbook proposals.

Each entry point has a deterministic fallback that decides when there is no
ANTHROPIC_API_KEY or Claude fails, and says so: `classify` (policy.triage's rules),
`draft_reply` (policy.drafting's templates), `propose_playbook_entry` (None). Everything
Anthropic-specific (the SDK, model ids, tool schemas, prompts) stays in this package.
"""

from bot.llm.client import Claude, ClaudeUnavailable, from_settings
from bot.llm.drafting import draft_reply
from bot.llm.playbook import propose_playbook_entry
from bot.llm.triage import classify

__all__ = ["Claude", "ClaudeUnavailable", "classify", "draft_reply", "from_settings", "propose_playbook_entry"]
