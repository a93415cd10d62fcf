"""The fitted topic model as plain arrays: prediction without scikit-learn and without pickle.

:class:`~classifier.classify.TopicClassifier` trains with scikit-learn; what it learns is
linear (TF-IDF vocabularies and idf weights, one weight vector per topic, a probability
scale), so a fitted model is exported to a :class:`LinearTopicModel` that holds only
numbers, strings and the text processor's tables. That object predicts exactly as the
estimator does, loads from ``.npz`` + JSON files (nothing is unpickled, so a model file can
never run code) and does not import scikit-learn, which keeps ``classifier.load()`` fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp

from .rules import UNCERTAIN
from .text import TextProcessor, bounded_get, content_words, detect_language

__all__ = ["LinearTopicModel", "Prediction", "UNCERTAIN", "MODES", "CALIBRATIONS", "as_texts", "with_ngrams", "tfidf_rows",
           "threshold_for_accuracy"]

MODES = ("auto-label", "pre-select", "suggest-only")
CALIBRATIONS = ("temperature", "sigmoid", "isotonic")


def with_ngrams(tokens: list[str], n: int) -> list[str]:
    """Unigrams plus word n-grams up to ``n`` joined with a space."""
    if n <= 1:
        return tokens
    out = list(tokens)
    for k in range(2, n + 1):
        out.extend(" ".join(tokens[i: i + k]) for i in range(len(tokens) - k + 1))
    return out


@dataclass(frozen=True)
class Prediction:
    """A topic prediction for one text.

    ``topic`` is the chosen topic or ``"uncertain"``; ``best`` is the most probable topic
    whatever the threshold; ``candidates`` are the top three ``(topic, probability)``;
    ``status`` is ``auto`` (confident), ``review`` (a topic is given, but it needs a look) or
    ``uncertain`` (no topic); ``flags`` name why: ``below_threshold``,
    ``other_language:sv``, ``too_short``, ``no_text``.
    """

    topic: str
    best: str
    confidence: float
    candidates: tuple[tuple[str, float], ...]
    status: str
    language: str = "fi"
    flags: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {"topic": self.topic, "best": self.best, "confidence": round(self.confidence, 4),
                "candidates": [[t, round(p, 4)] for t, p in self.candidates], "status": self.status,
                "language": self.language, "flags": list(self.flags)}


def tfidf_rows(indptr: list[int], indices: list[int], idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear-tf, idf-weighted, l2-normalised rows: what a fitted ``TfidfVectorizer`` computes."""
    n_rows = len(indptr) - 1
    m = sp.csr_matrix((np.ones(len(indices), dtype=np.float32), np.asarray(indices, dtype=np.int32),
                       np.asarray(indptr, dtype=np.int64)), shape=(n_rows, len(idf)))
    m.sum_duplicates()
    np.log(m.data, out=m.data)
    m.data += 1.0
    m.data *= idf[m.indices]
    sq = np.asarray(m.multiply(m).sum(axis=1)).ravel()
    norms = np.sqrt(sq, dtype=np.float64)
    norms[norms == 0] = 1.0
    m.data /= np.repeat(norms, np.diff(m.indptr)).astype(np.float32)
    return m


def _softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted for numerical safety."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _expit(z: np.ndarray) -> np.ndarray:
    """Logistic function without overflow warnings."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


class LinearTopicModel:
    """A fitted topic model held as arrays: features, linear margins, calibrated probabilities, abstention.

    Built by :meth:`TopicClassifier.fit <classifier.classify.TopicClassifier.fit>` (its
    ``predictor_``) or read by :func:`classifier.load`. It answers the same prediction calls
    as the estimator (``predict``, ``predict_proba``, ``predict_detailed``, ``explain``).

    Parameters
    ----------
    classes : sequence of str
        Topic labels in column order.
    processor : TextProcessor
        The fitted text processor (lemma table, compound heads).
    word_terms : sequence of str
        Word-feature vocabulary in column order (lemmas and word n-grams).
    word_idf : ndarray
    coef : ndarray, shape (n_classes or 1, n_features)
        Weights of the linear SVM; one row for a two-class model.
    intercept : ndarray
    calibration : dict
        ``{"method": "temperature", "temperature": T}``, ``{"method": "sigmoid", "a": [...],
        "b": [...]}`` or ``{"method": "isotonic", "x": [[...]...], "y": [[...]...]}``.
    threshold : float
        Confidence under which a prediction is flagged ``below_threshold``.
    word_ngrams : int
    char_terms, char_idf : optional
        Character-gram vocabulary and idf when the model uses character n-grams.
    params : dict, optional
        The estimator's parameters (kept for the model card).
    """

    def __init__(self, classes: Sequence[str], processor: TextProcessor, word_terms: Sequence[str],
                 word_idf: np.ndarray, coef: np.ndarray, intercept: np.ndarray, calibration: dict,
                 threshold: float, word_ngrams: int = 2, char_terms: Sequence[str] | None = None,
                 char_idf: np.ndarray | None = None, params: dict | None = None) -> None:
        if calibration.get("method") not in CALIBRATIONS:
            raise ValueError(f"calibration method must be one of {', '.join(CALIBRATIONS)}, "
                             f"not {calibration.get('method')!r}")
        self.classes_ = np.asarray([str(c) for c in classes], dtype=object)
        self.processor_ = processor
        self.word_terms = list(word_terms)
        self.word_index = {t: j for j, t in enumerate(self.word_terms)}
        self.word_idf = np.asarray(word_idf, dtype=np.float32)
        self.char_terms = None if char_terms is None else list(char_terms)
        self.char_index = None if char_terms is None else {t: j for j, t in enumerate(self.char_terms)}
        self.char_idf = None if char_idf is None else np.asarray(char_idf, dtype=np.float32)
        self.coef = np.ascontiguousarray(coef, dtype=np.float32)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.calibration = dict(calibration)
        self.threshold_ = float(threshold)
        self.word_ngrams = int(word_ngrams)
        self.params = dict(params or {})
        self._char_ix_cache: dict[int, tuple[int, ...]] = {}
        self._term_weights: dict[str, float] | None = None
        n_feat = len(self.word_terms) + (len(self.char_terms) if self.char_terms is not None else 0)
        if self.coef.shape[1] != n_feat:
            raise ValueError(f"coef has {self.coef.shape[1]} columns but the vocabularies have {n_feat} terms")

    # -- estimator-like attributes -------------------------------------------------------------
    @property
    def temperature_(self) -> float | None:
        """The probability temperature, when the calibration is a temperature."""
        return self.calibration.get("temperature") if self.calibration["method"] == "temperature" else None

    @property
    def char_ngrams(self) -> bool:
        """Whether character n-gram features are used."""
        return self.char_terms is not None

    def get_params(self, deep: bool = True) -> dict:
        """The training estimator's parameters."""
        return dict(self.params)

    # -- features ---------------------------------------------------------------------------------
    def features(self, X: Sequence[str]) -> sp.csr_matrix:
        """Sparse TF-IDF feature matrix (word block, then character block) for texts."""
        X = as_texts(X)
        proc, n, widx = self.processor_, self.word_ngrams, self.word_index
        cidx = self.char_index
        cache = self._char_ix_cache

        def columns(h: int) -> tuple[int, ...]:
            return tuple(cidx[g] for g in proc.hash_char_grams(h) if g in cidx)

        w_ptr, w_ind, c_ptr, c_ind = [0], [], [0], []
        for x in X:
            toks: list[str] = []
            for h in proc.token_hashes(x):
                toks.extend(proc.hash_features(h))
                if cidx is not None:
                    c_ind.extend(bounded_get(cache, h, columns))
            w_ind.extend(j for t in with_ngrams(toks, n) if (j := widx.get(t)) is not None)
            w_ptr.append(len(w_ind))
            c_ptr.append(len(c_ind))
        W = tfidf_rows(w_ptr, w_ind, self.word_idf)
        if cidx is None:
            return W
        return sp.hstack([W, tfidf_rows(c_ptr, c_ind, self.char_idf)], format="csr")

    def margins(self, x) -> np.ndarray:
        """Linear margins with one column per class (a two-class model's single margin split in two)."""
        d = np.asarray(x @ self.coef.T, dtype=np.float64) + self.intercept
        if self.coef.shape[0] == 1:
            d = d[:, 0]
            return np.column_stack([-d, d])
        return d

    def decision_function(self, X: Sequence[str]) -> np.ndarray:
        """Raw margins, shape (n_samples, n_classes) (or (n_samples,) for two classes)."""
        d = self.margins(self.features(X))
        return d[:, 1] if self.coef.shape[0] == 1 else d

    def proba_from_features(self, x) -> np.ndarray:
        """Calibrated probabilities from a feature matrix."""
        return self.calibrate(self.margins(x))

    def calibrate(self, d: np.ndarray) -> np.ndarray:
        """Probabilities from margins with the stored calibration."""
        cal = self.calibration
        if cal["method"] == "temperature":
            return _softmax(d / float(cal["temperature"]))
        binary = self.coef.shape[0] == 1
        cols = [d[:, 1]] if binary else list(d.T)
        if cal["method"] == "sigmoid":
            p = [_expit(-(a * c + b)) for a, b, c in zip(cal["a"], cal["b"], cols)]
        else:  # isotonic: piecewise-linear, clipped at the ends
            p = [np.interp(c, np.asarray(xs), np.asarray(ys)) for xs, ys, c in zip(cal["x"], cal["y"], cols)]
        if binary:
            return np.column_stack([1.0 - p[0], p[0]])
        P = np.column_stack(p)
        s = P.sum(axis=1, keepdims=True)
        return np.divide(P, s, out=np.full_like(P, 1.0 / P.shape[1]), where=s != 0)

    # -- predictions ------------------------------------------------------------------------------
    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        return self.proba_from_features(self.features(X))

    def predict(self, X: Sequence[str]) -> np.ndarray:
        """Most probable topic of each text."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def predict_detailed(self, X: Sequence[str], mode: str = "pre-select", threshold: float | None = None,
                         proba: np.ndarray | None = None) -> list[Prediction]:
        """Predictions with confidence, top-3 candidates, review status and language flags.

        Parameters
        ----------
        mode : {"pre-select", "auto-label", "suggest-only"}
            ``pre-select`` (default): every Finnish text with words gets its best topic,
            status ``auto`` when confident and ``review`` otherwise; ``auto-label``: low
            confidence gives ``uncertain`` (no topic); ``suggest-only``: never a topic, only
            candidates. Text that is empty, too short to say anything or not Finnish is
            ``uncertain`` in every mode.
        threshold : float, optional
            Overrides the stored ``threshold_``.
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        X = as_texts(X)
        thr = self.threshold_ if threshold is None else float(threshold)
        if proba is None:
            proba = self.predict_proba(X)
        order = np.argsort(-proba, axis=1)[:, :3]
        out = []
        for i, text in enumerate(X):
            words = self.processor_.words(text)
            lang, _ = detect_language(words)
            flags = []
            content = [w for w in words if not w.startswith("[")]
            if 0 < len(content) <= 8:
                # a few words may be only a reference label and a signature ("asnro [ASIAKASNRO] -- Sanna V.")
                content = content_words(text, self.processor_.redactor)
            if not content:
                flags.append("no_text")
            elif len(content) < 3:
                flags.append("too_short")
            if lang in ("sv", "en"):
                flags.append(f"other_language:{lang}")
            cands = tuple((str(self.classes_[j]), float(proba[i, j])) for j in order[i])
            best, conf = cands[0]
            if conf < thr:
                flags.append("below_threshold")
            says_nothing = not content or lang in ("sv", "en")
            if mode == "suggest-only" or says_nothing:
                topic, status = UNCERTAIN, ("review" if mode == "suggest-only" and not says_nothing else "uncertain")
            elif flags:
                topic, status = (best, "review") if mode == "pre-select" else (UNCERTAIN, "uncertain")
            else:
                topic, status = best, "auto"
            out.append(Prediction(topic=topic, best=best, confidence=conf, candidates=cands, status=status,
                                  language=lang, flags=tuple(flags)))
        return out

    def term_weights(self) -> dict[str, float]:
        """IDF of each single-word feature over the training requests (for guideline coverage)."""
        if self._term_weights is None:
            self._term_weights = {t: float(self.word_idf[j]) for j, t in enumerate(self.word_terms) if " " not in t}
        return self._term_weights

    def feature_names(self) -> np.ndarray:
        """Names of all features, word features first (character grams prefixed ``chars:``)."""
        names = list(self.word_terms)
        if self.char_terms is not None:
            names += [f"chars:{c}" for c in self.char_terms]
        return np.asarray(names, dtype=object)

    def explain(self, text: str, k: int = 8, include_chars: bool = False) -> dict[str, Any]:
        """Words that pushed ``text`` toward its predicted topic and away from the runner-up.

        Returns
        -------
        dict
            ``topic``, ``runner_up``, ``toward`` and ``away``: lists of ``(feature, weight)``
            where weight is the feature's contribution to the margin difference between the
            two topics (positive: toward the predicted topic). Character n-gram features are
            left out unless ``include_chars``: words are what a person reads.
        """
        x = self.features([text])
        proba = self.proba_from_features(x)[0]
        top2 = np.argsort(-proba)[:2]
        coef = self.coef
        if coef.shape[0] == 1:
            w = coef[0] if top2[0] == 1 else -coef[0]
        else:
            w = coef[top2[0]] - coef[top2[1]]
        contrib = x.data * w[x.indices]
        names = self.feature_names()[x.indices]
        if not include_chars:
            keep = np.array([not str(nm).startswith("chars:") for nm in names], dtype=bool)
            contrib, names = contrib[keep], names[keep]
        order = np.argsort(-contrib)
        toward = [(str(names[j]), float(contrib[j])) for j in order if contrib[j] > 0][:k]
        away = [(str(names[j]), float(contrib[j])) for j in order[::-1] if contrib[j] < 0][:k]
        return {"topic": str(self.classes_[top2[0]]), "runner_up": str(self.classes_[top2[1]]),
                "toward": toward, "away": away}

    # -- files --------------------------------------------------------------------------------------
    def to_files(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The model as arrays (for ``np.savez``) and JSON-ready data: nothing that needs pickle."""
        arrays = {"coef": self.coef, "intercept": self.intercept, "word_idf": self.word_idf}
        if self.char_idf is not None:
            arrays["char_idf"] = self.char_idf
        proc = self.processor_
        data = {
            "classes": [str(c) for c in self.classes_], "word_terms": self.word_terms,
            "char_terms": self.char_terms, "word_ngrams": self.word_ngrams, "calibration": self.calibration,
            "threshold": self.threshold_, "params": self.params,
            "processor": {"lemmatizer": proc.lemmatizer, "compounds": proc.compounds, "prefix_len": proc.prefix_len,
                          "heads": proc.heads_, "lemma_table": proc.lemma_table_,
                          "redactor": proc.redactor.settings()},
        }
        return arrays, data

    @classmethod
    def from_files(cls, arrays: dict[str, np.ndarray], data: dict[str, Any]) -> "LinearTopicModel":
        """Rebuild from :meth:`to_files` output (arrays from ``np.load(..., allow_pickle=False)``)."""
        from .redact import Redactor

        p = data["processor"]
        proc = TextProcessor(lemmatizer=p["lemmatizer"], compounds=p["compounds"], prefix_len=p["prefix_len"],
                             redactor=Redactor(**p.get("redactor", {})))
        proc.heads_ = dict(p["heads"])
        proc.lemma_table_ = None if p["lemma_table"] is None else dict(p["lemma_table"])
        return cls(classes=data["classes"], processor=proc, word_terms=data["word_terms"],
                   word_idf=arrays["word_idf"], coef=arrays["coef"], intercept=arrays["intercept"],
                   calibration=data["calibration"], threshold=data["threshold"], word_ngrams=data["word_ngrams"],
                   char_terms=data.get("char_terms"), char_idf=arrays.get("char_idf"), params=data.get("params"))


def as_texts(X) -> list[str]:
    """Accept a list, array, Series or Dataset column of texts; None becomes ''."""
    if isinstance(X, str):
        raise ValueError("expected a list of texts, found a single string; wrap it in a list")
    return ["" if x is None else str(x) for x in X]


def threshold_for_accuracy(conf: np.ndarray, correct: np.ndarray, target: float) -> float:
    """Lowest confidence cut whose kept predictions reach ``target`` accuracy (1.0 if none does).

    Parameters
    ----------
    conf : ndarray
        Confidence (top probability) of each held-out prediction.
    correct : ndarray of bool
        Whether each was right.
    target : float
        Accuracy the predictions at or above the cut must reach.
    """
    order = np.argsort(-conf)
    c = correct[order].astype(float)
    acc = np.cumsum(c) / np.arange(1, len(c) + 1)
    ok = np.where(acc >= target)[0]
    if len(ok) == 0:
        return 1.0
    # the largest prefix that still meets the target
    last = ok.max()
    return float(conf[order][last])
