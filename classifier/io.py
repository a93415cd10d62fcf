"""Loaders: JSON Lines, CSV and Parquet files (through HF ``datasets``), taxonomies, catalogues."""

from __future__ import annotations

import csv
import glob
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from .errors import CatalogueError, CorpusError, TaxonomyError
from .records import (
    Category,
    Guideline,
    Request,
    Taxonomy,
    parse_date,
    parse_datetime,
)
from .rules import parse_bool

__all__ = ["read_taxonomy", "read_guidelines", "read_requests", "write_jsonl", "load_dataset", "guideline_from_row",
           "request_from_row", "iter_table", "iter_rows", "TableInfo", "table_format", "text_column",
           "expand_paths", "json_error", "TABLE_SUFFIXES", "TEXT_COLUMNS"]

# Everything runs offline: never let `datasets` reach for the hub.
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

TABLE_SUFFIXES = {".jsonl": "json", ".json": "json", ".ndjson": "json", ".csv": "csv", ".parquet": "parquet"}


def table_format(path: str | os.PathLike) -> str:
    """Return ``json``, ``csv`` or ``parquet`` from a file name, or raise ``CorpusError``."""
    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise CorpusError(
            f"{path}: unsupported file type {suffix or '(none)'!r}; expected one of "
            f"{', '.join(sorted(TABLE_SUFFIXES))}"
        )
    return TABLE_SUFFIXES[suffix]


def expand_paths(paths: Iterable[str | os.PathLike], suffixes: Sequence[str] = tuple(TABLE_SUFFIXES)) -> list[Path]:
    """Expand globs and directories into a sorted list of table files."""
    out: list[Path] = []
    for p in paths:
        s = str(p)
        matches = sorted(glob.glob(s, recursive=True)) if any(ch in s for ch in "*?[") else [s]
        if not matches:
            raise CorpusError(f"{s}: no file matches this pattern")
        for m in matches:
            mp = Path(m)
            if mp.is_dir():
                out.extend(sorted(q for q in mp.rglob("*") if q.suffix.lower() in suffixes and q.is_file()))
            elif mp.exists():
                out.append(mp)
            else:
                raise CorpusError(f"{m}: no such file or directory")
    return out


# Column names agents' exports use for the request text, in order of preference (casefolded).
TEXT_COLUMNS = ("text", "message", "body", "viesti", "kuvaus", "sisältö", "sisalto", "teksti", "description",
                "content", "viestin sisältö", "pyyntö", "pyynto", "kysymys", "selite")
_CSV_DELIMITERS = (",", ";", "\t", "|")
_BLANK = " \t\r\n\x00\x0b\x0c\ufeff"  # a line of only these is no record (NUL padding after a crash)


@dataclass
class TableInfo:
    """What :func:`iter_table` assumed about a file: its encoding and, for CSV, its delimiter.

    Attributes
    ----------
    delimiter : str or None
        The CSV field separator sniffed from the header line (None for JSONL / Parquet).
    bom : bool
        The file started with a UTF-8 byte-order mark (dropped).
    cp1252_lines : int
        Lines that were not valid UTF-8 and were read as Windows-1252 (what Excel writes).
    """

    path: str
    fmt: str
    delimiter: str | None = None
    bom: bool = False
    cp1252_lines: int = 0

    def describe(self) -> str | None:
        """One line naming every assumption that differs from UTF-8, comma-separated; None when there is none."""
        said = []
        if self.delimiter not in (None, ","):
            said.append(f"{'tab' if self.delimiter == chr(9) else repr(self.delimiter)}-separated")
        if self.cp1252_lines:
            said.append(f"{self.cp1252_lines} line(s) not UTF-8, read as Windows-1252 (cp1252)")
        if self.bom and said:
            said.append("byte-order mark dropped")
        return f"{self.path}: read as " + ", ".join(said) if said else None


def _decode_line(raw: bytes, first: bool, info: TableInfo) -> str:
    """One physical line as text: UTF-8, else Windows-1252 (undefined bytes as Latin-1)."""
    if first and raw.startswith(b"\xef\xbb\xbf"):
        raw, info.bom = raw[3:], True
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        info.cp1252_lines += 1
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError:
            return raw.decode("latin-1")


def _sniff_delimiter(header: str) -> str:
    """The delimiter occurring most often outside quotes in a CSV header line (comma on a tie)."""
    counts = dict.fromkeys(_CSV_DELIMITERS, 0)
    quoted = False
    for ch in header:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(_CSV_DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def json_error(e: json.JSONDecodeError) -> str:
    """A JSON error as ``not valid JSON (<reason> at column N)``, quoting none of the line.

    Parameters
    ----------
    e : json.JSONDecodeError
        The error; its reason may itself end in "at" ("Invalid control character at").

    Returns
    -------
    str
    """
    msg = e.msg[:-3] if e.msg.endswith(" at") else e.msg
    return f"not valid JSON ({msg} at column {e.colno})"


def iter_table(path: str | os.PathLike, info: TableInfo | None = None) -> Iterator[tuple[int, dict[str, Any] | None, str | None, bool]]:
    """Read a JSONL, CSV or Parquet file leniently, the one reader behind ``label``, ``validate`` and the loaders.

    Parameters
    ----------
    path : path
        The file; its format comes from the suffix.
    info : TableInfo, optional
        Filled in while reading: the delimiter sniffed, a byte-order mark, lines read as cp1252.

    Yields
    ------
    tuple
        ``(line, row, None, repaired)`` per record, or ``(line, None, problem, False)`` where a
        record cannot be read; reading goes on after it. ``line`` is the line the record
        starts on (the CSV header is line 1; Parquet rows are numbered from 1); ``repaired``
        is True when a line of the record was read as cp1252. Each JSON line and CSV line
        is decoded on its own, UTF-8 first, so one Windows-1252 line does not spoil the file.
    """
    fmt = table_format(path)
    info = info if info is not None else TableInfo(str(path), fmt)
    if fmt == "json":
        with open(path, "rb") as fh:
            for no, raw in enumerate(fh, 1):
                before = info.cp1252_lines
                line = _decode_line(raw, no == 1, info)
                if not line.strip(_BLANK):
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as e:
                    yield no, None, json_error(e), False
                    continue
                except RecursionError:
                    yield no, None, "not valid JSON (nested too deeply)", False
                    continue
                if not isinstance(row, dict):
                    yield no, None, f"expected a JSON object, found {type(row).__name__}", False
                    continue
                yield no, row, None, info.cp1252_lines > before
    elif fmt == "csv":
        with open(path, "rb") as fh:
            lines_cp: set[int] = set()
            first = fh.readline()
            if not first:
                return
            head = _decode_line(first, True, info)
            if info.cp1252_lines:
                lines_cp.add(1)
            info.delimiter = _sniff_delimiter(head)

            pending: list[str] = []  # the lines of the record being read

            def lines() -> Iterator[str]:
                pending.append(head)
                yield head
                for no, raw in enumerate(fh, 2):
                    before = info.cp1252_lines
                    text = _decode_line(raw, False, info)
                    if info.cp1252_lines > before:
                        lines_cp.add(no)
                    pending.append(text)
                    yield text

            reader = csv.reader(lines(), delimiter=info.delimiter)
            header: list[str] | None = None
            last = 0
            while True:
                start = last + 1
                try:
                    rec = next(reader)
                except StopIteration:
                    return
                except csv.Error as e:
                    yield start, None, f"cannot read this CSV record ({e})", False
                    if reader.line_num <= last:
                        return
                    last = reader.line_num
                    continue
                end = reader.line_num
                last = end
                lines_of_rec = pending[:]
                pending.clear()
                if end > start and "".join(lines_of_rec).count('"') % 2:
                    # a quote opened and never closed swallowed the rest of the file into one field
                    yield start, None, (f"a quoted field opened on line {start} is never closed: lines {start}-{end} "
                                        "cannot be split into records"), False
                    continue
                if not rec or (len(rec) == 1 and not rec[0].strip(_BLANK)):
                    continue
                if header is None:
                    header = [h.strip() for h in rec]
                    continue
                row = {k: (v if v != "" else None) for k, v in zip(header, rec)}
                for k in header[len(rec):]:
                    row.setdefault(k, None)
                yield start, row, None, any(n in lines_cp for n in range(start, end + 1))
    else:
        import pyarrow.parquet as pq

        n = 0
        try:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
                for row in batch.to_pylist():
                    n += 1
                    yield n, row, None, False
        except Exception as e:  # a damaged Parquet file: the rest of it is unreadable
            msg = str(e).splitlines()[0][:160] if str(e) else ""
            yield n + 1, None, f"cannot read the rest of the file ({type(e).__name__}{': ' + msg if msg else ''})", False


def iter_rows(path: str | os.PathLike) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_or_row_number, row)`` from a JSONL, CSV or Parquet file, streaming, strictly.

    Reads as :func:`iter_table` does (so cp1252 and semicolon-separated CSV are read) but
    raises ``CorpusError`` naming file and line at the first record it cannot read.
    """
    for no, row, problem, _ in iter_table(path):
        if problem is not None:
            raise CorpusError(f"{path}:{no}: {problem}")
        yield no, row  # type: ignore[misc]


def text_column(columns: Iterable[str], column_map: dict[str, str] | None = None) -> str | None:
    """The column holding the request text: the one mapped to ``text``, else the first usual name present.

    Parameters
    ----------
    columns : iterable of str
        A record's column names.
    column_map : dict, optional
        ``--map`` options, source column to request field.

    Returns
    -------
    str or None
        ``text`` and the names in :data:`TEXT_COLUMNS` are matched case-insensitively.
    """
    cols = list(columns)
    for col, f in (column_map or {}).items():
        if f == "text" and col in cols:
            return col
    mapped = set(column_map or {})
    folded = {str(c).strip().casefold(): c for c in reversed(cols) if c not in mapped}
    for name in TEXT_COLUMNS:
        if name in folded:
            return folded[name]
    return None


def load_dataset(paths: str | os.PathLike | Sequence[str | os.PathLike], **kwargs: Any):
    """Load one or more JSONL / CSV / Parquet files (or globs, directories) as a ``datasets.Dataset``.

    Date and time values keep the text they have in the file (``2016-02-15T08:30:00+02:00``, as
    ``label`` writes ``sent_at``): the JSON reader would parse them into timestamps without their
    UTC offset (``2016-02-15 06:30``).

    Parameters
    ----------
    paths : path or list of paths
        Files of one format; a directory is searched recursively.
    **kwargs
        Passed to :func:`datasets.load_dataset`.

    Returns
    -------
    datasets.Dataset
    """
    import datasets

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files = expand_paths(paths)
    if not files:
        raise CorpusError(f"{', '.join(map(str, paths))}: no JSONL, CSV or Parquet file found")
    fmts = {table_format(f) for f in files}
    if len(fmts) > 1:
        raise CorpusError(f"mixed file formats {sorted(fmts)}: load each format separately")
    fmt = fmts.pop()
    datasets.disable_progress_bars()
    kwargs.setdefault("split", "train")
    ds = datasets.load_dataset(fmt, data_files=[str(f) for f in files], **kwargs)
    return _datetimes_as_text(ds, files) if fmt == "json" else ds


def _datetimes_as_text(ds, files: Sequence[Path]):
    """Put back the file's text of every column the JSON reader parsed into timestamps (it drops the offset)."""
    import datasets
    import pyarrow as pa
    import pyarrow.json as paj

    if not isinstance(ds, datasets.Dataset):  # a DatasetDict (split=None): each split on its own files is unknown
        return ds
    cols = [f.name for f in ds.features.arrow_schema if pa.types.is_timestamp(f.type) or pa.types.is_date(f.type)]
    if not cols:
        return ds
    schema = pa.schema([(c, pa.string()) for c in cols])
    try:
        tables = [paj.read_json(f, parse_options=paj.ParseOptions(explicit_schema=schema,
                                                                    unexpected_field_behavior="ignore"))
                  for f in files]
    except (pa.ArrowInvalid, OSError):  # not JSON Lines (one JSON array): keep the reader's columns
        return ds
    if sum(t.num_rows for t in tables) != ds.num_rows or ds._indices is not None:  # a sliced split: rows unmatched
        return ds
    table = ds.data
    for c in cols:
        column = pa.chunked_array([t.column(c) for t in tables], pa.string())
        table = table.set_column(table.column_names.index(c), pa.field(c, pa.string()), column)
    info = ds.info.copy()
    info.features = None  # read again from the table
    return datasets.Dataset(table, info=info, split=ds.split)


def read_taxonomy(path: str | os.PathLike | None = None) -> Taxonomy:
    """Read a taxonomy file (JSON with ``categories``, or JSONL/CSV of categories).

    With no path, read the taxonomy of the default model shipped with the package.
    """
    if not path:
        from .model import TAXONOMY, default_model_dir

        path = default_model_dir() / TAXONOMY
    path = Path(path)
    if not path.exists():
        raise TaxonomyError(f"{path}: taxonomy file not found")
    meta: dict[str, Any] = {}
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise TaxonomyError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from None
        if isinstance(data, dict):
            meta = data
            rows = list(enumerate(data.get("categories") or [], 1))
        else:
            rows = list(enumerate(data, 1))
    else:
        rows = list(iter_rows(path))
    cats: list[Category] = []
    seen: set[str] = set()
    for no, row in rows:
        if not isinstance(row, dict) or not row.get("id"):
            raise TaxonomyError(f"{path}: category {no} has no 'id'; expected an object with id and label_fi")
        cid = str(row["id"])
        if cid in seen:
            raise TaxonomyError(f"{path}: category {no}: duplicate id {cid!r}")
        seen.add(cid)
        cats.append(
            Category(
                id=cid,
                label_fi=str(row.get("label_fi") or row.get("label") or cid),
                label_en=str(row.get("label_en") or ""),
                description=str(row.get("description") or ""),
                back_office_remit=_as_bool(row.get("back_office_remit")),
                misrouted=_as_bool(row.get("misrouted")),
            )
        )
    if not cats:
        raise TaxonomyError(f"{path}: no categories found; expected a 'categories' list")
    return Taxonomy(tuple(cats), name=str(meta.get("name", "")), version=str(meta.get("version", "")))


def _as_bool(v: Any) -> bool:
    """Read a yes/no flag (taxonomy files); empty is no."""
    return bool(parse_bool(v))


def guideline_from_row(row: dict[str, Any], where: str, taxonomy: Taxonomy | None = None) -> Guideline:
    """Build a :class:`Guideline` from a row, raising ``CatalogueError`` that names ``where``."""
    gid = row.get("id")
    if not gid:
        raise CatalogueError(f"{where}: guideline has no 'id'")
    for f in ("title", "published"):
        if not row.get(f):
            raise CatalogueError(f"{where} [{f}]: guideline {gid} has no {f!r}")
    if not str(row.get("body") or "").strip():
        raise CatalogueError(f"{where} [body]: guideline {gid} has an empty body; the matcher reads the body to "
                             "decide whether it answers a request: add the instruction's text, or leave the "
                             "guideline out of the catalogue")
    try:
        published = parse_date(row["published"])
    except ValueError:
        raise CatalogueError(f"{where} [published]: guideline {gid}: bad date {row['published']!r}, expected YYYY-MM-DD") from None
    try:
        retired = parse_date(row.get("retired"))
    except ValueError:
        raise CatalogueError(f"{where} [retired]: guideline {gid}: bad date {row.get('retired')!r}, expected YYYY-MM-DD or null") from None
    if retired is not None and published is not None and retired < published:
        raise CatalogueError(f"{where} [retired]: guideline {gid} is retired ({retired}) before it is published ({published})")
    topics = row.get("topics") or []
    if isinstance(topics, str):
        topics = [t.strip() for t in topics.replace("|", ",").split(",") if t.strip()]
    if taxonomy is not None:
        bad = [t for t in topics if t not in taxonomy]
        if bad:
            raise CatalogueError(
                f"{where} [topics]: guideline {gid} has unknown topic {bad[0]!r}; valid topics: {', '.join(taxonomy.ids)}"
            )
    return Guideline(
        id=str(gid),
        title=str(row.get("title") or ""),
        body=str(row.get("body") or ""),
        family=str(row.get("family") or ""),
        topics=tuple(str(t) for t in topics),
        published=published,  # type: ignore[arg-type]
        retired=retired,
    )


def read_guidelines(path: str | os.PathLike | None = None, taxonomy: Taxonomy | None = None) -> list[Guideline]:
    """Read a guideline catalogue (JSONL / CSV / Parquet), strictly.

    Duplicate ids, missing or bad dates and unknown topics raise ``CatalogueError`` naming
    the record. With no path, read the catalogue of the default model shipped with the package.
    """
    if not path:
        from .model import CATALOGUE, default_model_dir

        path = default_model_dir() / CATALOGUE
    path = Path(path)
    if not path.exists():
        raise CatalogueError(f"{path}: guideline catalogue not found")
    out: list[Guideline] = []
    seen: dict[str, int] = {}
    for no, row in iter_rows(path):
        g = guideline_from_row(row, f"{path}:{no}", taxonomy)
        if g.id in seen:
            raise CatalogueError(f"{path}:{no} [id]: duplicate guideline id {g.id!r} (first at line {seen[g.id]})")
        seen[g.id] = no
        out.append(g)
    return out


def request_from_row(
    row: dict[str, Any],
    where: str,
    text_field: str = "text",
    label_field: str = "topic",
    default_id: str | None = None,
) -> Request:
    """Build a :class:`Request` from a row, raising ``CorpusError`` that names ``where`` and the field."""
    rid = row.get("id")
    if rid is None or rid == "":
        if default_id is None:
            raise CorpusError(f"{where} [id]: request has no 'id'")
        rid = default_id
    text = row.get(text_field)
    if text is None:
        raise CorpusError(f"{where} [{text_field}]: request {rid} has no {text_field!r} field")
    try:
        sent_at = parse_datetime(row.get("sent_at"))
    except (ValueError, TypeError):
        raise CorpusError(
            f"{where} [sent_at]: request {rid}: bad timestamp {row.get('sent_at')!r}, expected ISO 8601 such as 2016-09-05T10:12:00+03:00"
        ) from None
    try:
        avoidable = parse_bool(row.get("avoidable"))
    except ValueError as e:
        raise CorpusError(f"{where} [avoidable]: request {rid}: {e}") from None
    topic = row.get(label_field)
    return Request(
        id=str(rid),
        text=str(text),
        channel=row.get("channel") or None,
        sent_at=sent_at,
        subject=row.get("subject"),
        topic=str(topic) if topic not in (None, "") else None,
        guideline_id=row.get("guideline_id") or None,
        avoidable=avoidable,
    )


def read_requests(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    text_field: str = "text",
    label_field: str = "topic",
) -> list[Request]:
    """Read request records from JSONL / CSV / Parquet files; errors name file, line and field."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[Request] = []
    for path in expand_paths(paths):
        for no, row in iter_rows(path):
            out.append(request_from_row(row, f"{path}:{no}", text_field, label_field))
    return out


def write_jsonl(rows: Iterable[dict[str, Any]], path: str | os.PathLike) -> int:
    """Write dictionaries as UTF-8 JSON Lines; return the number written."""
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
            n += 1
    return n
