"""Sections 1-3 and 7: volumes per period and channel, topics per channel, email send times, rising topics."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

from ...rules import UNCERTAIN
from ..core import SEND_TIME_CATEGORIES, _share
from ..format import _fmt_time
from ..texts import TEXT
from .common import _bucket_key, _bucket_name, _bucket_span, _Context, _finnish_holidays, _send_time_categories, _Tables


def _volume_tables(ctx: _Context) -> _Tables:
    """Section 1: contacts per period and channel, empty periods as zeros."""
    counts: dict[tuple[int, int], Counter] = defaultdict(Counter)
    for r in ctx.items:
        if r.local is not None:
            counts[_bucket_key(r.local.date(), ctx.granularity)][r.channel] += 1
    rows = []
    for key in ctx.buckets():
        s, e = _bucket_span(key, ctx.granularity)
        row: dict[str, Any] = {"period": _bucket_name(key, ctx.granularity), "start": s, "end": e}
        row.update({c: counts[key].get(c, 0) for c in ctx.channels})
        row["total"] = sum(counts[key].values())
        rows.append(row)
    return {"volumes": (("period", "start", "end", *ctx.channels, "total"), rows)}


def _topic_tables(ctx: _Context) -> _Tables:
    """Section 2: topic counts and shares per channel, largest first, ``uncertain`` last."""
    per = {c: Counter(r.topic for r in ctx.items if r.channel == c) for c in ctx.channels}
    n_chan = {c: sum(per[c].values()) for c in ctx.channels}
    total = Counter(r.topic for r in ctx.items)
    rows = []
    for t in ctx.order:
        row: dict[str, Any] = {"topic": t, "label": ctx.label(t)}
        for c in ctx.channels:
            row[f"{c}_n"] = per[c].get(t, 0)
            row[f"{c}_share"] = _share(per[c].get(t, 0), n_chan[c])
        row["total_n"] = total.get(t, 0)
        row["total_share"] = _share(total.get(t, 0), len(ctx.items))
        rows.append(row)
    rank = ctx.rank
    rows.sort(key=lambda x: (x["topic"] == UNCERTAIN, -x["total_n"], rank[x["topic"]]))
    cols = ("topic", "label", *[f"{c}_{k}" for c in ctx.channels for k in ("n", "share")], "total_n", "total_share")
    return {"topics": (cols, rows)}


def _send_time_tables(ctx: _Context, opening_hours: tuple[dt.time, dt.time]) -> _Tables:
    """Section 3: email send times against opening hours, weekends and Finnish public holidays."""
    text = TEXT[ctx.lang]
    emails = [r for r in ctx.items if r.channel == "email"]
    years = {r.local.year for r in emails if r.local is not None}
    hol = _finnish_holidays(years) if years else {}
    count: Counter = Counter(_send_time_categories([r.local for r in emails if r.local is not None], opening_hours, hol))
    count["unknown_time"] += sum(1 for r in emails if r.local is None)
    if not count["unknown_time"]:
        del count["unknown_time"]
    hours = {"open": _fmt_time(opening_hours[0], ctx.lang), "close": _fmt_time(opening_hours[1], ctx.lang)}
    cats = list(SEND_TIME_CATEGORIES) + (["unknown_time"] if count.get("unknown_time") else [])
    rows = []
    if emails:
        rows = [{"category": c, "label": text[c].format(**hours), "n": count.get(c, 0),
                 "share": _share(count.get(c, 0), len(emails))} for c in cats]
        rows.append({"category": "total", "label": text["total"], "n": len(emails), "share": 1.0})
    return {"send_times": (("category", "label", "n", "share"), rows)}


def _trend_tables(ctx: _Context, ratio_min: float, min_increase: int) -> _Tables:
    """Section 7: topics whose count rose markedly from the second-last period to the last."""
    cols = ("topic", "label", "previous_period", "previous_n", "last_period", "last_n", "change", "ratio")
    buckets = ctx.buckets()
    if len(buckets) < 2:
        return {"trends": (cols, [])}
    prev_key, last_key = buckets[-2], buckets[-1]
    counts: dict[tuple[int, int], Counter] = {prev_key: Counter(), last_key: Counter()}
    for r in ctx.items:
        if r.local is not None:
            key = _bucket_key(r.local.date(), ctx.granularity)
            if key in counts:
                counts[key][r.topic] += 1
    rows = []
    for t in ctx.order:
        p, q = counts[prev_key].get(t, 0), counts[last_key].get(t, 0)
        ratio = q / p if p else None
        if q - p >= min_increase and (p == 0 or ratio >= ratio_min):
            rows.append({"topic": t, "label": ctx.label(t), "previous_period": _bucket_name(prev_key, ctx.granularity),
                         "previous_n": p, "last_period": _bucket_name(last_key, ctx.granularity), "last_n": q,
                         "change": q - p, "ratio": ratio})
    rank = ctx.rank
    rows.sort(key=lambda x: (-x["change"], rank[x["topic"]]))
    return {"trends": (cols, rows)}
