"""Review queues: the seeded random sample the estimates use and the uncertainty-first queue for retraining."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ..estimate import RANDOM_QUEUE, UNCERTAIN_QUEUE

__all__ = ["QUEUES", "build_queues", "certainty"]

QUEUES = (RANDOM_QUEUE, UNCERTAIN_QUEUE)


def _float(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if f != f else f


def certainty(pred: Mapping[str, Any]) -> float:
    """How sure the model was of a row, 0 (least) to 1: the smallest of its confidence, its top-2 margin
    and how far its coverage (or avoidable) probability is from 0.5.

    Parameters
    ----------
    pred : mapping
        The ``predicted`` block of a labelled row.
    """
    vals = []
    conf = _float(pred.get("confidence"))
    if conf is not None:
        vals.append(conf)
    cands = pred.get("candidates") or []
    probs = sorted((_float(c[1]) or 0.0 for c in cands if isinstance(c, (list, tuple)) and len(c) == 2), reverse=True)
    if probs:
        vals.append(probs[0] - (probs[1] if len(probs) > 1 else 0.0))
    for k in ("coverage_probability", "avoidable_probability"):
        p = _float(pred.get(k))
        if p is not None:
            vals.append(abs(p - 0.5) * 2)
            break
    return float(min(vals)) if vals else 0.0


def build_queues(rows: Sequence[Mapping[str, Any]], sample: int, seed: int) -> tuple[list[str], list[str]]:
    """The random sample and the uncertainty-first queue of request ids.

    The random queue is the first ``sample`` ids of a seeded permutation of the rows sorted
    by id, so the same seed gives the same sample whatever the file order; reviewed in queue
    order, any prefix of it is a simple random sample. The uncertainty queue holds every
    other row, least certain (:func:`certainty`) first.
    """
    ids = sorted({str(r["id"]) for r in rows})
    perm = np.random.default_rng(seed).permutation(len(ids))
    random_ids = [ids[i] for i in perm[:max(0, sample)]]
    chosen = set(random_ids)
    rest = [r for r in rows if str(r["id"]) not in chosen]
    rest.sort(key=lambda r: (certainty(r["predicted"]), _float(r["predicted"].get("confidence")) or 0.0, str(r["id"])))
    seen: set[str] = set()
    uncertain = []
    for r in rest:
        i = str(r["id"])
        if i not in seen:
            seen.add(i)
            uncertain.append(i)
    return random_ids, uncertain
