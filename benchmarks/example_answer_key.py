"""The example mailbox against its answer key: what the main job says, and what is true.

The September 2016 example mailbox (corpus/examples/syyskuu-2016.mbox, 156 threads) ships
with its answer key (syyskuu-2016.labels.jsonl: the topic, guideline and avoidable decision
of every thread). This script runs the job a user runs,

    tukipyynto analyse corpus/examples/syyskuu-2016.mbox --out DIR

with the shipped model and catalogue, joins the labelled rows with the answer key (by the
thread's first Message-ID) and prints the report's model-only avoidable share against the
true share, and the model's topic and avoidable decisions against the key.

Then it reviews the 60 requests of the random sample the README reviews (``tukipyynto review
... --sample 60 --seed 1``; the answer key plays the reviewer, through the review session), and
runs ``tukipyynto analyse ... --reviewed reviewed.jsonl``: the model adapted to the catalogue
from those reviews (cross-fitted) and the report's corrected share; also ``report --reviewed``
on the unadapted rows, and the avoidable decisions on the 96 threads nobody reviewed.

    python benchmarks/example_answer_key.py [--out benchmarks/results]

Results: benchmarks/results/example_answer_key.md and .json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

EXAMPLES = REPO / "corpus" / "examples"
MBOX = EXAMPLES / "syyskuu-2016.mbox"
KEY = EXAMPLES / "syyskuu-2016.labels.jsonl"


def measure(work: Path) -> dict:
    """Run ``analyse`` on the example mailbox in ``work`` and score its rows against the answer key."""
    from classifier.ingest import iter_contacts
    from classifier.label import contact_key

    out = work / "report"
    env = {**os.environ, "PYTHONPATH": str(REPO), "TUKIPYYNTO_ID_KEY": "benchmark"}
    subprocess.run([sys.executable, "-m", "classifier", "analyse", str(MBOX), "--out", str(out)], check=True,
                   cwd=REPO, capture_output=True, env=env)
    # each row's key names its input file and the position of its thread's first message: the Message-ID there
    message_id = {contact_key(c): str(c.id).strip("<>") for c in iter_contacts([MBOX])}
    truth = {}
    with open(KEY, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                r = json.loads(line)
                truth[r["message_id"].strip("<>")] = r
    rows = [json.loads(x) for x in (out / "labelled.jsonl").read_text(encoding="utf-8").splitlines()]
    with open(out / "avoidable_overall.csv", encoding="utf-8", newline="") as fh:
        overall = next(r for r in csv.DictReader(fh) if r["method"] != "ppi")
    pairs = [(r, truth[message_id[r["key"]]]) for r in rows]
    decided = [(r["predicted"], t) for r, t in pairs if r["status"] == "ok" and r["predicted"]]
    k_true = sum(bool(t["avoidable"]) for _, t in pairs)
    return {"after_reviews": _after_reviews(work, out, rows, lambda r: truth[message_id[r["key"]]], env), **{
        "threads": len(pairs), "labelled": len(decided),
        "true_avoidable": k_true, "true_share": k_true / len(pairs),
        "model_estimate": float(overall["estimate"]), "model_ci": [float(overall["ci_low"]), float(overall["ci_high"])],
        "model_decided_share": float(overall["share"]), "method": overall["method"],
        "topic_right": sum(p["topic"] == t["topic"] for p, t in decided),
        "guideline_right": sum(p.get("guideline_id") == t.get("guideline_id") for p, t in decided),
        "avoidable_right": sum(bool(p["avoidable"]) == bool(t["avoidable"]) for p, t in decided),
        "avoidable_missed": sum(bool(t["avoidable"]) and not p["avoidable"] for p, t in decided),
        "avoidable_false": sum(bool(p["avoidable"]) and not t["avoidable"] for p, t in decided),
    }}


def _overall(folder: Path) -> dict[str, dict]:
    """The avoidable_overall.csv rows of a report, by method (``ppi`` for the corrected one)."""
    with open(folder / "avoidable_overall.csv", encoding="utf-8", newline="") as fh:
        return {("ppi" if r["method"] == "ppi" else "model"): r for r in csv.DictReader(fh)}


def _after_reviews(work: Path, out: Path, rows: list[dict], truth_of, env: dict) -> dict:
    """Review the README's random sample from the answer key, then analyse with --reviewed and report --reviewed."""
    from classifier.estimate import RANDOM_QUEUE
    from classifier.review import load_session

    reviewed = work / "reviewed.jsonl"
    session = load_session([out / "labelled.jsonl"], reviewed, sample=60, seed=1, reviewer="answer-key", use_model=False)
    by_id = {r["id"]: r for r in rows}
    done = []
    try:
        while (rid := session.next_id(RANDOM_QUEUE)) is not None:
            t = truth_of(by_id[rid])
            session.decide(rid, t["topic"], t.get("guideline_id"), RANDOM_QUEUE)
            done.append(rid)
    finally:
        session.close()
    adapted = work / "report-adapted"
    plain = work / "report-reviewed"
    for cmd in (["analyse", str(MBOX), "--reviewed", str(reviewed), "--out", str(adapted)],
                ["report", str(out / "labelled.jsonl"), "--reviewed", str(reviewed), "--out", str(plain)]):
        subprocess.run([sys.executable, "-m", "classifier", *cmd], check=True, cwd=REPO, capture_output=True, env=env)
    arows = {r["id"]: r for r in map(json.loads, (adapted / "labelled.jsonl").read_text(encoding="utf-8").splitlines())}
    rest = [r for r in rows if r["id"] not in set(done)]
    right = lambda rs: sum(bool(r["predicted"]["avoidable"]) == bool(truth_of(r)["avoidable"]) for r in rs)  # noqa: E731
    a, p = _overall(adapted), _overall(plain)
    return {
        "n_reviews": len(done), "seed": 1, "n_unreviewed": len(rest),
        "corrected_estimate": round(float(a["ppi"]["estimate"]), 4),
        "corrected_ci": [round(float(a["ppi"]["ci_low"]), 4), round(float(a["ppi"]["ci_high"]), 4)],
        "adapted_model_estimate": round(float(a["model"]["estimate"]), 4),
        "unadapted_corrected_estimate": round(float(p["ppi"]["estimate"]), 4),
        "unadapted_corrected_ci": [round(float(p["ppi"]["ci_low"]), 4), round(float(p["ppi"]["ci_high"]), 4)],
        "unreviewed_avoidable_right_before": right(rest),
        "unreviewed_avoidable_right_after": right([arows[r["id"]] for r in rest]),
    }


def to_markdown(m: dict) -> str:
    """The figures as the README quotes them."""
    lo, hi = m["model_ci"]
    covers = "covers" if lo <= m["true_share"] <= hi else "misses"
    return "\n".join([
        "# The example mailbox against its answer key",
        "",
        "`python benchmarks/example_answer_key.py`: `tukipyynto analyse corpus/examples/syyskuu-2016.mbox` with the",
        "shipped model and catalogue, its rows joined with `corpus/examples/syyskuu-2016.labels.jsonl`.",
        "",
        "| | avoidable share | 95 % interval |",
        "|---|---|---|",
        f"| answer key | {100 * m['true_share']:.1f} % ({m['true_avoidable']} of {m['threads']}) | |",
        f"| the report, model only | {100 * m['model_estimate']:.1f} % | {100 * lo:.1f}–{100 * hi:.1f} % ({covers} the truth) |",
        "",
        f"Topics right: {m['topic_right']} of {m['labelled']}; guideline right: {m['guideline_right']} of {m['labelled']}; "
        f"avoidable decision right: {m['avoidable_right']} of {m['labelled']} ({m['avoidable_right'] / m['labelled']:.3f}; "
        f"{m['avoidable_missed']} avoidable threads called unavoidable, {m['avoidable_false']} the other way). "
        f"The model's yes/no decisions give {100 * m['model_decided_share']:.1f} %.",
        "",
        *_after_markdown(m),
    ])


def _after_markdown(m: dict) -> list[str]:
    """The rows after 60 reviews of the random sample."""
    a = m["after_reviews"]
    t = m["true_share"]

    def iv(ci):
        return f"{100 * ci[0]:.1f}–{100 * ci[1]:.1f} % ({'covers' if ci[0] <= t <= ci[1] else 'misses'} the truth)"

    return [
        f"After {a['n_reviews']} reviews of the random sample (`tukipyynto review ... --sample 60 --seed 1`, the answer key "
        "as the reviewer):",
        "",
        "| | avoidable share | 95 % interval |",
        "|---|---|---|",
        f"| `analyse --reviewed`: adapted model, corrected estimate | {100 * a['corrected_estimate']:.1f} % | "
        f"{iv(a['corrected_ci'])} |",
        f"| `analyse --reviewed`: the adapted model alone | {100 * a['adapted_model_estimate']:.1f} % | |",
        f"| `report --reviewed` on the unadapted rows | {100 * a['unadapted_corrected_estimate']:.1f} % | "
        f"{iv(a['unadapted_corrected_ci'])} |",
        "",
        f"Avoidable decisions right on the {a['n_unreviewed']} threads nobody reviewed: "
        f"{a['unreviewed_avoidable_right_before']} shipped, {a['unreviewed_avoidable_right_after']} adapted.",
        "",
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results"), help="Folder for the .md and .json results.")
    args = ap.parse_args()
    if not KEY.exists():
        sys.exit(f"{KEY}: the answer key is missing (python corpus/examples/build_examples.py builds it)")
    with tempfile.TemporaryDirectory() as tmp:
        m = measure(Path(tmp))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "example_answer_key.json").write_text(json.dumps(m, indent=1) + "\n", encoding="utf-8")
    md = to_markdown(m)
    (out / "example_answer_key.md").write_text(md, encoding="utf-8")
    print(md, end="")


if __name__ == "__main__":
    main()
