"""Ingest: mailboxes (mbox, .eml, Outlook .msg) and request tables (JSONL, CSV, Parquet) into contacts.

One :class:`Contact` is one contact in the study's sense: an email thread (however many
replies it grew), a phone note, or a table record. Every input message or record is
accounted for: it becomes a contact, is merged into one (counted in ``n_messages``), or
becomes an error contact whose ``error`` says which file, which message or line and
what is wrong. Nothing here raises on bad data; only arguments that name no input
(a missing file, a pattern that matches nothing) raise :class:`~classifier.errors.IngestError`.

Mail sources are read twice, streaming: pass 1 reads only header blocks to build the
thread map, pass 2 parses the full text of each thread's first message (the request).
An mbox is memory-mapped and split on its ``From`` lines here rather than by
:mod:`mailbox`, which builds a table of contents in memory first. MIME structure comes
from fast-mail-parser (Rust) when it is installed, else from the standard library's
``compat32`` parser (five times faster than ``policy.default``, and the fallback for any
message the fast parser rejects); either way this module decodes charsets, header
words and HTML itself, so both give the same text.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import datetime as dt
import email
import email.header
import email.utils
import glob
import hashlib
import json
import math
import mmap
import os
import re
from array import array
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from .errors import IngestError
from .io import TABLE_SUFFIXES, TableInfo, iter_table, table_format, text_column
from .redact import redact as _redact
from .repair import repair_text
from .records import HELSINKI, parse_datetime

__all__ = [
    "Contact",
    "ThreadMessage",
    "IngestSummary",
    "IngestTally",
    "QUOTE_MARKER",
    "clean_email_text",
    "iter_contacts",
    "normalise_subject",
    "summarise",
]

QUOTE_MARKER = "[LAINAUS]"
MAIL_SUFFIXES = (".eml", ".msg")
MBOX_SUFFIXES = (".mbox", ".mbx")
REQUEST_FIELDS = ("id", "channel", "sent_at", "subject", "text")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Finnish channel names agents' exports use for the spec's two channels.
_CHANNEL_ALIASES = {"puhelin": "phone", "puhelu": "phone", "tel": "phone", "sähköposti": "email",
                    "sposti": "email", "s-posti": "email", "mail": "email", "e-mail": "email"}


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class ThreadMessage:
    """One message of an email thread as the service analytics see it (kept in memory only).

    Attributes
    ----------
    sent_at : datetime or None
        The message's Date (time zone aware), None when missing or unreadable.
    sender : str or None
        The From address, lower-cased, without the display name.
    recipients : tuple of str
        The To addresses, lower-cased.
    is_reply : bool
        The message names an earlier message (``In-Reply-To`` / ``References``) or its
        subject has a reply prefix.

    Addresses are personal data: they are never written out (``Contact.to_dict`` leaves
    the thread out); :mod:`classifier.service` only compares them.
    """

    sent_at: dt.datetime | None
    sender: str | None
    recipients: tuple[str, ...] = ()
    is_reply: bool = False


@dataclass(frozen=True)
class Contact:
    """One contact: an email thread, a phone note or a table record.

    ``text`` is what the classifier reads: the request's own words and, for email, any
    customer message the agent forwarded or quoted in the thread's first message, after
    a line ``[LAINAUS]``. Quoted history, signatures, disclaimers and mobile footers are
    removed. ``error`` is ``None`` for a good contact; otherwise it names the file, the
    message or line and what is wrong, and ``text`` may be empty.

    Attributes
    ----------
    id : str
        The record's own id; for mail the first message's Message-ID (without angle
        brackets; an empty ``<>`` or a Message-ID an earlier message of the source already
        had counts as none); else ``sha1(f"{source}#{position}")[:16]``, the same on every run.
    source, position : str, int
        The input file (for mail in .eml / .msg files, the first message's file) and the
        0-based position of the first message or record in it.
    channel : str or None
        ``"email"`` for mail; a table record's own channel (``"phone"`` for call notes).
    sent_at : datetime or None
        Time zone aware; for mail the Date of the thread's first message.
    subject : str or None
        The first message's decoded subject, prefixes (``VS:``) kept.
    n_messages : int
        Input messages this contact stands for (the thread's replies included).
    message_ids, attachments : tuple of str
        Message-IDs of the thread in time order; the first message's attachment names.
    flags : tuple of str
        What happened on the way: ``charset_repaired``, ``html_converted``, ``no_date``,
        ``bad_date``, ``threaded_by_subject``, ``quote_kept``, ``broken_headers``,
        ``truncated``, ``bad_encoding``, ``control_chars_removed``, ``empty_text``,
        ``duplicate_message_id`` (an earlier message had the same id: not merged on it),
        ``boundary_not_found`` (the raw body was read), and the text repairs of
        :func:`classifier.repair.repair_text`: ``html_removed``, ``mojibake_fixed``,
        ``caps_normalised``, ``spacing_fixed``.
    stripped : dict or None
        With ``keep_stripped=True``: ``quoted``, ``signature`` and ``replies`` (the new
        words of each later message), else None.
    extra : dict
        A table record's other columns (labels included), untouched.
    thread : tuple of ThreadMessage
        For mail: every message of the thread in time order (undated ones last), with
        sender and recipients, for :mod:`classifier.service`; empty for table records.
        Not part of :meth:`to_dict` (addresses are personal data).
    service : dict or None
        Service fields (``first_reply_at``, ``repeat_of``, ...) set by the labelling job's
        main process (:mod:`classifier.service`); written to the contact's row.
    """

    id: str
    source: str
    position: int
    channel: str | None
    sent_at: dt.datetime | None
    subject: str | None
    text: str
    n_messages: int = 1
    message_ids: tuple[str, ...] = ()
    attachments: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    stripped: dict | None = field(default=None, hash=False)
    extra: dict = field(default_factory=dict, hash=False)
    error: str | None = None
    thread: tuple[ThreadMessage, ...] = field(default=(), hash=False, compare=False, repr=False)
    service: dict | None = field(default=None, hash=False, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        """True when the contact was read without an error."""
        return self.error is None

    def to_request_dict(self) -> dict[str, Any]:
        """Return the spec's request record: id, channel, sent_at, subject, text and any labels in ``extra``."""
        out: dict[str, Any] = {
            "id": self.id,
            "channel": self.channel,
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "subject": self.subject,
            "text": self.text,
        }
        for k in ("topic", "guideline_id", "avoidable"):
            if k in self.extra:
                out[k] = self.extra[k]
        return out

    def to_dict(self) -> dict[str, Any]:
        """Return every field as a JSON-ready dictionary (``sent_at`` as ISO 8601)."""
        return {
            "id": self.id,
            "source": self.source,
            "position": self.position,
            "channel": self.channel,
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "subject": self.subject,
            "text": self.text,
            "n_messages": self.n_messages,
            "message_ids": list(self.message_ids),
            "attachments": list(self.attachments),
            "flags": list(self.flags),
            "stripped": self.stripped,
            "extra": _json_ready(self.extra),
            "error": self.error,
        }


@dataclass(frozen=True)
class IngestSummary:
    """Counts over a run of :func:`iter_contacts`.

    ``messages`` is every input message or record accounted for (the sum of
    ``n_messages``, error contacts included); ``merged`` is how many of them were folded
    into another message's thread.
    """

    contacts: int = 0
    messages: int = 0
    errors: int = 0
    flags: tuple[tuple[str, int], ...] = ()
    channels: tuple[tuple[str, int], ...] = ()

    @property
    def merged(self) -> int:
        """Messages merged into an earlier message's thread."""
        return self.messages - self.contacts

    def describe(self) -> str:
        """One line for a log or a CLI: contacts, merged messages, errors and flag counts."""
        s = f"{self.contacts} contacts from {self.messages} messages/records ({self.merged} merged into threads, {self.errors} errors)"
        if self.flags:
            s += "; flags: " + ", ".join(f"{k} {v}" for k, v in self.flags)
        return s


class IngestTally:
    """Running counts of contacts, for when the contacts are consumed as they stream.

    Examples
    --------
    >>> tally = IngestTally()
    >>> for contact in tally.tee(iter_contacts(["inbox.mbox"])):  # doctest: +SKIP
    ...     write(contact)
    >>> tally.summary().describe()  # doctest: +SKIP
    """

    def __init__(self) -> None:
        self.contacts = 0
        self.messages = 0
        self.errors = 0
        self.flags: Counter[str] = Counter()
        self.channels: Counter[str] = Counter()

    def add(self, contact: Contact) -> Contact:
        """Count one contact and return it."""
        self.contacts += 1
        self.messages += contact.n_messages
        if contact.error is not None:
            self.errors += 1
        self.flags.update(contact.flags)
        self.channels[contact.channel or "unknown"] += 1
        return contact

    def tee(self, contacts: Iterable[Contact]) -> Iterator[Contact]:
        """Yield ``contacts`` unchanged, counting each."""
        for c in contacts:
            yield self.add(c)

    def summary(self) -> IngestSummary:
        """The counts so far."""
        return IngestSummary(
            contacts=self.contacts,
            messages=self.messages,
            errors=self.errors,
            flags=tuple(sorted(self.flags.items())),
            channels=tuple(sorted(self.channels.items())),
        )


def summarise(contacts: Iterable[Contact]) -> IngestSummary:
    """Count contacts, input messages, merged messages, errors and flags.

    Parameters
    ----------
    contacts : iterable of Contact
        Typically a list collected from :func:`iter_contacts`.

    Returns
    -------
    IngestSummary
    """
    tally = IngestTally()
    for c in contacts:
        tally.add(c)
    return tally.summary()


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
        ``.mbox`` suffix), an ``.eml`` or Outlook ``.msg`` file, a directory (searched
        recursively; its ``.eml`` and ``.msg`` files are threaded together), a JSONL / CSV /
        Parquet export of requests, or a glob pattern of any of these.
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
    column_map = dict(column_map or {})
    bad = [k for k, v in column_map.items() if v not in REQUEST_FIELDS]
    if bad:
        raise IngestError(
            f"column_map: {bad[0]!r} maps to {column_map[bad[0]]!r}, which is not a request field; "
            f"expected one of {', '.join(REQUEST_FIELDS)}"
        )
    sources = _plan_sources(inputs)
    return _iter_sources(sources, column_map, keep_stripped, notes if notes is not None else [])


def _iter_sources(sources: list["_Source"], column_map: dict[str, str], keep_stripped: bool,
                  notes: list[str]) -> Iterator[Contact]:
    """Yield the contacts of each planned source in turn."""
    for src in sources:
        if src.kind == "table":
            yield from _table_contacts(src.paths[0], column_map, keep_stripped, notes)
        else:
            yield from _mail_contacts(src, keep_stripped)


# --------------------------------------------------------------------------- input planning


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
    for f in sorted(q for q in d.rglob("*") if q.is_file() and not q.name.startswith(".")):
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


_HEADER_LINE_RE = re.compile(rb"[!-9;-~]+:")
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


# --------------------------------------------------------------------------- helpers


def _stable_id(source: str, position: int) -> str:
    """An id that stays the same for the same source and position across runs."""
    return hashlib.sha1(f"{source}#{position}".encode("utf-8", "surrogateescape")).hexdigest()[:16]


def _brief(e: BaseException) -> str:
    """An exception as a short reason, without any message text it may carry."""
    msg = str(e).splitlines()[0] if str(e) else ""
    return f"{type(e).__name__}: {msg[:160]}" if msg else type(e).__name__


def _json_ready(d: dict) -> dict:
    """Make passthrough values (dates from Parquet, numpy scalars) JSON-serialisable."""
    out = {}
    for k, v in d.items():
        if isinstance(v, (dt.date, dt.datetime)):
            v = v.isoformat()
        elif hasattr(v, "item") and not isinstance(v, (str, bytes)):
            try:
                v = v.item()
            except Exception:
                v = str(v)
        out[k] = v
    return out


def _error_contact(src: str, pos: int, error: str, channel: str | None = "email",
                   msgid: str | None = None, flags: Iterable[str] = ()) -> Contact:
    """A contact standing for an input that could not be read."""
    return Contact(
        id=msgid or _stable_id(src, pos), source=src, position=pos, channel=channel, sent_at=None,
        subject=None, text="", n_messages=1, message_ids=(msgid,) if msgid else (),
        flags=tuple(sorted(set(flags))), error=error,
    )


# --------------------------------------------------------------------------- charsets and headers

# Labels that mean "some single-byte Western charset": text so labelled that is valid UTF-8
# is UTF-8 mislabelled (Finnish latin-1 text almost never forms valid UTF-8 sequences).
_SINGLE_BYTE = frozenset({"ascii", "iso8859-1", "latin-1", "iso8859-15", "cp1252"})  # codecs' own names
# WHATWG reads latin-1 as windows-1252: Windows mailers label cp1252 text (€, quotes, dashes) latin-1.
_READ_AS = {"iso-8859-1": "cp1252", "iso8859-1": "cp1252", "latin-1": "cp1252", "latin1": "cp1252",
            "l1": "cp1252", "us-ascii": "ascii", "x-unknown": "", "unknown-8bit": "", "unknown": "",
            "x-user-defined": "", "default": "",
            "gb2312": "gbk", "gb_2312-80": "gbk"}  # WHATWG: GB2312-labelled mail holds GBK bytes


def _decode_bytes(data: bytes, charset: str | None) -> tuple[str, bool]:
    """Decode with the declared charset, then UTF-8, then cp1252; True when the text was repaired."""
    if not data:
        return "", False
    if b"\x1b" not in data:  # ESC: a 7-bit stateful charset (ISO-2022-JP) that ASCII would garble
        try:
            return data.decode("ascii"), False
        except UnicodeDecodeError:
            pass
    cs = (charset or "").strip().strip("\"'").lower()
    cs = _READ_AS.get(cs, cs)
    if not cs:
        return _fallback(data, repaired=False)
    try:
        name = codecs.lookup(cs).name
    except LookupError:
        return _fallback(data, repaired=True)  # an unknown label is a wrong label
    if name in _SINGLE_BYTE:
        try:
            return data.decode("utf-8"), True
        except UnicodeDecodeError:
            pass
    try:
        return data.decode(name), False
    except UnicodeDecodeError:
        if name == "cp1252":  # the five bytes cp1252 leaves undefined: read them as latin-1 controls
            return data.decode("latin-1"), False
    except Exception:  # not a text codec (a label such as "base64")
        pass
    return _fallback(data, repaired=True)


_UTF8_SEQ_RE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def _fallback(data: bytes, repaired: bool) -> tuple[str, bool]:
    """UTF-8, then cp1252; mostly-UTF-8 bytes with a few bad ones keep UTF-8 with replacement characters."""
    try:
        return data.decode("utf-8"), repaired
    except UnicodeDecodeError:
        pass
    high = sum(1 for b in data if b >= 0x80)
    in_seqs = sum(len(m) for m in _UTF8_SEQ_RE.findall(data))
    if in_seqs * 2 >= high:
        return data.decode("utf-8", errors="replace"), True
    try:
        return data.decode("cp1252"), True
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), True


def _unfold(raw: bytes) -> tuple[str, bool]:
    """A raw header value as text: unfolded, 8-bit bytes decoded, RFC 2047 words decoded."""
    raw = raw.replace(b"\r", b"").replace(b"\n", b"")
    if raw.isascii():
        text, repaired = raw.decode("ascii"), False
    else:
        text, repaired = _decode_bytes(raw, None)  # raw 8-bit header: UTF-8, else cp1252
    if "=?" in text:
        text, rep2 = _decode_rfc2047(text)
        repaired = repaired or rep2
    return " ".join(text.split()), repaired


_EW_RE = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")


def _decode_rfc2047(s: str) -> tuple[str, bool]:
    """Decode RFC 2047 encoded words (the email package's decoder is ten times slower)."""
    # Adjacent words of one charset are joined before decoding: mailers split a multi-byte
    # character across two words.
    out: list[str] = []
    repaired = False
    pos = 0
    buf = b""
    buf_cs = ""

    def flush() -> None:
        """Decode the encoded words gathered so far."""
        nonlocal buf, repaired
        if buf:
            text, rep = _decode_bytes(buf, buf_cs)
            out.append(text)
            repaired = repaired or rep
            buf = b""

    for m in _EW_RE.finditer(s):
        gap = s[pos:m.start()]
        cs = m.group(1).split("*", 1)[0].lower()  # drop an RFC 2231 language tag
        if gap and (gap.strip() or not buf):
            flush()
            out.append(gap)
        if buf and cs != buf_cs:
            flush()
        data = m.group(3)
        try:
            if m.group(2) in "bB":
                raw = base64.b64decode(data + "=" * (-len(data) % 4))
            else:
                raw = binascii.a2b_qp(data.encode("ascii", "replace"), header=True)
        except (binascii.Error, ValueError):
            flush()
            out.append(m.group(0))
            repaired = True
        else:
            buf += raw
            buf_cs = cs
        pos = m.end()
    flush()
    out.append(s[pos:])
    return "".join(out), repaired


def _header_str(value: Any) -> tuple[str | None, bool]:
    """A header value from the compat32 parser (``str``, ``Header`` or ``None``) as clean text."""
    if value is None:
        return None, False
    if isinstance(value, email.header.Header):
        out, repaired = [], False
        for chunk, cs in email.header.decode_header(value):
            if isinstance(chunk, bytes):
                text, rep = _decode_bytes(chunk, None if cs in (None, "unknown-8bit") else cs)
                out.append(text)
                repaired = repaired or rep
            else:
                out.append(chunk)
        return " ".join("".join(out).split()), repaired
    s = str(value)
    if any("\udc80" <= ch <= "\udcff" for ch in s):  # raw 8-bit bytes kept as surrogates
        return _unfold(s.encode("ascii", "surrogateescape"))
    if "=?" in s:
        s, rep = _decode_rfc2047(s)
        return " ".join(s.split()), rep
    return " ".join(s.split()), False


_ID_RE = re.compile(r"<([^<>\s]+)>")


def _message_ids(value: str | None) -> tuple[str, ...]:
    """The ids in a Message-ID, In-Reply-To or References value, without angle brackets."""
    if not value:
        return ()
    ids = _ID_RE.findall(value)
    if ids:
        return tuple(ids)
    v = value.strip().strip("<>").strip()  # "<>" and "< >" are no id at all
    return (v,) if v and " " not in v and "<" not in v and ">" not in v and len(v) < 300 else ()


def _mail_date(value: str | None) -> tuple[dt.datetime | None, str | None]:
    """Parse a Date header to an aware datetime, or return the flag saying why not."""
    if not value or not value.strip():
        return None, "no_date"
    try:
        d = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None, "bad_date"
    if d is None:
        return None, "bad_date"
    if d.tzinfo is None:
        # "-0000" is UTC with no local zone given; a zone-less date is read as Helsinki local time.
        d = d.replace(tzinfo=dt.timezone.utc if value.rstrip().endswith("-0000") else HELSINKI)
    return d, None


_PREFIX_RE = re.compile(r"^\s*(re|vs|vast|sv|aw|antw|fw|fwd|vl|tr|wg)\s*(?:\[\d+\]|\(\d+\))?\s*:\s*", re.I)
_REPLY_PREFIXES = frozenset({"re", "vs", "vast", "sv", "aw", "antw"})


def normalise_subject(subject: str | None) -> str:
    """Strip reply and forward prefixes (``VS: RE: FW: ...``) and normalise case and whitespace.

    Examples
    --------
    >>> normalise_subject("VS: RE:  Vast: Sopimus  päättyy")
    'sopimus päättyy'
    """
    if not subject:
        return ""
    s = subject
    while True:
        m = _PREFIX_RE.match(s)
        if not m:
            break
        s = s[m.end():]
    return " ".join(s.split()).casefold()


def _is_reply_subject(subject: str | None) -> bool:
    """True when the subject starts with a reply prefix (a forward starts a new contact)."""
    if not subject:
        return False
    m = _PREFIX_RE.match(subject)
    return bool(m) and m.group(1).lower() in _REPLY_PREFIXES


# --------------------------------------------------------------------------- header blocks

_BLANK_RE = re.compile(rb"\r?\n[ \t]*\r?\n")
_WANTED = (b"message-id", b"in-reply-to", b"references", b"subject", b"date", b"from", b"to")


@dataclass
class _HeaderBlock:
    """What a hand scan of a raw header block found (faster than the email package for pass 1)."""

    fields: dict[bytes, bytes]  # first occurrence of each wanted field, folded lines joined
    n_valid: int
    bad: list[int]  # indices of lines that are neither header fields nor continuations
    tail: int | None  # first line after the last valid field when only junk follows (no blank line)
    lines: list[bytes]


_VALID_BLOCK_RE = re.compile(rb"(?:[!-9;-~]+:[^\n]*(?:\n[ \t][^\n]*)*(?:\n|\Z))*")
_WANTED_RE = re.compile(rb"(?im)^(message-id|in-reply-to|references|subject|date|from|to):[ \t]*([^\n]*(?:\n[ \t][^\n]*)*)")


def _scan_header_block(block: bytes) -> _HeaderBlock:
    """Scan a header block, noting lines that are neither header fields nor continuations."""
    if block and _VALID_BLOCK_RE.fullmatch(block):
        # The common case: every line is well formed; let regular expressions do the work.
        fields: dict[bytes, bytes] = {}
        for m in _WANTED_RE.finditer(block):
            name = m.group(1).lower()
            if name not in fields:
                v = m.group(2)
                fields[name] = b" ".join(x.strip() for x in v.split(b"\n")) if b"\n" in v else v.strip()
        return _HeaderBlock(fields, 1, [], None, [])
    lines = block.split(b"\n")
    fields = {}
    n_valid = 0
    bad: list[int] = []
    last_valid = -1
    current: bytes | None = None
    for i, ln in enumerate(lines):
        if ln.endswith(b"\r"):
            ln = ln[:-1]
        if not ln:
            continue
        if ln[:1] in (b" ", b"\t"):
            if current is not None:
                fields[current] += b" " + ln.strip()
                last_valid = i
            elif last_valid < 0 or (bad and bad[-1] == i - 1):
                bad.append(i)
            else:
                last_valid = i
            continue
        m = _HEADER_LINE_RE.match(ln)
        if m is None:
            bad.append(i)
            current = None
            continue
        n_valid += 1
        last_valid = i
        name = ln[: m.end() - 1].lower()
        if name in _WANTED and name not in fields:
            fields[name] = ln[m.end():].strip()
            current = name
        else:
            current = None
    tail = None
    if bad and bad[-1] > last_valid:
        tail = next(i for i in bad if i > last_valid)
    return _HeaderBlock(fields, n_valid, bad, tail, lines)


@dataclass
class _Head:
    """Pass 1's view of one message: what threading needs, plus why it is unreadable if it is."""

    where: str
    msgid: str | None = None
    refs: tuple[str, ...] = ()
    subject: str | None = None
    date: dt.datetime | None = None
    flags: tuple[str, ...] = ()
    error: str | None = None
    sender: str | None = None
    recipients: tuple[str, ...] = ()


def _addresses(value: str | None) -> tuple[str, ...]:
    """The lower-cased addresses of a From / To header value (display names dropped)."""
    if not value or "@" not in value:
        return ()
    try:
        pairs = email.utils.getaddresses([value])
    except Exception:  # a garbled header: no address rather than a crash
        return ()
    return tuple(dict.fromkeys(a.strip().lower() for _, a in pairs if a and "@" in a))


def _head_from_fields(fields: dict[bytes, bytes], where: str) -> _Head:
    """Threading fields of a message from its scanned header fields."""
    flags: list[str] = []
    mid = _message_ids(fields[b"message-id"].decode("ascii", "replace")) if b"message-id" in fields else ()
    refs = _message_ids(fields[b"references"].decode("ascii", "replace")) if b"references" in fields else ()
    irt = _message_ids(fields[b"in-reply-to"].decode("ascii", "replace")) if b"in-reply-to" in fields else ()
    subject = None
    if b"subject" in fields:
        subject, rep = _unfold(fields[b"subject"])
        if rep:
            flags.append("charset_repaired")
    date, flag = _mail_date(fields[b"date"].decode("ascii", "replace") if b"date" in fields else None)
    if flag:
        flags.append(flag)
    msgid = mid[0] if mid else None
    sender = _addresses(fields[b"from"].decode("ascii", "replace")) if b"from" in fields else ()
    to = _addresses(fields[b"to"].decode("ascii", "replace")) if b"to" in fields else ()
    return _Head(where=where, msgid=msgid, refs=tuple(dict.fromkeys(refs + irt)), subject=subject,
                 date=date, flags=tuple(flags), sender=sender[0] if sender else None, recipients=to)


def _split_raw(raw: bytes) -> tuple[bytes, bytes | None]:
    """Header block and body of a raw message; body is None when no blank line ends the headers."""
    if raw.startswith((b"\n", b"\r\n")):
        return b"", raw
    m = _BLANK_RE.search(raw)
    if m is None:
        return raw, None
    return raw[: m.start()], raw[m.end():]


def _head_of_raw(raw_head: bytes, complete: bool, where: str, label: Any) -> _Head:
    """Pass 1: threading fields from a header block, or an error when there are no headers."""
    hb = _scan_header_block(raw_head)
    if hb.n_valid == 0:
        return _Head(where=where, error=f"{label}: no header fields (not an email message)")
    head = _head_from_fields(hb.fields, where)
    if not complete and hb.tail is None:
        head.error = f"{label}: the message ends inside its header block (truncated)"
    if hb.bad:
        head.flags += ("broken_headers",)
    return head


# --------------------------------------------------------------------------- mbox reading

_SEP_TIME_RE = re.compile(rb"\d{1,2}:\d{2}")
_SEP_YEAR_RE = re.compile(rb"(?<!\d)(?:19|20)\d\d(?!\d)")
_MBOXRD_RE = re.compile(rb"(?m)^>(>*From )")


def _is_separator(line: bytes) -> bool:
    """True for an mbox ``From`` line: one with a time and a year, so that body text is not split."""
    return _SEP_TIME_RE.search(line) is not None and _SEP_YEAR_RE.search(line) is not None


def _mbox_chunks(mm: Any) -> Iterator[tuple[int, int, int, bool]]:
    """``(start, end, offset, is_message)`` per message of a mapped mbox (``offset``: its ``From`` line)."""
    # Non-blank bytes before the first From line come first, with is_message False.
    size = len(mm)

    def separators() -> Iterator[int]:
        """Offsets of the From lines."""
        if mm[:5] == b"From ":
            yield 0  # the first line counts even without a date: it is what made this an mbox
        pos = 0
        while True:
            i = mm.find(b"\nFrom ", pos)
            if i < 0:
                return
            start = i + 1
            end = mm.find(b"\n", start)
            if _is_separator(mm[start: size if end < 0 else end]):
                yield start
            pos = start

    prev: int | None = None
    for s in separators():
        if prev is None:
            if s > 0 and mm[:s].strip():
                yield 0, s, 0, False
        else:
            yield _body_start(mm, prev, s), s, prev, True
        prev = s
    if prev is None:
        if size and mm[:size].strip():
            yield 0, size, 0, False
    else:
        yield _body_start(mm, prev, size), size, prev, True


def _body_start(mm: Any, sep: int, end: int) -> int:
    """Offset just after the ``From`` line that starts at ``sep``."""
    nl = mm.find(b"\n", sep, end)
    return end if nl < 0 else nl + 1


class _Lines:
    """Line numbers of byte offsets, counted on demand (only error messages need them)."""

    def __init__(self, mm: Any) -> None:
        self.mm, self.off, self.line = mm, 0, 1

    def at(self, offset: int) -> int:
        """1-based line number of ``offset`` (offsets asked in increasing order are cheap)."""
        if offset < self.off:
            self.off, self.line = 0, 1
        self.line += self.mm[self.off: offset].count(b"\n")
        self.off = offset
        return self.line


class _MboxPlace:
    """``file:line: message N`` of an mbox message, worked out only when an error message needs it."""

    __slots__ = ("src", "lines", "off", "pos")

    def __init__(self, src: str, lines: _Lines, off: int, pos: int) -> None:
        self.src, self.lines, self.off, self.pos = src, lines, off, pos

    def __str__(self) -> str:
        return f"{self.src}:{self.lines.at(self.off)}: message {self.pos + 1}"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


class _MboxReader:
    """Both passes over one mbox file, memory-mapped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.src = str(path)

    def _open(self) -> tuple[Any, Any]:
        """Open and map the file (an empty file maps to ``b""``)."""
        fh = open(self.path, "rb")
        try:
            mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # empty file
            mm = b""
        return fh, mm

    def heads(self) -> Iterator[_Head]:
        """Pass 1: one ``_Head`` per chunk, reading header blocks only."""
        fh, mm = self._open()
        try:
            lines = _Lines(mm)
            size = len(mm)
            for pos, (start, end, off, is_msg) in enumerate(_mbox_chunks(mm)):
                if not is_msg:
                    yield _Head(where=self.src, error=self._garbage(end, size))
                    continue
                label = _MboxPlace(self.src, lines, off, pos)
                if mm[start:start + 1] == b"\n" or mm[start:start + 2] == b"\r\n":
                    head_bytes, complete = b"", True
                else:
                    m = _BLANK_RE.search(mm, start, end)
                    head_bytes, complete = (mm[start:end], False) if m is None else (mm[start:m.start()], True)
                yield _head_of_raw(head_bytes, complete, self.src, label)
        finally:
            self._close(fh, mm)

    def bodies(self, wanted: set[int] | None) -> Iterator[tuple[int, "_Body"]]:
        """Pass 2: parse the full messages at ``wanted`` positions (all when None)."""
        fh, mm = self._open()
        try:
            lines = _Lines(mm)
            size = len(mm)
            for pos, (start, end, off, is_msg) in enumerate(_mbox_chunks(mm)):
                if wanted is not None and pos not in wanted:
                    continue
                if not is_msg:
                    yield pos, _Body(error=self._garbage(end, size))
                    continue
                label = _MboxPlace(self.src, lines, off, pos)
                raw = mm[start:end]
                if b">From " in raw:
                    raw = _MBOXRD_RE.sub(rb"\1", raw)
                body = _parse_raw(raw, self.src, label)
                if end == size and raw and not raw.endswith(b"\n") and body.error is None:
                    body.flags.add("truncated")  # an mbox writer ends every message with a newline
                yield pos, body
        finally:
            self._close(fh, mm)

    def _garbage(self, end: int, size: int) -> str:
        """The error of bytes that precede the first ``From`` line."""
        if end == size:
            return f"{self.src}:1: no 'From ' separator line: not an mbox file ({size} bytes)"
        return f"{self.src}:1: {end} bytes before the first 'From ' line are not a message"

    @staticmethod
    def _close(fh: Any, mm: Any) -> None:
        """Unmap and close."""
        if isinstance(mm, mmap.mmap):
            mm.close()
        fh.close()


class _FileSetReader:
    """Both passes over a set of .eml and .msg files, threaded together."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = list(paths)

    @staticmethod
    def _is_msg(path: Path) -> bool:
        """True for an Outlook .msg file (by suffix, else by its OLE signature)."""
        if path.suffix.lower() == ".msg":
            return True
        if path.suffix.lower() == ".eml":
            return False
        try:
            with open(path, "rb") as fh:
                return fh.read(8) == _OLE_MAGIC
        except OSError:
            return False

    def heads(self) -> Iterator[_Head]:
        """Pass 1: the header block of each file."""
        for p in self.paths:
            src = str(p)
            if self._is_msg(p):
                head, _ = _read_msg(p, headers_only=True)
                yield head
                continue
            try:
                with open(p, "rb") as fh:
                    data = fh.read(65536)
                    if _BLANK_RE.search(data) is None:
                        data += fh.read()
            except OSError as e:
                yield _Head(where=src, error=f"{src}: cannot read the file ({e.strerror or _brief(e)})")
                continue
            data = _strip_from_line(data)
            if not data.strip():
                yield _Head(where=src, error=f"{src}: empty file")
                continue
            block, rest = _split_raw(data)
            yield _head_of_raw(block, rest is not None, src, src)

    def bodies(self, wanted: set[int] | None) -> Iterator[tuple[int, "_Body"]]:
        """Pass 2: parse the wanted files in full."""
        for pos, p in enumerate(self.paths):
            if wanted is not None and pos not in wanted:
                continue
            src = str(p)
            if self._is_msg(p):
                _, body = _read_msg(p, headers_only=False)
                yield pos, body  # type: ignore[misc]
                continue
            try:
                raw = p.read_bytes()
            except OSError as e:
                yield pos, _Body(error=f"{src}: cannot read the file ({e.strerror or _brief(e)})")
                continue
            raw = _strip_from_line(raw)
            if not raw.strip():
                yield pos, _Body(error=f"{src}: empty file")
                continue
            yield pos, _parse_raw(raw, src, src)


def _strip_from_line(data: bytes) -> bytes:
    """Drop an mbox ``From`` line some tools put at the top of an .eml file."""
    if data.startswith(b"From "):
        nl = data.find(b"\n")
        return data[nl + 1:] if nl >= 0 else b""
    return data


# --------------------------------------------------------------------------- Outlook .msg


def _read_msg(path: Path, headers_only: bool) -> tuple[_Head, "_Body | None"]:
    """Read an Outlook .msg file with extract-msg: its threading fields and (unless headers_only) its body."""
    src = str(path)
    try:
        import extract_msg
    except ImportError:  # pragma: no cover - extract-msg is a dependency
        err = f"{src}: reading .msg files needs the extract-msg package"
        return _Head(where=src, error=err), _Body(error=err)
    msg = None
    try:
        msg = extract_msg.openMsg(src)
        if not hasattr(msg, "body") or not hasattr(msg, "subject"):
            raise ValueError(f"not an email message ({type(msg).__name__})")
        header = getattr(msg, "header", None)

        def hget(name: str) -> str | None:
            """A transport header of the .msg file as text."""
            try:
                v = header.get(name) if header is not None else None
            except Exception:
                v = None
            return _header_str(v)[0]

        msgid_raw = getattr(msg, "messageId", None) or hget("Message-ID")
        mid = _message_ids(msgid_raw)
        refs = _message_ids(hget("References")) + _message_ids(getattr(msg, "inReplyTo", None) or hget("In-Reply-To"))
        subject, rep = _header_str(getattr(msg, "subject", None))
        subject = (subject or "").replace("\x00", "").strip() or None  # ANSI strings keep their NUL terminator
        flags = ["charset_repaired"] if rep else []
        date = getattr(msg, "date", None)
        if isinstance(date, dt.datetime):
            if date.tzinfo is None:
                date = date.replace(tzinfo=HELSINKI)
        else:
            date, flag = _mail_date(hget("Date"))
            received = getattr(msg, "receivedTime", None)
            if date is None and isinstance(received, dt.datetime):
                date = received if received.tzinfo else received.replace(tzinfo=HELSINKI)
            elif flag:
                flags.append(flag)
        sender = _addresses(hget("From") or getattr(msg, "sender", None))
        head = _Head(where=src, msgid=mid[0] if mid else None, refs=tuple(dict.fromkeys(refs)),
                     subject=subject, date=date, flags=tuple(flags), sender=sender[0] if sender else None,
                     recipients=_addresses(hget("To") or getattr(msg, "to", None)))
        if headers_only:
            return head, None
        body = _Body(head=head)
        body.flags.update(flags)
        plain = getattr(msg, "body", None)
        if isinstance(plain, bytes):
            plain, rep = _decode_bytes(plain, None)
            if rep:
                body.flags.add("charset_repaired")
        if plain and plain.strip():
            body.text = plain
        else:
            html = getattr(msg, "htmlBody", None)
            if isinstance(html, bytes):
                html, rep = _decode_bytes(html, _msg_codepage(msg) or _html_charset(html))
                if rep:
                    body.flags.add("charset_repaired")
            if html and html.strip():
                body.text = _html_to_text(html)
                body.flags.add("html_converted")
        for att in getattr(msg, "attachments", None) or ():
            name = None
            for attr in ("longFilename", "shortFilename", "name", "displayName"):
                name = getattr(att, attr, None)
                if name:
                    break
            inner = getattr(att, "data", None)
            if inner is not None and hasattr(inner, "body") and not isinstance(inner, (bytes, str)):
                # An attached Outlook message: a forwarded customer email.
                ibody = getattr(inner, "body", None)
                if isinstance(ibody, str) and ibody.strip():
                    body.forwarded.append(ibody)
                name = name or f"{getattr(inner, 'subject', None) or 'viesti'}.msg"
            if name:
                body.attachments.append(str(name))
        return head, body
    except Exception as e:
        err = f"{src}: cannot read the Outlook message ({_brief(e)})"
        return _Head(where=src, error=err), _Body(error=err)
    finally:
        if msg is not None and hasattr(msg, "close"):
            try:
                msg.close()
            except Exception:
                pass


def _msg_codepage(msg: Any) -> str | None:
    """The code page of a .msg file's binary HTML body (PR_INTERNET_CPID), e.g. ``cp1251``."""
    try:
        cpid = msg.getPropertyVal("3FDE0003")
    except Exception:
        return None
    if not isinstance(cpid, int) or cpid <= 0:
        return None
    return {65001: "utf-8", 20127: "ascii", 28591: "latin-1", 28605: "iso-8859-15"}.get(cpid, f"cp{cpid}")


_META_CHARSET_RE = re.compile(rb"""<meta[^>]+charset=["']?([\w.:-]+)""", re.I)


def _html_charset(html: bytes) -> str | None:
    """The charset an HTML document declares in a ``<meta>`` tag, if any."""
    m = _META_CHARSET_RE.search(html[:4096])
    return m.group(1).decode("ascii", "replace") if m else None


# --------------------------------------------------------------------------- MIME bodies


@dataclass
class _Body:
    """Pass 2's view of one message: its text (before cleaning), attachments and flags."""

    head: _Head | None = None
    text: str = ""
    forwarded: list[str] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    error: str | None = None


_TRUNCATION_DEFECTS = ("CloseBoundaryNotFoundDefect", "StartBoundaryNotFoundDefect")
_ENCODING_DEFECTS = ("InvalidBase64PaddingDefect", "InvalidBase64CharactersDefect",
                     "InvalidBase64LengthDefect")


def _parse_raw(raw: bytes, where: str, label: Any) -> _Body:
    """Parse one raw RFC 5322 message: headers by hand, MIME with the compat32 parser."""
    block, rest = _split_raw(raw)
    hb = _scan_header_block(block)
    if hb.n_valid == 0:
        return _Body(error=f"{label}: no header fields (not an email message)")
    head = _head_from_fields(hb.fields, where)
    if rest is None and hb.tail is None:
        return _Body(head=head, error=f"{label}: the message ends inside its header block (truncated)")
    flags: set[str] = set(head.flags)
    nl = b"\r\n" if b"\r\n" in block else b"\n"
    if hb.bad:
        # Keep the valid fields; lines after the last field with no blank line are the body.
        flags.add("broken_headers")
        cut = hb.tail if hb.tail is not None else len(hb.lines)
        bad = set(hb.bad)
        block = b"\n".join(ln for i, ln in enumerate(hb.lines[:cut]) if i not in bad)
        tail = b"\n".join(hb.lines[cut:])
        rest = tail + ((nl + rest) if rest is not None else b"")
    # The header/body split handed to the parser is this module's, as in pass 1.
    raw = block + nl + nl + (rest or b"")
    body = _Body(head=head, flags=flags)
    try:
        _parse_mime(raw, body)
    except Exception as e:  # the compat32 parser hardly ever raises; be safe
        body.error = f"{label}: cannot read the message body ({_brief(e)})"
    if body.error is None and not body.text.strip() and not body.forwarded and rest and rest.strip():
        _raw_body_fallback(block, rest, body)
    return body


_MULTIPART_RE = re.compile(rb"(?im)^content-type:[ \t]*multipart/[^\n]*(?:\n[ \t][^\n]*)*")


def _raw_body_fallback(block: bytes, rest: bytes, body: _Body) -> None:
    """A multipart message whose declared boundary never occurs: read its raw body as the text."""
    m = _MULTIPART_RE.search(block)
    if m is None:
        return
    value = b" ".join(x.strip() for x in m.group(0).split(b"\n")).decode("ascii", "replace")
    boundary = _param(value, "boundary")
    if boundary and (b"--" + boundary.encode("utf-8", "replace")) in rest:
        return  # the structure is there; the parts are just empty
    text, repaired = _decode_bytes(rest, _param(value, "charset"))
    if _HTML_HINT_RE.search(text):
        text = _html_to_text(text)
        body.flags.add("html_converted")
    if repaired:
        body.flags.add("charset_repaired")
    body.text = text
    body.flags.add("boundary_not_found")


_HTML_HINT_RE = re.compile(r"(?i)<(?:html|body|div|p|br)\b")


class _StdPart:
    """A compat32 message part, seen through the few questions the body walk asks."""

    __slots__ = ("m",)

    def __init__(self, m: Any) -> None:
        self.m = m

    def ctype(self) -> str:
        """The lower-case content type."""
        return self.m.get_content_type()

    def children(self) -> list["_StdPart"] | None:
        """Child parts of a multipart or message part; None for a leaf."""
        if not self.m.is_multipart():
            return None
        payload = self.m.get_payload()
        return [_StdPart(x) for x in payload] if isinstance(payload, list) else []

    def disposition(self) -> str | None:
        """``attachment``, ``inline`` or None."""
        return self.m.get_content_disposition()

    def filename(self) -> tuple[str | None, bool]:
        """The decoded file name and whether decoding it needed a repair."""
        try:
            name = self.m.get_filename()
        except Exception:
            return "(nimetön liite)", True
        return _header_str(name) if name else (None, False)

    def payload(self) -> bytes:
        """The transfer-decoded bytes of a leaf."""
        data = self.m.get_payload(decode=True)
        return data if isinstance(data, bytes) else b""

    def charset(self) -> str | None:
        """The declared charset, if any."""
        cs = self.m.get_param("charset")
        if isinstance(cs, tuple):  # RFC 2231 form
            cs = cs[2]
        return cs if isinstance(cs, str) else None

    def subject(self) -> str | None:
        """The decoded Subject of an attached message's root part."""
        return _header_str(self.m.get("Subject"))[0]


class _FastPart:
    """A fast-mail-parser tree node, seen through the same questions as :class:`_StdPart`."""

    __slots__ = ("n",)

    def __init__(self, n: Any) -> None:
        self.n = n

    def ctype(self) -> str:
        """The lower-case content type."""
        return (self.n.content_type or "text/plain").lower()

    def children(self) -> list["_FastPart"] | None:
        """Child parts of a multipart or message part; None for a leaf."""
        if self.n.is_message or self.ctype().startswith("multipart/"):
            return [_FastPart(c) for c in self.n.children]
        return None

    def disposition(self) -> str | None:
        """``attachment``, ``inline`` or None."""
        d = self.n.disposition
        return d.strip().lower() if d else None

    def filename(self) -> tuple[str | None, bool]:
        """The file name (the parser decodes RFC 2047 and RFC 2231) and False."""
        return (self.n.filename or None), False  # decoded by the parser (RFC 2047 and 2231)

    def payload(self) -> bytes:
        """The transfer-decoded bytes of a leaf, decoded on first access."""
        return self.n.content or b""

    def header(self, name: str) -> str | None:
        """The first value of a header, by lower-case name."""
        for k, v in self.n.headers.items():
            if k.lower() == name and v:
                return v[0]
        return None

    def charset(self) -> str | None:
        """The declared charset, if any."""
        return _param(self.header("content-type"), "charset")

    def subject(self) -> str | None:
        """The decoded Subject of an attached message's root part."""
        s = self.header("subject")
        return " ".join(s.split()) if s else None


_PARAM_RES: dict[str, re.Pattern] = {}


def _param(value: str | None, name: str) -> str | None:
    """A parameter of a Content-Type style header value."""
    if not value:
        return None
    rx = _PARAM_RES.get(name)
    if rx is None:
        rx = _PARAM_RES[name] = re.compile(rf'(?i)(?:^|;)\s*{name}\s*=\s*(?:"([^"]*)"|([^;\s]+))')
    m = rx.search(value)
    return (m.group(1) if m.group(1) is not None else m.group(2)) if m else None


_UNSET = object()
_FMP: Any = _UNSET


def _fast_parser() -> Any:
    """The fast-mail-parser module when installed (its Rust MIME parser is ~20x faster than compat32), else None."""
    global _FMP
    if _FMP is _UNSET:
        try:
            import fast_mail_parser
        except ImportError:
            fast_mail_parser = None
        # Versions before 0.10 have no MIME tree: their flattened result hides which part is which.
        _FMP = fast_mail_parser if hasattr(fast_mail_parser, "parse_email_tree") else None
    return _FMP


def _parse_mime(raw: bytes, body: _Body) -> None:
    """Fill ``body`` from the MIME structure of ``raw``: fast parser first, compat32 when it fails or is absent."""
    fmp = _fast_parser()
    if fmp is not None:
        try:
            root = fmp.parse_email_tree(raw, mode="lazy")
            tmp = _Body()
            _collect(_FastPart(root), tmp, 0)
            if _unclosed_multipart(root, raw):
                tmp.flags.add("truncated")
        except Exception:
            pass  # a decode error or a hostile-input cap: the stdlib parser is lenient and names defects
        else:
            body.text, body.forwarded, body.attachments = tmp.text, tmp.forwarded, tmp.attachments
            body.flags.update(tmp.flags)
            return
    msg = email.message_from_bytes(raw)
    _collect(_StdPart(msg), body, 0)
    for part in msg.walk():
        for d in part.defects:
            name = type(d).__name__
            if name in _TRUNCATION_DEFECTS:
                body.flags.add("truncated")
            elif name in _ENCODING_DEFECTS:
                body.flags.add("bad_encoding")


def _unclosed_multipart(root: Any, raw: bytes) -> bool:
    """True when some multipart's closing boundary is missing from the raw message (it was cut short)."""
    stack = [root]
    while stack:
        n = stack.pop()
        if n.content_type.lower().startswith("multipart/"):
            b = _param(_FastPart(n).header("content-type"), "boundary")
            if b and (b"--" + b.encode("utf-8", "replace") + b"--") not in raw:
                return True
        if not n.is_message:  # an attached message's own boundaries are checked by its own parse
            stack.extend(n.children)
    return False


def _collect(part: Any, out: _Body, depth: int) -> None:
    """Walk a MIME tree: text into ``out.text``, attachments' names into ``out.attachments``."""
    plains: list[str] = []
    htmls: list[str] = []
    _walk_part(part, out, plains, htmls, depth)
    if any(p.strip() for p in plains):
        out.text = "\n\n".join(p for p in plains if p.strip())
    elif htmls:
        out.text = "\n\n".join(_html_to_text(h) for h in htmls)
        out.flags.add("html_converted")


def _walk_part(part: Any, out: _Body, plains: list[str], htmls: list[str], depth: int) -> None:
    """Collect one part and its children (multipart/alternative: text/plain preferred)."""
    if depth > 30:
        return
    ctype = part.ctype()
    children = part.children()
    if ctype.startswith("message/") and children is not None:
        name, rep = part.filename()
        if children and ctype == "message/rfc822":
            inner = children[0]
            sub = _Body()
            _collect(inner, sub, depth + 1)
            out.flags.update(f for f in sub.flags if f == "charset_repaired")
            if sub.text.strip():
                out.forwarded.append(sub.text)  # a forwarded message: the customer's email
            out.forwarded.extend(sub.forwarded)
            out.attachments.extend(sub.attachments)
            if not name:
                name = f"{inner.subject() or 'viesti'}.eml"
        if name:
            out.attachments.append(name)
        return
    if children is not None:
        if ctype == "multipart/alternative":
            chosen = _choose_alternative(children)
            if chosen is not None:
                _walk_part(chosen, out, plains, htmls, depth + 1)
            return
        for child in children:
            _walk_part(child, out, plains, htmls, depth + 1)
        return
    filename, rep = part.filename()
    if rep:
        out.flags.add("charset_repaired")
    if part.disposition() == "attachment" or filename:
        out.attachments.append(filename or f"({ctype})")
        return
    if ctype in ("text/plain", "text/html"):
        text, repaired = _decode_bytes(part.payload(), part.charset())
        if repaired or "\ufffd" in text:
            out.flags.add("charset_repaired")
        (plains if ctype == "text/plain" else htmls).append(text)


def _choose_alternative(children: list) -> Any:
    """The part of a multipart/alternative to read: non-empty text/plain first, then a nested multipart, then HTML."""
    plain = html = other = None
    for c in children:
        ct = c.ctype()
        if ct == "text/plain" and plain is None:
            if c.payload().strip():
                plain = c
        elif ct == "text/html" and html is None:
            html = c
        elif ct.startswith("multipart/") and other is None:
            other = c
    return plain or other or html


# --------------------------------------------------------------------------- HTML to text

_BLOCK_TAGS = frozenset(
    "p div li ul ol tr table tbody thead tfoot h1 h2 h3 h4 h5 h6 pre address section article header "
    "footer center dl dt dd form fieldset figure main nav aside blockquote body".split()
)
_SKIP_TAGS = frozenset("head style script title noscript template meta link xml object svg -comment".split())
_WS_RE = re.compile(r"[ \t\r\n\f\v]+")


def _html_to_text(html: str) -> str:
    """Convert HTML to text: line breaks for ``<br>`` and blocks, ``> `` before ``<blockquote>`` lines."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    root = tree.body or tree.root
    if root is None:
        return ""
    lines: list[str] = []
    cur: list[str] = []
    has_content = False
    depth = 0
    pre = 0

    def flush(force: bool = False) -> None:
        """End the current line (an empty one too when ``force``)."""
        nonlocal cur, has_content
        if has_content or force:
            line = "".join(cur).replace("\xa0", " ").strip()
            lines.append(("> " * depth + line) if depth and line else line)
        cur, has_content = [], False

    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        tag = node.tag
        if leaving:
            if tag == "pre":
                pre -= 1
            if tag in _BLOCK_TAGS:
                flush()
                if tag == "blockquote":
                    depth -= 1
            elif tag in ("td", "th"):
                cur.append(" ")
            continue
        if tag == "-text":
            t = node.text_content or ""
            if pre:
                parts = t.split("\n")
                for k, piece in enumerate(parts):
                    if k:
                        flush(force=True)
                    if piece:
                        cur.append(piece)
                        has_content = True
                continue
            if t.strip(" \t\r\n\f\v"):
                has_content = True
            cur.append(_WS_RE.sub(" ", t))
            continue
        if tag == "br":
            flush(force=True)
            continue
        if tag == "hr":
            flush()
            lines.append("_" * 32)
            continue
        if tag in _SKIP_TAGS or tag is None or tag.startswith("-"):
            continue
        if tag in _BLOCK_TAGS:
            flush()
            if tag == "blockquote":
                depth += 1
        if tag == "pre":
            pre += 1
        stack.append((node, True))
        children = []
        child = node.child
        while child is not None:
            children.append(child)
            child = child.next
        for child in reversed(children):
            stack.append((child, False))
    flush()
    return "\n".join(lines)


# --------------------------------------------------------------------------- cleaning

_CTRL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2060\ufeff\ufffc]")
_JUNK_RE = re.compile(r"[\x00-\x08\x0e-\x1f]")
_BLANKS_RE = re.compile(r"\n{3,}")
_SEP_LINE_RE = re.compile(
    r"^\s*[-_=*>]{2,}\s*(?:alkuperäinen\s+(?:sähköposti)?viesti|original\s+message|välitetty\s+viesti|"
    r"edelleenlähetetty\s+viesti|forwarded\s+message|ursprungligt\s+meddelande|vidarebefordrat\s+meddelande|"
    r"ursprüngliche\s+nachricht|weitergeleitete\s+nachricht|original\s+e-?mail)\s*:?\s*[-_=*<]{2,}\s*$",
    re.I,
)
_FWD_INTRO_RE = re.compile(
    r"^\s*(?:begin\s+forwarded\s+message|välitetty\s+viesti\s+alkaa|alkuperäinen\s+viesti|"
    r"original\s+message|vidarebefordrat\s+brev|forwarded\s+message)\s*:\s*$",
    re.I,
)
_UNDERSCORES_RE = re.compile(r"^\s*[_\u2014\u2500-]{8,}\s*$")
_HDR_FROM_RE = re.compile(r"^\s*\**\s*(?:from|lähettäjä|lähettäjä|från|von|de)\s*\**\s*:", re.I)
_HDR_ANY_RE = re.compile(
    r"^\s*\**\s*(?:from|lähettäjä|från|von|sent|date|lähetetty|päivämäärä|päiväys|pvm|to|vastaanottaja|"
    r"vastaanottajat|cc|bcc|kopio|kopiot|subject|aihe|skickat|datum|till|ämne|kopia|gesendet|an|betreff|"
    r"reply-to|vastausosoite|importance|tärkeys|prioriteetti|attachments|liitteet|bilagor)\s*\**\s*:",
    re.I,
)
_ATTRIB_END_RE = re.compile(r"(?:kirjoitti|wrote|skrev|schrieb|a\s+écrit|kirjoittaa)(?:\s+seuraavaa)?\s*:\s*$", re.I)
_ATTRIB_START_RE = re.compile(
    r"^\s*(?:on\s|am\s|le\s|den\s|(?:ma|ti|ke|to|pe|la|su)\.?\s+\d|\d{1,2}\.\s?\d{1,2}\.|\d{4}-\d{2}-\d{2}|"
    r"(?:mon|tue|wed|thu|fri|sat|sun)\w*,?\s|(?:maanantai|tiistai|keskiviikko|torstai|perjantai|lauantai|sunnuntai)\w*\s)",
    re.I,
)
_FOOTER_RE = re.compile(
    r"^\s*(?:(?:lähetetty|sent|skickat|gesendet)(?!\s*:)\s.{0,40}?(?:iphone|ipad|android|mobiili|samsung|galaxy|"
    r"huawei|nokia|blackberry|outlook|windows|mail|mobile|laitteesta|puhelimesta|sovelluksesta|tabletista)"
    r".{0,30}|hanki\s+outlook.{0,40}|get\s+outlook\s+for\s+.{0,30}|\[cid:[^\]]*\]|<image\d*\.\w+>|"
    r"please\s+consider\s+the\s+environment.{0,80}|ajattele\s+ympäristöä.{0,80}|"
    r"(?:huom!?\s*)?tämä\s+viesti\s+on\s+tullut\s+organisaation\s+ulkopuolelta.{0,120}|"
    r"\[?(?:external|ulkoinen(?:\s+lähettäjä)?)\]?:?)\s*$",
    re.I,
)
_DISCLAIMER_RE = re.compile(
    r"^\s*(?:tämä\s+(?:sähköposti)?viesti\s+(?:ja\s+sen\s+liitteet\s+)?(?:voi|saattaa|on\s+tarkoitettu|sisältää|"
    r"on\s+luottamuksellinen|liitteineen)|tämän\s+(?:sähköposti)?viestin\s+(?:sisältö|tiedot)|"
    r"this\s+(?:e-?mail|message|communication|transmission)(?:\s+and\s+(?:any|its)\s+attachments?)?\s+"
    r"(?:may|is|contains|and|including|are)|the\s+information\s+(?:contained\s+)?in\s+this|disclaimer\b|"
    r"confidentiality\s+notice|luottamuksellisuus|jos\s+olet\s+saanut\s+tämän\s+viestin|"
    r"if\s+you\s+(?:are\s+not\s+the\s+intended|have\s+received\s+this)|denna\s+e-?post|"
    r"detta\s+(?:e-?post)?meddelande)",
    re.I,
)
_STRONG_CLOSER = (
    r"(?:[^\W\d_]+\s+)?terv(?:eisin|isin|eisn|esin|eisi)\b|(?:ystävällisin|parhain|lämpimin|aurinkoisin|hyvin)?\s*terv(?:ein|eiset|s)?\.?|"
    r"yst\.?\s*terv\.?|t\.|t:|t(?=\s+[^\W\d_]+\s*$)|br\b\.?|best(?=\s*,?\s*$)|b\.r\.|best\s+regards|kind\s+regards|"
    r"warm\s+regards|regards|rgds|cheers|sincerely|yours\s+sincerely|mvh|med\s+vänlig\s+hälsning|"
    r"vänliga\s+hälsningar|hälsningar|hälsning|parhain\s+terveisin"
)
_WEAK_CLOSER = (
    r"kiitos(?:\s+(?:paljon|avusta|vastauksesta|jo\s+etukäteen|etukäteen|ja\s+hyvää\s+\S+))?|kiitoksia|kiittäen|"
    r"kiitoksin|thanks(?:\s+in\s+advance)?|thank\s+you|hyvää\s+(?:päivänjatkoa|päivän\s+jatkoa|viikonloppua|"
    r"jatkoa|illanjatkoa)|mukavaa\s+(?:päivää|päivänjatkoa|viikonloppua)|ystävällisesti"
)
# "-pauliina", "mikko/AP", "Jonna / asiakaspalvelu": a name the agent signs with, whatever its case.
_SIGNED_RE = re.compile(r"^(?:[-–]\s?[^\W\d_]{2,20}|[^\W\d_]{2,20}\s?/\s?[^\W\d_]{1,20})$")
_CLOSER_RE = re.compile(
    rf"^\s*(?:(?P<strong>{_STRONG_CLOSER})|(?P<weak>{_WEAK_CLOSER}))(?:(?<=[.:])|\b)[\s,.!:;-]*(?P<rest>.*)$", re.I
)
_SHORT_NAME_RE = re.compile(r"^\s*[-–]?\s*[^\W\d_]{2,20}(?:\s+[^\W\d_]{2,20})?\s*$")
_CONDITIONAL_RE = re.compile(r"(?i)\b(?:jos|kun|että|mutta|koska|if|when|but)\b")
_WEAK_ONLY_RE = re.compile(rf"^\s*(?:{_WEAK_CLOSER})\b", re.I)
_DISCLAIMER_WORDS_RE = re.compile(
    r"(?i)luottamuksellis|confidential|tarkoitettu|intended|vastaanottaja|recipient|erehdyksessä|virheellisesti|"
    r"in\s+error|by\s+mistake|konfidentiell|mottagare"
)
_NAME_TOKEN = r"(?:[A-ZÅÄÖ][A-Za-zÅÄÖåäöÉéÜü'./-]*|[/&|–-])"
_NAME_RE = re.compile(rf"^\s*[-–]?\s*{_NAME_TOKEN}(?:\s+{_NAME_TOKEN}){{0,4}}\s*$")
_CONTACT_RE = re.compile(
    r"(?i)^\s*(?:(?:puh|puhelin|p|tel|tfn|gsm|mob|mobile|phone|fax|faksi|sähköposti|s-posti|email|e-mail|"
    r"www|web|osoite|address|y-tunnus|vaihde)\b\.?\s*:?\s*\S.{0,60}|"
    r"[+(]?\d[\d ()-]{6,}\d|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|(?:https?://|www\.)\S+|"
    r"[\w .&-]{1,40}\b(?:oy|oyj|ab|ltd|ky|ry|inc|gmbh)\.?|"
    r"[\w .-]{1,40}\s\d{1,4}\s?[a-z]?,?\s*\d{5}\s+[A-ZÅÄÖ][\w-]+|\d{5}\s+[A-ZÅÄÖ][\w-]+)\s*$"
)
_TITLE_RE = re.compile(
    r"(?i)^\s*[\w ,/&-]{0,40}(?:asiakaspalvelu|neuvoja|asiantuntija|esimies|esihenkilö|tiiminvetäjä|"
    r"päällikkö|koordinaattori|sihteeri|specialist|advisor|adviser|manager|agent|customer\s+service|"
    r"team\s+lead\w*|assistant|konsultti|myyjä|myyntineuvottelija)\w*[\w ,/&-]{0,40}$"
)


@dataclass
class _Cleaned:
    """A message body split into its parts."""

    own: str
    kept: str
    dropped: str
    signature: str

    def request_text(self) -> str:
        """The text the classifier reads: own words, then kept quoted text after the marker."""
        if self.kept:
            return f"{self.own}\n\n{QUOTE_MARKER}\n{self.kept}" if self.own else f"{QUOTE_MARKER}\n{self.kept}"
        return self.own


def _normalise_lines(text: str) -> list[str]:
    """Unify line breaks, drop control and zero-width characters, right-strip lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    text = text.replace("\xa0", " ").replace("\t", " ")
    text = _CTRL_RE.sub("", text)
    return [ln.rstrip() for ln in text.split("\n")]


def _join(lines: Sequence[str]) -> str:
    """Lines back to text, blank runs collapsed to one blank line."""
    return _BLANKS_RE.sub("\n\n", "\n".join(lines)).strip("\n").strip()


def _is_header_block(lines: Sequence[str], i: int) -> bool:
    """True when an Outlook-style quoted header block (From:/Lähettäjä: + Sent:/Aihe: ...) starts at line i."""
    if not _HDR_ANY_RE.match(lines[i]):
        return False
    from_seen = bool(_HDR_FROM_RE.match(lines[i]))
    labels = 1
    for j in range(i + 1, min(len(lines), i + 7)):
        s = lines[j]
        if not s.strip():
            if labels > 1:
                break
            continue
        if _HDR_FROM_RE.match(s):
            from_seen = True
            labels += 1
        elif _HDR_ANY_RE.match(s):
            labels += 1
        elif labels == 1:
            return False
    return from_seen and labels >= 2


def _boundary_at(lines: Sequence[str], i: int) -> str | None:
    """The kind of quote boundary starting at line i: ``sep``, ``header``, ``attrib`` or None."""
    s = lines[i]
    st = s.lstrip()
    if not st or (":" not in st and st[0] not in "-_=*>—─"):
        return None
    if len(st) > 400:
        return None
    if _SEP_LINE_RE.match(s) or _FWD_INTRO_RE.match(s):
        return "sep"
    if _UNDERSCORES_RE.match(s):
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        return "sep" if j < len(lines) and _is_header_block(lines, j) else None
    if ":" in st and _is_header_block(lines, i):
        return "header"
    if st.endswith(":") and _ATTRIB_END_RE.search(st):
        return "attrib"
    return None


def _split_quotes(lines: list[str]) -> tuple[list[str], list[str], list[str] | None, list[str]]:
    """Split lines into own lines, ``>``-quoted lines (one level removed), the rest after a boundary, and attribution lines."""
    own: list[str] = []
    quoted: list[str] = []
    attrib: list[str] = []
    n = len(lines)
    i = 0
    while i < n:
        ln = lines[i]
        if ln.startswith(">"):
            quoted.append(ln[2:] if ln.startswith("> ") else ln[1:])
            i += 1
            continue
        kind = _boundary_at(lines, i)
        if kind is None:
            own.append(ln)
            i += 1
            continue
        if kind == "attrib":
            # A wrapped attribution ("On Mon, 5 Sep 2016 ... Matti <" / "m@x> wrote:") starts a line or two up.
            if not _ATTRIB_START_RE.match(ln):
                for back in (1, 2):
                    if len(own) >= back and all(x.strip() for x in own[-back:]) and _ATTRIB_START_RE.match(own[-back]):
                        attrib.extend(own[-back:])
                        del own[-back:]
                        break
            j = i + 1
            while j < n and not lines[j].strip():
                j += 1
            if j < n and lines[j].startswith(">"):
                attrib.append(ln)
                i += 1
                continue
        return own, quoted, lines[i:], attrib
    return own, quoted, None, attrib


def _skip_quote_header(lines: list[str]) -> tuple[list[str], list[str]]:
    """Split a quoted message into its header lines (separator, attribution, From:/Sent:/...) and its body."""
    i, n = 0, len(lines)
    while i < n:
        s = lines[i]
        if not s.strip() or _SEP_LINE_RE.match(s) or _FWD_INTRO_RE.match(s) or _UNDERSCORES_RE.match(s):
            i += 1
        elif _ATTRIB_END_RE.search(s):
            i += 1
        elif i + 1 < n and _ATTRIB_START_RE.match(s) and _ATTRIB_END_RE.search(lines[i + 1]) and len(s) < 200:
            i += 2
        else:
            break
    in_header = False
    while i < n:
        s = lines[i]
        if _HDR_ANY_RE.match(s):
            in_header = True
            i += 1
            continue
        if in_header and s.strip() and (s[:1] == " " or ("@" in s and len(s) < 300) or s.rstrip().endswith((";", ","))):
            i += 1  # a wrapped recipient list
            continue
        break
    return lines[:i], lines[i:]


def _strip_footers(lines: list[str], removed: list[str]) -> list[str]:
    """Drop mobile-client footers, inline-image placeholders and external-sender banners."""
    out = []
    for ln in lines:
        if ln and len(ln) < 200 and _FOOTER_RE.match(ln):
            removed.append(ln)
        else:
            out.append(ln)
    return out


def _trim(lines: list[str]) -> list[str]:
    """Drop leading and trailing blank lines."""
    a, b = 0, len(lines)
    while a < b and not lines[a].strip():
        a += 1
    while b > a and not lines[b - 1].strip():
        b -= 1
    return lines[a:b]


def _strip_signature(lines: list[str], removed: list[str]) -> list[str]:
    """Remove disclaimers, the signature (``-- ``, a sign-off and what follows, a contact block) and a trailing name."""
    lines = _trim(lines)
    # Disclaimers: from the paragraph that opens one to the end.
    for i, ln in enumerate(lines):
        if _DISCLAIMER_RE.match(ln) and (i == 0 or not lines[i - 1].strip() or _UNDERSCORES_RE.match(lines[i - 1])
                                         or i >= len(lines) - 15):
            para = " ".join(lines[i:i + 8])
            if _DISCLAIMER_WORDS_RE.search(para):
                removed.extend(lines[i:])
                lines = _trim(lines[:i])
                while lines and _UNDERSCORES_RE.match(lines[-1]):
                    removed.append(lines.pop())
                lines = _trim(lines)
                break
    # The standard "-- " delimiter.
    n = len(lines)
    for i, ln in enumerate(lines):
        if ln.strip() in ("--", "\u2014") and i > 0 and n - i <= 25:
            removed.extend(lines[i:])
            lines = _trim(lines[:i])
            break
    # Then from the bottom up, until nothing more goes: a sign-off and what follows it, a contact
    # block, a lone name ("Kiitos jo etukäteen!" often sits above a contact block).
    for _ in range(4):
        before = len(lines)
        cut = _sign_off(lines)
        if cut is not None:
            removed.extend(lines[cut:])
            lines = _trim(lines[:cut])
        cut = _contact_block(lines)
        if cut is not None:
            removed.extend(lines[cut:])
            lines = _trim(lines[:cut])
        if _lone_name(lines):
            removed.append(lines[-1])
            lines = _trim(lines[:-1])
        if len(lines) == before:
            break
    return lines


def _contact_block(lines: list[str]) -> int | None:
    """Start of a contact block at the bottom (name, title, company, phone, email) without a sign-off."""
    k = len(lines)
    strong = 0
    while k > 0:
        s = lines[k - 1]
        if not s.strip():
            k -= 1
            continue
        if len(s) > 80:
            break
        if _CONTACT_RE.match(s):
            strong += 1
        elif not (_TITLE_RE.match(s) or _NAME_RE.match(s)):
            break
        k -= 1
    if strong and 0 < k and len(lines) - k <= 10 and not lines[k - 1].rstrip().endswith(":"):
        return k
    return None


def _lone_name(lines: list[str]) -> bool:
    """True when the last line is a name the agent signed with ("Jonna", "-Mikko", "Anssi/AP")."""
    # A name of two or three words counts only after a blank line or a finished sentence.
    if len(lines) < 2:
        return False
    last = lines[-1].strip()
    prev = lines[-2].strip()
    if _SIGNED_RE.match(last):
        return True
    return bool(len(last) <= 30 and len(last.split()) <= 3 and _NAME_RE.match(last) and not any(c.isdigit() for c in last)
                and (not prev or prev[-1] in ".!?:)" or (len(last.split()) == 1 and prev[-1].isdigit())))


def _sign_off(lines: list[str]) -> int | None:
    """Index of a sign-off line followed only by a short signature block, or None."""
    nonblank = [i for i, ln in enumerate(lines) if ln.strip()]
    for i in nonblank[-10:]:
        if i == 0 and len(nonblank) > 1 and _WEAK_ONLY_RE.match(lines[0]):
            continue  # "Kiitos" opening a message is not a sign-off
        m = _CLOSER_RE.match(lines[i])
        if m is None or len(lines[i].strip()) > 70:
            continue
        rest = m.group("rest").strip()
        after = [x for x in lines[i + 1:] if x.strip()]
        if len(after) > 8 or any(len(x) > 90 for x in after):
            continue
        if rest and ("?" in rest or len(rest) > 40):
            continue
        if rest and m.group("weak") and not _NAME_RE.match(rest) and not (
                not after and len(rest.split()) <= 3 and not _CONDITIONAL_RE.search(rest)):
            continue  # "Kiitos jos ehdit katsoa" is a request, "Kiitos paljon avusta." at the end is not
        if m.group("weak") and not all(_NAME_RE.match(x) or _CONTACT_RE.match(x) or _TITLE_RE.match(x)
                                       or _SHORT_NAME_RE.match(x) for x in after):
            continue
        return i
    return None


def _clean_quoted(lines: list[str], removed_sig: list[str]) -> tuple[str, str]:
    """A quoted message: its own words (cleaned) and the deeper history it quotes."""
    _, body = _skip_quote_header(lines)
    own, quoted, rest, attrib = _split_quotes(body)
    own = _strip_footers(own, removed_sig)
    own = _strip_signature(own, removed_sig)
    deeper = [*attrib, *(("> " + q) for q in quoted), *(rest or [])]
    return _join(own), _join(deeper)


def _clean(text: str, first: bool, forwarded: Sequence[str] = ()) -> _Cleaned:
    """Split a message body into its own words, the quoted message kept, what was dropped, the signature."""
    lines = _normalise_lines(text)
    own, quoted, rest, attrib = _split_quotes(lines)
    sig: list[str] = []
    own = _strip_footers(own, sig)
    own = _strip_signature(own, sig)
    kept_parts: list[str] = []
    dropped_parts: list[str] = [_join(attrib)] if attrib else []
    blocks: list[list[str]] = []
    if quoted:
        blocks.append(quoted)
    if rest:
        blocks.append(rest)
    blocks.extend(_normalise_lines(f) for f in forwarded)
    for block in blocks:
        if first:
            kept, deeper = _clean_quoted(block, sig)
            if kept:
                kept_parts.append(kept)
            if deeper:
                dropped_parts.append(deeper)
        else:
            dropped_parts.append(_join(block))
    return _Cleaned(
        own=_join(own),
        kept="\n\n".join(kept_parts),
        dropped="\n\n".join(p for p in dropped_parts if p),
        signature="\n".join(s for s in sig if s.strip()),
    )


def clean_email_text(text: str, first: bool = True) -> str:
    """Clean one email body the way :func:`iter_contacts` cleans a thread's first message.

    Parameters
    ----------
    text : str
        The plain-text body of one message.
    first : bool
        True for a thread's first message: a quoted or forwarded message in it is kept
        after a ``[LAINAUS]`` line. False for a reply: quoted text is dropped.

    Returns
    -------
    str
        The message's own words without quoted history, signatures, disclaimers or
        mobile footers, plus (when ``first``) the quoted message after ``[LAINAUS]``.

    Examples
    --------
    >>> clean_email_text("Moi,\\nasiakas kysyy alla.\\n\\nt. Jonna\\n\\nLähettäjä: Matti\\nLähetetty: 5.9.2016\\n\\nVoinko muuttaa?")
    'Moi,\\nasiakas kysyy alla.\\n\\n[LAINAUS]\\nVoinko muuttaa?'
    """
    return _clean(text, first).request_text()


# --------------------------------------------------------------------------- threading


@dataclass
class _ThreadPlan:
    """Pass 1's result: which message of each thread is the request, and the thread's members."""

    request_of: dict[int, int]  # request position -> thread root
    members: dict[int, list[int]]  # thread root -> member positions, chronological
    by_subject: set[int]  # roots of threads that took in a message by subject alone
    msgids: list[str | None]
    errors: dict[int, _Head]
    duplicates: set[int] = field(default_factory=set)
    # per position, for the service analytics: date, sender, To addresses, reply-ness
    dates: list[dt.datetime | None] = field(default_factory=list)
    senders: list[str | None] = field(default_factory=list)
    recipients: list[tuple[str, ...]] = field(default_factory=list)
    replyish: Any = None


class _ThreadIndex:
    """Pass 1 state: a union-find over messages and the ids they name, kept in compact arrays."""

    def __init__(self) -> None:
        self.parent = array("q")
        self.node_of_id: dict[str, int] = {}
        self.pos_node = array("q")
        self.keys = array("d")
        self.subjects: list[str] = []
        self.reply_refs: dict[int, tuple[str, ...]] = {}  # reply-prefixed messages: their references
        self.msgids: list[str | None] = []
        self.errors: dict[int, _Head] = {}
        self.claimed: set[str] = set()  # ids a message of this source carries as its own Message-ID
        self.duplicates: set[int] = set()  # positions whose Message-ID an earlier message already had
        self._subjects: dict[str, str] = {}
        self.dates: list[dt.datetime | None] = []
        self.senders: list[str | None] = []
        self.recipients: list[tuple[str, ...]] = []
        self.replyish = array("b")
        self._interned: dict[Any, Any] = {}

    def _new(self) -> int:
        """A fresh union-find node."""
        n = len(self.parent)
        self.parent.append(n)
        return n

    def _find(self, x: int) -> int:
        """Root of x's set, compressing the path."""
        p = self.parent
        root = x
        while p[root] != root:
            root = p[root]
        while p[x] != root:
            p[x], x = root, p[x]
        return root

    def _union(self, a: int, b: int) -> None:
        """Merge the sets of a and b."""
        ra, rb = self._find(a), self._find(b)
        if ra != rb:
            self.parent[rb] = ra

    def add(self, h: _Head) -> None:
        """Register one message's ids, references, date and subject."""
        pos = len(self.pos_node)
        node = self._new()
        self.pos_node.append(node)
        self.keys.append(h.date.timestamp() if h.date is not None else math.inf)
        subj = normalise_subject(h.subject)
        self.subjects.append(self._subjects.setdefault(subj, subj))
        self.msgids.append(h.msgid)
        interned = self._interned
        self.dates.append(h.date)
        self.senders.append(interned.setdefault(h.sender, h.sender) if h.sender else None)
        self.recipients.append(interned.setdefault(h.recipients, h.recipients) if h.recipients else ())
        self.replyish.append(1 if (h.refs or _is_reply_subject(h.subject)) else 0)
        if h.error is not None:
            self.errors[pos] = h  # an unreadable message stays a contact of its own
            return
        if _is_reply_subject(h.subject) and subj:
            self.reply_refs[pos] = h.refs
        if h.msgid and h.msgid in self.claimed:
            # Two messages with one Message-ID (a broken mailer, a copied message): never merge on it
            # alone; the second stays a contact of its own unless its references join it to a thread.
            self.duplicates.add(pos)
        elif h.msgid:
            self.claimed.add(h.msgid)
            other = self.node_of_id.get(h.msgid)
            if other is None:
                self.node_of_id[h.msgid] = node
            else:
                self._union(other, node)
        for ref in h.refs:
            other = self.node_of_id.get(ref)
            if other is None:
                other = self.node_of_id[ref] = self._new()  # a message not in this source
            self._union(other, node)

    def plan(self) -> _ThreadPlan:
        """Group messages into threads (subject fallback included) and pick each thread's request."""
        n = len(self.pos_node)
        keys, find, pos_node = self.keys, self._find, self.pos_node
        by_subject_nodes: list[int] = []
        # Subject fallback: a reply whose own reference headers name no message of this source
        # joins the latest earlier thread with the same normalised subject (its own replies with it).
        real = {m for i, m in enumerate(self.msgids) if m and i not in self.errors}
        cands = [i for i, refs in self.reply_refs.items()
                 if not any(r in real and r != self.msgids[i] for r in refs)]
        if cands:
            roots = [find(pos_node[i]) for i in range(n)]
            start: dict[int, tuple[float, int]] = {}
            for i in range(n):
                r, k = roots[i], (keys[i], i)
                if r not in start or k < start[r]:
                    start[r] = k
            index: dict[str, list[tuple[tuple[float, int], int]]] = {}
            seen: set[tuple[str, int]] = set()
            for i in range(n):
                subj = self.subjects[i]
                if subj and i not in self.errors and (subj, roots[i]) not in seen:
                    seen.add((subj, roots[i]))
                    index.setdefault(subj, []).append((start[roots[i]], roots[i]))
            del roots, seen
            for lst in index.values():
                lst.sort()
            for c in sorted(cands, key=lambda i: (keys[i], i)):
                own = find(pos_node[c])
                lst = index[self.subjects[c]]
                j = bisect_left(lst, ((keys[c], c), -1))
                while j > 0:
                    j -= 1
                    target = find(lst[j][1])
                    if target != own:
                        self.parent[own] = target
                        by_subject_nodes.append(target)
                        break
        roots = [find(pos_node[i]) for i in range(n)]
        by_subject = {find(t) for t in by_subject_nodes}
        self.node_of_id.clear()
        self.parent = array("q")
        members: dict[int, list[int]] = {}
        for i in range(n):
            members.setdefault(roots[i], []).append(i)
        request_of: dict[int, int] = {}
        for r, ms in members.items():
            if len(ms) > 1:
                ms.sort(key=lambda i: (keys[i], i))
            request_of[ms[0]] = r
        return _ThreadPlan(request_of, members, by_subject, self.msgids, self.errors, self.duplicates,
                           dates=self.dates, senders=self.senders, recipients=self.recipients,
                           replyish=self.replyish)


# --------------------------------------------------------------------------- mail contacts


def _mail_contacts(src: _Source, keep_stripped: bool) -> Iterator[Contact]:
    """Two passes over one mail source: thread map from headers, then one contact per thread."""
    reader: Any = _MboxReader(src.paths[0]) if src.kind == "mbox" else _FileSetReader(src.paths)
    index = _ThreadIndex()
    files = src.kind == "files"
    for head in reader.heads():
        index.add(head)
    plan = index.plan()
    del index
    n_items = len(plan.msgids)

    def where_of(pos: int) -> str:
        """The file a message position is in."""
        return str(src.paths[pos]) if files else str(src.paths[0])

    def position_of(pos: int) -> int:
        """A message's position within its file."""
        return 0 if files else pos  # an .eml or .msg file holds one message

    # Contacts go out in order of their request's position; with keep_stripped a contact
    # waits until the last message of its thread has been read.
    order = sorted(plan.request_of)
    ready: dict[int, Contact] = {}
    nxt = 0
    root_of: dict[int, int] = {}
    remaining: dict[int, int] = {}
    waiting: dict[int, Contact] = {}
    replies: dict[int, dict[int, str]] = {}
    if keep_stripped:
        root_of = {p: r for r, ms in plan.members.items() for p in ms}
        remaining = {r: len(ms) for r, ms in plan.members.items()}
    wanted = None if keep_stripped else set(plan.request_of)
    for pos, body in reader.bodies(wanted):
        if pos >= n_items:
            break  # the file grew between the passes: its new messages are left for the next run
        root = plan.request_of.get(pos)
        if root is not None:
            contact = _contact_from_body(pos, root, body, plan, where_of(pos), position_of(pos), keep_stripped)
            if keep_stripped:
                waiting[root] = contact
            else:
                ready[pos] = contact
        if keep_stripped:
            r = root_of[pos]
            if root is None and body.error is None:
                replies.setdefault(r, {})[pos] = _clean(body.text, first=False, forwarded=body.forwarded).own
            remaining[r] -= 1
            if remaining[r] == 0 and r in waiting:
                ready[plan.members[r][0]] = _with_replies(waiting.pop(r), replies.pop(r, {}), plan.members[r])
        while nxt < len(order) and order[nxt] in ready:
            yield ready.pop(order[nxt])
            nxt += 1
    # Threads left incomplete (the file changed between the passes) go out as they are.
    for r, c in waiting.items():
        ready[plan.members[r][0]] = _with_replies(c, replies.get(r, {}), plan.members[r])
    while nxt < len(order):
        pos = order[nxt]
        if pos in ready:
            yield ready.pop(pos)
        else:
            where = where_of(pos)
            yield _error_contact(where, position_of(pos),
                                 f"{where}: message {pos + 1} could not be read again in the second pass "
                                 "(was the file changed while it was read?)", msgid=plan.msgids[pos])
        nxt += 1


def _with_replies(c: Contact, replies: dict[int, str], members: list[int]) -> Contact:
    """The buffered contact with its replies' own words, in thread order."""
    if c.stripped is None:
        return c
    stripped = dict(c.stripped)
    stripped["replies"] = [replies[p] for p in members[1:] if p in replies]
    return _replace(c, stripped=stripped)


def _replace(c: Contact, **changes: Any) -> Contact:
    """A copy of a frozen contact with some fields changed."""
    from dataclasses import replace

    return replace(c, **changes)


def _contact_from_body(pos: int, root: int, body: _Body, plan: _ThreadPlan, where: str, position: int,
                       keep_stripped: bool) -> Contact:
    """The contact of a thread from its first message's parsed body."""
    members = plan.members[root]
    ids = tuple(plan.msgids[p] for p in members if plan.msgids[p])
    head = body.head
    msgid = plan.msgids[pos]
    flags = set(body.flags)
    if pos in plan.duplicates:
        msgid = None  # the id is another message's: this contact gets its own stable id
        flags.add("duplicate_message_id")
    if head is not None:
        flags.update(head.flags)
    if root in plan.by_subject:
        flags.add("threaded_by_subject")
    thread = tuple(ThreadMessage(sent_at=plan.dates[p], sender=plan.senders[p], recipients=plan.recipients[p],
                                 is_reply=bool(plan.replyish[p])) for p in members) if plan.dates else ()
    base = dict(
        id=msgid or _stable_id(where, position), source=where, position=position, channel="email",
        sent_at=head.date if head else None, subject=head.subject if head else None,
        n_messages=len(members), message_ids=ids, attachments=tuple(body.attachments), thread=thread,
    )
    if body.error is not None:
        return Contact(text="", flags=tuple(sorted(flags)), error=body.error,
                       stripped={"quoted": "", "signature": "", "replies": []} if keep_stripped else None, **base)
    if _JUNK_RE.search(body.text):
        flags.add("control_chars_removed")  # binary junk inside the message, e.g. a damaged mbox
    cleaned = _clean(body.text, first=True, forwarded=body.forwarded)
    text, repairs = repair_text(cleaned.request_text())
    flags.update(repairs)
    if cleaned.kept:
        flags.add("quote_kept")
    if not text.strip() or text.strip() == QUOTE_MARKER:
        flags.add("empty_text")
    stripped = None
    if keep_stripped:
        stripped = {"quoted": cleaned.dropped, "signature": cleaned.signature, "replies": []}
    return Contact(text=text, flags=tuple(sorted(flags)), stripped=stripped, **base)
