"""One key of a policy file changed, as text: `with_values(text, {"returns.window_days": "45"})`.

The result is the same file with that key's line replaced (or added to its table, or the
table appended), so comments and the rest stay as they were and `parse_policy` checks the
outcome with its usual messages (file, line, key). A value is TOML (`45`, `true`,
`["SIZE_TOO_SMALL"]`, `"final-sale"`); a bare word that is not TOML is taken as a string.

Keys inside arrays of tables (`approval_tiers`) cannot be addressed this way: edit a file.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping

from policy.config import PolicyError

_DOTTED = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+")
_HEADER = re.compile(r"\s*\[\s*([A-Za-z0-9_.\s-]+?)\s*\]\s*(#.*)?$")
_ARRAY_HEADER = re.compile(r"\s*\[\[")


def toml_value(raw: str) -> str:
    """`raw` as a TOML value: itself when it is one, else a quoted string."""
    raw = raw.strip()
    try:
        tomllib.loads(f"v = {raw}")
        return raw
    except tomllib.TOMLDecodeError:
        return '"' + raw.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_assignment(text: str) -> tuple[str, str]:
    """'returns.window_days=45' → ('returns.window_days', '45'), or a PolicyError."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not value.strip():
        raise PolicyError([f"{text!r}: expected table.key=value, such as returns.window_days=45"])
    if not _DOTTED.fullmatch(key):
        raise PolicyError([f"{key!r}: expected a dotted key such as returns.window_days (the table, then the key)"])
    return key, value.strip()


def with_values(text: str, changes: Mapping[str, str]) -> str:
    for key, value in changes.items():
        text = _with_value(text, key, toml_value(value))
    return text


def _with_value(text: str, dotted: str, value: str) -> str:
    parts = dotted.split(".")
    lines = text.splitlines()
    headers = _headers(lines)
    # The longest table prefix the file has a header for; the rest is the key inside it.
    for cut in range(len(parts) - 1, 0, -1):
        table, key = ".".join(parts[:cut]), ".".join(parts[cut:])
        if table in headers:
            start, end = headers[table]
            pattern = re.compile(rf"\s*{re.escape(key)}\s*=")
            for i in range(start + 1, end):
                if pattern.match(lines[i]):
                    lines[i : i + _value_lines(lines, i)] = [f"{key} = {value}"]
                    return "\n".join(lines) + "\n"
            if cut == len(parts) - 1:
                lines.insert(start + 1, f"{key} = {value}")
                return "\n".join(lines) + "\n"
    table, key = ".".join(parts[:-1]), parts[-1]
    if not text.strip():
        return f"[{table}]\n{key} = {value}\n"
    tail = "" if text.endswith("\n") else "\n"
    return f"{text}{tail}\n[{table}]\n{key} = {value}\n"


def _headers(lines: list[str]) -> dict[str, tuple[int, int]]:
    """Table name → (header line index, index of the next header) for `[table]` headers."""
    found: list[tuple[str | None, int]] = []
    for i, line in enumerate(lines):
        if _ARRAY_HEADER.match(line):
            found.append((None, i))  # an array of tables ends the previous table too
        elif match := _HEADER.match(line):
            found.append((re.sub(r"\s+", "", match.group(1)), i))
    out: dict[str, tuple[int, int]] = {}
    for n, (name, i) in enumerate(found):
        if name is not None and name not in out:
            out[name] = (i, found[n + 1][1] if n + 1 < len(found) else len(lines))
    return out


def _value_lines(lines: list[str], i: int) -> int:
    """How many lines the value starting on line `i` spans (a multi-line array)."""
    depth, n = 0, 0
    for line in lines[i:]:
        n += 1
        code = re.sub(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'', "", line).split("#", 1)[0]
        depth += code.count("[") + code.count("{") - code.count("]") - code.count("}")
        if depth <= 0:
            return n
    return n
