"""Keyed hashes a history keeps instead of identifiers: message identities, Message-IDs, subjects, addresses.

Everything here is keyed (BLAKE2b with a key derived from the id key of
:func:`classifier.label.resolve_id_key`): a Message-ID, an address or a subject cannot be
found again from a history (:mod:`classifier.store`) by guessing it without the key. The
same key gives the same hashes on every run, which is what recognising a stored message
needs; a store remembers a check value of its key (:meth:`MessageKeys.check_value`) and
refuses another.

Addresses are pseudonymised so that :func:`classifier.service.first_reply` gives the same
answer on them as on the real ones: the local part and each label of the domain are hashed
separately, so equal addresses stay equal, and a back-office ``@domain`` pattern, hashed the
same way, still matches its subdomains.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any, Iterable

from .charset import _message_ids
from .headers import _is_reply_subject, normalise_subject

__all__ = ["MessageKeys", "mail_ident"]

_CHECK = b"tukipyynto store key check"


class MessageKeys:
    """The keyed hashes of a run against a history.

    Parameters
    ----------
    id_key : bytes
        The id key (:func:`classifier.label.resolve_id_key`).
    """

    def __init__(self, id_key: bytes) -> None:
        self._k = hashlib.sha256(b"tukipyynto store\x00" + id_key).digest()
        self._addr: dict[str, str] = {}
        self._labels: dict[str, str] = {}

    def check_value(self) -> str:
        """What the store keeps to tell whether a later run uses the same key (a hash, not the key)."""
        return hmac.new(self._k, _CHECK, hashlib.sha256).hexdigest()[:32]

    def h(self, kind: bytes, data: bytes) -> bytes:
        """16-byte keyed hash of ``data`` in the name space ``kind``."""
        return hashlib.blake2b(data, key=self._k, digest_size=16, person=kind[:16]).digest()

    def msgid(self, mid: str | None) -> bytes | None:
        """The hash of a Message-ID (or a record id), None for none."""
        return self.h(b"msgid", mid.encode("utf-8", "surrogateescape")) if mid else None

    def ident_of(self, kind: bytes, digest: bytes) -> bytes:
        """The identity of a message or record from a digest of its content."""
        return self.h(b"ident" + kind, digest)

    def record_ident(self, row: dict[str, Any]) -> bytes:
        """A table record's identity: all of its fields (the same record exported again is the same)."""
        data = json.dumps(row, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8", "surrogateescape")
        return self.h(b"record", data)

    def subject(self, subject: str | None) -> bytes | None:
        """The hash of a subject as threading compares it (prefixes dropped, case folded); None when empty."""
        s = normalise_subject(subject)
        return self.h(b"subject", s.encode("utf-8", "surrogateescape")) if s else None

    def index_subject(self, subject_hash: bytes | None, reply: bool) -> str:
        """A stand-in subject for the thread index: equal where the normalised subjects are, a reply where it was."""
        return ("Re: " if reply else "") + ("h" + subject_hash.hex() if subject_hash else "")

    def address(self, addr: str | None) -> str | None:
        """A pseudonymised address: hashed local part and hashed domain labels (see the module notes)."""
        if not addr:
            return addr
        out = self._addr.get(addr)
        if out is None:
            local, at, domain = addr.rpartition("@")
            if not at:
                local, domain = addr, ""
            out = "a" + self.h(b"addr", addr.encode("utf-8", "surrogateescape")).hex()[:20]
            if domain:
                out += "@" + self.domain(domain)
            self._addr[addr] = out
        return out

    def domain(self, domain: str) -> str:
        """A pseudonymised domain: each label hashed on its own."""
        out = []
        for label in domain.split("."):
            v = self._labels.get(label)
            if v is None:
                v = self._labels[label] = "d" + self.h(b"label", label.encode("utf-8", "surrogateescape")).hex()[:12]
            out.append(v)
        return ".".join(out)

    def pattern(self, p: str) -> str:
        """A back-office address or ``@domain`` pattern in the pseudonymised form."""
        p = p.strip().lower()
        if p.startswith("@"):
            return "@" + self.domain(p[1:])
        return self.address(p) or p

    def addresses(self, addrs: Iterable[str]) -> tuple[str, ...]:
        """Pseudonymise several addresses."""
        return tuple(self.address(a) for a in addrs if a)  # type: ignore[misc]


# --------------------------------------------------------------------------------- mail identity

# The header fields a message's identity includes: the same message exported again by another
# tool keeps them, while fields a mail program adds on export (Status, X-Mozilla-*) are left out.
_IDENT_FIELDS = re.compile(
    rb"(?:^|\n)([Mm][Ee][Ss][Ss][Aa][Gg][Ee]-[Ii][Dd]|[Dd][Aa][Tt][Ee]|[Ff][Rr][Oo][Mm]|[Ss][Uu][Bb][Jj][Ee][Cc][Tt])"
    rb"[ \t]*:([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)")
_MBOXRD = re.compile(rb"(?m)^>(>*From )")


def header_end(data: Any, start: int, end: int) -> tuple[int, int]:
    """Where a message's header block ends and its body starts (the first empty line)."""
    if data[start:start + 1] == b"\n":
        return start, start + 1
    if data[start:start + 2] == b"\r\n":
        return start, start + 2
    i = data.find(b"\n\n", start, end)
    j = data.find(b"\r\n\r\n", start, end)
    if j >= 0 and (i < 0 or j < i):
        return j, j + 4
    if i >= 0:
        return i, i + 2
    return end, end


def mail_ident(keys: MessageKeys, data: Any, start: int, end: int, mboxrd: bool = False,
               with_msgid: bool = True) -> tuple[bytes, bytes | None, str | None]:
    """The identity of one raw message, read from its bytes without parsing it.

    Parameters
    ----------
    keys : MessageKeys
    data : bytes or mmap
        Holds the message at ``data[start:end]`` (without an mbox ``From`` line).
    mboxrd : bool
        Undo mbox ``>From`` quoting in the body first (a message from an mbox).
    with_msgid : bool
        Also hash the Message-ID (else ``msgid`` is None: screening needs the identity only).

    Returns
    -------
    ident : bytes
        Keyed hash of the Message-ID, Date, From and Subject fields and the body (line ends
        and trailing blank lines normalised).
    msgid : bytes or None
        Keyed hash of the Message-ID (as threading reads it), None when it has none.
    raw_msgid : str or None
        The Message-ID itself (kept in memory only).
    """
    hend, bstart = header_end(data, start, end)
    h = hashlib.blake2b(key=keys._k, digest_size=16, person=b"mail")
    mid = None
    fields: list[bytes] = []
    # from the line end before the message (an mbox's From line), so that its first field matches too
    for name, value in _IDENT_FIELDS.findall(data, start - 1 if start else 0, hend):
        name = name.lower()
        if name == b"message-id":
            if mid is None:
                ids = _message_ids(b" ".join(value.split()).decode("ascii", "replace"))
                mid = ids[0] if ids else ""
            continue
        fields.append(name + b":" + b" ".join(value.split()))
    fields.sort()
    fields.insert(0, (mid or "").encode("utf-8", "surrogateescape"))
    h.update(b"\x00".join(fields) + b"\x00")
    stop = end  # trailing blank lines and spaces are no part of the body (an mbox adds one)
    while stop > bstart and data[stop - 1] in _TRAILING:
        stop -= 1
    if data.find(b"\r", bstart, stop) >= 0 or (mboxrd and data.find(b">From ", bstart, stop) >= 0):
        body = data[bstart:stop]
        if b"\r" in body:
            body = body.replace(b"\r\n", b"\n")
        if mboxrd:
            body = _MBOXRD.sub(rb"\1", body)
        h.update(body.rstrip(b"\n \t"))
    else:
        with memoryview(data) as view:  # hashed where it lies: no copy of the body
            h.update(view[bstart:stop])
    return h.digest(), keys.msgid(mid) if with_msgid else None, mid or None


_TRAILING = frozenset(b"\r\n \t")


def reply_subject(subject: str | None) -> bool:
    """True when a subject starts with a reply prefix (as threading reads it)."""
    return _is_reply_subject(subject)
