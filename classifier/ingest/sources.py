"""The entry point: expand inputs (files, folders, globs) into sources, tell their kinds apart, and read each in turn."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from ..errors import IngestError
from ..io import TABLE_SUFFIXES
from .contact import Contact
from .headers import _HEADER_LINE_RE
from .msg import _OLE_MAGIC
from .mbox import _is_separator
from .mail import _mail_contacts
from .tables import REQUEST_FIELDS, _table_contacts


MAIL_SUFFIXES = (".eml", ".msg")
MBOX_SUFFIXES = (".mbox", ".mbx")
# ``NAME.labels.jsonl`` beside ``NAME.mbox``: the answer key of an input, never an input itself
ANSWER_KEY_MARK = ".labels."

# --------------------------------------------------------------------------- entry point


def iter_contacts(
    inputs: Sequence[str | os.PathLike] | str | os.PathLike,
    column_map: dict[str, str] | None = None,
    keep_stripped: bool = False,
    notes: list[str] | None = None,
) -> Iterator[Contact]:
    """Read mailboxes and request tables into contacts, streaming.

    Parameters
    ----------
    inputs : sequence of paths or glob patterns
        Each is an mbox file (any name; recognised by its first ``From`` line or a
        ``.mbox`` suffix), an ``.eml`` or Outlook ``.msg`` file, a directory, a JSONL / CSV /
        Parquet export of requests, or a glob pattern of any of these. A directory is read
        by one rule (:func:`plan_inputs`, the same for ``label`` and ``analyse``): searched
        recursively, its ``.eml`` and ``.msg`` files are threaded together, each mbox
        (``.mbox`` / ``.mbx``, or no suffix and a first ``From`` line) and each JSONL / CSV /
        Parquet file is read, in name order; hidden files and answer-key sidecars
        (``*.labels.*``, such as ``syyskuu-2016.labels.jsonl``) are skipped. A file named
        itself is read whatever its name.
    column_map : dict, optional
        Renames table columns to the request fields ``id``, ``channel``, ``sent_at``,
        ``subject`` and ``text``, e.g. ``{"viesti": "text", "pvm": "sent_at"}``. Other
        columns (labels included) are passed through in ``Contact.extra``.
    keep_stripped : bool
        Keep what was removed from each request in ``Contact.stripped``: ``quoted``
        (quoted history), ``signature`` (signatures, disclaimers, footers) and
        ``replies`` (the new words of each later message of the thread). Buffers a
        thread's contact until its last reply is read.
    notes : list, optional
        Receives one line per assumption made while reading a table: a delimiter other
        than the comma, lines read as Windows-1252, a text column found by its usual name
        (``message``, ``viesti``, ...).

    Returns
    -------
    iterator of Contact
        Mail contacts come in order of each thread's first message within its source;
        table contacts in record order.

    Raises
    ------
    IngestError
        At once (not when iterating) when an input does not exist, a pattern matches
        nothing, or a file is of no kind this module reads. Bad messages and records
        never raise: they become contacts with ``error`` set.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    column_map = _check_column_map(column_map)
    sources = _plan_sources(inputs)
    return _iter_sources(sources, column_map, keep_stripped, notes if notes is not None else [])


def _check_column_map(column_map: dict[str, str] | None) -> dict[str, str]:
    """A copy of ``column_map``; ``IngestError`` when a column maps to something that is not a request field."""
    column_map = dict(column_map or {})
    bad = [k for k, v in column_map.items() if v not in REQUEST_FIELDS]
    if bad:
        raise IngestError(
            f"column_map: {bad[0]!r} maps to {column_map[bad[0]]!r}, which is not a request field; "
            f"expected one of {', '.join(REQUEST_FIELDS)}"
        )
    return column_map


def _iter_sources(sources: list["_Source"], column_map: dict[str, str], keep_stripped: bool,
                  notes: list[str]) -> Iterator[Contact]:
    """Yield the contacts of each planned source in turn."""
    for src in sources:
        if src.kind == "table":
            yield from _table_contacts(src.paths[0], column_map, keep_stripped, notes)
        else:
            yield from _mail_contacts(src, keep_stripped)


# --------------------------------------------------------------------------- input planning


def plan_inputs(inputs: Sequence[str | os.PathLike] | str | os.PathLike) -> list[Path]:
    """The files :func:`iter_contacts` reads for ``inputs``, in reading order.

    Parameters
    ----------
    inputs : sequence of paths or glob patterns
        As for :func:`iter_contacts`: folders are expanded by its one rule (recursive; mail,
        mbox and table files by suffix; hidden files and ``*.labels.*`` answer keys skipped).

    Returns
    -------
    list of Path

    Raises
    ------
    IngestError
        An input does not exist, a pattern matches nothing, or a named file is of no kind read here.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    return [p for src in _plan_sources(inputs) for p in src.paths]


def is_answer_key(path: Path) -> bool:
    """True for an answer-key sidecar (``NAME.labels.jsonl``): skipped when a folder is read."""
    return ANSWER_KEY_MARK in path.name


@dataclass(frozen=True)
class _Source:
    """One unit of input: an mbox, a set of .eml/.msg files threaded together, or a table."""

    kind: str  # "mbox", "files" or "table"
    paths: tuple[Path, ...]


def _plan_sources(inputs: Iterable[str | os.PathLike]) -> list[_Source]:
    """Expand globs and directories into sources, raising ``IngestError`` for inputs that name nothing."""
    out: list[_Source] = []
    for inp in inputs:
        s = os.fspath(inp)
        p = Path(s)
        if p.exists():
            matches = [p]
        elif any(ch in s for ch in "*?["):
            matches = [Path(m) for m in sorted(glob.glob(s, recursive=True))]
            if not matches:
                raise IngestError(f"{s}: no file matches this pattern")
        else:
            raise IngestError(f"{s}: no such file or directory")
        mail: list[Path] = []
        for m in matches:
            if m.is_dir():
                out.extend(_plan_dir(m))
                continue
            kind = _sniff(m)
            if kind == "mail":
                mail.append(m)
            elif kind in ("mbox", "table"):
                out.append(_Source(kind, (m,)))
            elif len(matches) == 1:
                raise IngestError(
                    f"{m}: cannot tell what kind of input this is; expected an mbox, .eml, .msg, "
                    f"{', '.join(sorted(TABLE_SUFFIXES))} file or a directory of them"
                )
            # A pattern may also match files that are none of these (notes, indexes): skipped.
        if mail:
            out.append(_Source("files", tuple(mail)))
    return out


def _plan_dir(d: Path) -> list[_Source]:
    """Sources found under a directory: its mail files as one thread set, each mbox, each table."""
    mail: list[Path] = []
    rest: list[_Source] = []
    for f in sorted(q for q in d.rglob("*") if q.is_file() and not q.name.startswith(".") and not is_answer_key(q)):
        kind = _sniff(f, strict=True)
        if kind == "mail":
            mail.append(f)
        elif kind in ("mbox", "table"):
            rest.append(_Source(kind, (f,)))
    return ([_Source("files", tuple(mail))] if mail else []) + rest


def _is_mbox_file(path: Path) -> bool:
    """True when a file starts with an mbox ``From`` line and holds more than one message."""
    try:
        with open(path, "rb") as fh:
            if fh.read(5) != b"From ":
                return False
            for line in fh:
                if line.startswith(b"From ") and _is_separator(line):
                    return True
    except OSError:
        pass
    return False

_KNOWN_HEADERS = (b"from:", b"to:", b"subject:", b"date:", b"message-id:", b"received:", b"return-path:",
                  b"mime-version:", b"content-type:", b"delivered-to:", b"x-", b"reply-to:", b"cc:")


def _sniff(path: Path, strict: bool = False) -> str | None:
    """``mail``, ``mbox``, ``table`` or None, from the suffix and then the first bytes."""
    # strict (inside directories): only files whose suffix says what they are, plus
    # suffix-less mbox files as Thunderbird stores them.
    suffix = path.suffix.lower()
    if suffix == ".eml":
        # Some tools save a whole mailbox, "From " lines and all, under an .eml name.
        return "mbox" if _is_mbox_file(path) else "mail"
    if suffix in MAIL_SUFFIXES:
        return "mail"
    if suffix in MBOX_SUFFIXES:
        return "mbox"
    if suffix in TABLE_SUFFIXES:
        return "table"
    if strict and suffix:
        return None
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return None
    if head.startswith(b"From "):
        return "mbox"
    if strict:
        return None
    if head.startswith(_OLE_MAGIC):
        return "mail"
    first = head.split(b"\n", 1)[0].strip().lower()
    if _HEADER_LINE_RE.match(first) and first.startswith(_KNOWN_HEADERS):
        return "mail"
    return None
