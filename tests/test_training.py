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
    assert [p.name for p in found["train"]] == ["generated.jsonl", "train.jsonl"]
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
    meta_file = default_model_dir() / "model.json"
    if not meta_file.exists() or not (CORPUS / "generated.jsonl").exists():
        pytest.skip("no shipped model or corpus")
    shipped = json.loads(meta_file.read_text())
    found = discover_corpus([CORPUS])
    model = train_model(found["train"], found["dev"], CORPUS / "taxonomy.json", CORPUS / "guidelines.jsonl",
                        params={k: v for k, v in shipped["params"].items()},
                        file_weights=shipped["training_data"]["file_weights"],
                        target_accuracy=shipped["target_accuracy"])
    assert model.meta["training_data"]["sha256"] == shipped["training_data"]["sha256"]
    for key in ("accuracy", "macro_f1", "threshold"):
        assert model.meta["dev_metrics"][key] == pytest.approx(shipped["dev_metrics"][key], abs=0.005), key
    test = evaluate_model(model, found["test"])
    for key in ("accuracy", "macro_f1"):
        assert test["topic"][key] == pytest.approx(shipped["test_metrics"]["topic"][key], abs=0.005), key
    assert test["avoidable"]["accuracy"] == pytest.approx(shipped["test_metrics"]["avoidable"]["accuracy"], abs=0.01)
