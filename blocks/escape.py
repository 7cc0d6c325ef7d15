"""Making outside text safe for Slack, and short enough for Block Kit.

Slack treats `&`, `<` and `>` as control characters in mrkdwn (and in a message's top-level
`text`): `<!channel>`, `<@U123>` and `<https://x|label>` are mentions and links. Customer
text (return notes, names, tags) and anything else from outside goes through
`escape_mrkdwn` before it joins a mrkdwn string, so it is shown, never parsed.

On top of Slack's rule:
- an `@` that starts a word (`@here`, `@channel`, `@everyone`, `@jane`) gets a zero-width
  joiner after it, so no setting (`link_names`, `parse=full`) can turn it into a mention;
  `jane@example.com` is left alone (its `@` does not start a word);
- control characters (except newline and tab) and bidi overrides/isolates are dropped: they
  can make text read backwards or hide what follows.

Lengths are counted in characters (code points), with `…` marking a cut. `escape_mrkdwn`
can cut by the length *after* escaping, so a limit like Slack's 3000 characters holds even
when every character was an `&`, and a cut never splits an entity like `&amp;`.

With a limit, only the start of the text is read: cleaning, defusing and escaping a prefix
gives the start of the whole result (every character that survives `clean` becomes at
least one character of output), so a megabyte of customer text costs what its first few
thousand characters cost.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

ELLIPSIS = "…"
ZWJ = "\u200d"  # zero-width joiner: invisible, and `@\u200dhere` is no mention

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_ESCAPE = str.maketrans(_ENTITIES)
# An @ at the start of a word, followed by something a mention could be made of.
_AT_WORD = re.compile(r"(?<!\w)@(?=\w)")
# C0/C1 controls except \t and \n; \r is folded into \n first. Bidi embeddings, overrides
# and isolates (U+202A-U+202E, U+2066-U+2069).
# Runs, not single characters: a megabyte of NULs is then one match, not a million.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]+")
_WS = re.compile(r"\s+")


def clean(text: str) -> str:
    """Drop control and bidi-override characters; normalise line ends to `\\n`."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _UNSAFE.sub("", text)


def defuse_mentions(text: str) -> str:
    """`@here` → `@\\u200dhere` (and any other word-initial @): never a mention."""
    if "@" not in text:  # a fast check: the pattern's look-behind makes its scan slow
        return text
    return _AT_WORD.sub("@" + ZWJ, text)


def one_line(text: str) -> str:
    """Collapse all whitespace (newlines included) to single spaces."""
    return _WS.sub(" ", text).strip()


def truncate(text: str, n: int) -> str:
    """At most `n` characters; a cut ends with `…` (which counts as one)."""
    if n <= 0:
        return ""
    if len(text) <= n:
        return text
    return text[: n - 1].rstrip() + ELLIPSIS


def _head(transform: Callable[[str], str], text: str, n: int) -> str:
    """`transform(text)[:n]`, computed from as short a prefix of `text` as will do.

    `transform` must turn a prefix of its input into a prefix of its output (one that may
    end early: a trailing space is stripped and an `@` gets its joiner only once what
    follows is read). So once a prefix's output is longer than `n`, its first `n`
    characters are final.
    """
    n = max(n, 0)
    end = n + 2
    while end < len(text):
        out = transform(text[:end])
        if len(out) > n:
            return out[:n]
        # Characters were dropped (controls, runs of spaces): read more, and much more when
        # nearly everything was dropped, so a megabyte of spaces is transformed about once.
        end *= max(2, 2 * (n + 1) // (len(out) + 1))
    return transform(text)[:n]


def _safe(text: str) -> str:
    return defuse_mentions(clean(text))


def _safe_line(text: str) -> str:
    return one_line(defuse_mentions(clean(text)))


def escape_mrkdwn(text: str, limit: int | None = None) -> str:
    """Outside text, safe inside mrkdwn: cleaned, mentions defused, `&<>` escaped.

    With `limit`, the *escaped* result has at most `limit` characters, cut between whole
    characters (never inside `&amp;`) and ending with `…` when cut.
    """
    if limit is None:
        return _safe(text).translate(_ESCAPE)
    return _cut_escaped(_head(_safe, text, limit + 1), limit)


def _cut_escaped(safe: str, limit: int) -> str:
    """Escape `safe` (at most `limit + 1` characters of the safe text, so more than `limit`
    means there was more) and fit it into `limit` characters."""
    if limit <= 0:
        return ""
    escaped = safe.translate(_ESCAPE)
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: limit - 1]
    # Every `&` in escaped text starts an entity; drop one the cut went through.
    amp = cut.rfind("&", max(0, len(cut) - 4))
    if amp != -1 and not cut.startswith(("&amp;", "&lt;", "&gt;"), amp):
        cut = cut[:amp]
    return cut.rstrip() + ELLIPSIS


_ANGLES = str.maketrans({"<": "\u2039", ">": "\u203a"})


def plain(text: str, limit: int) -> str:
    """Outside text for a `plain_text` object (header, button, label): one line, safe.

    `plain_text` is not parsed for mentions or links, and entities would show as typed, so
    `&` stays as it is. `<` and `>` become the look-alikes `‹` `›` all the same: then no
    text from outside ever reaches Slack as `<!channel>` or `<@U…>`, whichever object it
    lands in, and that is one rule to check. Mentions are defused, controls dropped.
    """
    return truncate(_head(_safe_line, text, limit + 1).translate(_ANGLES), limit)


def safe_url(url: str | None) -> str | None:
    """An http(s) URL made safe to sit inside `<url|label>`, or None.

    Whitespace, `|`, `<`, `>`, quotes and `@` are percent-encoded (they would end the link,
    start another, or spell a mention), `&` becomes `&amp;` as Slack asks. Anything that is
    not an absolute http(s) URL with a host (`javascript:`, relative paths) is refused, and
    so is one with credentials (`https://shop.example@evil.example`).
    """
    if not url:
        return None
    url = clean(url).strip()
    if len(url) > 2000:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return None  # no credentials in links: "https://shop.com@evil.example" is a trick
    encoded = "".join(
        f"%{ord(ch):02X}" if ch in '|<>"\'`@' or ch.isspace() else ch for ch in url
    )
    return encoded.replace("&", "&amp;")


def link(url: str | None, label: str, *, limit: int = 300) -> str:
    """`<url|label>` with the label escaped; just the escaped label when the URL is unsafe."""
    text = _cut_escaped(_head(lambda part: _safe(one_line(part)), label, limit + 1), limit)
    target = safe_url(url)
    return f"<{target}|{text}>" if target else text
