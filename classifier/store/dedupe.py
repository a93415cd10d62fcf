"""Only what is new: read an input against the store, skipping what it already holds before parsing it.

For each source (an mbox, a set of ``.eml`` / ``.msg`` files, a table) of a run:

1. **Screen.** Every message's identity (:func:`~classifier.store.keys.mail_ident`: a keyed
   hash of its Message-ID, Date, From, Subject and body, read from its bytes) or record's
   (all its fields) is looked up in the store and among the messages this run already read. A
   known one goes no further: no header parsing, no threading, no classification.
2. **Thread.** The new messages' header blocks are read (pass 1) and threaded together with
   the stored threads they touch: those holding a message they name (``References``,
   ``In-Reply-To``), a message that names them, or (for a reply naming nothing known) the
   latest earlier thread with the same subject. The store's messages enter the thread index
   as stand-ins built from their hashes, and every id, subject and address in the index is in
   the same keyed form, so the threads come out as a clean run over everything would make them.
3. **Decide.** A thread whose request (first message) is stored is an existing contact that
   grew: a :class:`~classifier.store.core.ThreadUpdate` recomputes its ``n_messages`` and
   first reply, nothing is classified. A thread whose request is new becomes a contact (pass 2
   parses only its request) with a :class:`~classifier.store.core.ContactPlan`; stored
   contacts its thread took in are merged into it. A new message whose Message-ID a different
   stored message has is flagged ``duplicate_message_id`` and stays a contact of its own
   (unless its references join it to a thread), as within one input.

Addresses are pseudonymised (:meth:`~classifier.store.keys.StoreKeys.address`) before the
service analytics see them, so first replies are computed the same way on stored and new
messages; the back-office patterns must be pseudonymised with the same keys
(:func:`pseudonymised_settings`).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from ..ingest.contact import Contact, ThreadMessage, _replace
from ..ingest.files import _FileSetReader, _strip_from_line
from ..ingest.headers import _Head
from ..ingest.mail import _assemble_contact
from ..ingest.mbox import _Lines, _MboxReader
from ..ingest.sources import _check_column_map, _plan_sources, _Source
from ..ingest.tables import _error_contact, _record_contact
from ..ingest.threads import _ThreadIndex
from ..label import contact_key
from ..service import RepeatLinker, ServiceSettings, first_reply
from .core import ContactPlan, Store, StoredMessage, ThreadUpdate
from .keys import StoreKeys, mail_ident, reply_subject

__all__ = ["StoreReader", "StoreRepeatLinker", "pseudonymised_settings"]


def pseudonymised_settings(settings: ServiceSettings, keys: StoreKeys) -> ServiceSettings:
    """Service settings whose back-office patterns match pseudonymised addresses."""
    return replace(settings, back_office=tuple(keys.pattern(p) for p in settings.back_office))


class StoreRepeatLinker(RepeatLinker):
    """Repeat contacts across runs: the earlier contacts of this run, and the store's (stored ones were read first).

    Remembers the reference keys of the last contact it linked (:attr:`last`), which the
    store keeps for later runs.
    """

    def __init__(self, days: float, store: Store) -> None:
        super().__init__(days)
        self.store = store
        self.last: tuple[float | None, tuple[str, ...]] = (None, ())

    def link(self, sent_at: dt.datetime | None, row_id: str, keys) -> str | None:
        """Register a contact and return the id of the contact it repeats (this run's or a stored one), or None."""
        import bisect

        keys = tuple(keys)
        self.last = (sent_at.timestamp() if sent_at is not None else None, keys)
        if sent_at is not None and keys:
            ts = sent_at.timestamp()
            for k in keys:
                cand = self.store.repeat_candidate([k], ts, self.window)
                if cand is not None:
                    lst = self._seen.setdefault(k, [])
                    if cand not in lst:
                        bisect.insort(lst, cand)
        return super().link(sent_at, row_id, keys)


def _ts(d: dt.datetime | None) -> float:
    """A date's sort key (undated last, as threading orders them)."""
    return d.timestamp() if d is not None else math.inf


def _parse(s: str | None) -> dt.datetime | None:
    """An ISO date from the store."""
    return dt.datetime.fromisoformat(s) if s else None


class StoreReader:
    """Read inputs against a store: new contacts out, their plans and the stored threads' updates kept here.

    Parameters
    ----------
    store : Store
        Open for writing.
    keys : StoreKeys
    settings : ServiceSettings
        Pseudonymised (:func:`pseudonymised_settings`): first replies of stored threads that grow.
    column_map, notes
        As for :func:`classifier.ingest.iter_contacts`.
    """

    def __init__(self, store: Store, keys: StoreKeys, settings: ServiceSettings,
                 column_map: dict[str, str] | None = None, notes: list[str] | None = None) -> None:
        self.store = store
        self.keys = keys
        self.settings = settings
        self.column_map = _check_column_map(column_map)
        self.notes = notes if notes is not None else []
        self.seen: set[bytes] = set()  # idents this run has read (a second copy in the run is skipped)
        self.plans: dict[str, ContactPlan] = {}  # contact key -> what the store writes with its row
        self.updates: list[ThreadUpdate] = []  # stored threads that grew, not written yet

    @staticmethod
    def sources(inputs: Sequence[str | os.PathLike]) -> list[_Source]:
        """The inputs planned into sources (raises :class:`~classifier.errors.IngestError` at once)."""
        if isinstance(inputs, (str, os.PathLike)):
            inputs = [inputs]
        return _plan_sources(inputs)

    def contacts(self, src: _Source) -> Iterator[Contact]:
        """The new contacts of one source, in reading order (mail threads by their request's position)."""
        if src.kind == "table":
            return self._table(Path(src.paths[0]))
        if src.kind == "mbox":
            return self._mbox(Path(src.paths[0]))
        return self._files([Path(p) for p in src.paths])

    def take_plan(self, key: str) -> ContactPlan:
        """The plan of the contact whose row has ``key`` (each is taken once)."""
        return self.plans.pop(key)

    def take_updates(self) -> list[ThreadUpdate]:
        """The stored threads' updates not written yet."""
        out, self.updates = self.updates, []
        return out

    # ------------------------------------------------------------------------------ screening

    def _screen(self, idents: list[bytes]) -> list[bool]:
        """Which idents are new (not in the store, not read before in this run); registers the new ones."""
        known = self.store.known(idents)
        out = []
        for ident in idents:
            new = ident not in known and ident not in self.seen
            if new:
                self.seen.add(ident)
            else:
                self.store.counts.seen += 1
            out.append(new)
        return out

    # ------------------------------------------------------------------------------ tables

    def _table(self, path: Path) -> Iterator[Contact]:
        """A table's new records, one contact each (as :func:`classifier.ingest.iter_contacts` reads them)."""
        from ..io import TableInfo, iter_table, table_format
        from ..redact import redact

        src = str(path)
        info = TableInfo(src, table_format(path))
        text_col: list[str | None] = []
        pending: list[tuple[int, int, dict | None, str | None, bool]] = []
        pos = 0

        def flush() -> Iterator[Contact]:
            idents = [self.keys.record_ident(r) if r is not None else
                      self.keys.h(b"badrecord", f"{path.name}:{no}:{p}".encode("utf-8", "surrogateescape"))
                      for _, no, r, p, _ in pending]
            for (pos_, no, row, problem, repaired), ident, new in zip(pending, idents, self._screen(idents)):
                if not new:
                    continue
                if problem is not None:
                    c = _error_contact(src, pos_, f"{path}:{no}: {redact(problem)}", channel=None)
                    rid = None
                else:
                    if not text_col:
                        from ..io import text_column

                        text_col.append(text_column(row, self.column_map))
                        found = text_col[0]
                        if found is not None and found != "text" and self.column_map.get(found) != "text":
                            self.notes.append(f"{path}: column {found!r} read as the request text "
                                              "(use --map COLUMN=text for another)")
                    c = _record_contact(row, src, pos_, f"{path}:{no}", self.column_map, False, text_col[0])
                    if repaired:
                        c = _replace(c, flags=tuple(sorted({*c.flags, "charset_repaired"})))
                    rid = c.id
                msg = StoredMessage(ident=ident, msgid=self.keys.msgid(str(rid)) if rid else None, handle=ident,
                                    sent_at=c.sent_at.isoformat() if c.sent_at else None, sender=None,
                                    recipients=(), is_reply=False, reply_subject=False, subject=None,
                                    kind="record", error=c.error is not None)
                self.plans[contact_key(c)] = ContactPlan(handle=ident, messages=[msg])
                yield c
            pending.clear()

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
            idents = []
            for pos in range(n):
                s, e = starts[pos], ends[pos]
                if pos in garbage:
                    idents.append(self.keys.h(b"garbage", bytes(mm[s:e])))
                else:
                    idents.append(mail_ident(self.keys, mm, s, e, mboxrd=True)[0])
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
        fs = _FileSetReader(new_paths)
        heads = [(i, h, idents[keep[i]]) for i, h in enumerate(fs.heads())]

        def body(pos: int):
            return next(_FileSetReader([new_paths[pos]]).bodies({0}))[1]

        yield from self._thread(heads, lambda pos: (str(new_paths[pos]), 0), body)

    def _thread(self, heads: list[tuple[int, _Head, bytes]], where: Callable[[int], tuple[str, int]],
                body: Callable[[int], Any]) -> Iterator[Contact]:
        """Thread new messages with the stored threads they touch; yield the new contacts, keep the updates."""
        k = self.keys
        store = self.store
        hashed = []
        for pos, h, ident in heads:
            mh = k.msgid(h.msgid)
            refs = tuple(r for r in (k.msgid(x) for x in h.refs) if r)
            sh = k.subject(h.subject)
            hashed.append((pos, h, ident, mh, refs, sh, reply_subject(h.subject)))

        # the stored threads these messages touch
        new_ids = {mh for _, h, _, mh, _, _, _ in hashed if mh and h.error is None}
        all_refs = {r for *_, refs, _, _ in hashed for r in refs}
        by_id = store.handles_by_msgid(new_ids | all_refs)
        handles: dict[bytes, None] = dict.fromkeys(by_id[r] for r in all_refs if r in by_id)
        handles.update(dict.fromkeys(store.handles_referencing(new_ids)))
        known_ids = new_ids | {r for r in all_refs if r in by_id}
        for pos, h, ident, mh, refs, sh, rs in hashed:
            # a reply naming no message known anywhere: the subject decides (the latest earlier thread)
            if rs and sh and h.error is None and not any(r in known_ids and r != mh for r in refs):
                got = store.latest_thread_with_subject(sh, _ts(h.date))
                if got is not None:
                    handles[got] = None
        threads = store.thread_messages(handles) if handles else {}

        index = _ThreadIndex()
        virtual: list[StoredMessage] = []
        for handle, msgs in threads.items():
            tie = "c:" + handle.hex()  # the stored thread stays one thread, however it was joined
            for m in msgs:
                if m.error or m.kind != "mail":
                    continue
                index.add(_Head(where="store", msgid=m.msgid.hex() if m.msgid else None,
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
        self.store.counts.duplicate_ids += len([p for p in plan.duplicates if p >= nv])

        def thread_of(members: list[int]) -> tuple[ThreadMessage, ...]:
            out = []
            for p in members:
                if p < nv:
                    m = virtual[p]
                    out.append(ThreadMessage(sent_at=_parse(m.sent_at), sender=m.sender, recipients=m.recipients,
                                             is_reply=m.is_reply))
                else:
                    m = new_msgs[p - nv]
                    out.append(ThreadMessage(sent_at=plan.dates[p], sender=m.sender, recipients=m.recipients,
                                             is_reply=m.is_reply))
            return tuple(out)

        # contacts go out in order of their request, updates are kept for the first write
        order: list[tuple[int, int]] = []  # (position of the event, root)
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
                fr = first_reply(thread, self.settings.back_office, self.settings.opening_hours)
                changes = {"n_messages": len(members), "first_reply_at": fr.at.isoformat() if fr.at else None,
                           "first_reply_working_minutes": fr.working_minutes, "service_flags": list(fr.flags)}
                self.updates.append(ThreadUpdate(
                    handle=keep, messages=msgs, changes=changes,
                    add_flags=("threaded_by_subject",) if root in plan.by_subject else (),
                    superseded=tuple(h for h in stored if h != keep), thread_ts=thread_ts))
                continue
            pos = heads[req - nv][0]
            src, position = where(pos)
            c = _assemble_contact(body(pos), src, position, raw_ids[req - nv],
                                  tuple(raw_ids[p - nv] or "" for p in members if p >= nv),
                                  len(members), req in plan.duplicates, root in plan.by_subject, thread=thread)
            self.plans[contact_key(c)] = ContactPlan(handle=new_msgs[req - nv].ident, messages=msgs,
                                                     thread_ts=thread_ts, superseded=tuple(stored))
            yield c
