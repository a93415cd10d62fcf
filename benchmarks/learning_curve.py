"""Topic macro-F1 by number of hand-written training requests, with and without generated data (issue 24).

Usage: python benchmarks/learning_curve.py [--sizes 400,800,1600,2400,all] [--generated-weight 0.3]
                                            [--evals test,transfer,lowo] [--out benchmarks/results/learning_curve]

The pool is every hand-written training request of the corpus (train.jsonl, dev.jsonl and
train_topic_only.jsonl, each naming its writer); the test split and the transfer set are only
scored. For each size n the model (``TopicClassifier`` with the given settings) is trained on
the first n requests of one seeded shuffle of the pool (so the sets are nested), alone and
with ``generated.jsonl`` at ``--generated-weight``, and scored three ways:

- **test**: macro-F1 on the held-out test split (written by the same writers as the pool);
- **transfer**: macro-F1 on the transfer set (another retailer, independent writers);
- **lowo**: leave-one-writer-out: each writer of the pool is held out in turn, the model is
  trained on the first n requests of a seeded shuffle of the *other* writers' requests (all of
  them when they are fewer), and the held-out writer's requests are scored; the figure is the
  macro-F1 averaged over writers. "all" is the whole pool (minus the held-out writer).

Generated records only ever train. One seed: differences of a point or two are within noise.
Results are written after every measurement (JSON + Markdown); ``--resume`` skips the ones done.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifier.classify import TopicClassifier  # noqa: E402
from classifier.training import read_labelled  # noqa: E402

HAND = ("train.jsonl", "dev.jsonl", "train_topic_only.jsonl")


def _macro_f1(clf: TopicClassifier, reqs) -> float:
    from sklearn.metrics import f1_score

    y = [r.topic for r in reqs]
    return float(f1_score(y, clf.predict([r.model_input for r in reqs]), average="macro"))


def _fit(params: dict, hand, gen, gen_weight: float) -> TopicClassifier:
    """A classifier trained on hand-written requests (weight 1) and, with a weight above 0, the generated ones."""
    X = [r.model_input for r in hand]
    y = [r.topic for r in hand]
    sw = None
    if gen and gen_weight > 0:
        X += [r.model_input for r in gen]
        y += [r.topic for r in gen]
        sw = [1.0] * len(hand) + [gen_weight] * len(gen)
    return TopicClassifier(**params).fit(X, y, sample_weight=sw)


def _markdown(res: dict) -> str:
    rows = res["rows"]
    sizes = [s for s in res["sizes"]]
    lines = ["# Learning curve: topic macro-F1 by number of hand-written training requests", "",
             f"`{res['command']}` on {res['date']} ({res['seconds']} s on a 2-core machine shared with other jobs). "
             f"Pool: {res['pool']} hand-written training requests of {res['n_writers']} writers "
             f"({', '.join(res['files'])}); generated data: {res['n_generated']} requests at weight "
             f"{res['generated_weight']:g} (training only); settings {res['params'] or 'defaults'}; seed {res['seed']}. "
             "The test split and the transfer set are scored only; *lowo* is the macro-F1 averaged over held-out "
             "writers (each trained on up to n requests of the other writers).", "",
             "| hand-written requests | generated | test split | transfer set | leave-one-writer-out (mean, lowest) |",
             "|---|---|---|---|---|"]
    for gen in (False, True):
        for s in sizes:
            r = {m["eval"]: m for m in rows if m["size"] == s and m["generated"] == gen}
            if not r:
                continue

            def cell(k: str) -> str:
                if k not in r:
                    return "–"
                m = r[k]
                return (f"{m['macro_f1']:.3f}" if k != "lowo" else
                        f"{m['macro_f1']:.3f} ({m['macro_f1_min']:.3f}, {m['worst_writer']})")
            n = f"all ({s})" if s == res["pool"] else str(s)
            lines.append(f"| {n} | {'yes' if gen else 'no'} | {cell('test')} | {cell('transfer')} | {cell('lowo')} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=str(ROOT / "corpus"))
    ap.add_argument("--transfer", default=None, help="Transfer-set folder (default: CORPUS/transfer).")
    ap.add_argument("--sizes", default="400,800,1600,2400,all")
    ap.add_argument("--generated-weight", type=float, default=0.3)
    ap.add_argument("--evals", default="test,transfer,lowo")
    ap.add_argument("--no-generated", action="store_true", help="Only the curve without generated data.")
    ap.add_argument("--C", type=float, default=None)
    ap.add_argument("--class-weight", choices=["balanced", "none"], default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "learning_curve"))
    a = ap.parse_args()
    t0 = time.time()
    corpus = Path(a.corpus)
    transfer = Path(a.transfer) if a.transfer else corpus / "transfer"
    out = Path(a.out)
    params: dict = {}
    if a.C is not None:
        params["C"] = a.C
    if a.class_weight is not None:
        params["class_weight"] = None if a.class_weight == "none" else a.class_weight
    evals = [e for e in a.evals.split(",") if e]
    pool = read_labelled([corpus / f for f in HAND if (corpus / f).exists()], "text", "topic", {}, "writer")
    if any(g is None for g in pool.groups):
        raise SystemExit("every hand-written training request needs a writer for the leave-one-writer-out curve")
    gen_file = corpus / "generated.jsonl"
    gen = read_labelled([gen_file], "text", "topic", {}, None).reqs if gen_file.exists() and not a.no_generated else []
    test = read_labelled([corpus / "test.jsonl"], "text", "topic", {}, None).reqs if "test" in evals else []
    tr_reqs = (read_labelled([transfer / "requests.jsonl"], "text", "topic", {}, None).reqs
               if "transfer" in evals and (transfer / "requests.jsonl").exists() else [])
    n_pool = len(pool.reqs)
    sizes = [n_pool if s == "all" else int(s) for s in a.sizes.split(",")]
    sizes = sorted({min(s, n_pool) for s in sizes})
    writers = sorted(set(pool.groups))
    cmd = "python benchmarks/learning_curve.py " + " ".join(sys.argv[1:])
    res = {"date": dt.date.today().isoformat(), "seconds": 0, "command": cmd.strip(), "pool": n_pool,
           "n_writers": len(writers), "files": [f for f in HAND if (corpus / f).exists()], "n_generated": len(gen),
           "generated_weight": a.generated_weight, "params": params, "seed": a.seed, "sizes": sizes, "rows": []}
    if a.resume and out.with_suffix(".json").exists():
        prev = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
        res["rows"] = prev["rows"]
        t0 -= prev.get("seconds", 0)  # the time of the earlier run counts too
    done = {(r["size"], r["generated"], r["eval"]) for r in res["rows"]}

    def save(row: dict) -> None:
        res["rows"].append(row)
        done.add((row["size"], row["generated"], row["eval"]))
        res["seconds"] = round(time.time() - t0)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".json").write_text(json.dumps(res, indent=1, ensure_ascii=False), encoding="utf-8")
        out.with_suffix(".md").write_text(_markdown(res), encoding="utf-8")

    order = np.random.default_rng(a.seed).permutation(n_pool)
    arms = [False] + ([True] if gen else [])
    for with_gen in arms:
        gw = a.generated_weight if with_gen else 0.0
        for n in sizes:
            want = [e for e in ("test", "transfer") if e in evals and (e != "transfer" or tr_reqs)]
            if any((n, with_gen, e) not in done for e in want):
                hand = [pool.reqs[i] for i in order[:n]]
                clf = _fit(params, hand, gen, gw)
                for e, reqs in (("test", test), ("transfer", tr_reqs)):
                    if e in want and (n, with_gen, e) not in done:
                        save({"size": n, "n_train": n, "generated": with_gen, "eval": e, "macro_f1": round(_macro_f1(clf, reqs), 4),
                              "n_scored": len(reqs)})
                        print(f"n={n} generated={with_gen} {e}: macro-F1 {res['rows'][-1]['macro_f1']:.4f}", flush=True)
            if "lowo" in evals and (n, with_gen, "lowo") not in done:
                per = {}
                for k, w in enumerate(writers):
                    others = [i for i in range(n_pool) if pool.groups[i] != w]
                    sub = np.random.default_rng(a.seed + 1 + k).permutation(others)[:n]
                    clf = _fit(params, [pool.reqs[i] for i in sub], gen, gw)
                    held = [pool.reqs[i] for i in range(n_pool) if pool.groups[i] == w]
                    per[w] = round(_macro_f1(clf, held), 4)
                    print(f"n={n} generated={with_gen} lowo {w}: macro-F1 {per[w]:.4f}", flush=True)
                worst = min(per, key=per.get)
                save({"size": n, "n_train": n, "generated": with_gen, "eval": "lowo",
                      "macro_f1": round(float(np.mean(list(per.values()))), 4), "macro_f1_min": per[worst],
                      "worst_writer": worst, "per_writer": per})
    print(_markdown(res))


if __name__ == "__main__":
    main()
