"""What each adaptation component contributes: avoidable accuracy with one component left out, over seeds.

A development benchmark for :mod:`classifier.guidelines.adapt` (issue 19). Per seed, ``--n``
requests of a set are "reviewed" at random (their gold labels play the reviewer), the fold
adaptations of cross-fitting are fitted on them (``cross_fit``, as ``label --reviewed``
does), and avoidable accuracy is measured on the other requests for:

- ``shipped``: no adaptation;
- ``all``: every component (topic priors, guideline ranking, coverage recalibration), each
  fold adaptation kept only where it predicts the other folds' reviews better (the default);
- ``ungated``: every component, every fold adaptation kept;
- ``no-topic``, ``no-ranking``, ``no-coverage``: every component but one;
- ``only-coverage``: the coverage recalibration alone.

The sets used for development are ``generated``: per seed ``--size`` requests drawn from
corpus/generated.jsonl, which the shipped default model does not train on (its file weight
is 0), against the shipped catalogue; and ``generated-pruned``: the same draw against a
catalogue with 30 % of its agent-topic guidelines removed (seeded per seed), so the covered
share and which guidelines exist differ from what the model was trained with, as with a
new organisation's catalogue. ``transfer`` and ``mailbox`` are the evaluation sets of
benchmarks/adaptation.py; run them here only to explain a result, never to choose a setting.

    python benchmarks/adaptation_components.py [--sets generated] [--seeds 10] [--n 60] [--size 300] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("TUKIPYYNTO_ID_KEY", "benchmark")

from classifier import load  # noqa: E402
from classifier.guidelines import Assessor, ReviewLabel, cross_fit  # noqa: E402
from classifier.records import Request, parse_datetime  # noqa: E402

# variant -> (components, gate)
VARIANTS = {"all": (("topic", "ranking", "coverage"), True), "ungated": (("topic", "ranking", "coverage"), False),
            "no-topic": (("ranking", "coverage"), True), "no-ranking": (("topic", "coverage"), True),
            "no-coverage": (("topic", "ranking"), True), "only-coverage": (("coverage",), True)}


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _request(r: dict[str, Any], rid: str) -> Request:
    return Request(id=rid, text=r["text"], subject=r.get("subject") or None, sent_at=parse_datetime(r.get("sent_at")),
                   channel=r.get("channel"))


def generated_set(seed: int, size: int) -> tuple[list[Request], list[dict], Path]:
    """``size`` requests of corpus/generated.jsonl drawn with the seed, their gold rows and the shipped catalogue."""
    rows = _rows(REPO / "corpus" / "generated.jsonl")
    pick = np.random.default_rng(10_000 + seed).choice(len(rows), size, replace=False)
    rows = [rows[i] for i in pick]
    return [_request(r, r["id"]) for r in rows], rows, REPO / "corpus" / "guidelines.jsonl"


def transfer_set(seed: int, size: int) -> tuple[list[Request], list[dict], Path]:
    """The transfer set (evaluation only) and its catalogue."""
    rows = _rows(REPO / "corpus" / "transfer" / "requests.jsonl")
    return [_request(r, r["id"]) for r in rows], rows, REPO / "corpus" / "transfer" / "guidelines.jsonl"


def mailbox_set(seed: int, size: int) -> tuple[list[Request], list[dict], Path]:
    """The example mailbox's requests with its answer key (evaluation only), and the shipped catalogue."""
    from classifier.ingest import iter_contacts

    key = {r["message_id"].strip("<>"): r for r in _rows(REPO / "corpus" / "examples" / "syyskuu-2016.labels.jsonl")}
    reqs, gold = [], []
    for c in iter_contacts([REPO / "corpus" / "examples" / "syyskuu-2016.mbox"]):
        g = key[str(c.id).strip("<>")]
        reqs.append(Request(id=str(c.id), text=c.text, subject=c.subject, sent_at=c.sent_at, channel=c.channel))
        gold.append(g)
    return reqs, gold, REPO / "corpus" / "guidelines.jsonl"


def pruned_set(seed: int, size: int, drop: float = 0.3) -> tuple[list[Request], list[dict], list]:
    """A catalogue this model has not seen the like of: the generated draw against the shipped catalogue
    with a seeded ``drop`` share of its agent-topic guidelines removed (their requests become uncovered:
    the gold guideline is cleared and ``avoidable`` recomputed with the rule)."""
    from classifier.io import read_guidelines
    from classifier.model import load as load_model
    from classifier.rules import avoidable_reason

    reqs, rows, path = generated_set(seed, size)
    tax = load_model().taxonomy
    gl = read_guidelines(path)
    agent_only = [g for g in gl if all(tax[t].agents_own for t in g.topics if t in tax)]
    rng = np.random.default_rng(20_000 + seed)
    gone = {g.id for g in rng.choice(np.array(agent_only, dtype=object), int(round(drop * len(agent_only))), replace=False)}
    kept = [g for g in gl if g.id not in gone]
    by_id = {g.id: g for g in kept}
    gold = []
    for r, q in zip(rows, reqs):
        gid = r["guideline_id"] if r["guideline_id"] in by_id else None
        g = by_id.get(gid)
        day = q.local_date
        av, _ = avoidable_reason(tax[r["topic"]], g is not None and g.in_force(day), g is not None and g.published > day)
        gold.append(dict(r, guideline_id=gid, avoidable=bool(av)))
    return reqs, gold, kept


SETS = {"generated": generated_set, "generated-pruned": pruned_set, "transfer": transfer_set, "mailbox": mailbox_set}


def run(name: str, seeds: int, n: int, size: int, model) -> dict[str, Any]:
    out: dict[str, Any] = {"variants": {v: [] for v in ("shipped", *VARIANTS)}, "strengths": [], "cv": [],
                           "topic_wrong_errors": {}}
    cache: dict[str, Any] = {}
    for seed in range(seeds):
        t0 = time.time()
        reqs, gold, cat_path = SETS[name](seed, size)
        if not name.startswith("generated") and "assessor" in cache:
            assessor, ctx = cache["assessor"], cache["ctx"]
        else:
            assessor = (cache["assessor"] if name == "generated" and "assessor" in cache
                        else Assessor(model, catalogue=cat_path, adaptation=False))
            ctx = assessor._context(reqs)
            cache.update(assessor=assessor, ctx=ctx)
        pick = np.random.default_rng(seed).permutation(len(reqs))[:n]
        others = np.setdiff1d(np.arange(len(reqs)), pick)
        labels = [ReviewLabel(topic=gold[i]["topic"], guideline_id=gold[i]["guideline_id"], queue="random")
                  for i in pick]
        truth = np.array([bool(gold[i]["avoidable"]) for i in others])
        topics = [gold[i]["topic"] for i in others]
        octx = ctx.take(others)

        def acc(adaptations, variant: str) -> float:
            res = assessor._assess_context(octx, adaptations)
            wrong = [bool(a.avoidable) != t for a, t in zip(res, truth)]
            # the share of requests decided wrongly whose topic is wrong too (topic errors, not coverage ones)
            out["topic_wrong_errors"].setdefault(variant, []).append(
                float(np.mean([w and a.topic != g for w, a, g in zip(wrong, res, topics)])))
            return 1.0 - float(np.mean(wrong))

        out["variants"]["shipped"].append(acc([None], "shipped"))
        for v, (comps, gate) in VARIANTS.items():
            cf = cross_fit(assessor, [reqs[i] for i in pick], labels, components=comps, gate=gate)
            out["variants"][v].append(acc(list(cf.folds) or [None], v))
            if v == "all":
                cf_all_folds = cf.figures.get("folds_adapted")
                full = cf.full.fit if cf.full is not None else {}
                out["strengths"].append({k: full[k]["strength"] for k in ("topic", "ranking", "coverage") if k in full})
                out["cv"].append({k: cf.figures.get(k, {}) for k in ("before", "after")})
        line = " ".join(f"{v} {out['variants'][v][-1]:.3f}" for v in out["variants"])
        out["folds_adapted"] = out.get("folds_adapted", []) + [cf_all_folds]
        print(f"{name} seed {seed}: {line}; strengths {out['strengths'][-1]}; {time.time() - t0:.0f}s", flush=True)
    base = np.array(out["variants"]["shipped"])
    out["summary"] = {v: {"mean": float(np.mean(x)), "gain": float(np.mean(np.array(x) - base)),
                          "errors_topic_wrong": float(np.mean(out["topic_wrong_errors"][v])),
                          "better": int(np.sum(np.array(x) > base)), "worse": int(np.sum(np.array(x) < base))}
                      for v, x in out["variants"].items()}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sets", nargs="+", default=["generated"], choices=list(SETS))
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--n", type=int, default=60, help="reviews per seed")
    ap.add_argument("--size", type=int, default=300, help="requests per seed (generated set)")
    ap.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = ap.parse_args()
    model = load()
    results = {}
    for name in args.sets:
        results[name] = run(name, args.seeds, args.n, args.size, model)
        print(f"\n{name}: avoidable accuracy on the requests not reviewed (mean over {args.seeds} seeds)")
        for v, s in results[name]["summary"].items():
            print(f"  {v:14s} {s['mean']:.3f}  {s['gain'] * 100:+.1f} points  better/worse {s['better']}/{s['worse']}  "
                  f"errors with the topic wrong {s['errors_topic_wrong']:.3f}")
    if args.out:
        args.out.write_text(json.dumps({"args": vars(args) | {"out": str(args.out)}, "sets": results}, indent=1,
                                       default=str), encoding="utf-8")
        args.out.with_suffix(".md").write_text(markdown(results, args), encoding="utf-8")


def markdown(results: dict[str, Any], args) -> str:
    """The summary table of every set."""
    cmd = (f"python benchmarks/adaptation_components.py --sets {' '.join(results)} --seeds {args.seeds} --n {args.n}"
           + (f" --size {args.size}" if any(name.startswith("generated") for name in results) else ""))
    lines = ["# What each adaptation component contributes", "", f"`{cmd}`: avoidable accuracy on the requests not "
             f"reviewed, mean over {args.seeds} seeds of {args.n} random reviews; better / worse: seeds against the "
             "model as shipped; errors with the topic wrong: the share of those requests decided wrongly whose topic "
             "is wrong too. See the script's docstring for the sets and variants.", "",
             "| set | variant | avoidable accuracy | vs shipped | seeds better / worse | errors with the topic wrong |",
             "|---|---|---|---|---|---|"]
    for name, r in results.items():
        for v, s in r["summary"].items():
            lines.append(f"| {name} | {v} | {s['mean']:.3f} | {s['gain'] * 100:+.1f} points | {s['better']} / {s['worse']} "
                         f"| {s['errors_topic_wrong']:.3f} |")
        fa = [x for x in r.get("folds_adapted", []) if x is not None]
        if fa:
            lines.append(f"| {name} | (fold adaptations kept, `all`) | mean {np.mean(fa):.1f} of 5 | | | |")
    return "\n".join(lines + [""])


if __name__ == "__main__":
    main()
