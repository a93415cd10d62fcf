"""Review queues: the sample the estimates use (random, or tilted toward uncertain requests) and the uncertainty-first queue."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from ..estimate import selection_probabilities
from ..reviewed import RANDOM_QUEUE, TILTED_QUEUE, UNCERTAIN_QUEUE

__all__ = ["DESIGNS", "QUEUES", "TILT_MIX", "Queues", "build_queues", "certainty", "plan_queues"]

QUEUES = (RANDOM_QUEUE, TILTED_QUEUE, UNCERTAIN_QUEUE)
#: the designs of the sample queue
DESIGNS = (RANDOM_QUEUE, TILTED_QUEUE)
#: uniform share of the tilted queue's selection probabilities (chosen on the dev split: 0.1-0.3 did alike)
TILT_MIX = 0.2


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


@dataclass(frozen=True)
class Queues:
    """The two queues of a review session.

    Attributes
    ----------
    design : {"random", "tilted"}
        How the sample queue was drawn.
    sample : tuple of str
        The sample queue's request ids in review order.
    uncertain : tuple of str
        Every other request, least certain first.
    positions : mapping
        Request id -> its positions in the sample (1-based): the place in the random
        permutation, or every draw that picked it in the tilted queue.
    selection : mapping
        Request id -> the per-draw probability the tilted queue picked it with.
    """

    design: str
    sample: tuple[str, ...]
    uncertain: tuple[str, ...]
    positions: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    selection: Mapping[str, float] = field(default_factory=dict)


def plan_queues(rows: Sequence[Mapping[str, Any]], sample: int, seed: int, design: str = RANDOM_QUEUE,
                mix: float = TILT_MIX) -> Queues:
    """The sample queue and the uncertainty-first queue of request ids.

    Parameters
    ----------
    rows : sequence of dict
        Labelled rows with ``id`` and ``predicted``.
    sample : int
        ``random``: the sample size (the first ``sample`` ids of a seeded permutation of the
        ids sorted, so the same seed gives the same sample whatever the file order; any
        prefix of it is a simple random sample). ``tilted``: the number of draws, with
        replacement, each picking request ``i`` with probability ``q_i`` proportional to
        ``sqrt(p_i (1 - p_i))`` of its avoidable probability mixed with uniform
        (:func:`classifier.estimate.selection_probabilities`); the queue holds the drawn
        requests in the order of their first draw, and any prefix of the draws is a
        weighted sample the report can use.
    seed : int
    design : {"random", "tilted"}
    mix : float
        Uniform share of the tilted queue's probabilities.

    Returns
    -------
    Queues
    """
    if design not in DESIGNS:
        raise ValueError(f"unknown sample design {design!r}; expected one of {', '.join(DESIGNS)}")
    by_id: dict[str, Mapping[str, Any]] = {}
    for r in rows:
        by_id.setdefault(str(r["id"]), r)
    ids = sorted(by_id)
    rng = np.random.default_rng(seed)
    positions: dict[str, tuple[int, ...]] = {}
    selection: dict[str, float] = {}
    if design == RANDOM_QUEUE:
        perm = rng.permutation(len(ids))
        chosen = [ids[i] for i in perm[:max(0, sample)]]
        positions = {i: (k,) for k, i in enumerate(chosen, 1)}
    else:
        q = selection_probabilities([_float(by_id[i]["predicted"].get("avoidable_probability")) for i in ids], mix)
        draws = rng.choice(len(ids), size=max(0, sample), replace=True, p=q) if ids and sample > 0 else []
        chosen, pos = [], {}
        for k, j in enumerate(draws, 1):
            i = ids[int(j)]
            if i not in pos:
                chosen.append(i)
                pos[i] = []
            pos[i].append(k)
        positions = {i: tuple(v) for i, v in pos.items()}
        where = {i: k for k, i in enumerate(ids)}
        selection = {i: float(q[where[i]]) for i in chosen}
    taken = set(chosen)
    rest = [by_id[i] for i in ids if i not in taken]
    rest.sort(key=lambda r: (certainty(r["predicted"]), _float(r["predicted"].get("confidence")) or 0.0, str(r["id"])))
    return Queues(design, tuple(chosen), tuple(str(r["id"]) for r in rest), positions, selection)


def build_queues(rows: Sequence[Mapping[str, Any]], sample: int, seed: int) -> tuple[list[str], list[str]]:
    """The random sample and the uncertainty-first queue of request ids (:func:`plan_queues`, random design)."""
    q = plan_queues(rows, sample, seed)
    return list(q.sample), list(q.uncertain)
