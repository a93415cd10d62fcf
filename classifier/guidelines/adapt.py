"""Adaptation to one organisation's catalogue, learned from its first reviewed requests.

What is learned elsewhere carries over to a new catalogue only in part: the guideline
ranking and the ordering of the coverage score do, the coverage threshold, the topic
frequencies and some guidelines' pull do not. An :class:`Adaptation` holds small
adjustments on top of a model's own assessment, each shrunk toward "no change":

- **topic priors**: a bias added to the log topic probabilities (a prior shift: the
  intercepts of a multinomial recalibration on the reviewed topics);
- **ranking**: a bias per guideline and a change of the matcher's weights, from the
  reviewer's guideline choices (the chosen guideline against every other one: a listwise
  logistic loss, so each choice is one positive and many negative pairs);
- **coverage**: a logistic recalibration of the coverage logit, ``scale * logit + shift``,
  with a bias per best candidate, from whether the reviewer found a guideline in force.

Each component is a maximum a posteriori fit with a Gaussian prior centred on the shipped
model (no change); the prior's strength is chosen from :data:`STRENGTHS` by 5-fold
cross-validation on the reviews (the lowest held-out log-loss; the last strength is "no
change", so a component that does not help on held-out reviews stays as shipped). Below
:data:`MIN_REVIEWS` usable reviews a component is not fitted.

Each component is chosen on its own loss (topic, ranking, coverage), but what matters is the
avoidable decision they make together: the adaptation as a whole is kept only where it
predicts held-out reviews' avoidable decisions better (lower Brier score) than the model as
it is (:func:`cross_fit`'s ``gate``).

:func:`cross_fit` splits the reviews into folds and fits one adaptation without each fold:
a reviewed request's own prediction comes from the adaptation that never saw its review,
every other request's from the average of the fold adaptations (cross-prediction-powered
inference; Zrnic and Candès, *PNAS* 2024), so the corrected estimates never use a review
both to fit and to correct. Whether a fold adaptation is kept is decided on the other folds'
reviews only, so this still holds with the gate.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from ..records import Request, Taxonomy
from ..rules import avoidable_reason
from .catalogue import FEATURES, Catalogue
from .matching import MATCH_FEATURES

if TYPE_CHECKING:  # the Assessor imports this module
    from .assess import Assessor

__all__ = ["Adaptation", "ReviewLabel", "CrossFit", "fit_adaptation", "cross_fit", "reviewed_decision",
           "MIN_REVIEWS", "STRENGTHS", "COMPONENTS"]

# Fewer usable reviews than this leave a component as shipped: its prior strength cannot be
# chosen by cross-validation on fewer.
MIN_REVIEWS = 10
# Prior strengths (precision of the Gaussian prior, in units of one review's log-likelihood
# curvature, roughly); the last one is "no change".
STRENGTHS = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 1e6)
_INNER_FOLDS = 5
# The components an adaptation can change (leaving one out measures what it contributes).
COMPONENTS = ("topic", "ranking", "coverage")


@dataclass(frozen=True)
class ReviewLabel:
    """A reviewer's decision about one request: the topic and the guideline that covers it (or none)."""

    topic: str
    guideline_id: str | None
    queue: str | None = None


@dataclass(frozen=True)
class Adaptation:
    """Adjustments of a model's assessments to one catalogue (all zero: the shipped model).

    Attributes
    ----------
    catalogue_sha256 : str
        :func:`~classifier.guidelines.catalogue.catalogue_digest` of the catalogue it was fitted to;
        it is applied to that catalogue only.
    classes : tuple of str
        Topic labels of ``topic_bias``.
    topic_bias : tuple of float
        Added to the log topic probabilities (then renormalised).
    match_bias : tuple of (str, float)
        Guideline id -> added to its match logit.
    match_coef : tuple of float
        Added to the matcher's weights, in ``MATCH_FEATURES`` order (empty: none).
    coverage_scale, coverage_shift : float
        The coverage logit becomes ``scale * logit + shift``.
    coverage_bias : tuple of (str, float)
        Best candidate's guideline id -> added to the coverage logit.
    fit : dict
        How it was fitted: reviews used, prior strengths, notes, cross-validated figures.
    """

    catalogue_sha256: str
    classes: tuple[str, ...] = ()
    topic_bias: tuple[float, ...] = ()
    match_bias: tuple[tuple[str, float], ...] = ()
    match_coef: tuple[float, ...] = ()
    coverage_scale: float = 1.0
    coverage_shift: float = 0.0
    coverage_bias: tuple[tuple[str, float], ...] = ()
    fit: Mapping[str, Any] = field(default_factory=dict, compare=False)

    # ---- applying it -------------------------------------------------------------------------

    def shift_topics(self, proba: np.ndarray, classes: Sequence[str]) -> np.ndarray:
        """Topic probabilities under the adapted priors."""
        if not self.topic_bias:
            return proba
        bias = dict(zip(self.classes, self.topic_bias))
        w = np.array([bias.get(str(c), 0.0) for c in classes])
        z = np.log(np.maximum(proba, 1e-12)) + w
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def match_offsets(self, catalogue: Catalogue) -> np.ndarray:
        """Per-guideline match-logit offsets in catalogue order."""
        return _by_guideline(self.match_bias, catalogue)

    def coverage_offsets(self, catalogue: Catalogue) -> np.ndarray:
        """Per-guideline coverage-logit offsets in catalogue order."""
        return _by_guideline(self.coverage_bias, catalogue)

    @property
    def changes_topics(self) -> bool:
        """Whether the topic probabilities change."""
        return any(abs(w) > 0 for w in self.topic_bias)

    @property
    def is_identity(self) -> bool:
        """True when nothing changes."""
        return (not self.changes_topics and not any(b for _, b in self.match_bias) and not any(self.match_coef)
                and self.coverage_scale == 1.0 and self.coverage_shift == 0.0
                and not any(b for _, b in self.coverage_bias))

    def then(self, other: "Adaptation") -> "Adaptation":
        """This adaptation followed by ``other`` (fitted on top of it), as one adaptation."""
        classes = tuple(dict.fromkeys(self.classes + other.classes))
        a, b = dict(zip(self.classes, self.topic_bias)), dict(zip(other.classes, other.topic_bias))
        topic = tuple(a.get(c, 0.0) + b.get(c, 0.0) for c in classes) if (a or b) else ()
        coef = (tuple(x + y for x, y in zip(self.match_coef or (0.0,) * len(MATCH_FEATURES),
                                            other.match_coef or (0.0,) * len(MATCH_FEATURES)))
                if (self.match_coef or other.match_coef) else ())
        s = other.coverage_scale
        return Adaptation(
            catalogue_sha256=other.catalogue_sha256 or self.catalogue_sha256, classes=classes if topic else (),
            topic_bias=topic, match_bias=_add(self.match_bias, other.match_bias), match_coef=coef,
            coverage_scale=s * self.coverage_scale, coverage_shift=s * self.coverage_shift + other.coverage_shift,
            coverage_bias=_add(tuple((g, s * v) for g, v in self.coverage_bias), other.coverage_bias),
            fit=dict(other.fit))

    # ---- storing it -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (stored in a model's ``model.json`` under ``adaptation``)."""
        return {"catalogue_sha256": self.catalogue_sha256,
                "topic_bias": {c: round(float(w), 6) for c, w in zip(self.classes, self.topic_bias)},
                "match_bias": {g: round(float(v), 6) for g, v in self.match_bias},
                "match_coef": {f: round(float(v), 6) for f, v in zip(MATCH_FEATURES, self.match_coef)},
                "coverage_scale": round(float(self.coverage_scale), 6),
                "coverage_shift": round(float(self.coverage_shift), 6),
                "coverage_bias": {g: round(float(v), 6) for g, v in self.coverage_bias},
                "fit": dict(self.fit)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Adaptation":
        """Read what :meth:`to_dict` wrote; unknown matcher features are refused."""
        coef = d.get("match_coef") or {}
        unknown = [f for f in coef if f not in MATCH_FEATURES]
        if unknown:
            raise ValueError(f"adaptation: unknown matcher feature(s) {', '.join(unknown)}")
        tb = d.get("topic_bias") or {}
        return cls(catalogue_sha256=str(d.get("catalogue_sha256") or ""), classes=tuple(tb),
                   topic_bias=tuple(float(v) for v in tb.values()),
                   match_bias=tuple((str(g), float(v)) for g, v in (d.get("match_bias") or {}).items()),
                   match_coef=tuple(float(coef.get(f, 0.0)) for f in MATCH_FEATURES) if coef else (),
                   coverage_scale=float(d.get("coverage_scale", 1.0)), coverage_shift=float(d.get("coverage_shift", 0.0)),
                   coverage_bias=tuple((str(g), float(v)) for g, v in (d.get("coverage_bias") or {}).items()),
                   fit=dict(d.get("fit") or {}))


def _by_guideline(pairs: Sequence[tuple[str, float]], catalogue: Catalogue) -> np.ndarray:
    """Values keyed by guideline id as an array in catalogue order (0 for guidelines not named)."""
    out = np.zeros(len(catalogue), dtype=np.float64)
    for g, v in pairs:
        j = catalogue.index.get(g)
        if j is not None:
            out[j] = v
    return out


def _add(a: Sequence[tuple[str, float]], b: Sequence[tuple[str, float]]) -> tuple[tuple[str, float], ...]:
    """Sum of two id -> value tables."""
    out = dict(a)
    for g, v in b:
        out[g] = out.get(g, 0.0) + v
    return tuple(out.items())


@dataclass(frozen=True)
class CrossFit:
    """Fold adaptations and the reviews they were fitted on, for labelling with reviews.

    Attributes
    ----------
    folds : tuple of Adaptation
        One adaptation fitted without each fold (empty: too few reviews, the model as it is).
    fold_of : dict
        Reviewed request id -> the index of the fold adaptation that never saw its review.
    decisions : dict
        Reviewed request id -> :class:`ReviewLabel`.
    full : Adaptation or None
        The adaptation fitted on every review (what ``tukipyynto adapt`` saves).
    figures : dict
        Cross-validated figures on the reviews, before and after adaptation.
    notes : tuple of str
        What was and was not adapted, and why.
    token : str
        Tells this fit from another (worker processes cache the assessor it builds).
    """

    folds: tuple[Adaptation, ...]
    fold_of: Mapping[str, int]
    decisions: Mapping[str, ReviewLabel]
    full: Adaptation | None = None
    figures: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    token: str = field(default_factory=lambda: secrets.token_hex(8), compare=False)


# ---------------------------------------------------------------------------------------------
# Fitting


def reviewed_decision(label: ReviewLabel, catalogue: Catalogue | None, taxonomy: Taxonomy, day: dt.date
                      ) -> tuple[bool | None, str, bool, bool]:
    """The spec's rule on a reviewer's topic and guideline: ``(avoidable, reason, covered, later)``."""
    g = catalogue[label.guideline_id] if catalogue is not None and label.guideline_id in catalogue.index else None
    covered = g is not None and g.in_force(day)
    later = g is not None and g.published > day
    cat = taxonomy[label.topic] if label.topic in taxonomy else None
    avoidable, reason = avoidable_reason(cat, covered if catalogue is not None else None, later)
    return avoidable, reason, covered, later


def _folds(n: int, k: int, seed: int) -> np.ndarray:
    """Fold index of each of n items (a seeded permutation dealt round-robin)."""
    out = np.empty(n, dtype=int)
    out[np.random.default_rng(seed).permutation(n)] = np.arange(n) % k
    return out


def _choose(fit_fn, loss_fn, n: int, grid: Sequence[tuple[float, ...]], seed: int) -> tuple[tuple[float, ...], dict]:
    """Prior strengths by cross-validation on the reviews: the lowest mean held-out loss (ties: the stronger prior).

    ``grid`` is ordered from least to most shrunk; ``fit_fn(rows, strengths)`` returns
    parameters and ``loss_fn(params, rows)`` the per-row held-out losses.
    """
    k = min(_INNER_FOLDS, n)
    fold = _folds(n, k, seed)
    table = []
    for lam in grid:
        losses = np.zeros(n)
        for f in range(k):
            te, tr = np.flatnonzero(fold == f), np.flatnonzero(fold != f)
            losses[te] = loss_fn(fit_fn(tr, lam), te)
        table.append((lam, float(losses.mean())))
    best = min(t[1] for t in table)
    # the lowest held-out loss; among (near) ties the strongest prior
    chosen = max((t for t in table if t[1] <= best + 1e-9), key=lambda t: sum(math.log(x) for x in t[0]))
    return chosen[0], {"strength": list(chosen[0]), "cv_loss": round(chosen[1], 4),
                       "cv_loss_shipped": round(table[-1][1], 4)}


def _newton(fun, x0: np.ndarray, tol: float = 1e-8, max_iter: int = 50) -> np.ndarray:
    """Minimise a smooth convex function given as ``fun(x) -> (value, gradient, Hessian)`` (damped Newton)."""
    x = np.asarray(x0, dtype=float)
    val, g, H = fun(x)
    for _ in range(max_iter):
        try:
            step = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(H, g, rcond=None)[0]
        t = 1.0
        while True:
            cand = x - t * step
            v2, g2, H2 = fun(cand)
            if v2 <= val - 1e-4 * t * (g @ step) or t < 1e-8:
                break
            t /= 2
        done = abs(val - v2) < tol * (1.0 + abs(val))
        x, val, g, H = cand, v2, g2, H2
        if done or np.abs(g).max() < 1e-7:
            break
    return x


def _logsumexp(z: np.ndarray) -> np.ndarray:
    m = z.max(axis=1, keepdims=True)
    return (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))[:, 0]


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _fit_topic(L: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """Topic bias w: softmax(L + w) fits the reviewed topics, prior N(0, 1/lam)."""
    K = L.shape[1]
    Y = np.zeros_like(L)
    Y[np.arange(len(y)), y] = 1.0
    eye = np.eye(K)

    def fun(w):
        z = L + w
        P = _softmax(z)
        val = float((_logsumexp(z) - z[np.arange(len(y)), y]).sum() + lam / 2 * w @ w)
        H = np.diag(P.sum(axis=0)) - P.T @ P + lam * eye
        return val, (P - Y).sum(axis=0) + lam * w, H

    return _newton(fun, np.zeros(K))


def _topic_loss(L: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    z = L + w
    return _logsumexp(z) - z[np.arange(len(y)), y]


def _fit_rank(Z: np.ndarray, X: np.ndarray, g: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-guideline bias and weight change: the reviewer's guideline against all others, prior N(0, 1/lam)."""
    n, m, d = X.shape
    G = np.zeros((n, m))
    G[np.arange(n), g] = 1.0
    eye = np.eye(m + d)

    def fun(p):
        delta, dw = p[:m], p[m:]
        s = Z + delta[None, :] + X @ dw
        P = _softmax(s)
        val = float((_logsumexp(s) - s[np.arange(n), g]).sum() + lam / 2 * p @ p)
        r = P - G
        grad = np.concatenate([r.sum(axis=0), np.einsum("ij,ijk->k", r, X)]) + lam * p
        # per request W = diag(P) - P P^T; the design of s in (delta, dw) is [I | X]
        PX = np.einsum("ij,ijk->ik", P, X)                       # n x d
        Hdd = np.diag(P.sum(axis=0)) - P.T @ P                   # m x m
        Hdw = np.einsum("ij,ijk->jk", P, X) - P.T @ PX           # m x d
        Hww = np.einsum("ij,ijk,ijl->kl", P, X, X) - PX.T @ PX   # d x d
        H = np.block([[Hdd, Hdw], [Hdw.T, Hww]]) + lam * eye
        return val, grad, H

    p = _newton(fun, np.zeros(m + d))
    return p[:m], p[m:]


def _rank_loss(Z, X, g, params) -> np.ndarray:
    delta, dw = params
    s = Z + delta[None, :] + X @ dw
    return _logsumexp(s) - s[np.arange(len(g)), g]


def _fit_coverage(zeta: np.ndarray, best: np.ndarray, y: np.ndarray, m: int, lam_c: float, lam_b: float
                  ) -> tuple[float, float, np.ndarray]:
    """Coverage recalibration ``s * zeta + t + beta[best]``, priors N((1, 0), 1/lam_c) and N(0, 1/lam_b)."""
    used = np.unique(best)  # only the guidelines that are some review's best candidate can move
    col = np.searchsorted(used, best)
    D = np.zeros((len(y), 2 + len(used)))
    D[:, 0], D[:, 1] = zeta, 1.0
    D[np.arange(len(y)), 2 + col] = 1.0
    prior = np.concatenate([[lam_c, lam_c], np.full(len(used), lam_b)])
    centre = np.zeros(2 + len(used))
    centre[0] = 1.0

    def fun(p):
        u = D @ p
        q = 1.0 / (1.0 + np.exp(-u))
        dv = p - centre
        val = float((np.logaddexp(0.0, u) - y * u).sum() + 0.5 * (prior * dv) @ dv)
        H = (D * (q * (1 - q))[:, None]).T @ D + np.diag(prior)
        return val, D.T @ (q - y) + prior * dv, H

    p = _newton(fun, centre)
    beta = np.zeros(m)
    beta[used] = p[2:]
    return float(p[0]), float(p[1]), beta


def _coverage_loss(zeta, best, y, params) -> np.ndarray:
    s, t, beta = params
    u = s * zeta + t + beta[best]
    return np.logaddexp(0.0, u) - y * u


def fit_adaptation(assessor: "Assessor", requests: Sequence[Request], labels: Sequence[ReviewLabel],
                   seed: int = 0, components: Sequence[str] = COMPONENTS) -> Adaptation:
    """Fit an adaptation of ``assessor`` (its model, catalogue and current adaptation) to reviewed requests.

    Parameters
    ----------
    assessor : Assessor
        With the catalogue the reviews were made against; a model already adapted to it is
        adapted further (the prior is centred on its current state).
    requests : sequence of Request
        The reviewed requests (text, send time).
    labels : sequence of ReviewLabel
        The reviewer's topic and guideline for each; topics must be in the model's label set
        and guideline ids in the catalogue (or None).
    seed : int
        Seed of the cross-validation folds that choose the prior strengths.
    components : sequence of str
        Which of :data:`COMPONENTS` to fit (the others are kept as they are).

    Returns
    -------
    Adaptation
        Composed with the assessor's current one; ``fit`` records what was fitted, the
        strengths chosen and why a component was left as it was.
    """
    if len(labels) != len(requests):
        raise ValueError(f"fit_adaptation: {len(requests)} requests but {len(labels)} labels")
    return _fit(assessor, assessor._context(list(requests)), labels, seed, _components(components))


def _components(components: Sequence[str]) -> frozenset[str]:
    """The named components, checked against :data:`COMPONENTS`."""
    unknown = [c for c in components if c not in COMPONENTS]
    if unknown:
        raise ValueError(f"unknown adaptation component(s) {', '.join(map(str, unknown))}; "
                         f"expected some of {', '.join(COMPONENTS)}")
    return frozenset(components)


def _fit(assessor: "Assessor", ctx, labels: Sequence[ReviewLabel], seed: int,
         components: frozenset[str] = frozenset(COMPONENTS)) -> Adaptation:
    """:func:`fit_adaptation` on a computed context."""
    cat = assessor.catalogue
    classes = assessor.classes
    base = assessor.base_adaptation(cat)
    digest = cat.digest if cat is not None else ""
    n = len(labels)
    notes: list[str] = []
    info: dict[str, Any] = {"n_reviews": n}
    step = Adaptation(catalogue_sha256=digest)
    current = base.then(step) if base is not None else step

    # 1. topic priors
    cidx = {c: k for k, c in enumerate(classes)}
    y = np.array([cidx[lb.topic] for lb in labels], dtype=int)
    proba = current.shift_topics(ctx.proba, classes)
    if "topic" not in components:
        notes.append("topic priors: not asked for; kept as they were")
    elif n >= MIN_REVIEWS:
        L = np.log(np.maximum(proba, 1e-12))
        lam, info["topic"] = _choose(lambda r, lam: _fit_topic(L[r], y[r], lam[0]),
                                     lambda w, r: _topic_loss(L[r], y[r], w), n, [(s,) for s in STRENGTHS], seed)
        w = _fit_topic(L, y, lam[0]) if lam[0] < STRENGTHS[-1] else np.zeros(len(classes))
        step = replace(step, classes=tuple(classes), topic_bias=tuple(float(v) for v in w))
        current = base.then(step) if base is not None else step
    else:
        notes.append(f"topic priors: {n} reviews, at least {MIN_REVIEWS} needed; kept as they were")
    if cat is None or not len(cat):
        info["notes"] = notes + ["no catalogue: guideline ranking and coverage not adapted"]
        return replace(current, fit=info)

    # 2. ranking: the reviewer's guideline against every other one
    gidx = np.array([cat.index.get(lb.guideline_id, -1) if lb.guideline_id else -1 for lb in labels], dtype=int)
    rows = np.flatnonzero(gidx >= 0)
    info["n_with_guideline"] = int(len(rows))
    if "ranking" not in components:
        notes.append("guideline ranking: not asked for; kept as it was")
    elif len(rows) >= MIN_REVIEWS:
        proba = current.shift_topics(ctx.proba, classes)
        feats = cat.with_topic_probabilities(ctx.feats, proba, classes) if current.changes_topics else ctx.feats
        Z = assessor._match_logits(feats, current)[rows]
        X = feats[rows][:, :, [FEATURES.index(f) for f in MATCH_FEATURES]].astype(np.float64)
        gr = gidx[rows]
        lam, info["ranking"] = _choose(lambda r, lam: _fit_rank(Z[r], X[r], gr[r], lam[0]),
                                       lambda p, r: _rank_loss(Z[r], X[r], gr[r], p), len(rows),
                                       [(s,) for s in STRENGTHS], seed + 1)
        if lam[0] < STRENGTHS[-1]:
            delta, dw = _fit_rank(Z, X, gr, lam[0])
            step = replace(step, match_bias=tuple((g.id, float(v)) for g, v in zip(cat.guidelines, delta) if v),
                           match_coef=tuple(float(v) for v in dw))
            current = base.then(step) if base is not None else step
    else:
        notes.append(f"guideline ranking: {len(rows)} reviews name a guideline of this catalogue, at least "
                     f"{MIN_REVIEWS} needed; kept as it was")

    # 3. coverage: did the reviewer find a guideline in force, for topics the agent handles?
    tax = assessor.taxonomy
    agent = np.array([(tax[lb.topic].agents_own if lb.topic in tax else True) for lb in labels])
    covered = np.array([reviewed_decision(lb, cat, tax, d)[2] for lb, d in zip(labels, ctx.days)], dtype=float)
    probs = assessor._probs(ctx, current)
    zeta = assessor._coverage_logits(probs.X_old, probs.best_old, current, with_bias=True)
    rows = np.flatnonzero(agent & (probs.best_old >= 0))
    yc = covered[rows]
    info["n_coverage"] = int(len(rows))
    if "coverage" not in components:
        notes.append("coverage: not asked for; kept as it was")
    elif len(rows) >= MIN_REVIEWS and min(yc.sum(), len(yc) - yc.sum()) >= 2:
        zr, br, m = zeta[rows], probs.best_old[rows], len(cat)
        grid = [(c, b) for c in STRENGTHS for b in STRENGTHS]
        lam, info["coverage"] = _choose(lambda r, lam: _fit_coverage(zr[r], br[r], yc[r], m, *lam),
                                        lambda p, r: _coverage_loss(zr[r], br[r], yc[r], p), len(rows), grid, seed + 2)
        s, t, beta = _fit_coverage(zr, br, yc, m, *lam)
        if lam[0] >= STRENGTHS[-1]:
            s, t = 1.0, 0.0
        if lam[1] >= STRENGTHS[-1]:
            beta = np.zeros(m)
        step = replace(step, coverage_scale=s, coverage_shift=t,
                       coverage_bias=tuple((g.id, float(v)) for g, v in zip(cat.guidelines, beta) if v))
        current = base.then(step) if base is not None else step
    else:
        notes.append(f"coverage: {len(rows)} reviews of the agent's own topics ({int(yc.sum())} covered), at least "
                     f"{MIN_REVIEWS} with both outcomes needed; kept as it was")
    info["notes"] = notes
    return replace(current, fit=info)


def cross_fit(assessor: "Assessor", requests: Sequence[Request], labels: Sequence[ReviewLabel], folds: int = 5,
              seed: int = 0, components: Sequence[str] = COMPONENTS, gate: bool = True) -> CrossFit:
    """Fold adaptations for labelling with reviews, the full adaptation and cross-validated figures.

    Parameters
    ----------
    assessor : Assessor
        Model and catalogue (and the model's current adaptation, the prior's centre).
    requests, labels : sequences
        The reviewed requests (unique ids) and the reviewer's decisions.
    folds : int
        Number of folds K; each fold adaptation is fitted on the other K - 1 folds' reviews.
    seed : int
        Seed of the fold assignment and of the cross-validation that chooses prior strengths.
    components : sequence of str
        Which of :data:`COMPONENTS` to adapt (all by default).
    gate : bool
        Keep each fold adaptation only where it predicts the avoidable decisions of the
        reviews it was not fitted on better (lower Brier score) than the model as it is,
        checked on the other folds' reviews with adaptations fitted without both folds;
        and the full adaptation only where the cross-validated figures on all reviews show
        the same. A fold adaptation that fails its check is replaced by the model as it is.

    Returns
    -------
    CrossFit
        With fewer than :data:`MIN_REVIEWS` reviews no fold adaptation is fitted: the reviewed
        requests still carry the reviewer's decision, and the model's own predictions stand.
    """
    parts = _components(components)
    ids = [r.id for r in requests]
    if len(set(ids)) != len(ids):
        raise ValueError("cross_fit: reviewed request ids must be unique")
    decisions = dict(zip(ids, labels))
    n = len(requests)
    if n < MIN_REVIEWS:
        return CrossFit(folds=(), fold_of={}, decisions=decisions, full=None, figures={"n_reviews": n},
                        notes=(f"{n} usable review(s): no adaptation (at least {MIN_REVIEWS} needed); the model's own "
                               "assessments are used and the reviewed requests carry the reviewer's decision",))
    k = max(2, min(folds, n))
    order = np.argsort(ids)  # folds by id, whatever the file order
    fold = np.empty(n, dtype=int)
    fold[order] = _folds(n, k, seed)
    ctx = assessor._context(list(requests))
    fit_without = lambda out: _fit(assessor, ctx.take(np.flatnonzero(~np.isin(fold, out))),  # noqa: E731
                                   [labels[i] for i in np.flatnonzero(~np.isin(fold, out))], seed, parts)
    fitted = [fit_without([f]) for f in range(k)]
    full = _fit(assessor, ctx, labels, seed, parts)
    base = assessor.base_adaptation(assessor.catalogue)
    truth = _truth(assessor, ctx, labels)
    notes = list(full.fit.get("notes", ()))
    figures = _cv_figures(assessor, ctx, labels, fitted, fold)
    applied = [True] * k
    if gate:
        # Keep an adaptation only where it predicts held-out reviews' avoidable decisions better
        # than the model as it is. Fold f's own check uses the other folds' reviews only (each
        # predicted by an adaptation fitted without both folds), so a review never decides
        # whether the adaptation that predicts it out of fold is used.
        pair = {(f, g): fit_without([f, g]) for f in range(k) for g in range(f + 1, k)}
        for f in range(k):
            rows = np.flatnonzero(fold != f)
            adapted = [pair[min(f, g), max(f, g)] for g in fold[rows]]
            applied[f] = _improves(assessor, ctx, truth, rows, adapted, base)
        fitted = [a if ok else base for a, ok in zip(fitted, applied)]
        ungated = figures
        figures = _cv_figures(assessor, ctx, labels, fitted, fold)
        figures["ungated_after"] = ungated["after"]
        figures["folds_adapted"] = int(sum(applied))
        if not _better(ungated):
            keep = dict(full.fit, applied=False)
            notes.append("not applied to the saved adaptation: on the reviews, the cross-validated avoidable Brier "
                         f"score after adapting ({ungated['after']['avoidable_brier']}) is not below the model's own "
                         f"({ungated['before']['avoidable_brier']}); the model is kept as it was")
            keep["notes"] = notes
            full = replace(base, fit=keep) if base is not None else Adaptation(catalogue_sha256=full.catalogue_sha256,
                                                                              fit=keep)
        if sum(applied) < k:
            notes.append(f"{k - sum(applied)} of {k} fold adaptation(s) kept the model as it was: they did not predict "
                         "the other folds' reviews better (cross-validated avoidable Brier score)")
    return CrossFit(folds=tuple(fitted), fold_of={i: int(f) for i, f in zip(ids, fold)}, decisions=decisions,
                    full=full, figures=figures, notes=tuple(notes))


def _truth(assessor: "Assessor", ctx, labels: Sequence[ReviewLabel]) -> list[bool | None]:
    """The reviewers' avoidable decisions by the spec's rule."""
    tax, cat = assessor.taxonomy, assessor.catalogue
    return [reviewed_decision(lb, cat, tax, d)[0] for lb, d in zip(labels, ctx.days)]


def _brier(assessor: "Assessor", ctx, truth: Sequence[bool | None], rows: np.ndarray,
           adaptations: Sequence[Adaptation | None]) -> float | None:
    """Mean squared error of the avoidable probability on the given reviews, each under its own adaptation."""
    err = []
    for a in dict.fromkeys(adaptations):  # each distinct adaptation once, on the rows it predicts
        mine = [i for i, b in zip(rows, adaptations) if b == a]
        for i, x in zip(mine, assessor._assess_context(ctx.take(mine), [a])):
            if truth[i] is not None and x.avoidable_probability is not None:
                err.append((x.avoidable_probability - float(truth[i])) ** 2)
    return float(np.mean(err)) if err else None


def _improves(assessor: "Assessor", ctx, truth, rows: np.ndarray, adapted: Sequence[Adaptation],
              base: Adaptation | None) -> bool:
    """Whether the adaptations predict these reviews' avoidable decisions better than the model as it is."""
    after = _brier(assessor, ctx, truth, rows, adapted)
    before = _brier(assessor, ctx, truth, rows, [base] * len(rows))
    return after is not None and before is not None and after < before


def _better(figures: Mapping[str, Any]) -> bool:
    """Whether cross-validated figures show a lower avoidable Brier score after adapting."""
    b, a = (figures.get("before") or {}).get("avoidable_brier"), (figures.get("after") or {}).get("avoidable_brier")
    return a is not None and b is not None and a < b


def _cv_figures(assessor: "Assessor", ctx, labels: Sequence[ReviewLabel], fitted: Sequence[Adaptation],
                fold: np.ndarray) -> dict[str, Any]:
    """Cross-validated before/after figures on the reviews: each review predicted by the fold that never saw it."""
    requests = ctx.reqs
    before = assessor._assess_context(ctx, [assessor.base_adaptation(assessor.catalogue)])
    after: list = [None] * len(requests)
    for f, a in enumerate(fitted):
        rows = np.flatnonzero(fold == f)
        for i, x in zip(rows, assessor._assess_context(ctx.take(rows), [a])):
            after[i] = x
    tax, cat = assessor.taxonomy, assessor.catalogue
    truth = [reviewed_decision(lb, cat, tax, r.local_date or dt.date.today())[0] for lb, r in zip(labels, requests)]
    out: dict[str, Any] = {"n_reviews": len(requests), "folds": len(fitted)}
    for name, res in (("before", before), ("after", after)):
        av = [(a.avoidable == t) for a, t in zip(res, truth) if t is not None and a.avoidable is not None]
        pr = [((a.avoidable_probability or 0.0) - float(t)) ** 2 for a, t in zip(res, truth)
              if t is not None and a.avoidable_probability is not None]
        out[name] = {
            "topic_accuracy": round(float(np.mean([a.topic == lb.topic for a, lb in zip(res, labels)])), 4),
            "guideline_accuracy": round(float(np.mean([a.guideline_id == lb.guideline_id for a, lb in zip(res, labels)])), 4),
            "avoidable_accuracy": round(float(np.mean(av)), 4) if av else None,
            "avoidable_brier": round(float(np.mean(pr)), 4) if pr else None,
            "avoidable_share": round(float(np.mean([a.avoidable_probability or 0.0 for a in res])), 4),
        }
    decided = [bool(t) for t in truth if t is not None]
    out["reviewed_avoidable_share"] = round(float(np.mean(decided)), 4) if decided else None
    return out
