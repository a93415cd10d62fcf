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
    "lemmas + compounds + char": dict(lemmatizer="simplemma", compounds=True, char_ngrams=True),
    "lemmas + compounds, unigrams": dict(lemmatizer="simplemma", compounds=True, word_ngrams=1),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-generated", action="store_true")
    ap.add_argument("--generated-weight", type=float, default=0.3)
    args = ap.parse_args()
    c = ROOT / "corpus"
    train = read_requests(c / "train.jsonl")
    w = [1.0] * len(train)
    if not args.no_generated and (c / "generated.jsonl").exists():
        gen = read_requests(c / "generated.jsonl")
        train += gen
        w += [args.generated_weight] * len(gen)
    dev = read_requests(c / "dev.jsonl")
    X = [((r.subject or "") + "\n" + r.text).strip() for r in train]
    y = [r.topic for r in train]
    Xd = [((r.subject or "") + "\n" + r.text).strip() for r in dev]
    yd = [r.topic for r in dev]
    print(f"train {len(X)}  dev {len(Xd)}")
    print(f"{'configuration':32s} {'dev acc':>8s} {'dev F1':>8s} {'fit s':>6s} {'docs/s':>8s}")
    rows = []
    for name, params in CONFIGS.items():
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
