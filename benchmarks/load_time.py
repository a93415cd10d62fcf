"""Time ``import classifier`` + ``classifier.load()`` in fresh interpreters (warm file cache).

Usage: python benchmarks/load_time.py [--runs 7]

Prints the median and range of the wall time of a new Python process that imports the
library and loads the default model, next to the bare interpreter start for reference, and
whether scikit-learn was imported; then the topic model's prediction speed on one thread
(``predict_proba`` on the hand-written dev and test requests, median of five runs) and the
size of the model directory.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CODE = "import classifier; classifier.load()"


def _time(code: str, runs: int) -> list[float]:
    """Wall times of ``runs`` fresh interpreters running ``code`` (one warm-up first)."""
    subprocess.run([sys.executable, "-c", code], check=True)
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    a = ap.parse_args()
    base = _time("pass", a.runs)
    full = _time(CODE, a.runs)
    probe = subprocess.run([sys.executable, "-c", CODE + "; import sys; print('sklearn' in sys.modules)"],
                           capture_output=True, text=True, check=True).stdout.strip()
    print(f"python -c pass:                         median {statistics.median(base):.3f} s")
    print(f"import classifier; classifier.load():   median {statistics.median(full):.3f} s "
          f"(min {min(full):.3f}, max {max(full):.3f}, {a.runs} runs)")
    print(f"scikit-learn imported by load(): {probe}")
    print(PREDICT_NOTE)
    subprocess.run([sys.executable, "-c", PREDICT], check=True)


PREDICT_NOTE = "predict_proba on one thread, hand-written dev + test requests, median of 5 runs:"
PREDICT = """
import json, statistics, time
from pathlib import Path
from threadpoolctl import threadpool_limits
import classifier
from classifier.model import default_model_dir
root = Path(classifier.__file__).resolve().parent.parent / "corpus"
texts = [json.loads(x)["text"] for f in ("dev.jsonl", "test.jsonl") for x in open(root / f, encoding="utf-8")]
model = classifier.load()
with threadpool_limits(1):
    model.classifier.predict_proba(texts[:50])
    times = []
    for _ in range(5):
        t = time.perf_counter()
        model.classifier.predict_proba(texts)
        times.append(time.perf_counter() - t)
words = sum(len(t.split()) for t in texts) / len(texts)
size = sum(p.stat().st_size for p in default_model_dir().iterdir() if p.is_file())
print(f"  {len(texts)} requests ({words:.0f} words on average): {len(texts) / statistics.median(times):,.0f} requests/s")
print(f"model directory: {size / 1e6:.1f} MB")
"""


if __name__ == "__main__":
    main()
