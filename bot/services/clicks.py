"""A click on a case card (or a modal submitted from one), from the ack to the decision.

The handler turns Slack's payload into a `Click` — plain, JSON-safe values — and hands it
to `SlackServices.submit_click` before it acks. What `submit_click` does is the host's
choice: run `ClickService.handle` on the background executor (the default), or persist
the click first (`Click.to_payload()` into a job row: one insert before the ack) and
handle it in a worker after (`ClickService.handle(Click.from_payload(row.payload))`).
Either way `handle` runs after the ack, decides, and tells the person privately about a
refusal or a failure — nothing fails silently.

The correlation id is made when the click arrives and is logged (`extra=`) at every step
of the background work, so a click can be followed through the logs; it is also the
reference a person is given when something goes wrong.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from bot.services.decide import DecideService, DecisionRefused
from bot.services.effects import DENY_AS, REMEDIES
from bot.services.followup import CHOICES as FOLLOWUP_CHOICES, Followups
from bot.services.remedies import Remedies
from policy.models import Money

log = logging.getLogger(__name__)

VERBS = frozenset({"approve", "deny", "escalate", "retry", "override", "followup", "concede", "assign", "remedy",
                   "send", "reclassify"})
PAYLOAD_VERSION = 1
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,20}")

APOLOGY = "Something went wrong on our side and nothing was changed. Reference: `{ref}`."


def new_correlation_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class Click:
    """What a person asked for, and everything needed to answer them.

    `channel`/`message_ts` are the card the click was made on (for a modal: the card it was
    opened from, as signed into the modal); the decision checks they are the case's card.
    `thread_ts` is where to answer when the card sits in a thread.
    """

    verb: str
    case_id: int
    version: int
    user: str
    channel: str | None
    message_ts: str | None
    thread_ts: str | None = None
    correlation_id: str = field(default_factory=new_correlation_id)
    view_id: str | None = None  # the modal a deny/escalate was submitted from
    # deny
    reason: str | None = None
    customer_message: str | None = None
    notify_customer: bool = False
    internal_note: str | None = None
    deny_as: str | None = None  # a returns platform's return: "close" | "cancel"
    # escalate
    note: str | None = None
    # remedy (a delayed shipment): the choice, "reship" or "refund_shipping".
    # followup (an exception at receipt): the choice, and a partial refund's amount as
    # validated in the modal (decimal string + currency); a no-refund's message is
    # `customer_message`.
    choice: str | None = None
    amount: str | None = None
    currency: str | None = None
    # assign (a dispute's Assign picker): the Slack user picked
    assignee: str | None = None

    def __post_init__(self) -> None:
        if self.verb not in VERBS:
            raise ValueError(f"unknown verb {self.verb!r}")
        for name in ("case_id", "version"):
            value = getattr(self, name)
            if type(value) is not int or value < (1 if name == "case_id" else 0):
                raise ValueError(f"{name} must be a non-negative int, got {value!r}")
        if not isinstance(self.user, str) or not self.user:
            raise ValueError("user is required")
        if self.verb == "deny" and not self.reason:
            raise ValueError("a deny needs a reason")
        if self.verb == "remedy" and self.choice not in REMEDIES:
            raise ValueError(f"unknown remedy {self.choice!r}")
        if self.verb == "followup" and self.choice not in FOLLOWUP_CHOICES:
            raise ValueError(f"unknown follow-up choice {self.choice!r}")
        if self.deny_as is not None and self.deny_as not in DENY_AS:
            raise ValueError(f"deny_as must be one of {DENY_AS}")
        if self.verb == "assign" and not (isinstance(self.assignee, str) and _SLACK_USER.fullmatch(self.assignee)):
            raise ValueError("an assignment needs a Slack user id")
        if self.choice == "partial_refund" and not (self.amount and self.currency):
            raise ValueError("a partial refund needs an amount")
        if type(self.notify_customer) is not bool:
            raise ValueError("notify_customer must be a bool")
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name not in ("case_id", "version", "notify_customer") and value is not None and not isinstance(value, str):
                raise ValueError(f"{f.name} must be a string, got {type(value).__name__}")

    def to_payload(self) -> dict[str, Any]:
        """JSON-safe (str, int, bool, None only)."""
        # Flat values only, so no deep copy (asdict's) on the ack path.
        return {"v": PAYLOAD_VERSION, **{name: getattr(self, name) for name in _FIELDS}}

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> Click:
        """The click `to_payload` made. Keys this version doesn't know are ignored (a newer
        replica may have written the row); a missing or malformed required one raises
        ValueError."""
        if not isinstance(data, dict):
            raise ValueError("a click payload is a JSON object")
        if data.get("v", PAYLOAD_VERSION) != PAYLOAD_VERSION:
            raise ValueError(f"unknown click payload version {data.get('v')!r}")
        known = {f.name for f in fields(cls)}
        missing = {"verb", "case_id", "version", "user"} - data.keys()
        if missing:
            raise ValueError(f"click payload lacks {', '.join(sorted(missing))}")
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def log_extra(self) -> dict[str, Any]:
        return {"correlation_id": self.correlation_id, "case_id": self.case_id, "user": self.user, "verb": self.verb}


_FIELDS = tuple(f.name for f in fields(Click))


class ClickService:
    """Decides a click after the ack and answers the person privately."""

    def __init__(self, *, decide: DecideService, gateway, followups: Followups | None = None) -> None:
        self.decide = decide
        self.gateway = gateway  # integrations.slack.gateway.SlackGateway (post_ephemeral)
        self.followups = followups or Followups(decide=decide)

    def handle(self, click: Click) -> None:
        extra = click.log_extra
        log.info("click.handling corr=%s case_id=%s user=%s verb=%s", click.correlation_id, click.case_id,
                 click.user, click.verb, extra=extra)
        try:
            case = self.decide.load(click.case_id)
            self.decide.check_card(case, click.user, click.channel, click.message_ts)
            after = self._decide(click)
        except DecisionRefused as exc:
            log.info("click.refused corr=%s case_id=%s reason=%s", click.correlation_id, click.case_id, exc.code,
                     extra={**extra, "reason": exc.code})
            self._tell(click, str(exc), exc.case)
            return
        except Exception:
            log.exception("click.failed corr=%s case_id=%s", click.correlation_id, click.case_id, extra=extra)
            self._tell(click, APOLOGY.format(ref=click.correlation_id), None)
            return
        log.info("click.decided corr=%s case_id=%s status=%s version=%s", click.correlation_id, click.case_id,
                 after.status.value, after.version,
                 extra={**extra, "status": after.status.value, "version": after.version})

    def _decide(self, click: Click):
        d, case_id, user, version = self.decide, click.case_id, click.user, click.version
        if click.verb == "approve":
            return d.approve(case_id, user, version=version)
        if click.verb == "override":
            return d.override(case_id, user, version=version)
        if click.verb == "send":  # a ticket's reply, edited in the modal
            return d.send_edited(case_id, user, click.customer_message or "", version=version)
        if click.verb == "reclassify":
            return d.reclassify(case_id, user, version=version)
        if click.verb == "retry":
            return d.retry(case_id, user, version=version)
        if click.verb == "followup":
            amount = Money.of(click.amount, click.currency) if click.amount and click.currency else None
            return self.followups.carry_out(case_id, user, choice=click.choice, amount=amount,
                                            message=click.customer_message, version=version)
        if click.verb == "remedy":
            return Remedies(decide=d).carry_out(case_id, user, remedy=click.choice, version=version)
        if click.verb == "concede":
            return d.concede(case_id, user, version=version)
        if click.verb == "assign":
            return d.assign(case_id, user, click.assignee, version=version)
        if click.verb == "deny":
            return d.deny(case_id, user, reason=click.reason, internal_note=click.internal_note,
                          customer_message=click.customer_message, notify_customer=click.notify_customer,
                          version=version, deny_as=click.deny_as)
        return d.escalate(case_id, user, click.note or "", version=version)

    def _tell(self, click: Click, text: str, case) -> None:
        channel = click.channel
        if channel is None and case is not None:
            channel = case.escalation_channel if case.escalation_ts else case.slack_channel
        if not channel:
            log.info("click.untold corr=%s user=%s text=%s", click.correlation_id, click.user, text,
                     extra=click.log_extra)
            return
        try:
            self.gateway.post_ephemeral(channel, click.user, text=text, thread_ts=click.thread_ts)
        except Exception:  # telling them failed too: the log is all we have
            log.exception("click.untold corr=%s user=%s", click.correlation_id, click.user, extra=click.log_extra)


def click_job(payload: Any, arrived: datetime):
    """The job a stored click payload becomes (bot.jobs.click_intake). Never raises: a
    payload this version can't read becomes a job born dead, for an operator, so it can't
    hold up the clicks stored with it. A case's clicks run one at a time, in order."""
    from bot.jobs.kinds import Kind
    from bot.store.jobs import NewJob

    try:
        click = Click.from_payload(payload)
    except (TypeError, ValueError) as exc:
        return NewJob(kind=Kind.CLICK, system="slack", operation="unreadable", created_at=arrived,
                      payload=payload if isinstance(payload, dict) else {"stored": payload},
                      dead_reason=f"not a click: {exc}"[:2000])
    return NewJob(kind=Kind.CLICK, system="slack", operation=click.verb, payload=payload, case_id=click.case_id,
                  order_key=f"click:{click.case_id}", correlation_id=click.correlation_id[:32] if click.correlation_id else None,
                  created_at=arrived)


class ClickJobs:
    """Runs `click` jobs: a click stored before its ack, decided after (by `ClickService`,
    which answers the person itself, refusals and failures included)."""

    def __init__(self, services) -> None:
        self.services = services  # () -> SlackServices, built lazily by the container

    def run(self, job):
        from bot.jobs.runner import Done

        try:
            click = Click.from_payload(job.payload)
        except (TypeError, ValueError, KeyError) as exc:
            from bot.jobs.errors import Permanent

            raise Permanent(f"not a click: {exc}") from exc
        self.services().clicks.handle(click)
        return Done(click.verb)
