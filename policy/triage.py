"""Ticket triage in our terms, and the deterministic classifier.

A support ticket is classified into an intent, a sentiment, an urgency, a language and the
order it is about. Claude does it when it can (bot/llm/triage.py); `classify_by_rules` is
what decides without a key or when the model fails: keywords in English, German, French,
Spanish and Dutch, and an order-number pattern. It is deliberately plain — a person reads
every card, and the card says which of the two decided.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from enum import StrEnum
from typing import Literal

from pydantic import Field

from policy.models import Frozen, Order


class Intent(StrEnum):
    RETURN = "return"
    DELIVERY = "delivery"
    PRODUCT_QUESTION = "product_question"
    WHOLESALE = "wholesale"
    COMPLAINT = "complaint"
    OTHER = "other"


class Sentiment(StrEnum):
    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"


class Urgency(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class Tokens(Frozen):
    """What one or more model calls used, for the caller to record (cost per ticket)."""

    input: int = 0
    output: int = 0
    cache_creation: int = 0  # input tokens written to the prompt cache
    cache_read: int = 0  # input tokens read from it (billed at a fraction)
    calls: int = 0

    def __add__(self, other: Tokens) -> Tokens:
        return Tokens(input=self.input + other.input, output=self.output + other.output,
                      cache_creation=self.cache_creation + other.cache_creation,
                      cache_read=self.cache_read + other.cache_read, calls=self.calls + other.calls)


NO_TOKENS = Tokens()

Decider = Literal["claude", "rules"]


class Classification(Frozen):
    intent: Intent
    sentiment: Sentiment
    urgency: Urgency
    language: str = Field(pattern=r"^[a-z]{2}$")  # ISO 639-1
    order_ref: str | None = None  # an order name as the store spells it, "#1001"
    by: Decider
    tokens: Tokens = NO_TOKENS
    # Why the rules decided instead of Claude ("no ANTHROPIC_API_KEY", "Claude overloaded
    # (529) past the 30 s retry window"): the card shows it.
    fallback_reason: str | None = None


# --- order numbers ----------------------------------------------------------------------

# "#1001", "order 1001", "Bestellung Nr. 1001", "commande n° 1001", "pedido 1001".
_ORDER_WORDS = (r"order|ordernumber|bestellung|bestellnummer|auftrag|commande|pedido|bestelling|"
                r"bestelnummer")
_ORDER_REF = re.compile(
    rf"#\s?(\d{{3,10}})\b|\b(?:{_ORDER_WORDS})\s*(?:no\.?|nr\.?|number|nummer|n°|num\.?|#)?\s*:?\s*#?(\d{{3,10}})\b",
    re.IGNORECASE,
)


def order_numbers_in(text: str) -> list[str]:
    """Order numbers written in the text, as "#1001", in order of appearance."""
    found = []
    for match in _ORDER_REF.finditer(text):
        number = f"#{match.group(1) or match.group(2)}"
        if number not in found:
            found.append(number)
    return found


def pick_order(text: str, candidates: Sequence[Order]) -> str | None:
    """The order a ticket is about: a number in the text (one of the requester's orders
    first, else the first written), else the requester's most recent order."""
    written = order_numbers_in(text)
    names = {_digits(o.name): o.name for o in candidates}
    for number in written:
        if _digits(number) in names:
            return names[_digits(number)]
    if written:
        return written[0]
    if candidates:
        return max(candidates, key=lambda o: o.created_at).name
    return None


def _digits(name: str) -> str:
    return re.sub(r"\D", "", name)


# --- language ---------------------------------------------------------------------------

# Frequent short words per language: enough to tell these apart in a ticket.
_STOPWORDS = {
    "en": "the and is my i you to it of for have with not was this order please thanks hello hi".split(),
    "de": "der die das und ist mein meine ich sie nicht mit für habe ein eine bitte danke hallo "
          "bestellung wurde noch kein".split(),
    "fr": "le la les et est mon ma je vous pas avec pour une un merci bonjour commande ai".split(),
    "es": "el la los las y es mi yo usted no con para una un gracias hola pedido tengo".split(),
    "nl": "de het en is mijn ik u niet met voor een graag bedankt hallo bestelling heb".split(),
}


def detect_language(text: str, *, email: str | None = None) -> str:
    words = _words(text)
    scores = {lang: sum(1 for w in words if w in stop) for lang, stop in _STOPWORDS.items()}
    best = max(scores, key=lambda lang: scores[lang])
    if scores[best] == 0 or list(scores.values()).count(scores[best]) > 1:
        # Too little text to tell: the requester's country domain, else English.
        domain = (email or "").rsplit(".", 1)[-1].lower()
        return {"de": "de", "at": "de", "ch": "de", "fr": "fr", "es": "es", "nl": "nl"}.get(domain, "en")
    return best


def _words(text: str) -> list[str]:
    return re.findall(r"[a-zäöüßéèêàçñáíóú']+", text.casefold())


def _fold(text: str) -> str:
    """Case- and accent-free text for keyword matching ("Rückgabe" → "ruckgabe")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("ß", "ss"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# --- intent, sentiment, urgency ---------------------------------------------------------

# Word stems (accent-free, lower case), matched at the start of a word. Checked in this
# order: a complaint about a return is a complaint (it goes first in the queue).
_INTENT_KEYWORDS: tuple[tuple[Intent, tuple[str, ...]], ...] = (
    (Intent.WHOLESALE, ("wholesale", "bulk order", "reseller", "stockist", "distribut", "b2b",
                        "grosshandel", "wiederverkauf", "handlerpreis", "en gros", "revendeur",
                        "mayorista", "al por mayor", "groothandel")),
    (Intent.COMPLAINT, ("complain", "unacceptable", "disgust", "terrible", "worst", "rude", "scam",
                        "beschwerde", "unverschamt", "frechheit", "inakzeptabel", "katastroph",
                        "plainte", "inadmissible", "inaceptable", "queja", "reclamacion", "klacht",
                        "schandalig", "onaanvaardbaar")),
    (Intent.RETURN, ("return", "refund", "send back", "send it back", "exchange", "money back",
                     "rucksend", "zurucksend", "zuruckschick", "ruckgabe", "zuruckgeben", "umtausch",
                     "erstattung", "ruckerstatt", "geld zuruck", "retour", "rembours", "echange",
                     "devolu", "devolver", "reembols", "cambiar", "terugsturen", "terugbetal",
                     "ruilen")),
    (Intent.DELIVERY, ("where is", "tracking", "track my", "deliver", "shipping", "shipped", "parcel",
                       "package", "not arrived", "hasn't arrived", "has not arrived", "still waiting",
                       "lieferung", "geliefert", "sendung", "paket", "versand", "angekommen",
                       "zustell", "wo ist", "livraison", "colis", "livre", "suivi", "envio", "entrega",
                       "paquete", "seguimiento", "levering", "pakket", "bezorg", "verzend")),
    (Intent.PRODUCT_QUESTION, ("size", "sizing", "fit", "material", "in stock", "restock", "available",
                               "colour", "color", "does it", "is it", "do you have", "do you sell",
                               "haben sie", "gibt es", "grosse", "passt", "verfugbar", "lieferbar", "farbe",
                               "taille", "disponible", "talla", "maat", "beschikbaar")),
)

_NEGATIVE = ("angry", "furious", "disappoint", "unhappy", "annoyed", "frustrat", "upset", "awful",
             "terrible", "unacceptable", "never again", "worst", "broken", "damaged", "still not",
             "verargert", "enttausch", "sauer", "wutend", "kaputt", "beschadigt", "schlecht", "leider",
             "immer noch", "decu", "furieux", "casse", "enfadado", "decepcion", "roto", "boos",
             "teleurgesteld", "kapot")
_POSITIVE = ("thank", "love", "great", "amazing", "happy", "wonderful", "danke", "toll", "super",
             "liebe", "merci", "genial", "gracias", "encanta", "bedankt", "geweldig")
_URGENT = ("urgent", "asap", "immediately", "right now", "today", "emergency", "lawyer", "chargeback",
           "dispute", "dringend", "sofort", "heute", "anwalt", "eilig", "urgente", "immediatement",
           "inmediato", "abogado", "avocat", "spoed", "meteen", "advocaat")


def _has(folded: str, stems: Sequence[str]) -> bool:
    return any(re.search(rf"(?<![a-z]){re.escape(stem)}", folded) for stem in stems)


def classify_by_rules(ticket_text: str, *, subject: str = "", requester_email: str | None = None,
                      candidates: Sequence[Order] = (), reason: str | None = None) -> Classification:
    """The deterministic classifier: same text in, same answer out."""
    text = f"{subject}\n{ticket_text}"
    folded = _fold(text)
    intent = next((i for i, stems in _INTENT_KEYWORDS if _has(folded, stems)), Intent.OTHER)
    negative, positive = _has(folded, _NEGATIVE), _has(folded, _POSITIVE)
    if negative or intent is Intent.COMPLAINT:
        sentiment = Sentiment.NEGATIVE
    elif positive:
        sentiment = Sentiment.POSITIVE
    else:
        sentiment = Sentiment.NEUTRAL
    if _has(folded, _URGENT) or text.count("!") >= 3:
        urgency = Urgency.HIGH
    elif intent in (Intent.PRODUCT_QUESTION, Intent.WHOLESALE, Intent.OTHER) and sentiment is not Sentiment.NEGATIVE:
        urgency = Urgency.LOW
    else:
        urgency = Urgency.NORMAL
    return Classification(
        intent=intent, sentiment=sentiment, urgency=urgency,
        language=detect_language(text, email=requester_email),
        order_ref=pick_order(text, candidates), by="rules", fallback_reason=reason,
    )
