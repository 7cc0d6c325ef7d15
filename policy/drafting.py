"""Customer replies: what a draft may know, what it must not say, and the templates.

`DraftContext` is everything a reply needs and nothing more: the customer's first name and
language, the order number, items, amounts, dates, tracking, and the customer's own
message. No card numbers, payment ids, risk scores, internal notes or other customers:
`DraftContext.for_order` picks the fields one by one from the domain objects, so anything
new on an Order stays out until someone adds it here on purpose.

`check_draft` is the guardrail, in code, before a person sees a draft: every amount, date,
order number, tracking number and product it names is in the context; it promises nothing
the decision does not (no refund on a deny or a store credit, in every language we check);
no internal words (risk score, fraud, policy internals) or internal text; length bounds;
no placeholders left.

`template_reply` is the deterministic reply (English and German; other languages get the
English one, and the draft says so), used without Claude and when a Claude draft fails
its checks twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field

from policy.models import Action, Customer, DeclineReason, Frozen, Money, Order, Shipment, charged_if_other
from policy.triage import Intent, NO_TOKENS, Tokens
from policy.voice import Voice

TEMPLATE_LANGUAGES = ("en", "de")


class DraftItem(Frozen):
    title: str
    quantity: int = 1
    unit_price: Money | None = None


class DraftContext(Frozen):
    customer_first_name: str | None = None
    language: str = Field(default="en", pattern=r"^[a-z]{2}$")
    intent: Intent = Intent.OTHER
    order_number: str | None = None  # "#1001"
    items: tuple[DraftItem, ...] = ()
    order_total: Money | None = None
    charged_total: Money | None = None  # what the customer paid, when in another currency than the shop's
    ordered_on: date | None = None
    shipped_on: date | None = None
    delivered_on: date | None = None
    estimated_delivery_on: date | None = None
    return_window_ends_on: date | None = None  # the last day a return is accepted, when it matters
    carrier: str | None = None
    tracking_number: str | None = None
    customer_message: str = ""  # the ticket text: data for the reply, never instructions

    @classmethod
    def for_order(cls, order: Order | None, customer: Customer | None, *, language: str, intent: Intent,
                  message: str, tz: ZoneInfo, return_items: Iterable[str] | None = None,
                  return_window_ends_on: date | None = None) -> DraftContext:
        """The context of a reply about `order`: each field chosen here on purpose.
        `return_items` (titles) narrows the items to those a return is about."""
        first = _first_name(customer.display_name) if customer else None
        if order is None:
            return cls(customer_first_name=first, language=language, intent=intent,
                       customer_message=redact_card_numbers(message))
        wanted = set(return_items) if return_items is not None else None
        items = tuple(DraftItem(title=li.title, quantity=li.quantity, unit_price=li.unit_price)
                      for li in order.line_items if wanted is None or li.title in wanted)
        shipment = _latest(order.shipments)
        day = (lambda t: t.astimezone(tz).date() if t else None)
        return cls(
            customer_first_name=first, language=language, intent=intent, order_number=order.name,
            items=items, order_total=order.total, charged_total=charged_if_other(order.total, order.presentment_total),
            ordered_on=day(order.created_at),
            shipped_on=day(shipment.shipped_at) if shipment else None,
            delivered_on=day(shipment.delivered_at) if shipment else None,
            estimated_delivery_on=day(shipment.estimated_delivery_at) if shipment else None,
            return_window_ends_on=return_window_ends_on,
            carrier=shipment.carrier if shipment else None,
            tracking_number=shipment.tracking_number if shipment else None,
            customer_message=redact_card_numbers(message),
        )

    @property
    def amounts(self) -> tuple[Money, ...]:
        out = [m for m in (self.order_total, self.charged_total) if m is not None]
        for item in self.items:
            if item.unit_price is not None:
                out += [item.unit_price, item.unit_price * item.quantity]
        return tuple(out)

    @property
    def dates(self) -> tuple[date, ...]:
        return tuple(d for d in (self.ordered_on, self.shipped_on, self.delivered_on, self.estimated_delivery_on,
                                 self.return_window_ends_on) if d)

    def facts(self) -> dict:
        """The context as plain JSON-able facts (what is sent to the model, without the message)."""
        out = self.model_dump(mode="json", exclude={"customer_message"}, exclude_none=True)
        out["items"] = [{"title": i.title, "quantity": i.quantity,
                         **({"unit_price": i.unit_price.format()} if i.unit_price else {})} for i in self.items]
        for name in ("order_total", "charged_total"):
            if (money := getattr(self, name)) is not None:
                out[name] = money.format()
        return out


def _first_name(display_name: str) -> str | None:
    parts = display_name.strip().split()
    return parts[0] if parts and "@" not in parts[0] else None


def _latest(shipments: Sequence[Shipment]) -> Shipment | None:
    dated = [s for s in shipments if s.shipped_at] or list(shipments)
    return max(dated, key=lambda s: s.shipped_at or datetime.min.replace(tzinfo=ZoneInfo("UTC"))) if dated else None


class DraftDecision(Frozen):
    """What was decided, in the customer's terms. `action` None: an answer, no store action."""

    action: Action | None = None
    amount: Money | None = None  # the refund or store credit, when there is one
    reason: str | None = None  # customer-facing ("the 30-day return window ended on 2 May")
    decline: DeclineReason | None = None  # a deny's reason code: the templates word it per language
    # A returnless refund ([returns] returnless_refund_up_to): the customer keeps the items.
    # Only then may the reply say they need not send them back.
    keep_items: bool = False

    def reason_in(self, language: str) -> str | None:
        """The customer-facing reason: the one given, else the decline reason's words."""
        if self.reason:
            return self.reason
        if self.decline is None or self.decline is DeclineReason.OTHER:
            return None
        return _DECLINE_WORDS.get(language, _DECLINE_WORDS["en"])[self.decline]

    @property
    def promises_refund(self) -> bool:
        return self.action in (Action.REFUND, Action.REFUND_SHIPPING)

    @property
    def promises_credit(self) -> bool:
        return self.action is Action.STORE_CREDIT

    @property
    def promises_replacement(self) -> bool:
        return self.action in (Action.EXCHANGE, Action.RESHIP)

    def facts(self) -> dict:
        out: dict = {"action": self.action.value if self.action else "answer_only"}
        if self.amount is not None:
            out["amount"] = self.amount.format()
        if (reason := self.reason_in("en")):
            out["reason"] = reason
        if self.keep_items:
            out["keep_items"] = "the customer keeps the items: tell them they need not send them back"
        return out


_DECLINE_WORDS = {
    "en": {DeclineReason.OUTSIDE_WINDOW: "the return period for this order has ended",
           DeclineReason.FINAL_SALE: "the item was sold as final sale and cannot be returned"},
    "de": {DeclineReason.OUTSIDE_WINDOW: "die Rückgabefrist für diese Bestellung ist abgelaufen",
           DeclineReason.FINAL_SALE: "der Artikel war als Final Sale von der Rückgabe ausgeschlossen"},
}


class Draft(Frozen):
    text: str
    by: Literal["claude", "template"]
    problems: tuple[str, ...] = ()  # why Claude's drafts were replaced (the card flags it)
    tokens: Tokens = NO_TOKENS

    @property
    def flagged(self) -> bool:
        return bool(self.problems)


# --- card numbers in customer text ------------------------------------------------------

_CARD_LIKE = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def redact_card_numbers(text: str) -> str:
    """A customer who pastes a card number into a ticket: it never goes further."""
    def replace(match: re.Match) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        return "[card number removed]" if 13 <= len(digits) <= 19 and _luhn(digits) else match.group(0)
    return _CARD_LIKE.sub(replace, text)


# --- the guardrails ---------------------------------------------------------------------

_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}
_CODES = r"USD|EUR|GBP|CAD|AUD|CHF|SEK|NOK|DKK|JPY|PLN|CZK"
_NUMBER = r"\d{1,3}(?:[.,\u202f' ]\d{3})*(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_AMOUNT = re.compile(
    rf"(?:(?P<pre>[$€£¥]|\b(?:{_CODES}|CA\$|A\$))\s?(?P<n1>{_NUMBER}))"
    rf"|(?:(?P<n2>{_NUMBER})\s?(?P<post>[$€£¥]|(?:{_CODES})\b|euros?\b|dollars?\b|pounds?\b))",
    re.IGNORECASE,
)

_MONTHS = {
    **{m: i for i, m in enumerate(["january", "february", "march", "april", "may", "june", "july", "august",
                                    "september", "october", "november", "december"], 1)},
    **{m: i for i, m in enumerate(["januar", "februar", "märz", "april", "mai", "juni", "juli", "august",
                                    "september", "oktober", "november", "dezember"], 1)},
    **{m: i for i, m in enumerate(["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
                                    "septembre", "octobre", "novembre", "décembre"], 1)},
    **{m: i for i, m in enumerate(["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
                                    "septiembre", "octubre", "noviembre", "diciembre"], 1)},
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10,
    "nov": 11, "dec": 12, "jänner": 1, "okt": 10, "dez": 12,
}
_MONTH = "|".join(sorted(map(re.escape, _MONTHS), key=len, reverse=True))
_DATE_PATTERNS = (
    re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b"),
    re.compile(r"\b(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{2,4})?"),
    re.compile(r"\b(?P<m>\d{1,2})/(?P<d>\d{1,2})(?:/(?P<y>\d{2,4}))?\b"),
    re.compile(rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th|er)?\.?\s+(?:de\s+)?(?P<mn>{_MONTH})\b\.?"
               rf"(?:\s+(?:de\s+)?(?P<y>\d{{4}}))?", re.IGNORECASE),
    re.compile(rf"\b(?P<mn>{_MONTH})\b\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<y>\d{{4}}))?", re.IGNORECASE),
)

# Words that promise money back, store credit or a replacement, per language (stems).
_REFUND_WORDS = (r"refund", r"reimburs", r"money back", r"paid back", r"erstatt", r"rückerstatt",
                 r"rueckerstatt", r"geld zurück", r"geld zurueck", r"zurücküberwies", r"rembours",
                 r"reembols", r"devolveremos (?:el|tu|su) dinero", r"terugbetal", r"geld terug")
_CREDIT_WORDS = (r"store credit", r"gift card", r"voucher", r"gutschein", r"guthaben", r"avoir",
                 r"bon d'achat", r"crédito", r"vale de compra", r"tegoedbon")
_REPLACEMENT_WORDS = (r"replacement", r"exchange", r"send (?:you )?a new", r"ersatz", r"umtausch",
                      r"austausch", r"remplacement", r"échange", r"reemplazo", r"cambio", r"vervanging",
                      r"omruil")
# Telling the customer to keep the items (no return needed): only a returnless refund may.
_KEEP_ITEMS = re.compile(r"\bkeep (?:the|your) (?:items?|products?|articles?)\b|\bplease keep (?:it|them)\b|"
                         r"\b(?:no need|need not|needn't|don't need|do not need|not necessary) to "
                         r"(?:send|return|post|ship)|\bbehalten\b|nicht zurück(?:zu)?senden|nicht zurückschicken|"
                         r"keine rücksendung", re.IGNORECASE)
# A negation close to a promise word takes the promise back ("we cannot offer a refund",
# "eine Erstattung ist nicht möglich"); "no worries, …" is not a negation.
_NEGATION = re.compile(r"\bnot\b|n't\b|\bcannot\b|\bunable\b|\bnicht\b|\bkeine?[nrs]?\b|\bpas\b|\bne\b|"
                       r"\bniet\b|\bgeen\b|\bno\b(?!\s*[,!.]|\s+(?:problem|worries|worry)\b)")
_BEFORE, _AFTER = 8, 6  # words around a promise word, within its clause, searched for a negation
# What a customer must never read: our risk model and the policy's machinery.
_INTERNAL_WORDS = (r"risk score", r"risk level", r"risikoscore", r"risikobewertung", r"risikostufe", r"fraud",
                   r"betrug",
                   r"fraude", r"serial returner", r"approval tier", r"auto[- ]approv", r"chargeback risk",
                   r"radar", r"signal", r"internal note", r"interne notiz", r"note interne",
                   r"policy engine", r"\b[a-z]+_[a-z_]+\b")
_PLACEHOLDER = re.compile(r"\{[^}]*\}|\[(?:name|first name|order|amount|date|tracking)[^\]]*\]|<[A-Z_]+>|\bXXX+\b",
                          re.IGNORECASE)
_WEEKDAYS = {name: i % 7 for i, name in enumerate(
    "monday tuesday wednesday thursday friday saturday sunday "
    "montag dienstag mittwoch donnerstag freitag samstag sonntag".split())} | {"sonnabend": 5}
_WEEKDAY = re.compile(r"\b(?:" + "|".join(_WEEKDAYS) + r")\b", re.IGNORECASE)
_BARE_DECIMAL = re.compile(r"(?<![\d.,#])\d+(?:[.,\u202f]\d{3})*[.,]\d{2}(?![\d.,]\d)")  # 160.00, 1.234,56
_ORDER_NUMBER = re.compile(r"#\s?\d{3,}")
_LONG_TOKEN = re.compile(r"\b(?=[A-Z0-9]*\d)[A-Z0-9]{8,}\b")  # a tracking-number-like token
_QUOTED = re.compile(r"[\"“„«]([^\"”“«»]{3,80})[\"”“»]")


def check_draft(draft: str | Draft, context: DraftContext, decision: DraftDecision, *, voice: Voice = Voice(),
                internal_texts: Iterable[str] = (), catalog: Iterable[str] = ()) -> tuple[str, ...]:
    """Problems with a draft, each a sentence the model can act on; () when it may be shown.

    `internal_texts`: the case's internal notes, reasons and signals — none may appear.
    `catalog`: product titles the shop sells — any named that is not in the context is an
    invention (which product the customer bought is a fact of the context).
    """
    text = draft.text if isinstance(draft, Draft) else draft
    problems: list[str] = []
    folded = text.casefold()
    allowed_text = " ".join([voice.brand_name, voice.sign_off, *voice.use_phrases, *voice.examples,
                             decision.reason_in(context.language) or ""])

    if len(text.strip()) < voice.min_chars:
        problems.append(f"the reply is shorter than {voice.min_chars} characters")
    if len(text) > voice.max_chars:
        problems.append(f"the reply is longer than {voice.max_chars} characters ({len(text)})")
    if (match := _PLACEHOLDER.search(text)):
        problems.append(f"the reply contains a placeholder {match.group(0)!r}")

    reason = decision.reason_in(context.language) or ""
    allowed_amounts = [m for m in (*context.amounts, decision.amount) if m is not None]
    reason_amounts = {v for v, _ in filter(None, (_amount_of(m) for m in _AMOUNT.finditer(reason)))}
    spans: list[tuple[int, int]] = []
    for match in _AMOUNT.finditer(text):
        spans.append(match.span())
        written = _amount_of(match)
        if written is None:
            continue
        value, currency = written
        if value in reason_amounts:
            continue
        if not any(m.amount == value and (currency is None or currency == m.currency) for m in allowed_amounts):
            problems.append(f"the amount {match.group(0).strip()!r} is not in the order facts or the decision")

    allowed_dates = context.dates
    reason_dates = {_date_of(m) for p in _DATE_PATTERNS for m in p.finditer(reason)}
    for pattern in _DATE_PATTERNS:
        for match in pattern.finditer(text):
            if _overlaps(match.span(), spans):
                continue
            when = _date_of(match)
            if when is None:
                continue
            spans.append(match.span())
            year, month, day = when
            if any(r and r[1:] == (month, day) and (year is None or r[0] in (None, year)) for r in reason_dates):
                continue
            if not any(d.month == month and d.day == day and (year is None or d.year == year) for d in allowed_dates):
                problems.append(f"the date {match.group(0).strip().rstrip('.')!r} is not in the order facts")

    weekdays = {d.weekday() for d in allowed_dates}
    for match in _WEEKDAY.finditer(text):
        if _WEEKDAYS[match.group(0).casefold()] not in weekdays:
            problems.append(f"the day {match.group(0)!r} is not the weekday of a date in the order facts")

    for match in _BARE_DECIMAL.finditer(text):
        if _overlaps(match.span(), spans):
            continue
        value = _parse_number(match.group(0))
        if value is not None and value not in reason_amounts and not any(m.amount == value for m in allowed_amounts):
            problems.append(f"the amount {match.group(0)!r} is not in the order facts or the decision")

    known_ids = {re.sub(r"\s", "", x).casefold() for x in (context.order_number, context.tracking_number) if x}
    for match in _ORDER_NUMBER.finditer(text):
        if re.sub(r"\s", "", match.group(0)).casefold() not in known_ids:
            problems.append(f"the order number {match.group(0)!r} is not the customer's order")
    for match in _LONG_TOKEN.finditer(text):
        token = match.group(0).casefold()
        if token not in known_ids and f"#{token}" not in known_ids and token not in allowed_text.casefold():
            problems.append(f"the number {match.group(0)!r} is not the order's tracking or order number")

    titles = [i.title.casefold() for i in context.items]
    for match in _QUOTED.finditer(text):
        quoted = match.group(1).strip().casefold()
        if not any(quoted in t or t in quoted for t in titles) and quoted not in allowed_text.casefold():
            problems.append(f"the product {match.group(1)!r} is not one of the order's items")
    for product in catalog:
        name = product.casefold()
        if name and name in folded and not any(name in t or t in name for t in titles):
            problems.append(f"the product {product!r} is not one of the order's items")

    promise_checks = (
        (decision.promises_refund, _REFUND_WORDS, "a refund"),
        (decision.promises_credit, _CREDIT_WORDS, "store credit"),
        (decision.promises_replacement, _REPLACEMENT_WORDS, "a replacement or exchange"),
    )
    action = decision.action.label if decision.action else "an answer without any store action"
    for allowed, words, what in promise_checks:
        if allowed:
            continue
        for sentence in _sentences(text):
            low = sentence.casefold()
            if _promises(low, words):
                problems.append(f"the reply promises {what}, but the decision is {action}: {sentence.strip()!r}")
                break

    if not decision.keep_items:
        for sentence in _sentences(text):
            if _KEEP_ITEMS.search(sentence):
                problems.append(f"the reply tells the customer to keep the items, but the decision is {action} "
                                f"and the items are to come back: {sentence.strip()!r}")
                break

    for word in _INTERNAL_WORDS:
        if (match := re.search(word, folded)) and match.group(0) not in allowed_text.casefold():
            problems.append(f"the reply mentions internal matters ({match.group(0)!r})")
            break
    for avoid in voice.avoid_phrases:
        if avoid.casefold() in folded:
            problems.append(f"the reply uses the phrase {avoid!r}, which the brand avoids")
    for internal in internal_texts:
        for fragment in _fragments(internal):
            if fragment in folded:
                problems.append(f"the reply repeats internal text ({fragment!r})")
                break
    return tuple(dict.fromkeys(problems))


def _promises(sentence: str, words: Sequence[str]) -> bool:
    for word in words:
        for match in re.finditer(word, sentence):
            before = re.split(r"[,;:–—]", sentence[: match.start()])[-1]
            after = re.split(r"[,;:–—]", sentence[match.end():])[0]
            before, after = " ".join(before.split()[-_BEFORE:]), " ".join(after.split()[:_AFTER])
            if not _NEGATION.search(before) and not _NEGATION.search(after):
                return True
    return False


def _amount_of(match: re.Match) -> tuple[Decimal, str | None] | None:
    number = match.group("n1") or match.group("n2")
    mark = (match.group("pre") or match.group("post") or "").strip()
    currency = _SYMBOLS.get(mark) or {"ca$": "CAD", "a$": "AUD"}.get(mark.casefold())
    if currency is None and mark.upper() in _CODES.split("|"):
        currency = mark.upper()
    if currency is None and mark.casefold().startswith("euro"):
        currency = "EUR"
    value = _parse_number(number)
    return None if value is None else (value, currency)


def _parse_number(text: str) -> Decimal | None:
    text = text.replace("\u202f", "").replace("'", "").replace(" ", "")
    if re.fullmatch(r"\d+[.,]\d{1,2}", text):
        text = text.replace(",", ".")
    elif re.search(r"[.,]\d{1,2}$", text):  # 1.234,56 or 1,234.56
        decimals = text[-3:] if text[-3] in ".," else text[-2:]
        text = re.sub(r"[.,]", "", text[: -len(decimals)]) + "." + decimals[1:]
    else:
        text = re.sub(r"[.,]", "", text)
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _date_of(match: re.Match) -> tuple[int | None, int, int] | None:
    groups = match.groupdict()
    month = _MONTHS.get(groups["mn"].casefold().rstrip(".")) if groups.get("mn") else int(groups["m"])
    day = int(groups["d"])
    year = int(groups["y"]) if groups.get("y") else None
    if year is not None and year < 100:
        year += 2000
    if not month or not 1 <= month <= 12 or not 1 <= day <= 31:
        return None
    return year, month, day


def _overlaps(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in spans)


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]


def _fragments(internal: str) -> list[str]:
    """Runs of six words from an internal text: long enough not to be ordinary phrasing."""
    words = internal.casefold().split()
    if len(words) < 6:
        return [internal.casefold().strip()] if len(internal.strip()) >= 12 else []
    return [" ".join(words[i:i + 6]) for i in range(len(words) - 5)]


# --- the deterministic templates --------------------------------------------------------

_GREETING = {"en": "Hi {name},", "de": "Hallo {name},"}
_GREETING_NO_NAME = {"en": "Hello,", "de": "Guten Tag,"}
_THANKS = {"en": "Thanks for getting in touch.", "de": "Danke für Ihre Nachricht."}
_CLOSING = {"en": "Kind regards,", "de": "Viele Grüße"}

_BODIES: dict[str, dict[str, str]] = {
    "en": {
        "refund": "We have approved a refund of {amount} for your order {order}. It goes back to your "
                  "original payment method; your bank may take a few days to show it.",
        "refund_shipping": "We have approved a refund of {amount} for the shipping on your order {order}.",
        "store_credit": "We have issued store credit of {amount} for your order {order}. You can use it on "
                        "your next purchase.",
        "exchange": "We have approved an exchange for your order {order}. We will send the replacement as soon "
                    "as your return reaches us.",
        "reship": "We are sending your order {order} to you again at no cost.",
        "deny": "We have looked at your request about order {order} carefully and are not able to accept this "
                "return.{reason}",
        "escalate": "A member of our team is looking into your order {order} personally and will get back to "
                    "you shortly.",
        "delivery": "Your order {order} is on its way{carrier}.{tracking}",
        "delivered": "Our carrier reports your order {order} as delivered on {delivered}.{tracking} If it is not "
                     "with you, please check with neighbours first and tell us, and we will look into it.",
        "answer": "We have received your message about {about} and will get back to you shortly.",
    },
    "de": {
        "refund": "Wir haben eine Erstattung von {amount} für Ihre Bestellung {order} veranlasst. Der Betrag geht "
                  "auf Ihr ursprüngliches Zahlungsmittel zurück; Ihre Bank kann einige Tage brauchen.",
        "refund_shipping": "Wir haben die Versandkosten Ihrer Bestellung {order} in Höhe von {amount} erstattet.",
        "store_credit": "Wir haben Ihnen für Ihre Bestellung {order} ein Guthaben von {amount} ausgestellt. Sie "
                        "können es beim nächsten Einkauf einlösen.",
        "exchange": "Wir haben einen Umtausch für Ihre Bestellung {order} veranlasst. Den Ersatz schicken wir, "
                    "sobald Ihre Rücksendung bei uns ist.",
        "reship": "Wir schicken Ihnen Ihre Bestellung {order} kostenlos noch einmal.",
        "deny": "Wir haben Ihre Anfrage zur Bestellung {order} sorgfältig geprüft, können diese Rücksendung aber "
                "nicht annehmen.{reason}",
        "escalate": "Jemand aus unserem Team kümmert sich persönlich um Ihre Bestellung {order} und meldet sich "
                    "in Kürze bei Ihnen.",
        "delivery": "Ihre Bestellung {order} ist unterwegs{carrier}.{tracking}",
        "delivered": "Laut Zusteller wurde Ihre Bestellung {order} am {delivered} zugestellt.{tracking} Falls sie "
                     "nicht bei Ihnen ist, fragen Sie bitte zuerst bei Nachbarn nach und geben Sie uns Bescheid.",
        "answer": "Wir haben Ihre Nachricht zu {about} erhalten und melden uns in Kürze bei Ihnen.",
    },
}
_YOUR_ORDER = {"en": "your order", "de": "Ihrer Bestellung"}
_WITH_CARRIER = {"en": " with {carrier}", "de": " mit {carrier}"}
_TRACKING = {"en": " The tracking number is {tracking}.", "de": " Die Sendungsnummer lautet {tracking}."}
_REASON = {"en": " The reason: {reason}.", "de": " Der Grund: {reason}."}
_KEEP = {"en": " You do not need to send the items back: please keep them.",
         "de": " Sie müssen die Artikel nicht zurücksenden: Bitte behalten Sie sie."}


def template_reply(context: DraftContext, decision: DraftDecision, voice: Voice) -> tuple[str, tuple[str, ...]]:
    """(text, notes): the deterministic reply in the customer's language, and what it could
    not do (a language without a template)."""
    notes: tuple[str, ...] = ()
    lang = context.language
    if lang not in TEMPLATE_LANGUAGES:
        notes = (f"no template in '{lang}': the reply is in English",)
        lang = "en"
    order = context.order_number or _YOUR_ORDER[lang]
    key = _body_key(context, decision)
    body = _BODIES[lang][key].format(
        amount=decision.amount.format() if decision.amount else "",
        order=order,
        reason=_REASON[lang].format(reason=reason.rstrip(".")) if (reason := decision.reason_in(lang)) else "",
        carrier=_WITH_CARRIER[lang].format(carrier=context.carrier) if context.carrier else "",
        tracking=_TRACKING[lang].format(tracking=context.tracking_number) if context.tracking_number else "",
        delivered=_spoken_date(context.delivered_on, lang) if context.delivered_on else "",
        about=context.order_number or {"en": "your request", "de": "Ihrer Anfrage"}[lang],
    )
    if decision.keep_items and key == "refund":
        body += _KEEP[lang]
    if key == "deny" and lang == "de":
        body = body.replace("zur Bestellung Ihrer Bestellung", "zu Ihrer Bestellung")
    greeting = (_GREETING[lang].format(name=context.customer_first_name) if context.customer_first_name
                else _GREETING_NO_NAME[lang])
    text = f"{greeting}\n\n{_THANKS[lang]} {body}\n\n{_CLOSING[lang]}\n{voice.sign_off}\n{voice.brand_name}"
    return text, notes


_MONTH_NAMES = {
    "en": ("January February March April May June July August September October November December").split(),
    "de": ("Januar Februar März April Mai Juni Juli August September Oktober November Dezember").split(),
}


def _spoken_date(day: date, lang: str) -> str:
    month = _MONTH_NAMES[lang][day.month - 1]
    return f"{day.day}. {month} {day.year}" if lang == "de" else f"{day.day} {month} {day.year}"


def _body_key(context: DraftContext, decision: DraftDecision) -> str:
    if decision.action is None:
        shipped = context.tracking_number or context.shipped_on
        if context.intent is not Intent.DELIVERY or not context.order_number:
            return "answer"
        return "delivered" if context.delivered_on else "delivery" if shipped else "answer"
    if decision.action in (Action.REFUND, Action.REFUND_SHIPPING, Action.STORE_CREDIT) and decision.amount is None:
        return "escalate"  # a promise of money needs its amount
    return {
        Action.REFUND: "refund", Action.REFUND_SHIPPING: "refund_shipping", Action.STORE_CREDIT: "store_credit",
        Action.EXCHANGE: "exchange", Action.RESHIP: "reship", Action.DENY: "deny",
    }.get(decision.action, "escalate")
