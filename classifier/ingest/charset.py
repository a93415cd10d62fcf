"""Charsets and header words: decode bytes with the declared charset and sensible fallbacks, RFC 2047 words, Message-IDs, dates."""

from __future__ import annotations

import base64
import binascii
import codecs
import datetime as dt
import email
import email.header
import email.utils
import re
from typing import Any

from ..records import HELSINKI


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
