"""Trends by month and alerts on changes unlikely to be chance.

From monthly counts (:class:`MonthCounts`: contacts per topic, avoidable among the decided)
this module makes

- :func:`topic_trends`: each month's share of every topic with a 95 % Wilson interval;
- :func:`alerts`: for one month (the last by default), every topic's share and the avoidable
  share compared with the month before and with the quarter before (the three months before,
  pooled), each by Fisher's exact test (two-sided), the p-values corrected by Holm's method
  over all the comparisons made for that month (topics and avoidable share, both bases), so
  that with eleven topics a chance fluctuation in one of them does not raise an alert. An
  alert is a comparison whose corrected p-value is below ``alpha``.

The report (:func:`classifier.report.build_report`) counts its rows (:func:`counts_from_items`);
``tukipyynto trends --store`` counts the store's indexed columns
(:func:`classifier.store.trends.counts_from_store`) and calls the same functions, so the two agree.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ALERT_COLUMNS", "TREND_COLUMNS", "MonthCounts", "alerts", "avoidable_label", "counts_from_items", "fisher_p",
           "holm", "months_between", "topic_namer", "topic_trends"]

TREND_COLUMNS = ("period", "topic", "label", "n", "total", "share", "ci_low", "ci_high")
ALERT_COLUMNS = ("period", "comparison", "base_period", "measure", "topic", "label", "k", "n", "share", "base_k",
                 "base_n", "base_share", "diff_share", "direction", "p_value", "p_adjusted")
AVOIDABLE = "avoidable"


@dataclass
class MonthCounts:
    """One month: contacts analysed, per topic, and avoidable among those with a decision."""

    n: int = 0
    topics: Counter = field(default_factory=Counter)
    decided: int = 0
    avoidable: int = 0

    def add(self, other: "MonthCounts") -> "MonthCounts":
        """The sum of two months (a quarter is pooled this way)."""
        out = MonthCounts(self.n + other.n, self.topics + other.topics, self.decided + other.decided,
                          self.avoidable + other.avoidable)
        return out


def _month(d: dt.date) -> str:
    """``YYYY-MM`` of a date."""
    return f"{d.year:04d}-{d.month:02d}"


def _shift(month: str, k: int) -> str:
    """The month ``k`` months after ``month`` (before, for negative ``k``)."""
    y, m = int(month[:4]), int(month[5:7])
    i = y * 12 + (m - 1) + k
    return f"{i // 12:04d}-{i % 12 + 1:02d}"


def months_between(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` (``YYYY-MM``), both included."""
    out, m = [], first
    while m <= last:
        out.append(m)
        m = _shift(m, 1)
    return out


def counts_from_items(items: Iterable[Any]) -> dict[str, MonthCounts]:
    """Monthly counts from the report's analysed rows (``local``, ``topic``, ``avoidable``); undated rows are left out."""
    out: dict[str, MonthCounts] = {}
    for r in items:
        if r.local is None:
            continue
        c = out.setdefault(_month(r.local.date()), MonthCounts())
        c.n += 1
        c.topics[r.topic] += 1
        if r.avoidable is not None:
            c.decided += 1
            c.avoidable += bool(r.avoidable)
    return out


def topic_namer(taxonomy: Any, lang: str) -> Any:
    """Topic id -> its name in ``lang``, as the report names topics (``uncertain`` included)."""
    from .common import _topic_label

    return lambda t: _topic_label(t, taxonomy, lang)


def avoidable_label(lang: str) -> str:
    """What the report calls the avoidable share in an alert, in ``lang``."""
    from ..texts import TEXT

    return TEXT[lang]["alert_avoidable"]


def _wilson(k: int, n: int) -> tuple[float | None, float | None]:
    """95 % Wilson interval (the report's)."""
    from ...estimate import wilson_interval

    return wilson_interval(k, n)


def topic_trends(counts: Mapping[str, MonthCounts], order: Sequence[str], months: Sequence[str] | None = None,
                 label: Any = str) -> list[dict[str, Any]]:
    """Each month's share of each topic, with its 95 % Wilson interval.

    Parameters
    ----------
    counts : mapping of month -> MonthCounts
    order : sequence of str
        Topics in the order to list them (topics seen but not named here follow, sorted).
    months : sequence of str, optional
        Months to list (empty ones as zeros); by default every month from the first to the last counted.
    label : callable
        Topic id -> display name.

    Returns
    -------
    list of dict
        Keys :data:`TREND_COLUMNS`; ``share`` and the interval are None in a month without contacts.
    """
    if months is None:
        months = months_between(min(counts), max(counts)) if counts else []
    seen = {t for c in counts.values() for t in c.topics}
    topics = list(dict.fromkeys([*order, *sorted(seen - set(order))]))
    out = []
    for m in months:
        c = counts.get(m, MonthCounts())
        for t in topics:
            k = c.topics.get(t, 0)
            lo, hi = _wilson(k, c.n)
            out.append({"period": m, "topic": t, "label": label(t), "n": k, "total": c.n,
                        "share": k / c.n if c.n else None, "ci_low": lo, "ci_high": hi})
    return out


def fisher_p(k1: int, n1: int, k0: int, n0: int) -> float:
    """Two-sided p-value of Fisher's exact test that ``k1/n1`` and ``k0/n0`` are the same proportion."""
    from scipy.stats import fisher_exact

    if n1 == 0 or n0 == 0:
        return 1.0
    return float(fisher_exact([[k1, n1 - k1], [k0, n0 - k0]], alternative="two-sided")[1])


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of p-values (family-wise error rate), in the input order."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    out = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out


def alerts(counts: Mapping[str, MonthCounts], order: Sequence[str], month: str | None = None, alpha: float = 0.05,
           label: Any = str, avoidable_label: str = AVOIDABLE, include_all: bool = False) -> list[dict[str, Any]]:
    """Changes in one month's topic shares and avoidable share that are unlikely to be chance.

    Parameters
    ----------
    counts : mapping of month -> MonthCounts
    order : sequence of str
        The topics compared (every topic of the taxonomy, and any other seen).
    month : str, optional
        ``YYYY-MM``; the last month counted when omitted.
    alpha : float
        Family-wise error rate over all the month's comparisons (Holm).
    label : callable
        Topic id -> display name.
    include_all : bool
        Return every comparison made, not only the alerts.

    Returns
    -------
    list of dict
        Keys :data:`ALERT_COLUMNS`: ``comparison`` is ``"month"`` (against the month before) or
        ``"quarter"`` (against the three months before, pooled); ``measure`` is ``"topic"``
        (``k`` of ``n`` contacts) or ``"avoidable"`` (``k`` avoidable of ``n`` decided);
        ``diff_share`` is the difference of the shares. Sorted by corrected p-value.
    """
    if not counts:
        return []
    month = month or max(counts)
    cur = counts.get(month, MonthCounts())
    seen = {t for c in counts.values() for t in c.topics}
    topics = list(dict.fromkeys([*order, *sorted(seen - set(order))]))
    tests: list[dict[str, Any]] = []
    bases = [("month", _shift(month, -1), [_shift(month, -1)]),
             ("quarter", f"{_shift(month, -3)}..{_shift(month, -1)}", [_shift(month, -i) for i in (3, 2, 1)])]
    for comparison, name, ms in bases:
        base = MonthCounts()
        for m in ms:
            base = base.add(counts.get(m, MonthCounts()))
        if base.n == 0 or cur.n == 0:
            continue
        for t in topics:
            k, k0 = cur.topics.get(t, 0), base.topics.get(t, 0)
            if k == 0 and k0 == 0:
                continue
            tests.append(_test(month, comparison, name, "topic", t, label(t), k, cur.n, k0, base.n))
        if cur.decided and base.decided:
            tests.append(_test(month, comparison, name, "avoidable", AVOIDABLE, avoidable_label, cur.avoidable,
                               cur.decided, base.avoidable, base.decided))
    for t, p in zip(tests, holm([t["p_value"] for t in tests])):
        t["p_adjusted"] = p
    keep = tests if include_all else [t for t in tests if t["p_adjusted"] < alpha]
    keep.sort(key=lambda t: (t["p_adjusted"], t["p_value"], t["comparison"], t["topic"]))
    return keep


def _test(month: str, comparison: str, base_name: str, measure: str, topic: str, label: str, k: int, n: int,
          k0: int, n0: int) -> dict[str, Any]:
    """One comparison: shares, their difference and Fisher's p-value."""
    share, base_share = k / n, k0 / n0
    return {"period": month, "comparison": comparison, "base_period": base_name, "measure": measure, "topic": topic,
            "label": label, "k": k, "n": n, "share": share, "base_k": k0, "base_n": n0, "base_share": base_share,
            "diff_share": share - base_share, "direction": "up" if share > base_share else "down",
            "p_value": fisher_p(k, n, k0, n0), "p_adjusted": None}


def _monthly_tables(ctx: Any, alpha: float) -> dict[str, tuple[tuple[str, ...], list[dict[str, Any]]]]:
    """The report's monthly topic shares and its alerts for the period's last month."""
    from ..texts import TEXT

    counts = counts_from_items(ctx.items)
    months = [f"{y:04d}-{m:02d}" for y, m in ctx.buckets("month")]
    trend = topic_trends(counts, ctx.order, months, label=ctx.label) if counts else []
    tested = next((m for m in reversed(months) if m in counts), None)
    found = alerts(counts, ctx.order, tested, alpha, label=ctx.label,
                   avoidable_label=TEXT[ctx.lang]["alert_avoidable"]) if tested else []
    return {"topic_trends": (TREND_COLUMNS, trend), "alerts": (ALERT_COLUMNS, found)}
