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
