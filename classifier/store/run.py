"""A labelling run into a store: what ``tukipyynto label --store`` adds to the labelling pipeline.

:class:`StoreRun` opens the store for writing (its writer lock held to the end), records the
run with the model and catalogue it labels with, hands the pipeline each source's new
contacts (:class:`~classifier.ingest.incremental.IncrementalReader`), adds the store's memory
of earlier runs to the service analytics (repeat contacts; first replies on pseudonymised
addresses, so that stored and new messages compare alike) and writes each batch of rows with
its messages in one transaction.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import hmac
import os
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..ingest.identity import MessageKeys
from ..ingest.incremental import IncrementalReader, ThreadUpdate
from ..service import RepeatLinker, ServiceAnalyser, ServiceSettings, first_reply
from .core import Store, open_store

__all__ = ["StoreRepeatLinker", "StoreRun", "catalogue_record", "model_record"]


def model_record(model_dir: str | os.PathLike | None) -> dict[str, Any]:
    """What the store keeps of a model: the sha256 of its ``model.json`` (which holds every file's), path, creation, adaptation."""
    from ..model import verify

    d, meta = verify(model_dir)
    fp = hashlib.sha256((d / "model.json").read_bytes()).hexdigest()
    keep = {k: meta[k] for k in ("created", "params", "labels", "adaptation", "adapted_from", "base_model",
                                 "reviewed", "training") if k in meta}
    return {"fingerprint": fp, "path": "default" if model_dir is None else str(model_dir),
            "created": meta.get("created"), "meta": keep}


def catalogue_record(model_dir: str | os.PathLike | None, guidelines: str | os.PathLike | None | bool) -> dict[str, Any] | None:
    """The catalogue in force: its sha256, file and size (None without guideline matching)."""
    from ..io import read_guidelines
    from ..model import CATALOGUE, verify

    if guidelines is False:
        return None
    if guidelines is None:
        d, _ = verify(model_dir)
        path = d / CATALOGUE
        if not path.exists():
            return None
        name = "model catalogue" if model_dir is not None else "shipped catalogue"
    else:
        path, name = Path(guidelines), str(guidelines)
    return {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "file": name,
            "n_guidelines": len(read_guidelines(path))}


class StoreRepeatLinker(RepeatLinker):
    """Repeat contacts across runs: this run's earlier contacts and the store's (stored ones were read first).

    Remembers the reference keys of the last contact it was given (:attr:`last`), which the
    store keeps for later runs.
    """

    def __init__(self, days: float, store: Store) -> None:
        super().__init__(days)
        self.store = store
        self.last: tuple[float | None, tuple[str, ...]] = (None, ())

    def link(self, sent_at: dt.datetime | None, row_id: str, keys) -> str | None:
        """Register a contact and return the id of the contact it repeats (this run's or a stored one), or None."""
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


class StoreRun:
    """The store's side of one labelling run.

    Parameters
    ----------
    path : path
        The store file (made when missing).
    id_key : bytes
        The id key (:func:`classifier.label.resolve_id_key`); the store's hashes are keyed with it.
    pseudonym_key : bytes
        The service analytics' key (repeat references).
    settings : ServiceSettings
        The run's service settings (real addresses; pseudonymised here).
    redactor : Redactor
    inputs : sequence of str
        What the run reads (recorded, redacted).
    model_dir, guidelines
        As for :func:`classifier.label.label_inputs` (recorded with the run).
    column_map, notes
        As for :func:`classifier.ingest.iter_contacts`.
    wait : float
        Seconds to wait for another writer.

    Raises
    ------
    StoreError
        The store cannot be used (see :func:`~classifier.store.open_store`), is being written,
        or was written with other keys.
    IngestError
        An input names nothing.
    """

    def __init__(self, path: str | os.PathLike, id_key: bytes, pseudonym_key: bytes, settings: ServiceSettings,
                 redactor: Any, inputs: Sequence[str], model_dir: str | None, guidelines: str | None | bool,
                 column_map: dict[str, str] | None = None, notes: list[str] | None = None, wait: float = 0.0) -> None:
        self.path = Path(path)
        self.keys = MessageKeys(id_key)
        self.settings = replace(settings, back_office=tuple(self.keys.pattern(p) for p in settings.back_office))
        self.sources = IncrementalReader.plan(inputs)
        self.store: Store = open_store(self.path, write=True, create=True, wait=wait)
        try:
            ps_check = hmac.new(hashlib.sha256(pseudonym_key).digest(), b"tukipyynto store pseudonym check",
                                hashlib.sha256).hexdigest()[:32]
            self.store.check_keys(self.keys.check_value(), ps_check)
            self.reader = IncrementalReader(self.store, self.keys, column_map, notes)
            self.analyser = ServiceAnalyser(self.settings, pseudonym_key, redactor)
            self.linker = StoreRepeatLinker(self.settings.repeat_days, self.store)
            self.analyser.linker = self.linker
            self.store.begin_run([redactor.redact(str(i)) for i in inputs],
                                 {"repeat_days": settings.repeat_days,
                                  "opening_hours": [t.isoformat() for t in settings.opening_hours],
                                  "n_back_office": len(settings.back_office)},
                                 model_record(model_dir), catalogue_record(model_dir, guidelines))
        except BaseException:
            self.store.close()
            raise

    def contacts(self, src: Any) -> Iterator:
        """The new contacts of one source (from :attr:`sources`), in reading order."""
        return self.reader.contacts(src)

    def fields(self, contact: Any, row_id: str) -> dict[str, Any]:
        """A new contact's service fields; its reference keys are kept with its plan (later runs link to it)."""
        self.linker.last = (None, ())
        out = self.analyser.fields(contact, row_id)
        ts, keys = self.linker.last
        if keys and ts is not None and self.reader.plans:
            plan = self.reader.plans[-1]  # the plan of the contact just read
            plan.repeat_keys, plan.repeat_ts = keys, ts
        return out

    def _updates(self) -> list[ThreadUpdate]:
        """The stored threads that grew, with their new service fields."""
        out = self.reader.take_updates()
        for u in out:
            fr = first_reply(u.thread, self.settings.back_office, self.settings.opening_hours)
            u.changes = {"n_messages": len(u.thread), "first_reply_at": fr.at.isoformat() if fr.at else None,
                         "first_reply_working_minutes": fr.working_minutes, "service_flags": list(fr.flags)}
        return out

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        """Write a batch of rows (and the stored threads' pending updates) in one transaction."""
        plans = [self.reader.plans.popleft() for _ in rows]
        self.store.write(rows, plans, self._updates())

    def end_source(self) -> None:
        """After a source's last batch: write the updates of stored threads that no batch carried."""
        updates = self._updates()
        if updates:
            self.store.write([], [], updates)

    def counts(self) -> dict[str, int]:
        """What the run did besides labelling: messages skipped as known, stored threads updated, ..."""
        return {"known": self.reader.n_seen, "duplicate_ids": self.reader.n_duplicate_ids,
                **self.store.counts.to_dict()}

    def close(self, ok: bool) -> None:
        """Record how the run ended and release the store."""
        try:
            if self.store.lock is not None:
                self.store.finish_run("done" if ok else "failed", self.counts())
        finally:
            self.store.close()
