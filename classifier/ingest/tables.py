"""Request tables (JSONL, CSV, Parquet): one contact per record; a bad record becomes an error contact naming file:line and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from ..io import TableInfo, iter_table, table_format, text_column
from ..records import parse_datetime
from ..redact import redact as _redact
from ..repair import repair_text
from .contact import Contact, _error_contact, _replace, _stable_id


REQUEST_FIELDS = ("id", "channel", "sent_at", "subject", "text")

# Finnish channel names agents' exports use for the spec's two channels.
_CHANNEL_ALIASES = {"puhelin": "phone", "puhelu": "phone", "tel": "phone", "sähköposti": "email",
                    "sposti": "email", "s-posti": "email", "mail": "email", "e-mail": "email"}

# --------------------------------------------------------------------------- tables


def _table_contacts(path: Path, column_map: dict[str, str], keep_stripped: bool,
                    notes: list[str] | None = None) -> Iterator[Contact]:
    """One contact per table record; a bad record becomes an error contact naming file:line and field."""
    src = str(path)
    pos = 0
    info = TableInfo(src, table_format(path))
    text_col: list[str | None] = []  # resolved from the first record's columns
    for no, row, problem, repaired in iter_table(path, info):
        if problem is not None:
            yield _error_contact(src, pos, f"{path}:{no}: {_redact(problem)}", channel=None)
        else:
            if not text_col:
                text_col.append(text_column(row, column_map))
                found = text_col[0]
                if notes is not None and found is not None and found != "text" and column_map.get(found) != "text":
                    notes.append(f"{path}: column {found!r} read as the request text (use --map COLUMN=text for another)")
            c = _record_contact(row, src, pos, f"{path}:{no}", column_map, keep_stripped, text_col[0])
            yield _replace(c, flags=tuple(sorted({*c.flags, "charset_repaired"}))) if repaired else c
        pos += 1
    if notes is not None and info.describe():  # at the end: a cp1252 line may come late in the file
        notes.append(info.describe())  # type: ignore[arg-type]


def _excerpt(value: Any, n: int = 40) -> str:
    """A redacted, shortened quote of an input value for an error message."""
    text = str(value)
    short = text[:n] + ("..." if len(text) > n else "")
    return repr(_redact(short))


def _shown(rid: str) -> str:
    """A record id as an error message may quote it: shortened and redacted."""
    return _redact(rid[:40] + ("..." if len(rid) > 40 else ""))


def _record_contact(
    row: dict[str, Any], src: str, pos: int, where: str, column_map: dict[str, str], keep_stripped: bool,
    text_col: str | None = None,
) -> Contact:
    """Build the contact of one table record (an error contact when a field is bad)."""
    # Each request field comes from the column mapped to it, else from the column of its own
    # name (the text from a usual text column: message, viesti, ...); every other column (a
    # shadowed one included) passes through untouched in extra.
    source_of = {f: f for f in REQUEST_FIELDS}
    if text_col is not None and text_col in row:
        source_of["text"] = text_col
    for col, f in column_map.items():
        if col in row:
            source_of[f] = col
    used = set(source_of.values())
    get = {f: row.get(col) for f, col in source_of.items()}
    extra = {k: v for k, v in row.items() if k not in used}
    rid = get["id"]
    rid = str(rid).strip() if rid not in (None, "") and not isinstance(rid, (dict, list)) else None
    rid = rid or _stable_id(src, pos)
    channel = get["channel"]
    if channel not in (None, "") and isinstance(channel, str):
        channel = channel.strip().lower()
        channel = _CHANNEL_ALIASES.get(channel, channel)
    else:
        channel = None
    text = get["text"]
    subject = get["subject"]
    base = dict(id=rid, source=src, position=pos, channel=channel, subject=None, extra=extra)
    for f, v in (("text", text), ("subject", subject)):
        if v is not None and not isinstance(v, str):
            if isinstance(v, (dict, list, tuple, bool)) or not isinstance(v, (int, float)):
                return Contact(sent_at=None, text="", error=(
                    f"{where} [{source_of[f]}]: record {_shown(rid)}: expected a string, found {type(v).__name__}"), **base)
    subject = str(subject) if subject not in (None, "") else None
    base["subject"] = subject
    if text is None or not str(text).strip():
        hint = ""
        if len(row) == 1 and ";" in str(next(iter(row))):
            hint = " (the file looks semicolon-separated; check its header line)"
        what = f"an empty {source_of['text']!r}" if text is not None else f"no {source_of['text']!r} field"
        if text is None and text_col is None and source_of["text"] == "text":
            what += " (nor a usual text column such as 'message' or 'viesti'; use --map COLUMN=text)"
        return Contact(sent_at=None, text="", error=f"{where} [{source_of['text']}]: record {_shown(rid)} has {what}{hint}", **base)
    text, repairs = repair_text(str(text))
    flags = set(repairs)
    if not text.strip():
        return Contact(sent_at=None, text="", flags=tuple(sorted(flags)),
                       error=f"{where} [{source_of['text']}]: record {_shown(rid)} has no text left after cleaning", **base)
    try:
        sent_at = parse_datetime(get["sent_at"])
    except (ValueError, TypeError, OverflowError):
        return Contact(
            sent_at=None, text=text, flags=tuple(sorted(flags)),
            error=(f"{where} [{source_of['sent_at']}]: record {_shown(rid)}: bad timestamp {_excerpt(get['sent_at'])}, "
                   "expected ISO 8601 such as 2016-09-05T10:12:00+03:00"),
            **base,
        )
    if not sent_at:
        flags.add("no_date")
    return Contact(
        sent_at=sent_at,
        text=text,
        flags=tuple(sorted(flags)),
        stripped={"quoted": "", "signature": "", "replies": []} if keep_stripped else None,
        **base,
    )
