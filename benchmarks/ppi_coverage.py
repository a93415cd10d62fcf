"""Coverage and width of the avoidable-share interval: PPI (reviews + predictions) against the reviews alone.

Labels a gold-labelled set with the shipped model, then draws random samples of reviewed
requests (the gold labels play the reviewer) and checks how often each 95 % interval
covers the true avoidable share of the whole set, and how wide it is.

    python benchmarks/ppi_coverage.py [--samples 20] [--n 60] [--repeat 1000]

Sets: corpus/test.jsonl (518 hand-written held-out requests) and, when present,
corpus/transfer/requests.jsonl. Results: benchmarks/results/ppi_coverage.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from classifier.estimate import classical_mean, ppi_mean  # noqa: E402
from classifier.report import wilson_interval  # noqa: E402


def label(path: Path, out: Path) -> dict[str, dict]:
    """Label a gold set with the shipped model, against the catalogue beside it (a transfer set has its own)."""
    cat = path.parent / "guidelines.jsonl"
    extra = ["--guidelines", str(cat)] if path.parent.name == "transfer" and cat.exists() else []
    subprocess.run([sys.executable, "-m", "classifier", "label", str(path), "--out", str(out), *extra], check=True,
                   cwd=REPO, capture_output=True, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin",
                                                       "TUKIPYYNTO_ID_KEY": "benchmark"})
    return {r["id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}


def run_set(name: str, path: Path, samples: int, n: int, repeat: int, tmp: Path) -> list[str]:
    gold = {r["id"]: r for r in map(json.loads, path.read_text(encoding="utf-8").splitlines())}
    pred = label(path, tmp / f"{path.stem}.labelled.jsonl")
    ids = [i for i in gold if i in pred and pred[i].get("predicted") and gold[i].get("avoidable") is not None]
    y_all = np.array([1.0 if gold[i]["avoidable"] else 0.0 for i in ids])
    hard = np.array([1.0 if pred[i]["predicted"]["avoidable"] else 0.0 for i in ids])
    has_p = all(pred[i]["predicted"].get("avoidable_probability") is not None for i in ids)
    soft = np.array([float(pred[i]["predicted"]["avoidable_probability"]) for i in ids]) if has_p else None
    truth = float(y_all.mean())
    lines = [f"## {name}: {len(ids)} requests, true avoidable share {truth:.3f}, "
             f"model-only share {hard.mean():.3f} (model avoidable accuracy {(hard == y_all).mean():.3f})", ""]
    variants = [("ppi (hard decision, power-tuned)", hard, None), ("ppi (hard decision, lam=1)", hard, 1.0)]
    if soft is not None:
        variants.insert(0, ("ppi (avoidable_probability, power-tuned)", soft, None))
    for label_, reps in ((f"{samples} samples of {n} (seed 0)", samples), (f"{repeat} samples of {n} (seed 0)", repeat)):
        rng = np.random.default_rng(0)
        draws = [rng.choice(len(ids), n, replace=False) for _ in range(reps)]
        lines += [f"### {label_}", "", "| interval | covers the truth | mean width |", "|---|---|---|"]
        for vname, f, lam in variants:
            es = [ppi_mean(y_all[d], f[d], f, lam=lam) for d in draws]
            cov = sum(e.ci_low <= truth <= e.ci_high for e in es)
            lines.append(f"| {vname} | {cov} / {reps} | {np.mean([e.width for e in es]):.3f} |")
        cl = [classical_mean(y_all[d]) for d in draws]
        lines.append(f"| reviews alone, CLT | {sum(e.ci_low <= truth <= e.ci_high for e in cl)} / {reps} | "
                     f"{np.mean([e.width for e in cl]):.3f} |")
        wi = [wilson_interval(int(y_all[d].sum()), n) for d in draws]
        lines.append(f"| reviews alone, Wilson | {sum(lo <= truth <= hi for lo, hi in wi)} / {reps} | "
                     f"{np.mean([hi - lo for lo, hi in wi]):.3f} |")
        lines.append("")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=1000)
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "ppi_coverage.md"))
    a = ap.parse_args()
    sets = [("corpus/test.jsonl", REPO / "corpus" / "test.jsonl")]
    t = REPO / "corpus" / "transfer" / "requests.jsonl"
    if t.exists():
        sets.append(("corpus/transfer/requests.jsonl", t))
    lines = ["# PPI coverage benchmark", "",
             f"{dt.date.today().isoformat()}; `python benchmarks/ppi_coverage.py --samples {a.samples} --n {a.n} "
             f"--repeat {a.repeat}`. Gold labels play the reviewer; the shipped model labels every request. "
             "95 % intervals for the avoidable share of the whole set.", ""]
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in sets:
            lines += run_set(name, path, a.samples, a.n, a.repeat, Path(tmp))
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
