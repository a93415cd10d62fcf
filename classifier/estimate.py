"""Estimates that account for the model's errors: prediction-powered inference from a reviewed sample.

A person reviews a probability sample of the labelled requests (``tukipyynto review``: the
random queue, or the tilted queue that draws uncertain requests more often with known
probabilities). Prediction-powered inference (PPI; Angelopoulos, Bates, Fannjiang, Jordan
and Zrnic, *Science* 382, 2023) combines those reviews with the model's predictions on
every request: the mean of the predictions over everything, corrected by the mean error
the model makes on the reviewed sample. The interval is valid whatever the model's
accuracy; a good model makes it narrower than the interval from the reviews alone.

Two families live here:

- :func:`ppi_mean`, :func:`ppi_ratio`, :func:`classical_mean`: the textbook estimators of
  the papers (i.i.d. samples from an infinite population; ``lam=None`` is the power-tuned
  PPI++ of Angelopoulos, Duchi and Zrnic 2023). :func:`ppi_mean` matches ``ppi_py``.
- :func:`corrected_mean` and :func:`corrected_ratio`: what the report uses. The estimand
  is the share among *these* requests (a finite population), the sample is a random
  sample without replacement (a finite-population correction) or weighted draws with
  known selection probabilities (active inference; Zrnic and Candès, ICML 2024), and the
  interval is built to hold for small samples and constant values: a Student-t quantile,
  and a floor on the variance of the model's errors (that of two errors in ``n + 4``
  reviews), so it never has zero width while some requests are unreviewed, and a rare
  error the sample happened to miss does not make it overconfident. Below
  :data:`MIN_REVIEWS` reviews (in all, or in a group) no corrected estimate is given.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from .errors import ReportError, TukipyyntoError
from .reviewed import (RANDOM_QUEUE, SAMPLE_QUEUES, TILTED_QUEUE, UNCERTAIN_QUEUE, Reviewed, read_reviewed_files,
                       sample_key)
from .rules import parse_bool

__all__ = ["Estimate", "EstimateError", "MIN_REVIEWS", "RANDOM_QUEUE", "ReviewedSample", "TILTED_QUEUE",
           "UNCERTAIN_QUEUE", "classical_mean", "corrected_mean", "corrected_ratio", "ppi_mean", "ppi_ratio",
           "read_reviewed", "review_estimates", "reviews_for_margin", "select_sample", "selection_probabilities",
           "wilson_interval"]

Z95 = 1.959963984540054
#: reviews (in all, or in a group) below which no corrected estimate is given
MIN_REVIEWS = 10
#: pseudo-count of the variance floor: the model's errors vary at least as much as two errors in n + 4 reviews
#: (Agresti and Coull's "add two successes and two failures"); chosen on the dev split, where half an error
#: left a topic share that the model under-predicts covered in 87 % of samples of 60
FLOOR_PSEUDO_COUNT = 2.0


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
        ``"ppi"``, ``"ppi_ratio"`` or ``"reviews"`` (the reviewed sample alone); the report's
        estimates from the tilted queue add ``"_weighted"``.
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


def _reviewed_arrays(name: str, y, yhat, yhat_all) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reviewed values, their predictions and all predictions as float arrays; at least 2 reviews and 1 prediction."""
    y = np.asarray(y, dtype=float).ravel()
    f = np.asarray(yhat, dtype=float).ravel()
    fa = np.asarray(yhat_all, dtype=float).ravel()
    if len(f) != len(y):
        raise EstimateError(f"{name}: {len(y)} reviewed values but {len(f)} predictions for them")
    if len(y) < 2 or len(fa) < 1:
        raise EstimateError(f"{name}: need at least 2 reviewed values and 1 prediction, got {len(y)} and {len(fa)}")
    return y, f, fa


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
    y, f, fa = _reviewed_arrays("ppi_mean", y, yhat, yhat_all)
    n, N = len(y), len(fa)
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
# The report's estimates: a finite population, a probability sample, small-sample safe intervals


def _t(n: int, alpha: float) -> float:
    """Two-sided Student-t quantile with ``n - 1`` degrees of freedom."""
    if not 0.0 < alpha < 1.0:
        raise EstimateError(f"alpha must be in (0, 1), got {alpha}")
    from scipy.stats import t

    return float(t.ppf(1 - alpha / 2, max(1, n - 1)))


def _variance_floor(n: int) -> float:
    """The least variance of the model's errors the interval assumes: two errors in ``n + 4`` reviews."""
    c = FLOOR_PSEUDO_COUNT
    p = c / (max(n, 0) + 2 * c)
    return p * (1 - p)


def _weights(weights: Sequence[float] | None, n: int) -> np.ndarray:
    """Draw weights scaled to mean 1 (ones for a simple random sample)."""
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=float).ravel()
    if len(w) != n or not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise EstimateError(f"weights must be {n} positive numbers (inverse selection probabilities)")
    return w / w.mean()


def _bounded(theta: float, se: float, q: float) -> tuple[float, float, float]:
    """A share's point estimate clipped to [0, 1] and its interval around it."""
    est = min(1.0, max(0.0, theta))
    return est, max(0.0, est - q * se), min(1.0, est + q * se)


def corrected_mean(y: Sequence[float], yhat: Sequence[float], yhat_all: Sequence[float],
                   weights: Sequence[float] | None = None, alpha: float = 0.05, lam: float = 1.0) -> Estimate:
    """Prediction-powered estimate of a share among a finite set of requests, from a reviewed sample.

    Parameters
    ----------
    y : sequence of float
        Reviewed (true) values, one per draw (a request drawn twice by the tilted queue
        appears twice), e.g. 1 for avoidable.
    yhat : sequence of float
        The model's predictions for the same draws (a probability or 0/1).
    yhat_all : sequence of float
        The model's predictions on every request of the population.
    weights : sequence of float, optional
        Inverse selection probabilities of the draws (the tilted queue); any scale. Without
        them the reviews are a simple random sample without replacement, and the interval
        has the finite-population correction ``1 - n / N``.
    alpha : float
        1 - coverage.
    lam : float
        Weight of the predictions: 1 is plain PPI, 0 the reviews alone.

    Returns
    -------
    Estimate
        ``theta = lam * mean(yhat_all) + sum(w * (y - lam * yhat)) / sum(w)`` clipped to
        [0, 1], with ``theta ± t(n - 1) * se``; ``se`` is the linearised standard error of
        the weighted mean of the errors, never below the variance floor. Width zero only
        when every request of the population is in a simple random sample.

    Raises
    ------
    EstimateError
        Fewer than two draws, lengths that do not match, or invalid weights.
    """
    y, f, fa = _reviewed_arrays("corrected_mean", y, yhat, yhat_all)
    n, N = len(y), len(fa)
    w = _weights(weights, n)
    r = y - lam * f
    rbar = float(np.sum(w * r) / np.sum(w))
    var = float(np.sum((w * (r - rbar)) ** 2)) / (n - 1)
    var = max(var, _variance_floor(n) * float(np.mean(w ** 2)))
    fpc = max(0.0, 1.0 - n / N) if weights is None else 1.0
    se = math.sqrt(fpc * var / n)
    est, lo, hi = _bounded(float(lam * fa.mean()) + rbar, se, _t(n, alpha))
    method = ("ppi" if lam else "reviews") + ("" if weights is None else "_weighted")
    return Estimate(est, lo, hi, method, n, N, float(lam))


def corrected_ratio(a: Sequence[float], ahat: Sequence[float], ahat_all: Sequence[float], b: Sequence[float],
                    bhat: Sequence[float], bhat_all: Sequence[float], weights: Sequence[float] | None = None,
                    alpha: float = 0.05, lam: float = 1.0) -> Estimate | None:
    """Prediction-powered estimate of a ratio of shares ``E[a] / E[b]`` among a finite set of requests.

    Used for the avoidable share within a reviewed topic: ``a`` is "avoidable and of topic
    t", ``b`` is "of topic t". The interval is the delta method's with the same Student-t
    quantile (on the group's reviews) and variance floor as :func:`corrected_mean`.

    Returns
    -------
    Estimate or None
        None when the estimated denominator is not positive.
    """
    a, ah, aa = (np.asarray(v, dtype=float).ravel() for v in (a, ahat, ahat_all))
    b, bh, ba = (np.asarray(v, dtype=float).ravel() for v in (b, bhat, bhat_all))
    n, N = len(a), len(aa)
    if n < 2 or N < 1:
        raise EstimateError(f"corrected_ratio: need at least 2 reviewed values and 1 prediction, got {n} and {N}")
    w = _weights(weights, n)
    ma = lam * aa.mean() + np.sum(w * (a - lam * ah)) / np.sum(w)
    mb = lam * ba.mean() + np.sum(w * (b - lam * bh)) / np.sum(w)
    if mb <= 0:
        return None
    r = float(ma / mb)
    d = (a - lam * ah) - r * (b - lam * bh)
    dbar = np.sum(w * d) / np.sum(w)
    var = float(np.sum((w * (d - dbar)) ** 2)) / (n - 1)
    ng = int(np.count_nonzero(b))
    var = max(var, _variance_floor(ng) * min(1.0, float(mb)) * float(np.mean(w ** 2)))
    fpc = max(0.0, 1.0 - n / N) if weights is None else 1.0
    se = math.sqrt(fpc * var / n) / float(mb)
    est, lo, hi = _bounded(r, se, _t(max(ng, 2), alpha))
    return Estimate(est, lo, hi, "ppi_ratio" + ("" if weights is None else "_weighted"), n, N, float(lam))


def selection_probabilities(p: Sequence[float | None], mix: float = 0.2) -> np.ndarray:
    """Per-draw selection probabilities of the tilted queue: proportional to ``sqrt(p (1 - p))``, mixed with uniform.

    ``sqrt(p (1 - p))`` is the standard deviation of a yes/no outcome the model gives
    probability ``p``: drawing in proportion to it minimises the variance of the weighted
    PPI estimate when ``p`` is calibrated (active inference; Zrnic and Candès, ICML 2024).
    The uniform share ``mix`` keeps every probability at least ``mix / N``, so no weight
    is larger than ``1 / mix`` times the average.

    Parameters
    ----------
    p : sequence of float or None
        The model's avoidable probability per request (None: unknown, uniform share only).
    mix : float
        Share of the uniform distribution, in (0, 1].
    """
    if not 0.0 < mix <= 1.0:
        raise EstimateError(f"mix must be in (0, 1], got {mix}")
    u = np.array([math.sqrt(min(1.0, max(0.0, x)) * (1 - min(1.0, max(0.0, x)))) if x is not None else 0.0
                  for x in p], dtype=float)
    N = len(u)
    if N == 0:
        return u
    uniform = np.full(N, 1.0 / N)
    if u.sum() <= 0:
        return uniform
    return (1 - mix) * u / u.sum() + mix * uniform


def reviews_for_margin(p_all: Sequence[float], margin: float = 0.05, alpha: float = 0.05,
                       selection: Sequence[float] | None = None) -> int:
    """Reviews that would bring the corrected interval of a share to ``± margin``, from the model's own uncertainty.

    Assumes the model's probabilities are calibrated on these requests, so a reviewed value
    differs from its probability ``p`` with variance ``p (1 - p)``; a model that errs more
    on this catalogue needs more.

    Parameters
    ----------
    p_all : sequence of float
        The model's probability for every request.
    margin : float
        Half-width of the interval.
    alpha : float
        1 - coverage.
    selection : sequence of float, optional
        Per-draw selection probabilities (:func:`selection_probabilities`) for the tilted
        queue; without them a simple random sample.

    Returns
    -------
    int
        Requests to review: at least :data:`MIN_REVIEWS`; for a random sample at most the
        number of requests; for the tilted queue the expected number of distinct requests
        among the draws needed (a request drawn twice is reviewed once).
    """
    p = np.clip(np.asarray(p_all, dtype=float).ravel(), 0.0, 1.0)
    N = len(p)
    if N == 0 or margin <= 0:
        raise EstimateError("reviews_for_margin needs predictions and a positive margin")
    v = p * (1 - p)
    if selection is None:
        sigma2 = float(np.mean(v))
    else:
        q = np.asarray(selection, dtype=float).ravel()
        sigma2 = float(np.sum(v / q) / N ** 2)  # variance of one weighted draw (Hansen-Hurwitz)
    n = MIN_REVIEWS
    while n < (N if selection is None else 100 * N):
        var = max(sigma2, _variance_floor(n))
        fpc = max(0.0, 1 - n / N) if selection is None else 1.0
        if _t(n, alpha) * math.sqrt(fpc * var / n) <= margin:
            break
        n += 1
    if selection is None:
        return n
    # n draws with replacement: a request drawn again is not reviewed again, so count the distinct ones
    return max(MIN_REVIEWS, math.ceil(float(np.sum(1.0 - (1.0 - q) ** n))))


# ---------------------------------------------------------------------------------------------
# Reviewed files and the sample they hold


def read_reviewed(paths: str | os.PathLike | Sequence[str | os.PathLike], taxonomy: Any = None, guidelines: Any = None,
                  skip_invalid: bool = False) -> dict[str, dict[str, Any]]:
    """Read reviewed files (``tukipyynto review``): the last decision per request id wins.

    A thin form of :func:`classifier.reviewed.read_reviewed_files` (which also tells where
    each decision came from and what each file held).

    Parameters
    ----------
    paths : path or list of paths
        JSONL files written by the review page. A complete last line counts with or without
        a newline; a torn last line (a crash while writing) is left out; an undo line
        (``"retracted": true``) withdraws the request's decision.
    taxonomy, guidelines : optional
        Topics and catalogue the decisions must name (checked when given).
    skip_invalid : bool
        Leave invalid rows out instead of refusing the files.

    Returns
    -------
    dict
        Request id -> its latest reviewed row (in file order of the latest decisions).

    Raises
    ------
    IngestError
        A file is missing or a complete line is not a valid reviewed decision
        (:class:`classifier.reviewed.ReviewedFileError`, named by file and line).
    """
    return dict(read_reviewed_files(paths, taxonomy, guidelines, skip_invalid))


def _key_text(key: tuple[str, Any, Any]) -> str:
    q, seed, size = key
    parts = [f"{q} sample"] + ([f"seed {seed}"] if seed is not None else []) + ([f"size {size}"] if size is not None else [])
    return ", ".join(parts)


@dataclass(frozen=True)
class ReviewedSample:
    """The reviews that feed the corrected estimates: one probability sample, as draws from the population.

    Attributes
    ----------
    design : str or None
        ``"random"`` (simple random sample without replacement), ``"tilted"`` (weighted
        draws with replacement) or None when no sample review matches the population.
    key : tuple or None
        ``(queue, seed, size)`` of the sample.
    index : ndarray of int
        Population position of each draw.
    weights : ndarray or None
        Inverse selection probability of each draw (tilted queue).
    rows : tuple of dict
        The reviewed row of each draw.
    n_reviews : int
        Distinct reviewed requests of the population in the sample.
    skipped : int
        Positions of the sample before its last reviewed one that are not reviewed.
    files : tuple of dict
        Per file: ``path``, ``used``, ``not_in_rows`` (ids), ``uncertain``, ``no_queue``,
        ``other_sample`` (``{key text: count}``) and the reader's ``notes``.
    """

    design: str | None
    key: tuple[str, Any, Any] | None
    index: np.ndarray
    weights: np.ndarray | None
    rows: tuple[Mapping[str, Any], ...]
    n_reviews: int
    skipped: int = 0
    files: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def notes(self) -> list[str]:
        """One sentence per file on what was used and what was not, and why."""
        out = []
        for f in self.files:
            parts = []
            if f["used"]:
                word = "review" if f["used"] == 1 else "reviews"
                parts.append(f"{f['used']} {word} used ({_key_text(self.key)})")
            else:
                parts.append("no review of the sample is used")
            if f["not_in_rows"]:
                ids = ", ".join(f["not_in_rows"][:5]) + (", …" if len(f["not_in_rows"]) > 5 else "")
                parts.append(f"{len(f['not_in_rows'])} for requests not in the labelled rows ({ids})")
            if f["uncertain"]:
                parts.append(f"{f['uncertain']} from the uncertainty queue (for retraining, not for estimates)")
            if f["no_queue"]:
                parts.append(f"{f['no_queue']} written by another tool (no queue: not a sample, not used for "
                             "estimates)")
            for k, c in f["other_sample"].items():
                parts.append(f"{c} of another sample ({k}): not used; the estimates use the latest sample")
            out.append(f"{f['path']}: " + "; ".join(parts))
            out.extend(f["notes"])
        if self.skipped:
            what = ("draw" if self.design == TILTED_QUEUE else "request") + ("s" if self.skipped != 1 else "")
            verb = "are" if self.skipped != 1 else "is"
            out.append(f"{self.skipped} {what} of the {self.design} sample before the last reviewed one {verb} not "
                       "reviewed (skipped): review them too, or the sample is no longer random")
        return out


def select_sample(ids: Sequence[str], reviewed: Mapping[str, Mapping[str, Any]]) -> ReviewedSample:
    """The probability sample among reviewed decisions, as draws from a population of request ids.

    The sample is the latest one reviewed (the queue, seed and size of the last decision of
    the random or tilted queue). Decisions of the uncertainty queue, of another tool (no
    ``queue``), of another sample or for ids outside ``ids`` are counted per file, not used.
    A tilted sample's draws run up to the last first draw of a reviewed request; a request
    drawn more than once in that range counts once per draw.

    Parameters
    ----------
    ids : sequence of str
        The population's request ids, in the order of the prediction arrays.
    reviewed : mapping
        Request id -> reviewed row (:func:`classifier.reviewed.read_reviewed_files`, or
        any mapping of rows in that format).
    """
    pos = {str(i): k for k, i in enumerate(ids)}
    keyed = [(str(rid), rv, sample_key(rv)) for rid, rv in reviewed.items()]
    current = next((k for _, _, k in reversed(keyed) if k is not None), None)
    chosen = [(rid, rv) for rid, rv, k in keyed if k is not None and k == current]
    index: list[int] = []
    weights: list[float] = []
    rows: list[Mapping[str, Any]] = []
    skipped = 0
    if current is not None and current[0] == TILTED_QUEUE:
        last = max(min(rv["sample_positions"]) for _, rv in chosen)
        covered = 0
        for rid, rv in chosen:
            c = sum(1 for p in rv["sample_positions"] if p <= last)
            covered += c
            if rid in pos:
                index += [pos[rid]] * c
                weights += [1.0 / float(rv["selection_probability"])] * c
                rows += [rv] * c
        skipped = max(0, last - covered)
    elif current is not None:
        for rid, rv in chosen:
            if rid in pos:
                index.append(pos[rid])
                rows.append(rv)
        places = [rv["sample_positions"][0] for _, rv in chosen if rv.get("sample_positions")]
        skipped = max(0, max(places) - len(places)) if places else 0
    design = current[0] if current is not None and index else None
    origin = getattr(reviewed, "origin", None) or {}
    file_reports = getattr(reviewed, "files", None) or ()
    paths = [f.path for f in file_reports] or ["reviewed"]
    usage = {p: {"path": p, "used": 0, "not_in_rows": [], "uncertain": 0, "no_queue": 0, "other_sample": Counter(),
                 "notes": []} for p in paths}
    for f in file_reports:
        usage[f.path]["notes"] = f.notes()
    chosen_ids = {rid for rid, _ in chosen}
    for rid, rv, k in keyed:
        u = usage[origin[rid][0]] if rid in origin and origin[rid][0] in usage else usage[paths[-1]]
        if rid not in pos:
            u["not_in_rows"].append(rid)
        elif rid in chosen_ids:
            u["used"] += 1
        elif rv.get("queue") == UNCERTAIN_QUEUE:
            u["uncertain"] += 1
        elif not rv.get("queue"):
            u["no_queue"] += 1
        elif k is not None:
            u["other_sample"][_key_text(k)] += 1
    files = tuple({**u, "other_sample": dict(u["other_sample"])} for u in usage.values())
    n_reviews = len({i for i in index})
    return ReviewedSample(design, current if design else None, np.array(index, dtype=int),
                          np.array(weights) if design == TILTED_QUEUE else None, tuple(rows), n_reviews, skipped, files)


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


def _yes(v: Any) -> bool | None:
    """A yes/no value read the same way in predictions and reviews (English or Finnish); None when unreadable."""
    try:
        return parse_bool(v)
    except ValueError:
        return None


def _avoid_pred(pred: Mapping[str, Any]) -> float:
    """The model's avoidable prediction: its probability when the row has one, else the decision."""
    p = _float(pred.get("avoidable_probability"))
    if p is not None:
        return min(1.0, max(0.0, p))
    return 1.0 if _yes(pred.get("avoidable")) else 0.0


def _reviewed_avoidable(row: Mapping[str, Any]) -> float | None:
    a = _yes(row.get("avoidable"))
    return None if a is None else float(a)


def _needed(n: int) -> dict[str, Any]:
    """The columns of a group with too few reviews for a corrected estimate."""
    return {"estimate": None, "ci_low": None, "ci_high": None, "needed": max(0, MIN_REVIEWS - n)}


def review_estimates(rows: Sequence[Mapping[str, Any]], reviewed: Mapping[str, Mapping[str, Any]],
                     topics: Sequence[str], months: Mapping[str, str] | None = None, alpha: float = 0.05,
                     topic_label=lambda t: t) -> dict[str, Any]:
    """Corrected shares and the model's measured accuracy from a reviewed probability sample.

    Parameters
    ----------
    rows : sequence of dict
        The analysed labelled rows (``id`` and a ``predicted`` dict); the population. A row
        labelled with reviews (``label --reviewed``) counts with its ``predicted.out_of_fold``
        prediction, made without its own review (cross-fitting).
    reviewed : mapping
        Request id -> reviewed row (:func:`classifier.reviewed.read_reviewed_files`). Only
        the latest sample of the random or tilted queue feeds the estimates
        (:func:`select_sample`).
    topics : sequence of str
        Topic ids in report order; a reviewed topic outside them is refused.
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
        ``review_confusion`` (lists of dicts; a group with fewer than
        :data:`MIN_REVIEWS` reviews has no estimate and ``needed`` more reviews), counts
        ``n_reviewed``, ``n_total``, ``needed``, ``n_cross_fitted`` (reviewed requests whose rows
        carry an out-of-fold prediction), ``n_reviewed_other_queue`` (uncertainty
        queue), ``n_reviewed_no_queue`` (another tool), ``n_reviewed_other_sample``,
        ``n_reviewed_unknown`` (ids not in ``rows``), the ``design`` and per-file ``notes``.

    Raises
    ------
    EstimateError
        A reviewed decision of the sample names a topic outside ``topics``.
    """
    pop = [r for r in rows if r.get("predicted")]
    ids = [str(r.get("id")) for r in pop]
    sample = select_sample(ids, reviewed)
    topics = list(topics)
    known = set(topics)
    for rv in sample.rows:
        if rv.get("topic") not in known:
            where = reviewed.where(str(rv["id"])) if isinstance(reviewed, Reviewed) else f"request {rv['id']}"
            raise EstimateError(f"{where}: reviewed topic {str(rv.get('topic'))[:60]!r} is not one of the report's "
                                f"topics ({', '.join(topics)}); was it reviewed in another taxonomy?")
    n, N = sample.n_reviews, len(pop)
    total = lambda key: sum(f[key] for f in sample.files)  # noqa: E731
    out: dict[str, Any] = {
        "n_reviewed": n, "n_total": N, "needed": max(0, MIN_REVIEWS - n), "min_reviews": MIN_REVIEWS,
        "design": sample.design, "sample": list(sample.key) if sample.key else None, "skipped": sample.skipped,
        "n_reviewed_other_queue": total("uncertain"), "n_reviewed_no_queue": total("no_queue"),
        "n_reviewed_other_sample": sum(sum(f["other_sample"].values()) for f in sample.files),
        "n_reviewed_unknown": sum(len(f["not_in_rows"]) for f in sample.files), "notes": sample.notes(),
        "avoidable": None, "avoidable_reviews": None,
        "review_topics": [], "review_avoidable": [], "review_accuracy": [], "review_confusion": []}
    # reviewed requests whose rows were labelled with the reviews: their out-of-fold prediction counts
    out["n_cross_fitted"] = len({int(k) for k in sample.index if "out_of_fold" in pop[int(k)]["predicted"]})
    if not n:
        return out
    preds = [_model_prediction(r["predicted"]) for r in pop]
    li, w = sample.index, sample.weights
    wsel = (lambda m: None) if w is None else (lambda m: w[m])  # noqa: E731
    P = np.array([_topic_probs(p, topics) for p in preds])           # N x K
    A = np.array([_avoid_pred(p) for p in preds])                      # N
    Yt = np.array([[1.0 if rv["topic"] == t else 0.0 for t in topics] for rv in sample.rows])
    ya = [_reviewed_avoidable(rv) for rv in sample.rows]
    has_a = np.array([v is not None for v in ya])
    Ya = np.array([v if v is not None else 0.0 for v in ya])
    everyone = np.ones(len(li), dtype=bool)

    def distinct(mask: np.ndarray) -> int:
        return len(set(li[mask].tolist()))

    if n >= MIN_REVIEWS:
        for k, t in enumerate(topics):
            e = corrected_mean(Yt[:, k], P[li, k], P[:, k], w, alpha)
            c = corrected_mean(Yt[:, k], np.zeros(len(li)), np.zeros(N), w, alpha, lam=0.0)
            out["review_topics"].append({
                "topic": t, "label": topic_label(t), "model_share": float(P[:, k].mean()),
                "model_hard_share": float(np.mean([p.get("topic") == t for p in preds])),
                "reviewed_n": distinct(Yt[:, k] > 0), "estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high,
                "reviews_ci_low": c.ci_low, "reviews_ci_high": c.ci_high, "method": e.method, "n_reviewed": n,
                "needed": 0})
        out["review_topics"].sort(key=lambda r: -r["estimate"])

    # avoidable: overall, by reviewed topic (a ratio), by month (a domain of known members)
    n_a = distinct(has_a)
    overall = {"group": "overall", "label": "", "model_share": float(A.mean()), "reviews_estimate": None,
               "reviews_ci_low": None, "reviews_ci_high": None, "method": None, "n_reviewed": n_a}
    if n_a >= MIN_REVIEWS:
        la, y_ = li[has_a], Ya[has_a]
        e = corrected_mean(y_, A[la], A, wsel(has_a), alpha)
        c = corrected_mean(y_, np.zeros(len(la)), np.zeros(N), wsel(has_a), alpha, lam=0.0)
        out["avoidable"], out["avoidable_reviews"] = e, c
        overall.update({"estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high, "reviews_estimate": c.estimate,
                        "reviews_ci_low": c.ci_low, "reviews_ci_high": c.ci_high, "method": e.method, "needed": 0})
    else:
        overall.update(_needed(n_a))
    out["review_avoidable"].append(overall)
    if n_a:
        la, y_, wa = li[has_a], Ya[has_a], wsel(has_a)
        Yt_a = Yt[has_a]
        for k, t in enumerate(topics):
            in_t = Yt_a[:, k] > 0
            ng = len(set(la[in_t].tolist()))
            if not ng:
                continue
            row = {"group": "topic", "label": topic_label(t),
                   "model_share": float((A * P[:, k]).sum() / max(P[:, k].sum(), 1e-12)), "reviews_estimate": None,
                   "reviews_ci_low": None, "reviews_ci_high": None, "method": None, "n_reviewed": ng}
            r = None
            if ng >= MIN_REVIEWS:
                r = corrected_ratio(y_ * Yt_a[:, k], A[la] * P[la, k], A * P[:, k], Yt_a[:, k], P[la, k], P[:, k], wa,
                                    alpha)
            row.update({"estimate": r.estimate, "ci_low": r.ci_low, "ci_high": r.ci_high, "method": r.method,
                        "needed": 0} if r is not None else _needed(ng))
            out["review_avoidable"].append(row)
        if months:
            by: dict[str, list[int]] = defaultdict(list)
            for k, i in enumerate(ids):
                m = months.get(i)
                if m:
                    by[m].append(k)
            for m in sorted(by):
                members = set(by[m])
                sel = np.array([j for j in range(len(la)) if la[j] in members], dtype=int)
                nm = len(set(la[sel].tolist())) if len(sel) else 0
                if not nm:
                    continue
                row = {"group": "month", "label": m, "model_share": float(A[by[m]].mean()), "reviews_estimate": None,
                       "reviews_ci_low": None, "reviews_ci_high": None, "method": None, "n_reviewed": nm}
                if nm >= MIN_REVIEWS:
                    e = corrected_mean(y_[sel], A[la[sel]], A[by[m]], None if wa is None else wa[sel], alpha)
                    row.update({"estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high, "method": e.method,
                                "needed": 0})
                else:
                    row.update(_needed(nm))
                out["review_avoidable"].append(row)

    # the model's measured accuracy on the sample (weighted by the design in the tilted queue)
    first = {}
    for j, k in enumerate(li.tolist()):
        first.setdefault(k, j)
    uniq = list(first.values())                      # one draw per distinct reviewed request
    mp = [preds[li[j]] for j in uniq]
    revs = [sample.rows[j] for j in uniq]
    checks = [("topic_accuracy", [p.get("topic") == rv["topic"] for p, rv in zip(mp, revs)], everyone),
              ("guideline_top1", [p.get("guideline_id") == rv.get("guideline_id") for p, rv in zip(mp, revs)], everyone),
              ("avoidable_accuracy", [bool(_yes(p.get("avoidable"))) == bool(ya[j]) for p, j in zip(mp, uniq)
                                      if ya[j] is not None], has_a)]
    for name, vals, mask in checks:
        if not vals:
            continue
        k_, n_ = int(sum(vals)), len(vals)
        if w is None or n_ < 2:
            lo, hi = wilson_interval(k_, n_)
            share = k_ / n_
        else:  # every draw counts, weighted by its inverse selection probability
            ok = {li[j]: v for j, v in zip([j for j in uniq if mask[j]], vals)}
            y_ok = np.array([1.0 if ok.get(k) else 0.0 for k in li[mask]])
            e = corrected_mean(y_ok, np.zeros(len(y_ok)), np.zeros(N), w[mask], alpha, lam=0.0)
            share, lo, hi = e.estimate, e.ci_low, e.ci_high
        out["review_accuracy"].append({"measure": name, "n": n_, "correct": k_, "share": share,
                                       "ci_low": lo, "ci_high": hi})
    conf: dict[tuple[str, str], int] = defaultdict(int)
    for p, rv in zip(mp, revs):
        conf[(str(p.get("topic")), str(rv["topic"]))] += 1
    out["review_confusion"] = [{"predicted": topic_label(a), "reviewed": topic_label(b), "n": c,
                                "correct": a == b} for (a, b), c in sorted(conf.items(), key=lambda x: (-x[1], x[0]))]
    return out
