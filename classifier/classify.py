"""The topic classifier: a scikit-learn estimator over Finnish feature tokens, calibrated, with abstention.

Training uses scikit-learn; what is learned is exported to a
:class:`~classifier.predictor.LinearTopicModel` (``predictor_``), which every prediction goes
through, so an estimator and a model loaded from disk predict identically.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted

from .predictor import MODES, UNCERTAIN, LinearTopicModel, Prediction, as_texts as _as_texts, with_ngrams
from .predictor import threshold_for_accuracy
from .text import TextProcessor, passthrough

# old pickles name classifier.classify._passthrough
_passthrough = passthrough

__all__ = ["TopicClassifier", "Prediction", "UNCERTAIN", "MODES", "fit_temperature", "threshold_for_accuracy"]



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
            words.append(with_ngrams(t, n))
            grams.append(g)
        return words, (grams if chars else None)

    def _features(self, X: Sequence[str]):
        """Sparse feature matrix for texts (the fitted predictor's, identical to the vectorizers')."""
        check_is_fitted(self, "predictor_")
        return self.predictor_.features(X)

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
        self.vectorizer_ = TfidfVectorizer(analyzer=passthrough, sublinear_tf=True, min_df=self.min_df,
                                           dtype=np.float32)
        words, grams = self._analyse(X)
        mats = [self.vectorizer_.fit_transform(words)]
        self.char_vectorizer_ = None
        if self.char_ngrams:
            self.char_vectorizer_ = TfidfVectorizer(analyzer=passthrough, sublinear_tf=True, min_df=2,
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
        self.predictor_ = self._export()
        return self

    def _export(self) -> LinearTopicModel:
        """The fitted state as a :class:`LinearTopicModel` (arrays and tables only)."""
        inner = self.model_.calibrated_classifiers_[0]
        svm = inner.estimator
        cals = inner.calibrators
        if self.calibration == "temperature":
            cal = {"method": "temperature", "temperature": float(1.0 / np.asarray(cals[0].beta_).item())}
        elif self.calibration == "sigmoid":
            cal = {"method": "sigmoid", "a": [float(c.a_) for c in cals], "b": [float(c.b_) for c in cals]}
        elif self.calibration == "isotonic":
            cal = {"method": "isotonic", "x": [np.asarray(c.X_thresholds_, dtype=float).tolist() for c in cals],
                   "y": [np.asarray(c.y_thresholds_, dtype=float).tolist() for c in cals]}
        else:
            raise ValueError(f"calibration must be temperature, sigmoid or isotonic, not {self.calibration!r}")
        wv = self.vectorizer_
        w_terms = [None] * len(wv.vocabulary_)
        for t, j in wv.vocabulary_.items():
            w_terms[j] = t
        c_terms = c_idf = None
        if self.char_vectorizer_ is not None:
            cv = self.char_vectorizer_
            c_terms = [None] * len(cv.vocabulary_)
            for t, j in cv.vocabulary_.items():
                c_terms[j] = t
            c_idf = cv.idf_
        return LinearTopicModel(classes=self.classes_, processor=self.processor_, word_terms=w_terms,
                                word_idf=wv.idf_, coef=svm.coef_, intercept=svm.intercept_, calibration=cal,
                                threshold=self.threshold_, word_ngrams=self.word_ngrams, char_terms=c_terms,
                                char_idf=c_idf, params=self.get_params())

    def recalibrate(self, X: Sequence[str], y: Sequence[str]) -> float:
        """Refit the probability scale on held-out data by temperature scaling; return the temperature.

        Cross-validated calibration on the training data is optimistic when the training data is
        easier than real requests (generated text); one temperature fitted on held-out,
        realistic data keeps the ranking and fixes the confidence. Labels outside
        ``classes_`` are ignored.
        """
        check_is_fitted(self, "predictor_")
        X = _as_texts(X)
        idx = {c: i for i, c in enumerate(self.classes_)}
        keep = [i for i, v in enumerate(y) if str(v) in idx]
        if len(keep) < 10:
            raise ValueError(f"need at least 10 held-out texts with known labels to recalibrate, found {len(keep)}")
        d = self.predictor_.margins(self._features([X[i] for i in keep]))
        return self.set_temperature(fit_temperature(d, np.array([idx[str(y[i])] for i in keep])))

    def set_temperature(self, temperature: float) -> float:
        """Use ``temperature`` for the probabilities (e.g. one fitted on out-of-fold margins); return it."""
        check_is_fitted(self, "predictor_")
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, found {temperature!r}")
        self.temperature_ = float(temperature)
        self.predictor_.calibration = {"method": "temperature", "temperature": self.temperature_}
        return self.temperature_

    def set_threshold(self, threshold: float) -> float:
        """Use ``threshold`` as the review threshold (e.g. one chosen on out-of-fold predictions); return it."""
        check_is_fitted(self, "predictor_")
        self.threshold_ = float(threshold)
        self.predictor_.threshold_ = self.threshold_
        return self.threshold_

    def decision_function(self, X: Sequence[str]) -> np.ndarray:
        """Raw SVM margins, shape (n_samples, n_classes)."""
        check_is_fitted(self, "predictor_")
        return self.predictor_.decision_function(X)

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        check_is_fitted(self, "predictor_")
        return self.predictor_.predict_proba(X)

    def predict(self, X: Sequence[str]) -> np.ndarray:
        """Most probable topic of each text (no abstention; see :meth:`predict_detailed`)."""
        check_is_fitted(self, "predictor_")
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    # -- abstention ---------------------------------------------------------------------------
    def choose_threshold(self, X: Sequence[str], y: Sequence[str], target_accuracy: float = 0.95) -> float:
        """Set ``threshold_`` to the lowest confidence at which accuracy on held-out data reaches the target.

        Returns the threshold. The data must not be the training data.
        """
        check_is_fitted(self, "predictor_")
        proba = self.predict_proba(X)
        conf = proba.max(axis=1)
        correct = self.classes_[proba.argmax(axis=1)] == np.asarray(y, dtype=object)
        return self.set_threshold(threshold_for_accuracy(conf, correct, target_accuracy))

    def predict_detailed(self, X: Sequence[str], mode: str = "pre-select", threshold: float | None = None,
                         proba: np.ndarray | None = None) -> list[Prediction]:
        """Predictions with confidence, top-3 candidates, review status and language flags.

        See :meth:`LinearTopicModel.predict_detailed <classifier.predictor.LinearTopicModel.predict_detailed>`.
        """
        check_is_fitted(self, "predictor_")
        return self.predictor_.predict_detailed(X, mode=mode, threshold=threshold, proba=proba)

    def term_weights(self) -> dict[str, float]:
        """IDF of each single-word feature over the training requests (for guideline coverage)."""
        check_is_fitted(self, "predictor_")
        return self.predictor_.term_weights()

    def feature_names(self) -> np.ndarray:
        """Names of all features, word features first."""
        check_is_fitted(self, "predictor_")
        return self.predictor_.feature_names()

    def explain(self, text: str, k: int = 8, include_chars: bool = False) -> dict[str, Any]:
        """Words that pushed ``text`` toward its predicted topic and away from the runner-up.

        See :meth:`LinearTopicModel.explain <classifier.predictor.LinearTopicModel.explain>`.
        """
        check_is_fitted(self, "predictor_")
        return self.predictor_.explain(text, k=k, include_chars=include_chars)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax, shifted for numerical safety (no log of an underflowed zero)."""
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def fit_temperature(margins: np.ndarray, y_idx: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood of ``softmax(margins / T)``.

    Parameters
    ----------
    margins : ndarray, shape (n_samples, n_classes)
        Held-out (or out-of-fold) SVM margins.
    y_idx : ndarray of int
        Column of each sample's true class.
    """
    from scipy.optimize import minimize_scalar

    d = np.asarray(margins, dtype=float)
    t = np.asarray(y_idx, dtype=int)

    def nll(log_t: float) -> float:
        return float(-_log_softmax(d / np.exp(log_t))[np.arange(len(t)), t].mean())

    res = minimize_scalar(nll, bounds=(-5, 5), method="bounded")
    return float(np.exp(res.x))
