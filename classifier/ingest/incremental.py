"""Only what is new: read inputs against a history of earlier runs, skipping what it holds before parsing it.

A *history* (:class:`History`, kept by :mod:`classifier.store`) remembers every message and
record read before, by keyed hashes (:mod:`.identity`), and which contact each belongs to.
:class:`IncrementalReader` reads each source of a run (an mbox, a set of ``.eml`` / ``.msg``
files, a table) in three steps:

1. **Screen.** Every message's identity (:func:`~classifier.ingest.identity.mail_ident`: a
   keyed hash of its Message-ID, Date, From, Subject and body, read from its bytes) or
   record's (all its fields) is looked up in the history and among the messages this run
   has read. A known one goes no further: no header parsing, no threading, no classification.
2. **Thread.** The new messages' header blocks are read (pass 1) and threaded together with
   the stored threads they touch: those holding a message they name (``References``,
   ``In-Reply-To``), those with a message naming them, and, for a reply that names nothing
   known, the latest earlier thread with its subject. Stored messages enter the thread index
   as stand-ins built from their hashes, and every id, subject and address in the index is
   in that keyed form, so the threads come out as a clean run over everything makes them.
3. **Decide.** A thread whose request (first message) is stored is a stored contact that
   grew: a :class:`ThreadUpdate` carries its new messages and whole thread, nothing is
   parsed or classified. A thread whose request is new becomes a contact (pass 2 parses its
   request only) with a :class:`ContactPlan` of what to store with its row; stored contacts
   its thread took in are to be merged into it. A new message whose Message-ID a different
   stored message has is flagged ``duplicate_message_id`` and stays a contact of its own
   (unless its references join it to a thread), as within one input.

Thread messages carry pseudonymised addresses (:meth:`MessageKeys.address`): the service
analytics compare them as they compare real ones, given back-office patterns pseudonymised
with the same keys (:meth:`MessageKeys.pattern`).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

from .contact import Contact, ThreadMessage, _error_contact, _replace
from .files import _FileSetReader, _strip_from_line
from .headers import _Head
from .identity import MessageKeys, mail_ident, reply_subject
from .mail import _assemble_contact
from .mbox import _Lines, _MboxReader
from .sources import _check_column_map, _plan_sources
from .tables import _record_contact
from .threads import _ThreadIndex

__all__ = ["ContactPlan", "History", "IncrementalReader", "StoredMessage", "ThreadUpdate"]


@dataclass(frozen=True)
class StoredMessage:
    """One message or record as a history keeps it: hashes and pseudonyms, no text, no address.

    Attributes
    ----------
    ident : bytes
        Its identity (:func:`~classifier.ingest.identity.mail_ident`, or a record's fields).
    msgid : bytes or None
        Hash of its Message-ID (of a record: its id).
    handle : bytes
        The handle of the contact it belongs to (the ident of that contact's request).
    sent_at : str or None
        ISO 8601, with the sender's offset.
    sender, recipients
        Pseudonymised addresses.
    is_reply, reply_subject : bool
        It names an earlier message or has a reply prefix; its subject has a reply prefix.
    subject : bytes or None
        Hash of the normalised subject.
    refs : tuple of bytes
        Hashes of the Message-IDs it names.
    kind : str
        ``mail`` or ``record``.
    error : bool
        It could not be read (an error contact of its own, never threaded).
    """

    ident: bytes
    msgid: bytes | None
    handle: bytes
    sent_at: str | None
    sender: str | None
    recipients: tuple[str, ...]
    is_reply: bool
    reply_subject: bool
    subject: bytes | None
    refs: tuple[bytes, ...] = ()
    kind: str = "mail"
    error: bool = False


@dataclass
class ContactPlan:
    """What a history stores with a new contact's row.

    Attributes
    ----------
    handle : bytes
        The contact's identity: its request's ident.
    messages : list of StoredMessage
        Its new messages (the request first in thread order).
    thread_ts : float or None
        When its thread started (subject threading in later runs).
    superseded : tuple of bytes
        Handles of stored contacts its thread took in: they are merged into it.
    repeat_keys, repeat_ts
        Its customer / contract reference hashes and time (set by the service analytics).
    """

    handle: bytes
    messages: list[StoredMessage]
    thread_ts: float | None = None
    superseded: tuple[bytes, ...] = ()
    repeat_keys: tuple[str, ...] = ()
    repeat_ts: float | None = None


@dataclass
class ThreadUpdate:
    """A stored contact whose thread grew: its new messages and the whole thread, for its service fields.

    Attributes
    ----------
    handle : bytes
        The stored contact.
    messages : list of StoredMessage
        The thread's new messages.
    thread : tuple of ThreadMessage
        Every message of the thread in time order (pseudonymised addresses).
    by_subject : bool
        The thread took in a message by subject alone.
    superseded : tuple of bytes
        Other stored contacts the thread took in (merged into this one).
    thread_ts : float or None
        When the thread started.
    changes : dict
        Row fields to rewrite; filled in by whoever computes them (the service fields).
    """

    handle: bytes
    messages: list[StoredMessage]
    thread: tuple[ThreadMessage, ...]
    by_subject: bool = False
    superseded: tuple[bytes, ...] = ()
    thread_ts: float | None = None
    changes: dict | None = None


class History(Protocol):
    """What :class:`IncrementalReader` asks of a history of earlier runs (:class:`classifier.store.Store` is one)."""

    def known(self, idents: Sequence[bytes]) -> set[bytes]:
        """The idents among ``idents`` the history holds."""

    def handles_by_msgid(self, msgids) -> dict[bytes, bytes]:
        """For each Message-ID hash a readable stored message has: the handle of its contact."""

    def handles_referencing(self, msgids) -> set[bytes]:
        """Handles of stored contacts with a readable message naming one of ``msgids``."""

    def latest_thread_with_subject(self, subject: bytes, before: float) -> bytes | None:
        """The stored mail thread with a message of this subject hash that started last before ``before``."""

    def thread_messages(self, handles) -> dict[bytes, list[StoredMessage]]:
        """Every stored message of each contact."""


def _ts(d: dt.datetime | None) -> float:
    """A date's sort key (undated last, as threading orders them)."""
    return d.timestamp() if d is not None else math.inf


def _parse(s: str | None) -> dt.datetime | None:
    """An ISO date from the history."""
    return dt.datetime.fromisoformat(s) if s else None


class IncrementalReader:
    """Read inputs against a history: new contacts out; their plans and the stored threads' updates kept here.

    Parameters
    ----------
    history : History
    keys : MessageKeys
    column_map, notes
        As for :func:`classifier.ingest.iter_contacts`.

    Attributes
    ----------
    plans : deque of ContactPlan
        One per contact yielded, in the same order; the writer takes them with the rows.
    updates : list of ThreadUpdate
        Stored threads that grew and are not written yet.
    seen, n_seen, n_duplicate_ids : counts
        Messages and records known already (skipped before parsing); new messages whose
        Message-ID a different stored message has.
    """

    def __init__(self, history: History, keys: MessageKeys, column_map: dict[str, str] | None = None,
                 notes: list[str] | None = None) -> None:
        self.history = history
        self.keys = keys
        self.column_map = _check_column_map(column_map)
        self.notes = notes if notes is not None else []
        self.seen: set[bytes] = set()  # idents this run has read (a second copy in the run is skipped)
        self.plans: deque[ContactPlan] = deque()
        self.updates: list[ThreadUpdate] = []
        self.n_seen = 0
        self.n_duplicate_ids = 0
        # set by a run with worker processes: ``submit(fn, *args)`` returning a future, and how many
        # workers there are; an mbox's messages are then screened in them, in ranges
        self.submit: Callable[..., Any] | None = None
        self.workers = 1

    @staticmethod
    def plan(inputs: Sequence[str | os.PathLike] | str | os.PathLike) -> list[Any]:
        """The run's sources in reading order (opaque; give each to :meth:`contacts`).

        Raises
        ------
        IngestError
            At once, as :func:`classifier.ingest.iter_contacts` does.
        """
        if isinstance(inputs, (str, os.PathLike)):
            inputs = [inputs]
        return _plan_sources(inputs)

    def contacts(self, src: Any) -> Iterator[Contact]:
        """The new contacts of one source, in reading order (mail threads by their request's position).

        Read one source to its end, and write what it gave, before the next: the next
        source's lookups see the history as written.
        """
        if src.kind == "table":
            return self._table(Path(src.paths[0]))
        if src.kind == "mbox":
            return self._mbox(Path(src.paths[0]))
        return self._files([Path(p) for p in src.paths])

    def take_updates(self) -> list[ThreadUpdate]:
        """The stored threads' updates not taken yet."""
        out, self.updates = self.updates, []
        return out

    # ------------------------------------------------------------------------------ screening

    def _screen(self, idents: list[bytes]) -> list[bool]:
        """Which idents are new (not in the history, not read before in this run); registers the new ones."""
        known = self.history.known(idents)
        out = []
        for ident in idents:
            new = ident not in known and ident not in self.seen
            if new:
                self.seen.add(ident)
            else:
                self.n_seen += 1
            out.append(new)
        return out

    # ------------------------------------------------------------------------------ tables

    def _table(self, path: Path) -> Iterator[Contact]:
        """A table's new records, one contact each (as :func:`classifier.ingest.iter_contacts` reads them)."""
        from ..io import TableInfo, iter_table, table_format, text_column
        from ..redact import redact

        src = str(path)
        info = TableInfo(src, table_format(path))
        text_col: list[str | None] = []
        pending: list[tuple[int, int, dict | None, str | None, bool]] = []

        def flush() -> Iterator[Contact]:
            idents = [self.keys.record_ident(r) if r is not None else
                      self.keys.h(b"badrecord", f"{path.name}:{no}:{p}".encode("utf-8", "surrogateescape"))
                      for _, no, r, p, _ in pending]
            for (pos, no, row, problem, repaired), ident, new in zip(pending, idents, self._screen(idents)):
                if not new:
                    continue
                if problem is not None:
                    c = _error_contact(src, pos, f"{path}:{no}: {redact(problem)}", channel=None)
                    rid = None
                else:
                    if not text_col:
                        text_col.append(text_column(row, self.column_map))
                        found = text_col[0]
                        if found is not None and found != "text" and self.column_map.get(found) != "text":
                            self.notes.append(f"{path}: column {found!r} read as the request text "
                                              "(use --map COLUMN=text for another)")
                    c = _record_contact(row, src, pos, f"{path}:{no}", self.column_map, False, text_col[0])
                    if repaired:
                        c = _replace(c, flags=tuple(sorted({*c.flags, "charset_repaired"})))
                    rid = c.id
                msg = StoredMessage(ident=ident, msgid=self.keys.msgid(str(rid)) if rid else None, handle=ident,
                                    sent_at=c.sent_at.isoformat() if c.sent_at else None, sender=None,
                                    recipients=(), is_reply=False, reply_subject=False, subject=None,
                                    kind="record", error=c.error is not None)
                self.plans.append(ContactPlan(handle=ident, messages=[msg]))
                yield c
            pending.clear()

        pos = 0
        for no, row, problem, repaired in iter_table(path, info):
            pending.append((pos, no, row, problem, repaired))
            pos += 1
            if len(pending) >= 1000:
                yield from flush()
        yield from flush()
        if info.describe():
            self.notes.append(info.describe())  # type: ignore[arg-type]

    # ------------------------------------------------------------------------------ mail

    def _mbox(self, path: Path) -> Iterator[Contact]:
        """An mbox: screen every message by its bytes, then thread and parse only the new ones."""
        reader = _MboxReader(path)
        starts, ends, offs, garbage, size = reader.chunks()
        fh, mm = reader._open()
        try:
            lines = _Lines(mm)
            n = len(starts)
            if self.submit is not None and self.workers > 1 and n >= _PARALLEL_SCREEN:
                step = -(-n // (2 * self.workers))
                futures = [self.submit(_idents_task, str(path), self.keys, starts[i:i + step].tobytes(),
                                       ends[i:i + step].tobytes(), sorted(g - i for g in garbage if i <= g < i + step))
                           for i in range(0, n, step)]
                idents = [x for f in futures for x in f.result()]
            else:
                idents = _idents(self.keys, mm, starts, ends, garbage)
            new = [pos for pos, ok in zip(range(n), self._screen(idents)) if ok]
            if not new:
                return
            chunk = {pos: (starts[pos], ends[pos], offs[pos], pos not in garbage) for pos in new}
            heads = [(pos, reader._head_at(mm, lines, size, pos, chunk[pos]), idents[pos]) for pos in new]

            def body(pos: int):
                return reader._body_at(mm, lines, size, pos, chunk[pos])

            yield from self._thread(heads, lambda pos: (str(path), pos), body)
        finally:
            reader._close(fh, mm)

    def _files(self, paths: list[Path]) -> Iterator[Contact]:
        """A set of .eml / .msg files threaded together: screen each file, then thread and parse the new ones."""
        idents = []
        for p in paths:
            try:
                data = p.read_bytes()
            except OSError:
                data = b""
            if _FileSetReader._is_msg(p) or not data:
                idents.append(self.keys.h(b"mailfile", data or str(p).encode("utf-8", "surrogateescape")))
            else:
                data = _strip_from_line(data)
                idents.append(mail_ident(self.keys, data, 0, len(data))[0])
        keep = [i for i, ok in enumerate(self._screen(idents)) if ok]
        if not keep:
            return
        new_paths = [paths[i] for i in keep]
        heads = [(i, h, idents[keep[i]]) for i, h in enumerate(_FileSetReader(new_paths).heads())]

        def body(pos: int):
            return next(_FileSetReader([new_paths[pos]]).bodies({0}))[1]

        yield from self._thread(heads, lambda pos: (str(new_paths[pos]), 0), body)

    def _thread(self, heads: list[tuple[int, _Head, bytes]], where: Callable[[int], tuple[str, int]],
                body: Callable[[int], Any]) -> Iterator[Contact]:
        """Thread new messages with the stored threads they touch; yield the new contacts, keep the updates."""
        k = self.keys
        history = self.history
        hashed = []
        for pos, h, ident in heads:
            mh = k.msgid(h.msgid)
            refs = tuple(r for r in (k.msgid(x) for x in h.refs) if r)
            hashed.append((pos, h, ident, mh, refs, k.subject(h.subject), reply_subject(h.subject)))

        # the stored threads these messages touch
        new_ids = {mh for _, h, _, mh, _, _, _ in hashed if mh and h.error is None}
        all_refs = {r for *_, refs, _, _ in hashed for r in refs}
        by_id = history.handles_by_msgid(new_ids | all_refs)
        handles: dict[bytes, None] = dict.fromkeys(by_id[r] for r in all_refs if r in by_id)
        handles.update(dict.fromkeys(history.handles_referencing(new_ids)))
        known_ids = new_ids | {r for r in all_refs if r in by_id}
        for pos, h, ident, mh, refs, sh, rs in hashed:
            # a reply naming no message known anywhere: the subject decides (the latest earlier thread)
            if rs and sh and h.error is None and not any(r in known_ids and r != mh for r in refs):
                got = history.latest_thread_with_subject(sh, _ts(h.date))
                if got is not None:
                    handles[got] = None
        threads = history.thread_messages(handles) if handles else {}

        index = _ThreadIndex()
        virtual: list[StoredMessage] = []
        for handle, msgs in threads.items():
            tie = "c:" + handle.hex()  # the stored thread stays one thread, however it was joined
            for m in msgs:
                if m.error or m.kind != "mail":
                    continue
                # a stand-in: never a reply by subject, so a stored thread is never re-threaded by subject
                index.add(_Head(where="history", msgid=m.msgid.hex() if m.msgid else None,
                                refs=tuple(r.hex() for r in m.refs) + (tie,),
                                subject=k.index_subject(m.subject, False), date=_parse(m.sent_at),
                                sender=m.sender, recipients=m.recipients))
                virtual.append(m)
        nv = len(virtual)
        stored_claims = {m.msgid for m in virtual if m.msgid}
        for mid in new_ids:
            if mid in by_id and mid not in stored_claims:
                index.claimed.add(mid.hex())  # a stored message has this id: the new one is its duplicate
        raw_ids: list[str | None] = []
        new_msgs: list[StoredMessage] = []
        for pos, h, ident, mh, refs, sh, rs in hashed:
            sender = k.address(h.sender)
            recipients = k.addresses(h.recipients)
            index.add(_Head(where=h.where, msgid=mh.hex() if mh else None, refs=tuple(r.hex() for r in refs),
                            subject=k.index_subject(sh, rs), date=h.date, flags=h.flags, error=h.error,
                            sender=sender, recipients=recipients))
            raw_ids.append(h.msgid)
            new_msgs.append(StoredMessage(
                ident=ident, msgid=mh, handle=b"", sent_at=h.date.isoformat() if h.date else None, sender=sender,
                recipients=recipients, is_reply=bool(h.refs) or rs, reply_subject=rs, subject=sh, refs=refs,
                error=h.error is not None))
        plan = index.plan()
        self.n_duplicate_ids += len([p for p in plan.duplicates if p >= nv])

        def thread_of(members: list[int]) -> tuple[ThreadMessage, ...]:
            out = []
            for p in members:
                m = virtual[p] if p < nv else new_msgs[p - nv]
                out.append(ThreadMessage(sent_at=_parse(m.sent_at) if p < nv else plan.dates[p], sender=m.sender,
                                         recipients=m.recipients, is_reply=m.is_reply))
            return tuple(out)

        # contacts go out in order of their request; a grown stored thread at its first new message
        order: list[tuple[int, int]] = []
        for root, members in plan.members.items():
            fresh = [p for p in members if p >= nv]
            if fresh:
                order.append((members[0] if members[0] >= nv else fresh[0], root))
        order.sort()
        for _, root in order:
            members = plan.members[root]
            req = members[0]
            stored = list(dict.fromkeys(virtual[p].handle for p in members if p < nv))
            thread = thread_of(members)
            dated = [plan.dates[p] for p in members if plan.dates[p] is not None]
            thread_ts = min(d.timestamp() for d in dated) if dated else None
            msgs = [new_msgs[p - nv] for p in members if p >= nv]
            if req < nv:
                keep = virtual[req].handle
                self.updates.append(ThreadUpdate(handle=keep, messages=msgs, thread=thread,
                                                 by_subject=root in plan.by_subject,
                                                 superseded=tuple(h for h in stored if h != keep),
                                                 thread_ts=thread_ts))
                continue
            pos = heads[req - nv][0]
            src, position = where(pos)
            c = _assemble_contact(body(pos), src, position, raw_ids[req - nv],
                                  tuple(raw_ids[p - nv] or "" for p in members if p >= nv),
                                  len(members), req in plan.duplicates, root in plan.by_subject, thread=thread)
            self.plans.append(ContactPlan(handle=new_msgs[req - nv].ident, messages=msgs, thread_ts=thread_ts,
                                          superseded=tuple(stored)))
            yield c


_PARALLEL_SCREEN = 20_000  # messages from which an mbox is screened in the workers


def _idents(keys: MessageKeys, mm: Any, starts: Any, ends: Any, garbage: Any) -> list[bytes]:
    """The identity of every chunk of a mapped mbox (bytes before the first From line hashed whole)."""
    out = []
    for pos, (s, e) in enumerate(zip(starts, ends)):
        if pos in garbage:
            out.append(keys.h(b"garbage", bytes(mm[s:e])))
        else:
            out.append(mail_ident(keys, mm, s, e, mboxrd=True, with_msgid=False)[0])
    return out


def _idents_task(path: str, keys: MessageKeys, starts: bytes, ends: bytes, garbage: list[int]) -> list[bytes]:
    """In a worker: the identities of a range of an mbox's chunks (offsets as packed arrays)."""
    from array import array

    reader = _MboxReader(Path(path))
    fh, mm = reader._open()
    try:
        return _idents(keys, mm, array("q", starts), array("q", ends), set(garbage))
    finally:
        reader._close(fh, mm)
