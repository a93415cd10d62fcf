"""Numbers, shares and clock times as Finnish or English readers write them."""

from __future__ import annotations

import datetime as dt


def _fmt_time(t: dt.time, lang: str) -> str:
    """A clock time as Finns (8.30) or English readers (08:30) write it."""
    return f"{t.hour}.{t.minute:02d}" if lang == "fi" else f"{t.hour:02d}:{t.minute:02d}"


def _fmt_num(x: float, digits: int, lang: str) -> str:
    """A decimal number with the language's decimal mark."""
    s = f"{x:.{digits}f}"
    return s.replace(".", ",") if lang == "fi" else s


def _fmt_pct(x: float | None, lang: str) -> str:
    """A share as a percentage."""
    if x is None:
        return "–"
    return f"{_fmt_num(100 * x, 1, lang)} %"


def _fmt_int(n: int, lang: str) -> str:
    """A count with thousands grouped: 4 865 (Finnish, a no-break space) or 4,865."""
    s = f"{int(n):,}"
    return s.replace(",", "\u00a0") if lang == "fi" else s


def _fmt_date(d: dt.date | None, lang: str) -> str:
    """A date as Finns (15.2.2016) or in ISO form (2016-02-15)."""
    if d is None:
        return "–"
    return f"{d.day}.{d.month}.{d.year}" if lang == "fi" else d.isoformat()


def _fmt_duration(minutes: float, lang: str) -> str:
    """Minutes as hours and minutes: 5 h 7 min."""
    m = int(round(minutes))
    return f"{m // 60} h {m % 60} min" if m >= 60 else f"{m} min"
