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
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from .errors import CatalogueError
from .records import Guideline, Request, Taxonomy, parse_datetime
from .rules import REASONS, UNDECIDED_REASONS, avoidable_reason
from .predictor import tfidf_rows

__all__ = ["Catalogue", "Assessment", "Assessor", "REASONS", "UNDECIDED_REASONS", "FEATURES", "fit_matcher"]

# (request, guideline) pair features; the matcher ranks with MATCH_FEATURES, "log_qlen" (the
# request's length) is the same for every guideline and only feeds the coverage model
FEATURES = ("bm25_rel", "bm25_q", "cosine", "title_overlap", "topic_prob", "topic_top", "rank_inv", "covered_share",
            "log_qlen", "passage_share", "rare_share")
MATCH_FEATURES = FEATURES[:8] + ("passage_share", "rare_share")
# Coverage ("does the best candidate in force really cover the request?") reads only features
# that mean the same in any catalogue: probabilities, shares, and scores normalised within the
# catalogue (z-score, margin over the runner-up, ratio to the best), never raw BM25 sizes.
COVERAGE_FEATURES = ("score", "margin", "covered_share", "cosine", "bm25_z", "bm25_rel", "topic_prob", "log_qlen",
                     "passage_share", "rare_share", "outside_gap")
# Used until a matcher is learned from labelled requests: roughly what the learned weights look like.
DEFAULT_MATCHER = {"features": list(MATCH_FEATURES), "coef": [2.0, 1.0, 4.0, 1.0, 3.0, 1.0, 1.0, 2.0], "intercept": -8.0,
                   "coverage_threshold": 0.5}



class _TermIndex:
    """Vocabulary of pre-tokenised documents and their count matrices (what CountVectorizer does, without it)."""

    def __init__(self, docs: Sequence[Sequence[str]]) -> None:
        vocab: dict[str, int] = {}
        for d in docs:
            for t in d:
                if t not in vocab:
                    vocab[t] = len(vocab)
        self.vocabulary_ = vocab

    def _rows(self, docs: Sequence[Sequence[str]]) -> tuple[list[int], list[int]]:
        """CSR row pointers and column indices of the known tokens (repeats kept)."""
        vocab, indptr, indices = self.vocabulary_, [0], []
        for d in docs:
            indices.extend(j for t in d if (j := vocab.get(t)) is not None)
            indptr.append(len(indices))
        return indptr, indices

    def transform(self, docs: Sequence[Sequence[str]]) -> sp.csr_matrix:
        """Token counts, shape (n_docs, n_terms), float32."""
        indptr, indices = self._rows(docs)
        m = sp.csr_matrix((np.ones(len(indices), dtype=np.float32), np.asarray(indices, dtype=np.int64),
                           np.asarray(indptr, dtype=np.int64)), shape=(len(docs), len(self.vocabulary_)))
        m.sum_duplicates()
        return m

    def tfidf(self, docs: Sequence[Sequence[str]], idf: np.ndarray) -> sp.csr_matrix:
        """Sublinear-tf, idf-weighted, l2-normalised rows."""
        return tfidf_rows(*self._rows(docs), idf)


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
        self._count = _TermIndex(docs)
        tf = self._count.transform(docs)
        n = tf.shape[0]
        df = np.asarray((tf > 0).sum(axis=0)).ravel()
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
        dl = np.asarray(tf.sum(axis=1)).ravel()
        avgdl = dl.mean() if n else 1.0
        tf = tf.tocoo()
        denom = tf.data + k1 * (1 - b + b * dl[tf.row] / avgdl)
        w = idf[tf.col] * tf.data * (k1 + 1) / denom
        self._bm25 = sp.csr_matrix((w, (tf.row, tf.col)), shape=tf.shape)
        # TF-IDF as scikit-learn's TfidfVectorizer(sublinear_tf=True) computes it (smooth idf, l2 norm)
        self._tfidf_idf = (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)
        self._tfidf_docs = self._count.tfidf(docs, self._tfidf_idf)
        self._presence = (self._bm25 > 0).astype(np.float32).T.tocsr()  # vocab x guidelines
        # title words as a vocab x guidelines 0/1 matrix: overlap with a request is one sparse product
        tp = self._count.transform(title_toks)
        tp.data[:] = 1.0
        self._title_presence = tp.T.tocsr().astype(np.float32)
        self._title_sizes = np.asarray(tp.sum(axis=1), dtype=np.float32).ravel()
        self._topic_sets = [set(g.topics) for g in self.guidelines]
        self.handoff = np.array([is_handoff_title(g.title) for g in self.guidelines], dtype=float)
        # passages: the title with each paragraph or few sentences of the body, so that "one
        # passage speaks of this situation" can be told from "the words are spread over a long text"
        p_docs, owner = [], []
        for j, (tt, g) in enumerate(zip(title_toks, self.guidelines)):
            for chunk in _passages(g.body):
                p_docs.append(tt + processor.tokens(chunk))
                owner.append(j)
        pp = self._count.transform(p_docs)
        pp.data[:] = 1.0
        self._passage_presence = pp.T.tocsr().astype(np.float32)  # vocab x passages
        self._passage_owner = np.asarray(owner, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.guidelines)

    def __getitem__(self, gid: str) -> Guideline:
        return self.guidelines[self.index[gid]]

    @classmethod
    def from_file(cls, path: str | Path | None, processor, taxonomy: Taxonomy | None = None) -> "Catalogue":
        """Read and index a catalogue file (JSONL / CSV / Parquet); the shipped one with no path."""
        from .io import read_guidelines

        return cls(read_guidelines(path, taxonomy), processor, taxonomy)

    def topic_mask(self, topic: str) -> np.ndarray:
        """Boolean mask of the guidelines tagged with ``topic`` (computed once per topic)."""
        masks = self.__dict__.setdefault("_topic_masks", {})
        got = masks.get(topic)
        if got is None:
            got = masks[topic] = np.array([topic in ts for ts in self._topic_sets], dtype=bool)
        return got

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
        cos = np.asarray((self._count.tfidf(toks, self._tfidf_idf) @ self._tfidf_docs.T).todense(), dtype=np.float32)
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
        r_rows, r_cols, r_n = [], [], np.zeros(len(texts), dtype=np.float32)
        for i, tk in enumerate(toks):
            weighted = []
            for t in set(tk):
                if t.startswith("["):
                    continue
                w = tw.get(t, 1.0)
                totals[i] += w
                weighted.append((w, t))
                j = vocab.get(t)
                if j is not None:
                    rows.append(i); cols.append(j); vals.append(w)
            # the request's rarest words name its situation; a guideline that lacks them covers
            # something else ("aurinkopaneeli" is in no guideline about contracts)
            rare = sorted(weighted, reverse=True)[:_N_RARE]
            r_n[i] = len(rare)
            for _, t in rare:
                j = vocab.get(t)
                if j is not None:
                    r_rows.append(i); r_cols.append(j)
        qw = sp.csr_matrix((vals, (rows, cols)), shape=(len(texts), len(vocab)), dtype=np.float32)
        covered = np.asarray((qw @ self._presence).todense(), dtype=np.float32)
        out[:, :, 7] = covered / np.maximum(totals, 1e-6)[:, None]
        out[:, :, 8] = np.log(qlen)
        share = np.asarray((qw @ self._passage_presence).todense(), dtype=np.float32) / np.maximum(totals, 1e-6)[:, None]
        best = np.zeros((len(texts), m), dtype=np.float32)
        np.maximum.at(best.T, self._passage_owner, share.T)
        out[:, :, 9] = best
        qr = sp.csr_matrix((np.ones(len(r_rows), dtype=np.float32), (r_rows, r_cols)), shape=(len(texts), len(vocab)))
        out[:, :, 10] = np.asarray((qr @ self._presence).todense(), dtype=np.float32) / np.maximum(r_n, 1.0)[:, None]
        return out


# Word stems that mark a hand-off instruction's title ("send it to the contract team", the spec's
# words): request, forwarding, sending, the team or service that receives it, its form.
HANDOFF_TITLE_STEMS = ("pyyntö", "pyynnö", "pyynnön", "välit", "lähet", "lähettä", "tiimi", "palveluille",
                       "palvelulle", "back office", "lomake", "siirto", "ohjaus", "ohjaaminen")


def is_handoff_title(title: str) -> bool:
    """Whether a guideline's title names handing a request over (a hand-off instruction)."""
    t = (title or "").lower()
    return any(stem in t for stem in HANDOFF_TITLE_STEMS)


_N_RARE = 5
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n\s*\n|\n(?=\s*(?:\d+[.)]|[-•*]))")


def _passages(body: str, max_words: int = 45) -> list[str]:
    """Split a guideline body into passages of whole sentences (paragraphs and list items kept apart)."""
    parts = [p.strip() for p in _SENTENCE_END.split(body or "") if p and p.strip()]
    out: list[str] = []
    cur: list[str] = []
    n = 0
    for p in parts:
        w = len(p.split())
        if cur and n + w > max_words:
            out.append(" ".join(cur))
            cur, n = [], 0
        cur.append(p)
        n += w
    if cur:
        out.append(" ".join(cur))
    return out or [""]


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


def _score(feats: np.ndarray, settings: dict[str, Any]) -> np.ndarray:
    """Match probability from features with a logistic model stored as plain numbers."""
    names = settings.get("features", list(MATCH_FEATURES))
    if len(names) != len(settings["coef"]):
        raise ValueError(f"matcher settings name {len(names)} features but have {len(settings['coef'])} weights")
    coef = np.asarray(settings["coef"], dtype=np.float32)
    idx = [FEATURES.index(n) for n in names]
    z = feats[..., idx] @ coef + float(settings["intercept"])
    return 1.0 / (1.0 + np.exp(-z))


def fit_matcher(catalogue: Catalogue, texts: Sequence[str], gold: Sequence[str | None], topic_proba: np.ndarray,
                classes: Sequence[str], C: float = 1.0, days: Sequence[dt.date | None] | None = None,
                agent_topic: Sequence[bool] | None = None, taxonomy: Taxonomy | None = None,
                gold_avoidable: Sequence[bool | None] | None = None, seed: int = 0) -> dict[str, Any]:
    """Learn match weights, a coverage model that transfers to other catalogues, and calibration data.

    - **Ranking**: a logistic regression over (request, guideline) pairs of requests whose
      ``guideline_id`` is set, on ``MATCH_FEATURES``.
    - **Coverage** ("a guideline in force on the request's day covers it", for requests whose
      gold topic the agent handles, ``agent_topic``): a logistic regression on
      ``COVERAGE_FEATURES`` of the best in-force candidate, with ranking scores from
      out-of-fold matchers. Besides the catalogue as it is, every covered request is also
      seen against catalogue variants: without its guideline (so the nearest remaining one
      must be recognised as *not* covering: what an unseen catalogue's gaps look like) and
      with a random part of the other guidelines removed (so margins and z-scores vary). The
      result is Platt-scaled on out-of-fold predictions for the real catalogue.
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
    rng = np.random.default_rng(seed)

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
    settings["fit_report"] = report
    return settings


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


NO_CATALOGUE_WARNING = ("the model was trained without a guideline catalogue and none was given (--guidelines): "
                        "avoidable decisions that depend on a guideline are null with reason no_catalogue")


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
    coverage_probability: float | None = None
    avoidable_probability: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``predicted`` block of an output row."""
        return {
            "topic": self.topic, "status": self.topic_status, "confidence": round(self.confidence, 4),
            "candidates": [[t, round(p, 4)] for t, p in self.candidates],
            "guideline_id": self.guideline_id,
            "guideline_score": None if self.guideline_score is None else round(self.guideline_score, 4),
            "avoidable": self.avoidable, "reason": self.reason, "later_guideline_id": self.later_guideline_id,
            "coverage_probability": None if self.coverage_probability is None else round(self.coverage_probability, 4),
            "avoidable_probability": None if self.avoidable_probability is None else round(self.avoidable_probability, 4),
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
                    self.warnings.append(NO_CATALOGUE_WARNING)
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
        self.uncovered_topics: tuple[str, ...] = ()
        if self.catalogue is not None:
            tagged = {t for g in self.catalogue.guidelines for t in g.topics}
            self.uncovered_topics = tuple(t for t in model.labels if t not in tagged)
            if self.uncovered_topics and len(self.catalogue):
                self.warnings.append(
                    f"the catalogue has no guideline for topic(s) {', '.join(self.uncovered_topics)}: their requests "
                    "are flagged catalogue_has_no_guideline_for_topic (remit and misrouted ones get no hand-off or "
                    "routing guideline; others can still match a guideline of another topic)")
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
        have_catalogue = cat is not None  # an empty catalogue is a catalogue: nothing in it covers anything
        today = today or dt.date.today()
        tax = self.taxonomy
        days, day_flags = [], []
        for r in reqs:
            d = r.local_date
            day_flags.append(d is None)
            days.append(d or today)
        cov = np.zeros(len(reqs))
        best_old = np.full(len(reqs), -1)
        if scores is not None:
            pools = np.array([cat.in_force_mask(d) for d in days])  # in force on each request's day
            best_old, X_old = coverage_features(feats, scores, pools)
            cov = np.where(best_old >= 0, self._coverage_prob(X_old), 0.0)
            later_pool = np.array([cat._published > d.toordinal() for d in days])
            best_new, X_new = coverage_features(feats, scores, later_pool)
            cov_new = np.where(best_new >= 0, self._coverage_prob(X_new), 0.0)
        p_avoid = avoidable_probability(proba, classes, tax, cov)
        thr = float(self.settings.get("coverage_threshold", 0.5))
        out = []
        for i, (r, p) in enumerate(zip(reqs, preds)):
            flags = list(p.flags)
            day = days[i]
            if day_flags[i]:
                flags.append("no_sent_at:assessed_against_catalogue_today")
            if p.topic in self.uncovered_topics:
                flags.append("catalogue_has_no_guideline_for_topic")
            topic = p.topic
            cinfo = tax[topic] if topic in tax else None
            gid = gscore = later = None
            top: tuple[tuple[str, float], ...] = ()
            covers = bool(cov[i] >= thr)
            if scores is not None:
                s = scores[i]
                if cinfo is not None and not cinfo.agents_own:
                    # the spec's convention: name the hand-off (remit) or routing (misrouted)
                    # instruction for this topic, preferring one in force that day; for remit
                    # topics an instruction about handing the request over comes before
                    # guidelines that explain the subject (training material, error codes)
                    rank = s + pools[i] + (2.0 * cat.handoff if cinfo.back_office_remit else 0.0)
                    rank = np.where(cat.topic_mask(topic), rank, -np.inf)
                    order = [j for j in np.argsort(-rank) if np.isfinite(rank[j])]
                    if order:
                        gid, gscore = cat.guidelines[order[0]].id, float(s[order[0]])
                    named = set(order)
                    rest = [j for j in np.argsort(-s) if j not in named]
                    top = tuple((cat.guidelines[j].id, float(s[j])) for j in (order + rest)[:3])
                else:
                    top = tuple((cat.guidelines[j].id, float(s[j])) for j in np.argsort(-s)[:3])
                    if best_old[i] >= 0 and covers:
                        gid, gscore = cat.guidelines[best_old[i]].id, float(s[best_old[i]])
                    elif best_new[i] >= 0 and cov_new[i] >= thr:
                        later = cat.guidelines[best_new[i]].id
                        gid, gscore = later, float(s[best_new[i]])
            if "no_text" in p.flags:
                avoidable, reason, gid, later, top = None, "no_text", None, None, ()
            elif p.status == "uncertain" and not have_catalogue:
                avoidable, reason = None, "no_catalogue"
            elif p.status == "uncertain":
                # no topic: decide by the probability mass of the topics under which it is avoidable
                avoidable, reason = bool(p_avoid[i] >= 0.5), "uncertain_topic"
            else:
                avoidable, reason = avoidable_reason(cinfo, covers if have_catalogue else None, later is not None)
            undecided = reason in UNDECIDED_REASONS
            out.append(Assessment(
                id=r.id, topic=topic, topic_best=p.best, confidence=p.confidence, candidates=p.candidates,
                topic_status=p.status, guideline_id=gid, guideline_score=gscore, avoidable=avoidable,
                reason=reason, later_guideline_id=later, top_guidelines=top, assessed_on=day.isoformat(),
                flags=tuple(flags),
                coverage_probability=None if not have_catalogue or undecided else float(cov[i]),
                avoidable_probability=None if not have_catalogue or undecided else float(p_avoid[i])))
        return out

    def _coverage_prob(self, X: np.ndarray) -> np.ndarray:
        """Coverage probabilities for coverage feature rows (a score threshold without a coverage model)."""
        cm = self.settings.get("coverage_model")
        if cm and "mean" in cm:
            return _coverage_prob(X, cm)
        # a model from before coverage transfer (or with too little data): the match score itself
        return X[:, COVERAGE_FEATURES.index("score")].astype(float)

    def assess_one(self, text: str, sent_at: Any = None, subject: str | None = None, id: str = "0") -> Assessment:
        """Assess one request given as text and optional send time."""
        r = Request(id=id, text=text, subject=subject, sent_at=parse_datetime(sent_at))
        return self.assess([r])[0]
