"""Training from corpus files, and the shipped model's card reproduced by retraining."""

import json

import pytest

from classifier.model import default_model_dir, load
from classifier.training import discover_corpus, evaluate_model, train_model

from .conftest import CORPUS


def test_discover_corpus_sorts_files(tmp_path):
    for name in ("train.jsonl", "generated.jsonl", "dev.jsonl", "test.jsonl", "guidelines.jsonl", "taxonomy.json"):
        (tmp_path / name).write_text("")
    found = discover_corpus([tmp_path])
    assert [p.name for p in found["train"]] == ["train.jsonl"] and [p.name for p in found["generated"]] == ["generated.jsonl"]
    assert [p.name for p in found["dev"]] == ["dev.jsonl"] and [p.name for p in found["test"]] == ["test.jsonl"]


def test_corpus_model_beats_chance_on_dev_and_reports_guidelines(corpus_model):
    model = load(corpus_model)
    dev = model.meta["dev_metrics"]
    assert dev["macro_f1"] > 0.5  # eleven topics: chance is about 0.09
    assert "matcher" in model.meta and 0 <= model.meta["matcher"]["coverage_threshold"] <= 1
    res = evaluate_model(model, [CORPUS / "dev.jsonl"])
    assert res["guidelines"]["top3_accuracy"] >= res["guidelines"]["top1_accuracy"]
    assert 0 <= res["avoidable"]["accuracy"] <= 1


@pytest.mark.slow
def test_retraining_reproduces_the_shipped_card(tmp_path):
    """The shipped model's command, rerun: same data, same out-of-fold, test-split and transfer figures."""
    from classifier.training import TrainingConfig, train_from_corpus

    meta_file = default_model_dir() / "model.json"
    if not meta_file.exists() or not (CORPUS / "train.jsonl").exists():
        pytest.skip("no shipped model or corpus")
    shipped = json.loads(meta_file.read_text())
    tc = shipped["training_config"]
    config = TrainingConfig(params=tc["params"], file_weights=tc["file_weights"], target_accuracy=tc["target_accuracy"],
                            calibration_data=tc["calibration_data"], group_field=tc["group_field"])
    model = train_from_corpus([CORPUS], config, transfer_dir=CORPUS / "transfer")
    assert model.meta["training_data"]["sha256"] == shipped["training_data"]["sha256"]
    assert model.meta["training_data"]["files"] == shipped["training_data"]["files"]
    oof, want = model.meta["oof_metrics"], shipped["oof_metrics"]
    for key in ("accuracy", "macro_f1", "threshold"):
        assert oof[key] == pytest.approx(want[key], abs=0.005), key
    assert oof["writers"]["macro_f1_mean"] == pytest.approx(want["writers"]["macro_f1_mean"], abs=0.005)
    assert model.classifier.temperature_ == pytest.approx(shipped["temperature"], rel=0.02)
    for split in ("test_metrics", "transfer_metrics"):
        for key in ("accuracy", "macro_f1"):
            assert model.meta[split]["topic"][key] == pytest.approx(shipped[split]["topic"][key], abs=0.005), (split, key)
        assert model.meta[split]["avoidable"]["accuracy"] == pytest.approx(shipped[split]["avoidable"]["accuracy"],
                                                                           abs=0.01), split
    # the card states these figures
    card = (default_model_dir() / "README.md").read_text(encoding="utf-8")
    for line in ("## Out-of-fold figures (leave-one-writer-out", f"macro-F1 {want['macro_f1']}",
                 f"macro-F1 {shipped['test_metrics']['topic']['macro_f1']}",
                 f"macro-F1 {shipped['transfer_metrics']['topic']['macro_f1']}"):
        assert line in card, line
    assert f"- command: `{shipped['command']}`" in card


FAST = {"lemmatizer": "none", "char_ngrams": False, "cv": 2}


def test_guideline_labelled_tells_topic_only_records_from_uncovered_ones():
    from classifier.records import Request
    from classifier.training import guideline_labelled

    covered = Request("1", "x", topic="uusi", guideline_id="G-1", avoidable=True)
    uncovered = Request("2", "x", topic="uusi", guideline_id=None, avoidable=False)
    topic_only = Request("3", "x", topic="uusi")
    assert guideline_labelled([covered, uncovered, topic_only]) == [True, True, False]
    # a file with guideline_id labels and no avoidable column: null means uncovered, as before
    assert guideline_labelled([Request("1", "x", topic="uusi", guideline_id="G-1"), topic_only]) == [True, True]
    assert guideline_labelled([topic_only, topic_only]) == [False, False]


def test_out_of_fold_training_uses_dev_files_leaves_writers_out_and_keeps_topic_only_records_from_the_matcher(writers_dir):
    from classifier.training import evaluate_model, read_labelled, writer_cross_validation

    files = [writers_dir / "train.jsonl", writers_dir / "train_topic_only.jsonl"]
    model = train_model(files, [writers_dir / "dev.jsonl"], writers_dir / "taxonomy.json",
                        writers_dir / "guidelines.jsonl", params=FAST, target_accuracy=0.9)
    td, oof = model.meta["training_data"], model.meta["oof_metrics"]
    assert td["n_train"] == 54 and td["n_dev"] == 0 and td["dev_files"] == [] and "dev.jsonl" in td["files"]
    assert td["writers"] == {"a": 18, "b": 18, "c": 18} and td["n_guideline_labelled"] == 36
    assert oof["scheme"] == "leave-one-writer-out" and oof["n"] == 54
    assert set(oof["writers"]["per_writer"]) == {"a", "b", "c"}
    assert "dev_metrics" not in model.meta
    # the matcher learned on the 36 records labelled against the catalogue, not on the 18 topic-only ones
    assert model.meta["matcher"]["fit_report"]["n_requests"] == 36
    # temperature and threshold are the ones fitted on the out-of-fold predictions
    data = read_labelled(files + [writers_dir / "dev.jsonl"], "text", "topic", {}, "writer")
    cv = writer_cross_validation(data, FAST, target_accuracy=0.9)
    assert model.classifier.temperature_ == pytest.approx(cv["temperature"])
    assert model.classifier.threshold_ == pytest.approx(cv["threshold"])
    assert oof["macro_f1"] == cv["metrics"]["macro_f1"]
    # topic-only records are not scored as "no guideline covers this"
    res = evaluate_model(model, [writers_dir / "train_topic_only.jsonl"])
    assert "guidelines" not in res and res["topic"]["n"] == 18


def test_out_of_fold_folds_are_stratified_without_writers(tiny_dir):
    from .conftest import write_jsonl, writer_rows

    rows = [{k: v for k, v in r.items() if k != "writer"} for w in ("a", "b") for r in writer_rows(w, True)]
    write_jsonl(tiny_dir / "train.jsonl", rows)
    model = train_model([tiny_dir / "train.jsonl"], params=FAST, target_accuracy=0.9, oof_folds=3)
    assert model.meta["oof_metrics"]["scheme"] == "3-fold stratified" and "writers" not in model.meta["oof_metrics"]


def test_dev_calibration_keeps_the_dev_split_out_of_the_model(writers_dir):
    model = train_model([writers_dir / "train.jsonl"], [writers_dir / "dev.jsonl"], writers_dir / "taxonomy.json",
                        writers_dir / "guidelines.jsonl", params=FAST, target_accuracy=0.9, calibration_data="dev")
    td = model.meta["training_data"]
    assert (td["n_train"], td["n_dev"], td["dev_files"]) == (18, 18, ["dev.jsonl"])
    assert model.meta["dev_metrics"]["n"] == 18 and "oof_metrics" not in model.meta
    with pytest.raises(ValueError, match="calibration_data"):
        train_model([writers_dir / "train.jsonl"], calibration_data="holdout")


def test_generated_files_train_only_when_given_a_weight(writers_dir):
    from classifier.training import TrainingConfig, train_from_corpus

    from .conftest import write_jsonl, writer_rows

    gen = [{**r, "id": "g" + r["id"], "writer": None} for r in writer_rows("a", True)]
    write_jsonl(writers_dir / "generated.jsonl", gen)
    cfg = TrainingConfig(params=FAST, target_accuracy=0.9)
    default = train_from_corpus([writers_dir], cfg)
    assert "generated.jsonl" not in default.meta["training_data"]["files"]
    assert default.meta["training_data"]["n_train"] == 54
    weighted = train_from_corpus([writers_dir], TrainingConfig(params=FAST, target_accuracy=0.9,
                                                                file_weights={"generated.jsonl": 0.3}))
    assert "generated.jsonl" in weighted.meta["training_data"]["files"]
    assert weighted.meta["training_data"]["n_train"] == 72
    # generated records train every fold but are never scored
    assert weighted.meta["oof_metrics"]["n"] == 54


def test_search_by_writers_reports_every_candidate_per_writer(writers_dir):
    from classifier.training import search_by_writers

    files = [writers_dir / "train.jsonl", writers_dir / "dev.jsonl", writers_dir / "train_topic_only.jsonl"]
    rows = search_by_writers(files, [{"params": {**FAST, "C": 0.1}}, {"params": {**FAST, "C": 1.0}}],
                             target_accuracy=0.9)
    assert [r["params"]["C"] for r in rows] == [0.1, 1.0]
    for r in rows:
        assert r["scheme"] == "leave-one-writer-out" and set(r["per_writer"]) == {"a", "b", "c"}
        assert r["macro_f1_min"] <= r["macro_f1_mean"] <= 1


def test_train_command_card_shows_the_writer_held_out_figures_or_the_dev_figures(writers_dir, tmp_path):
    from click.testing import CliRunner

    from classifier.cli import main

    base = ["train", str(writers_dir), "--no-char-ngrams", "--lemmatizer", "none", "--target-accuracy", "0.9"]
    r = CliRunner().invoke(main, base + ["--out", str(tmp_path / "oof")])
    assert r.exit_code == 0, r.output
    assert "out-of-fold (leave-one-writer-out)" in r.output
    card = (tmp_path / "oof" / "README.md").read_text(encoding="utf-8")
    assert "## Out-of-fold figures (leave-one-writer-out" in card and "| held-out writer |" in card
    assert (f"- command: `tukipyynto train {writers_dir} --out {tmp_path / 'oof'} --no-char-ngrams --lemmatizer none "
            "--target-accuracy 0.9`") in card
    r = CliRunner().invoke(main, base + ["--calibration-data", "dev", "--class-weight", "none", "--out", str(tmp_path / "dev")])
    assert r.exit_code == 0, r.output
    meta = json.loads((tmp_path / "dev" / "model.json").read_text())
    assert meta["params"]["class_weight"] is None and meta["training_data"]["dev_files"] == ["dev.jsonl"]
    assert "## Figures on the dev split" in (tmp_path / "dev" / "README.md").read_text(encoding="utf-8")


def test_search_selects_by_held_out_writers_and_records_every_candidate(writers_dir):
    from classifier.training import TrainingConfig, train_from_corpus

    from .conftest import write_jsonl, writer_rows

    write_jsonl(writers_dir / "generated.jsonl", [{**r, "id": "g" + r["id"], "writer": None} for r in writer_rows("a", True)])
    model = train_from_corpus([writers_dir], TrainingConfig(params=FAST, target_accuracy=0.9, search=True))
    rows = model.meta["search"]
    assert len(rows) == len(TrainingConfig.WRITER_SEARCH_GRID) + len(TrainingConfig.GENERATED_WEIGHTS)
    assert all(r["scheme"] == "leave-one-writer-out" for r in rows)
    best = max(rows, key=lambda r: r["macro_f1_mean"])
    cfg = model.meta["training_config"]
    assert {k: cfg["params"][k] for k in ("C", "class_weight")} == {k: best["params"][k] for k in ("C", "class_weight")}
    assert cfg["file_weights"].get("generated.jsonl", 0) == best["file_weights"].get("generated.jsonl", 0)
    assert ("generated.jsonl" in model.meta["training_data"]["files"]) == (cfg["file_weights"]["generated.jsonl"] > 0)
