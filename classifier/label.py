"""Batch labelling: contacts in (mail, phone notes, exports), one labelled, redacted row per contact out.

Streams: contacts are read lazily, assessed in batches and written as they come, so memory
stays flat. Output is appended line by line (JSONL/CSV) and flushed per batch; a rerun with
``resume=True`` first cuts off a torn last row and then skips the contacts already written,
recognised by their ``key``: a hash of the input file and the record's (or thread's first
message's) position in it, so records of different files that share an id are never confused.

Every string of a row is redacted; an ``id`` that holds personal data (an email address as a
Message-ID, an IBAN as a record id) is replaced by a keyed hash (HMAC-SHA256 with the key from
``TUKIPYYNTO_ID_KEY`` or a key file made once per user), stable across runs.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

from .errors import OutputError, TukipyyntoError
from .redact import Redactor

if TYPE_CHECKING:  # service is imported when a run needs it
    from .service import ServiceSettings

__all__ = ["LabelSummary", "label_inputs", "label_contacts", "contact_key", "find_requests", "resolve_id_key",
           "DatasetLabeler",
           "OUTPUT_FORMATS", "PREDICTED_COLUMNS", "label_dataset", "write_rows"]

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
    no_text: int = 0
    semantic_embedded: int = 0  # with --semantic: labelled requests that went through the semantic head
    known: int = 0  # with a store: messages and records it already held, skipped before parsing
    threads_updated: int = 0  # with a store: stored threads that took in new replies
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    output: str = ""

    @property
    def all_failed(self) -> bool:
        """True when this run processed contacts and every one of them was an error."""
        todo = self.contacts - self.skipped_resumed
        return todo > 0 and self.errors == todo

    @property
    def messages(self) -> int:
        """Input messages/records accounted for: thread starts, merged replies and errors."""
        return self.contacts + self.merged_messages

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {"contacts": self.contacts, "labelled": self.labelled, "errors": self.errors,
                "no_text": self.no_text, "merged_messages": self.merged_messages,
                "skipped_resumed": self.skipped_resumed, "messages_accounted": self.messages,
                "known": self.known, "threads_updated": self.threads_updated,
                "semantic_embedded": self.semantic_embedded,
                "output": self.output, "warnings": self.warnings, "notes": self.notes}


def _get_assessor(model_dir: str | None, guidelines: str | None | bool, mode: str, adaptation=None,
                  semantic: str | None = None, threads: int | None = None):
    """Load (once per process) the model and catalogue for a worker, with the run's fold adaptations if any.

    With ``semantic`` the model predicts with its semantic head as well; the embedding engine
    starts on first use, in the process that embeds (after a fork), with ``threads`` threads.
    """
    key = (model_dir, guidelines, mode, adaptation.token if adaptation is not None else None, semantic, threads)
    a = _WORKER_CACHE.get(key)
    if a is None:
        from .guidelines import Assessor
        from .model import load

        model = load(model_dir, semantic=semantic)
        if semantic:
            from .semantic import Embedder

            model.predictor.embedder = Embedder(redactor=model.lexical.processor_.redactor,
                                                max_chars=model.semantic.max_chars, threads=threads)
        a = Assessor(model, catalogue=guidelines, mode=mode)
        if adaptation is not None:
            a = Assessor(a.model, catalogue=a.catalogue if a.catalogue is not None else False, mode=mode,
                         adaptation=adaptation)
        _WORKER_CACHE.clear()
        _WORKER_CACHE[key] = a
    return a


def _preflight(model_dir: str | None, guidelines: str | None | bool, semantic: str | None = None) -> list[str]:
    """Check the model directory, its semantic head and the catalogue's topics without loading the model; return warnings."""
    from .guidelines import NO_CATALOGUE_WARNING, catalogue_mismatch
    from .io import read_guidelines
    from .model import CATALOGUE, verify

    d, meta = verify(model_dir)
    if semantic:
        from .semantic import check_embedder

        if not meta.get("semantic"):
            raise TukipyyntoError(f"{d}: has no semantic head; train one with `tukipyynto train ... --semantic`, "
                                  "or run without --semantic")
        check_embedder(meta["semantic"]["embedder"], str(d))
    if guidelines is False:
        return []
    if guidelines is None:
        if not (d / CATALOGUE).exists():
            return [f"{d}: {NO_CATALOGUE_WARNING}"]
        guidelines = d / CATALOGUE
    mismatch = catalogue_mismatch(read_guidelines(guidelines, None), meta.get("labels") or [])
    return [mismatch] if mismatch else []


ID_KEY_ENV = "TUKIPYYNTO_ID_KEY"


def _id_key_file() -> Path:
    """Where the per-user id key is kept when ``TUKIPYYNTO_ID_KEY`` is not set."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "tukipyynto" / "id-key"


def resolve_id_key(key: bytes | str | None = None) -> tuple[bytes, str | None]:
    """The key for hashing ids that hold personal data, and a warning when it is a one-off.

    Parameters
    ----------
    key : bytes or str, optional
        An explicit key; else ``$TUKIPYYNTO_ID_KEY``; else a random key stored (mode 0600) in
        ``~/.config/tukipyynto/id-key`` on first use, so that reruns and resumes hash alike.

    Returns
    -------
    key : bytes
    warning : str or None
        Set when no key could be stored and a key for this run only was made up.
    """
    if key:
        return (key.encode("utf-8") if isinstance(key, str) else key), None
    env = os.environ.get(ID_KEY_ENV)
    if env:
        return env.encode("utf-8"), None
    path = _id_key_file()
    try:
        if path.exists():
            return path.read_bytes().strip(), None
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        return path.read_bytes().strip(), None
    except OSError:
        return (secrets.token_hex(32).encode("ascii"),
                f"no key for hashing ids could be stored in {path}: ids holding personal data are hashed with a key "
                f"for this run only (set {ID_KEY_ENV} to keep them stable across runs)")


def _safe_id(rid: str, redactor: Redactor, key: bytes) -> str:
    """The id itself, or ``h-`` and a keyed hash of it when it holds personal data."""
    if redactor.redact(rid) == rid:
        return rid
    return "h-" + hmac.new(key, rid.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()[:20]


def _redact_value(v: Any, redactor: Redactor) -> Any:
    """Redact every string in a value (nested lists and dicts included, their keys too)."""
    if isinstance(v, str):
        return redactor.redact(v)
    if isinstance(v, (list, tuple)):
        return [_redact_value(x, redactor) for x in v]
    if isinstance(v, dict):
        return {redactor.redact(str(k)): _redact_value(x, redactor) for k, x in v.items()}
    if v is None or isinstance(v, (bool, int, float)):
        return v
    return redactor.redact(str(v))


def contact_key(c) -> str:
    """The identity of a contact in its input, what ``--resume`` matches on.

    Parameters
    ----------
    c : Contact
        A contact from :func:`classifier.ingest.iter_contacts`.

    Returns
    -------
    str
        16 hex digits of ``sha1(f"{absolute source path}#{position}")``: the record's (or the
        thread's first message's) position in its file, so that records of different files
        sharing an id, or one file's duplicate ids, never collide.
    """
    # the absolute path: a resume that names the same file differently still recognises its rows
    src = os.path.abspath(c.source)
    return hashlib.sha1(f"{src}#{c.position}".encode("utf-8", "surrogateescape")).hexdigest()[:16]


def _has_text(c) -> bool:
    """True when a contact has words to classify (not only the quote marker)."""
    t = (c.text or "").strip()
    return bool(t) and t != "[LAINAUS]"


def _contact_row(c, with_text: bool, redactor: Redactor, id_key: bytes = b"") -> dict[str, Any]:
    """Output row skeleton for a contact: every string redacted, ids with personal data hashed."""
    status = "error" if c.error else ("ok" if _has_text(c) else "no_text")
    flags = list(c.flags)
    if status == "no_text" and "empty_text" not in flags:
        flags.append("empty_text")
    row: dict[str, Any] = {
        "id": _safe_id(str(c.id), redactor, id_key), "key": contact_key(c),
        "source": redactor.redact(c.source), "channel": redactor.redact(c.channel) if c.channel else c.channel,
        "sent_at": c.sent_at.isoformat() if c.sent_at else None,
        "subject": redactor.redact(c.subject) if c.subject else c.subject,
        "n_messages": c.n_messages, "predicted": None,
        "status": status, "error": redactor.redact(c.error) if c.error else None,
    }
    if getattr(c, "service", None):
        row.update(c.service)  # computed before redaction in the main process; holds no identifier
    if c.attachments:
        row["attachments"] = _redact_value(list(c.attachments), redactor)
    if flags:
        row["flags"] = flags
    for k, v in (c.extra or {}).items():
        k = redactor.redact(str(k))
        if k not in row and k != "text":
            row[k] = _redact_value(v, redactor)
    if with_text:
        row["text"] = redactor.redact(c.text or "")
    return row


def label_contacts(contacts: Sequence, assessor, with_text: bool = False, redactor: Redactor | None = None,
                   id_key: bytes = b"") -> list[dict[str, Any]]:
    """Assess a batch of contacts and return one output row per contact.

    Parameters
    ----------
    contacts : sequence of Contact
        From :func:`classifier.ingest.iter_contacts`.
    assessor : Assessor
        Model and catalogue.
    with_text : bool
        Add the redacted text to each row.
    redactor : Redactor, optional
        Applied to every string of every row.
    id_key : bytes
        Key of the hash that replaces ids holding personal data.

    Returns
    -------
    list of dict
        One row per contact, in order. Error contacts and contacts without text (status
        ``no_text``, flag ``empty_text``) are not assessed: no topic, no avoidable decision.
        A text with words but no content (a customer number and a signature) is assessed and
        then written the same way.
    """
    from .records import Request

    redactor = redactor or Redactor()
    rows = [_contact_row(c, with_text, redactor, id_key) for c in contacts]
    todo = [i for i, r in enumerate(rows) if r["status"] == "ok"]
    if todo:
        # the row's id: what a reviewed file names the request by
        reqs = [Request(id=rows[i]["id"], text=contacts[i].text or "", channel=contacts[i].channel,
                        sent_at=contacts[i].sent_at, subject=contacts[i].subject) for i in todo]
        try:
            res = assessor.assess(reqs)
        except Exception as e:  # one bad batch must not lose its rows
            for i in todo:
                rows[i]["status"] = "error"
                rows[i]["error"] = redactor.redact(f"assessment failed: {type(e).__name__}: {str(e)[:200]}")
            return rows
        for i, a in zip(todo, res):
            if getattr(a, "reason", None) == "no_text":  # words, but none that say anything: an id and a signature
                rows[i]["status"] = "no_text"
                rows[i]["flags"] = list(dict.fromkeys(rows[i].get("flags", []) + ["empty_text"]))
                continue
            rows[i]["predicted"] = a.to_dict()
    return rows


def _assess_batch(contacts: list, model_dir: str | None, guidelines: str | None | bool, mode: str, with_text: bool,
                  redactor: Redactor, id_key: bytes = b"", adaptation=None, semantic: str | None = None,
                  threads: int | None = None) -> list[dict[str, Any]]:
    """Worker entry point: assess one batch with a per-process cached model."""
    return label_contacts(contacts, _get_assessor(model_dir, guidelines, mode, adaptation, semantic, threads),
                          with_text, redactor, id_key)


def find_requests(inputs: Sequence[str | Path], ids: Iterable[str], column_map: dict[str, str] | None = None,
                  redactor: Redactor | None = None, id_key: bytes | str | None = None) -> dict[str, Any]:
    """The requests of the inputs whose rows would carry the given ids (as ``label`` writes them).

    Parameters
    ----------
    inputs : paths
        What ``label`` reads.
    ids : iterable of str
        Row ids, e.g. of reviewed requests.
    column_map, redactor, id_key
        As for :func:`label_inputs`: the same key gives the same hashed ids.

    Returns
    -------
    dict
        Row id -> :class:`~classifier.records.Request` (the contact's text, subject and send
        time, id set to the row id), for the ids found; the first contact wins for a repeated id.
    """
    from .ingest import iter_contacts
    from .records import Request

    want = set(ids)
    redactor = redactor or Redactor()
    key, _ = resolve_id_key(id_key)
    out: dict[str, Any] = {}
    for c in iter_contacts(inputs, column_map=column_map):
        rid = _safe_id(str(c.id), redactor, key)
        if rid in want and rid not in out and not c.error and _has_text(c):
            out[rid] = Request(id=rid, text=c.text or "", channel=c.channel, sent_at=c.sent_at, subject=c.subject)
    return out


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


def _csv_complete_end(data: bytes) -> int:
    """Byte offset just after the last complete CSV record (a newline outside quotes)."""
    quoted = False
    end = 0
    for i, b in enumerate(data):
        if b == 0x22:  # '"': doubled quotes inside a field toggle twice
            quoted = not quoted
        elif b == 0x0A and not quoted:
            end = i + 1
    return end


def _repair_and_read_keys(path: Path, fmt: str) -> set[str]:
    """For ``--resume``: cut a torn last row off the output and return the keys of the rows written."""
    keys: set[str] = set()
    if not path.exists():
        return keys
    if fmt == "parquet":
        raise OutputError(f"{path}: --resume needs a JSONL or CSV output; Parquet files cannot be appended to")
    try:
        data = path.read_bytes()
        end = data.rfind(b"\n") + 1 if fmt == "jsonl" else _csv_complete_end(data)
        if end < len(data):  # a crash mid-row: drop the partial row, it will be written again
            with open(path, "r+b") as fh:
                fh.truncate(end)
            data = data[:end]
    except OSError as e:
        raise OutputError(f"{path}: cannot read the output to resume it ({e.strerror or type(e).__name__})") from None
    text = data.decode("utf-8", errors="replace")
    if fmt == "jsonl":
        rows = []
        for no, line in enumerate(text.split("\n"), 1):
            if line.strip():
                try:
                    rows.append((no, json.loads(line)))
                except json.JSONDecodeError:
                    raise OutputError(f"{path}:{no}: not a row this program wrote (not valid JSON); "
                                      "cannot resume, use --overwrite to start again") from None
    else:
        rows = [(no, r) for no, r in enumerate(csv.DictReader(io.StringIO(text, newline="")), 2)]
    for no, r in rows:
        k = r.get("key") if isinstance(r, dict) else None
        if not k:
            raise OutputError(f"{path}:{no}: row has no 'key' (written by an older version?); cannot resume, "
                              "use --overwrite to start again")
        keys.add(k)
    return keys


#: The ``predicted`` block of a row as flat columns (CSV, Parquet, :class:`DatasetLabeler`): every key it has.
PREDICTED_COLUMNS = ("predicted.topic", "predicted.status", "predicted.confidence", "predicted.candidates",
                     "predicted.guideline_id", "predicted.guideline_score", "predicted.avoidable", "predicted.reason",
                     "predicted.later_guideline_id", "predicted.coverage_probability",
                     "predicted.avoidable_probability", "predicted.assessed_on", "predicted.flags")


class _Writer:
    """Append rows to JSONL / CSV, or stream them into Parquet; whole lines only."""

    CSV_FIELDS = ("id", "key", "source", "channel", "sent_at", "subject", "n_messages", "status", "error", "flags",
                  *PREDICTED_COLUMNS, "predicted.out_of_fold", "topic", "guideline_id", "avoidable", "first_reply_at",
                  "first_reply_working_minutes", "repeat_of", "service_flags", "text", "text_ref")
    FLOAT_FIELDS = ("predicted.confidence", "predicted.guideline_score", "predicted.coverage_probability",
                    "predicted.avoidable_probability", "first_reply_working_minutes")

    def __init__(self, path: Path, fmt: str, append: bool) -> None:
        self.path, self.fmt = path, fmt
        path.parent.mkdir(parents=True, exist_ok=True)
        self._pq = None
        if fmt == "parquet":
            open(path, "wb").close()  # fail now, not after the first batch, when it cannot be written
        if fmt == "jsonl":
            self.fh = open(path, "a" if append else "w", encoding="utf-8")
        elif fmt == "csv":
            new = not (append and path.exists() and path.stat().st_size > 0)
            if not new:
                with open(path, encoding="utf-8", newline="") as fh:
                    header = next(csv.reader(fh), [])
                if tuple(header) != self.CSV_FIELDS:  # appended rows would go under other columns
                    raise OutputError(f"{path}: its columns differ from this version's (written by another version?); "
                                      "cannot resume, use --overwrite to start again")
            self.fh = open(path, "a" if append else "w", encoding="utf-8", newline="")
            self.csv = csv.DictWriter(self.fh, fieldnames=self.CSV_FIELDS, extrasaction="ignore")
            if new:
                self.csv.writeheader()
        else:
            self.fh = None

    @staticmethod
    def flat(row: dict[str, Any]) -> dict[str, Any]:
        """Flatten ``predicted`` into ``predicted.*`` columns."""
        out = {k: (json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v)
               for k, v in row.items() if k != "predicted"}
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
            schema = pa.schema([(c, _column_type(c)) for c in self.CSV_FIELDS])
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


def write_rows(rows: Iterable[dict[str, Any]], path: str | Path, fmt: str | None = None, overwrite: bool = False,
               batch_size: int = 5000) -> int:
    """Write labelled rows (from a store, say) as ``label`` writes them: JSONL, CSV or Parquet, streaming.

    Parameters
    ----------
    rows : iterable of dict
        Rows in the shape :func:`label_inputs` writes.
    path : path
        The file; format from ``fmt`` or the suffix (``.jsonl`` default, ``.csv``, ``.parquet``).
    overwrite : bool
        Replace an existing non-empty file (else it is refused).

    Returns
    -------
    int
        Rows written.

    Raises
    ------
    OutputError
        The file exists (without ``overwrite``) or cannot be written.
    """
    path = Path(path)
    fmt = _format_of(path, fmt)
    if fmt not in OUTPUT_FORMATS:
        raise TukipyyntoError(f"unknown output format {fmt!r}; expected one of {', '.join(OUTPUT_FORMATS)}")
    if path.is_dir():
        raise OutputError(f"{path}: is a directory; name the output file")
    if path.exists() and path.stat().st_size > 0 and not overwrite:
        raise OutputError(f"{path}: already exists; give --overwrite to replace it")
    n = 0
    try:
        writer = _Writer(path, fmt, append=False)
        try:
            for batch in _batches(rows, batch_size):
                writer.write(batch)
                n += len(batch)
        finally:
            writer.close()
    except OSError as e:
        raise OutputError(f"{path}: cannot write the output ({e.strerror or type(e).__name__})") from None
    return n


@dataclass
class _Run:
    """What one :func:`label_inputs` run carries from step to step.

    :func:`_plan` fills in the settings and what a resume skips; :func:`_open` adds the output
    writer, the model and the worker pools; the other steps count into ``summary`` and ``notes``.
    """

    inputs: Sequence[str | Path]
    out: Path | None
    fmt: str
    resume: bool
    model_dir: str | None
    guidelines: str | None | bool
    mode: str
    with_text: bool
    text_store: bool  # redacted texts go to the private store (classifier.textstore), not into the rows
    jobs: int
    engine: str
    scheduler: str | None
    column_map: dict[str, str] | None
    batch_size: int
    redactor: Redactor
    id_key: bytes
    analyser: Any  # a ServiceAnalyser: service is imported when a run needs it
    done: set[str]  # keys of the rows already in the output (resume)
    summary: LabelSummary
    progress: Callable[[int], None] | None = None
    forked: bool = False  # local workers forked from this process once the model is loaded here
    parallel: bool = False  # batches assessed in other processes (forked, joblib or Dask)
    notes: list[str] = field(default_factory=list)  # raw reader notes, redacted when the run closes
    writer: _Writer | None = None
    store: Any = None  # a TextStore while the run writes one
    history: Path | None = None  # the history store (--store), opened by _open as store_run
    history_wait: float = 0.0
    store_run: Any = None  # a classifier.store.run.StoreRun
    service: Any = None  # the ServiceSettings (the history store pseudonymises its addresses)
    assessor: Any = None  # None where the workers load their own
    pool: Any = None
    head_pool: Any = None
    early: Iterator | None = None  # contacts the head pool started reading before the model loaded
    n_done: int = 0
    reviewed: Sequence[str | Path] = ()  # reviewed files: adapt to the catalogue before labelling
    folds: int = 5
    adaptation: Any = None  # the CrossFit the reviews gave
    semantic: str | None = None  # "cascade" or "all": the model's semantic head as well


def label_inputs(
    inputs: Sequence[str | Path],
    out: str | Path | None,
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
    overwrite: bool = False,
    id_key: bytes | str | None = None,
    service: ServiceSettings | None = None,
    text_store: bool = False,
    store: str | Path | None = None,
    store_wait: float = 0.0,
    reviewed: Sequence[str | Path] | None = None,
    folds: int = 5,
    semantic: bool | str | None = None,
) -> LabelSummary:
    """Label every contact of the inputs and write one row per contact.

    Parameters
    ----------
    inputs : paths
        mbox files, folders of ``.eml`` / ``.msg`` files, ``.msg`` files, JSONL / CSV / Parquet
        exports, or globs.
    out : path or None
        Output file; format from ``fmt`` or the suffix (``.jsonl`` default, ``.csv``, ``.parquet``).
        May be None with ``store``.
    model_dir : path, optional
        Model directory; the shipped default model when omitted.
    guidelines : path, None or False
        Catalogue (``None``: the shipped one; ``False``: no guideline matching).
    with_text : bool
        Add the cleaned, redacted request text to each row (the raw text is never written).
    jobs : int
        Worker processes on this machine: forked once the model is loaded (where fork exists; joblib
        workers elsewhere); they parse mbox files (:func:`classifier.ingest.iter_contacts_parallel`)
        and assess batches, while this process plans threads, computes service fields and writes.
    engine, scheduler : str
        ``engine="dask"`` with a scheduler address spreads batches over a Dask cluster.
    resume : bool
        Continue an interrupted run: a torn last row is cut off and the contacts already in
        ``out`` (by their ``key``: input file and position) are skipped.
    progress : callable, optional
        Called with the number of contacts done after each batch.
    overwrite : bool
        Replace an existing non-empty ``out``; without it (or ``resume``) an existing output is refused.
    id_key : bytes or str, optional
        Key for hashing ids that hold personal data (see :func:`resolve_id_key`).
    service : ServiceSettings, optional
        Back-office addresses, opening hours, repeat window and pseudonym key for the service
        fields ``first_reply_at``, ``first_reply_working_minutes``, ``repeat_of`` and
        ``service_flags`` (:mod:`classifier.service`); defaults when omitted. They are computed
        here, in reading order and before redaction; the workers only copy them into the rows.
    text_store : bool
        Without ``with_text``: keep the redacted texts in the private text store
        (:mod:`classifier.textstore`, readable by its owner only) and name its file in each
        row's ``text_ref``, so the review page can show them while the rows carry none. Needs ``out``.
    store : path, optional
        A history store (:mod:`classifier.store`, made when missing): only contacts it does not
        hold are labelled and added to it, one transaction per batch; stored threads that took
        in new replies get their service fields updated. ``out``, when given, receives the new
        contacts' rows too. A rerun after a crash finishes the job (``resume`` is not needed).
    store_wait : float
        Seconds to wait for another process writing to the store, instead of failing at once.
    reviewed : paths, optional
        Reviewed files (``tukipyynto review``): the assessment is first adapted to the
        catalogue from them (:mod:`classifier.adaptation`), with ``folds``-fold cross-fitting.
        A reviewed request's row carries the reviewer's decision (``predicted.status``
        ``reviewed``) and the model's prediction from the fold adaptation that never saw its
        review (``predicted.out_of_fold``); every other row the average of the fold
        adaptations' probabilities. Reviews that cannot be used are named in the warnings.
    semantic : bool or {"cascade", "all"}, optional
        Use the model's semantic head as well (:mod:`classifier.semantic`): ``True`` or
        ``"cascade"`` embeds only the requests the lexical model is not confident about,
        ``"all"`` every request; each row's ``predicted.semantic`` says whether it was embedded.
        Embeddings are cached by text hash (in each process, and in the user's cache folder
        unless ``$TUKIPYYNTO_EMBEDDING_CACHE`` is ``off``), so a rerun embeds nothing twice.

    Returns
    -------
    LabelSummary

    Raises
    ------
    OutputError
        ``out`` exists (without ``resume`` / ``overwrite``), cannot be written, or cannot be resumed.
    StoreError
        The store is not a store, is damaged or newer, is being written, or has other keys.

    Notes
    -----
    The run is a pipeline of steps around one run state: :func:`_plan` (check the options and
    the output, read what a resume skips), :func:`_open` (output, model, with ``reviewed``
    :func:`_adapt`, workers),
    :func:`_read` (contacts, mail threaded), :func:`_service_fields`, :func:`_assess` (batches
    of redacted, assessed rows, here or in the workers) and :func:`_write`; :func:`_close`
    stops the workers and closes the output whatever happened.
    """
    run = _plan(inputs, out, model_dir, guidelines, with_text, jobs, engine, scheduler, resume, fmt, column_map, mode,
                batch_size, redactor, progress, overwrite, id_key, service, text_store, store, store_wait, reviewed,
                folds, semantic)
    ok = False
    try:
        _open(run)
        if run.store_run is None:
            for rows in _assess(run, _service_fields(run, _read(run))):
                _write(run, rows)
        else:
            # one source at a time, written before the next is read: its lookups see the store as written
            for src in run.store_run.sources:
                for rows in _assess(run, _service_fields(run, _read(run, src))):
                    _write(run, rows)
                run.store_run.end_source()
        ok = True
    finally:
        _close(run, ok)
    return run.summary


def _plan(inputs, out, model_dir, guidelines, with_text, jobs, engine, scheduler, resume, fmt, column_map, mode,
          batch_size, redactor, progress, overwrite, id_key, service, text_store=False, store=None,
          store_wait=0.0, reviewed=None, folds=5, semantic=None) -> _Run:
    """Plan a run from :func:`label_inputs`'s arguments: check them and the output, read what a resume skips; open nothing."""
    from .semantic import resolve_mode
    from .service import ServiceAnalyser, ServiceSettings, resolve_pseudonym_key

    if out is None and store is None:
        raise TukipyyntoError("no output: give --out FILE, --store FILE or both")
    if store is not None and resume:
        raise TukipyyntoError("--resume is for an --out file; a store run needs none: run the same command again "
                              "and only what the store does not hold yet is labelled")
    out = Path(out) if out is not None else None
    fmt = _format_of(out, fmt) if out is not None else (fmt or "jsonl")
    if fmt not in OUTPUT_FORMATS:
        raise TukipyyntoError(f"unknown output format {fmt!r}; expected one of {', '.join(OUTPUT_FORMATS)}")
    if resume and overwrite:
        raise TukipyyntoError("--resume and --overwrite contradict each other; give one of them")
    if out is not None and out.is_dir():
        raise OutputError(f"{out}: is a directory; --out names the output file")
    try:
        exists = out is not None and out.exists() and out.stat().st_size > 0
    except OSError:
        exists = False
    if exists and not (resume or overwrite):
        raise OutputError(f"{out}: already exists; give --resume to continue that run or --overwrite to replace it")
    redactor = redactor or Redactor()
    key, key_warning = resolve_id_key(id_key)
    service = service or ServiceSettings()
    analyser = ServiceAnalyser(service, resolve_pseudonym_key(service.pseudonym_key, key), redactor)
    done = _repair_and_read_keys(out, fmt) if resume and out is not None else set()
    summary = LabelSummary(output=", ".join(str(x) for x in (out, store) if x is not None))
    if key_warning:
        summary.warnings.append(key_warning)
    return _Run(
        inputs=inputs, out=out, fmt=fmt, resume=resume,
        model_dir=str(model_dir) if model_dir else None,
        guidelines=guidelines if guidelines is False else (str(guidelines) if guidelines else None),
        # the private text store lies beside --out: a store run without one keeps texts only with --with-text
        mode=mode, with_text=with_text, text_store=bool(text_store and not with_text and out is not None), jobs=jobs,
        engine=engine,
        scheduler=scheduler, column_map=column_map,
        batch_size=batch_size, redactor=redactor, id_key=key, analyser=analyser, done=done, summary=summary,
        progress=progress,
        # local workers are forked from this process once the model is loaded here (they share it);
        # they parse mbox files as well as assess batches. Without fork: joblib workers, as for Dask.
        forked=engine != "dask" and bool(jobs and jobs > 1) and _can_fork(),
        parallel=engine == "dask" or bool(jobs and jobs > 1),
        history=Path(store) if store is not None else None, history_wait=store_wait, service=service,
        reviewed=tuple(reviewed or ()), folds=folds, semantic=resolve_mode(semantic))


def _open(run: _Run) -> None:
    """Open the history store and the output, then load the model here (or check it for workers that load their own) and start the workers."""
    from .ingest import iter_contacts_parallel

    if run.history is not None:
        # first: a store another process is writing, or one that cannot be used, fails before anything else
        from .service import resolve_pseudonym_key
        from .store.run import StoreRun

        run.store_run = StoreRun(run.history, run.id_key, resolve_pseudonym_key(run.service.pseudonym_key, run.id_key),
                                 run.service, run.redactor, [str(i) for i in run.inputs], run.model_dir,
                                 run.guidelines, run.column_map, run.notes, run.history_wait)
        run.analyser = run.store_run.analyser
    if run.out is not None:
        try:
            run.writer = _Writer(run.out, run.fmt, append=run.resume)
        except OutputError:
            raise
        except OSError as e:
            raise OutputError(f"{run.out}: cannot write the output ({e.strerror or type(e).__name__})") from None
    if run.text_store:
        from .textstore import TextStore

        run.store = TextStore(run.out, append=run.resume)
    if run.reviewed:
        _adapt(run)  # the model loads here: the fold adaptations are fitted before any batch
    if run.parallel and not run.forked:
        # the workers load the model; here only check that they will be able to (fail early,
        # before reading input) without holding a second copy of the model in this process
        if not run.reviewed:
            run.summary.warnings.extend(_preflight(run.model_dir, run.guidelines, run.semantic))
        return
    if run.forked:
        # helpers forked before the model loads: they read the first mbox's header blocks meanwhile,
        # or (with a history store) screen large mboxes against it
        run.head_pool = _fork_pool(run.jobs)
        if run.store_run is not None:
            run.store_run.reader.submit = run.head_pool.submit
            run.store_run.reader.workers = run.jobs
        else:
            run.early = iter_contacts_parallel(run.inputs, lambda fn, *a: run.pool.submit(fn, *a), run.jobs,
                                               column_map=run.column_map, notes=run.notes,
                                               head_submit=run.head_pool.submit)
    if run.store_run is None:
        _load_model(run)
    # with a history store the model loads with the first batch (_assess): a run that finds nothing new never loads it


def _load_model(run: _Run) -> None:
    """Load the model here and fork the workers that share it."""
    run.assessor = _get_assessor(run.model_dir, run.guidelines, run.mode, run.adaptation, run.semantic, _threads(run))
    if not run.reviewed:  # _adapt gave the model's warnings
        run.summary.warnings.extend(run.assessor.warnings)
    if run.forked:
        run.pool = _fork_pool(run.jobs)


def _adapt(run: _Run) -> None:
    """Adapt to the catalogue from the reviewed files: find the reviewed requests in the inputs, fit the folds."""
    from .adaptation import adapt_model, adaptation_summary
    from .estimate import read_reviewed

    base = _get_assessor(run.model_dir, run.guidelines, run.mode, None, run.semantic, _threads(run))
    run.summary.warnings.extend(base.warnings)
    reviewed = read_reviewed(list(run.reviewed))
    names = ", ".join(Path(p).name for p in run.reviewed)
    found = find_requests(run.inputs, reviewed, run.column_map, run.redactor, run.id_key)
    missing = sorted(set(reviewed) - set(found))
    if missing:
        shown = ", ".join(m[:40] for m in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        run.summary.warnings.append(
            f"{names}: {len(missing)} of {len(reviewed)} reviewed request(s) are not among these inputs ({shown}): "
            "they are not labelled here; those whose reviewed row carries the text still adapt the model")
    adapted = adapt_model(reviewed, base, found, folds=run.folds, source=names)
    run.summary.warnings.extend(adapted.reviews.problems)
    run.summary.notes.extend(adaptation_summary(adapted))
    run.adaptation = adapted.crossfit


def _read(run: _Run, src: Any = None) -> Iterator:
    """Read and thread: the inputs' contacts (with a history store: one source's new ones) in reading order, each counted with the replies merged into it."""
    from .ingest import iter_contacts

    if src is not None:
        read = run.store_run.contacts(src)
    else:
        read = run.early if run.early is not None else iter_contacts(run.inputs, column_map=run.column_map,
                                                                     notes=run.notes)
    for c in read:
        run.summary.contacts += 1
        run.summary.merged_messages += max(0, c.n_messages - 1)
        yield c


def _service_fields(run: _Run, contacts: Iterable) -> Iterator:
    """Add each contact's service fields (here, in reading order, before redaction); drop and count resumed ones."""
    from dataclasses import replace

    for c in contacts:
        # every contact, resumed ones too, so that later contacts link to them as repeats
        rid = _safe_id(str(c.id), run.redactor, run.id_key)
        fields = run.store_run.fields(c, rid) if run.store_run is not None else run.analyser.fields(c, rid)
        if contact_key(c) in run.done:
            run.summary.skipped_resumed += 1
            continue
        yield replace(c, thread=(), service=fields)  # addresses stay in this process


# Batch size of a parallel run with the semantic view: a request then costs about 0.1 s, so a batch of 1,000 is
# minutes of one worker's time, and the last batches leave the other workers idle (3,192 requests in batches of
# 1,000 on two workers: 2,000 on one, 1,192 on the other); batches of 200 keep them within seconds of each other.
SEMANTIC_PARALLEL_BATCH = 200


def _batch_size(run: _Run) -> int:
    """Contacts per batch: the run's, or at most :data:`SEMANTIC_PARALLEL_BATCH` when workers embed."""
    if run.semantic and run.parallel:
        return min(run.batch_size, SEMANTIC_PARALLEL_BATCH)
    return run.batch_size


def _assess(run: _Run, contacts: Iterable) -> Iterator[list[dict[str, Any]]]:
    """Assess and redact: batches of contacts become batches of rows (:func:`label_contacts`), in input order."""
    batches = _batches(contacts, _batch_size(run))
    if run.assessor is None and not (run.parallel and not run.forked):
        return _assess_when_needed(run, batches)
    return _assess_batches(run, batches)


def _assess_when_needed(run: _Run, batches: Iterator[list]) -> Iterator[list[dict[str, Any]]]:
    """A history store run: the model loads (and the workers fork) when the first batch of new contacts is ready."""
    from itertools import chain

    first = next(batches, None)
    if first is None:
        return
    _load_model(run)
    yield from _assess_batches(run, chain([first], batches))


def _assess_batches(run: _Run, batches: Iterator[list]) -> Iterator[list[dict[str, Any]]]:
    """The batches assessed here, in the workers or on a cluster, in input order."""
    texts = run.with_text or run.text_store  # redacted in the workers either way
    args = (run.model_dir, run.guidelines, run.mode, texts, run.redactor, run.id_key, run.adaptation, run.semantic,
            _threads(run))
    if run.engine == "dask":
        return _run_dask(batches, run.scheduler, *args)
    if run.pool is not None:
        return _run_pool(run.pool, run.jobs, batches, *args)
    if run.parallel:
        from joblib import Parallel, delayed

        return Parallel(n_jobs=run.jobs, return_as="generator", pre_dispatch="2*n_jobs")(
            delayed(_assess_batch)(b, *args) for b in batches)
    return (label_contacts(b, run.assessor, texts, run.redactor, run.id_key) for b in batches)


def _write(run: _Run, rows: list[dict[str, Any]]) -> None:
    """Write a batch of rows (their texts to the private store when the run keeps one; to the history store, one
    transaction, and the output), count them and report progress."""
    if run.store is not None:
        run.store.write(rows)
        for r in rows:
            if r.pop("text", None):
                r["text_ref"] = run.store.ref
    if run.store_run is not None:
        run.store_run.write(rows)
    if run.writer is not None:
        try:
            run.writer.write(rows)
        except OSError as e:
            raise OutputError(f"{run.out}: cannot write the output ({e.strerror or type(e).__name__})") from None
    for r in rows:
        if r["status"] == "ok":
            run.summary.labelled += 1
            run.summary.semantic_embedded += bool((r.get("predicted") or {}).get("semantic"))
        elif r["status"] == "no_text":
            run.summary.no_text += 1
        else:
            run.summary.errors += 1
    run.n_done += len(rows)
    if run.progress:
        run.progress(run.n_done)


def _close(run: _Run, ok: bool = True) -> None:
    """Stop the workers, close the outputs and the history store and add the run's notes, redacted, to its summary."""
    for p in (run.pool, run.head_pool):
        if p is not None:
            p.shutdown(wait=True, cancel_futures=True)
    for closing in (run.writer, run.store):
        if closing is not None:
            try:
                closing.close()
            except OSError:
                pass
    if run.store_run is not None:
        counts = run.store_run.counts()
        run.summary.known, run.summary.threads_updated = counts["known"], counts["updated"]
        run.store_run.close(ok)
    run.summary.notes.extend(run.redactor.redact(n) for n in dict.fromkeys(run.notes))
    if run.semantic:
        s = run.summary
        run.summary.notes.append(f"semantic view ({run.semantic}): {s.semantic_embedded} of {s.labelled} labelled "
                                 f"requests went through the semantic head"
                                 + (" (the others were confident by the lexical model alone)"
                                    if run.semantic == "cascade" else ""))
    if run.analyser.note():
        run.summary.notes.append(run.analyser.note())


def _threads(run: _Run) -> int | None:
    """Embedding threads per process: one each when batches run in several processes, else the engine's default."""
    return 1 if run.parallel else None


def _can_fork() -> bool:
    """True where worker processes can be forked (Linux, most Unixes)."""
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


def _fork_pool(jobs: int):
    """A pool of ``jobs`` worker processes forked from this one (so they share its loaded model)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork"),
                               initializer=_one_thread_each)


def _one_thread_each() -> None:
    """In a forked worker: one BLAS / OpenMP thread (as joblib gives its workers), not one per core each."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except Exception:  # threadpoolctl missing or a library it cannot control: run as we are
        pass


def _run_pool(pool, jobs: int, batches: Iterator[list], mdir, gl, mode, with_text, redactor, id_key=b"",
              adaptation=None, semantic=None, threads=None):
    """Yield results of batches assessed in the forked pool, in input order, a bounded window at a time."""
    window = 2 * jobs
    pending = []
    for b in batches:
        pending.append(pool.submit(_assess_batch, b, mdir, gl, mode, with_text, redactor, id_key, adaptation,
                                   semantic, threads))
        if len(pending) >= window:
            yield pending.pop(0).result()
    for f in pending:
        yield f.result()


def _run_dask(batches: Iterator[list], scheduler: str | None, mdir, gl, mode, with_text, redactor, id_key=b"",
              adaptation=None, semantic=None, threads=None):
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
            pending.append(client.submit(_assess_batch, b, mdir, gl, mode, with_text, redactor, id_key, adaptation,
                                         semantic, threads, pure=False))
            if len(pending) >= window:
                yield pending.pop(0).result()
        for f in pending:
            yield f.result()
    finally:
        client.close()


class DatasetLabeler:
    """Label a ``datasets.Dataset`` in place of files (:func:`label_dataset` runs it with the right column types).

    ``ds.map(labeler, batched=True, features=labeler.features(ds.features))``.

    Adds the columns ``label`` writes for a row's outcome, flat as in its CSV and Parquet output:
    ``status`` (``ok``, or ``no_text`` for a row without text, which is not assessed) and
    :data:`PREDICTED_COLUMNS` (``predicted.topic``, ``predicted.status``, ``predicted.confidence``,
    ``predicted.candidates`` and ``predicted.flags`` as JSON text, ``predicted.guideline_id``,
    ``predicted.avoidable``, ``predicted.reason``, ``predicted.coverage_probability``,
    ``predicted.avoidable_probability``, ...), so :func:`classifier.report.read_labelled` and
    ``tukipyynto report`` read a labelled dataset saved as JSONL, CSV or Parquet like ``label``'s
    output. Reads ``text`` (``text_field``), and ``sent_at`` and ``subject`` when present.
    ``semantic`` (``True``/``"cascade"`` or ``"all"``) uses the model's semantic head as well.
    """

    def __init__(self, model_dir: str | Path | None = None, guidelines: str | Path | None | bool = None,
                 text_field: str = "text", mode: str = "pre-select", semantic: bool | str | None = None) -> None:
        from .semantic import resolve_mode

        self.model_dir = str(model_dir) if model_dir else None
        self.guidelines = guidelines if guidelines is False else (str(guidelines) if guidelines else None)
        self.text_field = text_field
        self.mode = mode
        self.semantic = resolve_mode(semantic)

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        from .records import Request, parse_datetime

        a = _get_assessor(self.model_dir, self.guidelines, self.mode, None, self.semantic)
        texts = batch[self.text_field]
        n = len(texts)
        sent = batch.get("sent_at") or [None] * n
        subj = batch.get("subject") or [None] * n
        todo = [i for i, t in enumerate(texts) if t is not None and str(t).strip() and str(t).strip() != "[LAINAUS]"]
        reqs = [Request(id=str(i), text=str(texts[i]), sent_at=parse_datetime(sent[i]), subject=subj[i]) for i in todo]
        done = dict(zip(todo, a.assess(reqs))) if reqs else {}
        # words, but none that say anything (an id and a signature): no_text, as label writes it
        done = {i: x for i, x in done.items() if getattr(x, "reason", None) != "no_text"}
        flat = [_Writer.flat({"predicted": done[i].to_dict()}) if i in done else {} for i in range(n)]
        return {"status": ["ok" if i in done else "no_text" for i in range(n)],
                **{c: [f.get(c) for f in flat] for c in PREDICTED_COLUMNS}}

    def features(self, input_features):
        """The ``features`` to give ``Dataset.map`` with this labeller: the input's and the added columns' types.

        Without them ``map`` fixes a column's type from its first batch, and a batch in which every
        ``predicted.later_guideline_id`` (say) is None would make it a null column.
        """
        import datasets

        out = datasets.Features(dict(input_features))
        kinds = {"float": "float64", "bool": "bool", "int": "int64", "str": "string"}
        out["status"] = datasets.Value("string")
        for c in PREDICTED_COLUMNS:
            out[c] = datasets.Value(kinds[_column_kind(c)])
        return out


def label_dataset(ds, model_dir: str | Path | None = None, guidelines: str | Path | None | bool = None,
                  text_field: str = "text", mode: str = "pre-select", batch_size: int = 1000,
                  semantic: bool | str | None = None, **map_kwargs):
    """Label a ``datasets.Dataset``: ``ds.map`` with a :class:`DatasetLabeler` and the column types it adds.

    Parameters
    ----------
    ds : datasets.Dataset
        With a text column (``text_field``), and ``sent_at`` and ``subject`` when present
        (:func:`classifier.io.load_dataset` keeps ``sent_at`` as written, offset included).
    model_dir, guidelines, text_field, mode, semantic
        As for :class:`DatasetLabeler`.
    batch_size : int
        Rows per batch.
    **map_kwargs
        Passed to ``Dataset.map`` (``num_proc``, ``load_from_cache_file``, ...).

    Returns
    -------
    datasets.Dataset
        ``ds`` with ``status`` and the :data:`PREDICTED_COLUMNS`, as ``label`` writes them in CSV.
    """
    labeler = DatasetLabeler(model_dir, guidelines, text_field, mode, semantic)
    return ds.map(labeler, batched=True, batch_size=batch_size, features=labeler.features(ds.features), **map_kwargs)


def _column_kind(column: str) -> str:
    """``float``, ``int``, ``bool`` or ``str``: the type of a flat output column."""
    if column in _Writer.FLOAT_FIELDS:
        return "float"
    return "bool" if column == "predicted.avoidable" else "int" if column == "n_messages" else "str"


def _column_type(column: str):
    """The Arrow type of a flat output column (Parquet)."""
    import pyarrow as pa

    return {"float": pa.float64(), "bool": pa.bool_(), "int": pa.int64(), "str": pa.string()}[_column_kind(column)]
