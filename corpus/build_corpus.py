"""Build the corpus splits from the hand-written requests and write the datasheet's counts.

    python corpus/build_corpus.py     # writes train.jsonl, dev.jsonl, test.jsonl, train_topic_only.jsonl, README counts

Hand-written records labelled against the catalogue (``handwritten/*.jsonl`` records with a
``guideline_id`` key, rounds 1 and 2) get a seeded ``sent_at`` (spread over 2016 with realistic
hours; phone calls only in opening hours) and the ``avoidable`` label computed by the rule from
the catalogue's dates and the taxonomy's flags. They are split per topic 60 / 15 / 25 into
train / dev / test, so the test split holds hand-written records only.

Records labelled with a topic only (no ``guideline_id`` key: round 3, written without the
catalogue) cannot be given ``avoidable``; they keep their writers' ``sent_at`` and go to
``train_topic_only.jsonl``, training data only, with ``guideline_id`` and ``avoidable`` null.
They are left out of the seeded draw, so the three splits are the same records (and the test
split the same bytes) whatever is added to them. ``generated.jsonl`` (from ``generate.py``) is
optional extra training data.

Every hand-written record carries a ``writer``; :func:`writer_of` derives it from the id prefix.
train.jsonl, dev.jsonl and train_topic_only.jsonl carry it; test.jsonl keeps the bytes it had
before the field existed (its writers follow from the ids the same way).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
from collections import Counter, defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
TZ = ZoneInfo("Europe/Helsinki")
SPLITS = (("train", 0.60), ("dev", 0.15), ("test", 0.25))
TOPIC_ONLY = "train_topic_only"
# id prefix -> writer (see README.md, "Writers"); round 1 was one writer, rounds 2 and 3 one persona a file
WRITER_PREFIXES = (("hw2a-", "hw2a"), ("hw2b-", "hw2b"), ("hw2c-", "hw2c"), ("hw2d-", "hw2d"), ("hw-", "hw1"),
                   ("w3a-", "w3a"), ("w3b-", "w3b"), ("w3c-", "w3c"), ("w3d-", "w3d"), ("w3e-", "w3e"),
                   ("w3f-", "w3f"))


def _load(path: Path) -> list[dict]:
    return [json.loads(l) for l in path.read_text(encoding="utf-8").splitlines() if l.strip()]


def writer_of(rid: str) -> str:
    """The writer of a hand-written record, from its id prefix."""
    for prefix, writer in WRITER_PREFIXES:
        if rid.startswith(prefix):
            return writer
    raise ValueError(f"record id {rid!r} has no known writer prefix; expected one of "
                     f"{', '.join(p for p, _ in WRITER_PREFIXES)} (add the new writer to WRITER_PREFIXES)")


def _sent_at(rng: random.Random, channel: str) -> dt.datetime:
    """A 2016 send time: phone weekdays 8:30-16; email mostly so, some evenings, Saturdays, rare Sundays."""
    while True:
        day = dt.date(2016, 1, 1) + dt.timedelta(days=rng.randrange(366))
        wd = day.weekday()
        r = rng.random()
        if channel == "phone" or r < 0.74:
            if wd >= 5:
                continue
            minute = rng.randrange(8 * 60 + 30, 16 * 60)
        elif r < 0.92:
            if wd >= 5:
                continue
            minute = rng.choice([rng.randrange(6 * 60 + 30, 8 * 60 + 30), rng.randrange(16 * 60, 22 * 60)])
        elif r < 0.985:
            if wd != 5:
                continue
            minute = rng.randrange(9 * 60, 18 * 60)
        else:
            if wd != 6:
                continue
            minute = rng.randrange(10 * 60, 21 * 60)
        return dt.datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=TZ)


def avoidable(topic: str, gid: str | None, when: dt.datetime, tax: dict, cat: dict) -> bool:
    """The spec's rule, from the taxonomy flags and the catalogue dates."""
    c = tax[topic]
    if c.get("misrouted"):
        return True
    if c.get("back_office_remit") or gid is None:
        return False
    g = cat[gid]
    day = when.astimezone(TZ).date().isoformat()
    return g["published"] <= day and (g["retired"] is None or day <= g["retired"])


def build(seed: int = 2016) -> dict[str, list[dict]]:
    """Return the splits of the hand-written records: train, dev, test (with sent_at and avoidable) and topic-only."""
    tax = {c["id"]: c for c in json.loads((HERE / "taxonomy.json").read_text(encoding="utf-8"))["categories"]}
    cat = {g["id"]: g for g in _load(HERE / "guidelines.jsonl")}
    rng = random.Random(seed)
    by_topic: dict[str, list[dict]] = defaultdict(list)
    topic_only: list[dict] = []
    for f in sorted((HERE / "handwritten").glob("*.jsonl")):
        for r in _load(f):
            if r.get("writer") != writer_of(r["id"]):
                raise ValueError(f"{f.name}: record {r['id']} has writer {r.get('writer')!r}, its id says {writer_of(r['id'])!r}")
            # no guideline_id key: labelled with a topic only, so no avoidable label and never evaluated
            (by_topic[r["topic"]] if "guideline_id" in r else topic_only).append(r)
    out: dict[str, list[dict]] = {s: [] for s, _ in SPLITS}
    for topic in sorted(by_topic):
        recs = sorted(by_topic[topic], key=lambda r: r["id"])
        for r in recs:
            when = _sent_at(rng, r["channel"])
            gid = r.get("guideline_id")
            # Where the labelled guideline was retired by then, a newer one of the same title family
            # is not guessed: the label stays, and the rule decides (not avoidable).
            r["sent_at"] = when.isoformat()
            r["avoidable"] = avoidable(topic, gid, when, tax, cat)
        rng.shuffle(recs)
        n = len(recs)
        a = round(n * SPLITS[0][1]); b = a + round(n * SPLITS[1][1])
        out["train"] += recs[:a]; out["dev"] += recs[a:b]; out["test"] += recs[b:]
    out[TOPIC_ONLY] = topic_only
    keys = ("id", "writer", "channel", "sent_at", "subject", "text", "topic", "guideline_id", "avoidable")
    for s in out:
        # the test split keeps its bytes from before the writer field (its writers follow from the ids)
        k = tuple(x for x in keys if x != "writer") if s == "test" else keys
        out[s] = [{x: r.get(x) for x in k} for r in sorted(out[s], key=lambda r: r["id"])]
    return out


def datasheet_counts(splits: dict[str, list[dict]], generated: list[dict]) -> str:
    """Markdown tables of counts per topic, channel, writer and split."""
    cols = ["train", "dev", "test", TOPIC_ONLY, "generated"]
    data = {**splits, "generated": generated}
    topics = [c["id"] for c in json.loads((HERE / "taxonomy.json").read_text(encoding="utf-8"))["categories"]]
    lines = ["| topic | " + " | ".join(cols) + " | avoidable (hand-written, labelled) |", "|---" * (len(cols) + 2) + "|"]
    for t in topics:
        hw = [r for s in ("train", "dev", "test") for r in splits[s] if r["topic"] == t]
        av = sum(r["avoidable"] for r in hw)
        lines.append(f"| {t} | " + " | ".join(str(sum(r["topic"] == t for r in data[c])) for c in cols) + f" | {av}/{len(hw)} |")
    lines.append("| **total** | " + " | ".join(str(len(data[c])) for c in cols) + " | |")
    lines += ["", "| channel | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for ch in ("email", "phone"):
        lines.append(f"| {ch} | " + " | ".join(str(sum(r["channel"] == ch for r in data[c])) for c in cols) + " |")
    hw_cols = ["train", "dev", "test", TOPIC_ONLY]
    lines += ["", "| writer | " + " | ".join(hw_cols) + " | email / phone | words (median) |", "|---" * (len(hw_cols) + 3) + "|"]
    by_writer: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for s in hw_cols:
        for r in splits[s]:
            by_writer[writer_of(r["id"])][s].append(r)
    for w in sorted(by_writer):
        rs = [r for s in hw_cols for r in by_writer[w][s]]
        ch = Counter(r["channel"] for r in rs)
        wl = sorted(len(r["text"].split()) for r in rs)
        lines.append(f"| {w} | " + " | ".join(str(len(by_writer[w][s])) for s in hw_cols)
                     + f" | {ch['email']} / {ch['phone']} | {wl[len(wl) // 2]} |")
    hw_all = [r for s in ("train", "dev", "test") for r in splits[s]]
    g = Counter(r["guideline_id"] is None for r in hw_all)
    words = sorted(len(r["text"].split()) for s in hw_cols for r in splits[s])
    lines += ["", f"Hand-written records labelled against the catalogue: {len(hw_all)} (with a guideline_id: {g[False]}, "
              f"without: {g[True]}); labelled with a topic only: {len(splits[TOPIC_ONLY])}. "
              f"Words per hand-written text: min {words[0]}, median {words[len(words)//2]}, max {words[-1]}."]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=2016)
    args = ap.parse_args()
    splits = build(args.seed)
    for s, recs in splits.items():
        with open(HERE / f"{s}.jsonl", "w", encoding="utf-8") as fh:
            for r in recs:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    gen_path = HERE / "generated.jsonl"
    generated = _load(gen_path) if gen_path.exists() else []
    table = datasheet_counts(splits, generated)
    readme = HERE / "README.md"
    if readme.exists():
        text = readme.read_text(encoding="utf-8")
        new = re.sub(r"(<!-- counts:start -->\n)(?:.*?\n)?(<!-- counts:end -->)", lambda m: m.group(1) + table + "\n" + m.group(2),
                     text, flags=re.S)
        readme.write_text(new, encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
