"""Assessment: the topic, the guideline that covers a request and whether the contact was avoidable.

:class:`Assessor` runs the classifier, ranks the catalogue's guidelines in force on each
request's day, asks the coverage model whether the best one covers it, and applies the
spec's rule (:func:`classifier.rules.avoidable_reason`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from ..records import Request, Taxonomy, parse_datetime
from ..rules import UNDECIDED_REASONS, avoidable_reason
from .catalogue import NO_CATALOGUE_WARNING, Catalogue, catalogue_mismatch
from .coverage import COVERAGE_FEATURES, _coverage_prob, avoidable_probability, coverage_features
from .matching import DEFAULT_MATCHER, _score

__all__ = ["Assessment", "Assessor"]


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
    semantic: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``predicted`` block of an output row (``semantic``: whether the semantic head saw it, when one ran)."""
        extra = {} if self.semantic is None else {"semantic": self.semantic}
        return {
            "topic": self.topic, "status": self.topic_status, "confidence": round(self.confidence, 4),
            "candidates": [[t, round(p, 4)] for t, p in self.candidates],
            "guideline_id": self.guideline_id,
            "guideline_score": None if self.guideline_score is None else round(self.guideline_score, 4),
            "avoidable": self.avoidable, "reason": self.reason, "later_guideline_id": self.later_guideline_id,
            "coverage_probability": None if self.coverage_probability is None else round(self.coverage_probability, 4),
            "avoidable_probability": None if self.avoidable_probability is None else round(self.avoidable_probability, 4),
            "assessed_on": self.assessed_on, "flags": list(self.flags), **extra,
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
            from ..io import read_guidelines

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
        embedded = None
        if hasattr(clf, "predict_proba_info"):  # the semantic view: which requests went through its head
            proba, embedded = clf.predict_proba_info(texts)
        else:
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
                avoidable_probability=None if not have_catalogue or undecided else float(p_avoid[i]),
                semantic=None if embedded is None else bool(embedded[i])))
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