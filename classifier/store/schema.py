"""The store's file: an SQLite database marked as a tukipyynto store, its versioned schema and migrations.

A store is recognised by SQLite's ``application_id`` header field (:data:`APPLICATION_ID`);
its schema version is the ``user_version`` field. :func:`connect` checks both (and the file's
first bytes, before SQLite touches it) and refuses a file that is not a store, is damaged or
was written by a newer version, without changing it. An older schema is brought up to date by
the :data:`MIGRATIONS` in one transaction, so a failed migration leaves the file as it was.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from ..errors import TukipyyntoError

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "MIGRATIONS", "StoreError", "StoreLockedError", "connect"]

APPLICATION_ID = 0x54554B49  # "TUKI": a store among SQLite files
SQLITE_MAGIC = b"SQLite format 3\x00"


class StoreError(TukipyyntoError, OSError):
    """A store file cannot be used: missing, not a store, damaged, newer than this library, or written with another key."""


class StoreLockedError(StoreError):
    """Another process is writing to the store."""


# Every migration takes a schema from version i to i + 1 (MIGRATIONS[i]); a new store runs them all.
# Each is a list of statements run inside the migrating transaction. Never edit a released one:
# add the next.
MIGRATIONS: list[list[str]] = [
    # 0 -> 1: contacts, their messages (by content), runs and what labelled them
    [
        """CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)""",
        """CREATE TABLE runs (
            run_id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL,           -- running, done, failed, interrupted
            library_version TEXT,
            inputs TEXT,                    -- JSON list of the inputs named (redacted)
            model_id INTEGER REFERENCES models(model_id),
            catalogue_id INTEGER REFERENCES catalogues(catalogue_id),
            settings TEXT,                  -- JSON
            counts TEXT                     -- JSON: new, seen, updated, superseded, ...
        )""",
        """CREATE TABLE models (
            model_id INTEGER PRIMARY KEY,
            fingerprint TEXT NOT NULL UNIQUE,   -- sha256 of model.json (which holds every file's sha256)
            path TEXT,
            created TEXT,
            added_at TEXT NOT NULL,
            meta TEXT                           -- JSON: labels, params, adaptation
        )""",
        """CREATE TABLE catalogues (
            catalogue_id INTEGER PRIMARY KEY,
            sha256 TEXT NOT NULL UNIQUE,
            file TEXT,
            n_guidelines INTEGER,
            added_at TEXT NOT NULL
        )""",
        """CREATE TABLE contacts (
            contact_id INTEGER PRIMARY KEY,     -- reading order
            handle BLOB NOT NULL UNIQUE,        -- the ident of the request's message or the record
            run_id INTEGER NOT NULL REFERENCES runs(run_id),
            updated_run_id INTEGER REFERENCES runs(run_id),
            model_id INTEGER REFERENCES models(model_id),
            catalogue_id INTEGER REFERENCES catalogues(catalogue_id),
            id TEXT,
            sent_at TEXT,
            local_date TEXT,                    -- YYYY-MM-DD in Helsinki
            month TEXT,                         -- YYYY-MM in Helsinki
            channel TEXT,
            status TEXT,
            topic TEXT,
            avoidable INTEGER,
            thread_ts REAL,                     -- the thread's first message (subject threading across runs)
            row TEXT NOT NULL                   -- the labelled row, JSON, as `label` writes it
        )""",
        """CREATE INDEX contacts_local_date ON contacts(local_date)""",
        """CREATE TABLE messages (
            message_id INTEGER PRIMARY KEY,
            ident BLOB NOT NULL UNIQUE,         -- keyed hash of the Message-ID and content / of the record
            msgid BLOB,                         -- keyed hash of the Message-ID / the record id
            contact_id INTEGER NOT NULL REFERENCES contacts(contact_id),
            run_id INTEGER NOT NULL REFERENCES runs(run_id),
            kind TEXT NOT NULL,                 -- mail, record
            sent_at TEXT,
            sender TEXT,                        -- pseudonymised address
            recipients TEXT,                    -- pseudonymised addresses, space separated
            is_reply INTEGER NOT NULL DEFAULT 0,
            reply_subject INTEGER NOT NULL DEFAULT 0,
            subject BLOB,                       -- keyed hash of the normalised subject
            error INTEGER NOT NULL DEFAULT 0
        )""",
        """CREATE INDEX messages_msgid ON messages(msgid)""",
        """CREATE INDEX messages_contact ON messages(contact_id)""",
        """CREATE INDEX messages_subject ON messages(subject)""",
        """CREATE TABLE refs (
            message_id INTEGER NOT NULL REFERENCES messages(message_id),
            ref BLOB NOT NULL                   -- keyed hash of a Message-ID it names (References, In-Reply-To)
        )""",
        """CREATE INDEX refs_ref ON refs(ref)""",
        """CREATE INDEX refs_message ON refs(message_id)""",
        """CREATE TABLE repeat_keys (
            contact_id INTEGER NOT NULL REFERENCES contacts(contact_id),
            rkey TEXT NOT NULL,                 -- keyed hash of a customer / contract reference
            ts REAL NOT NULL
        )""",
        """CREATE INDEX repeat_keys_key ON repeat_keys(rkey, ts)""",
        """CREATE INDEX repeat_keys_contact ON repeat_keys(contact_id)""",
    ],
    # 1 -> 2: reviews (`review --store`), linked to the rows they concern by the row id
    [
        """CREATE INDEX contacts_id ON contacts(id)""",
        """CREATE TABLE reviews (
            review_id INTEGER PRIMARY KEY,      -- the order decisions were made in (the last one stands)
            line BLOB NOT NULL UNIQUE,          -- sha256 of the reviewed line: a file imported again adds nothing
            id TEXT NOT NULL,                   -- the row id reviewed
            reviewed_at TEXT,
            reviewer TEXT,
            queue TEXT,
            retracted INTEGER NOT NULL DEFAULT 0,
            added_at TEXT NOT NULL,
            row TEXT NOT NULL                   -- the reviewed line, JSON, as `review` writes it
        )""",
        """CREATE INDEX reviews_id ON reviews(id)""",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)
# The tables a store of the current version has (a quick check that the file is whole).
TABLES = ("meta", "runs", "models", "catalogues", "contacts", "messages", "refs", "repeat_keys", "reviews")


def _header(path: Path) -> bytes:
    """The first 100 bytes of a file (SQLite's database header)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(100)
    except OSError as e:
        raise StoreError(f"{path}: cannot read the store ({e.strerror or type(e).__name__})") from None


def check_file(path: Path) -> bool:
    """Check a file before SQLite opens it; True when it is empty or missing (a new store).

    Raises
    ------
    StoreError
        Not an SQLite database, another program's database, or a newer schema.
    """
    if not path.exists():
        return True
    if path.is_dir():
        raise StoreError(f"{path}: is a directory; --store names the store's file (e.g. history.sqlite)")
    head = _header(path)
    if not head:
        return True
    if not head.startswith(SQLITE_MAGIC):
        raise StoreError(f"{path}: not a tukipyynto store (expected an SQLite database, found {_what(head)}); "
                         "the file was not changed. Give another --store path")
    if len(head) < 100:
        raise StoreError(f"{path}: the store is damaged (its {len(head)}-byte header is cut short); the file was "
                         "not changed. Restore it from a backup")
    app = int.from_bytes(head[68:72], "big")
    if app != APPLICATION_ID:
        raise StoreError(f"{path}: an SQLite database of another program (application id {app:#x}, expected "
                         f"{APPLICATION_ID:#x}), not a tukipyynto store; the file was not changed")
    version = int.from_bytes(head[60:64], "big")
    if version > SCHEMA_VERSION:
        raise StoreError(f"{path}: written by a newer tukipyynto (store schema {version}; this version reads up to "
                         f"{SCHEMA_VERSION}); the file was not changed. Upgrade tukipyynto to use it")
    return False


def _what(head: bytes) -> str:
    """A few words on what a file's first bytes look like."""
    s = head.lstrip()
    if s[:1] in (b"{", b"["):
        return "JSON"
    if s.startswith(b"From "):
        return "an mbox mailbox"
    if s.startswith(b"PAR1"):
        return "a Parquet file"
    try:
        s.decode("utf-8")
        return "text"
    except UnicodeDecodeError:
        return "binary data"


def connect(path: str | os.PathLike, create: bool = False, readonly: bool = False) -> sqlite3.Connection:
    """Open a store's database, checked, migrated to :data:`SCHEMA_VERSION` (unless read-only).

    Parameters
    ----------
    path : path
        The store's file.
    create : bool
        Make a new store when the file is missing or empty.
    readonly : bool
        Open for reading only (no migration: an older schema is refused with a hint).

    Raises
    ------
    StoreError
        The file is missing (without ``create``), not a store, damaged or newer.
    """
    p = Path(path)
    new = check_file(p)
    if new and not create:
        raise StoreError(f"{p}: no such store; `tukipyynto label INPUT... --store {p}` makes one")
    if new and readonly:
        raise StoreError(f"{p}: no such store")
    try:
        if readonly:
            con = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None,
                                  check_same_thread=False)
        else:
            p.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(str(p), isolation_level=None, check_same_thread=False)
    except (sqlite3.Error, OSError) as e:
        raise StoreError(f"{p}: cannot open the store ({e})") from None
    try:
        con.execute("PRAGMA busy_timeout = 30000")
        con.execute("PRAGMA foreign_keys = OFF")
        version = con.execute("PRAGMA user_version").fetchone()[0]
        if new:
            _init(con)
        elif version < SCHEMA_VERSION:
            if readonly:
                raise StoreError(f"{p}: a store of schema {version}, this version uses {SCHEMA_VERSION}; run "
                                 f"`tukipyynto label ... --store {p}` (or open it for writing) once to upgrade it")
            _check_tables(con, p, TABLES_OF.get(version, ()))
            try:
                migrate(con, version)
            except sqlite3.DatabaseError as e:
                raise StoreError(f"{p}: upgrading the store from schema {version} to {SCHEMA_VERSION} failed ({e}); "
                                 "the file was not changed") from None
        else:
            _check_tables(con, p, TABLES)
        if not readonly:
            con.execute("PRAGMA journal_mode = WAL")
            con.execute("PRAGMA synchronous = FULL")
    except sqlite3.DatabaseError as e:
        con.close()
        raise damaged(p, e) from None
    except BaseException:
        con.close()
        raise
    return con


def damaged(p: Path, e: Exception) -> StoreError:
    """The error for a store SQLite cannot read."""
    return StoreError(f"{p}: the store is damaged ({e}); nothing was written to it. Restore it from a backup, "
                      "or give a new --store path")


def _check_tables(con: sqlite3.Connection, p: Path, want) -> None:
    """Every table the schema version has is there (a store file cut short or edited by hand is refused)."""
    have = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = [t for t in want if t not in have]
    if missing:
        raise StoreError(f"{p}: the store is damaged (table {missing[0]!r} is missing); the file was not changed. "
                         "Restore it from a backup")


# the tables of each released schema version, for the check before a migration
TABLES_OF: dict[int, tuple[str, ...]] = {1: TABLES[:8], 2: TABLES}


def _init(con: sqlite3.Connection) -> None:
    """Make a new store: mark the file as a store, then every migration in one transaction."""
    con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    con.execute("PRAGMA journal_mode = WAL")
    migrate(con, 0)


def migrate(con: sqlite3.Connection, version: int, to: int | None = None) -> None:
    """Run the migrations from ``version`` up to ``to`` (default: :data:`SCHEMA_VERSION`) in one transaction."""
    to = SCHEMA_VERSION if to is None else to
    con.execute("BEGIN IMMEDIATE")
    try:
        for step in MIGRATIONS[version:to]:
            for stmt in step:
                con.execute(stmt)
        con.execute(f"PRAGMA user_version = {to}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
