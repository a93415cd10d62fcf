"""Time ``import classifier`` + ``classifier.load()`` in fresh interpreters (warm file cache).

Usage: python benchmarks/load_time.py [--runs 7]

Prints the median and range of the wall time of a new Python process that imports the
library and loads the default model, next to the bare interpreter start for reference, and
whether scikit-learn was imported.
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


if __name__ == "__main__":
    main()
