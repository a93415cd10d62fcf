"""Records: :class:`Contact`, :class:`ThreadMessage`, the run summaries, and helpers every stage shares (stable ids, error contacts)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator


QUOTE_MARKER = "[LAINAUS]"

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

def _replace(c: Contact, **changes: Any) -> Contact:
    """A copy of a frozen contact with some fields changed."""
    from dataclasses import replace

    return replace(c, **changes)
