from __future__ import annotations

import random

import pytest

from blocks.escape import ZWJ, clean, defuse_mentions, escape_mrkdwn, link, one_line, plain, safe_url, truncate


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a & b < c > d", "a &amp; b &lt; c &gt; d"),
        ("<!channel>", "&lt;!channel&gt;"),
        ("<!here>", "&lt;!here&gt;"),
        ("<!everyone>", "&lt;!everyone&gt;"),
        ("<!subteam^S123>", "&lt;!subteam^S123&gt;"),
        ("<@U123>", f"&lt;@{ZWJ}U123&gt;"),
        ("<#C123>", "&lt;#C123&gt;"),
        ("<https://evil.example|your refund>", "&lt;https://evil.example|your refund&gt;"),
        ("&amp;", "&amp;amp;"),
        ("&lt;!channel&gt;", "&amp;lt;!channel&amp;gt;"),
    ],
)
def test_escape_mrkdwn_escapes_slack_control_characters(raw: str, escaped: str) -> None:
    assert escape_mrkdwn(raw) == escaped


@pytest.mark.parametrize("word", ["here", "channel", "everyone", "Here", "CHANNEL", "jane"])
def test_word_initial_at_mentions_are_defused(word: str) -> None:
    out = escape_mrkdwn(f"hey @{word}, and (@{word})")
    assert f"@{word}" not in out
    assert out == f"hey @{ZWJ}{word}, and (@{ZWJ}{word})"


def test_email_addresses_are_left_alone() -> None:
    assert escape_mrkdwn("jane@example.com") == "jane@example.com"


def test_clean_drops_controls_and_bidi_overrides_but_keeps_lines() -> None:
    assert clean("a\x00b\x1bc\u202eevil\u2066d\r\ne\rf\tg") == "abcevild\ne\nf\tg"


def test_escape_with_limit_counts_the_escaped_length_and_never_splits_an_entity() -> None:
    out = escape_mrkdwn("&" * 100, 10)
    assert out == "&amp;…"
    out = escape_mrkdwn("ab<cd", 5)
    assert out == "ab…"  # "&lt;" would not fit whole
    assert escape_mrkdwn("short", 10) == "short"
    assert escape_mrkdwn("exactly10!", 10) == "exactly10!"
    assert len(escape_mrkdwn("x" * 5000, 3000)) == 3000


def test_truncate_counts_characters_and_ends_with_an_ellipsis() -> None:
    assert truncate("abcdef", 4) == "abc…"
    assert truncate("abc", 3) == "abc"
    assert truncate("abc", 0) == ""
    assert truncate("ééééé", 3) == "éé…"
    assert truncate("日本語のテキスト", 4) == "日本語…"
    assert truncate("ab   cdef", 5) == "ab…"  # no dangling spaces before the ellipsis


def test_one_line() -> None:
    assert one_line("  a\n\n b\t c  ") == "a b c"


def test_plain_text_cannot_carry_mentions_or_tokens() -> None:
    out = plain("Order <!channel> @here\n<@U123> & co", 150)
    assert out == f"Order ‹!channel› @{ZWJ}here ‹@{ZWJ}U123› & co"
    assert len(plain("x" * 500, 150)) == 150


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://admin.shopify.com/store/x/orders/1", "https://admin.shopify.com/store/x/orders/1"),
        ("https://t.example/?a=1&b=2", "https://t.example/?a=1&amp;b=2"),
        ("https://t.example/a|<!channel>", "https://t.example/a%7C%3C!channel%3E"),
        ("https://t.example/a b", "https://t.example/a%20b"),
        ("http://t.example", "http://t.example"),
        ("javascript:alert(1)", None),
        ("/relative/path", None),
        ("https://", None),
        ("https://t.example/@here?u=@channel", "https://t.example/%40here?u=%40channel"),
        ("https://admin.shopify.com@evil.example/x", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_url(url: str | None, safe: str | None) -> None:
    assert safe_url(url) == safe


def test_link_escapes_the_label_and_drops_unsafe_urls() -> None:
    assert link("https://t.example/1", "Track <@U123>") == f"<https://t.example/1|Track &lt;@{ZWJ}U123&gt;>"
    assert link("javascript:alert(1)", "Track") == "Track"
    assert link(None, "Order #1001") == "Order #1001"


# ---------------------------------------------------------------------------- long, hostile input
# escape_mrkdwn / plain / link read only as much of the text as the limit needs. The
# references below are the straightforward whole-text versions: the fast ones must agree.

HOSTILE = "&<>@ \r\n\t\x00\x1b\u202e\u2066aé日"


def _reference_escape(text: str, limit: int) -> str:
    pieces = [{"&": "&amp;", "<": "&lt;", ">": "&gt;"}.get(ch, ch) for ch in defuse_mentions(clean(text))]
    if sum(len(p) for p in pieces) <= limit:
        return "".join(pieces)
    if limit <= 0:
        return ""
    out, used = [], 0
    for piece in pieces:
        if used + len(piece) > limit - 1:
            break
        out.append(piece)
        used += len(piece)
    return "".join(out).rstrip() + "…"


def _reference_plain(text: str, limit: int) -> str:
    return truncate(one_line(defuse_mentions(clean(text))).translate({60: "‹", 62: "›"}), limit)


def test_limited_escaping_agrees_with_escaping_the_whole_text() -> None:
    rng = random.Random(11)
    for _ in range(1500):
        alphabet = rng.choice([HOSTILE, "& ", "@a ", "\x00\r\n a", "\r\n", "<>&"])
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 120)))
        limit = rng.randrange(-1, 40)
        assert escape_mrkdwn(text, limit) == _reference_escape(text, limit), (text, limit)
        assert plain(text, limit) == _reference_plain(text, limit), (text, limit)
        assert link(None, text, limit=limit) == _reference_escape(one_line(text), limit), (text, limit)


MEGABYTE = 1_000_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("&" * MEGABYTE, "&amp;" * 599 + "…"),  # 599 × 5 = 2995 ≤ 2999; a 600th would not fit whole
        ("<!channel>" * (MEGABYTE // 10), ("&lt;!channel&gt;" * 188)[:2999] + "…"),  # ends "&lt;!ch…"
        ("@here " * (MEGABYTE // 6), (f"@{ZWJ}here " * 429)[:2999].rstrip() + "…"),
        ("\x00\u202e" * (MEGABYTE // 2) + "<@U1> & co", f"&lt;@{ZWJ}U1&gt; &amp; co"),  # all dropped, then text
        ("\r\n" * (MEGABYTE // 2) + "x", "…"),  # only newlines fit: they are trimmed from the cut
    ],
    ids=["ampersands", "mentions", "at-words", "controls-then-text", "newlines"],
)
def test_a_megabyte_of_hostile_text_is_cut_correctly(text: str, expected: str) -> None:
    # How fast (it reads only the head it needs): bench/escape.py, not a clock in the suite.
    out = escape_mrkdwn(text, 3000)
    assert out == expected
    assert len(out) <= 3000
    assert out.count("&") == out.count("&amp;") + out.count("&lt;") + out.count("&gt;")  # no entity split
    assert plain(text, 150) == _reference_plain(text, 150)  # plain() reads through a run of newlines
