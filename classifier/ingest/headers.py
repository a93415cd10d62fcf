"""Header blocks: the hand scan of a raw header block (pass 1), what threading needs from it (:class:`_Head`), subject normalisation."""

from __future__ import annotations

import datetime as dt
import email
import email.utils
import re
from dataclasses import dataclass
from typing import Any

from .charset import _mail_date, _message_ids, _unfold


_HEADER_LINE_RE = re.compile(rb"[!-9;-~]+:")

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
