"""The topic classifier: a scikit-learn estimator over Finnish feature tokens, calibrated, with abstention."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted

from .text import TextProcessor, _cached, detect_language

__all__ = ["TopicClassifier", "Prediction", "UNCERTAIN", "MODES"]

UNCERTAIN = "uncertain"
MODES = ("auto-label", "pre-select", "suggest-only")


def _passthrough(tokens):
    """Analyzer for pre-tokenised input (module level so models pickle)."""
    return tokens


def _with_bigrams(tokens: list[str], n: int) -> list[str]:
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
    ``status`` is ``auto`` (confident), ``review`` (pre-selected, needs a look) or
    ``uncertain``; ``flags`` name why: ``below_threshold``, ``other_language:sv``,
    ``too_short``.
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


class TopicClassifier(ClassifierMixin, BaseEstimator):
    """Calibrated linear classifier of Finnish support requests into topics.

    Parameters
    ----------
    lemmatizer : {"simplemma", "prefix", "simplemma+prefix", "none"}, default="simplemma"
        How words are normalised (see :class:`~classifier.text.TextProcessor`).
    compounds : bool, default=True
        Add compound heads ("sähkösopimus" also counts as "sopimus").
    word_ngrams : int, default=2
        Longest word n-gram used as a feature.
    char_ngrams : bool, default=True
        Add word-bounded character 3–5-gram features (cached per distinct word, so they
        cost little at prediction time); they catch typos, colloquial endings and compounds.
    C : float, default=0.5
        Inverse regularisation of the linear SVM.
    min_df : int, default=1
        Ignore features seen in fewer documents.
    calibration : {"temperature", "sigmoid", "isotonic"}, default="temperature"
        How SVM margins become probabilities (cross-validated on the training data).
    cv : int, default=5
        Folds for calibration.
    class_weight : "balanced" or None, default="balanced"
    prefix_len : int, default=6
        Letters kept by the prefix stemmer.
    threshold : float, default=0.5
        Confidence under which a prediction is ``uncertain``; :meth:`choose_threshold`
        sets ``threshold_`` from held-out data, this value is the fallback.
    """

    def __init__(self, lemmatizer: str = "simplemma", compounds: bool = True, word_ngrams: int = 2,
                 char_ngrams: bool = True, C: float = 0.5, min_df: int = 1, calibration: str = "temperature",
                 cv: int = 5, class_weight: str | None = "balanced", threshold: float = 0.5, prefix_len: int = 6) -> None:
        self.lemmatizer = lemmatizer
        self.compounds = compounds
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.C = C
        self.min_df = min_df
        self.calibration = calibration
        self.cv = cv
        self.class_weight = class_weight
        self.threshold = threshold
        self.prefix_len = prefix_len

    # -- features -------------------------------------------------------------------------
    def _analyse(self, X: Sequence[str]) -> tuple[list[list[str]], list[list[str]] | None]:
        """Word-feature documents (with n-grams) and character-gram documents, one tokenisation each."""
        proc, n, chars = self.processor_, self.word_ngrams, self.char_ngrams
        words, grams = [], []
        for x in X:
            t, g = proc.analyse(x, chars)
            words.append(_with_bigrams(t, n))
            grams.append(g)
        return words, (grams if chars else None)

    def _features(self, X: Sequence[str]):
        """Sparse feature matrix for texts."""
        X = _as_texts(X)
        if self.char_vectorizer_ is None:
            words, _ = self._analyse(X)
            return self.vectorizer_.transform(words)
        return self._features_fast(X)

    def _features_fast(self, X: list[str]):
        """Word and character features from one tokenisation, character columns cached per word.

        Equivalent to the two fitted TF-IDF vectorizers' ``transform`` (sublinear tf, idf,
        l2 norm), but each distinct word's character-gram columns are looked up once.
        """
        from sklearn.preprocessing import normalize

        proc, n = self.processor_, self.word_ngrams
        cv = self.char_vectorizer_
        vocab = cv.vocabulary_
        cache = self.__dict__.setdefault("_char_ix_cache", {})

        def columns(h: int) -> tuple[int, ...]:
            return tuple(vocab[g] for g in proc._chars_of(h) if g in vocab)

        words: list[list[str]] = []
        indptr, indices = [0], []
        for x in X:
            toks: list[str] = []
            for h in proc._doc_hashes(x):
                toks.extend(proc._features_cached(h))
                indices.extend(_cached(cache, h, columns))
            words.append(_with_bigrams(toks, n))
            indptr.append(len(indices))
        W = self.vectorizer_.transform(words)
        C = sp.csr_matrix((np.ones(len(indices), dtype=np.float32), np.asarray(indices, dtype=np.int32),
                           np.asarray(indptr, dtype=np.int64)), shape=(len(X), len(vocab)))
        C.sum_duplicates()
        np.log(C.data, out=C.data)
        C.data += 1.0
        C = normalize(C @ sp.diags(cv.idf_.astype(np.float32)), copy=False)
        return sp.hstack([W, C], format="csr")

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_char_ix_cache", None)
        state.pop("_term_weights", None)
        return state

    # -- estimator API ----------------------------------------------------------------------
    def fit(self, X: Sequence[str], y: Sequence[str], sample_weight: Sequence[float] | None = None) -> "TopicClassifier":
        """Learn the processing, the features and the calibrated classifier from texts and labels."""
        X = _as_texts(X)
        y = np.asarray([str(v) for v in y], dtype=object)
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} texts but y has {len(y)} labels; expected the same number")
        classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(f"need at least two different labels to train, found {list(classes)}")
        self.processor_ = TextProcessor(lemmatizer=self.lemmatizer, compounds=self.compounds,
                                        prefix_len=self.prefix_len).fit(X)
        self.vectorizer_ = TfidfVectorizer(analyzer=_passthrough, sublinear_tf=True, min_df=self.min_df,
                                           dtype=np.float32)
        words, grams = self._analyse(X)
        mats = [self.vectorizer_.fit_transform(words)]
        self.char_vectorizer_ = None
        if self.char_ngrams:
            self.char_vectorizer_ = TfidfVectorizer(analyzer=_passthrough, sublinear_tf=True, min_df=2,
                                                    dtype=np.float32)
            mats.append(self.char_vectorizer_.fit_transform(grams))
        for v in (self.vectorizer_, self.char_vectorizer_):
            if v is not None and hasattr(v, "stop_words_"):
                del v.stop_words_  # only for introspection; can be large
        Xf = mats[0] if len(mats) == 1 else sp.hstack(mats, format="csr")
        _, counts = np.unique(y, return_counts=True)
        cv = max(2, min(self.cv, int(counts.min())))
        base = LinearSVC(C=self.C, class_weight=self.class_weight, random_state=0)
        self.model_ = CalibratedClassifierCV(base, method=self.calibration, cv=cv, ensemble=False)
        fit_params = {} if sample_weight is None else {"sample_weight": np.asarray(sample_weight, dtype=float)}
        self.model_.fit(Xf, y, **fit_params)
        self.classes_ = self.model_.classes_
        self.threshold_ = float(self.threshold)
        self.temperature_ = None
        return self

    def recalibrate(self, X: Sequence[str], y: Sequence[str]) -> float:
        """Refit the probability scale on held-out data by temperature scaling; return the temperature.

        Cross-validated calibration on the training data is optimistic when the training data is
        easier than real requests (generated text); one temperature fitted on held-out,
        realistic data keeps the ranking and fixes the confidence. Labels outside
        ``classes_`` are ignored.
        """
        from scipy.optimize import minimize_scalar

        check_is_fitted(self, "model_")
        X = _as_texts(X)
        idx = {c: i for i, c in enumerate(self.classes_)}
        keep = [i for i, v in enumerate(y) if str(v) in idx]
        if len(keep) < 10:
            raise ValueError(f"need at least 10 held-out texts with known labels to recalibrate, found {len(keep)}")
        d = self._margins(self._features([X[i] for i in keep]))
        t = np.array([idx[str(y[i])] for i in keep])

        def nll(log_t: float) -> float:
            return float(-_log_softmax(d / np.exp(log_t))[np.arange(len(t)), t].mean())

        res = minimize_scalar(nll, bounds=(-5, 5), method="bounded")
        self.temperature_ = float(np.exp(res.x))
        return self.temperature_

    def decision_function(self, X: Sequence[str]) -> np.ndarray:
        """Raw SVM margins, shape (n_samples, n_classes)."""
        check_is_fitted(self, "model_")
        return self._svm().decision_function(self._features(X))

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        check_is_fitted(self, "model_")
        return self._proba_from_features(self._features(X))

    def _proba_from_features(self, x) -> np.ndarray:
        """Probabilities from a feature matrix, with the held-out temperature when one was fitted."""
        if getattr(self, "temperature_", None) is None:
            return self.model_.predict_proba(x)
        return _softmax(self._margins(x) / self.temperature_)

    def _margins(self, x) -> np.ndarray:
        """SVM margins with one column per class (a binary SVM's single margin is split in two)."""
        d = self._svm().decision_function(x)
        return np.column_stack([-d, d]) if d.ndim == 1 else d

    def predict(self, X: Sequence[str]) -> np.ndarray:
        """Most probable topic of each text (no abstention; see :meth:`predict_detailed`)."""
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    # -- abstention ---------------------------------------------------------------------------
    def choose_threshold(self, X: Sequence[str], y: Sequence[str], target_accuracy: float = 0.95) -> float:
        """Set ``threshold_`` to the lowest confidence at which accuracy on held-out data reaches the target.

        Returns the threshold. The data must not be the training data.
        """
        check_is_fitted(self, "model_")
        proba = self.predict_proba(X)
        conf = proba.max(axis=1)
        correct = self.classes_[proba.argmax(axis=1)] == np.asarray(y, dtype=object)
        self.threshold_ = float(_threshold_for_accuracy(conf, correct, target_accuracy))
        return self.threshold_

    def predict_detailed(self, X: Sequence[str], mode: str = "auto-label", threshold: float | None = None,
                         proba: np.ndarray | None = None) -> list[Prediction]:
        """Predictions with confidence, top-3 candidates, abstention and language flags.

        Parameters
        ----------
        mode : {"auto-label", "pre-select", "suggest-only"}
            ``auto-label``: confident predictions get a topic, others ``uncertain``;
            ``pre-select``: every text gets its best topic, low ones with status ``review``;
            ``suggest-only``: never a topic, only candidates (status ``review``).
        threshold : float, optional
            Overrides the stored ``threshold_``.
        """
        check_is_fitted(self, "model_")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        X = _as_texts(X)
        thr = self.threshold_ if threshold is None else float(threshold)
        if proba is None:
            proba = self.predict_proba(X)
        order = np.argsort(-proba, axis=1)[:, :3]
        out = []
        for i, text in enumerate(X):
            words = self.processor_.words(text)
            lang, n_words = detect_language(words)
            flags = []
            content = [w for w in words if not w.startswith("[")]
            if len(content) < 3:
                flags.append("too_short")
            if lang in ("sv", "en"):
                flags.append(f"other_language:{lang}")
            cands = tuple((str(self.classes_[j]), float(proba[i, j])) for j in order[i])
            best, conf = cands[0]
            if conf < thr:
                flags.append("below_threshold")
            if mode == "suggest-only":
                topic, status = UNCERTAIN, "review"
            elif flags:
                topic, status = (best, "review") if mode == "pre-select" else (UNCERTAIN, "uncertain")
            else:
                topic, status = best, "auto"
            out.append(Prediction(topic=topic, best=best, confidence=conf, candidates=cands, status=status,
                                  language=lang, flags=tuple(flags)))
        return out

    def term_weights(self) -> dict[str, float]:
        """IDF of each single-word feature over the training requests (for guideline coverage)."""
        check_is_fitted(self, "model_")
        tw = self.__dict__.get("_term_weights")
        if tw is None:
            idf = self.vectorizer_.idf_
            tw = {t: float(idf[j]) for t, j in self.vectorizer_.vocabulary_.items() if " " not in t}
            self.__dict__["_term_weights"] = tw
        return tw

    # -- explanations -------------------------------------------------------------------------
    def _svm(self) -> LinearSVC:
        """The linear SVM trained on all data (inside the calibrated wrapper)."""
        return self.model_.calibrated_classifiers_[0].estimator

    def feature_names(self) -> np.ndarray:
        """Names of all features, word features first."""
        names = list(self.vectorizer_.get_feature_names_out())
        if self.char_vectorizer_ is not None:
            names += [f"chars:{c}" for c in self.char_vectorizer_.get_feature_names_out()]
        return np.asarray(names, dtype=object)

    def explain(self, text: str, k: int = 8, include_chars: bool = False) -> dict[str, Any]:
        """Words that pushed ``text`` toward its predicted topic and away from the runner-up.

        Returns
        -------
        dict
            ``topic``, ``runner_up``, ``toward`` and ``away``: lists of ``(feature, weight)``
            where weight is the feature's contribution to the margin difference between
            the two topics (positive: toward the predicted topic). Character n-gram
            features are left out unless ``include_chars``: words are what a person reads.
        """
        check_is_fitted(self, "model_")
        x = self._features([text])
        proba = self._proba_from_features(x)[0]
        top2 = np.argsort(-proba)[:2]
        svm = self._svm()
        coef = svm.coef_
        if coef.shape[0] == 1:  # binary: one weight vector for classes_[1]
            w = coef[0] if top2[0] == 1 else -coef[0]
        else:
            w = coef[top2[0]] - coef[top2[1]]
        x = x.tocsr()
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


def _log_softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax, shifted for numerical safety (no log of an underflowed zero)."""
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted for numerical safety."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _as_texts(X) -> list[str]:
    """Accept a list, array, Series or Dataset column of texts; None becomes ''."""
    if isinstance(X, str):
        raise ValueError("expected a list of texts, found a single string; wrap it in a list")
    return ["" if x is None else str(x) for x in X]


def _threshold_for_accuracy(conf: np.ndarray, correct: np.ndarray, target: float) -> float:
    """Lowest confidence cut whose kept predictions reach ``target`` accuracy (1.0 if none does)."""
    order = np.argsort(-conf)
    c = correct[order].astype(float)
    acc = np.cumsum(c) / np.arange(1, len(c) + 1)
    ok = np.where(acc >= target)[0]
    if len(ok) == 0:
        return 1.0
    # the largest prefix that still meets the target
    last = ok.max()
    return float(conf[order][last])
