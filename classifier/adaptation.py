"""Adapt a model to an organisation's catalogue from its reviewed requests (``tukipyynto adapt``, ``--reviewed``).

Reads reviewed files (``tukipyynto review``), checks each review against the model's topics
and the catalogue, finds each reviewed request's text (in the reviewed row, or in the
labelled inputs), and fits the fold adaptations of cross-fitting and the adaptation on
every review (:mod:`classifier.guidelines.adapt`). Reviews that cannot be used are named in
one message per kind and left out; the rest is used.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from .errors import TukipyyntoError
from .guidelines import MIN_REVIEWS, Assessor, CrossFit, ReviewLabel, cross_fit
from .records import Request, parse_datetime
from .textstore import read_texts

__all__ = ["ReviewSet", "Adapted", "collect_reviews", "adapt_model", "adaptation_summary", "model_with_adaptation"]

_SHOWN = 5  # ids named in a message


@dataclass
class ReviewSet:
    """Reviews usable for adaptation, and what was left out and why.

    Attributes
    ----------
    requests, labels : lists
        The reviewed requests (id, text, send time) and the reviewer's decisions.
    queues : Counter
        Usable reviews by queue (``random``, ``uncertain``, ``none`` for rows without one).
    problems : list of str
        One message per kind of review left out (unknown topic, guideline of another
        catalogue, no text), naming a few ids.
    """

    requests: list[Request] = field(default_factory=list)
    labels: list[ReviewLabel] = field(default_factory=list)
    queues: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)


@dataclass
class Adapted:
    """An adaptation fitted from reviews: the fold adaptations, the full one and the reviews used."""

    crossfit: CrossFit
    reviews: ReviewSet
    assessor: Assessor


def _named(ids: Sequence[str]) -> str:
    """A few ids, and how many more."""
    shown = ", ".join(str(i)[:40] for i in ids[:_SHOWN])
    return shown + (f" and {len(ids) - _SHOWN} more" if len(ids) > _SHOWN else "")


def collect_reviews(reviewed: Mapping[str, Mapping[str, Any]], assessor: Assessor,
                    texts: Mapping[str, Request] | None = None, source: str = "the reviewed file(s)") -> ReviewSet:
    """Check reviewed rows against the model and catalogue and pair each with its request.

    Parameters
    ----------
    reviewed : mapping
        Request id -> reviewed row (:func:`classifier.estimate.read_reviewed`).
    assessor : Assessor
        The model's topics and the catalogue the reviews must name guidelines from.
    texts : mapping, optional
        Request id -> the request as labelled (its text and send time); a review without
        one uses the text in its row, or in this machine's private text store (the row's
        ``text_ref`` and ``key``).
    source : str
        How to name the reviewed files in messages.

    Returns
    -------
    ReviewSet
        Usable reviews in id order; a review with an unknown topic, a guideline id that is
        not in the catalogue, or no text is left out, each kind in one message.
    """
    labels_known = set(assessor.classes)
    cat = assessor.catalogue
    bad_topic: list[str] = []
    bad_guideline: list[str] = []
    no_text: list[str] = []
    out = ReviewSet()
    n_with_guideline = 0
    # rows labelled without --with-text: their redacted text is in this machine's private store
    stored = read_texts(str(r["text_ref"]) for r in reviewed.values()
                        if not r.get("text") and r.get("text_ref") and r.get("key"))
    for rid in sorted(reviewed):
        row = reviewed[rid]
        topic, gid = row.get("topic"), row.get("guideline_id")
        if gid is not None:
            n_with_guideline += 1
        if not isinstance(topic, str) or topic not in labels_known:
            bad_topic.append(f"{rid} ({str(topic)[:30]!r})")
            continue
        if gid is not None and cat is not None and (not isinstance(gid, str) or gid not in cat.index):
            bad_guideline.append(f"{rid} ({str(gid)[:30]!r})")
            continue
        req = (texts or {}).get(rid)
        if req is None:
            text = row.get("text") or stored.get(str(row.get("key")))
            if not isinstance(text, str) or not text.strip():
                no_text.append(rid)
                continue
            subject = row.get("subject") if isinstance(row.get("subject"), str) else None
            try:
                sent = parse_datetime(row.get("sent_at"))
            except (TypeError, ValueError):
                sent = None
            req = Request(id=rid, text=text, subject=subject, sent_at=sent,
                          channel=row.get("channel") if isinstance(row.get("channel"), str) else None)
        else:
            req = Request(id=rid, text=req.text, subject=req.subject, sent_at=req.sent_at, channel=req.channel)
        out.requests.append(req)
        out.labels.append(ReviewLabel(topic=topic, guideline_id=gid, queue=row.get("queue")))
        out.queues[str(row.get("queue") or "none")] += 1
    if bad_topic:
        other = " (the file seems to come from another taxonomy)" if len(bad_topic) > len(reviewed) / 2 else ""
        out.problems.append(f"{source}: {len(bad_topic)} review(s) name a topic the model does not know{other}: "
                            f"{_named(bad_topic)}; known topics: {', '.join(sorted(labels_known))}. They are not used.")
    if bad_guideline:
        other = (" (the file seems to come from another catalogue)"
                 if len(bad_guideline) > n_with_guideline / 2 else "")
        out.problems.append(f"{source}: {len(bad_guideline)} review(s) name a guideline that is not in this catalogue"
                            f"{other}: {_named(bad_guideline)}. They are not used; give the catalogue the reviews "
                            "were made against (--guidelines).")
    if no_text:
        out.problems.append(f"{source}: {len(no_text)} review(s) have no request text (in the row or in this "
                            f"machine's text store) and their requests are not among the inputs: {_named(no_text)}. They are not used; give the labelled inputs too.")
    return out


def adapt_model(reviewed: Mapping[str, Mapping[str, Any]], assessor: Assessor,
                texts: Mapping[str, Request] | None = None, folds: int = 5, seed: int = 0,
                source: str = "the reviewed file(s)") -> Adapted:
    """Fit the fold adaptations and the full adaptation of an assessor's model to reviewed requests.

    Parameters
    ----------
    reviewed : mapping
        Request id -> reviewed row.
    assessor : Assessor
        Model and catalogue, without reviews (a model adapted before is the prior's centre).
    texts : mapping, optional
        Request id -> request, for reviews whose rows carry no text.
    folds, seed : int
        Cross-fitting folds and the seed of their assignment and of the strength selection.

    Returns
    -------
    Adapted
    """
    reviews = collect_reviews(reviewed, assessor, texts, source)
    cf = cross_fit(assessor, reviews.requests, reviews.labels, folds=folds, seed=seed)
    return Adapted(crossfit=cf, reviews=reviews, assessor=assessor)


def adaptation_summary(adapted: Adapted) -> list[str]:
    """What an adaptation did, in a few lines for the command line."""
    cf, rv = adapted.crossfit, adapted.reviews
    queues = ", ".join(f"{n} {q}" for q, n in sorted(rv.queues.items())) or "none"
    lines = [f"adapted to the catalogue from {len(rv.requests)} review(s) ({queues})"]
    b, a = cf.figures.get("before"), cf.figures.get("after")
    if b and a:
        lines.append(f"cross-validated on the reviews ({cf.figures.get('folds')} folds): avoidable accuracy "
                     f"{b['avoidable_accuracy']} -> {a['avoidable_accuracy']}, topic {b['topic_accuracy']} -> "
                     f"{a['topic_accuracy']}, guideline {b['guideline_accuracy']} -> {a['guideline_accuracy']}")
    full = cf.full.fit if cf.full is not None else {}
    strengths = {k: full[k]["strength"] for k in ("topic", "ranking", "coverage") if k in full}
    if strengths:
        lines.append("prior strengths chosen by cross-validation (1e6: kept as shipped): "
                     + "; ".join(f"{k} {v}" for k, v in strengths.items()))
    lines.extend(cf.notes)
    return lines


def model_with_adaptation(adapted: Adapted, catalogue_name: str | None = None):
    """The assessor's model carrying the full adaptation and its catalogue, ready for ``save_model``.

    Raises
    ------
    TukipyyntoError
        Too few usable reviews to adapt anything.
    """
    from copy import deepcopy

    from .model import Model

    a = adapted.assessor
    cf = adapted.crossfit
    if cf.full is None:
        raise TukipyyntoError(f"{len(adapted.reviews.requests)} usable review(s): too few to adapt the model "
                              f"(at least {MIN_REVIEWS} needed); nothing was saved")
    meta = deepcopy(a.model.meta)
    ad = cf.full.to_dict()
    ad["fit"] = dict(ad["fit"], reviews_by_queue=dict(adapted.reviews.queues), cv=dict(cf.figures),
                     catalogue=catalogue_name, adapted_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                     left_out=list(adapted.reviews.problems))
    meta["adaptation"] = ad
    return Model(classifier=a.model.classifier, meta=meta, path=None, catalogue=list(a.catalogue.guidelines))

