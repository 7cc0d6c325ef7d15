"""`/policy simulate` behind the Slack handler: which policy to try, the replay, the answer.

What can be simulated from Slack:
* `/policy simulate table.key=value [table.key=value …]` — the running policy with those
  keys changed (policy/edit.py);
* `/policy simulate <link to a file>` (or its id, F…) — a policy file shared in Slack;
* `/policy simulate` alone — the newest `.toml` file the caller shared in this channel or
  DM (a slash command carries no attachment, so "attached" means "shared just before").
Files are read with the bot token (files.info / files.list need `files:read`), at most
`MAX_FILE_BYTES`. The replay runs in this process, one worker: the server is threaded,
and forking it for parallel workers is not safe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from sqlalchemy import Engine

from bot.simulate import DEFAULT_SINCE, Scope, SimulateError, parse_since, proposed_policy, resolved, run, stored_shop_facts
from policy.config import load_policy
from policy.edit import parse_assignment
from policy.simulate import Simulation

MAX_FILE_BYTES = 64 * 1024
_FILE_ID = re.compile(r"\b(F[A-Z0-9]{6,})\b")


class SimulationRefused(Exception):
    """Why nothing was simulated; the message is for the person who asked."""


@dataclass(frozen=True)
class Asked:
    changes: dict[str, str]
    file_ref: str | None  # a file id, or None: the newest .toml shared here


def parse_request(text: str) -> Asked:
    """The words after `/policy simulate`."""
    words = text.split()
    changes = dict(parse_assignment(w) for w in words if "=" in w)
    rest = [w for w in words if "=" not in w]
    if changes and rest:
        raise SimulationRefused("Give either key=value changes or a policy file, not both.")
    if len(rest) > 1:
        raise SimulationRefused("Give one policy file (a link to it, or its id).")
    ref = None
    if rest:
        found = _FILE_ID.search(rest[0])
        if found is None:
            raise SimulationRefused(f"{rest[0]!r} is neither a key=value change nor a link to a file shared in Slack.")
        ref = found.group(1)
    return Asked(changes=changes, file_ref=ref)


class PolicySimulator:
    def __init__(self, *, engine: Engine, running: str | None, gateway: Any, clock: Callable[[], datetime]) -> None:
        self.engine, self.running, self.gateway, self.clock = engine, running, gateway, clock

    def simulate(self, text: str, *, channel: str | None, user: str) -> tuple[Simulation, str]:
        """(the simulation, its title) for the words after `/policy simulate`. PolicyError
        (the file's or the key's problem), SimulationRefused or SimulateError otherwise."""
        asked = parse_request(text)
        if asked.changes:
            proposed = proposed_policy(changes=asked.changes, running=self.running)
            name = ", ".join(f"{k}={v}" for k, v in asked.changes.items())
        else:
            body, name = self._file(asked.file_ref, channel=channel, user=user)
            proposed = proposed_policy(text=body, name=name)
        facts = stored_shop_facts(self.engine)
        current = resolved(load_policy(self.running or None), facts)
        scope = Scope(since=parse_since(DEFAULT_SINCE, self.clock()))
        sim = run(self.engine, current, resolved(proposed, facts), scope, workers=1)
        return sim, f"Simulated {name} (last {DEFAULT_SINCE})"

    def _file(self, ref: str | None, *, channel: str | None, user: str) -> tuple[str, str]:
        if ref is None:
            if not channel:
                raise SimulationRefused("Share the policy file here first, or give a link to it.")
            shared = [f for f in self.gateway.files_shared(channel, user) if str(f.get("name", "")).endswith(".toml")]
            if not shared:
                raise SimulationRefused("No .toml file you shared in this conversation: share the policy file here, "
                                        "then run `/policy simulate` again (or give key=value changes).")
            info = max(shared, key=lambda f: f.get("created") or 0)
        else:
            info = self.gateway.file_info(ref)
        name = str(info.get("name") or info.get("id") or "policy.toml")
        if (info.get("size") or 0) > MAX_FILE_BYTES:
            raise SimulationRefused(f"{name} is larger than {MAX_FILE_BYTES // 1024} KB: that is not a policy file.")
        url = info.get("url_private_download") or info.get("url_private")
        if not url:
            raise SimulationRefused(f"Slack did not give returnsbot a way to read {name}.")
        raw = self.gateway.download(url, max_bytes=MAX_FILE_BYTES)
        try:
            return raw.decode("utf-8"), name
        except UnicodeDecodeError:
            raise SimulationRefused(f"{name} is not a text file.") from None


__all__ = ["PolicySimulator", "SimulationRefused", "SimulateError", "parse_request"]
