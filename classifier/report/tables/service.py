"""Section 8, service (issue 11): response times, unanswered threads, staffing heatmap, emails that could have been calls, repeats."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

from ...rules import UNCERTAIN
from ..core import _share
from ..texts import TEXT, WEEKDAYS
from .common import _bucket_name, _Context, _finnish_holidays, _Row, _send_time_categories, _Tables

SERVICE_QUALITY = ("threads", "answered", "answered_timed", "unanswered", "later_messages_not_back_office",
                   "reply_before_request", "first_from_back_office", "request_no_date", "reply_no_date")
_RESPONSE_COLS = ("n", "n_answered", "answered_share", "median_minutes", "p90_minutes", "within_day_share")


def _service_tables(ctx: _Context, opening_hours: tuple[dt.time, dt.time]) -> _Tables:
    """Section 8: how fast and how reachably the back office answers (issue 11)."""
    from ...service import percentile

    text = TEXT[ctx.lang]
    day = (dt.datetime.combine(dt.date(2000, 1, 1), opening_hours[1])
           - dt.datetime.combine(dt.date(2000, 1, 1), opening_hours[0])).total_seconds() / 60.0
    threads = [r for r in ctx.items if r.thread]
    requests = [r for r in threads if "first_from_back_office" not in r.service_flags]

    def response(group: list[_Row]) -> dict[str, Any]:
        answered = [r for r in group if r.first_reply]
        timed = [r.reply_minutes for r in answered if r.reply_minutes is not None]
        unanswered = [r for r in group if not r.first_reply and "reply_no_date" not in r.service_flags]
        known = len(timed) + len(unanswered)
        return {"n": len(group), "n_answered": len(answered), "answered_share": _share(len(answered), len(group)),
                "median_minutes": percentile(timed, 50), "p90_minutes": percentile(timed, 90),
                "within_day_share": _share(sum(1 for m in timed if m <= day), known)}

    by_topic = []
    for tpc in ctx.order:
        g = [r for r in requests if r.topic == tpc]
        if g:
            by_topic.append({"topic": tpc, "label": ctx.label(tpc), **response(g)})
    by_topic.sort(key=lambda x: (x["topic"] == UNCERTAIN, -x["n"], ctx.rank[x["topic"]]))
    if requests:
        by_topic.append({"topic": "total", "label": text["total"], **response(requests)})
    by_channel = [{"channel": c, "label": text.get(c, c), **response([r for r in requests if r.channel == c])}
                  for c in ctx.channels if any(r.channel == c for r in requests)]
    by_month = []
    of_month: dict[tuple[int, int], list[_Row]] = defaultdict(list)
    for r in requests:
        if r.local is not None:
            of_month[(r.local.year, r.local.month)].append(r)
    for key in ctx.buckets("month"):
        if of_month and min(of_month) <= key <= max(of_month):  # the months the threads span, empty ones as zeros
            by_month.append({"period": _bucket_name(key, "month"), **response(of_month.get(key, []))})
    names = WEEKDAYS[ctx.lang]
    by_weekday = []
    of_weekday: dict[int, list[_Row]] = defaultdict(list)
    for r in requests:
        if r.local is not None:
            of_weekday[r.local.weekday()].append(r)
    for wd in range(7):
        g = of_weekday.get(wd, [])
        if g:
            by_weekday.append({"weekday": wd + 1, "label": names[wd], **response(g)})

    count: Counter = Counter()
    for r in threads:
        count["threads"] += 1
        count["answered"] += r.first_reply
        count["answered_timed"] += r.reply_minutes is not None
        count["unanswered"] += not r.first_reply and not ({"reply_no_date", "first_from_back_office"}
                                                          & set(r.service_flags))
        for f in r.service_flags:
            count[f] += 1
    quality = [{"category": c, "label": text[f"svc_{c}"], "n": count.get(c, 0)} for c in SERVICE_QUALITY] \
        if threads else []

    heat = []
    for c in ctx.channels:
        cells: dict[int, Counter] = defaultdict(Counter)
        for r in ctx.items:
            if r.channel == c and r.local is not None:
                cells[r.local.weekday()][r.local.hour] += 1
        for wd in range(7):
            row: dict[str, Any] = {"channel": c, "weekday": wd + 1, "label": f"{text.get(c, c)} {names[wd]}"}
            row.update({f"h{h:02d}": cells[wd].get(h, 0) for h in range(24)})
            row["total"] = sum(cells[wd].values())
            heat.append(row)

    hol = _finnish_holidays({r.local.year for r in ctx.items if r.local is not None} or {2000})
    emails = [r for r in ctx.items if r.channel == "email" and r.local is not None]
    open_ = {id(r) for r, c in zip(emails, _send_time_categories([r.local for r in emails], opening_hours, hol))
             if c == "weekday_open"}
    in_hours = []
    for tpc in ctx.order:
        g = [r for r in emails if r.topic == tpc]
        if g:
            k = sum(1 for r in g if id(r) in open_)
            in_hours.append({"topic": tpc, "label": ctx.label(tpc), "n": len(g), "n_in_hours": k,
                             "in_hours_share": _share(k, len(g))})
    in_hours.sort(key=lambda x: (x["topic"] == UNCERTAIN, -x["n_in_hours"], ctx.rank[x["topic"]]))
    if emails:
        k = sum(x["n_in_hours"] for x in in_hours)
        in_hours.append({"topic": "total", "label": text["total"], "n": len(emails), "n_in_hours": k,
                         "in_hours_share": _share(k, len(emails))})

    repeats = []
    for tpc in ctx.order:
        g = [r for r in ctx.items if r.topic == tpc]
        if g:
            k = sum(1 for r in g if r.repeat_of)
            repeats.append({"topic": tpc, "label": ctx.label(tpc), "n": len(g), "n_repeat": k,
                            "repeat_share": _share(k, len(g))})
    repeats.sort(key=lambda x: (x["topic"] == UNCERTAIN, -x["n_repeat"], ctx.rank[x["topic"]]))
    if ctx.items:
        k = sum(1 for r in ctx.items if r.repeat_of)
        repeats.append({"topic": "total", "label": text["total"], "n": len(ctx.items), "n_repeat": k,
                        "repeat_share": _share(k, len(ctx.items))})
    return {
        "service_response_by_topic": (("topic", "label", *_RESPONSE_COLS), by_topic),
        "service_response_by_channel": (("channel", "label", *_RESPONSE_COLS), by_channel),
        "service_response_by_month": (("period", *_RESPONSE_COLS), by_month),
        "service_response_by_weekday": (("weekday", "label", *_RESPONSE_COLS), by_weekday),
        "service_quality": (("category", "label", "n"), quality),
        "service_heatmap": (("channel", "weekday", "label", *[f"h{h:02d}" for h in range(24)], "total"), heat),
        "service_email_in_hours": (("topic", "label", "n", "n_in_hours", "in_hours_share"), in_hours),
        "service_repeats": (("topic", "label", "n", "n_repeat", "repeat_share"), repeats),
    }
