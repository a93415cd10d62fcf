"""Typed records: a support request, a guideline, a taxonomy category, and the avoidable rule."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping
from zoneinfo import ZoneInfo

__all__ = ["Request", "Guideline", "Category", "Taxonomy", "parse_datetime", "parse_date", "local_date",
           "expected_avoidable", "HELSINKI", "CHANNELS", "FAMILIES"]

HELSINKI = ZoneInfo("Europe/Helsinki")
CHANNELS = ("email", "phone")
FAMILIES = ("jarjestelma_ja_prosessi", "tuotteet_ja_hinnastot", "koulutus")


@dataclass(frozen=True)
class Request:
    """A support request (tukipyyntö) in the spec's JSON Lines format.

    ``topic``, ``guideline_id`` and ``avoidable`` are labels: ``None`` when unlabelled.
    """

    id: str
    text: str
    channel: str | None = None
    sent_at: dt.datetime | None = None
    subject: str | None = None
    topic: str | None = None
    guideline_id: str | None = None
    avoidable: bool | None = None

    @property
    def model_input(self) -> str:
        """What the topic model reads: subject and text, the same at training and prediction time."""
        return ((self.subject or "") + "\n" + self.text).strip()

    @property
    def local_date(self) -> dt.date | None:
        """The request's calendar date in Helsinki, which the avoidable rule compares."""
        return local_date(self.sent_at)

    def to_dict(self) -> dict[str, Any]:
        """Return the record as the spec's JSON-ready dictionary."""
        return {
            "id": self.id,
            "channel": self.channel,
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "subject": self.subject,
            "text": self.text,
            "topic": self.topic,
            "guideline_id": self.guideline_id,
            "avoidable": self.avoidable,
        }


@dataclass(frozen=True)
class Guideline:
    """An intranet guideline, price list or training material."""

    id: str
    title: str
    body: str
    family: str
    topics: tuple[str, ...]
    published: dt.date
    retired: dt.date | None = None

    def in_force(self, day: dt.date) -> bool:
        """True when the guideline existed on ``day``: published on or before it, not retired before it."""
        return self.published <= day and (self.retired is None or day <= self.retired)

    def to_dict(self) -> dict[str, Any]:
        """Return the record as the spec's JSON-ready dictionary."""
        return {
            "id": self.id,
            "title": self.title,
            "body": self.body,
            "family": self.family,
            "topics": list(self.topics),
            "published": self.published.isoformat(),
            "retired": self.retired.isoformat() if self.retired else None,
        }


@dataclass(frozen=True)
class Category:
    """One topic category of a taxonomy."""

    id: str
    label_fi: str
    label_en: str = ""
    description: str = ""
    back_office_remit: bool = False
    misrouted: bool = False

    @property
    def agents_own(self) -> bool:
        """The first line's own task: neither back-office remit nor misrouted (a guideline decides it)."""
        return not self.back_office_remit and not self.misrouted


@dataclass(frozen=True)
class Taxonomy:
    """An ordered set of topic categories, read from a file (never hard-coded)."""

    categories: tuple[Category, ...]
    name: str = ""
    version: str = ""
    _index: Mapping[str, Category] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {c.id: c for c in self.categories})

    @property
    def ids(self) -> tuple[str, ...]:
        """Category ids in file order."""
        return tuple(c.id for c in self.categories)

    def __contains__(self, topic: object) -> bool:
        return topic in self._index

    def __getitem__(self, topic: str) -> Category:
        return self._index[topic]

    def __len__(self) -> int:
        return len(self.categories)

    def label(self, topic: str, lang: str = "fi") -> str:
        """Human label of a topic in Finnish (default) or English; the id for unknown topics."""
        cat = self._index.get(topic)
        if cat is None:
            return topic
        return (cat.label_en or cat.label_fi) if lang == "en" else cat.label_fi

    @classmethod
    def from_labels(cls, labels: Iterable[str]) -> "Taxonomy":
        """Build a taxonomy from bare label strings (no remit flags), for corpora without a file."""
        seen = sorted(set(labels))
        return cls(tuple(Category(id=x, label_fi=x, label_en=x) for x in seen))


def parse_datetime(value: Any) -> dt.datetime | None:
    """Parse an ISO-8601 timestamp; a naive one is taken as Helsinki local time.

    Raises ``ValueError`` with the offending value when it cannot be parsed.
    """
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        d = value
    elif isinstance(value, dt.date):
        d = dt.datetime(value.year, value.month, value.day)
    else:
        s = str(value).strip()
        if s.endswith("Z"):
            s = s[:-1] + "+00:00"
        d = dt.datetime.fromisoformat(s)
    if d.tzinfo is None:
        d = d.replace(tzinfo=HELSINKI)
    return d


def parse_date(value: Any) -> dt.date | None:
    """Parse an ISO date (``YYYY-MM-DD``); ``None`` for empty values."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).strip()[:10])


def local_date(ts: dt.datetime | None) -> dt.date | None:
    """Calendar date of a timestamp in Helsinki."""
    if ts is None:
        return None
    return ts.astimezone(HELSINKI).date()


def expected_avoidable(
    topic: str, guideline: Guideline | None, day: dt.date | None, taxonomy: Taxonomy
) -> bool:
    """The spec's avoidable-contact rule.

    A request is avoidable when its topic is flagged ``misrouted`` in the taxonomy, or
    when the topic is not back-office remit and ``guideline`` (the covering guideline)
    was in force on the request's local date ``day`` (today when ``day`` is None).
    """
    from .rules import avoidable_reason

    cat = taxonomy[topic] if topic in taxonomy else None
    covered = guideline is not None and guideline.in_force(day or dt.date.today())
    return bool(avoidable_reason(cat, covered)[0])
