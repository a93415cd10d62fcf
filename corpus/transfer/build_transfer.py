"""Build the transfer set: merge the writers' files, compute ``avoidable`` by the spec's rule, print counts.

Usage: python corpus/transfer/build_transfer.py

Reads ``writers/requests_*.jsonl`` (one file per writer) and ``guidelines.jsonl`` in this folder and
the shared taxonomy (``corpus/taxonomy.json``); writes ``requests.jsonl`` with ``avoidable``
computed from each request's labelled topic, guideline and local date, so labels and rule
cannot disagree; prints the counts table of this folder's README.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from classifier.io import read_guidelines, read_requests, read_taxonomy  # noqa: E402
from classifier.records import expected_avoidable  # noqa: E402


def main() -> None:
    tax = read_taxonomy(HERE.parent / "taxonomy.json")
    gl = {g.id: g for g in read_guidelines(HERE / "guidelines.jsonl", tax)}
    rows = []
    for f in sorted((HERE / "writers").glob("requests_*.jsonl")):
        raw = [json.loads(line) for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
        reqs = read_requests([f])
        for row, r in zip(raw, reqs):
            if r.guideline_id and r.guideline_id not in gl:
                raise SystemExit(f"{f.name}: {r.id}: unknown guideline {r.guideline_id}")
            g = gl.get(r.guideline_id) if r.guideline_id else None
            row["avoidable"] = expected_avoidable(r.topic, g, r.local_date, tax)
            row["writer"] = f.stem.split("_", 1)[1]
            rows.append(row)
    rows.sort(key=lambda r: r["id"])
    with open(HERE / "requests.jsonl", "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    by_topic = Counter(r["topic"] for r in rows)
    av = Counter(r["topic"] for r in rows if r["avoidable"])
    nog = Counter(r["topic"] for r in rows if not r.get("guideline_id"))
    later = Counter(r["topic"] for r in rows if r.get("guideline_id") and not r["avoidable"]
                    and not tax[r["topic"]].back_office_remit and not tax[r["topic"]].misrouted)
    print("| topic | requests | avoidable | no guideline | guideline not in force |")
    print("|---|---|---|---|---|")
    for t in tax.ids:
        print(f"| {t} | {by_topic[t]} | {av[t]} | {nog[t]} | {later[t]} |")
    n_av = sum(av.values())
    print(f"| **total** | {len(rows)} | {n_av} ({n_av / max(1, len(rows)):.1%}) | {sum(nog.values())} | {sum(later.values())} |")
    print()
    print("channels:", dict(Counter(r["channel"] for r in rows)), "writers:", dict(Counter(r["writer"] for r in rows)))


if __name__ == "__main__":
    main()
