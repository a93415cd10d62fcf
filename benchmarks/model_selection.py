"""Select the shipped model's settings by leave-one-writer-out cross-validation (issue 24).

Usage: python benchmarks/model_selection.py [--out benchmarks/results/model_selection]

The data are the hand-written training requests of ``corpus/`` (train.jsonl, dev.jsonl and
train_topic_only.jsonl: eleven writers); the test split and the transfer set take no part.
For each candidate, every writer is held out in turn, a model is trained on the other ten
(and on the generated data when the candidate gives it a weight; generated records only ever
train) and the held-out writer's requests are predicted. The figure that selects is the
macro-F1 averaged over the held-out writers (each writer counts once, whatever their size;
a tie goes to the candidate listed first); the pooled out-of-fold macro-F1 and the lowest
writer are shown beside it.

Two stages, as ``tukipyynto train --search`` does them:

1. ``C`` in (0.25, 0.5, 1.0, 2.0) x class weights (balanced, none), without generated data;
2. the best of stage 1 with ``corpus/generated.jsonl`` at weight 0.1 and 0.3.

Results are written after every candidate (JSON + Markdown), so an interrupted run keeps what
it measured; ``--resume`` skips candidates already in the JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifier.training import TrainingConfig, search_by_writers  # noqa: E402

CORPUS = ROOT / "corpus"
HAND = ("train.jsonl", "dev.jsonl", "train_topic_only.jsonl")


def _key(cand: dict) -> str:
    return json.dumps({"params": cand["params"], "file_weights": cand.get("file_weights", {})}, sort_keys=True)


def _label(row: dict) -> str:
    p = row["params"]
    cw = p.get("class_weight", "balanced")
    gen = row["file_weights"].get("generated.jsonl", 0)
    return f"C={p.get('C', 0.5)}, class weights {cw or 'none'}, generated {gen:g}"


def _markdown(res: dict) -> str:
    rows = res["rows"]
    writers = sorted({w for r in rows for w in r["per_writer"]})
    best = max(rows, key=lambda r: r["macro_f1_mean"]) if rows else None
    lines = ["# Model selection by leave-one-writer-out cross-validation", "",
             f"`python benchmarks/model_selection.py` on {res['date']} ({res['seconds']} s, {res['host_note']}). "
             f"Training writers only ({', '.join(writers)}; {rows[0]['n'] if rows else '?'} hand-written requests "
             "of train.jsonl, dev.jsonl and train_topic_only.jsonl); the test split and the transfer set took no part. "
             "Each writer is held out in turn; the selecting figure is the macro-F1 averaged over held-out writers "
             "(a tie goes to the candidate listed first: the smaller C, balanced class weights, less generated data).", "",
             "| settings | macro-F1 mean over writers | lowest writer | pooled macro-F1 | accuracy | ECE |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        mark = " **(selected)**" if r is best else ""
        lines.append(f"| {_label(r)}{mark} | {r['macro_f1_mean']:.4f} | {r['macro_f1_min']:.4f} ({r['worst_writer']}) | "
                     f"{r['macro_f1']:.4f} | {r['accuracy']:.4f} | {r['ece']:.4f} |")
    lines += ["", "Macro-F1 per held-out writer:", "",
              "| settings | " + " | ".join(writers) + " |", "|---" * (len(writers) + 1) + "|"]
    for r in rows:
        lines.append(f"| {_label(r)} | " + " | ".join(f"{r['per_writer'].get(w, float('nan')):.3f}" for w in writers) + " |")
    if best:
        p = best["params"]
        gen = best["file_weights"].get("generated.jsonl", 0)
        cmd = ("tukipyynto train corpus/ --out models/default"
               + (f" --file-weight generated.jsonl={gen:g}" if gen else "")
               + ("" if p.get("class_weight", "balanced") == "balanced" else " --class-weight none")
               + f" --C {p.get('C', 0.5)} --transfer corpus/transfer")
        lines += ["", f"Selected: {_label(best)}. The shipped model is trained with:", "", f"    {cmd}", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=str(CORPUS))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "model_selection"))
    ap.add_argument("--resume", action="store_true", help="Skip candidates already in the output JSON.")
    ap.add_argument("--no-generated", action="store_true", help="Skip stage 2 (the generated data's weight).")
    a = ap.parse_args()
    out = Path(a.out)
    t0 = time.time()
    corpus = Path(a.corpus)
    files = [corpus / f for f in HAND if (corpus / f).exists()]
    gen = corpus / "generated.jsonl"
    res = {"date": dt.date.today().isoformat(), "seconds": 0, "host_note": "2-core machine shared with other jobs",
           "files": list(HAND), "rows": []}
    if a.resume and out.with_suffix(".json").exists():
        prev = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
        res["rows"] = prev["rows"]
        t0 -= prev.get("seconds", 0)  # the time of the earlier run counts too
    done = {_key(r) for r in res["rows"]}

    def run(cands: list[dict], use: list[Path]) -> None:
        for c in cands:
            if _key(c) in done:
                continue
            row = search_by_writers(use, [c], progress=lambda m: print(m, flush=True))[0]
            res["rows"].append(row)
            done.add(_key(c))
            res["seconds"] = round(time.time() - t0)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.with_suffix(".json").write_text(json.dumps(res, indent=1, ensure_ascii=False), encoding="utf-8")
            out.with_suffix(".md").write_text(_markdown(res), encoding="utf-8")

    stage1 = [{"params": dict(g), "file_weights": {}} for g in TrainingConfig.WRITER_SEARCH_GRID]
    run(stage1, files)
    keys1 = {_key(c) for c in stage1}
    best = max((r for r in res["rows"] if _key(r) in keys1), key=lambda r: r["macro_f1_mean"])
    if not a.no_generated and gen.exists():
        run([{"params": best["params"], "file_weights": {"generated.jsonl": w}} for w in TrainingConfig.GENERATED_WEIGHTS],
            files + [gen])
    print(_markdown(res))


if __name__ == "__main__":
    main()
