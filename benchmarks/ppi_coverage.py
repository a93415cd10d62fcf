"""Coverage and width of the report's corrected intervals, from simulated reviews of a gold-labelled set.

Labels a gold-labelled set with the shipped model, then plays the reviewer with the gold
labels: it draws review samples exactly as ``tukipyynto review`` does (the random queue's
seeded permutation, or the tilted queue's weighted draws), writes the decisions the review
page would write, and runs the report's own estimator (``classifier.estimate.review_estimates``)
on them. Each interval is checked against the truth of the whole set:

1. 1,000 random samples of 10, 30 and 60 reviews: the avoidable share overall, each topic's
   share, the avoidable share within each reviewed topic and within each month (the last two
   only where a group has the minimum number of reviews; how often that is, is shown).
2. The random queue against the tilted queue at 60 reviewed requests: coverage and mean width
   of the overall avoidable interval over 20 seeds and over 1,000 seeds.
3. For reference, the textbook intervals at 60 reviews (``ppi_mean``, reviews alone).

    python benchmarks/ppi_coverage.py [--repeat 1000] [--seeds 20]

Sets: corpus/transfer/requests.jsonl (evaluation only: nothing here is tuned on it) and
corpus/test.jsonl. Results: benchmarks/results/ppi_coverage.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from classifier.estimate import (MIN_REVIEWS, classical_mean, ppi_mean, review_estimates,  # noqa: E402
                                 reviews_for_margin, selection_probabilities, wilson_interval)
from classifier.review.queues import TILT_MIX, plan_queues  # noqa: E402

SIZES = (10, 30, 60)
TARGET = 0.93


def label(path: Path, out: Path) -> list[dict]:
    """Label a gold set with the shipped model, against the catalogue beside it (a transfer set has its own)."""
    cat = path.parent / "guidelines.jsonl"
    extra = ["--guidelines", str(cat)] if path.parent.name == "transfer" and cat.exists() else []
    subprocess.run([sys.executable, "-m", "classifier", "label", str(path), "--out", str(out), *extra], check=True,
                   cwd=REPO, capture_output=True, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin",
                                                       "TUKIPYYNTO_ID_KEY": "benchmark",
                                                       "TUKIPYYNTO_TEXT_STORE": str(out.parent / "text-store")})
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def decision(row: dict, gold: dict, plan, queue: str, seed: int, size: int) -> dict:
    """What the review page writes when the reviewer agrees with the gold label."""
    out = {"id": row["id"], "topic": gold["topic"], "guideline_id": gold.get("guideline_id"),
           "avoidable": gold["avoidable"], "queue": queue, "sample_seed": seed, "sample_size": size,
           "sample_positions": list(plan.positions[row["id"]])}
    if queue == "tilted":
        out["selection_probability"] = plan.selection[row["id"]]
    return out


class Tally:
    """Coverage and widths of one kind of interval, per group."""

    def __init__(self) -> None:
        self.cover: dict[str, int] = defaultdict(int)
        self.n: dict[str, int] = defaultdict(int)
        self.width: dict[str, list[float]] = defaultdict(list)

    def add(self, group: str, lo: float, hi: float, truth: float) -> None:
        self.cover[group] += lo - 1e-12 <= truth <= hi + 1e-12
        self.n[group] += 1
        self.width[group].append(hi - lo)

    def cells(self, samples: int, groups: int) -> str:
        """``shown | min coverage (group) | mean coverage | mean width``."""
        if not self.n:
            return "0 | – | – | –"
        rates = {g: self.cover[g] / self.n[g] for g in self.n}
        worst = min(rates, key=lambda g: (rates[g], g))
        shown = sum(self.n.values()) / (samples * groups)
        widths = [w for v in self.width.values() for w in v]
        return (f"{shown:.0%} | {rates[worst]:.3f} ({worst}, {self.n[worst]}) | "
                f"{sum(self.cover.values()) / sum(self.n.values()):.3f} | {np.mean(widths):.3f}")


def run_set(name: str, path: Path, repeat: int, seeds: int, tmp: Path) -> list[str]:
    gold = {r["id"]: r for r in map(json.loads, path.read_text(encoding="utf-8").splitlines())}
    rows = [r for r in label(path, tmp / f"{path.stem}.labelled.jsonl") if r.get("predicted") and r["id"] in gold]
    ids = [r["id"] for r in rows]
    topics = sorted({gold[i]["topic"] for i in ids})
    months = {r["id"]: r["sent_at"][:7] for r in rows}
    y = np.array([1.0 if gold[i]["avoidable"] else 0.0 for i in ids])
    truth = {"avoidable": float(y.mean())}
    for t in topics:
        member = np.array([gold[i]["topic"] == t for i in ids])
        truth[f"share:{t}"] = float(member.mean())
        truth[f"avoidable:{t}"] = float(y[member].mean())
    for m in sorted(set(months.values())):
        member = np.array([months[i] == m for i in ids])
        truth[f"month:{m}"] = float(y[member].mean())
    p = np.array([float(r["predicted"]["avoidable_probability"]) for r in rows])
    hard = np.array([1.0 if r["predicted"]["avoidable"] else 0.0 for r in rows])
    label_of = {t: t for t in topics}
    lines = [f"## {name}: {len(ids)} requests, true avoidable share {truth['avoidable']:.3f}",
             "", f"The shipped model: mean avoidable probability {p.mean():.3f}, decided share {hard.mean():.3f}, "
             f"avoidable accuracy {(hard == y).mean():.3f}. Reviews for ±5 points from its own uncertainty: "
             f"{reviews_for_margin(p)} (random queue), {reviews_for_margin(p, selection=selection_probabilities(p, TILT_MIX))} "
             "(tilted queue).", ""]

    def estimates(reviewed: dict) -> dict:
        return review_estimates(rows, reviewed, topics, months={i: months[i] for i in ids}, topic_label=label_of.get)

    def tally(est: dict, tallies: dict[str, Tally]) -> None:
        e = est["avoidable"]
        if e is not None:
            tallies["avoidable share, overall"].add("all", e.ci_low, e.ci_high, truth["avoidable"])
        for r in est["review_topics"]:
            tallies["topic share, per topic"].add(r["topic"], r["ci_low"], r["ci_high"], truth[f"share:{r['topic']}"])
        for r in est["review_avoidable"]:
            if r["group"] == "topic" and r["estimate"] is not None:
                tallies["avoidable share within a topic"].add(r["label"], r["ci_low"], r["ci_high"],
                                                              truth[f"avoidable:{r['label']}"])
            if r["group"] == "month" and r["estimate"] is not None:
                tallies["avoidable share within a month"].add(r["label"], r["ci_low"], r["ci_high"],
                                                              truth[f"month:{r['label']}"])

    index = {i: k for k, i in enumerate(ids)}

    # 1. random samples of 10, 30, 60 through the report's estimator
    lines += [f"### The report's intervals, {repeat} random samples (the random queue's seeds 0-{repeat - 1})", "",
              f"Minimum reviews for an estimate: {MIN_REVIEWS} in all and in each group. *shown*: share of the "
              "possible intervals the report gave (groups below the minimum give none). Coverage target: "
              f"at least {TARGET:.0%} for every group.", "",
              "| reviews | interval | shown | lowest coverage (group, intervals) | coverage, all groups | mean width |",
              "|---|---|---|---|---|---|"]
    kinds = (("avoidable share, overall", 1), ("topic share, per topic", len(topics)),
             ("avoidable share within a topic", len(topics)), ("avoidable share within a month", len(set(months.values()))))
    for n in SIZES:
        tallies = {k: Tally() for k, _ in kinds}
        for s in range(repeat):
            plan = plan_queues(rows, n, s)
            tally(estimates({i: decision(rows[index[i]], gold[i], plan, "random", s, n) for i in plan.sample}),
                  tallies)
        for k, groups in kinds:
            lines.append(f"| {n} | {k} | {tallies[k].cells(repeat, groups)} |")
    lines.append("")

    # 2. random against tilted at 60 reviewed requests
    lines += ["### Random and tilted queue at 60 reviewed requests", "",
              f"Tilted: draws with replacement, probability proportional to sqrt(p (1 - p)) of the avoidable "
              f"probability mixed {TILT_MIX:.0%} with uniform; the reviewer reviews the first 60 distinct requests in "
              "queue order; each draw weighted by 1 / its selection probability. Random: the first 60 of the "
              "seeded permutation, with the finite-population correction.", "",
              "| queue | seeds | covers the truth | mean width | draws used (mean) | topic shares: lowest coverage |",
              "|---|---|---|---|---|---|"]
    for queue in ("random", "tilted"):
        for count in (seeds, repeat):
            tallies = {k: Tally() for k, _ in kinds}
            widths, draws = [], []
            for s in range(count):
                if queue == "random":
                    plan = plan_queues(rows, 60, s)
                    chosen = plan.sample
                    size = 60
                else:
                    size = 300
                    plan = plan_queues(rows, size, s, design="tilted")
                    chosen = plan.sample[:60]
                rev = {i: decision(rows[index[i]], gold[i], plan, queue, s, size) for i in chosen}
                est = estimates(rev)
                tally(est, tallies)
                widths.append(est["avoidable"].width)
                draws.append(est["avoidable"].n_reviewed)
            t = tallies["avoidable share, overall"]
            topic = tallies["topic share, per topic"]
            worst = min(topic.n, key=lambda g: topic.cover[g] / topic.n[g])
            lines.append(f"| {queue} | {count} | {t.cover['all']} / {count} | {np.mean(widths):.3f} | "
                         f"{np.mean(draws):.1f} | {topic.cover[worst] / topic.n[worst]:.3f} ({worst}) |")
    lines.append("")

    # 3. the textbook intervals for reference (simple random samples of 60, seed 0)
    rng = np.random.default_rng(0)
    picks = [rng.choice(len(ids), 60, replace=False) for _ in range(repeat)]
    lines += [f"### Textbook intervals, {repeat} simple random samples of 60 (for reference)", "",
              "| interval | covers the truth | mean width |", "|---|---|---|"]
    for vname, f, lam in (("ppi_mean (probability, power-tuned)", p, None), ("ppi_mean (probability, lam=1)", p, 1.0),
                          ("ppi_mean (decision, lam=1)", hard, 1.0)):
        es = [ppi_mean(y[d], f[d], f, lam=lam) for d in picks]
        lines.append(f"| {vname} | {sum(e.ci_low <= truth['avoidable'] <= e.ci_high for e in es)} / {repeat} | "
                     f"{np.mean([e.width for e in es]):.3f} |")
    cl = [classical_mean(y[d]) for d in picks]
    lines.append(f"| reviews alone, CLT | {sum(e.ci_low <= truth['avoidable'] <= e.ci_high for e in cl)} / {repeat} | "
                 f"{np.mean([e.width for e in cl]):.3f} |")
    wi = [wilson_interval(int(y[d].sum()), 60) for d in picks]
    lines.append(f"| reviews alone, Wilson | {sum(lo <= truth['avoidable'] <= hi for lo, hi in wi)} / {repeat} | "
                 f"{np.mean([hi - lo for lo, hi in wi]):.3f} |")
    lines.append("")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=1000)
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "ppi_coverage.md"))
    a = ap.parse_args()
    sets = []
    t = REPO / "corpus" / "transfer" / "requests.jsonl"
    if t.exists():
        sets.append(("corpus/transfer/requests.jsonl", t))
    sets.append(("corpus/test.jsonl", REPO / "corpus" / "test.jsonl"))
    lines = ["# Coverage of the corrected intervals", "",
             f"{dt.date.today().isoformat()}; `python benchmarks/ppi_coverage.py --repeat {a.repeat} --seeds {a.seeds}`. "
             "Gold labels play the reviewer; the shipped model labels every request; every interval is the report's "
             "95 % interval for the share among all the set's requests.", ""]
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in sets:
            lines += run_set(name, path, a.repeat, a.seeds, Path(tmp))
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
