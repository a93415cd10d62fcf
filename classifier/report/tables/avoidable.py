"""Section 4 and the reviewed sample: avoidable shares with their intervals, corrected estimates (PPI)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from ...estimate import wilson_interval
from ...rules import AVOIDABLE_REASONS, REASONS, UNCERTAIN
from ..core import _share
from ..texts import TEXT
from .common import _bucket_name, _Context, _month_key, _Row, _Tables


def _avoidable_row(rows: Sequence[_Row], extra: dict[str, Any], est: Any = None) -> dict[str, Any]:
    """Counts, decided share, the estimated share with its interval, and reason breakdown of a group of rows.

    ``est`` is the group's :class:`~classifier.bootstrap.ShareEstimate` from the calibrated
    probabilities; rows without probabilities (labelled files) get the labels' share with a
    Wilson interval, and ``method`` says which.
    """
    known = [r for r in rows if r.avoidable is not None]
    n = len(known)
    k = sum(1 for r in known if r.avoidable)
    out = dict(extra)
    if est is not None and est.estimate is not None:
        e, lo, hi, method = est.estimate, est.ci_low, est.ci_high, est.method
    else:
        lo, hi = wilson_interval(k, n)
        e, method = _share(k, n), "wilson_labels"
    out.update({"n": n, "n_avoidable": k, "share": _share(k, n), "estimate": e, "ci_low": lo, "ci_high": hi,
                "method": method if n else None})
    reasons = Counter(r.reason for r in known)
    for code in REASONS:
        out[f"reason_{code}"] = reasons.get(code, 0)
    return out


def _avoidable_tables(ctx: _Context) -> _Tables:
    """Section 4: avoidable shares with Wilson intervals, overall, by reason, channel, topic and month."""
    from ...bootstrap import estimate_shares

    text = TEXT[ctx.lang]
    items = ctx.items
    av_cols = ("n", "n_avoidable", "share", "estimate", "ci_low", "ci_high", "method",
               *[f"reason_{c}" for c in REASONS])
    # the estimate: mean calibrated probability over the rows that have one, when all decided rows do
    groups_p: dict[str, list[float]] = {"all": [r.avoidable_probability for r in items if r.avoidable is not None]}
    for c in ctx.channels:
        groups_p[f"channel:{c}"] = [r.avoidable_probability for r in items if r.channel == c and r.avoidable is not None]
    for r in items:
        if r.avoidable is not None:
            groups_p.setdefault(f"topic:{r.topic}", []).append(r.avoidable_probability)
            if r.local is not None:
                groups_p.setdefault(f"month:{_month_key(r.local.date())}", []).append(r.avoidable_probability)
    usable = {g: v for g, v in groups_p.items() if v and all(x is not None for x in v)}
    ests = estimate_shares(usable, ctx.calibration) if usable else {}
    overall = [_avoidable_row(items, {"label": text["total"]}, ests.get("all"))] if items else []
    known = [r for r in items if r.avoidable is not None]
    rc = Counter(r.reason for r in known)
    codes = list(REASONS) + sorted(c for c in rc if c not in REASONS and c is not None)
    reasons = [{"reason": c, "label": text.get(c, c), "avoidable": c in AVOIDABLE_REASONS, "n": rc.get(c, 0),
                "share": _share(rc.get(c, 0), len(known))} for c in codes] if known else []
    by_channel = [_avoidable_row([r for r in items if r.channel == c], {"channel": c, "label": text.get(c, c)},
                                 ests.get(f"channel:{c}")) for c in ctx.channels]
    groups: dict[Any, list[_Row]] = defaultdict(list)
    for r in items:
        groups[r.topic].append(r)
    rank = ctx.rank
    by_topic = [_avoidable_row(groups[t], {"topic": t, "label": ctx.label(t)}, ests.get(f"topic:{t}"))
                for t in ctx.order if groups.get(t)]
    # most avoidable contacts first, as estimated (the figure and the table show the estimate)
    by_topic.sort(key=lambda x: (-(x["estimate"] or 0.0) * x["n"], -x["n"], rank[x["topic"]]))
    months: dict[Any, list[_Row]] = defaultdict(list)
    for r in items:
        if r.local is not None:
            months[_month_key(r.local.date())].append(r)
    by_month = [_avoidable_row(months.get(m, []), {"period": _bucket_name(m, "month")}, ests.get(f"month:{m}"))
                for m in ctx.buckets("month")]
    for r in overall:  # the model-only row; a reviewed sample adds a ``ppi`` row (see _review_tables)
        r["n_reviewed"] = 0
    return {"avoidable_overall": (("label", *av_cols, "n_reviewed"), overall),
            "avoidable_reasons": (("reason", "label", "avoidable", "n", "share"), reasons),
            "avoidable_by_channel": (("channel", "label", *av_cols), by_channel),
            "avoidable_by_topic": (("topic", "label", *av_cols), by_topic),
            "avoidable_by_month": (("period", *av_cols), by_month)}


def _review_tables(ctx: _Context, review_rows, reviewed, tables, columns) -> dict[str, Any]:
    """Section: corrected estimates from a reviewed sample; adds the ``ppi`` row to ``avoidable_overall``."""
    from ...estimate import review_estimates

    names = {"review_avoidable": ("group_kind", "label", "model_share", "estimate", "ci_low", "ci_high", "reviews_estimate",
                                  "reviews_ci_low", "reviews_ci_high", "method", "n_reviewed", "needed"),
             "review_topics": ("topic", "label", "model_share", "model_hard_share", "reviewed_n", "estimate", "ci_low",
                               "ci_high", "reviews_ci_low", "reviews_ci_high", "method", "n_reviewed"),
             "review_accuracy": ("measure", "label", "n", "correct", "share", "ci_low", "ci_high"),
             "review_confusion": ("predicted", "reviewed", "n", "correct")}
    columns.update(names)
    columns["avoidable_before_after"] = BEFORE_AFTER_COLUMNS
    out: dict[str, Any] = {k: [] for k in names}
    if reviewed is None:
        out["avoidable_before_after"] = _before_after(ctx, tables, None)
        return out
    text = TEXT[ctx.lang]
    rows = review_rows  # the analysed rows' ids and predictions, in the order they came
    months = {r.id: _bucket_name(_month_key(r.local.date()), "month") for r in ctx.items if r.local is not None}
    est = review_estimates(rows, reviewed, [t for t in ctx.order if t != UNCERTAIN], months, topic_label=ctx.label)
    for r in est["review_avoidable"]:
        g = r.pop("group")
        r["label"] = r["label"] or text["overall"]
        r["group_kind"] = text.get({"topic": "topic_group"}.get(g, g), g)
    for r in est["review_accuracy"]:
        r["label"] = text.get(r["measure"], r["measure"])
    out.update({k: est[k] for k in names})
    out["review"] = {"n_reviewed": est["n_reviewed"], "n_total": est["n_total"], "design": est["design"],
                     "needed": est["needed"], "min_reviews": est["min_reviews"], "skipped": est["skipped"],
                     "n_other": est["n_reviewed_other_queue"], "n_no_queue": est["n_reviewed_no_queue"],
                     "n_other_sample": est["n_reviewed_other_sample"], "n_unknown": est["n_reviewed_unknown"],
                     "n_cross_fitted": est["n_cross_fitted"], "notes": est["notes"]}
    e = est["avoidable"]
    if e is not None and tables.get("avoidable_overall"):
        tables["avoidable_overall"].append({
            "label": text["ppi_row"], "n": est["n_total"], "n_avoidable": None, "share": e.estimate,
            "ci_low": e.ci_low, "ci_high": e.ci_high, "estimate": e.estimate, "method": "ppi",  # either design
            "n_reviewed": est["n_reviewed"]})
    out["avoidable_before_after"] = _before_after(ctx, tables, est)
    return out


BEFORE_AFTER_COLUMNS = ("measure", "label", "estimate", "ci_low", "ci_high", "reviews", "note")


def _before_after(ctx: _Context, tables, est: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The panel "before and after your reviews": the model alone (unverified until reviews exist), the corrected
    estimate and the model's accuracy on the reviews; without reviews, how many would give a ±5-point interval."""
    from ...estimate import reviews_for_margin, selection_probabilities

    text = TEXT[ctx.lang]
    overall = tables.get("avoidable_overall") or []
    model = next((r for r in overall if r.get("method") in ("model_bootstrap", "wilson_labels")), None)
    probs = [r.avoidable_probability for r in ctx.items if r.avoidable is not None]
    if model is None or model.get("method") == "wilson_labels" or not probs:
        return []  # rows labelled without a model: no model to put before the reviews
    n = est["n_reviewed"] if est else 0
    rows = [{"measure": "model", "label": text["ba_model"], "estimate": model.get("estimate"),
             "ci_low": model.get("ci_low"), "ci_high": model.get("ci_high"), "reviews": None,
             "note": text["ba_checked"].format(n=n) if n else text["ba_unverified"]}]
    if n:
        e = est["avoidable"]
        rows.append({"measure": "corrected", "label": text["ba_corrected"],
                     "estimate": e.estimate if e else None, "ci_low": e.ci_low if e else None,
                     "ci_high": e.ci_high if e else None, "reviews": n,
                     "note": "" if e else text["ba_more"].format(needed=est["needed"] or
                                                                 max(0, est["min_reviews"] - n))})
        for a in est["review_accuracy"]:
            if a["measure"] in ("avoidable_accuracy", "topic_accuracy"):
                rows.append({"measure": a["measure"], "label": text[f"ba_{a['measure']}"], "estimate": a["share"],
                             "ci_low": a["ci_low"], "ci_high": a["ci_high"], "reviews": a["n"], "note": ""})
    if not n or est["avoidable"] is None:
        if all(p is not None for p in probs):
            need = reviews_for_margin(probs)
            tilted = reviews_for_margin(probs, selection=selection_probabilities(probs))
            rows.append({"measure": "reviews_needed", "label": text["ba_needed"], "estimate": None, "ci_low": None,
                         "ci_high": None, "reviews": need, "note": text["ba_needed_note"].format(tilted=tilted)})
    return rows
