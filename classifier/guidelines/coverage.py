"""Coverage: does the best guideline in force really cover the request, and is the contact avoidable?

The coverage model reads features of the best in-force candidate that mean the same in any
catalogue (probabilities, shares, scores normalised within the catalogue), is fitted on the
training catalogue and on variants of it with guidelines removed, and is Platt-scaled; the
avoidable probability combines it with the topic probabilities.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Sequence

import numpy as np

from ..records import Taxonomy
from .catalogue import FEATURES, Catalogue

__all__ = ["COVERAGE_FEATURES", "coverage_features", "fit_coverage", "avoidable_probability",
           "expected_calibration_error"]

# Coverage ("does the best candidate in force really cover the request?") reads only features
# that mean the same in any catalogue: probabilities, shares, and scores normalised within the
# catalogue (z-score, margin over the runner-up, ratio to the best), never raw BM25 sizes.
COVERAGE_FEATURES = ("score", "margin", "covered_share", "cosine", "bm25_z", "bm25_rel", "topic_prob", "log_qlen",
                     "passage_share", "rare_share", "outside_gap")


def coverage_features(feats: np.ndarray, scores: np.ndarray, pool: np.ndarray,
                      exists: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Best guideline within ``pool`` (boolean per request x guideline) and its coverage features.

    Returns ``(best_index, X)`` where X has ``COVERAGE_FEATURES`` columns; requests with an
    empty pool get index -1 and zeros. Scores are compared within the pool only, so the
    features describe the catalogue as it stood (what was in force on the request's day);
    ``outside_gap`` is how much better the best guideline of the catalogue (``exists``, all by
    default) outside the pool matches: a later or retired guideline that fits better says the
    best one in force is a near miss.
    """
    n, m = scores.shape
    pool = np.broadcast_to(pool, scores.shape)
    exists = np.ones_like(pool) if exists is None else np.broadcast_to(exists, scores.shape)
    outside = np.where(exists & ~pool, scores, -np.inf)
    best_out = outside.max(axis=1) if m else np.full(n, -np.inf)
    X = np.zeros((n, len(COVERAGE_FEATURES)), dtype=np.float32)
    best = np.full(n, -1)
    if m == 0:
        return best, X
    masked = np.where(pool, scores, -np.inf)
    order = np.argsort(-masked, axis=1)
    f = {name: k for k, name in enumerate(FEATURES)}
    bm = feats[:, :, f["bm25_rel"]]
    for i in range(n):
        j = order[i, 0]
        if not pool[i, j]:
            continue
        best[i] = j
        second = scores[i, order[i, 1]] if m > 1 and pool[i, order[i, 1]] else 0.0
        in_pool = bm[i][pool[i]]
        sd = float(in_pool.std()) if len(in_pool) > 1 else 0.0
        z = (bm[i, j] - float(in_pool.mean())) / sd if sd > 1e-6 else 0.0
        gap = float(best_out[i] - scores[i, j]) if np.isfinite(best_out[i]) else -1.0
        X[i] = (scores[i, j], scores[i, j] - second, feats[i, j, f["covered_share"]], feats[i, j, f["cosine"]],
                min(z, 10.0), bm[i, j], feats[i, j, f["topic_prob"]], feats[i, j, f["log_qlen"]],
                feats[i, j, f["passage_share"]], feats[i, j, f["rare_share"]], max(-1.0, min(1.0, gap)))
    return best, X


def _coverage_logit(X: np.ndarray, model: dict[str, Any]) -> np.ndarray:
    """Coverage model's log-odds (standardised features, then the logistic weights)."""
    names = model.get("features", list(COVERAGE_FEATURES))
    idx = [COVERAGE_FEATURES.index(nm) for nm in names]
    Z = X[:, idx]
    if "mean" in model:
        Z = (Z - np.asarray(model["mean"], dtype=np.float32)) / np.asarray(model["scale"], dtype=np.float32)
    return Z @ np.asarray(model["coef"], dtype=np.float32) + float(model["intercept"])


def _coverage_prob(X: np.ndarray, model: dict[str, Any]) -> np.ndarray:
    """Calibrated probability that the best candidate really covers the request."""
    z = _coverage_logit(X, model)
    a, b = model.get("platt", (1.0, 0.0))
    return 1.0 / (1.0 + np.exp(-(a * z + b)))



def avoidable_probability(topic_proba: np.ndarray, classes: Sequence[str], taxonomy: Taxonomy,
                          coverage: np.ndarray) -> np.ndarray:
    """P(avoidable) = P(misrouted topic) + P(an agent topic) x P(a guideline in force covers it).

    Parameters
    ----------
    topic_proba : ndarray (n, n_classes)
        Calibrated topic probabilities.
    classes : sequence of str
        Their column labels.
    taxonomy : Taxonomy
        Which topics are misrouted and which are back-office remit.
    coverage : ndarray (n,)
        Calibrated coverage probabilities.
    """
    info = [taxonomy[c] if c in taxonomy else None for c in classes]
    mis = np.array([ci is not None and ci.misrouted for ci in info], dtype=float)
    agent = np.array([ci is None or ci.agents_own for ci in info], dtype=float)
    return np.clip(topic_proba @ mis + (topic_proba @ agent) * np.asarray(coverage, dtype=float), 0.0, 1.0)


def expected_calibration_error(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of binary probabilities (equal-width bins)."""
    p = np.asarray(p, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(p) == 0:
        return float("nan")
    k = np.minimum((p * bins).astype(int), bins - 1)
    return float(sum(abs(p[k == b].mean() - y[k == b].mean()) * (k == b).sum() for b in range(bins) if (k == b).any())
                 / len(p))


def fit_coverage(catalogue: Catalogue, feats: np.ndarray, scores: np.ndarray, gold_idx: np.ndarray,
                 topic_proba: np.ndarray, classes: Sequence[str], C: float = 1.0,
                 days: Sequence[dt.date | None] | None = None, agent_topic: Sequence[bool] | None = None,
                 taxonomy: Taxonomy | None = None, gold_avoidable: Sequence[bool | None] | None = None,
                 seed: int = 0) -> tuple[dict[str, Any], dict[str, Any]]:
    """Learn the coverage model from out-of-fold ranking scores, and the avoidable calibration data.

    Parameters
    ----------
    catalogue : Catalogue
        The training catalogue.
    feats : ndarray (n, n_guidelines, n_features)
        ``catalogue.features`` of the requests.
    scores : ndarray (n, n_guidelines)
        Out-of-fold match probabilities (a request's own label never scored it).
    gold_idx : ndarray (n,)
        Index of each request's gold guideline in the catalogue, -1 for none.
    topic_proba, classes
        Topic probabilities and their column labels.
    days, agent_topic
        Each request's local date and whether its gold topic is the agent's own; both None
        treats every request as undated and the agent's.
    taxonomy, gold_avoidable
        When both are given, out-of-fold ``(avoidable_probability, gold avoidable)`` pairs are kept.

    Returns
    -------
    (settings, report)
        ``coverage_model``, ``coverage_threshold`` and ``avoidable_calibration`` entries of the
        matcher settings, and the fit's figures.

    Notes
    -----
    Besides the catalogue as it is, every covered request is also seen against catalogue
    variants: without its guideline (so the nearest remaining one must be recognised as *not*
    covering: what an unseen catalogue's gaps look like) and with a random part of the other
    guidelines removed (so margins and z-scores vary). The result is Platt-scaled on
    out-of-fold predictions for the real catalogue.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold

    n, m = len(gold_idx), len(catalogue)
    oof = scores
    rng = np.random.default_rng(seed)
    settings: dict[str, Any] = {}
    report: dict[str, Any] = {}
    if days is None or agent_topic is None:
        days = [None] * n
        agent_topic = [True] * n
    dated = np.array([d is not None for d in days])
    pools = np.ones((n, m), dtype=bool)
    for i, d in enumerate(days):
        if d is not None:
            pools[i] = catalogue.in_force_mask(d)
    rows = np.array([i for i in range(n) if agent_topic[i]], dtype=int)
    # the real catalogue, and its variants (one request may give several training rows)
    X_rows, y_rows, groups, natural = [], [], [], []
    for i in rows:
        should = bool(gold_idx[i] >= 0 and pools[i, gold_idx[i]])
        everything = np.ones(m, dtype=bool)
        # (guidelines that exist in the variant, covered?, the real catalogue?)
        variants = [(everything, should, True)]
        if should:
            without = everything.copy()
            without[gold_idx[i]] = False  # the catalogue never had the request's guideline
            variants.append((without, False, False))
            subset = rng.random(m) < 0.6
            subset[gold_idx[i]] = True
            variants.append((subset, True, False))
            variants.append((without & (rng.random(m) < 0.6), False, False))
        for exists, lab, nat in variants:
            _, x = coverage_features(feats[i:i + 1], oof[i:i + 1], (pools[i] & exists)[None, :], exists[None, :])
            X_rows.append(x[0]); y_rows.append(lab); groups.append(i); natural.append(nat)
    report["n_coverage_rows"] = len(rows)
    if len(rows) >= 20 and 0 < sum(y_rows) < len(y_rows):
        Xc = np.asarray(X_rows, dtype=np.float32)
        yc = np.asarray(y_rows, dtype=bool)
        gr = np.asarray(groups)
        nat = np.asarray(natural, dtype=bool)
        mean, scale = Xc.mean(axis=0), Xc.std(axis=0)
        scale[scale < 1e-6] = 1.0
        # balanced: the model weighs the evidence, not the training catalogue's share of covered
        # requests, which says nothing about a new catalogue's
        cw = "balanced"

        def fit_cov(sel: np.ndarray) -> dict[str, Any]:
            lr = LogisticRegression(C=C, max_iter=2000, class_weight=cw).fit((Xc[sel] - mean) / scale, yc[sel])
            return {"features": list(COVERAGE_FEATURES), "mean": mean.tolist(), "scale": scale.tolist(),
                    "coef": [float(c) for c in lr.coef_[0]], "intercept": float(lr.intercept_[0])}

        # out-of-fold logits for the real catalogue's rows, grouped by request
        oof_logit = np.zeros(len(yc))
        uniq = np.unique(gr)
        for tr_g, te_g in KFold(n_splits=5, shuffle=True, random_state=seed + 1).split(uniq):
            tr = np.isin(gr, uniq[tr_g])
            te = np.isin(gr, uniq[te_g])
            oof_logit[te] = _coverage_logit(Xc[te], fit_cov(tr)) if len(set(yc[tr])) == 2 else 0.0
        cm = fit_cov(np.ones(len(yc), dtype=bool))
        platt = LogisticRegression(C=1e4, max_iter=2000, class_weight=cw).fit(oof_logit[nat][:, None], yc[nat])
        cm["platt"] = [float(platt.coef_[0, 0]), float(platt.intercept_[0])]
        settings["coverage_model"] = cm
        settings["coverage_threshold"] = 0.5
        p_nat = 1.0 / (1.0 + np.exp(-(cm["platt"][0] * oof_logit[nat] + cm["platt"][1])))
        report["oof_coverage_accuracy"] = float(((p_nat >= 0.5) == yc[nat]).mean())
        report["oof_coverage_accuracy_variants"] = float((((oof_logit[~nat]) >= 0) == yc[~nat]).mean()) if (~nat).any() else None
        report["majority_baseline"] = float(max(yc[nat].mean(), 1 - yc[nat].mean()))
        report["n_variant_rows"] = int((~nat).sum())
        # out-of-fold coverage probability of every request's best in-force candidate
        _, X_all = coverage_features(feats, oof, pools)
        cov_all = _coverage_prob(X_all, cm)
        nat_rows = gr[nat]
        cov_all[nat_rows] = p_nat
        if taxonomy is not None and gold_avoidable is not None:
            p_av = avoidable_probability(topic_proba, classes, taxonomy, cov_all)
            keep = [i for i in range(n) if gold_avoidable[i] is not None and dated[i]]
            if keep:
                pa = np.round(p_av[keep], 4)
                ya = np.array([bool(gold_avoidable[i]) for i in keep])
                settings["avoidable_calibration"] = {"p": pa.tolist(), "y": ya.astype(int).tolist(),
                                                     "source": "out-of-fold, training catalogue"}
                report["oof_avoidable_ece"] = float(expected_calibration_error(pa, ya))
                report["oof_avoidable_accuracy"] = float(((pa >= 0.5) == ya).mean())
    else:
        settings["coverage_threshold"] = 0.5
    return settings, report
