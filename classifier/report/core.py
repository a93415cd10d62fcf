"""The report's shape: section and table names, the :class:`Report` of every table, and small shared helpers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..errors import ReportError
from .texts import LANGS, TEXT

__all__ = ["FORMATS", "GRANULARITIES", "LANGS", "SECTIONS", "SEND_TIME_CATEGORIES", "TABLES", "Report", "ReportError"]

SEND_TIME_CATEGORIES = ("weekday_open", "weekday_other", "saturday", "sunday", "holiday")
GRANULARITIES = ("month", "week")
FORMATS = ("md", "html", "csv", "json")
Z95 = 1.959963984540054

# Table names in report order, grouped by section.
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("volumes", ("volumes",)),
    ("topics", ("topics",)),
    ("send_times", ("send_times",)),
    ("avoidable", ("avoidable_before_after", "avoidable_overall", "avoidable_reasons", "avoidable_by_channel", "avoidable_by_topic",
                   "avoidable_by_month")),
    ("gaps", ("gaps", "gap_clusters")),
    ("guidelines", ("guideline_use", "guidelines_unused", "guideline_duplicates")),
    ("trends", ("trends", "topic_trends", "alerts")),
    ("service", ("service_response_by_topic", "service_response_by_channel", "service_response_by_month",
                 "service_response_by_weekday", "service_quality", "service_heatmap", "service_email_in_hours",
                 "service_repeats")),
    ("review", ("review_avoidable", "review_topics", "review_accuracy", "review_confusion")),
    ("errors", ("errors",)),
)
TABLES = tuple(t for _, ts in SECTIONS for t in ts)


@dataclass(frozen=True)
class Report:
    """Every table of a support-request report, plus what it covers.

    Each table is a list of dictionaries with stable English keys (the CSV headers);
    ``columns`` gives each table's key order. Shares are fractions (0..1), ``None`` where
    the denominator is zero. ``lang`` decides the language of titles, headers and
    category names when the report is written.
    """

    period_from: dt.date | None
    period_to: dt.date | None
    granularity: str
    lang: str
    opening_hours: tuple[dt.time, dt.time]
    channels: tuple[str, ...]
    n_rows: int
    n_errors: int
    n_analysed: int
    n_undated: int
    n_outside_period: int
    n_messages: int
    n_with_text: int
    n_by_channel: dict[str, int]
    catalogue_given: bool
    volumes: list[dict[str, Any]]
    topics: list[dict[str, Any]]
    send_times: list[dict[str, Any]]
    avoidable_overall: list[dict[str, Any]]
    avoidable_reasons: list[dict[str, Any]]
    avoidable_by_channel: list[dict[str, Any]]
    avoidable_by_topic: list[dict[str, Any]]
    avoidable_by_month: list[dict[str, Any]]
    gaps: list[dict[str, Any]]
    gap_clusters: list[dict[str, Any]]
    guideline_use: list[dict[str, Any]]
    guidelines_unused: list[dict[str, Any]]
    guideline_duplicates: list[dict[str, Any]]
    trends: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    service_response_by_topic: list[dict[str, Any]] = field(default_factory=list)
    service_response_by_channel: list[dict[str, Any]] = field(default_factory=list)
    service_response_by_month: list[dict[str, Any]] = field(default_factory=list)
    service_response_by_weekday: list[dict[str, Any]] = field(default_factory=list)
    service_quality: list[dict[str, Any]] = field(default_factory=list)
    service_heatmap: list[dict[str, Any]] = field(default_factory=list)
    service_email_in_hours: list[dict[str, Any]] = field(default_factory=list)
    service_repeats: list[dict[str, Any]] = field(default_factory=list)
    review_avoidable: list[dict[str, Any]] = field(default_factory=list)
    review_topics: list[dict[str, Any]] = field(default_factory=list)
    review_accuracy: list[dict[str, Any]] = field(default_factory=list)
    review_confusion: list[dict[str, Any]] = field(default_factory=list)
    review: dict[str, Any] = field(default_factory=dict)
    topic_trends: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    #: The model alone, corrected by the reviews and checked on them; without reviews, how many would
    #: bring the interval to ±5 points (:func:`classifier.estimate.reviews_for_margin`).
    avoidable_before_after: list[dict[str, Any]] = field(default_factory=list)
    #: The report's first block: the share to quote and its basis, the costliest topics and guideline
    #: gaps, the median first-reply time (see :mod:`classifier.report.tables.headline`).
    headline: dict[str, Any] = field(default_factory=dict)

    TABLES: ClassVar[tuple[str, ...]] = TABLES

    def table(self, name: str) -> list[dict[str, Any]]:
        """Rows of the table ``name`` (one of ``TABLES``)."""
        if name not in TABLES:
            raise ReportError(f"unknown table {name!r}; tables: {', '.join(TABLES)}")
        return getattr(self, name)

    def text(self, key: str) -> str:
        """A title, header or category name in the report's language."""
        return TEXT[self.lang].get(key, key)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary of the metadata and every table."""
        meta = {
            "period_from": _iso(self.period_from), "period_to": _iso(self.period_to),
            "granularity": self.granularity, "lang": self.lang,
            "opening_hours": [self.opening_hours[0].strftime("%H:%M"), self.opening_hours[1].strftime("%H:%M")],
            "channels": list(self.channels), "n_rows": self.n_rows, "n_errors": self.n_errors,
            "n_analysed": self.n_analysed, "n_undated": self.n_undated, "n_outside_period": self.n_outside_period,
            "n_messages": self.n_messages, "n_with_text": self.n_with_text, "n_by_channel": dict(self.n_by_channel),
            "catalogue_given": self.catalogue_given, "settings": dict(self.settings),
            "headline": self.headline,
        }
        return {"meta": meta, "tables": {t: [{k: _jsonable(r.get(k)) for k in self.columns[t]} for r in self.table(t)]
                                         for t in TABLES}}



def _iso(d: dt.date | None) -> str | None:
    """ISO string of a date, or None."""
    return d.isoformat() if d else None


def _jsonable(v: Any) -> Any:
    """A JSON-ready value."""
    if isinstance(v, (dt.date, dt.datetime, dt.time)):
        return v.isoformat()
    if isinstance(v, tuple):
        return list(v)
    return v


def _share(k: float, n: float) -> float | None:
    """k / n, or None when n is 0."""
    return k / n if n else None
