"""The emulator's persistent state in SQLite: threads, history, pauses, webhooks, failed deliveries.
The only module with SQL (parameterised queries); rows leave as frozen dataclasses. One thread uses it."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from pytest_flowai.errors import EmulatorError

if TYPE_CHECKING:
    from pytest_flowai._json import JSON, JSONObject

_SCHEMA = """
CREATE TABLE IF NOT EXISTS threads (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    thread_id    TEXT NOT NULL UNIQUE,
    state        TEXT NOT NULL,
    paused_until REAL,
    created      REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS history (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    thread_id  TEXT NOT NULL,
    originator TEXT NOT NULL,
    messages   TEXT NOT NULL,
    created    REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS history_by_thread ON history (thread_id, seq);
CREATE TABLE IF NOT EXISTS webhooks (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id      TEXT NOT NULL UNIQUE,
    organisation_id TEXT NOT NULL,
    url             TEXT NOT NULL,
    verify_key      TEXT NOT NULL,
    events          TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id TEXT NOT NULL,
    url        TEXT NOT NULL,
    event      TEXT NOT NULL,
    thread_id  TEXT,
    state      TEXT NOT NULL,
    attempts   INTEGER NOT NULL,
    last_error TEXT,
    created    REAL NOT NULL
);
"""

PENDING = "pending"
FAILED = "failed"


def _dump(value: JSON) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _load_object(text: str) -> JSONObject:
    value = json.loads(text)
    return cast("JSONObject", value) if isinstance(value, dict) else {}


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadRecord:
    """One conversation thread: the engine's state as JSON and whether the bot is paused.

    ``paused_until``: None = active, ``inf`` = until resumed, else an epoch time in seconds.
    """

    thread_id: str
    state: JSONObject
    paused_until: float | None
    created: float

    def paused_at(self, now: float) -> bool:
        """Whether the bot stays silent on this thread at epoch time ``now``."""
        return self.paused_until is not None and now < self.paused_until


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryEntry:
    """One history item: who spoke, and the messages of that turn (wire Message objects)."""

    originator: JSONObject
    messages: tuple[JSONObject, ...]

    def to_wire(self) -> JSONObject:
        return {"originator": self.originator, "messages": list(self.messages)}


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookRecord:
    """A Messaging API webhook subscription."""

    webhook_id: str
    organisation_id: str
    url: str
    verify_key: str
    events: tuple[str, ...]

    def to_wire(self) -> JSONObject:
        """The documented Webhook object (001_*.txt)."""
        return {
            "webhookId": self.webhook_id,
            "organisationId": self.organisation_id,
            "url": self.url,
            "verifyKey": self.verify_key,
            "events": list(self.events),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryRecord:
    """A webhook call that is still being retried (pending) or that gave up (failed)."""

    delivery_id: int
    webhook_id: str
    url: str
    event: str
    thread_id: str | None
    state: str
    attempts: int
    last_error: str | None
    created: float

    def to_wire(self) -> JSONObject:
        return {
            "deliveryId": self.delivery_id,
            "webhookId": self.webhook_id,
            "url": self.url,
            "event": self.event,
            "threadId": self.thread_id,
            "state": self.state,
            "attempts": self.attempts,
            "lastError": self.last_error,
            "created": self.created,
        }


class Store:
    """A SQLite database (a file, or ``:memory:``) holding everything the emulator remembers."""

    def __init__(self, path: str = ":memory:") -> None:
        """Open (or create) the database; ``EmulatorError`` when the file cannot be used."""
        try:
            # Autocommit: every write is one statement, so there is no transaction to forget to commit.
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.executescript(_SCHEMA)
            # A delivery that was pending when a previous process stopped will never be retried.
            self._db.execute(
                "UPDATE deliveries SET state = ?, last_error = ? WHERE state = ?",
                (FAILED, "the emulator stopped before the delivery finished", PENDING),
            )
        except sqlite3.Error as exc:
            raise EmulatorError(f"cannot open the database {path!r}: {exc}") from None

    def close(self) -> None:
        self._db.close()

    def reset(self) -> None:
        """Forget every thread, message, pause, webhook and delivery."""
        for table in ("threads", "history", "webhooks", "deliveries"):
            # Table names come from the literal tuple above, never from input.
            self._db.execute(f"DELETE FROM {table}")

    # -- threads ------------------------------------------------------------------------------------

    def thread(self, thread_id: str) -> ThreadRecord | None:
        row = self._db.execute(
            "SELECT thread_id, state, paused_until, created FROM threads WHERE thread_id = ?", (thread_id,)
        ).fetchone()
        if row is None:
            return None
        return ThreadRecord(thread_id=row[0], state=_load_object(row[1]), paused_until=row[2], created=row[3])

    def ensure_thread(self, thread_id: str, *, now: float) -> ThreadRecord:
        """The thread, created empty (active, no state) when it does not exist yet."""
        self._db.execute(
            "INSERT OR IGNORE INTO threads (thread_id, state, paused_until, created) VALUES (?, ?, NULL, ?)",
            (thread_id, "{}", now),
        )
        record = self.thread(thread_id)
        if record is None:  # pragma: no cover - the row was inserted just above
            raise LookupError(thread_id)
        return record

    def save_state(self, thread_id: str, state: JSONObject) -> None:
        self._db.execute("UPDATE threads SET state = ? WHERE thread_id = ?", (_dump(state), thread_id))

    def set_paused_until(self, thread_id: str, paused_until: float | None) -> None:
        self._db.execute("UPDATE threads SET paused_until = ? WHERE thread_id = ?", (paused_until, thread_id))

    def count_threads(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM threads").fetchone()[0])

    def thread_ids(self, *, offset: int, limit: int) -> list[str]:
        """Thread ids in creation order."""
        rows = self._db.execute(
            "SELECT thread_id FROM threads ORDER BY seq LIMIT ? OFFSET ?", (limit, offset)
        ).fetchall()
        return [row[0] for row in rows]

    # -- history ------------------------------------------------------------------------------------

    def append_history(
        self, thread_id: str, *, originator: JSONObject, messages: list[JSONObject], now: float
    ) -> None:
        self._db.execute(
            "INSERT INTO history (thread_id, originator, messages, created) VALUES (?, ?, ?, ?)",
            (thread_id, _dump(originator), _dump(list(messages)), now),
        )

    def count_history(self, thread_id: str) -> int:
        row = self._db.execute("SELECT COUNT(*) FROM history WHERE thread_id = ?", (thread_id,)).fetchone()
        return int(row[0])

    def history(self, thread_id: str, *, offset: int, limit: int) -> list[HistoryEntry]:
        """History entries of a thread, oldest first."""
        rows = self._db.execute(
            "SELECT originator, messages FROM history WHERE thread_id = ? ORDER BY seq LIMIT ? OFFSET ?",
            (thread_id, limit, offset),
        ).fetchall()
        entries = []
        for originator, messages in rows:
            loaded = json.loads(messages)
            items = tuple(m for m in loaded if isinstance(m, dict)) if isinstance(loaded, list) else ()
            entries.append(HistoryEntry(originator=_load_object(originator), messages=items))
        return entries

    # -- webhooks -----------------------------------------------------------------------------------

    def add_webhook(self, webhook: WebhookRecord) -> None:
        self._db.execute(
            "INSERT INTO webhooks (webhook_id, organisation_id, url, verify_key, events)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                webhook.webhook_id,
                webhook.organisation_id,
                webhook.url,
                webhook.verify_key,
                _dump(list(webhook.events)),
            ),
        )

    def replace_webhook(self, webhook: WebhookRecord) -> None:
        """Overwrite the stored fields of an existing webhook (its creation order is kept)."""
        self._db.execute(
            "UPDATE webhooks SET organisation_id = ?, url = ?, verify_key = ?, events = ?"
            " WHERE webhook_id = ?",
            (
                webhook.organisation_id,
                webhook.url,
                webhook.verify_key,
                _dump(list(webhook.events)),
                webhook.webhook_id,
            ),
        )

    def delete_webhook(self, webhook_id: str) -> bool:
        """Remove a webhook; False when there was none with this id."""
        cursor = self._db.execute("DELETE FROM webhooks WHERE webhook_id = ?", (webhook_id,))
        return cursor.rowcount > 0

    def webhook(self, webhook_id: str) -> WebhookRecord | None:
        row = self._db.execute(
            "SELECT webhook_id, organisation_id, url, verify_key, events FROM webhooks WHERE webhook_id = ?",
            (webhook_id,),
        ).fetchone()
        return None if row is None else _webhook_from_row(row)

    def webhooks(self) -> list[WebhookRecord]:
        """Every webhook, newest first (the documented order of the list call)."""
        rows = self._db.execute(
            "SELECT webhook_id, organisation_id, url, verify_key, events FROM webhooks ORDER BY seq DESC"
        ).fetchall()
        return [_webhook_from_row(row) for row in rows]

    # -- deliveries ---------------------------------------------------------------------------------

    def add_delivery(
        self, *, webhook_id: str, url: str, event: str, thread_id: str | None, now: float
    ) -> int:
        """Record a delivery as pending; returns its id."""
        cursor = self._db.execute(
            "INSERT INTO deliveries (webhook_id, url, event, thread_id, state, attempts, last_error, created)"
            " VALUES (?, ?, ?, ?, ?, 0, NULL, ?)",
            (webhook_id, url, event, thread_id, PENDING, now),
        )
        return int(cursor.lastrowid or 0)

    def note_attempt(self, delivery_id: int, *, attempts: int, error: str) -> None:
        self._db.execute(
            "UPDATE deliveries SET attempts = ?, last_error = ? WHERE seq = ?", (attempts, error, delivery_id)
        )

    def delivered(self, delivery_id: int) -> None:
        """A delivery that succeeded is no longer worth listing."""
        self._db.execute("DELETE FROM deliveries WHERE seq = ?", (delivery_id,))

    def give_up(self, delivery_id: int, *, attempts: int, error: str) -> None:
        self._db.execute(
            "UPDATE deliveries SET state = ?, attempts = ?, last_error = ? WHERE seq = ?",
            (FAILED, attempts, error, delivery_id),
        )

    def deliveries(self) -> list[DeliveryRecord]:
        """Pending and failed deliveries, oldest first."""
        rows = self._db.execute(
            "SELECT seq, webhook_id, url, event, thread_id, state, attempts, last_error, created"
            " FROM deliveries ORDER BY seq"
        ).fetchall()
        return [
            DeliveryRecord(
                delivery_id=row[0],
                webhook_id=row[1],
                url=row[2],
                event=row[3],
                thread_id=row[4],
                state=row[5],
                attempts=row[6],
                last_error=row[7],
                created=row[8],
            )
            for row in rows
        ]


def _webhook_from_row(row: tuple[str, str, str, str, str]) -> WebhookRecord:
    events = json.loads(row[4])
    return WebhookRecord(
        webhook_id=row[0],
        organisation_id=row[1],
        url=row[2],
        verify_key=row[3],
        events=tuple(str(e) for e in events) if isinstance(events, list) else (),
    )


__all__ = ["FAILED", "PENDING", "DeliveryRecord", "HistoryEntry", "Store", "ThreadRecord", "WebhookRecord"]
