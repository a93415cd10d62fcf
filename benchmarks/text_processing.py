"""Compare text-processing choices on the corpus dev split (issue 3): each alone and combined.

    python benchmarks/text_processing.py [--no-generated]

Trains on corpus/train.jsonl (+ generated.jsonl unless --no-generated), scores on
corpus/dev.jsonl (never the test split), and times prediction on one core.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sklearn.metrics import accuracy_score, f1_score  # noqa: E402

from classifier.classify import TopicClassifier  # noqa: E402
from classifier.io import read_requests  # noqa: E402

CONFIGS = {
    "surface words": dict(lemmatizer="none", compounds=False),
    "prefix stems (6)": dict(lemmatizer="prefix", compounds=False),
    "simplemma lemmas": dict(lemmatizer="simplemma", compounds=False),
    "lemmas + compounds": dict(lemmatizer="simplemma", compounds=True),
    "char n-grams + surface": dict(lemmatizer="none", compounds=False, char_ngrams=True),
    "char n-grams + prefix stems": dict(lemmatizer="prefix", compounds=False, char_ngrams=True),
    "char + lemmas + prefix + compounds": dict(lemmatizer="simplemma+prefix", compounds=True, char_ngrams=True),
    "lemmas + compounds + char": dict(lemmatizer="simplemma", compounds=True, char_ngrams=True),
    "lemmas + compounds, unigrams": dict(lemmatizer="simplemma", compounds=True, word_ngrams=1),
    "lemmas + prefix + compounds": dict(lemmatizer="simplemma+prefix", compounds=True),
    "lemmas + prefix5 + compounds": dict(lemmatizer="simplemma+prefix", compounds=True, prefix_len=5),
    "prefix5 stems": dict(lemmatizer="prefix", compounds=False, prefix_len=5),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-generated", action="store_true")
    ap.add_argument("--generated-weight", type=float, default=0.3)
    ap.add_argument("--cv", type=int, default=0, help="Score by k-fold CV over hand-written train+dev instead of dev alone.")
    ap.add_argument("--only", help="Comma-separated configuration names.")
    args = ap.parse_args()
    c = ROOT / "corpus"
    train = read_requests(c / "train.jsonl")
    w = [1.0] * len(train)
    if not args.no_generated and (c / "generated.jsonl").exists():
        gen = read_requests(c / "generated.jsonl")
        train += gen
        w += [args.generated_weight] * len(gen)
    dev = read_requests(c / "dev.jsonl")
    X = [r.model_input for r in train]
    y = [r.topic for r in train]
    Xd = [r.model_input for r in dev]
    yd = [r.topic for r in dev]
    print(f"train {len(X)}  dev {len(Xd)}")
    print(f"{'configuration':32s} {'dev acc':>8s} {'dev F1':>8s} {'fit s':>6s} {'docs/s':>8s}")
    rows = []
    configs = {k: v for k, v in CONFIGS.items() if not args.only or k in args.only.split(",")}
    if args.cv:
        import numpy as np
        from sklearn.model_selection import StratifiedKFold

        hw = train[: len(read_requests(c / "train.jsonl"))] + dev
        gen = train[len(hw) - len(dev):]
        Xh = [r.model_input for r in hw]
        yh = np.array([r.topic for r in hw], dtype=object)
        Xg = [r.model_input for r in gen]
        yg = [r.topic for r in gen]
        print(f"{args.cv}-fold CV over {len(hw)} hand-written records (+{len(gen)} generated in every training fold)")
        for name, params in configs.items():
            f1s, accs = [], []
            for tr, te in StratifiedKFold(args.cv, shuffle=True, random_state=0).split(Xh, yh):
                clf = TopicClassifier(**params).fit([Xh[i] for i in tr] + Xg, list(yh[tr]) + yg,
                                                    sample_weight=[1.0] * len(tr) + [args.generated_weight] * len(Xg))
                p = clf.predict([Xh[i] for i in te])
                accs.append(accuracy_score(yh[te], p)); f1s.append(f1_score(yh[te], p, average="macro"))
            rows.append({"config": name, "params": params, "cv_accuracy": round(float(np.mean(accs)), 4),
                         "cv_macro_f1": round(float(np.mean(f1s)), 4), "cv_macro_f1_std": round(float(np.std(f1s)), 4)})
            print(f"{name:32s} acc {np.mean(accs):.4f}  F1 {np.mean(f1s):.4f} ± {np.std(f1s):.4f}", flush=True)
        out = ROOT / "benchmarks" / "results"
        out.mkdir(exist_ok=True)
        (out / f"text_processing_cv_w{args.generated_weight}.json").write_text(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for name, params in configs.items():
        t = time.perf_counter()
        clf = TopicClassifier(**params).fit(X, y, sample_weight=w)
        fit_s = time.perf_counter() - t
        pred = clf.predict(Xd)
        clf.predict_proba(Xd[:50])  # warm-up
        times = []
        for _ in range(3):
            clf.processor_._lemma_cache.clear()
            t = time.perf_counter()
            clf.predict_proba(Xd)
            times.append(time.perf_counter() - t)
        dps = len(Xd) / statistics.median(times)
        acc, f1 = accuracy_score(yd, pred), f1_score(yd, pred, average="macro")
        rows.append({"config": name, "params": params, "dev_accuracy": round(acc, 4), "dev_macro_f1": round(f1, 4),
                     "fit_seconds": round(fit_s, 1), "docs_per_second": round(dps)})
        print(f"{name:32s} {acc:8.4f} {f1:8.4f} {fit_s:6.1f} {dps:8.0f}")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "text_processing.json").write_text(json.dumps(rows, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
