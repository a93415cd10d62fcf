"""The :class:`Store`: one open store file, its runs, and the writes of a labelling run, one transaction per batch."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..ingest.incremental import ContactPlan, StoredMessage, ThreadUpdate
from .lock import WriterLock
from .schema import StoreError, connect, damaged

__all__ = ["RunCounts", "Store", "open_store", "row_columns"]

_IN = 500  # ids per IN (...) list: far below SQLite's limit on bound values


def _now() -> str:
    """The current time, ISO 8601 with the offset."""
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


@dataclass
class RunCounts:
    """What a store run did besides labelling (the messages it skipped are counted by its reader)."""

    new_messages: int = 0
    inserted: int = 0  # contacts added
    updated: int = 0  # stored threads that took in new messages
    superseded: int = 0  # stored contacts merged into another thread

    def to_dict(self) -> dict[str, int]:
        """JSON-ready counts."""
        return dict(self.__dict__)


class Store:
    """An open store. Use :func:`open_store`.

    Reading needs nothing but the file; writing (:meth:`begin_run`) takes the store's writer
    lock for the whole run and needs the id key the store was made with.
    """

    def __init__(self, path: Path, con: sqlite3.Connection, lock: WriterLock | None, readonly: bool) -> None:
        self.path = path
        self.con = con
        self.lock = lock
        self.readonly = readonly
        self.run_id: int | None = None
        self.model_id: int | None = None
        self.catalogue_id: int | None = None
        self.counts = RunCounts()
        self._pending_run: tuple | None = None

    # ------------------------------------------------------------------------------ life cycle

    def close(self) -> None:
        """Close the file and drop the writer lock."""
        try:
            self.con.close()
        finally:
            if self.lock is not None:
                self.lock.release()
                self.lock = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _q(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        """Run a statement; a damaged file, or a write the store refuses, becomes a :class:`StoreError`."""
        try:
            return self.con.execute(sql, args)
        except sqlite3.IntegrityError as e:
            raise StoreError(f"{self.path}: the store refused a write ({e}); nothing of this batch was written") from None
        except sqlite3.OperationalError as e:
            raise StoreError(f"{self.path}: {e}") from None
        except sqlite3.DatabaseError as e:
            raise damaged(self.path, e) from None

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        """Rows of a read-only SQL query on the store's tables (for reports and tools)."""
        return self._q(sql, args).fetchall()

    def meta(self, name: str) -> str | None:
        """A value of the store's ``meta`` table."""
        row = self._q("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def _transaction(self):
        """``with store._transaction():`` one write transaction (BEGIN IMMEDIATE ... COMMIT / ROLLBACK)."""
        return _Tx(self)

    def check_keys(self, id_check: str, pseudonym_check: str) -> None:
        """Remember the run's key check values in a new store; refuse a run with other keys than the store's.

        Raises
        ------
        StoreError
            The store was written with another id key or pseudonym key: its hashes would not match.
        """
        have_id, have_ps = self.meta("id_key_check"), self.meta("pseudonym_key_check")
        if have_id is None:
            with self._transaction():
                self._q("INSERT OR REPLACE INTO meta VALUES ('id_key_check', ?)", (id_check,))
                self._q("INSERT OR REPLACE INTO meta VALUES ('pseudonym_key_check', ?)", (pseudonym_check,))
                self._q("INSERT OR IGNORE INTO meta VALUES ('created_at', ?)", (_now(),))
            return
        if have_id != id_check:
            raise StoreError(f"{self.path}: this store was written with another id key, so its messages could not be "
                             "recognised; set TUKIPYYNTO_ID_KEY (or ~/.config/tukipyynto/id-key) to the key used when "
                             "the store was made")
        if have_ps != pseudonym_check:
            raise StoreError(f"{self.path}: this store was written with another pseudonym key, so repeat contacts "
                             "could not be linked across runs; give the --pseudonym-key (TUKIPYYNTO_PSEUDONYM_KEY) "
                             "used when the store was made")

    def begin_run(self, inputs: Sequence[str], settings: dict[str, Any], model: dict[str, Any] | None = None,
                  catalogue: dict[str, Any] | None = None) -> None:
        """Start a run (with the model and catalogue it labels with).

        Nothing is written yet: the run is recorded with its first batch (or when it finishes),
        after the lookups that read the store first, so that a store found damaged by them is
        left as it was.
        """
        if self.readonly:
            raise StoreError(f"{self.path}: opened for reading only")
        self._pending_run = (list(inputs), settings, model, catalogue, _now())
        self.run_id = self.model_id = self.catalogue_id = None

    def _record_run(self) -> None:
        """Inside a write transaction: the run's row (and its model and catalogue), once."""
        from ..version import __version__

        if self.run_id is not None:
            return
        if self._pending_run is None:
            raise StoreError(f"{self.path}: a write before begin_run()")
        inputs, settings, model, catalogue, started = self._pending_run
        # runs a crashed process left 'running' (the lock is ours now, so none is running)
        self._q("UPDATE runs SET status = 'interrupted' WHERE status = 'running'")
        self.model_id = self._model_id(model) if model else None
        self.catalogue_id = self._catalogue_id(catalogue) if catalogue else None
        cur = self._q("INSERT INTO runs (started_at, status, library_version, inputs, model_id, catalogue_id, "
                      "settings) VALUES (?, 'running', ?, ?, ?, ?, ?)",
                      (started, __version__, json.dumps(inputs, ensure_ascii=False), self.model_id,
                       self.catalogue_id, json.dumps(settings, ensure_ascii=False, default=str)))
        self.run_id = cur.lastrowid

    def finish_run(self, status: str = "done", extra: dict[str, Any] | None = None) -> None:
        """Record the end of the run and its counts."""
        if self.run_id is None and self._pending_run is None:
            return
        counts = self.counts.to_dict()
        counts.update(extra or {})
        with self._transaction():
            self._record_run()
            self._q("UPDATE runs SET finished_at = ?, status = ?, counts = ? WHERE run_id = ?",
                    (_now(), status, json.dumps(counts), self.run_id))

    def _model_id(self, model: dict[str, Any]) -> int:
        """The id of a model (by fingerprint), added when new."""
        row = self._q("SELECT model_id FROM models WHERE fingerprint = ?", (model["fingerprint"],)).fetchone()
        if row:
            return row[0]
        return self._q("INSERT INTO models (fingerprint, path, created, added_at, meta) VALUES (?, ?, ?, ?, ?)",
                       (model["fingerprint"], model.get("path"), model.get("created"), _now(),
                        json.dumps(model.get("meta") or {}, ensure_ascii=False, default=str))).lastrowid

    def _catalogue_id(self, cat: dict[str, Any]) -> int:
        """The id of a catalogue version (by sha256), added when new."""
        row = self._q("SELECT catalogue_id FROM catalogues WHERE sha256 = ?", (cat["sha256"],)).fetchone()
        if row:
            return row[0]
        return self._q("INSERT INTO catalogues (sha256, file, n_guidelines, added_at) VALUES (?, ?, ?, ?)",
                       (cat["sha256"], cat.get("file"), cat.get("n_guidelines"), _now())).lastrowid

    # ------------------------------------------------------------------------------ lookups

    def known(self, idents: Sequence[bytes]) -> set[bytes]:
        """The idents among ``idents`` that the store holds."""
        out: set[bytes] = set()
        for i in range(0, len(idents), _IN):
            part = idents[i:i + _IN]
            out.update(r[0] for r in self._q(
                f"SELECT ident FROM messages WHERE ident IN ({','.join('?' * len(part))})", part))
        return out

    def handles_by_msgid(self, msgids: Iterable[bytes]) -> dict[bytes, bytes]:
        """Contact handle of the (first) stored message with each Message-ID hash."""
        ids = list(dict.fromkeys(m for m in msgids if m))
        out: dict[bytes, bytes] = {}
        for i in range(0, len(ids), _IN):
            part = ids[i:i + _IN]
            for mid, h in self._q(
                    "SELECT m.msgid, c.handle FROM messages m JOIN contacts c ON c.contact_id = m.contact_id "
                    f"WHERE m.msgid IN ({','.join('?' * len(part))}) AND m.kind = 'mail' AND m.error = 0 "
                    "ORDER BY m.message_id", part):
                out.setdefault(mid, h)
        return out

    def stored_msgids(self, msgids: Iterable[bytes], kind: str = "mail") -> set[bytes]:
        """The Message-ID (record id) hashes among ``msgids`` that a stored message or record has."""
        ids = list(dict.fromkeys(m for m in msgids if m))
        out: set[bytes] = set()
        for i in range(0, len(ids), _IN):
            part = ids[i:i + _IN]
            out.update(r[0] for r in self._q(
                f"SELECT msgid FROM messages WHERE msgid IN ({','.join('?' * len(part))}) AND kind = ?",
                (*part, kind)))
        return out

    def handles_referencing(self, msgids: Iterable[bytes]) -> set[bytes]:
        """Handles of stored contacts with a message that names one of ``msgids`` (a reply stored before its request)."""
        ids = list(dict.fromkeys(m for m in msgids if m))
        out: set[bytes] = set()
        for i in range(0, len(ids), _IN):
            part = ids[i:i + _IN]
            out.update(r[0] for r in self._q(
                "SELECT DISTINCT c.handle FROM refs r JOIN messages m ON m.message_id = r.message_id "
                f"JOIN contacts c ON c.contact_id = m.contact_id WHERE r.ref IN ({','.join('?' * len(part))}) "
                "AND m.error = 0", part))
        return out

    def latest_thread_with_subject(self, subject: bytes, before: float) -> bytes | None:
        """The stored mail thread with a message of this subject that started last before ``before``."""
        row = self._q("SELECT c.handle FROM messages m JOIN contacts c ON c.contact_id = m.contact_id "
                      "WHERE m.subject = ? AND m.kind = 'mail' AND m.error = 0 AND c.thread_ts IS NOT NULL "
                      "AND c.thread_ts <= ? ORDER BY c.thread_ts DESC, c.contact_id DESC LIMIT 1",
                      (subject, before)).fetchone()
        return row[0] if row else None

    def thread_messages(self, handles: Iterable[bytes]) -> dict[bytes, list[StoredMessage]]:
        """Every stored message of each contact, in storing order."""
        hs = list(dict.fromkeys(handles))
        out: dict[bytes, list[StoredMessage]] = {h: [] for h in hs}
        by_id: dict[int, StoredMessage] = {}
        refs: dict[int, list[bytes]] = {}
        for i in range(0, len(hs), _IN):
            part = hs[i:i + _IN]
            rows = self._q(
                "SELECT m.message_id, m.ident, m.msgid, c.handle, m.sent_at, m.sender, m.recipients, m.is_reply, "
                "m.reply_subject, m.subject, m.kind, m.error FROM messages m JOIN contacts c "
                f"ON c.contact_id = m.contact_id WHERE c.handle IN ({','.join('?' * len(part))}) "
                "ORDER BY m.message_id", part).fetchall()
            ids = [r[0] for r in rows]
            for j in range(0, len(ids), _IN):
                sub = ids[j:j + _IN]
                for mid, ref in self._q(f"SELECT message_id, ref FROM refs WHERE message_id IN "
                                        f"({','.join('?' * len(sub))}) ORDER BY rowid", sub):
                    refs.setdefault(mid, []).append(ref)
            for r in rows:
                by_id[r[0]] = StoredMessage(ident=r[1], msgid=r[2], handle=r[3], sent_at=r[4], sender=r[5],
                                            recipients=tuple((r[6] or "").split()), is_reply=bool(r[7]),
                                            reply_subject=bool(r[8]), subject=r[9], kind=r[10], error=bool(r[11]))
        for mid, m in by_id.items():
            if mid in refs:
                m = StoredMessage(**{**m.__dict__, "refs": tuple(refs[mid])})
            out[m.handle].append(m)
        return out

    def rows_of(self, handles: Iterable[bytes]) -> dict[bytes, dict[str, Any]]:
        """The stored rows of some contacts."""
        hs = list(dict.fromkeys(handles))
        out = {}
        for i in range(0, len(hs), _IN):
            part = hs[i:i + _IN]
            for h, row in self._q(f"SELECT handle, row FROM contacts WHERE handle IN ({','.join('?' * len(part))})",
                                  part):
                out[h] = json.loads(row)
        return out

    def repeat_candidate(self, keys: Iterable[str], ts: float, window: float) -> tuple[float, str] | None:
        """The latest stored contact sent before ``ts`` (within ``window`` seconds) that shares a reference key."""
        best: tuple[float, str] | None = None
        for k in keys:
            row = self._q("SELECT r.ts, c.id FROM repeat_keys r JOIN contacts c ON c.contact_id = r.contact_id "
                          "WHERE r.rkey = ? AND r.ts < ? AND r.ts >= ? ORDER BY r.ts DESC LIMIT 1",
                          (k, ts, ts - window)).fetchone()
            if row and (best is None or row[0] > best[0]):
                best = (row[0], row[1])
        return best

    # ------------------------------------------------------------------------------ writing

    def write(self, rows: Sequence[dict[str, Any]], plans: Sequence[ContactPlan],
              updates: Sequence[ThreadUpdate] = ()) -> None:
        """Add a batch of labelled rows with their messages (and apply thread updates) in one transaction.

        A process killed before the commit leaves the store as it was before the batch; the
        rerun finds the batch's messages new again and labels them.
        """
        with self._transaction():
            self._record_run()
            for u in updates:
                self._apply_update(u)
            for row, plan in zip(rows, plans):
                self._insert(row, plan)

    def _contact_ids(self, handles: Sequence[bytes]) -> list[int]:
        """Contact ids of handles (those present)."""
        out = []
        for i in range(0, len(handles), _IN):
            part = list(handles[i:i + _IN])
            out += [r[0] for r in self._q(f"SELECT contact_id FROM contacts WHERE handle IN "
                                          f"({','.join('?' * len(part))})", part)]
        return out

    def _absorb(self, into: int, handles: Sequence[bytes]) -> None:
        """Merge stored contacts into contact ``into``: their messages move, their rows go."""
        ids = [i for i in self._contact_ids(handles) if i != into]
        if not ids:
            return
        marks = ",".join("?" * len(ids))
        self._q(f"UPDATE messages SET contact_id = ? WHERE contact_id IN ({marks})", (into, *ids))
        self._q(f"DELETE FROM repeat_keys WHERE contact_id IN ({marks})", ids)
        self._q(f"DELETE FROM contacts WHERE contact_id IN ({marks})", ids)
        self.counts.superseded += len(ids)

    def _insert_messages(self, contact_id: int, msgs: Sequence[StoredMessage]) -> None:
        """Add messages (and the ids they name) to a contact."""
        for m in msgs:
            cur = self._q("INSERT OR IGNORE INTO messages (ident, msgid, contact_id, run_id, kind, sent_at, sender, "
                          "recipients, is_reply, reply_subject, subject, error) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                          (m.ident, m.msgid, contact_id, self.run_id, m.kind, m.sent_at, m.sender,
                           " ".join(m.recipients) or None, int(m.is_reply), int(m.reply_subject), m.subject,
                           int(m.error)))
            if cur.rowcount and m.refs:
                self.con.executemany("INSERT INTO refs (message_id, ref) VALUES (?, ?)",
                                     [(cur.lastrowid, r) for r in dict.fromkeys(m.refs)])
            self.counts.new_messages += cur.rowcount

    def _insert(self, row: dict[str, Any], plan: ContactPlan) -> None:
        """Add one contact row with its messages; replace the stored contacts its thread took in."""
        cols = row_columns(row)
        cur = self._q("INSERT INTO contacts (handle, run_id, model_id, catalogue_id, id, sent_at, local_date, month, "
                      "channel, status, topic, avoidable, thread_ts, row) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                      (plan.handle, self.run_id, self.model_id, self.catalogue_id, cols["id"], cols["sent_at"],
                       cols["local_date"], cols["month"], cols["channel"], cols["status"], cols["topic"],
                       cols["avoidable"], plan.thread_ts, json.dumps(row, ensure_ascii=False, default=str)))
        cid = cur.lastrowid
        if plan.superseded:
            self._absorb(cid, plan.superseded)
        self._insert_messages(cid, plan.messages)
        if plan.repeat_keys and plan.repeat_ts is not None:
            self.con.executemany("INSERT INTO repeat_keys (contact_id, rkey, ts) VALUES (?, ?, ?)",
                                 [(cid, k, plan.repeat_ts) for k in plan.repeat_keys])
        self.counts.inserted += 1

    def _apply_update(self, u: ThreadUpdate) -> None:
        """A stored thread that grew: add its new messages and rewrite the row fields that changed."""
        got = self._q("SELECT contact_id, row FROM contacts WHERE handle = ?", (u.handle,)).fetchone()
        if got is None:
            raise StoreError(f"{self.path}: a thread to update is not in the store; was the store changed by "
                             "another program during the run?")
        cid, row = got[0], json.loads(got[1])
        if u.superseded:
            self._absorb(cid, u.superseded)
        self._insert_messages(cid, u.messages)
        row.update(u.changes or {})
        flags = list(row.get("flags") or [])
        if u.by_subject and "threaded_by_subject" not in flags:
            row["flags"] = sorted([*flags, "threaded_by_subject"])
        self._q("UPDATE contacts SET row = ?, updated_run_id = ?, thread_ts = COALESCE(?, thread_ts) "
                "WHERE contact_id = ?", (json.dumps(row, ensure_ascii=False, default=str), self.run_id,
                                         u.thread_ts, cid))
        self.counts.updated += 1

    # ------------------------------------------------------------------------------ reading

    def n_contacts(self) -> int:
        """Contacts in the store."""
        return self._q("SELECT count(*) FROM contacts").fetchone()[0]

    def n_messages(self) -> int:
        """Messages and records in the store."""
        return self._q("SELECT count(*) FROM messages").fetchone()[0]

    def iter_rows(self, period_from: dt.date | None = None, period_to: dt.date | None = None,
                  batch: int = 5000) -> Iterator[dict[str, Any]]:
        """The stored rows in reading order, in the shape ``label`` writes (see :func:`classifier.report.read_labelled`).

        With a period, rows dated outside it are left out; undated rows are kept (the report
        counts them).
        """
        where, args = _period_where(period_from, period_to)
        cur = self._q(f"SELECT row FROM contacts {where} ORDER BY contact_id", args)
        loads = json.loads
        while True:
            part = cur.fetchmany(batch)
            if not part:
                return
            for (row,) in part:
                yield loads(row)

    def add_reviews(self, path: str | os.PathLike) -> int:
        """Record a reviewed file's decisions (``tukipyynto review``); return how many were new.

        Every line is kept, undo lines too, in the order given; a line already recorded (the
        same file imported again) is not added twice. A torn last line is left out.

        Raises
        ------
        IngestError
            The file is missing or a complete line is not a reviewed decision
            (:class:`classifier.reviewed.ReviewedFileError`); nothing is recorded then.
        """
        import hashlib

        from ..errors import IngestError
        from ..reviewed import check_reviewed_bytes

        p = Path(path)
        if not p.is_file():
            raise IngestError(f"{p}: reviewed file not found")
        rows, _ = check_reviewed_bytes(p.read_bytes(), p)
        n = 0
        with self._transaction():
            for _, row in rows:
                line = json.dumps(row, ensure_ascii=False, sort_keys=True, default=str)
                cur = self._q("INSERT OR IGNORE INTO reviews (line, id, reviewed_at, reviewer, queue, retracted, added_at, "
                              "row) VALUES (?,?,?,?,?,?,?,?)",
                              (hashlib.sha256(line.encode("utf-8")).digest(), str(row["id"]), row.get("reviewed_at"),
                               row.get("reviewer"), row.get("queue"), int(bool(row.get("retracted"))), _now(), line))
                n += cur.rowcount
        return n

    def export_reviews(self, path: str | os.PathLike) -> int:
        """Write the recorded decisions as a reviewed file (in the order they were made); return how many.

        :func:`classifier.reviewed.read_reviewed_files` reads it as any reviewed file: the last
        decision per request stands, an undo withdraws one.
        """
        rows = self._q("SELECT row FROM reviews ORDER BY review_id").fetchall()
        if rows:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # reviewed rows hold redacted texts
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.writelines(r[0] + "\n" for r in rows)
        return len(rows)

    def reviewed(self) -> dict[str, dict[str, Any]]:
        """The recorded decisions as stored: the last decision per request id stands (an undo withdraws it)."""
        out: dict[str, dict[str, Any]] = {}
        for rid, row, retracted in self._q("SELECT id, row, retracted FROM reviews ORDER BY review_id"):
            out.pop(rid, None)
            if not retracted:
                out[rid] = json.loads(row)
        return out

    def provenance(self, period_from: dt.date | None = None, period_to: dt.date | None = None) -> list[dict[str, Any]]:
        """Which model and which catalogue labelled the contacts of each month (and how many)."""
        where, args = _period_where(period_from, period_to)
        out = []
        for month, mfp, mpath, mmeta, csha, cfile, n in self._q(
                "SELECT c.month, m.fingerprint, m.path, m.meta, g.sha256, g.file, count(*) FROM contacts c "
                "LEFT JOIN models m ON m.model_id = c.model_id LEFT JOIN catalogues g ON g.catalogue_id = c.catalogue_id "
                f"{where.replace('local_date', 'c.local_date')} GROUP BY c.month, c.model_id, c.catalogue_id "
                "ORDER BY c.month IS NULL, c.month, min(c.contact_id)", args):
            meta = json.loads(mmeta or "{}")
            out.append({"period": month, "n": n, "model": (mfp or "")[:12] or None, "model_path": mpath,
                        "adapted": bool(meta.get("adaptation")), "catalogue": (csha or "")[:12] or None,
                        "catalogue_file": cfile})
        return out

    def runs(self) -> list[dict[str, Any]]:
        """Every run: when, status, counts, model and catalogue."""
        out = []
        for r in self._q("SELECT r.run_id, r.started_at, r.finished_at, r.status, r.library_version, r.inputs, "
                         "r.counts, m.fingerprint, m.path, c.sha256, c.file FROM runs r "
                         "LEFT JOIN models m ON m.model_id = r.model_id "
                         "LEFT JOIN catalogues c ON c.catalogue_id = r.catalogue_id ORDER BY r.run_id"):
            out.append({"run": r[0], "started_at": r[1], "finished_at": r[2], "status": r[3], "library_version": r[4],
                        "inputs": json.loads(r[5] or "[]"), "counts": json.loads(r[6] or "{}"),
                        "model": r[7], "model_path": r[8], "catalogue": r[9], "catalogue_file": r[10]})
        return out


class _Tx:
    """A write transaction on a store (BEGIN IMMEDIATE; COMMIT, or ROLLBACK on any error)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __enter__(self) -> None:
        if self.store.readonly:
            raise StoreError(f"{self.store.path}: opened for reading only")
        self.store._q("BEGIN IMMEDIATE")

    def __exit__(self, et, ev, tb) -> None:
        con = self.store.con
        if et is None:
            try:
                con.execute("COMMIT")
            except sqlite3.DatabaseError as e:
                con.execute("ROLLBACK")
                raise damaged(self.store.path, e) from None
        else:
            try:
                con.execute("ROLLBACK")
            except sqlite3.Error:
                pass


def _date_bounds(period_from: dt.date | None, period_to: dt.date | None) -> tuple[list[str], list[Any]]:
    """SQL conditions and their arguments bounding ``local_date`` to a period (inclusive)."""
    conds, args = [], []
    if period_from:
        conds.append("local_date >= ?")
        args.append(period_from.isoformat())
    if period_to:
        conds.append("local_date <= ?")
        args.append(period_to.isoformat())
    return conds, args


def _period_where(period_from: dt.date | None, period_to: dt.date | None) -> tuple[str, list[Any]]:
    """``WHERE`` clause keeping rows dated within a period (and undated rows)."""
    conds, args = _date_bounds(period_from, period_to)
    if not conds:
        return "", []
    return f"WHERE local_date IS NULL OR ({' AND '.join(conds)})", args


def row_columns(row: dict[str, Any]) -> dict[str, Any]:
    """The indexed columns of a row ``label`` wrote: dates in Helsinki, status, channel, topic and avoidable decision.

    The trends (:func:`classifier.report.tables.trends.counts_from_store`) aggregate these
    columns; they hold what the report reads from the row's ``predicted`` object.
    """
    from ..records import HELSINKI, parse_datetime

    try:
        ts = parse_datetime(row.get("sent_at"))
    except (ValueError, TypeError):
        ts = None
    local = ts.astimezone(HELSINKI) if ts else None
    pred = row.get("predicted") if isinstance(row.get("predicted"), dict) else {}
    avoidable = pred.get("avoidable")
    status = str(row.get("status") or "ok").strip().lower()
    channel = str(row.get("channel") or "").strip().lower() or "unknown"
    return {"id": None if row.get("id") is None else str(row.get("id")),
            "sent_at": local.isoformat() if local else None,
            "local_date": local.date().isoformat() if local else None,
            "month": f"{local.year:04d}-{local.month:02d}" if local else None,
            "channel": channel, "status": status, "topic": pred.get("topic") or None,
            "avoidable": None if avoidable is None else int(bool(avoidable))}


def open_store(path: str | os.PathLike, write: bool = False, create: bool = False, wait: float = 0.0) -> Store:
    """Open a store file.

    Parameters
    ----------
    path : path
        The store's file (an SQLite database; any name, e.g. ``history.sqlite``).
    write : bool
        Open for a labelling run: takes the writer lock (one writing process at a time) and
        brings an older schema up to date.
    create : bool
        Make a new store when the file does not exist (only with ``write``).
    wait : float
        Seconds to wait for another writer to finish before giving up.

    Returns
    -------
    Store

    Raises
    ------
    StoreError
        Missing (without ``create``), not a store, damaged, of a newer schema, or being
        written by another process (:class:`~classifier.store.schema.StoreLockedError`).
        The file is not changed in any of these cases.
    """
    from .schema import check_file

    p = Path(path)
    if not write:
        return Store(p, connect(p, readonly=True), None, True)
    check_file(p)  # before the lock file is made beside it
    lock = WriterLock(p, wait).acquire()
    try:
        con = connect(p, create=create)
    except BaseException:
        lock.release()
        raise
    return Store(p, con, lock, False)
