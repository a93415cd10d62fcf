"""Trends from a store: the monthly counts behind :mod:`classifier.report.tables.trends`, by one ``GROUP BY``."""

from __future__ import annotations

import datetime as dt

from ..report.tables.trends import MonthCounts
from .core import Store, _date_bounds

__all__ = ["counts_from_store"]


def counts_from_store(store: Store, period_from: dt.date | None = None, period_to: dt.date | None = None
                      ) -> dict[str, MonthCounts]:
    """Monthly counts from a store's indexed columns, as :func:`~classifier.report.tables.trends.counts_from_items` counts rows.

    Parameters
    ----------
    store : Store
    period_from, period_to : date, optional
        Inclusive bounds on the request's Helsinki date.

    Returns
    -------
    dict of ``YYYY-MM`` -> MonthCounts
        Analysed contacts (not errors, with a topic, dated) per topic; avoidable among those decided.
    """
    bounds, args = _date_bounds(period_from, period_to)
    conds = ["status != 'error'", "topic IS NOT NULL", "month IS NOT NULL", *bounds]
    out: dict[str, MonthCounts] = {}
    sql = ("SELECT month, topic, count(*), count(avoidable), coalesce(sum(avoidable), 0) FROM contacts "
           f"WHERE {' AND '.join(conds)} GROUP BY month, topic")
    for month, topic, n, decided, k in store.query(sql, args):
        c = out.setdefault(month, MonthCounts())
        c.n += n
        c.topics[topic] += n
        c.decided += decided
        c.avoidable += k
    return out
