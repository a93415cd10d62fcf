"""What 50 and 200 reviewed requests of a new organisation do to the model (issue 12).

Usage: python benchmarks/review_retrain.py [--seed 0] [--out benchmarks/results/review_retrain]

The transfer set (``corpus/transfer``: another retailer's requests and catalogue) plays the new
organisation. Its 280 requests are split once, stratified by topic, into a pool of 200 that a
reviewer labels and 80 held out for scoring. For k = 0, 50 and 200 reviewed requests (the first
k of a seeded shuffle of the pool, as a random review queue would give them):

- the topic model is retrained on the shipped corpus (same settings as the default model) plus
  the k reviewed requests at weight 1 (``train --reviewed``);
- the guideline matcher and coverage model are refitted on the k reviewed requests against the
  organisation's own catalogue (k = 0 keeps the shipped matcher, fitted on the main catalogue);
- the 80 held-out requests are scored: topic macro-F1, guideline top-1, avoidable accuracy.

One split and one seed: with 80 held-out requests a difference of 0.03 is within noise.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifier.guidelines import Catalogue, fit_matcher  # noqa: E402
from classifier.io import read_guidelines, read_requests, read_taxonomy, write_jsonl  # noqa: E402
from classifier.model import Model, load  # noqa: E402
from classifier.records import expected_avoidable  # noqa: E402
from classifier.training import TrainingConfig, evaluate_model, train_from_corpus  # noqa: E402

CORPUS = ROOT / "corpus"
TRANSFER = CORPUS / "transfer"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "review_retrain"))
    a = ap.parse_args()
    t0 = time.time()
    rng = np.random.default_rng(a.seed)
    tax = read_taxonomy(CORPUS / "taxonomy.json")
    cat = read_guidelines(TRANSFER / "guidelines.jsonl", tax)
    gmap = {g.id: g for g in cat}
    rows = [json.loads(line) for line in (TRANSFER / "requests.jsonl").read_text(encoding="utf-8").splitlines()]
    by_topic: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_topic.setdefault(r["topic"], []).append(i)
    held = []
    for t, idx in sorted(by_topic.items()):
        idx = list(rng.permutation(idx))
        held.extend(idx[: round(len(idx) * 80 / len(rows))])
    held = sorted(held)[:80]
    pool = [i for i in rng.permutation(len(rows)) if i not in set(held)][:200]
    shipped = load()
    params = {k: v for k, v in shipped.meta["params"].items()}
    weights = shipped.meta["training_data"]["file_weights"]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        eval_file = tmp / "heldout.jsonl"
        write_jsonl((rows[i] for i in held), eval_file)
        for k in (0, 50, 200):
            reviewed = []
            if k:
                rf = tmp / f"reviewed{k}.jsonl"
                write_jsonl(({**rows[i], "queue": "random", "reviewer": "benchmark"} for i in pool[:k]), rf)
                reviewed = [rf]
            model = train_from_corpus([CORPUS], TrainingConfig(params=params, file_weights=weights),
                                      reviewed=reviewed)
            if k:
                reqs = read_requests([tmp / f"reviewed{k}.jsonl"])
                pred = model.predictor
                proba = pred.predict_proba([r.model_input for r in reqs])
                agent = [tax[r.topic].agents_own for r in reqs]
                model.meta["matcher"] = fit_matcher(
                    Catalogue(cat, pred.processor_, tax, term_weights=pred.term_weights()),
                    [r.model_input for r in reqs], [r.guideline_id for r in reqs], proba,
                    [str(c) for c in pred.classes_], days=[r.local_date for r in reqs], agent_topic=agent,
                    taxonomy=tax, gold_avoidable=[expected_avoidable(r.topic, gmap.get(r.guideline_id),
                                                                     r.local_date, tax) for r in reqs])
            model = Model(classifier=model.classifier, meta=model.meta)
            res = evaluate_model(model, [eval_file], TRANSFER / "guidelines.jsonl")
            row = {"reviewed": k, "topic_macro_f1": res["topic"]["macro_f1"],
                   "topic_accuracy": res["topic"]["accuracy"],
                   "guideline_top1": res["guidelines"]["top1_accuracy"],
                   "avoidable_accuracy": res["avoidable"]["accuracy"],
                   "avoidable_share_error": res["avoidable"]["share"]["error"]}
            results.append(row)
            print(row, flush=True)
    out = {"seed": a.seed, "n_heldout": len(held), "pool": len(pool), "results": results,
           "seconds": round(time.time() - t0), "date": time.strftime("%Y-%m-%d")}
    Path(a.out + ".json").write_text(json.dumps(out, indent=2), encoding="utf-8")
    lines = ["# Retraining from reviews: 0, 50 and 200 reviewed requests of a new organisation", "",
             f"`python benchmarks/review_retrain.py --seed {a.seed}` on {out['date']} ({out['seconds']} s). "
             "Transfer set: 200 requests in the review pool, 80 held out (stratified by topic); "
             "topic model retrained on the shipped corpus + k reviews, matcher refitted on the k reviews "
             "against the organisation's catalogue (k = 0: the shipped matcher).", "",
             "| reviewed | topic macro-F1 | topic accuracy | guideline top-1 | avoidable accuracy | share error |",
             "|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['reviewed']} | {r['topic_macro_f1']:.3f} | {r['topic_accuracy']:.3f} | "
                     f"{r['guideline_top1']} | {r['avoidable_accuracy']} | {r['avoidable_share_error']:+.3f} |")
    Path(a.out + ".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
