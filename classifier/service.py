"""Back-office service analytics: first replies in working time, and repeat contacts.

The mail threads hold how fast the back office answers: every thread has the first-line
agent's request and the back office's replies. This module computes, per contact,

- ``first_reply_at``: the back office's first reply in the thread, and
  ``first_reply_working_minutes``: the time to it counted only within the back office's
  opening hours (weekdays, Finnish public holidays off, Europe/Helsinki);
- ``repeat_of``: the id of an earlier contact (within ``repeat_days``) that named the same
  customer or contract reference, linked through a keyed hash computed before redaction
  (the identifier itself is never kept or written);
- ``service_flags``: what made the computation doubtful (a reply dated before its request,
  a thread started by the back office, missing dates), so that nothing is dropped silently.

A back-office reply is a message of the thread from the address the request was sent to,
or from any address or ``@domain`` given as ``back_office``; agents' follow-ups (messages
from anyone else, the requester included) are not replies.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import hmac
import math
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable, Sequence

from .errors import TukipyyntoError
from .records import HELSINKI

__all__ = ["DEFAULT_OPENING_HOURS", "PSEUDONYM_KEY_ENV", "SERVICE_FIELDS", "SERVICE_FLAGS", "FirstReply", "RepeatLinker",
           "ServiceAnalyser", "ServiceError", "ServiceSettings", "first_reply", "is_back_office", "parse_opening_hours",
           "percentile", "reference_keys", "resolve_pseudonym_key", "working_minutes"]

DEFAULT_OPENING_HOURS = (dt.time(8, 30), dt.time(16, 0))
PSEUDONYM_KEY_ENV = "TUKIPYYNTO_PSEUDONYM_KEY"
# The service fields every row gets (None where they do not apply).
SERVICE_FIELDS = ("first_reply_at", "first_reply_working_minutes", "repeat_of", "service_flags")
SERVICE_FLAGS = (
    "reply_before_request",  # a back-office reply is dated before the request it answers
    "first_from_back_office",  # the thread's first message is the back office's own
    "request_no_date",  # the request has no (readable) date: no time to the reply
    "reply_no_date",  # a back-office reply has no date: answered, time unknown
    "later_messages_not_back_office",  # messages followed, none from the back office (check --back-office)
)


class ServiceError(TukipyyntoError, ValueError):
    """Service settings are malformed (opening hours, back-office addresses, patterns)."""


def parse_opening_hours(value: str | Sequence[dt.time]) -> tuple[dt.time, dt.time]:
    """Parse opening hours such as ``"8:30-16:00"`` (or pass a ``(start, end)`` pair through).

    Raises
    ------
    ServiceError
        The value is not ``H:MM-H:MM`` or the start is not before the end.
    """
    if isinstance(value, str):
        try:
            a, b = value.split("-")
            start, end = dt.time.fromisoformat(a.strip().zfill(5)), dt.time.fromisoformat(b.strip().zfill(5))
        except ValueError:
            raise ServiceError(f"expected opening hours such as 8:30-16:00, found {value!r}") from None
    else:
        start, end = value
    if not start < end:
        raise ServiceError(f"opening hours must start before they end, got {start}-{end}")
    return start, end


@lru_cache(maxsize=64)
def _holidays_of(year: int) -> frozenset[dt.date]:
    """Finnish public holidays of a year (the ``holidays`` package, as the report uses)."""
    import holidays

    return frozenset(holidays.country_holidays("FI", years=[year]).keys())


def _is_working_day(d: dt.date, holidays_: Any = None) -> bool:
    """A weekday that is not a public holiday."""
    if d.weekday() >= 5:
        return False
    hol = _holidays_of(d.year) if holidays_ is None else holidays_
    return d not in hol


def working_minutes(start: dt.datetime, end: dt.datetime,
                    opening_hours: tuple[dt.time, dt.time] = DEFAULT_OPENING_HOURS,
                    holidays_: Any = None, tz: Any = HELSINKI) -> float:
    """Minutes between two moments that fall within the back office's opening hours.

    Parameters
    ----------
    start, end : datetime
        Time zone aware; naive ones are taken as Helsinki local time.
    opening_hours : (time, time)
        Weekday opening hours in ``tz``, start inclusive, end exclusive.
    holidays_ : container of date, optional
        Days off besides weekends; Finnish public holidays when omitted.
    tz : tzinfo
        Where the opening hours hold (Europe/Helsinki).

    Returns
    -------
    float
        Working minutes from ``start`` to ``end``; 0 when ``end`` is not after ``start``.

    Examples
    --------
    >>> h = dt.timezone(dt.timedelta(hours=3))
    >>> working_minutes(dt.datetime(2016, 9, 2, 15, 0, tzinfo=h), dt.datetime(2016, 9, 5, 9, 0, tzinfo=h))
    90.0
    """
    if start.tzinfo is None:
        start = start.replace(tzinfo=tz)
    if end.tzinfo is None:
        end = end.replace(tzinfo=tz)
    if end <= start:
        return 0.0
    a, b = start.astimezone(tz), end.astimezone(tz)
    total = 0.0
    day = a.date()
    while day <= b.date():
        if _is_working_day(day, holidays_):
            o = dt.datetime.combine(day, opening_hours[0], tzinfo=tz)
            c = dt.datetime.combine(day, opening_hours[1], tzinfo=tz)
            lo, hi = max(o, a), min(c, b)
            if hi > lo:
                total += (hi - lo).total_seconds() / 60.0
        day += dt.timedelta(days=1)
    return total


def _pattern_matches(address: str, pattern: str) -> bool:
    """``pattern`` is an address (exact, case-insensitive) or ``@domain`` (that domain and its subdomains)."""
    if pattern.startswith("@"):
        dom = address.rpartition("@")[2]
        p = pattern[1:]
        return dom == p or dom.endswith("." + p)
    return address == pattern


def is_back_office(address: str | None, request_recipients: Iterable[str] = (), back_office: Iterable[str] = (),
                   request_sender: str | None = None) -> bool:
    """True when ``address`` is the back office's.

    Parameters
    ----------
    address : str or None
        A sender address (any case).
    request_recipients : iterable of str
        The addresses the request was sent to (its ``To``).
    back_office : iterable of str
        Further addresses or ``@domain`` patterns (``--back-office``).
    request_sender : str, optional
        The request's sender: an address at the recipients' domain counts as the back office's
        unless the agent writes from that same domain.
    """
    if not address:
        return False
    a = address.strip().lower()
    rec = {r.strip().lower() for r in request_recipients if r}
    if a in rec or any(_pattern_matches(a, p.lower()) for p in back_office):
        return True
    # a colleague answering from a personal address at the team mailbox's domain
    # (sopimustiimi@x answered by hannele@x); an agent's own domain never counts
    dom = a.rpartition("@")[2]
    agent_domain = (request_sender or "").strip().lower().rpartition("@")[2]
    return bool(dom) and dom != agent_domain and dom in {r.rpartition("@")[2] for r in rec}


@dataclass(frozen=True)
class FirstReply:
    """The back office's first reply to a thread's request, and what was doubtful about it."""

    at: dt.datetime | None
    working_minutes: float | None
    flags: tuple[str, ...] = ()


def first_reply(thread: Sequence[Any], back_office: Iterable[str] = (),
                opening_hours: tuple[dt.time, dt.time] = DEFAULT_OPENING_HOURS, holidays_: Any = None) -> FirstReply:
    """Find the back office's first reply in a thread.

    Parameters
    ----------
    thread : sequence of ThreadMessage
        The thread's messages in time order (undated last), the request first
        (:attr:`classifier.ingest.Contact.thread`).
    back_office : iterable of str
        Back-office addresses or ``@domain`` patterns besides the request's recipients.
    opening_hours, holidays_
        See :func:`working_minutes`.

    Returns
    -------
    FirstReply
        ``at`` and ``working_minutes`` are None when nobody from the back office answered
        (or the thread was the back office's own); ``working_minutes`` is None too when a
        date is missing or the reply is dated before its request (``flags`` say which).
    """
    if not thread:
        return FirstReply(None, None)
    patterns = tuple(p.strip().lower() for p in back_office if p and p.strip())

    def from_bo(m: Any, req: Any) -> bool:
        """A message from the back office, seen from the request ``req``."""
        to = tuple(a for a in req.recipients if a != req.sender)
        return bool(m.sender) and m.sender != req.sender and is_back_office(m.sender, to, patterns, req.sender)

    # The request is the first message that is not itself a reply. A reply dated before its
    # request sorts first; the request is then the first message that names no earlier one.
    req_i = next((i for i, m in enumerate(thread) if not m.is_reply), 0)
    if req_i and not any(from_bo(m, thread[req_i]) for m in thread[:req_i]):
        req_i = 0  # earlier messages are not the back office's: the thread's first message is the request
    req = thread[req_i]
    flags: list[str] = []
    if req.sender and any(_pattern_matches(req.sender, p) for p in patterns):
        return FirstReply(None, None, ("first_from_back_office",))
    if req.sent_at is None:
        flags.append("request_no_date")
    replies = [m for i, m in enumerate(thread) if i != req_i and from_bo(m, req)]
    dated = [m for m in replies if m.sent_at is not None]
    if len(dated) < len(replies):
        flags.append("reply_no_date")
    if not dated:
        if not replies and len(thread) > 1:
            flags.append("later_messages_not_back_office")
        return FirstReply(None, None, tuple(flags))
    at = min(m.sent_at for m in dated)
    minutes = None
    if req.sent_at is not None:
        if at < req.sent_at:
            flags.append("reply_before_request")
        else:
            minutes = round(working_minutes(req.sent_at, at, opening_hours, holidays_), 1)
    return FirstReply(at, minutes, tuple(flags))


# ------------------------------------------------------------------------------- repeat contacts

# Identifiers that name a customer or a contract. Email addresses and phone numbers are left
# out: the agents' own signatures carry them and would link every request of an agent.
_HETU_RE = re.compile(r"(?<![0-9A-Za-z-])(\d{6}[-+YXWVUABCDEFyxwvuabcdef]\d{3}[0-9A-Ya-y])(?![0-9A-Za-z])")
_METERING_RE = re.compile(r"(?<!\d)(643\d{15})(?!\d)")


def reference_keys(text: str, key: bytes, redactor: Any = None, patterns: Sequence[str] = ()) -> frozenset[str]:
    """Keyed hashes of the customer and contract references in a text.

    Parameters
    ----------
    text : str
        The raw (not yet redacted) request text and subject.
    key : bytes
        The pseudonym key (HMAC-SHA256); never stored.
    redactor : Redactor, optional
        Its customer and contract number patterns are used (the default redactor's when omitted).
    patterns : sequence of str
        Further regular expressions; group 1 (else the whole match) is the reference.

    Returns
    -------
    frozenset of str
        ``kind:hash`` strings (20 hex digits); identity codes, customer and contract numbers,
        metering points and the extra patterns' matches. The references themselves are not kept.
    """
    from .redact import Redactor, hetu_is_valid

    if not text:
        return frozenset()
    r = redactor or Redactor()
    found: set[tuple[str, str]] = set()
    for m in _HETU_RE.finditer(text):
        if hetu_is_valid(m.group(1)):
            found.add(("hetu", m.group(1).upper()))
    for kind, rx in (("customer", r._compiled["customer"]), ("contract", r._compiled["contract"])):
        for m in rx.finditer(text):
            found.add((kind, m.group(1) if rx.groups else m.group(0)))
    for m in _METERING_RE.finditer(text):
        found.add(("metering", m.group(1)))
    for i, p in enumerate(patterns):
        rx = _compile(p)
        for m in rx.finditer(text):
            v = m.group(1) if rx.groups else m.group(0)
            if v:
                found.add((f"pattern{i}", " ".join(v.split()).upper()))
    return frozenset(f"{k}:" + hmac.new(key, f"{k}\x00{v}".encode("utf-8", "surrogateescape"),
                                        hashlib.sha256).hexdigest()[:20] for k, v in found)


@lru_cache(maxsize=32)
def _compile(p: str) -> re.Pattern:
    """A compiled reference pattern."""
    try:
        return re.compile(p)
    except re.error as e:
        raise ServiceError(f"reference pattern {p!r} is not a regular expression: {e}") from None


class RepeatLinker:
    """Link each contact to an earlier contact that named the same reference within ``days``.

    Contacts are registered in reading order; a contact links to the latest contact sent
    before it (at most ``days`` days before) that shares a reference key and was read before it.
    Only keyed hashes and row ids are held.
    """

    def __init__(self, days: float = 14) -> None:
        if days < 0:
            raise ServiceError(f"repeat_days must be at least 0, got {days}")
        self.window = days * 86400.0
        self._seen: dict[str, list[tuple[float, str]]] = {}
        self.n_linked = 0

    def link(self, sent_at: dt.datetime | None, row_id: str, keys: Iterable[str]) -> str | None:
        """Register a contact and return the id of the contact it repeats, or None."""
        keys = list(keys)
        if sent_at is None or not keys:
            return None
        ts = sent_at.timestamp()
        best: tuple[float, str] | None = None
        for k in keys:
            lst = self._seen.setdefault(k, [])
            j = bisect.bisect_left(lst, (ts, ""))
            if j > 0:
                cand = lst[j - 1]
                if ts - cand[0] <= self.window and cand[1] != row_id and (best is None or cand[0] > best[0]):
                    best = cand
            bisect.insort(lst, (ts, row_id))
        if best is not None:
            self.n_linked += 1
            return best[1]
        return None


@dataclass(frozen=True)
class ServiceSettings:
    """How the labelling job computes the service fields.

    Attributes
    ----------
    back_office : tuple of str
        Back-office addresses or ``@domain`` patterns besides the address each request was sent to.
    opening_hours : (time, time)
        The back office's weekday opening hours (Helsinki time).
    repeat_days : float
        A contact naming the same reference within this many days is a repeat.
    pseudonym_key : bytes or None
        Key of the reference hashes; else ``$TUKIPYYNTO_PSEUDONYM_KEY``; else derived from the id key.
    reference_patterns : tuple of str
        Extra regular expressions for customer / contract references (group 1 is the reference).
    """

    back_office: tuple[str, ...] = ()
    opening_hours: tuple[dt.time, dt.time] = DEFAULT_OPENING_HOURS
    repeat_days: float = 14
    pseudonym_key: bytes | None = field(default=None, repr=False)
    reference_patterns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        bad = [b for b in self.back_office if not b or "@" not in b or " " in b.strip()]
        if bad:
            raise ServiceError(f"back-office entry {bad[0]!r} is neither an address nor @domain")
        parse_opening_hours(self.opening_hours)
        if self.repeat_days < 0:
            raise ServiceError(f"repeat_days must be at least 0, got {self.repeat_days}")
        for p in self.reference_patterns:
            _compile(p)


def resolve_pseudonym_key(key: bytes | str | None, id_key: bytes) -> bytes:
    """The key of the reference hashes: explicit, ``$TUKIPYYNTO_PSEUDONYM_KEY``, else derived from ``id_key``."""
    if key:
        return key.encode("utf-8") if isinstance(key, str) else key
    env = os.environ.get(PSEUDONYM_KEY_ENV)
    if env:
        return env.encode("utf-8")
    # a separate key derived from the id key: the two hashes never coincide
    return hmac.new(id_key, b"tukipyynto repeat-contact references", hashlib.sha256).digest()


class ServiceAnalyser:
    """Compute a contact's service fields, in reading order (repeat links need the earlier contacts).

    Parameters
    ----------
    settings : ServiceSettings
    key : bytes
        The pseudonym key (see :func:`resolve_pseudonym_key`).
    redactor : Redactor, optional
        Its customer / contract patterns find the references.
    """

    def __init__(self, settings: ServiceSettings, key: bytes, redactor: Any = None) -> None:
        self.settings = settings
        self._key = key
        self.redactor = redactor
        self.linker = RepeatLinker(settings.repeat_days)
        self.n_threads = self.n_answered = self.n_not_back_office = 0

    def fields(self, contact: Any, row_id: str) -> dict[str, Any]:
        """The service fields of one contact, JSON-ready.

        Parameters
        ----------
        contact : Contact
            From :func:`classifier.ingest.iter_contacts` (raw text, before redaction).
        row_id : str
            The id its row gets (hashed when it holds personal data).
        """
        out: dict[str, Any] = dict.fromkeys(SERVICE_FIELDS)
        if contact.error is None:
            text = "\n".join(x for x in (contact.subject, contact.text) if x)
            keys = reference_keys(text, self._key, self.redactor, self.settings.reference_patterns)
            out["repeat_of"] = self.linker.link(contact.sent_at, row_id, keys)
        if contact.thread:
            fr = first_reply(contact.thread, self.settings.back_office, self.settings.opening_hours)
            out["first_reply_at"] = fr.at.isoformat() if fr.at else None
            out["first_reply_working_minutes"] = fr.working_minutes
            out["service_flags"] = list(fr.flags)  # a list (maybe empty) marks a mail thread
            self.n_threads += 1
            self.n_answered += fr.at is not None
            self.n_not_back_office += "later_messages_not_back_office" in fr.flags
        return out

    def note(self) -> str | None:
        """One line on what was found, with a hint when replies seem to come from unknown addresses."""
        if not self.n_threads:
            return None
        s = (f"service: {self.n_answered} of {self.n_threads} email threads have a back-office reply; "
             f"{self.linker.n_linked} contacts repeat an earlier one within {self.settings.repeat_days:g} days")
        if self.n_not_back_office:
            s += (f"; {self.n_not_back_office} threads have later messages but none from the back office "
                  "(give its addresses or domain with --back-office)")
        return s


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile of ``values`` with linear interpolation between ranks.

    Parameters
    ----------
    values : sequence of float
        None and NaN are left out.
    q : float
        Between 0 and 100 (50 is the median).

    Returns
    -------
    float or None
        None when no value is left.
    """
    xs = sorted(v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v)))
    if not xs:
        return None
    k = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)
