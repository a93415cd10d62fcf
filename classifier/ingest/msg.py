"""Outlook ``.msg`` files, read with extract-msg."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from ..records import HELSINKI
from ..repair import html_to_text
from .contact import _brief
from .charset import _decode_bytes, _header_str, _mail_date, _message_ids
from .headers import _Head, _addresses
from .mime import _Body


_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

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
                body.text = html_to_text(html)
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
