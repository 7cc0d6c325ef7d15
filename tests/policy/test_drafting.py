"""The guardrails and templates (pure): what a draft may say, in English and German."""

from __future__ import annotations

from datetime import date

import pytest

from policy.drafting import (TEMPLATE_LANGUAGES, DraftContext, DraftDecision, DraftItem, check_draft,
                             redact_card_numbers, template_reply)
from policy.models import Action, Money
from policy.triage import Intent
from policy.voice import Voice

EUR = lambda a: Money.of(a, "EUR")  # noqa: E731
CTX = DraftContext(customer_first_name="Anna", language="en", intent=Intent.RETURN, order_number="#1001",
                   items=(DraftItem(title="Merino Sweater", quantity=2, unit_price=EUR("72.50")),),
                   order_total=EUR("145.00"), ordered_on=date(2026, 11, 2), delivered_on=date(2026, 11, 5),
                   carrier="DHL", tracking_number="1Z999AA10123456784")
REFUND = DraftDecision(action=Action.REFUND, amount=EUR("72.50"))
DENY = DraftDecision(action=Action.DENY, reason="the return window ended on 5 December")
CREDIT = DraftDecision(action=Action.STORE_CREDIT, amount=EUR("72.50"))
OK = "Hi Anna,\n\n{}\n\nKind regards,\nThe customer care team"


def problems(body: str, decision: DraftDecision = REFUND, **kw) -> tuple[str, ...]:
    return check_draft(OK.format(body), CTX, decision, **kw)


@pytest.mark.parametrize("body", [
    "We refunded €72.50 for one Merino Sweater of order #1001.",
    "We refunded 72,50 € for order #1001; the order total was €145.00.",
    "Your parcel with tracking number 1Z999AA10123456784 was delivered on Thursday, 5 November.",
    "Ihre Bestellung vom 2. November 2026 wurde am 05.11.2026 zugestellt. Erstattung: 72,50 EUR.",
    "Both sweaters came to €145.00 (2 × €72.50), delivered on November 5th.",
])
def test_facts_from_the_context_pass(body):
    assert problems(body) == ()


@pytest.mark.parametrize("body, expected", [
    ("We refunded €80.00.", "the amount '€80.00' is not in the order facts or the decision"),
    ("Wir erstatten 1.234,56 €.", "the amount '1.234,56 €' is not in the order facts or the decision"),
    ("We refunded $72.50.", "the amount '$72.50' is not in the order facts or the decision"),
    ("We refunded 160.00 to your card.", "the amount '160.00' is not in the order facts or the decision"),
    ("Wir erstatten 1234,56.", "the amount '1234,56' is not in the order facts or the decision"),
    ("It will arrive on 12 December.", "the date '12 December' is not in the order facts"),
    ("Sie kommt am 12.12.2026 an.", "the date '12.12.2026' is not in the order facts"),
    ("It should arrive by Friday.", "the day 'Friday' is not the weekday of a date in the order facts"),
    ("About your order #1002 …", "the order number '#1002' is not the customer's order"),
    ("Track it with 1Z999AA10999999999.", "the number '1Z999AA10999999999' is not the order's tracking or order number"),
    ('We also sent you a free "Cashmere Scarf".', "the product 'Cashmere Scarf' is not one of the order's items"),
    ("Hi {first_name}, thanks.", "the reply contains a placeholder '{first_name}'"),
    ("Your risk score was too high to refund.", "the reply mentions internal matters ('risk score')"),
    ("Our fraud team approved it; refund sent.", "the reply mentions internal matters ('fraud')"),
    ("The outside_window signal fired; refund sent.", "the reply mentions internal matters"),
    ("Unfortunately it took long, but the refund is sent.", "the reply uses the phrase 'unfortunately'"),
])
def test_inventions_and_leaks_are_named(body, expected):
    found = problems(body)
    assert any(p.startswith(expected) for p in found), found


def test_a_product_from_the_catalog_that_is_not_in_the_order_is_an_invention():
    found = problems("We refunded the Alpaca Beanie.", catalog=("Alpaca Beanie", "Merino Sweater"))
    assert found == ("the product 'Alpaca Beanie' is not one of the order's items",)
    assert problems("We refunded the Merino Sweater.", catalog=("Alpaca Beanie", "Merino Sweater")) == ()


@pytest.mark.parametrize("decision, body", [
    (DENY, "Good news: we have refunded your order #1001."),
    (DENY, "Wir haben Ihnen den Betrag zurückerstattet."),
    (DENY, "Nous avons remboursé votre commande."),
    (CREDIT, "Your refund of €72.50 is on its way."),
    (DraftDecision(), "We will refund you once it is back."),
    (DENY, "We will send you a replacement right away."),
    (REFUND, "We have added €72.50 store credit to your account."),
    (DENY, "No worries, your refund is on its way."),
    (DENY, "We could not reach you, so we refunded the order."),
])
def test_nothing_is_promised_that_the_decision_does_not_make(decision, body):
    assert any("the reply promises" in p for p in problems(body, decision)), problems(body, decision)


@pytest.mark.parametrize("body", [
    "We are not able to offer a refund for order #1001, because the return window ended on 5 December.",
    "Leider können wir keine Erstattung anbieten.",
    "Eine Erstattung ist in diesem Fall nicht möglich.",
    "No podemos ofrecer un reembolso.",
])
def test_saying_there_is_no_refund_is_not_a_promise(body):
    assert problems(body, DENY) == ()


def test_length_bounds():
    voice = Voice(min_chars=40, max_chars=200)
    assert check_draft("Hi.", CTX, REFUND, voice=voice) == ("the reply is shorter than 40 characters",)
    long = OK.format("Thanks. " * 40)
    assert check_draft(long, CTX, REFUND, voice=voice) == (f"the reply is longer than 200 characters ({len(long)})",)


def test_internal_texts_may_not_be_repeated():
    note = "customer tried the same claim on another account last month"
    found = problems("We refunded it. The customer tried the same claim on another account last month.",
                     internal_texts=(note,))
    assert found and found[0].startswith("the reply repeats internal text")


@pytest.mark.parametrize("language", TEMPLATE_LANGUAGES + ("fr",))
@pytest.mark.parametrize("action", [*Action, None])
@pytest.mark.parametrize("intent", [Intent.RETURN, Intent.DELIVERY])
def test_every_template_passes_the_checks(language, action, intent):
    amount = EUR("72.50") if action in (Action.REFUND, Action.REFUND_SHIPPING, Action.STORE_CREDIT) else None
    decision = DraftDecision(action=action, amount=amount, reason="the item was worn" if action is Action.DENY else None)
    ctx = CTX.model_copy(update={"language": language, "intent": intent})
    text, notes = template_reply(ctx, decision, Voice())
    assert check_draft(text, ctx, decision) == ()
    assert notes == (() if language in TEMPLATE_LANGUAGES else ("no template in 'fr': the reply is in English",))


def test_templates_speak_german():
    ctx = CTX.model_copy(update={"language": "de"})
    text, _ = template_reply(ctx, REFUND, Voice(brand_name="Acme", sign_off="Ihr Acme-Team"))
    assert text.startswith("Hallo Anna,\n\nDanke für Ihre Nachricht. Wir haben eine Erstattung von €72.50 für Ihre "
                           "Bestellung #1001 veranlasst.")
    assert text.endswith("Viele Grüße\nIhr Acme-Team\nAcme")


def test_a_money_promise_without_its_amount_is_not_made():
    text, _ = template_reply(CTX, DraftDecision(action=Action.REFUND), Voice())
    assert "refund" not in text.casefold() and "personally" in text


def test_card_numbers_are_removed_and_other_numbers_kept():
    assert redact_card_numbers("card 4242-4242-4242-4242, order 1001, tracking 1Z999AA10123456784") == (
        "card [card number removed], order 1001, tracking 1Z999AA10123456784")
    assert redact_card_numbers("DHL 00340434161094042557") == "DHL 00340434161094042557"  # not Luhn-valid


@pytest.mark.parametrize("language, words", [
    ("en", "The reason: the return period for this order has ended."),
    ("de", "Der Grund: die Rückgabefrist für diese Bestellung ist abgelaufen."),
])
def test_a_decline_reason_is_worded_in_the_customers_language(language, words):
    from policy.models import DeclineReason

    decision = DraftDecision(action=Action.DENY, decline=DeclineReason.OUTSIDE_WINDOW)
    ctx = CTX.model_copy(update={"language": language})
    text, _ = template_reply(ctx, decision, Voice())
    assert words in text and check_draft(text, ctx, decision) == ()
    assert decision.facts() == {"action": "deny", "reason": "the return period for this order has ended"}


def test_what_the_customer_was_charged_in_their_currency_may_be_named():
    from tests.llm.factories import anna, sweater_order
    from zoneinfo import ZoneInfo

    order = sweater_order(presentment_total=Money.of("124.10", "GBP"))
    ctx = DraftContext.for_order(order, anna(), language="en", intent=Intent.RETURN, message="", tz=ZoneInfo("UTC"))
    assert ctx.charged_total == Money.of("124.10", "GBP") and ctx.facts()["charged_total"] == "£124.10"
    decision = DraftDecision(action=Action.REFUND, amount=Money.of("124.10", "GBP"))
    assert check_draft(OK.format("We refunded £124.10 (€145.00) for order #1001."), ctx, decision) == ()


def test_the_return_window_end_may_be_named_when_the_context_has_it():
    ctx = CTX.model_copy(update={"return_window_ends_on": date(2026, 12, 5)})
    body = "The return period for order #1001 ended on 5 December 2026."
    assert check_draft(OK.format(body), ctx, DraftDecision(action=Action.DENY)) == ()
    assert check_draft(OK.format(body), CTX, DraftDecision(action=Action.DENY)) != ()


# --- a returnless refund ([returns] returnless_refund_up_to): the customer keeps the items ---

KEEP = DraftDecision(action=Action.REFUND, amount=EUR("72.50"), keep_items=True)


@pytest.mark.parametrize("body", [
    "We refunded €72.50 for order #1001. You do not need to send the items back.",
    "We refunded €72.50 for order #1001 — please keep the items.",
    "Wir erstatten 72,50 €. Sie müssen die Artikel nicht zurücksenden.",
    "We refunded €72.50; no need to return the sweater.",
])
def test_keeping_the_items_is_only_said_for_a_returnless_refund(body):
    assert problems(body, KEEP) == ()
    found = problems(body, REFUND)  # a refund of a return: the items are to come back
    assert any("tells the customer to keep the items" in p for p in found), found


def test_a_return_that_comes_back_may_ask_for_the_items():
    assert problems("We refunded €72.50 for order #1001. Please send the sweater back to us.", REFUND) == ()


@pytest.mark.parametrize("lang, words", [("en", "You do not need to send the items back"),
                                         ("de", "Sie müssen die Artikel nicht zurücksenden")])
def test_the_returnless_template_says_to_keep_the_items_and_passes_its_guardrail(lang, words):
    ctx = CTX.model_copy(update={"language": lang})
    text, _ = template_reply(ctx, KEEP, Voice())
    assert words in text and ("72,50" in text or "72.50" in text)
    assert check_draft(text, ctx, KEEP) == ()
    plain, _ = template_reply(ctx, REFUND, Voice())
    assert words not in plain and check_draft(plain, ctx, REFUND) == ()


def test_returnless_is_a_refund_at_or_below_the_threshold_and_off_at_zero():
    from decimal import Decimal

    from policy.ticket_case import returnless

    assert returnless(Action.REFUND, EUR("72.50"), Decimal("72.50"))
    assert not returnless(Action.REFUND, EUR("72.51"), Decimal("72.50"))
    assert not returnless(Action.REFUND, EUR("1.00"), Decimal("0"))  # off by default
    assert not returnless(Action.STORE_CREDIT, EUR("1.00"), Decimal("100"))
    assert not returnless(Action.EXCHANGE, None, Decimal("100"))
