"""Building a :class:`~classifier.report.core.Report`: rows in, every table out."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable
from typing import Any, Mapping

from ..errors import ReportError
from ..records import CHANNELS, HELSINKI, Guideline, Taxonomy, parse_datetime
from ..rules import AVOIDABLE_REASONS, GAP_REASONS, UNCERTAIN, UNDECIDED_REASONS, avoidable_reason
from .core import GRANULARITIES, LANGS, Report
from .read import _clean_str, _maybe_json, _normalise_row, _to_bool
from .tables.avoidable import _avoidable_tables, _review_tables
from .tables.common import _Context, _Row, _topic_order
from .tables.counts import _send_time_tables, _topic_tables, _trend_tables, _volume_tables
from .tables.gaps import _gap_tables, _guideline_tables
from .tables.headline import _headline
from .tables.service import _service_tables
from .tables.trends import _monthly_tables


def _derive_reason(topic: str, avoidable: bool | None, guideline_id: str | None, taxonomy: Taxonomy) -> str | None:
    """Reason code for rows that carry labels but no reason (gold-labelled files)."""
    if topic == UNCERTAIN:
        return "uncertain_topic"
    cat = taxonomy[topic] if topic in taxonomy else None
    if avoidable is None and (cat is None or cat.agents_own):
        return None
    return avoidable_reason(cat, avoidable, bool(guideline_id))[1]


def build_report(
    rows: Iterable[dict[str, Any]],
    taxonomy: Taxonomy | None,
    guidelines: list[Guideline] | None = None,
    period_from: dt.date | None = None,
    period_to: dt.date | None = None,
    granularity: str = "month",
    opening_hours: tuple[dt.time, dt.time] = (dt.time(8, 30), dt.time(16, 0)),
    lang: str = "fi",
    *,
    duplicate_threshold: float = 0.5,
    trend_ratio: float = 1.5,
    trend_min_increase: int = 5,
    alert_alpha: float = 0.05,
    max_clusters: int = 4,
    n_examples: int = 3,
    example_chars: int = 200,
    random_state: int = 0,
    calibration: dict | None = None,
    reviewed: Mapping[str, Mapping[str, Any]] | None = None,
    redacted: bool = False,
) -> Report:
    """Build every table of the report from labelled rows.

    Parameters
    ----------
    rows : iterable of dict
        Labelled rows as written by ``tukipyynto label`` (see :func:`read_labelled`);
        ``predicted`` may be nested, a JSON string or flattened into ``predicted.*`` keys.
        A row without ``predicted`` but with labels (``topic``, ``guideline_id``,
        ``avoidable``) is reported on its labels. Rows with ``status`` ``"error"`` are
        counted and listed, not analysed.
    taxonomy : Taxonomy
        Topic names and the remit / misrouted flags; ``None`` builds one from the topics seen.
    guidelines : list of Guideline, optional
        The catalogue, needed for the never-used and near-duplicate tables.
    period_from, period_to : date, optional
        Inclusive bounds on the request's Helsinki calendar date. When either is given,
        rows without a send time are left out (and counted); by default the period runs
        from the first to the last dated request.
    granularity : {"month", "week"}
        Buckets of the volume table and of the trend comparison (ISO weeks).
    opening_hours : (time, time)
        The back office's weekday phone hours, start inclusive, end exclusive.
    lang : {"fi", "en"}
        Language of the written report.
    duplicate_threshold : float
        TF-IDF cosine (title + body) from which two guidelines are near-duplicates.
    trend_ratio, trend_min_increase : float, int
        A topic is rising when its last-period count is at least ``trend_ratio`` times
        the previous period's and at least ``trend_min_increase`` higher (a topic absent
        the period before needs only the increase).
    alert_alpha : float
        The ``alerts`` table lists the changes of the period's last month (each topic's share
        and the avoidable share, against the month and the quarter before; Fisher's exact
        test) whose Holm-corrected p-value is below this (:mod:`classifier.report.tables.trends`).
    max_clusters : int
        At most this many text clusters per gap topic (KMeans, fixed ``random_state``).
    n_examples, example_chars : int
        Example texts per gap topic and cluster, and their length.
    calibration : dict, optional
        The model's held-out ``(p, y)`` calibration pairs (``matcher.avoidable_calibration``
        in ``model.json``): the avoidable estimates' intervals resample them as well as the
        requests. Without them only the requests are resampled.
    reviewed : mapping, optional
        Request id -> reviewed row (:func:`classifier.estimate.read_reviewed`). The random
        queue's reviews give corrected estimates (prediction-powered inference): a ``ppi``
        row in ``avoidable_overall`` and the ``review_*`` tables.

    redacted : bool
        The rows' strings are redacted already (rows from :func:`read_labelled` or a store,
        as ``label`` wrote them): they are not redacted again. Otherwise every free-text
        field is redacted before it can reach the report.

    Returns
    -------
    Report

    Raises
    ------
    ReportError
        An argument is out of range (granularity, language, empty period, opening hours).
    """
    if granularity not in GRANULARITIES:
        raise ReportError(f"granularity must be one of {', '.join(GRANULARITIES)}, got {granularity!r}")
    if lang not in LANGS:
        raise ReportError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    if period_from and period_to and period_from > period_to:
        raise ReportError(f"period_from {period_from} is after period_to {period_to}")
    if len(opening_hours) != 2 or not opening_hours[0] < opening_hours[1]:
        raise ReportError(f"opening_hours must be (start, end) with start < end, got {opening_hours!r}")
    if not 0.0 < duplicate_threshold <= 1.0:
        raise ReportError(f"duplicate_threshold must be in (0, 1], got {duplicate_threshold}")
    if isinstance(period_from, dt.datetime):
        period_from = period_from.date()
    if isinstance(period_to, dt.datetime):
        period_to = period_to.date()

    # One pass over the rows (they may stream from a store): each is reduced at once to what the
    # tables need; a row's text is kept only where a gap table may quote it, its prediction only
    # when reviews are given (the corrected estimates read it), and the words many rows share
    # (channel, topic, reason, guideline) are held once. Which rows fall outside the period
    # depends on the bounds given only (a bound beyond the data moves the other, never past a row).
    n_rows = 0
    errors: list[dict[str, Any]] = []
    pending: list[tuple] = []  # without a taxonomy: rows wait until it is made from their topics
    items: list[_Row] = []
    review_rows: list[dict[str, Any]] = []  # id and prediction of each analysed row, with reviews only
    bounded = period_from is not None or period_to is not None
    n_undated = n_outside = n_with_text = 0
    first_day = last_day = None  # of every analysable row, those outside the period too
    word = {}.setdefault

    def add(local, rid, channel, topic, avoidable, reason, gid, later, text, n_msg, prob, service, pred) -> None:
        nonlocal n_with_text
        if reason is None:
            reason = _derive_reason(topic, avoidable, gid, taxonomy)
        if avoidable is None and reason is not None and reason not in UNDECIDED_REASONS:
            avoidable = reason in AVOIDABLE_REASONS
        n_with_text += text is not None
        items.append(_Row(id=rid, channel=channel, local=local, topic=topic, guideline_id=gid, avoidable=avoidable,
                          reason=reason, later_guideline_id=later,
                          text=(text or None) if avoidable is False and reason in GAP_REASONS else None,
                          n_messages=n_msg, avoidable_probability=prob, **service))
        if reviewed is not None:
            review_rows.append({"id": rid, "predicted": pred})

    for i, row in enumerate(rows):
        n_rows += 1
        rid = str(row.get("id") if row.get("id") is not None else f"#{i + 1}")
        try:
            r = _normalise_row(row, redact=not redacted)
        except ValueError as e:
            errors.append({"id": rid, "source": row.get("source"), "sent_at": row.get("sent_at"), "error": str(e)})
            continue
        try:
            ts = parse_datetime(r.get("sent_at"))
        except (ValueError, TypeError):
            ts = None
        local = ts.astimezone(HELSINKI) if ts else None
        day = local.date() if local is not None else None
        outside = day is not None and ((period_from and day < period_from) or (period_to and day > period_to))
        pred = r["predicted"]
        if pred is None and r["status"] != "error" and _clean_str(r.get("topic")):
            pred = {"topic": _clean_str(r.get("topic")), "guideline_id": _clean_str(r.get("guideline_id")),
                    "avoidable": _to_bool_or_none(r.get("avoidable")), "reason": None, "later_guideline_id": None}
        if r["status"] == "error" or pred is None or pred.get("topic") is None:
            if outside:
                continue
            err = _clean_str(r.get("error")) or ("no prediction in the row" if r["status"] != "error" else "error")
            errors.append({"id": rid, "source": r.get("source"), "sent_at": local.isoformat() if local else None,
                           "error": err})
            continue
        if day is not None:
            first_day = day if first_day is None or day < first_day else first_day
            last_day = day if last_day is None or day > last_day else last_day
        if local is None:
            n_undated += 1
            if bounded:
                continue
        elif outside:
            n_outside += 1
            continue
        try:
            n_msg = int(r.get("n_messages") or 1)
        except (TypeError, ValueError):
            n_msg = 1
        text = _clean_str(r.get("text"))
        reason = pred.get("reason")
        if text is not None and (pred.get("avoidable") is True or (reason is not None and reason not in GAP_REASONS)):
            text = ""  # has text, but no gap table can quote it
        service = _service_of(r)
        if "service_flags" in service:
            service["service_flags"] = word(service["service_flags"], service["service_flags"])
        fields = (local, str(r.get("id")), word(r["channel"], r["channel"]), word(pred["topic"], pred["topic"]),
                  pred.get("avoidable"), word(reason, reason), word(pred.get("guideline_id"), pred.get("guideline_id")),
                  pred.get("later_guideline_id"), None if text is None else (str(r.get("text")) if text else ""),
                  n_msg, _prob_or_none(pred.get("avoidable_probability")), service,
                  pred if reviewed is not None else None)
        if taxonomy is None:
            pending.append(fields)
        else:
            add(*fields)

    if taxonomy is None:
        taxonomy = Taxonomy.from_labels(f[3] for f in pending if f[3] != UNCERTAIN)
        for f in pending:
            add(*f)
        del pending

    start = period_from or first_day
    end = period_to or last_day
    if start and end and start > end:  # one open bound beyond the data
        start, end = (start, start) if period_from else (end, end)
    # one order whatever order the rows came in (files read in another order, a store filled
    # month by month): the bootstrap and the text clusters draw on the rows in this order
    items.sort(key=_canonical)

    chan_count = Counter(r.channel for r in items)
    channels = tuple([c for c in CHANNELS if c in chan_count] + sorted(c for c in chan_count if c not in CHANNELS))
    order = _topic_order([r.topic for r in items] + list(taxonomy.ids), taxonomy)
    ctx = _Context(items=items, taxonomy=taxonomy, lang=lang, channels=channels, order=order,
                   start=start, end=end, granularity=granularity, calibration=calibration)
    tables: dict[str, list[dict[str, Any]]] = {}
    columns: dict[str, tuple[str, ...]] = {}
    for part in (_volume_tables(ctx), _topic_tables(ctx), _send_time_tables(ctx, opening_hours),
                 _avoidable_tables(ctx),
                 _gap_tables(ctx, max_clusters, random_state, n_examples, example_chars),
                 _guideline_tables(ctx, guidelines, duplicate_threshold),
                 _trend_tables(ctx, trend_ratio, trend_min_increase),
                 _monthly_tables(ctx, alert_alpha),
                 _service_tables(ctx, opening_hours)):
        for name, (cols, rows_) in part.items():
            tables[name], columns[name] = rows_, cols
    tables["errors"], columns["errors"] = errors, ("id", "source", "sent_at", "error")
    tables.update(_review_tables(ctx, review_rows, reviewed, tables, columns))
    headline = _headline(tables, len(items))

    return Report(
        period_from=start, period_to=end, granularity=granularity, lang=lang,
        opening_hours=(opening_hours[0], opening_hours[1]), channels=channels, n_rows=n_rows,
        n_errors=len(errors), n_analysed=len(items), n_undated=n_undated, n_outside_period=n_outside,
        n_messages=sum(r.n_messages for r in items), n_with_text=n_with_text,
        n_by_channel={c: chan_count[c] for c in channels}, catalogue_given=guidelines is not None,
        columns=columns, headline=headline,
        settings={"duplicate_threshold": duplicate_threshold, "trend_ratio": trend_ratio,
                  "trend_min_increase": trend_min_increase, "alert_alpha": alert_alpha, "max_clusters": max_clusters,
                  "n_examples": n_examples, "example_chars": example_chars, "random_state": random_state},
        **tables,
    )


def _canonical(r: _Row) -> tuple:
    """A row's place in the report's fixed order: send time (undated last), then what tells rows apart."""
    t = r.local.timestamp() if r.local is not None else float("inf")
    return (t, r.channel, r.id, r.topic, r.reason or "", r.avoidable_probability or 0.0, r.text or "")


def _service_of(r: dict[str, Any]) -> dict[str, Any]:
    """The service fields of a labelled row (``first_reply_*``, ``service_flags``, ``repeat_of``) for a _Row."""
    flags = _maybe_json(r.get("service_flags"))
    out: dict[str, Any] = {"repeat_of": _clean_str(r.get("repeat_of"))}
    if isinstance(flags, list):  # a list, even empty, marks a mail thread whose first reply was looked for
        try:
            minutes = float(r.get("first_reply_working_minutes"))
            minutes = None if math.isnan(minutes) else minutes
        except (TypeError, ValueError):
            minutes = None
        out.update(thread=True, first_reply=_clean_str(r.get("first_reply_at")) is not None,
                   reply_minutes=minutes, service_flags=tuple(str(f) for f in flags))
    return out


def _prob_or_none(v: Any) -> float | None:
    """A probability in [0, 1] from a row value, else None."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if 0.0 <= f <= 1.0 else None


def _to_bool_or_none(v: Any) -> bool | None:
    """A boolean label, or None when missing or unreadable."""
    try:
        return _to_bool(v)
    except ValueError:
        return None
