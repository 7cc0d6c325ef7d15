"""Thread replies on cards become notes; chosen notes become playbook entries.

Notes. Every human reply in a case card's thread (the owner card or the escalation card)
is stored in `case_notes`, keyed by (channel, ts): an edit in Slack updates it, a delete
marks it deleted *and erases its text* (someone deleted it for a reason — a pasted card
number, a customer's address), and an entry made from it is retired. Text is stored as a
person reads it (the handler turns Slack markup into plain text); renderers escape it.

Promotion. A reply that starts with `playbook:` becomes an entry at once (the prefix is
dropped from the entry). Any other reply can be saved later with the "Save to playbook"
message shortcut (`promote`). An entry belongs to its case's kind and carries its case's
signal codes.

Relevance (`for_case`): same kind, not retired, sharing at least one signal with the new
case (an entry or a case without signals matches any of its kind); ranked by the number
of shared signals, then uses, then recency. Each entry shown counts as a use, and so does
each search hit; `/playbook` alone lists by uses.

Retiring: the author, whoever promoted it, or any approver (a person named in an approval
tier, or a member of a user group named there — the caller supplies that check).

Events API retries: the `event_id` is inserted into `slack_events` (ON CONFLICT DO
NOTHING … RETURNING) in the same transaction as the change it causes, so a retry finds it
and does nothing, and a change that failed leaves no mark and is redone by the retry.
Only deliveries that touch a case thread are recorded, not every message in the channel.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from sqlalchemy import Connection, Engine, and_, delete, func, or_, select, update

from blocks.format import mention
from blocks.views import PlaybookEntry
from bot import actors
from bot.schema import case_notes, cases as cases_table, playbook_entries, slack_events
from bot.store import CaseRecord, CaseRepo
from bot.store.sql import insert_ignore
from policy.models import CaseKind

log = logging.getLogger(__name__)

DELETED_BY = actors.MESSAGE_DELETED  # retired_by of an entry whose reply was deleted
MAX_WORDS = 8  # search words used; more rarely narrow anything and each costs a LIKE
MAX_CANDIDATES = 500  # entries of one kind ranked for a card: far beyond a real playbook

# `playbook:` at the very start, case-insensitive, also when Slack formatting wraps it
# (`*playbook:*`, `_Playbook_:`).
_PREFIX = re.compile(r"^\s*[*_~]*playbook[*_~]*\s*:[*_~]*\s*", re.IGNORECASE)
_LIKE_SPECIALS = re.compile(r"([\\%_])")


class PlaybookRefused(Exception):
    """A known reason nothing changed; the message is for the person who asked."""


def split_prefix(text: str) -> str | None:
    """The entry text of a `playbook: …` reply, or None if it has no prefix (or nothing after it)."""
    match = _PREFIX.match(text)
    if not match:
        return None
    body = text[match.end():].strip()
    return body or None


def entry_text_of(note_text: str) -> str:
    """What a note says as a playbook entry: without its `playbook:` prefix if it has one."""
    return split_prefix(note_text) or note_text.strip()


def ts_time(ts: str | None, default: datetime) -> datetime:
    """A Slack message ts ("1700000000.000100") as an aware UTC time: when it was written."""
    try:
        return datetime.fromtimestamp(float(ts), tz=timezone.utc) if ts else default
    except (TypeError, ValueError, OverflowError, OSError):
        return default


@dataclass(frozen=True)
class Note:
    id: int
    case_id: int
    channel: str
    ts: str
    thread_ts: str
    author: str
    text: str
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> Note:
        m = row._mapping
        return cls(**{k: m[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Entry:
    id: int
    note_id: int | None
    case_id: int | None
    kind: CaseKind
    signal_codes: tuple[str, ...]
    text: str
    author: str
    created_at: datetime
    promoted_by: str | None
    retired_at: datetime | None
    retired_by: str | None
    uses: int
    last_used_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> Entry:
        m = row._mapping
        values = {k: m[k] for k in cls.__dataclass_fields__}
        values["kind"] = CaseKind(m["kind"])
        values["signal_codes"] = _codes(m["signal_codes"])
        return cls(**values)

    @property
    def retired(self) -> bool:
        return self.retired_at is not None

    def view(self) -> PlaybookEntry:
        """What a case card shows: who wrote it, when, and what it says."""
        return PlaybookEntry(author=self.author, created_at=self.created_at, text=self.text)


@dataclass(frozen=True)
class ReplyOutcome:
    """What a thread-reply event did.

    status: `stored` (new note), `updated` (edit applied), `deleted`, `unchanged` (an edit
    that changed nothing, e.g. an unfurl), `duplicate` (this event_id or message was seen
    already), `ignored` (not a reply in a case card's thread).
    `promoted` is the entry this event created, if any (a `playbook:` reply).
    """

    status: str
    note: Note | None = None
    entry: Entry | None = None
    promoted: Entry | None = None


@dataclass(frozen=True)
class PromoteOutcome:
    """What "Save to playbook" did. status: `promoted`, `already` (it is an entry already;
    `entry.retired` says whether it was retired), `deleted` (the reply was deleted),
    `empty` (nothing to save), `not_a_reply` (not a reply in a case card's thread)."""

    status: str
    entry: Entry | None = None
    note: Note | None = None


def _codes(raw: str | Iterable[str] | None) -> tuple[str, ...]:
    if raw is None:
        return ()
    items = raw.split(",") if isinstance(raw, str) else raw
    return tuple(dict.fromkeys(str(c).strip() for c in items if str(c).strip()))


def _like_word(word: str) -> str:
    return "%" + _LIKE_SPECIALS.sub(r"\\\1", word) + "%"


class PlaybookService:
    Refused = PlaybookRefused  # what handlers catch and show to the person, without importing bot/

    def __init__(self, *, engine: Engine, cases: CaseRepo, clock) -> None:
        self.engine, self.cases, self.clock = engine, cases, clock

    # --- reading --------------------------------------------------------------------------

    def case_for_thread(self, channel: str | None, thread_ts: str | None) -> CaseRecord | None:
        """The case whose card (owner or escalation card) starts this thread."""
        if not channel or not thread_ts:
            return None
        stmt = select(cases_table).where(or_(
            and_(cases_table.c.slack_channel == channel, cases_table.c.slack_ts == thread_ts),
            and_(cases_table.c.escalation_channel == channel, cases_table.c.escalation_ts == thread_ts),
        )).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(stmt).first()
        return CaseRecord.from_row(row) if row else None

    def note(self, channel: str, ts: str) -> Note | None:
        with self.engine.connect() as conn:
            return self._note(conn, channel, ts)

    def notes_for_case(self, case_id: int, *, include_deleted: bool = False) -> list[Note]:
        stmt = select(case_notes).where(case_notes.c.case_id == case_id)
        if not include_deleted:
            stmt = stmt.where(case_notes.c.deleted_at.is_(None))
        with self.engine.connect() as conn:
            return [Note.from_row(r) for r in conn.execute(stmt.order_by(case_notes.c.created_at, case_notes.c.id))]

    def get(self, entry_id: int) -> Entry | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(playbook_entries).where(playbook_entries.c.id == entry_id)).first()
        return Entry.from_row(row) if row else None

    def entry_for_note(self, note_id: int) -> Entry | None:
        with self.engine.connect() as conn:
            return self._entry_for_note(conn, note_id)

    # --- thread replies (Events API) -------------------------------------------------------

    def record_reply(self, *, channel: str, ts: str, thread_ts: str, author: str, text: str,
                     event_id: str | None = None) -> ReplyOutcome:
        """A new human reply (`message` event with `thread_ts`): stored as a note when the
        thread is a case card's; a `playbook:` reply also becomes an entry."""
        if not thread_ts or thread_ts == ts:
            return ReplyOutcome("ignored")
        case = self.case_for_thread(channel, thread_ts)
        if case is None:
            return ReplyOutcome("ignored")
        now = self.clock()
        with self.engine.begin() as conn:
            if not self._first_delivery(conn, event_id, now):
                return ReplyOutcome("duplicate")
            note = self._insert_note(conn, case, channel=channel, ts=ts, thread_ts=thread_ts, author=author,
                                     text=text, now=now)
            if note is None:  # the message is stored already (a shortcut or an edit got there first)
                return ReplyOutcome("duplicate", note=self._note(conn, channel, ts))
            promoted = None
            if split_prefix(text):
                promoted = self._insert_entry(conn, note, case, by=author)
        log.info("playbook.note_stored case_id=%s note_id=%s author=%s promoted=%s",
                 case.id, note.id, author, promoted.id if promoted else None)
        return ReplyOutcome("stored", note=note, entry=promoted, promoted=promoted)

    def edit_reply(self, *, channel: str, ts: str, thread_ts: str | None, author: str | None, text: str,
                   event_id: str | None = None) -> ReplyOutcome:
        """`message_changed`: the note takes the new text, and so does its entry. An edit
        that adds the `playbook:` prefix promotes the note; removing it does not retire the
        entry (retire it instead). An edit of a reply we never saw is stored as new."""
        existing = self.note(channel, ts)
        if existing is None:
            if not author:
                return ReplyOutcome("ignored")
            outcome = self.record_reply(channel=channel, ts=ts, thread_ts=thread_ts or "", author=author,
                                        text=text, event_id=event_id)
            return outcome
        if existing.deleted_at is not None:
            return ReplyOutcome("ignored", note=existing)
        now = self.clock()
        promoted = None
        with self.engine.begin() as conn:
            if not self._first_delivery(conn, event_id, now):
                return ReplyOutcome("duplicate", note=existing)
            note = self._note(conn, channel, ts)
            if note is None or note.deleted_at is not None:
                return ReplyOutcome("ignored", note=note)
            entry = self._entry_for_note(conn, note.id)
            if note.text == text:
                return ReplyOutcome("unchanged", note=note, entry=entry)
            conn.execute(update(case_notes).where(case_notes.c.id == note.id).values(text=text, edited_at=now))
            new_entry_text = entry_text_of(text)
            if entry is not None and new_entry_text:
                conn.execute(update(playbook_entries).where(playbook_entries.c.id == entry.id)
                             .values(text=new_entry_text))
            elif entry is None and split_prefix(text):
                case = self._case(conn, note.case_id)
                if case is not None:
                    promoted = self._insert_entry(conn, self._note(conn, channel, ts), case, by=note.author)
            note = self._note(conn, channel, ts)
            entry = self._entry_for_note(conn, note.id)
        log.info("playbook.note_edited note_id=%s entry_id=%s", note.id, entry.id if entry else None)
        return ReplyOutcome("updated", note=note, entry=entry, promoted=promoted)

    def delete_reply(self, *, channel: str, ts: str, thread_ts: str | None = None, author: str | None = None,
                     event_id: str | None = None) -> ReplyOutcome:
        """`message_deleted`: the note is marked deleted and its text erased; an entry made
        from it is retired (and erased too). A delete that overtakes its own message
        leaves a tombstone, so the late message is not stored afterwards."""
        now = self.clock()
        existing = self.note(channel, ts)
        if existing is None:
            case = self.case_for_thread(channel, thread_ts) if thread_ts and thread_ts != ts else None
            if case is None:
                return ReplyOutcome("ignored")
            with self.engine.begin() as conn:
                if not self._first_delivery(conn, event_id, now):
                    return ReplyOutcome("duplicate")
                self._insert_note(conn, case, channel=channel, ts=ts, thread_ts=thread_ts or "",
                                  author=author or "unknown", text="", now=now, deleted_at=now)
                note = self._note(conn, channel, ts)
            return ReplyOutcome("deleted", note=note)
        with self.engine.begin() as conn:
            if not self._first_delivery(conn, event_id, now):
                return ReplyOutcome("duplicate", note=existing)
            conn.execute(update(case_notes).where(case_notes.c.id == existing.id, case_notes.c.deleted_at.is_(None))
                         .values(deleted_at=now, text=""))
            conn.execute(update(playbook_entries).where(playbook_entries.c.note_id == existing.id)
                         .values(text=""))
            conn.execute(update(playbook_entries)
                         .where(playbook_entries.c.note_id == existing.id, playbook_entries.c.retired_at.is_(None))
                         .values(retired_at=now, retired_by=DELETED_BY))
            note = self._note(conn, channel, ts)
            entry = self._entry_for_note(conn, existing.id)
        log.info("playbook.note_deleted note_id=%s entry_id=%s", existing.id, entry.id if entry else None)
        return ReplyOutcome("deleted", note=note, entry=entry)

    # --- promotion -------------------------------------------------------------------------

    def promote(self, *, channel: str, ts: str, by: str, thread_ts: str | None = None,
                author: str | None = None, text: str | None = None) -> PromoteOutcome:
        """"Save to playbook" on a message. A reply we have no note for (written before the
        bot was in the channel, or its event was lost) is stored first from what the
        shortcut carries (`thread_ts`, `author`, `text`)."""
        now = self.clock()
        note = self.note(channel, ts)
        if note is None:
            case = self.case_for_thread(channel, thread_ts) if thread_ts and thread_ts != ts else None
            if case is None or not author:
                return PromoteOutcome("not_a_reply")
            if not entry_text_of(text or ""):
                return PromoteOutcome("empty")
            with self.engine.begin() as conn:
                self._insert_note(conn, case, channel=channel, ts=ts, thread_ts=thread_ts or "", author=author,
                                  text=text or "", now=now)
            note = self.note(channel, ts)
            if note is None:  # cannot happen: inserted, or inserted by someone else just now
                return PromoteOutcome("not_a_reply")
        if note.deleted_at is not None:
            return PromoteOutcome("deleted", note=note)
        if not entry_text_of(note.text):
            return PromoteOutcome("empty", note=note)
        case = self.cases.get(note.case_id)
        if case is None:
            return PromoteOutcome("not_a_reply", note=note)
        with self.engine.begin() as conn:
            entry = self._insert_entry(conn, note, case, by=by)
            if entry is None:
                return PromoteOutcome("already", entry=self._entry_for_note(conn, note.id), note=note)
        log.info("playbook.promoted entry_id=%s note_id=%s by=%s", entry.id, note.id, by)
        return PromoteOutcome("promoted", entry=entry, note=note)

    # --- using the playbook -----------------------------------------------------------------

    def for_case(self, kind, signal_codes, limit: int = 3, *, count_use: bool = True) -> tuple[PlaybookEntry, ...]:
        """The most relevant entries for a card (blocks.views.PlaybookEntry), best first:
        same kind, not retired, sharing a signal (see the module docstring), ranked by
        shared signals, then uses, then recency. Each one returned counts as a use."""
        entries = self.relevant(kind, signal_codes, limit=limit)
        if count_use and entries:
            self._count_use([e.id for e in entries])
        return tuple(e.view() for e in entries)

    def relevant(self, kind, signal_codes, limit: int = 3) -> list[Entry]:
        """`for_case` without counting a use, as `Entry`s."""
        if limit <= 0:
            return []
        kind_value = CaseKind(kind).value
        wanted = set(_codes(signal_codes))
        stmt = (select(playbook_entries)
                .where(playbook_entries.c.kind == kind_value, playbook_entries.c.retired_at.is_(None))
                .order_by(playbook_entries.c.uses.desc(), playbook_entries.c.created_at.desc(),
                          playbook_entries.c.id.desc())
                .limit(MAX_CANDIDATES))
        with self.engine.connect() as conn:
            candidates = [Entry.from_row(r) for r in conn.execute(stmt)]
        scored = []
        for entry in candidates:
            if not entry.text.strip():
                continue
            shared = len(wanted & set(entry.signal_codes))
            if shared == 0 and wanted and entry.signal_codes:
                continue  # about other risks: noise on this card
            scored.append((shared, entry))
        scored.sort(key=lambda se: (-se[0], -se[1].uses, -se[1].created_at.timestamp(), -se[1].id))
        return [e for _, e in scored[:limit]]

    def search(self, query: str, limit: int = 10, *, count_use: bool = True) -> list[Entry]:
        """Active entries whose text holds every word of `query` (case-insensitive),
        most used first. Each hit counts as a use."""
        words = [w.casefold() for w in query.split()][:MAX_WORDS]
        if not words:
            return self.most_used(limit)
        stmt = select(playbook_entries).where(playbook_entries.c.retired_at.is_(None))
        # SQL narrows with the ASCII words, which lower() folds the same way on SQLite and
        # PostgreSQL whatever the collation; every word is then checked with casefold().
        for word in words:
            if word.isascii():
                stmt = stmt.where(func.lower(playbook_entries.c.text).like(_like_word(word), escape="\\"))
        stmt = stmt.order_by(playbook_entries.c.uses.desc(), playbook_entries.c.created_at.desc(),
                             playbook_entries.c.id.desc())
        with self.engine.connect() as conn:
            rows = [Entry.from_row(r) for r in conn.execute(stmt.limit(MAX_CANDIDATES))]
        hits = [e for e in rows if all(w in e.text.casefold() for w in words)][:limit]
        if count_use and hits:
            self._count_use([e.id for e in hits])
        return hits

    def most_used(self, limit: int = 10) -> list[Entry]:
        stmt = (select(playbook_entries).where(playbook_entries.c.retired_at.is_(None),
                                               playbook_entries.c.text != "")
                .order_by(playbook_entries.c.uses.desc(), playbook_entries.c.created_at.desc(),
                          playbook_entries.c.id.desc())
                .limit(limit))
        with self.engine.connect() as conn:
            return [Entry.from_row(r) for r in conn.execute(stmt)]

    # --- retiring --------------------------------------------------------------------------

    def may_retire(self, entry: Entry, user: str, is_approver: Callable[[str], bool]) -> bool:
        return user in (entry.author, entry.promoted_by) or bool(is_approver(user))

    def retire(self, entry_id: int, by: str, *,
               is_approver: Callable[[str], bool] = lambda user: False) -> Entry:
        """Retire an entry: it no longer shows on cards or in `/playbook`. Only its author,
        whoever promoted it, or an approver may."""
        entry = self.get(entry_id)
        if entry is None:
            raise PlaybookRefused(f"There is no playbook entry #{entry_id}.")
        if entry.retired:
            raise PlaybookRefused(_already_retired(entry))
        if not self.may_retire(entry, by, is_approver):
            raise PlaybookRefused(
                f"Only the author ({mention(entry.author)}) or an approver can retire playbook entry #{entry.id}."
            )
        now = self.clock()
        with self.engine.begin() as conn:
            res = conn.execute(update(playbook_entries)
                               .where(playbook_entries.c.id == entry_id, playbook_entries.c.retired_at.is_(None))
                               .values(retired_at=now, retired_by=by))
            current = Entry.from_row(conn.execute(
                select(playbook_entries).where(playbook_entries.c.id == entry_id)).one())
        if res.rowcount != 1:  # someone retired it a moment ago
            raise PlaybookRefused(_already_retired(current))
        log.info("playbook.retired entry_id=%s by=%s", entry_id, by)
        return current

    # --- housekeeping ----------------------------------------------------------------------

    def prune_events(self, before: datetime) -> int:
        """Forget Events API ids received before `before` (Slack retries within minutes)."""
        with self.engine.begin() as conn:
            return conn.execute(delete(slack_events).where(slack_events.c.received_at < before)).rowcount

    # --- internals -------------------------------------------------------------------------

    def _first_delivery(self, conn: Connection, event_id: str | None, now: datetime) -> bool:
        """True the first time this Events API event_id is seen (recorded in this
        transaction); False for a retry. No id (a test, a replay) counts as first."""
        if not event_id:
            return True
        stmt = (insert_ignore(self.engine, slack_events, ["event_id"])
                .values(event_id=event_id[:64], received_at=now).returning(slack_events.c.event_id))
        return conn.execute(stmt).scalar() is not None

    def _insert_note(self, conn: Connection, case: CaseRecord, *, channel: str, ts: str, thread_ts: str,
                     author: str, text: str, now: datetime, deleted_at: datetime | None = None) -> Note | None:
        stmt = (insert_ignore(self.engine, case_notes, ["channel", "ts"])
                .values(case_id=case.id, channel=channel, ts=ts, thread_ts=thread_ts, author=author[:64],
                        text=text, created_at=ts_time(ts, now), deleted_at=deleted_at)
                .returning(case_notes.c.id))
        if conn.execute(stmt).scalar() is None:
            return None
        return self._note(conn, channel, ts)

    def _insert_entry(self, conn: Connection, note: Note, case: CaseRecord, *, by: str) -> Entry | None:
        """A new entry from `note` (None if the note has one already)."""
        return self.insert_entry(conn, case, text=entry_text_of(note.text), author=note.author,
                                 created_at=note.created_at, by=by, note_id=note.id)

    def insert_entry(self, conn: Connection, case: CaseRecord, *, text: str, author: str, created_at: datetime,
                     by: str, note_id: int | None = None) -> Entry | None:
        """An entry of `case`'s kind carrying its signals, in the caller's transaction: every
        way into the playbook (a reply, the shortcut, a saved proposal) stores it so. None
        if `note_id` has an entry already."""
        stmt = (insert_ignore(self.engine, playbook_entries, ["note_id"])
                .values(note_id=note_id, case_id=case.id, kind=case.kind.value,
                        signal_codes=",".join(case.signal_codes), text=text,
                        author=author[:64], created_at=created_at, promoted_by=by[:64], uses=0)
                .returning(playbook_entries.c.id))
        entry_id = conn.execute(stmt).scalar()
        if entry_id is None:
            return None
        return Entry.from_row(conn.execute(select(playbook_entries).where(playbook_entries.c.id == entry_id)).one())

    @staticmethod
    def _note(conn: Connection, channel: str, ts: str) -> Note | None:
        row = conn.execute(select(case_notes).where(case_notes.c.channel == channel, case_notes.c.ts == ts)).first()
        return Note.from_row(row) if row else None

    @staticmethod
    def _case(conn: Connection, case_id: int) -> CaseRecord | None:
        """The case, read on `conn` (a second connection would wait on SQLite's write lock)."""
        row = conn.execute(select(cases_table).where(cases_table.c.id == case_id)).first()
        return CaseRecord.from_row(row) if row else None

    @staticmethod
    def _entry_for_note(conn: Connection, note_id: int) -> Entry | None:
        row = conn.execute(select(playbook_entries).where(playbook_entries.c.note_id == note_id)).first()
        return Entry.from_row(row) if row else None

    def _count_use(self, ids: list[int]) -> None:
        """uses + 1 for each; a failure here never costs a card its render."""
        try:
            with self.engine.begin() as conn:
                conn.execute(update(playbook_entries).where(playbook_entries.c.id.in_(ids))
                             .values(uses=playbook_entries.c.uses + 1, last_used_at=self.clock()))
        except Exception:
            log.exception("playbook.count_use_failed ids=%s", ids)


def _already_retired(entry: Entry) -> str:
    if entry.retired_by == DELETED_BY:
        return f"Playbook entry #{entry.id} is already retired: its reply was deleted."
    return f"Playbook entry #{entry.id} was already retired by {mention(entry.retired_by)}."
