"""Shares estimated from calibrated probabilities, with intervals that include the model's own uncertainty.

The avoidable share of a set of requests is estimated as the mean of their calibrated
``avoidable_probability``. Its 95 % interval comes from a bootstrap that resamples the
requests (sampling noise) *and* the held-out calibration pairs stored with the model
(``matcher.avoidable_calibration``: out-of-fold probability and true label): each replicate
refits a recalibration map on its resampled pairs and applies it to its resampled requests,
so the interval widens as much as the probabilities' calibration is uncertain. It does not
cover a shift in how the model errs on data unlike its training data; a reviewed random
sample (prediction-powered inference) does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["ShareEstimate", "estimate_share", "estimate_shares", "METHOD"]

METHOD = "model_bootstrap"
# Groups up to this size are resampled row by row (n_boot x n draws); the resampled mean of a
# larger one is drawn from its normal limit (see estimate_shares).
RESAMPLE_ROWS_UP_TO = 5_000
_EPS = 1e-4


@dataclass(frozen=True)
class ShareEstimate:
    """A share (fraction 0–1) with a 95 % interval and how it was computed."""

    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    method: str = METHOD


def _logit(p: np.ndarray) -> np.ndarray:
    """Log-odds of probabilities clipped away from 0 and 1."""
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def _platt_batch(z: np.ndarray, y: np.ndarray, iters: int = 25) -> tuple[np.ndarray, np.ndarray]:
    """Fit y ~ sigmoid(a z + b) for every row of z / y at once (Newton's method, tiny ridge); return a, b."""
    B = z.shape[0]
    a = np.ones(B)
    b = np.zeros(B)
    for _ in range(iters):
        eta = a[:, None] * z + b[:, None]
        p = 0.5 * (1.0 + np.tanh(0.5 * eta))
        w = p * (1 - p) + 1e-9
        r = y - p
        ga, gb = (r * z).sum(1) - 1e-3 * (a - 1), r.sum(1) - 1e-3 * b
        haa, hab, hbb = (w * z * z).sum(1) + 1e-3, (w * z).sum(1), w.sum(1) + 1e-3
        det = haa * hbb - hab * hab
        da = (hbb * ga - hab * gb) / det
        db = (haa * gb - hab * ga) / det
        a, b = a + da, b + db
        if np.max(np.abs(da)) < 1e-6 and np.max(np.abs(db)) < 1e-6:
            break
    return a, b


def estimate_shares(groups: dict[str, Sequence[float]], calibration: dict | None = None, n_boot: int = 1000,
                    seed: int = 0) -> dict[str, ShareEstimate]:
    """Estimate the share for several groups of requests, sharing the calibration resamples.

    Parameters
    ----------
    groups : dict of name -> probabilities
        Calibrated probabilities (``avoidable_probability``) of each group's requests; None
        values are left out.
    calibration : dict, optional
        ``{"p": [...], "y": [...]}`` held-out probability / label pairs (the model's
        ``matcher.avoidable_calibration``). Without it only the requests are resampled.
    n_boot : int
        Bootstrap replicates.

    Returns
    -------
    dict of name -> ShareEstimate
    """
    rng = np.random.default_rng(seed)
    a = b = None
    if calibration and len(calibration.get("p") or []) >= 20:
        cp = np.asarray(calibration["p"], dtype=float)
        cy = np.asarray(calibration["y"], dtype=float)
        idx = rng.integers(0, len(cp), size=(n_boot, len(cp)))
        a, b = _platt_batch(_logit(cp)[idx], cy[idx])
        # the map fitted on all pairs: replicates measure spread around the identity, not a bias fix
        a0, b0 = _platt_batch(_logit(cp)[None, :], cy[None, :])
        a, b = a - a0[0] + 1.0, b - b0[0]
    out: dict[str, ShareEstimate] = {}
    for name, probs in groups.items():
        p = np.asarray([v for v in probs if v is not None], dtype=float)
        if len(p) == 0:
            out[name] = ShareEstimate(None, None, None, 0)
            continue
        est = float(p.mean())
        if len(p) <= RESAMPLE_ROWS_UP_TO:
            ridx = rng.integers(0, len(p), size=(n_boot, len(p)))
            pb = p[ridx]
            if a is not None:
                pb = 0.5 * (1.0 + np.tanh(0.5 * (a[:, None] * _logit(pb) + b[:, None])))
            reps = pb.mean(axis=1)
        else:
            # A large group: each replicate's mean over n rows drawn with replacement is normal
            # (central limit) around the mean of its recalibrated probabilities, with their
            # variance / n; computed on the group's distinct probabilities (stored with four
            # decimals: at most 10,001), not on n_boot x n draws.
            vals, cnt = np.unique(p, return_counts=True)
            f = vals[None, :]
            if a is not None:
                f = 0.5 * (1.0 + np.tanh(0.5 * (a[:, None] * _logit(vals)[None, :] + b[:, None])))
            w = cnt / len(p)
            m = f @ w
            var = np.maximum((f * f) @ w - m * m, 0.0)
            reps = m + rng.standard_normal(n_boot) * np.sqrt(var / len(p))
        lo, hi = np.percentile(reps, [2.5, 97.5])
        out[name] = ShareEstimate(est, float(min(lo, est)), float(max(hi, est)), len(p))
    return out


def estimate_share(probs: Sequence[float], calibration: dict | None = None, n_boot: int = 1000,
                   seed: int = 0) -> ShareEstimate:
    """Estimate one share; see :func:`estimate_shares`."""
    return estimate_shares({"all": probs}, calibration, n_boot, seed)["all"]
