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

__all__ = ["LabelSummary", "label_inputs", "label_contacts", "contact_key", "resolve_id_key", "DatasetLabeler",
           "OUTPUT_FORMATS"]

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
    semantic_embedded: int = 0
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
                "semantic_embedded": self.semantic_embedded,
                "output": self.output, "warnings": self.warnings, "notes": self.notes}


def _get_assessor(model_dir: str | None, guidelines: str | None | bool, mode: str, semantic: str | None = None,
                  threads: int | None = None):
    """Load (once per process) the model and catalogue for a worker; with ``semantic``, its semantic view too."""
    key = (model_dir, guidelines, mode, semantic, threads)
    a = _WORKER_CACHE.get(key)
    if a is None:
        from .guidelines import Assessor
        from .model import load

        model = load(model_dir, semantic=semantic)
        if semantic:
            from .semantic import Embedder

            # the engine itself starts on first use, in the process that embeds (after a fork)
            model.predictor.embedder = Embedder(redactor=model.lexical.processor_.redactor,
                                                max_chars=model.semantic.max_chars, threads=threads)
        a = Assessor(model, catalogue=guidelines, mode=mode)
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
        reqs = [Request(id=contacts[i].id, text=contacts[i].text or "", channel=contacts[i].channel,
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
                  redactor: Redactor, id_key: bytes = b"", semantic: str | None = None,
                  threads: int | None = None) -> list[dict[str, Any]]:
    """Worker entry point: assess one batch with a per-process cached model."""
    return label_contacts(contacts, _get_assessor(model_dir, guidelines, mode, semantic, threads), with_text, redactor,
                          id_key)


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


class _Writer:
    """Append rows to JSONL / CSV, or stream them into Parquet; whole lines only."""

    CSV_FIELDS = ("id", "key", "source", "channel", "sent_at", "subject", "n_messages", "status", "error", "flags",
                  "predicted.topic", "predicted.confidence", "predicted.guideline_id", "predicted.guideline_score",
                  "predicted.avoidable", "predicted.reason", "predicted.later_guideline_id", "predicted.flags",
                  "topic", "guideline_id", "avoidable", "first_reply_at", "first_reply_working_minutes",
                  "repeat_of", "service_flags", "text")

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
            schema = pa.schema([(c, pa.float64() if c in ("predicted.confidence", "predicted.guideline_score",
                                                          "first_reply_working_minutes")
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


@dataclass
class _Run:
    """What one :func:`label_inputs` run carries from step to step.

    :func:`_plan` fills in the settings and what a resume skips; :func:`_open` adds the output
    writer, the model and the worker pools; the other steps count into ``summary`` and ``notes``.
    """

    inputs: Sequence[str | Path]
    out: Path
    fmt: str
    resume: bool
    model_dir: str | None
    guidelines: str | None | bool
    mode: str
    with_text: bool
    jobs: int
    engine: str
    semantic: str | None
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
    assessor: Any = None  # None where the workers load their own
    pool: Any = None
    head_pool: Any = None
    early: Iterator | None = None  # contacts the head pool started reading before the model loaded
    n_done: int = 0


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
    overwrite: bool = False,
    id_key: bytes | str | None = None,
    service: ServiceSettings | None = None,
    semantic: bool | str | None = None,
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

    Notes
    -----
    The run is a pipeline of steps around one run state: :func:`_plan` (check the options and
    the output, read what a resume skips), :func:`_open` (output, model, workers),
    :func:`_read` (contacts, mail threaded), :func:`_service_fields`, :func:`_assess` (batches
    of redacted, assessed rows, here or in the workers) and :func:`_write`; :func:`_close`
    stops the workers and closes the output whatever happened.
    """
    run = _plan(inputs, out, model_dir, guidelines, with_text, jobs, engine, scheduler, resume, fmt, column_map, mode,
                batch_size, redactor, progress, overwrite, id_key, service, semantic)
    try:
        _open(run)
        for rows in _assess(run, _service_fields(run, _read(run))):
            _write(run, rows)
    finally:
        _close(run)
    return run.summary


def _plan(inputs, out, model_dir, guidelines, with_text, jobs, engine, scheduler, resume, fmt, column_map, mode,
          batch_size, redactor, progress, overwrite, id_key, service, semantic=None) -> _Run:
    """Plan a run from :func:`label_inputs`'s arguments: check them and the output, read what a resume skips; open nothing."""
    from .semantic import resolve_mode
    from .service import ServiceAnalyser, ServiceSettings, resolve_pseudonym_key

    out = Path(out)
    fmt = _format_of(out, fmt)
    if fmt not in OUTPUT_FORMATS:
        raise TukipyyntoError(f"unknown output format {fmt!r}; expected one of {', '.join(OUTPUT_FORMATS)}")
    if resume and overwrite:
        raise TukipyyntoError("--resume and --overwrite contradict each other; give one of them")
    if out.is_dir():
        raise OutputError(f"{out}: is a directory; --out names the output file")
    try:
        exists = out.exists() and out.stat().st_size > 0
    except OSError:
        exists = False
    if exists and not (resume or overwrite):
        raise OutputError(f"{out}: already exists; give --resume to continue that run or --overwrite to replace it")
    redactor = redactor or Redactor()
    key, key_warning = resolve_id_key(id_key)
    service = service or ServiceSettings()
    analyser = ServiceAnalyser(service, resolve_pseudonym_key(service.pseudonym_key, key), redactor)
    done = _repair_and_read_keys(out, fmt) if resume else set()
    summary = LabelSummary(output=str(out))
    if key_warning:
        summary.warnings.append(key_warning)
    return _Run(
        inputs=inputs, out=out, fmt=fmt, resume=resume,
        model_dir=str(model_dir) if model_dir else None,
        guidelines=guidelines if guidelines is False else (str(guidelines) if guidelines else None),
        mode=mode, with_text=with_text, jobs=jobs, engine=engine, semantic=resolve_mode(semantic), scheduler=scheduler,
        column_map=column_map,
        batch_size=batch_size, redactor=redactor, id_key=key, analyser=analyser, done=done, summary=summary,
        progress=progress,
        # local workers are forked from this process once the model is loaded here (they share it);
        # they parse mbox files as well as assess batches. Without fork: joblib workers, as for Dask.
        forked=engine != "dask" and bool(jobs and jobs > 1) and _can_fork(),
        parallel=engine == "dask" or bool(jobs and jobs > 1))


def _open(run: _Run) -> None:
    """Open the output, then load the model here (or check it for workers that load their own) and start the workers."""
    from .ingest import iter_contacts_parallel

    try:
        run.writer = _Writer(run.out, run.fmt, append=run.resume)
    except OSError as e:
        raise OutputError(f"{run.out}: cannot write the output ({e.strerror or type(e).__name__})") from None
    if run.parallel and not run.forked:
        # the workers load the model; here only check that they will be able to (fail early,
        # before reading input) without holding a second copy of the model in this process
        run.summary.warnings.extend(_preflight(run.model_dir, run.guidelines, run.semantic))
        return
    if run.forked:
        # helpers forked before the model loads read the first mbox's header blocks meanwhile
        run.head_pool = _fork_pool(run.jobs)
        run.early = iter_contacts_parallel(run.inputs, lambda fn, *a: run.pool.submit(fn, *a), run.jobs,
                                           column_map=run.column_map, notes=run.notes,
                                           head_submit=run.head_pool.submit)
    run.assessor = _get_assessor(run.model_dir, run.guidelines, run.mode, run.semantic, _threads(run))
    run.summary.warnings.extend(run.assessor.warnings)
    if run.forked:
        run.pool = _fork_pool(run.jobs)


def _read(run: _Run) -> Iterator:
    """Read and thread: the inputs' contacts in reading order, each counted with the replies merged into it."""
    from .ingest import iter_contacts

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
        fields = run.analyser.fields(c, _safe_id(str(c.id), run.redactor, run.id_key))
        if contact_key(c) in run.done:
            run.summary.skipped_resumed += 1
            continue
        yield replace(c, thread=(), service=fields)  # addresses stay in this process


def _assess(run: _Run, contacts: Iterable) -> Iterator[list[dict[str, Any]]]:
    """Assess and redact: batches of contacts become batches of rows (:func:`label_contacts`), in input order."""
    batches = _batches(contacts, run.batch_size)
    args = (run.model_dir, run.guidelines, run.mode, run.with_text, run.redactor, run.id_key, run.semantic,
            _threads(run))
    if run.engine == "dask":
        return _run_dask(batches, run.scheduler, *args)
    if run.pool is not None:
        return _run_pool(run.pool, run.jobs, batches, *args)
    if run.parallel:
        from joblib import Parallel, delayed

        return Parallel(n_jobs=run.jobs, return_as="generator", pre_dispatch="2*n_jobs")(
            delayed(_assess_batch)(b, *args) for b in batches)
    return (label_contacts(b, run.assessor, run.with_text, run.redactor, run.id_key) for b in batches)


def _write(run: _Run, rows: list[dict[str, Any]]) -> None:
    """Write a batch of rows, count them by status and report progress."""
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


def _close(run: _Run) -> None:
    """Stop the workers, close the output and add the run's notes, redacted, to its summary."""
    for p in (run.pool, run.head_pool):
        if p is not None:
            p.shutdown(wait=True, cancel_futures=True)
    if run.writer is not None:
        try:
            run.writer.close()
        except OSError:
            pass
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


def _run_pool(pool, jobs: int, batches: Iterator[list], *args):
    """Yield results of batches assessed in the forked pool, in input order, a bounded window at a time."""
    window = 2 * jobs
    pending = []
    for b in batches:
        pending.append(pool.submit(_assess_batch, b, *args))
        if len(pending) >= window:
            yield pending.pop(0).result()
    for f in pending:
        yield f.result()


def _run_dask(batches: Iterator[list], scheduler: str | None, *args):
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
            pending.append(client.submit(_assess_batch, b, *args, pure=False))
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

        a = _get_assessor(self.model_dir, self.guidelines, self.mode, self.semantic)
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
