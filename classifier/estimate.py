"""Estimates that account for the model's errors: prediction-powered inference from a reviewed sample.

A person reviews a simple random sample of the labelled requests (``tukipyynto review``,
random queue). Prediction-powered inference (PPI; Angelopoulos, Bates, Fannjiang, Jordan
and Zrnic, *Science* 382, 2023) combines those reviews with the model's predictions on
every request: the mean of the predictions over everything, corrected by the mean error
the model makes on the reviewed sample. The 95 % interval is valid whatever the model's
accuracy; a good model makes it narrower than the interval from the reviews alone.

With ``lam=None`` the power-tuned variant (PPI++; Angelopoulos, Duchi and Zrnic 2023) picks
how much to trust the predictions from the data: ``lam=1`` is plain PPI, ``lam=0`` the
classical interval of the reviews alone. :func:`ppi_mean` matches ``ppi_py.ppi_mean_ci``
and ``ppi_py.ppi_mean_pointestimate`` (a test checks it when ``ppi-python`` is installed).
"""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .errors import IngestError, ReportError, TukipyyntoError

__all__ = ["Estimate", "EstimateError", "ppi_mean", "ppi_ratio", "classical_mean", "read_reviewed",
           "review_estimates", "reviewed_rows", "wilson_interval", "RANDOM_QUEUE", "UNCERTAIN_QUEUE"]

RANDOM_QUEUE = "random"
UNCERTAIN_QUEUE = "uncertain"
Z95 = 1.959963984540054


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float | None, float | None]:
    """Wilson score interval of a binomial proportion.

    Parameters
    ----------
    k : int
        Successes (for example avoidable contacts).
    n : int
        Trials (contacts looked at).
    z : float
        Normal quantile; the default gives a 95 % interval.

    Returns
    -------
    tuple of float
        ``(low, high)``, or ``(None, None)`` when ``n`` is 0. ``wilson_interval(3, 40)`` is
        about ``(0.026, 0.199)``: the thesis's 7.5 % from 40 sampled calls is a rough number.
    """
    if n <= 0:
        return None, None
    if k < 0 or k > n:  # a ReportError, as when the report's tables held this function
        raise ReportError(f"wilson_interval: need 0 <= k <= n, got k={k}, n={n}")
    p = k / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


class EstimateError(TukipyyntoError, ValueError):
    """Estimates cannot be computed from the given reviews and predictions."""


@dataclass(frozen=True)
class Estimate:
    """A share with its 95 % interval and how it was obtained.

    Attributes
    ----------
    estimate, ci_low, ci_high : float
        Point estimate and interval bounds (clipped to [0, 1] for shares).
    method : str
        ``"ppi"``, ``"ppi_ratio"`` or ``"reviews"`` (the reviewed sample alone).
    n_reviewed : int
        Reviewed requests used.
    n_total : int
        Requests whose predictions were used.
    lam : float
        Weight given to the predictions (1: plain PPI, 0: reviews only).
    """

    estimate: float
    ci_low: float
    ci_high: float
    method: str
    n_reviewed: int
    n_total: int
    lam: float = 1.0

    @property
    def width(self) -> float:
        """Width of the interval."""
        return self.ci_high - self.ci_low

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {"estimate": self.estimate, "ci_low": self.ci_low, "ci_high": self.ci_high, "method": self.method,
                "n_reviewed": self.n_reviewed, "n_total": self.n_total, "lam": self.lam}


def _z(alpha: float) -> float:
    """Two-sided normal quantile."""
    if not 0.0 < alpha < 1.0:
        raise EstimateError(f"alpha must be in (0, 1), got {alpha}")
    if abs(alpha - 0.05) < 1e-12:
        return Z95
    from scipy.stats import norm

    return float(norm.ppf(1 - alpha / 2))


def _clip(lo: float, hi: float, clip: bool) -> tuple[float, float]:
    return (max(0.0, lo), min(1.0, hi)) if clip else (lo, hi)


def ppi_mean(y: Sequence[float], yhat: Sequence[float], yhat_all: Sequence[float], alpha: float = 0.05,
             lam: float | None = None, clip: bool = True) -> Estimate:
    """Prediction-powered estimate and interval of a mean (a share when the values are 0/1).

    Parameters
    ----------
    y : sequence of float
        Reviewed (true) values on the random sample, e.g. 1 for avoidable.
    yhat : sequence of float
        The model's predictions for the same reviewed requests (a probability or 0/1).
    yhat_all : sequence of float
        The model's predictions on every request of the population.
    alpha : float
        1 - coverage; 0.05 gives a 95 % interval.
    lam : float, optional
        Weight of the predictions. ``None`` chooses it from the data (PPI++, clipped to
        [0, 1]); ``1.0`` is plain PPI.
    clip : bool
        Clip the interval to [0, 1].

    Returns
    -------
    Estimate
        ``theta = lam * mean(yhat_all) + mean(y - lam * yhat)`` with the interval
        ``theta ± z * sqrt(var(lam * yhat_all) / N + var(y - lam * yhat) / n)``.

    Raises
    ------
    EstimateError
        Fewer than two reviewed values, or lengths that do not match.
    """
    y = np.asarray(y, dtype=float).ravel()
    f = np.asarray(yhat, dtype=float).ravel()
    fa = np.asarray(yhat_all, dtype=float).ravel()
    n, N = len(y), len(fa)
    if len(f) != n:
        raise EstimateError(f"ppi_mean: {n} reviewed values but {len(f)} predictions for them")
    if n < 2 or N < 1:
        raise EstimateError(f"ppi_mean: need at least 2 reviewed values and 1 prediction, got {n} and {N}")
    if lam is None:
        cov = float(np.mean((y - y.mean()) * (f - f.mean())))
        var = float(np.var(np.concatenate([f, fa]), ddof=1))
        lam = cov / ((1 + n / N) * var) if var > 0 else 0.0
        lam = float(min(1.0, max(0.0, lam)))
    theta = float(lam * fa.mean() + np.mean(y - lam * f))
    se = math.sqrt(float(np.std(lam * fa)) ** 2 / N + float(np.std(y - lam * f)) ** 2 / n)
    z = _z(alpha)
    lo, hi = _clip(theta - z * se, theta + z * se, clip)
    return Estimate(min(1.0, max(0.0, theta)) if clip else theta, lo, hi, "ppi", n, N, lam)


def classical_mean(y: Sequence[float], alpha: float = 0.05, clip: bool = True) -> Estimate:
    """The interval from the reviewed sample alone (normal approximation), for comparison."""
    y = np.asarray(y, dtype=float).ravel()
    if len(y) < 2:
        raise EstimateError(f"classical_mean: need at least 2 reviewed values, got {len(y)}")
    theta = float(y.mean())
    se = float(np.std(y)) / math.sqrt(len(y))
    lo, hi = _clip(theta - _z(alpha) * se, theta + _z(alpha) * se, clip)
    return Estimate(theta, lo, hi, "reviews", len(y), len(y), 0.0)


def ppi_ratio(a: Sequence[float], ahat: Sequence[float], ahat_all: Sequence[float], b: Sequence[float],
              bhat: Sequence[float], bhat_all: Sequence[float], alpha: float = 0.05, clip: bool = True) -> Estimate | None:
    """Prediction-powered estimate of a ratio of means ``E[a] / E[b]`` (delta method, plain PPI).

    Used for the avoidable share within a true topic: ``a`` is "avoidable and of topic t",
    ``b`` is "of topic t". Returns ``None`` when the estimated denominator is not positive.
    """
    a, ah, aa = (np.asarray(v, dtype=float).ravel() for v in (a, ahat, ahat_all))
    b, bh, ba = (np.asarray(v, dtype=float).ravel() for v in (b, bhat, bhat_all))
    n, N = len(a), len(aa)
    if n < 2:
        raise EstimateError(f"ppi_ratio: need at least 2 reviewed values, got {n}")
    ma = aa.mean() + np.mean(a - ah)
    mb = ba.mean() + np.mean(b - bh)
    if mb <= 0:
        return None
    r = float(ma / mb)
    # linearise: r_hat - r ~ (a_hat_mean - r * b_hat_mean) / mb
    g, gh, ga = a - r * b, ah - r * bh, aa - r * ba
    se = math.sqrt(float(np.var(ga)) / N + float(np.var(g - gh)) / n) / mb
    z = _z(alpha)
    lo, hi = _clip(r - z * se, r + z * se, clip)
    return Estimate(min(1.0, max(0.0, r)) if clip else r, lo, hi, "ppi_ratio", n, N, 1.0)


# ---------------------------------------------------------------------------------------------
# Reviewed files


def reviewed_rows(data: bytes, path: Path, error: type[Exception]):
    """Yield the JSON objects of the complete lines of a reviewed file; ``error`` names file and line."""
    for no, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise error(f"{path}:{no}: not a JSON line ({e}); is this a reviewed file?") from None
        if not isinstance(row, dict) or row.get("id") is None:
            raise error(f"{path}:{no}: a reviewed row needs an 'id'")
        yield row


def read_reviewed(paths: str | os.PathLike | Sequence[str | os.PathLike]) -> dict[str, dict[str, Any]]:
    """Read reviewed files (``tukipyynto review``): the last decision per request id wins.

    Parameters
    ----------
    paths : path or list of paths
        JSONL files written by the review page. A torn last line (a crash while writing)
        is ignored; an undo line (``"retracted": true``) withdraws the request's decision.

    Returns
    -------
    dict
        Request id -> its latest reviewed row (in file order of the latest decisions).

    Raises
    ------
    IngestError
        A file is missing or a complete line is not a JSON object with an ``id``.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: dict[str, dict[str, Any]] = {}
    for p in paths:
        path = Path(p)
        if not path.is_file():
            raise IngestError(f"{path}: reviewed file not found")
        data = path.read_bytes()
        for row in reviewed_rows(data if data.endswith(b"\n") else data[: data.rfind(b"\n") + 1], path, IngestError):
            rid = str(row["id"])
            out.pop(rid, None)  # keep file order of the latest decision
            if not row.get("retracted"):
                out[rid] = row
    return out


# ---------------------------------------------------------------------------------------------
# Report tables


def _float(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _model_prediction(pred: Mapping[str, Any]) -> Mapping[str, Any]:
    """The model's own prediction of a labelled row: the one place the estimates take it from.

    A reviewed request labelled with ``--reviewed`` carries the reviewer's decision; its
    ``out_of_fold`` block is the prediction of the fold adaptation that never saw the review
    (cross-fitting), the one a correction may compare the review with.
    """
    oof = pred.get("out_of_fold")
    if isinstance(oof, str):  # a CSV cell
        try:
            oof = json.loads(oof)
        except json.JSONDecodeError:
            oof = None
    return oof if isinstance(oof, Mapping) else pred


def _topic_probs(pred: Mapping[str, Any], topics: Sequence[str]) -> np.ndarray:
    """Predicted probability per topic: the stored candidates, or the hard topic when there are none."""
    out = np.zeros(len(topics))
    idx = {t: i for i, t in enumerate(topics)}
    cands = pred.get("candidates")
    if isinstance(cands, str):
        try:
            cands = json.loads(cands)
        except json.JSONDecodeError:
            cands = None
    if isinstance(cands, (list, tuple)) and cands:
        for c in cands:
            if isinstance(c, (list, tuple)) and len(c) == 2 and str(c[0]) in idx:
                p = _float(c[1])
                if p is not None:
                    out[idx[str(c[0])]] = p
        s = out.sum()
        if s > 1.0:
            out /= s
        if s > 0:
            return out
    t = pred.get("topic")
    if t in idx:
        out[idx[t]] = 1.0
    return out


def _avoid_pred(pred: Mapping[str, Any]) -> float:
    """The model's avoidable prediction: its probability when the row has one, else the decision."""
    p = _float(pred.get("avoidable_probability"))
    if p is not None:
        return min(1.0, max(0.0, p))
    a = pred.get("avoidable")
    if isinstance(a, str):
        a = a.strip().lower() in ("true", "1", "yes", "kyllä")
    return 1.0 if a else 0.0


def _reviewed_avoidable(row: Mapping[str, Any]) -> float | None:
    a = row.get("avoidable")
    if a is None:
        return None
    if isinstance(a, str):
        return 1.0 if a.strip().lower() in ("true", "1", "yes") else 0.0
    return 1.0 if a else 0.0


def review_estimates(rows: Sequence[Mapping[str, Any]], reviewed: Mapping[str, Mapping[str, Any]],
                     topics: Sequence[str], months: Mapping[str, str] | None = None, alpha: float = 0.05,
                     topic_label=lambda t: t) -> dict[str, Any]:
    """Corrected shares and the model's measured accuracy from a random reviewed sample.

    Parameters
    ----------
    rows : sequence of dict
        The analysed labelled rows (``id`` and a ``predicted`` dict); the population. A row
        labelled with reviews (``label --reviewed``) counts with its ``predicted.out_of_fold``
        prediction, made without its own review (cross-fitting).
    reviewed : mapping
        Request id -> reviewed row (:func:`read_reviewed`). Only rows whose ``queue`` is
        ``"random"`` and whose id is in ``rows`` feed the estimates.
    topics : sequence of str
        Topic ids in report order.
    months : mapping, optional
        Request id -> month name, for the avoidable share by month.
    alpha : float
        1 - coverage of the intervals.
    topic_label : callable
        Topic id -> display name.

    Returns
    -------
    dict
        ``avoidable`` (:class:`Estimate` or None), ``avoidable_reviews`` (reviews alone),
        tables ``review_topics``, ``review_avoidable``, ``review_accuracy``,
        ``review_confusion`` (lists of dicts), and counts ``n_reviewed``, ``n_cross_fitted``,
        ``n_reviewed_other_queue``, ``n_reviewed_unknown``.
    """
    pop = [r for r in rows if r.get("predicted")]
    ids = [str(r.get("id")) for r in pop]
    pos = {i: k for k, i in enumerate(ids)}
    sample = [(pos[i], rv) for i, rv in reviewed.items() if rv.get("queue") == RANDOM_QUEUE and i in pos
              and rv.get("topic")]
    other = sum(1 for i, rv in reviewed.items() if rv.get("queue") != RANDOM_QUEUE and i in pos)
    unknown = sum(1 for i in reviewed if i not in pos)
    topics = list(topics)
    for _, rv in sample:
        if rv["topic"] not in topics:
            topics.append(str(rv["topic"]))
    n, N = len(sample), len(pop)
    out: dict[str, Any] = {"n_reviewed": n, "n_total": N, "n_reviewed_other_queue": other,
                           "n_cross_fitted": sum(1 for k, _ in sample if "out_of_fold" in pop[k]["predicted"]),
                           "n_reviewed_unknown": unknown, "avoidable": None, "avoidable_reviews": None,
                           "review_topics": [], "review_avoidable": [], "review_accuracy": [], "review_confusion": []}
    if n < 2:
        return out
    preds_all = [_model_prediction(r["predicted"]) for r in pop]
    P = np.array([_topic_probs(p, topics) for p in preds_all])                 # N x K
    A = np.array([_avoid_pred(p) for p in preds_all])                          # N
    li = np.array([k for k, _ in sample])
    Yt = np.array([[1.0 if rv["topic"] == t else 0.0 for t in topics] for _, rv in sample])
    ya = [_reviewed_avoidable(rv) for _, rv in sample]
    has_a = np.array([v is not None for v in ya])
    Ya = np.array([v if v is not None else 0.0 for v in ya])

    # topic shares
    for k, t in enumerate(topics):
        e = ppi_mean(Yt[:, k], P[li, k], P[:, k], alpha)
        c = classical_mean(Yt[:, k], alpha)
        out["review_topics"].append({
            "topic": t, "label": topic_label(t), "model_share": float((P[:, k]).mean()),
            "model_hard_share": float(np.mean([p.get("topic") == t for p in preds_all])),
            "reviewed_n": int(Yt[:, k].sum()), "estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high,
            "reviews_ci_low": c.ci_low, "reviews_ci_high": c.ci_high, "method": "ppi", "n_reviewed": n})
    out["review_topics"].sort(key=lambda r: -r["estimate"])

    # avoidable: overall, by true topic (ratio), by month
    if has_a.sum() >= 2:
        la, ya_ = li[has_a], Ya[has_a]
        e = ppi_mean(ya_, A[la], A, alpha)
        c = classical_mean(ya_, alpha)
        out["avoidable"], out["avoidable_reviews"] = e, c
        out["review_avoidable"].append({"group": "overall", "label": "", "model_share": float(A.mean()),
                                        "estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high,
                                        "reviews_estimate": c.estimate, "reviews_ci_low": c.ci_low,
                                        "reviews_ci_high": c.ci_high, "method": "ppi", "n_reviewed": int(len(la))})
        Yt_a = Yt[has_a]
        for k, t in enumerate(topics):
            if Yt_a[:, k].sum() < 1:
                continue
            r = ppi_ratio(ya_ * Yt_a[:, k], A[la] * P[la, k], A * P[:, k], Yt_a[:, k], P[la, k], P[:, k], alpha)
            if r is None:
                continue
            out["review_avoidable"].append({
                "group": "topic", "label": topic_label(t), "model_share": float((A * P[:, k]).sum() / max(P[:, k].sum(), 1e-12)),
                "estimate": r.estimate, "ci_low": r.ci_low, "ci_high": r.ci_high, "reviews_estimate": None,
                "reviews_ci_low": None, "reviews_ci_high": None, "method": "ppi_ratio", "n_reviewed": int(Yt_a[:, k].sum())})
        if months:
            by: dict[str, list[int]] = defaultdict(list)
            for k, i in enumerate(ids):
                m = months.get(i)
                if m:
                    by[m].append(k)
            for m in sorted(by):
                members = set(by[m])
                sel = np.array([j for j in range(len(la)) if la[j] in members], dtype=int)
                if len(sel) < 2:
                    continue
                e = ppi_mean(ya_[sel], A[la[sel]], A[by[m]], alpha)
                out["review_avoidable"].append({
                    "group": "month", "label": m, "model_share": float(A[by[m]].mean()), "estimate": e.estimate,
                    "ci_low": e.ci_low, "ci_high": e.ci_high, "reviews_estimate": None, "reviews_ci_low": None,
                    "reviews_ci_high": None, "method": "ppi", "n_reviewed": int(len(sel))})

    # the model's measured accuracy on the random sample
    preds = [preds_all[k] for k, _ in sample]
    revs = [rv for _, rv in sample]
    topic_ok = [p.get("topic") == rv["topic"] for p, rv in zip(preds, revs)]
    acc = [("topic_accuracy", topic_ok)]
    gl = [p.get("guideline_id") == rv.get("guideline_id") for p, rv in zip(preds, revs)]
    acc.append(("guideline_top1", gl))
    av = [(_avoid_pred({"avoidable": p.get("avoidable")}) == v) for p, v in zip(preds, ya) if v is not None]
    acc.append(("avoidable_accuracy", av))
    for name, vals in acc:
        if not vals:
            continue
        k_, n_ = int(sum(vals)), len(vals)
        lo, hi = wilson_interval(k_, n_)
        out["review_accuracy"].append({"measure": name, "n": n_, "correct": k_, "share": k_ / n_,
                                       "ci_low": lo, "ci_high": hi})
    conf: dict[tuple[str, str], int] = defaultdict(int)
    for p, rv in zip(preds, revs):
        conf[(str(p.get("topic")), str(rv["topic"]))] += 1
    out["review_confusion"] = [{"predicted": topic_label(a), "reviewed": topic_label(b), "n": c,
                                "correct": a == b} for (a, b), c in sorted(conf.items(), key=lambda x: (-x[1], x[0]))]
    return out
