"""Matching: rank a catalogue's guidelines for a request, and learn the ranking from labelled requests.

A small logistic model over (request, guideline) pair features (``MATCH_FEATURES``: BM25
and TF-IDF cosine, title overlap, agreement between the request's topic probabilities and
the guideline's topics, covered and rare words, the best passage) turns the catalogue's
feature tensor into a match probability per guideline. :func:`fit_matcher` learns it, and
with it the coverage model, from labelled requests; the result is stored as plain numbers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Sequence

import numpy as np

from ..records import Taxonomy
from .catalogue import FEATURES, Catalogue
from .coverage import fit_coverage

__all__ = ["MATCH_FEATURES", "DEFAULT_MATCHER", "fit_matcher"]

# (request, guideline) pair features the matcher ranks with; "log_qlen" (the request's length) is the
# same for every guideline and only feeds the coverage model
MATCH_FEATURES = FEATURES[:8] + ("passage_share", "rare_share")
# Used until a matcher is learned from labelled requests: roughly what the learned weights look like.
DEFAULT_MATCHER = {"features": list(MATCH_FEATURES), "coef": [2.0, 1.0, 4.0, 1.0, 3.0, 1.0, 1.0, 2.0], "intercept": -8.0,
                   "coverage_threshold": 0.5}


def _match_logit(feats: np.ndarray, settings: dict[str, Any]) -> np.ndarray:
    """Match log-odds from features with a logistic model stored as plain numbers."""
    names = settings.get("features", list(MATCH_FEATURES))
    if len(names) != len(settings["coef"]):
        raise ValueError(f"matcher settings name {len(names)} features but have {len(settings['coef'])} weights")
    coef = np.asarray(settings["coef"], dtype=np.float32)
    idx = [FEATURES.index(n) for n in names]
    return feats[..., idx] @ coef + float(settings["intercept"])


def _score(feats: np.ndarray, settings: dict[str, Any]) -> np.ndarray:
    """Match probability from features with a logistic model stored as plain numbers."""
    return 1.0 / (1.0 + np.exp(-_match_logit(feats, settings)))


def fit_matcher(catalogue: Catalogue, texts: Sequence[str], gold: Sequence[str | None], topic_proba: np.ndarray,
                classes: Sequence[str], C: float = 1.0, days: Sequence[dt.date | None] | None = None,
                agent_topic: Sequence[bool] | None = None, taxonomy: Taxonomy | None = None,
                gold_avoidable: Sequence[bool | None] | None = None, seed: int = 0) -> dict[str, Any]:
    """Learn match weights, a coverage model that transfers to other catalogues, and calibration data.

    - **Ranking**: a logistic regression over (request, guideline) pairs of requests whose
      ``guideline_id`` is set, on ``MATCH_FEATURES``.
    - **Coverage** ("a guideline in force on the request's day covers it", for requests whose
      gold topic the agent handles, ``agent_topic``): :func:`~classifier.guidelines.coverage.fit_coverage`
      on ranking scores from out-of-fold matchers.
    - **Calibration data**: out-of-fold ``(avoidable_probability, gold avoidable)`` pairs,
      which the report resamples to put the model's own uncertainty into its intervals.

    Returns a JSON-ready dict stored in ``model.json`` under ``matcher``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold

    feats = catalogue.features(texts, topic_proba, classes)
    midx = [FEATURES.index(nm) for nm in MATCH_FEATURES]
    gold_idx = np.array([catalogue.index.get(g, -1) if g else -1 for g in gold])
    n, m = len(texts), len(catalogue)
    oof = np.zeros((n, m), dtype=np.float32)

    def fit_on(rows: np.ndarray) -> dict[str, Any]:
        rows = rows[gold_idx[rows] >= 0]
        Xp = feats[rows][:, :, midx].reshape(-1, len(midx))
        yp = np.zeros((len(rows), m), dtype=int)
        yp[np.arange(len(rows)), gold_idx[rows]] = 1
        lr = LogisticRegression(C=C, max_iter=2000, class_weight="balanced")
        lr.fit(Xp, yp.ravel())
        return {"features": list(MATCH_FEATURES), "coef": [float(c) for c in lr.coef_[0]],
                "intercept": float(lr.intercept_[0])}

    kf = KFold(n_splits=5, shuffle=True, random_state=seed)
    for tr, te in kf.split(np.arange(n)):
        oof[te] = _score(feats[te], fit_on(tr))
    settings = fit_on(np.arange(n))
    has = gold_idx >= 0
    report: dict[str, Any] = {"n_requests": int(n), "n_with_guideline": int(has.sum()),
                              "oof_top1": float((oof.argmax(axis=1)[has] == gold_idx[has]).mean()) if has.any() else None}
    cov_settings, cov_report = fit_coverage(catalogue, feats, oof, gold_idx, topic_proba, classes, C=C, days=days,
                                            agent_topic=agent_topic, taxonomy=taxonomy,
                                            gold_avoidable=gold_avoidable, seed=seed)
    settings.update(cov_settings)
    report.update(cov_report)
    settings["fit_report"] = report
    return settings
