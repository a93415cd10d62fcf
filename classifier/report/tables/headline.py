"""The headline: what a manager opens the report for, taken from the tables so that it repeats their numbers."""

from __future__ import annotations

from typing import Any

from ...rules import UNCERTAIN

#: Topics and guideline gaps named in the headline.
HEADLINE_TOP = 3


def _headline(tables: dict[str, list[dict[str, Any]]], n_analysed: int) -> dict[str, Any]:
    """The share to quote (and what it rests on), the costliest topics and gaps, the first-reply time.

    The share to quote is the reviewed sample's corrected estimate (the ``ppi`` row of
    ``avoidable_overall``) when there is one, the model's estimate otherwise; the other one is
    kept as a detail. Topics and gaps are ranked by the contacts they account for.
    """
    out: dict[str, Any] = {"n": n_analysed, "share": None, "topics": [], "gaps": [], "reply": None}
    overall = tables.get("avoidable_overall") or []
    model = next((r for r in overall if r.get("method") != "ppi"), None)
    ppi = next((r for r in overall if r.get("method") == "ppi"), None)
    quoted = ppi or model
    if quoted is not None and quoted.get("estimate") is not None:
        out["share"] = {
            "estimate": quoted["estimate"], "ci_low": quoted.get("ci_low"), "ci_high": quoted.get("ci_high"),
            # model: the model's probabilities alone; labels: the rows' own avoidable labels; reviewed: PPI
            "basis": "reviewed" if ppi else ("labels" if quoted.get("method") == "wilson_labels" else "model"),
            "n_reviewed": int(ppi.get("n_reviewed") or 0) if ppi else 0,
            "model_estimate": model.get("estimate") if (ppi and model) else None,
        }
    topics = [r for r in tables.get("topics") or [] if r.get("topic") not in ("total", UNCERTAIN) and r.get("total_n")]
    topics.sort(key=lambda r: -r["total_n"])
    out["topics"] = [{"label": r["label"], "n": r["total_n"], "share": r.get("total_share")} for r in topics[:HEADLINE_TOP]]
    gaps = sorted((r for r in tables.get("gaps") or [] if r.get("n")), key=lambda r: -r["n"])
    out["gaps"] = [{"label": r["label"], "n": r["n"], "n_came_later": r.get("n_came_later", 0)} for r in gaps[:HEADLINE_TOP]]
    total = next((r for r in tables.get("service_response_by_topic") or [] if r.get("topic") == "total"), None)
    if total is not None and total.get("n"):
        out["reply"] = {"median_minutes": total.get("median_minutes"), "n_answered": total.get("n_answered", 0),
                        "n_threads": total["n"]}
    return out
