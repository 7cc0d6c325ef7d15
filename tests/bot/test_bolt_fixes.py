"""The form-body fix: the word "payload" in a slash command's text must not lose the body."""

import json
from urllib.parse import urlencode

from bot.bolt_fixes import parse_body

FORM = "application/x-www-form-urlencoded"


def test_slash_command_mentioning_payload_keeps_its_fields():
    body = urlencode({"command": "/playbook", "text": "payload refunds", "user_id": "U1"})
    assert parse_body(body, FORM) == {"command": "/playbook", "text": "payload refunds", "user_id": "U1"}


def test_interactivity_payload_still_parsed():
    body = urlencode({"payload": json.dumps({"type": "block_actions", "user": {"id": "U1"}})})
    assert parse_body(body, FORM)["type"] == "block_actions"


def test_json_bodies_untouched():
    assert parse_body('{"type": "event_callback"}', "application/json") == {"type": "event_callback"}
    assert parse_body("", FORM) == {}


def test_form_fields_are_exactly_what_parse_qsl_makes_of_any_body():
    """The fast decoder against the standard library, on what Slack sends and on every
    malformed escape a fuzzer over the characters that matter can make."""
    import random
    from urllib.parse import parse_qsl, quote, quote_plus

    from bot.bolt_fixes import form_fields

    def same(body: str) -> None:
        assert form_fields(body) == dict(parse_qsl(body, keep_blank_values=True)), body

    payload = {"type": "block_actions", "user": {"id": "U1", "name": "Zoë 😀 & co = 100%"},
               "actions": [{"value": "v1:case:7:3", "text": "a+b c\nd\r\te"}]}
    same(urlencode({"payload": json.dumps(payload)}))
    same(urlencode({"payload": json.dumps(payload, ensure_ascii=False)}))
    same("payload=" + quote(json.dumps(payload)))  # spaces as %20, not +
    for body in ["", "&", "a", "a=", "=b", "a=1&a=2", "a=%", "a=%4", "a=%zz", "a=%%41", "a=%4%41", "a=%41%",
                 "a=%c3%a9", "a=%C3", "a=%ff%fe", "a=%0A%0D", "a=%3D%3d", "a=%41=%42", "a=x%0", "a=é%41",
                 "a=%41\n", "a=%41\r%42", "a=+%2B+", "%61=%62", "a=%_41", "a=%-1"]:
        same(body)
    rng = random.Random(7)
    alphabet = ["%", "%", "%4", "%41", "%c3", "%a9", "%FF", "%0a", "=", "&", "+", "a", "Z", "0", "f", "g",
                "é", "\n", "\r", " ", "_", "%%", quote_plus("ü")]
    for _ in range(20_000):
        same("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))))
