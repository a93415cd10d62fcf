"""What every table is computed from: one analysed contact (:class:`_Row`), the shared context, periods, send times."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ...records import HELSINKI, Taxonomy
from ...rules import UNCERTAIN
from ..texts import TEXT


def send_time_category(ts: dt.datetime, opening_hours: tuple[dt.time, dt.time] = (dt.time(8, 30), dt.time(16, 0)),
                       holidays_: Any = None) -> str:
    """Classify a send time as in the thesis's table 2.

    Parameters
    ----------
    ts : datetime
        The send time; a naive value is taken as Helsinki time.
    opening_hours : (time, time)
        Weekday opening hours, start inclusive and end exclusive (16:00 itself is outside).
    holidays_ : mapping of date, optional
        Public holidays; Finnish ones (``holidays`` package, ``"FI"``) when omitted.

    Returns
    -------
    str
        One of ``SEND_TIME_CATEGORIES``. Saturdays and Sundays win over holidays (a holiday
        on a Saturday is a Saturday); a holiday on a weekday is ``holiday``.
    """
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=HELSINKI)
    local = ts.astimezone(HELSINKI)
    wd = local.weekday()
    if wd == 5:
        return "saturday"
    if wd == 6:
        return "sunday"
    if holidays_ is None:
        holidays_ = _finnish_holidays([local.year])
    if local.date() in holidays_:
        return "holiday"
    t = local.time().replace(tzinfo=None)
    return "weekday_open" if opening_hours[0] <= t < opening_hours[1] else "weekday_other"


def _send_time_categories(times: Iterable[dt.datetime], opening_hours: tuple[dt.time, dt.time],
                          holidays_: Any) -> list[str]:
    """:func:`send_time_category` of many Helsinki times, each day looked up once (a report's rows share their days)."""
    day_kind: dict[dt.date, str | None] = {}
    out = []
    for ts in times:
        local = ts if ts.tzinfo is HELSINKI else ts.astimezone(HELSINKI)
        d = local.date()
        kind = day_kind.get(d, "")
        if kind == "":
            wd = d.weekday()
            kind = day_kind[d] = "saturday" if wd == 5 else "sunday" if wd == 6 else "holiday" if d in holidays_ else None
        if kind is None:
            t = local.time().replace(tzinfo=None)
            kind = "weekday_open" if opening_hours[0] <= t < opening_hours[1] else "weekday_other"
        out.append(kind)
    return out


def _finnish_holidays(years: Iterable[int]):
    """Finnish public holidays of the given years."""
    import holidays

    return holidays.country_holidays("FI", years=sorted(set(years)) or None)


@dataclass(frozen=True, slots=True)
class _Row:
    """One analysed contact, reduced to what the report needs."""

    id: str
    channel: str
    local: dt.datetime | None
    topic: str
    guideline_id: str | None
    avoidable: bool | None
    reason: str | None
    later_guideline_id: str | None
    text: str | None
    n_messages: int
    avoidable_probability: float | None = None
    thread: bool = False  # a mail thread with service fields (first reply looked for)
    first_reply: bool = False
    reply_minutes: float | None = None
    service_flags: tuple[str, ...] = ()
    repeat_of: str | None = None


def _month_key(d: dt.date) -> tuple[int, int]:
    """Month bucket of a date."""
    return d.year, d.month


def _week_key(d: dt.date) -> tuple[int, int]:
    """ISO-week bucket of a date."""
    iso = d.isocalendar()
    return iso[0], iso[1]


def _bucket_key(d: dt.date, granularity: str) -> tuple[int, int]:
    """Bucket of a date at the given granularity."""
    return _month_key(d) if granularity == "month" else _week_key(d)


def _bucket_name(key: tuple[int, int], granularity: str) -> str:
    """Printable name of a bucket: ``2016-09`` or ``2016-W37``."""
    return f"{key[0]:04d}-{key[1]:02d}" if granularity == "month" else f"{key[0]:04d}-W{key[1]:02d}"


def _bucket_span(key: tuple[int, int], granularity: str) -> tuple[dt.date, dt.date]:
    """First and last day of a bucket."""
    if granularity == "month":
        start = dt.date(key[0], key[1], 1)
        nxt = dt.date(key[0] + (key[1] == 12), key[1] % 12 + 1, 1)
        return start, nxt - dt.timedelta(days=1)
    start = dt.date.fromisocalendar(key[0], key[1], 1)
    return start, start + dt.timedelta(days=6)


def _buckets(start: dt.date, end: dt.date, granularity: str) -> list[tuple[int, int]]:
    """Every bucket from the one holding ``start`` to the one holding ``end``, empty ones included."""
    out = []
    key = _bucket_key(start, granularity)
    last = _bucket_key(end, granularity)
    while key <= last:
        out.append(key)
        nxt = _bucket_span(key, granularity)[1] + dt.timedelta(days=1)
        key = _bucket_key(nxt, granularity)
    return out


def _topic_order(topics: Iterable[str], taxonomy: Taxonomy) -> list[str]:
    """Taxonomy order first, then other topics seen (sorted), ``uncertain`` last."""
    seen = set(topics)
    out = [t for t in taxonomy.ids if t in seen]
    out += sorted(t for t in seen if t not in taxonomy and t != UNCERTAIN)
    if UNCERTAIN in seen and UNCERTAIN not in out:
        out.append(UNCERTAIN)
    return out


def _topic_label(topic: str, taxonomy: Taxonomy, lang: str) -> str:
    """Human topic name; the localised word for ``uncertain``."""
    if topic not in taxonomy and topic in TEXT[lang]:
        return TEXT[lang][topic]
    return taxonomy.label(topic, lang)


def _truncate(text: str, limit: int) -> str:
    """Collapse whitespace and cut to about ``limit`` characters at a word boundary."""
    s = " ".join(str(text).split())
    if len(s) <= limit:
        return s
    cut = s[:limit]
    sp = cut.rfind(" ")
    if sp > limit * 0.6:
        cut = cut[:sp]
    return cut.rstrip(" ,.;:") + "…"


_Tables = dict[str, tuple[tuple[str, ...], list[dict[str, Any]]]]


@dataclass(frozen=True)
class _Context:
    """What every table of a report is computed from."""

    items: list[_Row]
    taxonomy: Taxonomy
    lang: str
    channels: tuple[str, ...]
    order: list[str]
    start: dt.date | None
    end: dt.date | None
    granularity: str
    calibration: dict | None = None

    @property
    def rank(self) -> dict[str, int]:
        """Position of each topic in the taxonomy order."""
        return {t: i for i, t in enumerate(self.order)}

    def label(self, topic: str) -> str:
        """Topic name in the report's language."""
        return _topic_label(topic, self.taxonomy, self.lang)

    def buckets(self, granularity: str | None = None) -> list[tuple[int, int]]:
        """Every bucket of the period, empty ones included."""
        g = granularity or self.granularity
        return _buckets(self.start, self.end, g) if self.start and self.end else []
