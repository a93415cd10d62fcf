import json
import pickle
import subprocess
import sys

import numpy as np
import pytest

from classifier.classify import TopicClassifier
from classifier.errors import ModelError
from classifier.model import Model, load, save_model, sha256_file

from .test_classify import X, y

TEXTS = ["Pankki nosti korkoa", "Hiihtäjä voitti", "Robotti", "Tuntemattomat sähköpostiviestit ja pankkikorot huomenna"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    clf = TopicClassifier(cv=2).fit(X, y)
    d = tmp_path_factory.mktemp("m")
    save_model(Model(clf, {"note": "test"}), d)
    return clf, d


def _copy(d, tmp_path, name):
    import shutil

    t = tmp_path / name
    shutil.copytree(d, t)
    return t


def _rehash(t, name):
    meta = json.loads((t / "model.json").read_text())
    meta["artefacts"][name] = sha256_file(t / name)
    (t / "model.json").write_text(json.dumps(meta))


def test_save_load_identical_probabilities(saved):
    clf, d = saved
    m = load(d)
    assert np.array_equal(clf.predict_proba(TEXTS), m.classifier.predict_proba(TEXTS))
    assert [p.to_dict() for p in clf.predict_detailed(TEXTS)] == [p.to_dict() for p in m.predict(TEXTS)]
    assert m.classifier.explain(TEXTS[0]) == clf.explain(TEXTS[0])
    meta = json.loads((d / "model.json").read_text())
    assert meta["labels"] == sorted(set(y)) and meta["format_version"] == 2
    assert {"weights.npz", "vocab.json", "taxonomy.json"} <= set(meta["artefacts"])
    assert not list(d.glob("*.joblib")) and not list(d.glob("*.pkl"))
    assert (d / "README.md").exists()


@pytest.mark.parametrize("calibration", ["sigmoid", "isotonic"])
def test_other_calibrations_round_trip(tmp_path, calibration):
    clf = TopicClassifier(cv=2, calibration=calibration).fit(X, y)
    # the exported arrays reproduce scikit-learn's own calibrated probabilities
    ref = clf.model_.predict_proba(clf._features(TEXTS))
    assert np.allclose(clf.predict_proba(TEXTS), ref, atol=1e-5)
    save_model(Model(clf, {}), tmp_path / "m")
    assert np.array_equal(load(tmp_path / "m").classifier.predict_proba(TEXTS), clf.predict_proba(TEXTS))


def test_exported_features_equal_the_fitted_vectorizers(saved):
    import scipy.sparse as sp

    clf, _ = saved
    words, grams = clf._analyse(TEXTS)
    ref = sp.hstack([clf.vectorizer_.transform(words), clf.char_vectorizer_.transform(grams)]).toarray()
    assert np.allclose(clf._features(TEXTS).toarray(), ref, atol=1e-6)


def test_tampered_artefact_refused(saved, tmp_path):
    t = _copy(saved[1], tmp_path, "t")
    with open(t / "weights.npz", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelError, match="sha256 .* does not match"):
        load(t)


def test_edited_model_with_matching_hash_cannot_run_code(saved, tmp_path):
    """Whoever can edit both files still cannot make load() unpickle: arrays are read with allow_pickle=False."""
    t = _copy(saved[1], tmp_path, "evil")
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    with np.load(t / "weights.npz") as z:
        arrays = {k: z[k] for k in z.files}
    arrays["coef"] = np.array([Payload()], dtype=object)
    np.savez(t / "weights.npz", **arrays)
    _rehash(t, "weights.npz")
    with pytest.raises(ModelError, match="do not hold a model this library wrote"):
        load(t)
    assert not marker.exists()


def test_pickle_format_needs_explicit_trust(saved, tmp_path):
    import joblib

    clf, d = saved
    t = _copy(d, tmp_path, "legacy")
    joblib.dump(clf, t / "classifier.joblib")
    meta = json.loads((t / "model.json").read_text())
    meta["format_version"] = 1
    meta["artefacts"] = {"classifier.joblib": sha256_file(t / "classifier.joblib")}
    (t / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="old pickle format.*--trust-pickle"):
        load(t)
    with pytest.warns(UserWarning, match="pickle-format model"):
        m = load(t, trust_pickle=True)
    assert np.allclose(m.classifier.predict_proba(TEXTS), clf.predict_proba(TEXTS))


def test_foreign_pickle_refused_even_when_trusted(saved, tmp_path):
    import os

    t = _copy(saved[1], tmp_path, "evil-legacy")
    (t / "classifier.joblib").write_bytes(pickle.dumps(os.system))
    meta = json.loads((t / "model.json").read_text())
    meta["format_version"] = 1
    meta["artefacts"] = {"classifier.joblib": sha256_file(t / "classifier.joblib")}
    (t / "model.json").write_text(json.dumps(meta))
    with pytest.warns(UserWarning), pytest.raises(ModelError, match="refusing to load"):
        load(t, trust_pickle=True)


def test_missing_dir_message(tmp_path):
    with pytest.raises(ModelError, match="no model.json found"):
        load(tmp_path)


def test_default_model_loads_without_scikit_learn(tmp_path):
    code = ("import sys, classifier; m = classifier.load(); "
            "p = m.predict(['Asiakas muuttaa, miten teen uuden sopimuksen?'])[0]; "
            "print(p.topic, 'sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True)
    topic, imported = out.stdout.split()
    assert topic == "sopimuksen_tekeminen" and imported == "False"


def test_model_without_catalogue_makes_no_avoidable_claim(saved):
    """Trained without a catalogue: no 'no_guideline' finding, a null decision with reason no_catalogue."""
    from classifier.guidelines import Assessor
    from classifier.records import Request

    m = load(saved[1])
    assert m.catalogue_path is None
    res = Assessor(m).assess([Request(id="1", text="Pankki nosti korkoa taas tänään")])
    assert res[0].avoidable is None and res[0].reason == "no_catalogue" and res[0].guideline_id is None


def test_labelling_with_a_model_without_catalogue_warns_once(saved, tmp_path):
    from classifier.label import label_inputs

    (tmp_path / "in.jsonl").write_text('{"id": "1", "text": "Pankki nosti korkoa taas tänään"}\n', encoding="utf-8")
    s = label_inputs([tmp_path / "in.jsonl"], tmp_path / "out.jsonl", str(saved[1]), None)
    assert sum("trained without a guideline catalogue" in w for w in s.warnings) == 1
