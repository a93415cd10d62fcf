"""The guideline catalogue: records indexed for retrieval, dates in force, the term index.

A :class:`Catalogue` indexes any organisation's guidelines (BM25 and TF-IDF over the
classifier's lemma tokens, title words, passages) and computes the (request, guideline)
feature tensor in ``FEATURES`` order that the matcher and the coverage model read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from ..errors import CatalogueError
from ..predictor import tfidf_rows
from ..records import Guideline, Taxonomy

__all__ = ["Catalogue", "FEATURES", "HANDOFF_TITLE_STEMS", "is_handoff_title", "NO_CATALOGUE_WARNING",
           "catalogue_mismatch", "catalogue_digest", "split_passages"]

# (request, guideline) pair features; the matcher ranks with MATCH_FEATURES, "log_qlen" (the
# request's length) is the same for every guideline and only feeds the coverage model
FEATURES = ("bm25_rel", "bm25_q", "cosine", "title_overlap", "topic_prob", "topic_top", "rank_inv", "covered_share",
            "log_qlen", "passage_share", "rare_share")


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
            for chunk in split_passages(g.body):
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
        from ..io import read_guidelines

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

    def with_topic_probabilities(self, feats: np.ndarray, topic_proba: np.ndarray, classes: Sequence[str]) -> np.ndarray:
        """A copy of a feature tensor whose topic columns are computed from other topic probabilities."""
        out = feats.copy()
        if len(self.guidelines):
            self._set_topic_columns(out, topic_proba, classes)
        return out

    def _set_topic_columns(self, out: np.ndarray, topic_proba: np.ndarray, classes: Sequence[str]) -> None:
        """Fill ``topic_prob`` and ``topic_top`` of a feature tensor in place."""
        cidx = {c: k for k, c in enumerate(classes)}
        gmask = np.zeros((len(classes), len(self.guidelines)), dtype=np.float32)
        for j, ts in enumerate(self._topic_sets):
            for t in ts:
                if t in cidx:
                    gmask[cidx[t], j] = 1.0
        out[:, :, 4] = topic_proba @ gmask
        top = topic_proba.argmax(axis=1)
        out[:, :, 5] = gmask[top]

    @property
    def digest(self) -> str:
        """sha256 of the catalogue's records (:func:`catalogue_digest`)."""
        got = self.__dict__.get("_digest")
        if got is None:
            got = self.__dict__["_digest"] = catalogue_digest(self.guidelines)
        return got

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
            self._set_topic_columns(out, topic_proba, classes)
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


def split_passages(body: str, max_words: int = 45) -> list[str]:
    """Split a guideline body into passages of whole sentences (paragraphs and list items kept apart).

    Parameters
    ----------
    body : str
        The guideline's text.
    max_words : int
        A passage grows by whole sentences up to about this many words.

    Returns
    -------
    list of str
        The passages in order (one empty string for an empty body).
    """
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


NO_CATALOGUE_WARNING = ("the model was trained without a guideline catalogue and none was given (--guidelines): "
                        "avoidable decisions that depend on a guideline are null with reason no_catalogue")


def catalogue_digest(guidelines: Iterable[Guideline]) -> str:
    """sha256 of a catalogue's records, whatever their order or file format: what an adaptation was fitted to."""
    h = hashlib.sha256()
    for g in sorted(guidelines, key=lambda g: g.id):
        h.update(json.dumps(g.to_dict(), sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n")
    return h.hexdigest()


def catalogue_mismatch(guidelines: Iterable[Guideline], labels: Iterable[str]) -> str | None:
    """The warning to give when a catalogue's topics are outside a model's label set, else None."""
    known = set(labels)
    unknown = sorted({t for g in guidelines for t in g.topics if t not in known})
    if not unknown:
        return None
    return (f"guideline catalogue topics {', '.join(unknown[:5])} are not in the model's label set; "
            "guideline matching is skipped (give a catalogue in the model's taxonomy)")
