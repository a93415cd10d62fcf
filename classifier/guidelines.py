"""Guideline catalogue, Finnish-aware retrieval, the coverage decision and the avoidable decision.

Retrieval scores every guideline against a request with generic features (BM25 and TF-IDF
cosine over the classifier's lemma tokens, title overlap, agreement between the request's
topic probabilities and the guideline's topics). A small logistic model learned from
labelled requests turns the features into a match probability; a coverage threshold,
calibrated on labelled data, decides whether the best guideline actually answers the
request. Nothing depends on the shipped catalogue: a user's catalogue drops in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from .errors import CatalogueError
from .records import Guideline, Request, Taxonomy, local_date, parse_datetime

__all__ = ["Catalogue", "Assessment", "Assessor", "REASONS", "UNDECIDED_REASONS", "FEATURES", "fit_matcher"]

REASONS = ("misrouted", "guideline_existed", "back_office_remit", "guideline_came_later", "no_guideline",
           "uncertain_topic", "no_catalogue", "no_text")
# reasons under which no avoidable decision is made (the row's ``avoidable`` is null)
UNDECIDED_REASONS = ("no_catalogue", "no_text")
FEATURES = ("bm25_rel", "bm25_q", "cosine", "title_overlap", "topic_prob", "topic_top", "rank_inv", "covered_share")
COVERAGE_FEATURES = ("score", "cosine", "covered_share", "bm25_q", "margin")
# Used until a matcher is learned from labelled requests: roughly what the learned weights look like.
DEFAULT_MATCHER = {"features": list(FEATURES), "coef": [2.0, 1.0, 4.0, 1.0, 3.0, 1.0, 1.0, 2.0], "intercept": -8.0,
                   "coverage_threshold": 0.5}


def _passthrough(tokens):
    """Analyzer for pre-tokenised input."""
    return tokens


class Catalogue:
    """A guideline catalogue indexed for retrieval.

    Parameters
    ----------
    guidelines : sequence of Guideline
    processor : TextProcessor
        The classifier's text processor, so requests and guidelines meet on the same lemmas.
    taxonomy : Taxonomy, optional
        When given, guideline topics outside it raise ``CatalogueError``.
    """

    def __init__(self, guidelines: Sequence[Guideline], processor, taxonomy: Taxonomy | None = None,
                 k1: float = 1.2, b: float = 0.75, term_weights: dict[str, float] | None = None) -> None:
        ids = [g.id for g in guidelines]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise CatalogueError(f"duplicate guideline ids: {', '.join(sorted(dup))}")
        if taxonomy is not None:
            for g in guidelines:
                bad = [t for t in g.topics if t not in taxonomy]
                if bad:
                    raise CatalogueError(f"guideline {g.id}: unknown topic {bad[0]!r}; valid topics: {', '.join(taxonomy.ids)}")
        self.guidelines = list(guidelines)
        self.processor = processor
        # How much each request word says about the situation (IDF over requests, from the
        # classifier); words the catalogue never uses still count against coverage.
        self.term_weights = term_weights or {}
        self.index = {g.id: i for i, g in enumerate(self.guidelines)}
        self._published = np.array([g.published.toordinal() for g in self.guidelines], dtype=np.int64)
        self._retired = np.array([g.retired.toordinal() if g.retired else 10**9 for g in self.guidelines], dtype=np.int64)
        if not self.guidelines:
            return
        title_toks = [processor.tokens(g.title) for g in self.guidelines]
        docs = [t * 2 + processor.tokens(g.body) for t, g in zip(title_toks, self.guidelines)]
        self._count = CountVectorizer(analyzer=_passthrough)
        tf = self._count.fit_transform(docs).astype(np.float32).tocsr()
        n = tf.shape[0]
        df = np.asarray((tf > 0).sum(axis=0)).ravel()
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
        dl = np.asarray(tf.sum(axis=1)).ravel()
        avgdl = dl.mean() if n else 1.0
        tf = tf.tocoo()
        denom = tf.data + k1 * (1 - b + b * dl[tf.row] / avgdl)
        w = idf[tf.col] * tf.data * (k1 + 1) / denom
        self._bm25 = sp.csr_matrix((w, (tf.row, tf.col)), shape=tf.shape)
        self._tfidf = TfidfVectorizer(analyzer=_passthrough, sublinear_tf=True)
        self._tfidf_docs = self._tfidf.fit_transform(docs)
        self._presence = (self._bm25 > 0).astype(np.float32).T.tocsr()  # vocab x guidelines
        # title words as a vocab x guidelines 0/1 matrix: overlap with a request is one sparse product
        tp = self._count.transform(title_toks)
        tp.data[:] = 1.0
        self._title_presence = tp.T.tocsr().astype(np.float32)
        self._title_sizes = np.asarray(tp.sum(axis=1), dtype=np.float32).ravel()
        self._topic_sets = [set(g.topics) for g in self.guidelines]

    def __len__(self) -> int:
        return len(self.guidelines)

    def __getitem__(self, gid: str) -> Guideline:
        return self.guidelines[self.index[gid]]

    @classmethod
    def from_file(cls, path: str | Path | None, processor, taxonomy: Taxonomy | None = None) -> "Catalogue":
        """Read and index a catalogue file (JSONL / CSV / Parquet); the shipped one with no path."""
        from .io import read_guidelines

        return cls(read_guidelines(path, taxonomy), processor, taxonomy)

    def in_force_mask(self, day: dt.date) -> np.ndarray:
        """Boolean mask of guidelines in force on ``day``."""
        o = day.toordinal()
        return (self._published <= o) & (o <= self._retired)

    def features(self, texts: Sequence[str], topic_proba: np.ndarray | None, classes: Sequence[str]) -> np.ndarray:
        """Feature tensor of shape (n_texts, n_guidelines, n_features), in ``FEATURES`` order."""
        m = len(self.guidelines)
        out = np.zeros((len(texts), m, len(FEATURES)), dtype=np.float32)
        if m == 0 or not texts:
            return out
        toks = [self.processor.tokens(t) for t in texts]
        q = self._count.transform(toks)
        q.data[:] = 1.0
        bm = np.asarray((q @ self._bm25.T).todense(), dtype=np.float32)
        qlen = np.maximum(1.0, np.asarray(q.sum(axis=1)).ravel())[:, None]
        cos = np.asarray((self._tfidf.transform(toks) @ self._tfidf_docs.T).todense(), dtype=np.float32)
        bmax = np.maximum(bm.max(axis=1, keepdims=True), 1e-6)
        ranks = np.argsort(np.argsort(-bm, axis=1), axis=1) + 1
        out[:, :, 0] = bm / bmax
        out[:, :, 1] = bm / qlen
        out[:, :, 2] = cos
        shared = np.asarray((q @ self._title_presence).todense(), dtype=np.float32)
        sizes = self._title_sizes
        out[:, :, 3] = np.divide(shared, sizes, out=np.zeros_like(shared), where=sizes > 0)
        if topic_proba is not None:
            cidx = {c: k for k, c in enumerate(classes)}
            gmask = np.zeros((len(classes), m), dtype=np.float32)
            for j, ts in enumerate(self._topic_sets):
                for t in ts:
                    if t in cidx:
                        gmask[cidx[t], j] = 1.0
            out[:, :, 4] = topic_proba @ gmask
            top = topic_proba.argmax(axis=1)
            out[:, :, 5] = gmask[top]
        out[:, :, 6] = 1.0 / ranks
        vocab = self._count.vocabulary_
        tw = self.term_weights
        rows, cols, vals, totals = [], [], [], np.zeros(len(texts), dtype=np.float32)
        for i, tk in enumerate(toks):
            for t in set(tk):
                if t.startswith("["):
                    continue
                w = tw.get(t, 1.0)
                totals[i] += w
                j = vocab.get(t)
                if j is not None:
                    rows.append(i); cols.append(j); vals.append(w)
        qw = sp.csr_matrix((vals, (rows, cols)), shape=(len(texts), len(vocab)), dtype=np.float32)
        covered = np.asarray((qw @ self._presence).todense(), dtype=np.float32)
        out[:, :, 7] = covered / np.maximum(totals, 1e-6)[:, None]
        return out


def coverage_features(feats: np.ndarray, scores: np.ndarray, pool: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best guideline within ``pool`` (boolean per request x guideline) and its coverage features.

    Returns ``(best_index, X)`` where X has ``COVERAGE_FEATURES`` columns; requests with an
    empty pool get index -1 and zeros.
    """
    n = scores.shape[0]
    masked = np.where(pool, scores, -1.0)
    order = np.argsort(-masked, axis=1)
    best = order[:, 0] if scores.shape[1] else np.full(n, -1)
    X = np.zeros((n, len(COVERAGE_FEATURES)), dtype=np.float32)
    for i in range(n):
        j = best[i]
        if scores.shape[1] == 0 or masked[i, j] < 0:
            best[i] = -1
            continue
        second = masked[i, order[i, 1]] if scores.shape[1] > 1 else -1.0
        X[i] = (scores[i, j], feats[i, j, FEATURES.index("cosine")], feats[i, j, FEATURES.index("covered_share")],
                feats[i, j, FEATURES.index("bm25_q")], scores[i, j] - max(second, 0.0))
    return best, X


def _coverage_prob(X: np.ndarray, model: dict[str, Any]) -> np.ndarray:
    """Probability that the best guideline really covers the request."""
    z = X @ np.asarray(model["coef"], dtype=np.float32) + float(model["intercept"])
    return 1.0 / (1.0 + np.exp(-z))


def _score(feats: np.ndarray, settings: dict[str, Any]) -> np.ndarray:
    """Match probability from features with a logistic model stored as plain numbers."""
    names = settings.get("features", list(FEATURES))
    if len(names) != len(settings["coef"]):
        raise ValueError(f"matcher settings name {len(names)} features but have {len(settings['coef'])} weights")
    coef = np.asarray(settings["coef"], dtype=np.float32)
    idx = [FEATURES.index(n) for n in names]
    z = feats[..., idx] @ coef + float(settings["intercept"])
    return 1.0 / (1.0 + np.exp(-z))


def fit_matcher(catalogue: Catalogue, texts: Sequence[str], gold: Sequence[str | None], topic_proba: np.ndarray,
                classes: Sequence[str], C: float = 1.0, days: Sequence[dt.date | None] | None = None,
                agent_topic: Sequence[bool] | None = None) -> dict[str, Any]:
    """Learn match weights and the coverage threshold from labelled requests.

    Weights come from a logistic regression over (request, guideline) pairs of requests
    whose ``guideline_id`` is set. The coverage threshold is chosen on out-of-fold scores
    (never on the pairs the weights were fitted to): with ``days`` (request dates) and
    ``agent_topic`` (gold topic is neither back-office remit nor misrouted) it maximises the
    accuracy of "a guideline in force that day covers the request", which is what the
    avoidable decision uses; otherwise of "some guideline covers the request".

    Returns a JSON-ready dict stored in ``model.json`` under ``matcher``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold

    feats = catalogue.features(texts, topic_proba, classes)
    gold_idx = np.array([catalogue.index.get(g, -1) if g else -1 for g in gold])
    n = len(texts)
    oof = np.zeros((n, len(catalogue)), dtype=np.float32)

    def fit_on(rows: np.ndarray) -> dict[str, Any]:
        rows = rows[gold_idx[rows] >= 0]
        Xp = feats[rows].reshape(-1, len(FEATURES))
        yp = np.zeros((len(rows), len(catalogue)), dtype=int)
        yp[np.arange(len(rows)), gold_idx[rows]] = 1
        lr = LogisticRegression(C=C, max_iter=2000, class_weight="balanced")
        lr.fit(Xp, yp.ravel())
        return {"features": list(FEATURES), "coef": [float(c) for c in lr.coef_[0]], "intercept": float(lr.intercept_[0])}

    kf = KFold(n_splits=5, shuffle=True, random_state=0)
    for tr, te in kf.split(np.arange(n)):
        s = fit_on(tr)
        oof[te] = _score(feats[te], s)
    settings = fit_on(np.arange(n))
    best_any = oof.argmax(axis=1)
    has = gold_idx >= 0
    if days is not None and agent_topic is not None:
        # The decision that matters: "a guideline in force on the request's date covers it".
        rows = np.array([i for i in range(n) if agent_topic[i] and days[i] is not None], dtype=int)
        pool = np.array([catalogue.in_force_mask(days[i]) for i in rows]).reshape(len(rows), len(catalogue))
        should = np.array([gold_idx[i] >= 0 and bool(pool[k, gold_idx[i]]) for k, i in enumerate(rows)])
        criterion = "in-force coverage of agent-topic requests"
    else:
        rows = np.arange(n)
        pool = np.ones((n, len(catalogue)), dtype=bool)
        should = has
        criterion = "coverage of any request"
    _, Xc = coverage_features(feats[rows], oof[rows], pool)
    report: dict[str, Any] = {"n_requests": int(n), "n_with_guideline": int(has.sum()), "threshold_criterion": criterion,
                              "n_coverage_rows": int(len(rows)),
                              "oof_top1": float((best_any[has] == gold_idx[has]).mean()) if has.any() else None}
    if len(rows) >= 20 and 0 < should.sum() < len(rows):
        # a second, small model: does the best candidate really cover the request, or is it only the nearest?
        cov_oof = np.zeros(len(rows))
        for tr, te in KFold(n_splits=5, shuffle=True, random_state=1).split(rows):
            if len(set(should[tr])) < 2:
                cov_oof[te] = should[tr].mean()
                continue
            lr = LogisticRegression(C=C, max_iter=2000).fit(Xc[tr], should[tr])
            cov_oof[te] = lr.predict_proba(Xc[te])[:, 1]
        lr = LogisticRegression(C=C, max_iter=2000).fit(Xc, should)
        settings["coverage_model"] = {"features": list(COVERAGE_FEATURES), "coef": [float(c) for c in lr.coef_[0]],
                                      "intercept": float(lr.intercept_[0])}
        settings["coverage_threshold"] = 0.5
        report["oof_coverage_accuracy"] = float(((cov_oof >= 0.5) == should).mean())
        report["majority_baseline"] = float(max(should.mean(), 1 - should.mean()))
    else:
        # too few rows for a model: a threshold on the match score, the middle of the best plateau
        pbest = Xc[:, 0]
        cands = np.unique(np.concatenate([[0.0, 1.0], pbest]))
        accs = [((pbest >= t) == should).mean() for t in cands] if len(pbest) else [1.0]
        k = int(np.argmax(accs))
        ties = [i for i, a in enumerate(accs) if a == accs[k]]
        settings["coverage_threshold"] = float((cands[ties[0]] + cands[ties[-1]]) / 2)
        report["oof_coverage_accuracy"] = float(max(accs))
    settings["fit_report"] = report
    return settings


def catalogue_mismatch(guidelines: Iterable[Guideline], labels: Iterable[str]) -> str | None:
    """The warning to give when a catalogue's topics are outside a model's label set, else None."""
    known = set(labels)
    unknown = sorted({t for g in guidelines for t in g.topics if t not in known})
    if not unknown:
        return None
    return (f"guideline catalogue topics {', '.join(unknown[:5])} are not in the model's label set; "
            "guideline matching is skipped (give a catalogue in the model's taxonomy)")


@dataclass(frozen=True)
class Assessment:
    """Topic, guideline match and avoidable decision for one request."""

    id: str
    topic: str
    topic_best: str
    confidence: float
    candidates: tuple[tuple[str, float], ...]
    topic_status: str
    guideline_id: str | None
    guideline_score: float | None
    avoidable: bool | None
    reason: str
    later_guideline_id: str | None = None
    top_guidelines: tuple[tuple[str, float], ...] = ()
    assessed_on: str | None = None
    flags: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """The ``predicted`` block of an output row."""
        return {
            "topic": self.topic, "status": self.topic_status, "confidence": round(self.confidence, 4),
            "candidates": [[t, round(p, 4)] for t, p in self.candidates],
            "guideline_id": self.guideline_id,
            "guideline_score": None if self.guideline_score is None else round(self.guideline_score, 4),
            "avoidable": self.avoidable, "reason": self.reason, "later_guideline_id": self.later_guideline_id,
            "assessed_on": self.assessed_on, "flags": list(self.flags),
        }


class Assessor:
    """Topic + guideline + avoidable decision, for one request or a batch.

    Parameters
    ----------
    model : Model
        A loaded model (``classifier.load()``).
    catalogue : Catalogue, path, None or False
        The guideline catalogue; a path is read and indexed; ``None`` uses the catalogue
        stored with the model (the shipped one for the default model). ``False``, or a model
        trained without a catalogue, skips guideline matching: requests whose avoidability
        depends on a guideline get ``avoidable=None`` with reason ``no_catalogue``.
    taxonomy : Taxonomy, optional
        Remit and misrouted flags; defaults to the taxonomy stored with the model.
    mode : str
        Abstention mode passed to :meth:`TopicClassifier.predict_detailed`.
    """

    def __init__(self, model, catalogue=None, taxonomy: Taxonomy | None = None, mode: str = "pre-select",
                 threshold: float | None = None) -> None:
        self.model = model
        self.taxonomy = taxonomy or model.taxonomy
        self.mode = mode
        self.threshold = threshold
        self.warnings: list[str] = []
        clf = model.predictor
        if catalogue is None:
            # the catalogue the model was trained with (in memory, or stored in its directory);
            # a model trained without one has none
            if model.catalogue is not None:
                catalogue = list(model.catalogue)
            else:
                catalogue = model.catalogue_path or False
        if catalogue is False:
            self.catalogue = None
        elif isinstance(catalogue, Catalogue):
            self.catalogue = catalogue
        else:
            from .io import read_guidelines

            gl = catalogue if isinstance(catalogue, list) else read_guidelines(catalogue, None)
            mismatch = catalogue_mismatch(gl, model.labels)
            if mismatch:
                self.catalogue = None
                self.warnings.append(mismatch)
            else:
                self.catalogue = Catalogue(gl, clf.processor_, term_weights=clf.term_weights())
        self.settings = model.matcher_settings or dict(DEFAULT_MATCHER)

    def assess(self, requests: Iterable[Request | str], today: dt.date | None = None) -> list[Assessment]:
        """Assess requests (records, or bare texts assessed as of today)."""
        reqs = [r if isinstance(r, Request) else Request(id=str(i), text=str(r)) for i, r in enumerate(requests)]
        if not reqs:
            return []
        clf = self.model.predictor
        texts = [r.model_input for r in reqs]
        proba = clf.predict_proba(texts)
        preds = clf.predict_detailed(texts, mode=self.mode, threshold=self.threshold, proba=proba)
        classes = [str(c) for c in clf.classes_]
        cat = self.catalogue
        if cat is not None and len(cat):
            feats = cat.features(texts, proba, classes)
            scores = _score(feats, self.settings)
        else:
            scores = None
        today = today or dt.date.today()
        # per class: misrouted (always avoidable) / agent's own task (avoidable when a guideline covers it)
        info = [self.taxonomy[c] if c in self.taxonomy else None for c in classes]
        misrouted_cls = np.array([ci is not None and ci.misrouted for ci in info], dtype=float)
        agent_cls = np.array([ci is None or (not ci.misrouted and not ci.back_office_remit) for ci in info], dtype=float)
        out = []
        for i, (r, p) in enumerate(zip(reqs, preds)):
            flags = list(p.flags)
            day = r.local_date
            if day is None:
                day = today
                flags.append("no_sent_at:assessed_against_catalogue_today")
            gid = gscore = later = None
            top: tuple[tuple[str, float], ...] = ()
            existing_covers = later_covers = False
            if scores is not None:
                s = scores[i]
                order = np.argsort(-s)
                top = tuple((cat.guidelines[j].id, float(s[j])) for j in order[:3])
                existing = cat.in_force_mask(day)[None, :]
                newer = (cat._published > day.toordinal())[None, :]
                j_old, x_old = coverage_features(feats[i:i + 1], s[None, :], existing)
                j_new, x_new = coverage_features(feats[i:i + 1], s[None, :], newer)
                if j_old[0] >= 0:
                    gid, gscore = cat.guidelines[j_old[0]].id, float(s[j_old[0]])
                    existing_covers = self._covers(x_old)
                if j_new[0] >= 0 and self._covers(x_new) and (not existing_covers or s[j_new[0]] > gscore):
                    later = cat.guidelines[j_new[0]].id
                    later_covers = True
                if not existing_covers:
                    if later_covers:
                        gid, gscore = later, float(s[cat.index[later]])
                    else:
                        gid = None
            topic = p.topic
            cinfo = self.taxonomy[topic] if topic in self.taxonomy else None
            if "no_text" in p.flags:
                avoidable, reason, gid, later, top = None, "no_text", None, None, ()
            elif p.status == "uncertain" and cat is None:
                avoidable, reason = None, "no_catalogue"
            elif p.status == "uncertain":
                # still decide, by the probability mass of the topics under which it would be avoidable
                p_avoid = float(proba[i] @ misrouted_cls) + (float(proba[i] @ agent_cls) if existing_covers else 0.0)
                avoidable, reason = bool(p_avoid >= 0.5), "uncertain_topic"
            elif cinfo is not None and cinfo.misrouted:
                avoidable, reason = True, "misrouted"
            elif cinfo is not None and cinfo.back_office_remit:
                avoidable, reason = False, "back_office_remit"
            elif cat is None:
                avoidable, reason = None, "no_catalogue"
            elif existing_covers:
                avoidable, reason = True, "guideline_existed"
            elif later_covers:
                avoidable, reason = False, "guideline_came_later"
            else:
                avoidable, reason = False, "no_guideline"
            out.append(Assessment(
                id=r.id, topic=topic, topic_best=p.best, confidence=p.confidence, candidates=p.candidates,
                topic_status=p.status, guideline_id=gid, guideline_score=gscore, avoidable=avoidable,
                reason=reason, later_guideline_id=later, top_guidelines=top, assessed_on=day.isoformat(),
                flags=tuple(flags)))
        return out

    def _covers(self, x: np.ndarray) -> bool:
        """Coverage decision for one candidate's coverage features."""
        cm = self.settings.get("coverage_model")
        thr = float(self.settings.get("coverage_threshold", 0.5))
        if cm:
            return bool(_coverage_prob(x, cm)[0] >= thr)
        return bool(x[0, 0] >= thr)

    def assess_one(self, text: str, sent_at: Any = None, subject: str | None = None, id: str = "0") -> Assessment:
        """Assess one request given as text and optional send time."""
        r = Request(id=id, text=text, subject=subject, sent_at=parse_datetime(sent_at))
        return self.assess([r])[0]
