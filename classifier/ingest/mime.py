"""MIME bodies: the structure of one raw message (fast-mail-parser, else the compat32 parser) into text, forwarded messages and attachment names."""

from __future__ import annotations

import email
import re
from dataclasses import dataclass, field
from typing import Any

from ..repair import html_to_text
from .contact import _brief
from .charset import _decode_bytes, _header_str
from .headers import _Head, _head_from_fields, _scan_header_block, _split_raw


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
        text = html_to_text(text)
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
        """The lower-case content type; an invalid one (no subtype) is text/plain (RFC 2045 5.2), as the stdlib reads it."""
        ct = (self.n.content_type or "text/plain").lower()
        return ct if "/" in ct else "text/plain"

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
_FMP: Any = _UNSET  # the parser chosen on first use (see _fast_parser); tests set None to force compat32


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
        out.text = "\n\n".join(html_to_text(h) for h in htmls)
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
