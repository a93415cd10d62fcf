"""Assessment: the topic, the guideline that covers a request and whether the contact was avoidable.

:class:`Assessor` runs the classifier, ranks the catalogue's guidelines in force on each
request's day, asks the coverage model whether the best one covers it, and applies the
spec's rule (:func:`classifier.rules.avoidable_reason`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from ..records import Request, Taxonomy, parse_datetime
from ..rules import UNDECIDED_REASONS, avoidable_reason
from .adapt import Adaptation, CrossFit, ReviewLabel, reviewed_decision
from .catalogue import FEATURES, NO_CATALOGUE_WARNING, Catalogue, catalogue_mismatch
from .coverage import COVERAGE_FEATURES, _coverage_logit, _coverage_prob, avoidable_probability, coverage_features
from .matching import DEFAULT_MATCHER, MATCH_FEATURES, _match_logit, _score

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
    out_of_fold: dict[str, Any] | None = None
    semantic: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``predicted`` block of an output row (``out_of_fold`` only for a reviewed request; ``semantic``, whether
        the semantic head saw the request, only when one ran)."""
        out = {
            "topic": self.topic, "status": self.topic_status, "confidence": round(self.confidence, 4),
            "candidates": [[t, round(p, 4)] for t, p in self.candidates],
            "guideline_id": self.guideline_id,
            "guideline_score": None if self.guideline_score is None else round(self.guideline_score, 4),
            "avoidable": self.avoidable, "reason": self.reason, "later_guideline_id": self.later_guideline_id,
            "coverage_probability": None if self.coverage_probability is None else round(self.coverage_probability, 4),
            "avoidable_probability": None if self.avoidable_probability is None else round(self.avoidable_probability, 4),
            "assessed_on": self.assessed_on, "flags": list(self.flags),
        }
        if self.semantic is not None:
            out["semantic"] = self.semantic
        if self.out_of_fold is not None:
            out["out_of_fold"] = self.out_of_fold
        return out


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
    adaptation : Adaptation, CrossFit, None or False
        ``None``: the adaptation stored with the model (``tukipyynto adapt``), applied when it
        was fitted to this catalogue; ``False``: none; an :class:`Adaptation`; or a
        :class:`CrossFit` (labelling with reviews: fold adaptations and reviewed decisions).
    """

    def __init__(self, model, catalogue=None, taxonomy: Taxonomy | None = None, mode: str = "pre-select",
                 threshold: float | None = None, adaptation: Adaptation | CrossFit | None | bool = None) -> None:
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
        stored = (model.meta or {}).get("adaptation")
        self._own_adaptation = Adaptation.from_dict(stored) if stored else None
        self._reviews: CrossFit | None = None
        cat = self.catalogue
        if adaptation is None:
            own = self.base_adaptation(cat)
            if self._own_adaptation is not None and own is None:
                self.warnings.append(
                    "the model was adapted to another guideline catalogue (sha256 "
                    f"{self._own_adaptation.catalogue_sha256[:12]}…) than this one: its adaptation is not applied "
                    "(adapt it to this catalogue with tukipyynto adapt, or label with --reviewed)")
            self._ensemble: list[Adaptation | None] = [own]
        elif adaptation is False:
            self._ensemble = [None]
        elif isinstance(adaptation, CrossFit):
            self._reviews = adaptation
            self._ensemble = list(adaptation.folds) or [self.base_adaptation(cat)]
        else:
            self._ensemble = [adaptation]
        for a in self._ensemble:
            if a is not None and a.catalogue_sha256 != (cat.digest if cat is not None else ""):
                raise ValueError("the adaptation was fitted to another guideline catalogue than the assessor's")

    @property
    def classes(self) -> list[str]:
        """The topic model's class labels, in its column order."""
        return [str(c) for c in self.model.predictor.classes_]

    def base_adaptation(self, catalogue: Catalogue | None) -> Adaptation | None:
        """The adaptation stored with the model, when it was fitted to ``catalogue`` (else None)."""
        a = self._own_adaptation
        if a is None or a.catalogue_sha256 != (catalogue.digest if catalogue is not None else ""):
            return None
        return a

    def assess(self, requests: Iterable[Request | str], today: dt.date | None = None) -> list[Assessment]:
        """Assess requests (records, or bare texts assessed as of today).

        With a :class:`~classifier.guidelines.adapt.CrossFit`, a reviewed request (by id) gets
        the reviewer's decision (status ``reviewed``) and, in ``out_of_fold``, the prediction of
        the fold adaptation that never saw its review; the others get the average of the fold
        adaptations' probabilities.
        """
        reqs = [r if isinstance(r, Request) else Request(id=str(i), text=str(r)) for i, r in enumerate(requests)]
        if not reqs:
            return []
        ctx = self._context(reqs, today)
        parts = [self._probs(ctx, a) for a in self._ensemble]
        out = self._decide(ctx, _Probs.mean(parts), range(len(reqs)))
        if self._reviews:
            for i, r in enumerate(reqs):
                label = self._reviews.decisions.get(r.id)
                if label is None:
                    continue
                f = self._reviews.fold_of.get(r.id)
                oof = out[i] if f is None or f >= len(parts) else self._decide(ctx, parts[f], [i])[0]
                out[i] = self._reviewed(ctx, i, label, oof)
        return out

    def assess_with(self, requests: Sequence[Request], adaptations: Sequence[Adaptation | None],
                    today: dt.date | None = None) -> list[Assessment]:
        """Assess with the average of the given adaptations' probabilities (no reviewed decisions)."""
        if not requests:
            return []
        return self._assess_context(self._context(list(requests), today), adaptations)

    def _assess_context(self, ctx: "_Context", adaptations: Sequence[Adaptation | None]) -> list[Assessment]:
        """Decisions for a context from the average of the adaptations' probabilities."""
        return self._decide(ctx, _Probs.mean([self._probs(ctx, a) for a in adaptations]), range(len(ctx.reqs)))

    def _context(self, reqs: list[Request], today: dt.date | None = None) -> "_Context":
        """What every adaptation shares: texts, days, topic probabilities, pair features, catalogue pools."""
        clf = self.model.predictor
        texts = [r.model_input for r in reqs]
        embedded = None
        if hasattr(clf, "predict_proba_info"):  # the semantic view: which requests went through its head
            proba, embedded = clf.predict_proba_info(texts)
        else:
            proba = clf.predict_proba(texts)
        cat = self.catalogue
        today = today or dt.date.today()
        days, day_flags = [], []
        for r in reqs:
            d = r.local_date
            day_flags.append(d is None)
            days.append(d or today)
        feats = pools = later = None
        if cat is not None and len(cat):
            feats = cat.features(texts, proba, self.classes)
            pools = np.array([cat.in_force_mask(d) for d in days])  # in force on each request's day
            later = np.array([cat._published > d.toordinal() for d in days])
        return _Context(reqs, texts, days, day_flags, proba, feats, pools, later, embedded)

    def _match_logits(self, feats: np.ndarray, a: Adaptation | None) -> np.ndarray:
        """Match log-odds of every (request, guideline) pair under an adaptation."""
        z = _match_logit(feats, self.settings)
        if a is None:
            return z
        if a.match_coef:
            z = z + feats[..., [FEATURES.index(f) for f in MATCH_FEATURES]] @ np.asarray(a.match_coef, dtype=np.float32)
        return z + a.match_offsets(self.catalogue)[None, :]

    def _probs(self, ctx: "_Context", a: Adaptation | None) -> "_Probs":
        """Topic, match, coverage and avoidable probabilities under one adaptation (None: the model as trained)."""
        cat, classes = self.catalogue, self.classes
        proba = ctx.proba if a is None else a.shift_topics(ctx.proba, classes)
        n = len(ctx.reqs)
        scores = X_old = None
        cov, cov_new = np.zeros(n), np.zeros(n)
        best_old = best_new = np.full(n, -1)
        if ctx.feats is not None:
            feats = ctx.feats
            if a is not None and a.changes_topics:
                feats = cat.with_topic_probabilities(feats, proba, classes)
            scores = _score(feats, self.settings) if a is None else 1.0 / (1.0 + np.exp(-self._match_logits(feats, a)))
            best_old, X_old = coverage_features(feats, scores, ctx.pools)
            cov = np.where(best_old >= 0, self._coverage_prob(X_old, best_old, a), 0.0)
            best_new, X_new = coverage_features(feats, scores, ctx.later)
            cov_new = np.where(best_new >= 0, self._coverage_prob(X_new, best_new, a), 0.0)
        p_avoid = avoidable_probability(proba, classes, self.taxonomy, cov)
        return _Probs(proba, scores, cov, cov_new, p_avoid, best_old, best_new, X_old)

    def _decide(self, ctx: "_Context", probs: "_Probs", rows: Iterable[int]) -> list[Assessment]:
        """Topic, guideline and avoidable decisions of the given rows from their probabilities."""
        rows = list(rows)
        clf = self.model.predictor
        preds = clf.predict_detailed([ctx.texts[i] for i in rows], mode=self.mode, threshold=self.threshold,
                                     proba=probs.proba[rows])
        cat = self.catalogue
        scores = probs.scores
        have_catalogue = cat is not None  # an empty catalogue is a catalogue: nothing in it covers anything
        tax = self.taxonomy
        cov, cov_new, p_avoid = probs.cov, probs.cov_new, probs.p_avoid
        best_old, best_new = probs.best_old, probs.best_new
        thr = float(self.settings.get("coverage_threshold", 0.5))
        out = []
        for i, p in zip(rows, preds):
            r = ctx.reqs[i]
            flags = list(p.flags)
            day = ctx.days[i]
            if ctx.day_flags[i]:
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
                    rank = s + ctx.pools[i] + (2.0 * cat.handoff if cinfo.back_office_remit else 0.0)
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
                semantic=None if ctx.embedded is None else bool(ctx.embedded[i])))
        return out

    def _reviewed(self, ctx: "_Context", i: int, label: ReviewLabel, oof: Assessment) -> Assessment:
        """The reviewer's decision as the row's assessment, with the model's out-of-fold prediction kept."""
        day = ctx.days[i]
        avoidable, reason, covered, later = reviewed_decision(label, self.catalogue, self.taxonomy, day)
        flags = ("no_sent_at:assessed_against_catalogue_today",) if ctx.day_flags[i] else ()
        cinfo = self.taxonomy[label.topic] if label.topic in self.taxonomy else None
        agent = cinfo is None or cinfo.agents_own
        return Assessment(
            id=ctx.reqs[i].id, topic=label.topic, topic_best=label.topic, confidence=1.0,
            candidates=((label.topic, 1.0),), topic_status="reviewed", guideline_id=label.guideline_id,
            guideline_score=None, avoidable=avoidable, reason=reason,
            later_guideline_id=label.guideline_id if later and agent else None, assessed_on=day.isoformat(),
            flags=flags, coverage_probability=(float(covered) if agent and self.catalogue is not None else None),
            avoidable_probability=None if avoidable is None else float(avoidable), out_of_fold=oof.to_dict())

    def _coverage_prob(self, X: np.ndarray, best: np.ndarray | None = None, a: Adaptation | None = None) -> np.ndarray:
        """Coverage probabilities for coverage feature rows (a score threshold without a coverage model)."""
        if a is not None:
            return 1.0 / (1.0 + np.exp(-self._coverage_logits(X, best, a)))
        cm = self.settings.get("coverage_model")
        if cm and "mean" in cm:
            return _coverage_prob(X, cm)
        # a model from before coverage transfer (or with too little data): the match score itself
        return X[:, COVERAGE_FEATURES.index("score")].astype(float)

    def _coverage_logits(self, X: np.ndarray, best: np.ndarray, a: Adaptation | None, with_bias: bool = True
                         ) -> np.ndarray:
        """Log-odds of coverage under an adaptation (the shipped calibration, rescaled and shifted)."""
        cm = self.settings.get("coverage_model")
        if cm and "mean" in cm:
            pa, pb = cm.get("platt", (1.0, 0.0))
            z = pa * _coverage_logit(X, cm).astype(float) + pb
        else:
            p = np.clip(X[:, COVERAGE_FEATURES.index("score")].astype(float), 1e-6, 1 - 1e-6)
            z = np.log(p / (1 - p))
        if a is None:
            return z
        z = a.coverage_scale * z + a.coverage_shift
        if with_bias and a.coverage_bias:
            z = z + np.where(best >= 0, a.coverage_offsets(self.catalogue)[np.maximum(best, 0)], 0.0)
        return z

    def assess_one(self, text: str, sent_at: Any = None, subject: str | None = None, id: str = "0") -> Assessment:
        """Assess one request given as text and optional send time."""
        r = Request(id=id, text=text, subject=subject, sent_at=parse_datetime(sent_at))
        return self.assess([r])[0]

@dataclass
class _Context:
    """A batch as every adaptation sees it: requests, texts, days, the model's topic probabilities, pair features."""

    reqs: list[Request]
    texts: list[str]
    days: list[dt.date]
    day_flags: list[bool]
    proba: np.ndarray
    feats: np.ndarray | None
    pools: np.ndarray | None
    later: np.ndarray | None
    embedded: np.ndarray | None = None  # with the semantic view: the requests its head saw

    def take(self, rows: Sequence[int]) -> "_Context":
        """The context of some of the requests."""
        rows = list(rows)
        pick = lambda a: None if a is None else a[rows]  # noqa: E731
        return _Context([self.reqs[i] for i in rows], [self.texts[i] for i in rows], [self.days[i] for i in rows],
                        [self.day_flags[i] for i in rows], self.proba[rows], pick(self.feats), pick(self.pools),
                        pick(self.later), pick(self.embedded))


@dataclass
class _Probs:
    """One adaptation's probabilities for a batch (several are averaged for cross-fitting)."""

    proba: np.ndarray
    scores: np.ndarray | None
    cov: np.ndarray
    cov_new: np.ndarray
    p_avoid: np.ndarray
    best_old: np.ndarray
    best_new: np.ndarray
    X_old: np.ndarray | None = None

    @staticmethod
    def mean(parts: Sequence["_Probs"]) -> "_Probs":
        """The average of several adaptations' probabilities; the best candidates from the averaged scores."""
        if len(parts) == 1:
            return parts[0]
        avg = lambda name: np.mean([getattr(p, name) for p in parts], axis=0)  # noqa: E731
        scores = None if parts[0].scores is None else avg("scores")
        return _Probs(avg("proba"), scores, avg("cov"), avg("cov_new"), avg("p_avoid"),
                      _best_in(scores, parts[0].best_old, [p.best_old for p in parts]),
                      _best_in(scores, parts[0].best_new, [p.best_new for p in parts]))


def _best_in(scores: np.ndarray | None, first: np.ndarray, bests: Sequence[np.ndarray]) -> np.ndarray:
    """The best candidate by averaged scores among those some adaptation found best (-1 where none had one)."""
    if scores is None:
        return first
    out = np.full(len(first), -1)
    for i in range(len(first)):
        cands = {int(b[i]) for b in bests if b[i] >= 0}
        if cands:
            out[i] = max(sorted(cands), key=lambda j: scores[i, j])
    return out
