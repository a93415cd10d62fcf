"""A labelling run into a store: what ``tukipyynto label --store`` adds to the labelling pipeline.

:class:`StoreRun` opens the store for writing (its writer lock held to the end), records the
run with the model and catalogue it labels with, hands the pipeline each source's new
contacts (:class:`~classifier.store.dedupe.StoreReader`), adds the store's memory of earlier
runs to the service analytics (repeat contacts, pseudonymised first replies) and writes each
batch of rows with its messages in one transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..label import contact_key
from ..service import ServiceAnalyser, ServiceSettings
from .core import Store, open_store
from .dedupe import StoreReader, StoreRepeatLinker, pseudonymised_settings
from .keys import StoreKeys

__all__ = ["StoreRun", "model_record", "catalogue_record"]


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
    from ..model import CATALOGUE, sha256_file, verify

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
    return {"sha256": sha256_file(path), "file": name, "n_guidelines": len(read_guidelines(path))}


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
    """

    def __init__(self, path: str | os.PathLike, id_key: bytes, pseudonym_key: bytes, settings: ServiceSettings,
                 redactor: Any, inputs: Sequence[str], model_dir: str | None, guidelines: str | None | bool,
                 column_map: dict[str, str] | None = None, notes: list[str] | None = None, wait: float = 0.0) -> None:
        self.path = Path(path)
        self.keys = StoreKeys(id_key)
        self.settings = pseudonymised_settings(settings, self.keys)
        self.store: Store = open_store(self.path, write=True, create=True, wait=wait)
        try:
            ps_check = hmac.new(hashlib.sha256(pseudonym_key).digest(), b"tukipyynto store pseudonym check",
                                hashlib.sha256).hexdigest()[:32]
            self.store.check_keys(self.keys.check_value(), ps_check)
            self.sources = StoreReader.sources(inputs)
            self.reader = StoreReader(self.store, self.keys, self.settings, column_map, notes)
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

    def contacts(self, src) -> Iterator:
        """The new contacts of one source (from :attr:`sources`), in reading order."""
        return self.reader.contacts(src)

    def fields(self, contact: Any, row_id: str) -> dict[str, Any]:
        """A new contact's service fields, its reference keys kept for the store (later runs link to it)."""
        self.linker.last = (None, ())
        out = self.analyser.fields(contact, row_id)
        ts, keys = self.linker.last
        plan = self.reader.plans.get(contact_key(contact))
        if plan is not None and keys and ts is not None:
            plan.repeat_keys, plan.repeat_ts = keys, ts
        return out

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        """Write a batch of rows (and the stored threads' pending updates) in one transaction."""
        plans = [self.reader.take_plan(r["key"]) for r in rows]
        self.store.write(rows, plans, self.reader.take_updates())

    def end_source(self) -> None:
        """After a source's last batch: write the updates of stored threads that no batch carried."""
        updates = self.reader.take_updates()
        if updates:
            self.store.write([], [], updates)

    def close(self, ok: bool) -> None:
        """Record how the run ended and release the store."""
        try:
            if self.store.lock is not None:
                self.store.finish_run("done" if ok else "failed")
        finally:
            self.store.close()
