"""Smoke test of the comparison benchmark (benchmarks/compare.py --quick on the corpus)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "benchmarks" / "compare.py"
SYSTEMS = ("tukipyynto", "fasttext-default", "fasttext-tuned", "spacy-bow", "spacy-ensemble", "char-svm")


@pytest.mark.slow
def test_compare_quick_corpus(tmp_path: Path) -> None:
    if not (REPO / "corpus" / "test.jsonl").exists() or not (REPO / "corpus" / "train.jsonl").exists():
        pytest.skip("corpus/train.jsonl or corpus/test.jsonl not built")
    if not SCRIPT.exists():
        pytest.skip("benchmarks/compare.py not present")
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--datasets", "corpus", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((tmp_path / "compare.json").read_text(encoding="utf-8"))
    assert (tmp_path / "compare.md").exists()
    assert report["quick"] is True
    rows = {r["system"]: r for r in report["datasets"]["corpus"]["rows"]}
    has_fasttext = importlib.util.find_spec("fasttext") is not None
    for system in SYSTEMS:
        assert system in rows, f"no row for {system}"
        if system.startswith("fasttext") and not has_fasttext:
            assert rows[system]["status"] == "skipped"
            continue
        row = rows[system]
        assert row["status"] == "ok", row["note"]
        assert 0.0 <= row["accuracy"] <= 1.0 and 0.0 <= row["macro_f1"] <= 1.0
        assert row["docs_per_second"] > 0 and row["model_bytes"] > 0 and row["peak_rss_mib"] > 0
    assert rows["tukipyynto"]["ratio_to_tukipyynto"]["accuracy"] == 1.0


@pytest.mark.slow
def test_learning_curve_and_model_selection_run_on_a_tiny_corpus(writers_dir, tmp_path):
    """Both scripts end to end on three writers: every size, arm and evaluation gets a figure."""
    from classifier.training import TrainingConfig

    from .conftest import write_jsonl, writer_rows

    write_jsonl(writers_dir / "test.jsonl", [{**r, "id": "t" + r["id"]} for r in writer_rows("b", True)])
    write_jsonl(writers_dir / "generated.jsonl", [{**r, "id": "g" + r["id"], "writer": None} for r in writer_rows("a", True)])
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "learning_curve.py"), "--corpus", str(writers_dir),
                           "--sizes", "20,all", "--evals", "test,lowo", "--out", str(tmp_path / "lc")],
                          capture_output=True, text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads((tmp_path / "lc.json").read_text(encoding="utf-8"))
    assert res["pool"] == 54 and res["sizes"] == [20, 54]
    got = {(r["size"], r["generated"], r["eval"]) for r in res["rows"]}
    assert got == {(n, g, e) for n in (20, 54) for g in (False, True) for e in ("test", "lowo")}
    lowo = [r for r in res["rows"] if r["eval"] == "lowo"]
    assert all(set(r["per_writer"]) == {"a", "b", "c"} and 0 <= r["macro_f1_min"] <= r["macro_f1"] <= 1 for r in lowo)
    assert "| all (54) | yes |" in (tmp_path / "lc.md").read_text(encoding="utf-8")
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "model_selection.py"), "--corpus", str(writers_dir),
                           "--out", str(tmp_path / "sel")], capture_output=True, text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = json.loads((tmp_path / "sel.json").read_text(encoding="utf-8"))["rows"]
    assert len(rows) == len(TrainingConfig.WRITER_SEARCH_GRID) + 2 and {r["file_weights"].get("generated.jsonl", 0) for r in rows} == {0, 0.1, 0.3}
    assert "**(selected)**" in (tmp_path / "sel.md").read_text(encoding="utf-8")


def test_example_answer_key_figures_are_the_committed_ones(tmp_path: Path) -> None:
    """benchmarks/example_answer_key.py reproduces its committed results (the README quotes them)."""
    script = REPO / "benchmarks" / "example_answer_key.py"
    committed = REPO / "benchmarks" / "results" / "example_answer_key.json"
    if not (REPO / "corpus" / "examples" / "syyskuu-2016.labels.jsonl").exists():
        pytest.skip("corpus/examples not built")
    proc = subprocess.run([sys.executable, str(script), "--out", str(tmp_path)], capture_output=True, text=True,
                          timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads((tmp_path / "example_answer_key.json").read_text(encoding="utf-8"))
    assert got == json.loads(committed.read_text(encoding="utf-8")), "rerun python benchmarks/example_answer_key.py"
    assert got["threads"] == 156 and got["true_avoidable"] == 98
    assert (tmp_path / "example_answer_key.md").read_text(encoding="utf-8") == proc.stdout


@pytest.mark.slow
def test_adaptation_components_leaves_each_component_out(tmp_path: Path) -> None:
    """benchmarks/adaptation_components.py: every variant measured on every seed, its table written."""
    if not (REPO / "corpus" / "generated.jsonl").exists():
        pytest.skip("corpus/generated.jsonl not built")
    out = tmp_path / "components.json"
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "adaptation_components.py"), "--sets",
                           "generated-pruned", "--seeds", "2", "--n", "30", "--size", "120", "--out", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(out.read_text(encoding="utf-8"))["sets"]["generated-pruned"]
    assert set(got["variants"]) == {"shipped", "all", "ungated", "no-topic", "no-ranking", "no-coverage", "only-coverage"}
    assert all(len(v) == 2 and all(0.0 <= x <= 1.0 for x in v) for v in got["variants"].values())
    assert got["summary"]["shipped"]["gain"] == 0.0
    assert all(0 <= k <= 5 for k in got["folds_adapted"])
    md = out.with_suffix(".md").read_text(encoding="utf-8")
    assert "| generated-pruned | no-coverage |" in md and "--size 120" in md
