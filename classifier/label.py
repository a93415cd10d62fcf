"""Batch labelling: contacts in (mail, phone notes, exports), one labelled, redacted row per contact out.

Streams: contacts are read lazily, assessed in batches and written as they come, so memory
stays flat. Output is appended line by line (JSONL/CSV) and flushed per batch; a rerun with
``resume=True`` skips the ids already written and first cuts off a torn last line.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from .errors import TukipyyntoError
from .redact import Redactor

__all__ = ["LabelSummary", "label_inputs", "label_contacts", "DatasetLabeler", "OUTPUT_FORMATS"]

OUTPUT_FORMATS = ("jsonl", "csv", "parquet")
_WORKER_CACHE: dict[tuple, Any] = {}


@dataclass
class LabelSummary:
    """What a labelling run did: every input message or record is counted once."""

    contacts: int = 0
    labelled: int = 0
    errors: int = 0
    merged_messages: int = 0
    skipped_resumed: int = 0
    warnings: list[str] = field(default_factory=list)
    output: str = ""

    @property
    def messages(self) -> int:
        """Input messages/records accounted for: thread starts, merged replies and errors."""
        return self.contacts + self.merged_messages

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {"contacts": self.contacts, "labelled": self.labelled, "errors": self.errors,
                "merged_messages": self.merged_messages, "skipped_resumed": self.skipped_resumed,
                "messages_accounted": self.messages, "output": self.output, "warnings": self.warnings}


def _get_assessor(model_dir: str | None, guidelines: str | None | bool, mode: str):
    """Load (once per process) the model and catalogue for a worker."""
    key = (model_dir, guidelines, mode)
    a = _WORKER_CACHE.get(key)
    if a is None:
        from .guidelines import Assessor
        from .model import load

        a = Assessor(load(model_dir), catalogue=guidelines, mode=mode)
        _WORKER_CACHE.clear()
        _WORKER_CACHE[key] = a
    return a


def _preflight(model_dir: str | None, guidelines: str | None | bool) -> list[str]:
    """Check the model directory and the catalogue's topics without unpickling; return warnings."""
    from .guidelines import catalogue_mismatch
    from .io import read_guidelines
    from .model import verify

    from .model import CATALOGUE

    d, meta = verify(model_dir)
    if guidelines is False:
        return []
    if guidelines is None:
        if not (d / CATALOGUE).exists():
            return [f"{d}: the model was trained without a guideline catalogue and none was given (--guidelines): "
                    "avoidable decisions that depend on a guideline are null with reason no_catalogue"]
        guidelines = d / CATALOGUE
    mismatch = catalogue_mismatch(read_guidelines(guidelines, None), meta.get("labels") or [])
    return [mismatch] if mismatch else []


def _contact_row(c, with_text: bool, redactor: Redactor) -> dict[str, Any]:
    """Output row skeleton for a contact (redacted; no raw text)."""
    row: dict[str, Any] = {
        "id": c.id, "source": c.source, "channel": c.channel,
        "sent_at": c.sent_at.isoformat() if c.sent_at else None,
        "subject": redactor.redact(c.subject) if c.subject else c.subject,
        "n_messages": c.n_messages, "predicted": None,
        "status": "error" if c.error else "ok", "error": c.error,
    }
    if c.attachments:
        row["attachments"] = list(c.attachments)
    if c.flags:
        row["flags"] = list(c.flags)
    for k, v in (c.extra or {}).items():
        if k not in row and k != "text":
            row[k] = v
    if with_text:
        row["text"] = redactor.redact(c.text or "")
    return row


def label_contacts(contacts: Sequence, assessor, with_text: bool = False, redactor: Redactor | None = None) -> list[dict[str, Any]]:
    """Assess a batch of contacts and return one output row per contact (errors included)."""
    from .records import Request

    redactor = redactor or Redactor()
    rows = [_contact_row(c, with_text, redactor) for c in contacts]
    todo = [i for i, c in enumerate(contacts) if not c.error]
    if todo:
        reqs = [Request(id=contacts[i].id, text=contacts[i].text or "", channel=contacts[i].channel,
                        sent_at=contacts[i].sent_at, subject=contacts[i].subject) for i in todo]
        try:
            res = assessor.assess(reqs)
        except Exception as e:  # one bad batch must not lose its rows
            for i in todo:
                rows[i]["status"], rows[i]["error"] = "error", f"assessment failed: {type(e).__name__}: {e}"
            return rows
        for i, a in zip(todo, res):
            rows[i]["predicted"] = a.to_dict()
    return rows


def _assess_batch(contacts: list, model_dir: str | None, guidelines: str | None | bool, mode: str, with_text: bool,
                  redactor: Redactor) -> list[dict[str, Any]]:
    """Worker entry point: assess one batch with a per-process cached model."""
    return label_contacts(contacts, _get_assessor(model_dir, guidelines, mode), with_text, redactor)


def _batches(it: Iterable, size: int) -> Iterator[list]:
    """Chunk an iterator into lists of ``size``."""
    batch = []
    for x in it:
        batch.append(x)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _format_of(path: Path, fmt: str | None) -> str:
    """Output format from the option or the file suffix."""
    if fmt:
        return fmt
    s = path.suffix.lower()
    return {".csv": "csv", ".parquet": "parquet"}.get(s, "jsonl")


def _repair_and_read_ids(path: Path, fmt: str) -> set[str]:
    """For ``--resume``: cut a torn last line off the output and return the ids already written."""
    ids: set[str] = set()
    if not path.exists():
        return ids
    if fmt == "parquet":
        raise TukipyyntoError(f"{path}: --resume needs a JSONL or CSV output; Parquet files cannot be appended to")
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data):  # a crash mid-line: drop the partial row, it will be written again
        with open(path, "r+b") as fh:
            fh.truncate(end)
    if fmt == "jsonl":
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    ids.add(json.loads(line)["id"])
    else:
        with open(path, encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                ids.add(r["id"])
    return ids


class _Writer:
    """Append rows to JSONL / CSV, or stream them into Parquet; whole lines only."""

    CSV_FIELDS = ("id", "source", "channel", "sent_at", "subject", "n_messages", "status", "error",
                  "predicted.topic", "predicted.confidence", "predicted.guideline_id", "predicted.guideline_score",
                  "predicted.avoidable", "predicted.reason", "predicted.later_guideline_id", "predicted.flags",
                  "topic", "guideline_id", "avoidable", "text")

    def __init__(self, path: Path, fmt: str, append: bool) -> None:
        self.path, self.fmt = path, fmt
        path.parent.mkdir(parents=True, exist_ok=True)
        self._pq = None
        if fmt == "jsonl":
            self.fh = open(path, "a" if append else "w", encoding="utf-8")
        elif fmt == "csv":
            new = not (append and path.exists() and path.stat().st_size > 0)
            self.fh = open(path, "a" if append else "w", encoding="utf-8", newline="")
            self.csv = csv.DictWriter(self.fh, fieldnames=self.CSV_FIELDS, extrasaction="ignore")
            if new:
                self.csv.writeheader()
        else:
            self.fh = None

    @staticmethod
    def flat(row: dict[str, Any]) -> dict[str, Any]:
        """Flatten ``predicted`` into ``predicted.*`` columns."""
        out = {k: v for k, v in row.items() if k != "predicted"}
        for k, v in (row.get("predicted") or {}).items():
            out[f"predicted.{k}"] = json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v
        return out

    def write(self, rows: list[dict[str, Any]]) -> None:
        """Write a batch and flush it to disk."""
        if self.fmt == "jsonl":
            # one write per batch of complete lines: a crash can only tear the last line
            self.fh.write("".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows))
            self.fh.flush()
            os.fsync(self.fh.fileno())
        elif self.fmt == "csv":
            buf = io.StringIO()
            w = csv.DictWriter(buf, fieldnames=self.CSV_FIELDS, extrasaction="ignore")
            for r in rows:
                w.writerow(self.flat(r))
            self.fh.write(buf.getvalue())
            self.fh.flush()
            os.fsync(self.fh.fileno())
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            flat = [self.flat(r) for r in rows]
            cols = {c: [json.dumps(f.get(c), ensure_ascii=False, default=str) if isinstance(f.get(c), (list, dict)) else f.get(c)
                        for f in flat] for c in self.CSV_FIELDS}
            schema = pa.schema([(c, pa.float64() if c in ("predicted.confidence", "predicted.guideline_score")
                                 else pa.int64() if c == "n_messages"
                                 else pa.bool_() if c in ("predicted.avoidable",) else pa.string()) for c in self.CSV_FIELDS])
            for c in cols:
                if schema.field(c).type == pa.string():
                    cols[c] = [None if v is None else str(v) for v in cols[c]]
            table = pa.table(cols, schema=schema)
            if self._pq is None:
                self._pq = pq.ParquetWriter(str(self.path), schema)
            self._pq.write_table(table)

    def close(self) -> None:
        """Close the file."""
        if self.fh:
            self.fh.close()
        if self._pq is not None:
            self._pq.close()


def label_inputs(
    inputs: Sequence[str | Path],
    out: str | Path,
    model_dir: str | Path | None = None,
    guidelines: str | Path | None | bool = None,
    with_text: bool = False,
    jobs: int = 1,
    engine: str = "local",
    scheduler: str | None = None,
    resume: bool = False,
    fmt: str | None = None,
    column_map: dict[str, str] | None = None,
    mode: str = "pre-select",
    batch_size: int = 1000,
    redactor: Redactor | None = None,
    progress: Callable[[int], None] | None = None,
) -> LabelSummary:
    """Label every contact of the inputs and write one row per contact.

    Parameters
    ----------
    inputs : paths
        mbox files, folders of ``.eml`` / ``.msg`` files, ``.msg`` files, JSONL / CSV / Parquet
        exports, or globs.
    out : path
        Output file; format from ``fmt`` or the suffix (``.jsonl`` default, ``.csv``, ``.parquet``).
    model_dir : path, optional
        Model directory; the shipped default model when omitted.
    guidelines : path, None or False
        Catalogue (``None``: the shipped one; ``False``: no guideline matching).
    with_text : bool
        Add the cleaned, redacted request text to each row (the raw text is never written).
    jobs : int
        Worker processes on this machine (joblib).
    engine, scheduler : str
        ``engine="dask"`` with a scheduler address spreads batches over a Dask cluster.
    resume : bool
        Continue an interrupted run: ids already in ``out`` are skipped.
    progress : callable, optional
        Called with the number of contacts done after each batch.

    Returns
    -------
    LabelSummary
    """
    from .ingest import iter_contacts

    out = Path(out)
    fmt = _format_of(out, fmt)
    if fmt not in OUTPUT_FORMATS:
        raise TukipyyntoError(f"unknown output format {fmt!r}; expected one of {', '.join(OUTPUT_FORMATS)}")
    redactor = redactor or Redactor()
    done = _repair_and_read_ids(out, fmt) if resume else set()
    summary = LabelSummary(output=str(out))
    mdir = str(model_dir) if model_dir else None
    gl = guidelines if guidelines is False else (str(guidelines) if guidelines else None)
    parallel = engine == "dask" or (jobs and jobs > 1)
    if parallel:
        # the workers load the model; here only check that they will be able to (fail early,
        # before reading input) without holding a second copy of the model in this process
        summary.warnings.extend(_preflight(mdir, gl))
        assessor = None
    else:
        assessor = _get_assessor(mdir, gl, mode)
        summary.warnings.extend(assessor.warnings)

    def contacts():
        for c in iter_contacts(inputs, column_map=column_map):
            summary.contacts += 1
            summary.merged_messages += max(0, c.n_messages - 1)
            if c.id in done:
                summary.skipped_resumed += 1
                continue
            yield c

    writer = _Writer(out, fmt, append=resume)
    n_done = 0
    try:
        batches = _batches(contacts(), batch_size)
        if engine == "dask":
            results = _run_dask(batches, scheduler, mdir, gl, mode, with_text, redactor)
        elif jobs and jobs > 1:
            from joblib import Parallel, delayed

            results = Parallel(n_jobs=jobs, return_as="generator", pre_dispatch="2*n_jobs")(
                delayed(_assess_batch)(b, mdir, gl, mode, with_text, redactor) for b in batches)
        else:
            results = (label_contacts(b, assessor, with_text, redactor) for b in batches)
        for rows in results:
            writer.write(rows)
            for r in rows:
                if r["status"] == "ok":
                    summary.labelled += 1
                else:
                    summary.errors += 1
            n_done += len(rows)
            if progress:
                progress(n_done)
    finally:
        writer.close()
    return summary


def _run_dask(batches: Iterator[list], scheduler: str | None, mdir, gl, mode, with_text, redactor):
    """Yield results of batches computed on a Dask cluster, in input order, a bounded window at a time."""
    try:
        from distributed import Client
    except ImportError:
        raise TukipyyntoError("--engine dask needs the 'dask' extra: pip install 'tukipyynto[dask]'") from None
    if not scheduler:
        raise TukipyyntoError("--engine dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
    client = Client(scheduler)
    try:
        window = max(2, 2 * len(client.scheduler_info().get("workers", {})))
        pending = []
        for b in batches:
            pending.append(client.submit(_assess_batch, b, mdir, gl, mode, with_text, redactor, pure=False))
            if len(pending) >= window:
                yield pending.pop(0).result()
        for f in pending:
            yield f.result()
    finally:
        client.close()


class DatasetLabeler:
    """Label a ``datasets.Dataset`` in place of files: ``ds.map(DatasetLabeler(), batched=True)``.

    Adds columns ``predicted_topic``, ``confidence``, ``predicted_guideline_id``, ``guideline_score``,
    ``predicted_avoidable`` and ``reason``. Reads ``text``, and ``sent_at`` and ``subject`` when present.
    """

    def __init__(self, model_dir: str | Path | None = None, guidelines: str | Path | None | bool = None,
                 text_field: str = "text", mode: str = "pre-select") -> None:
        self.model_dir = str(model_dir) if model_dir else None
        self.guidelines = guidelines if guidelines is False else (str(guidelines) if guidelines else None)
        self.text_field = text_field
        self.mode = mode

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        from .records import Request, parse_datetime

        a = _get_assessor(self.model_dir, self.guidelines, self.mode)
        texts = batch[self.text_field]
        n = len(texts)
        sent = batch.get("sent_at") or [None] * n
        subj = batch.get("subject") or [None] * n
        reqs = [Request(id=str(i), text=t or "", sent_at=parse_datetime(s), subject=sj)
                for i, (t, s, sj) in enumerate(zip(texts, sent, subj))]
        res = a.assess(reqs)
        return {"predicted_topic": [r.topic for r in res], "confidence": [r.confidence for r in res],
                "predicted_guideline_id": [r.guideline_id for r in res], "guideline_score": [r.guideline_score for r in res],
                "predicted_avoidable": [r.avoidable for r in res], "reason": [r.reason for r in res]}
