import json
import pickle

import numpy as np
import pytest

from classifier.classify import TopicClassifier
from classifier.errors import ModelError
from classifier.model import Model, load, save_model

from .test_classify import X, y


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    clf = TopicClassifier(cv=2).fit(X, y)
    d = tmp_path_factory.mktemp("m")
    save_model(Model(clf, {"note": "test"}), d)
    return clf, d


def test_save_load_identical_probabilities(saved):
    clf, d = saved
    m = load(d)
    texts = ["Pankki nosti korkoa", "Hiihtäjä voitti", "Robotti", "Tuntemattomat sähköpostiviestit ja pankkikorot huomenna"]
    assert np.array_equal(clf.predict_proba(texts), m.classifier.predict_proba(texts))
    meta = json.loads((d / "model.json").read_text())
    assert meta["labels"] == sorted(set(y)) and "classifier.joblib" in meta["artefacts"]
    assert "scikit-learn" in meta["versions"] and (d / "README.md").exists()


def test_tampered_artefact_refused(saved, tmp_path):
    _, d = saved
    import shutil

    t = tmp_path / "t"
    shutil.copytree(d, t)
    with open(t / "classifier.joblib", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelError, match="sha256 .* does not match"):
        load(t)


def test_foreign_pickle_refused_even_with_matching_hash(tmp_path, saved):
    _, d = saved
    import os
    import shutil

    t = tmp_path / "evil"
    shutil.copytree(d, t)
    (t / "classifier.joblib").write_bytes(pickle.dumps(os.system))
    meta = json.loads((t / "model.json").read_text())
    from classifier.model import sha256_file

    meta["artefacts"]["classifier.joblib"] = sha256_file(t / "classifier.joblib")
    (t / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="refusing to load"):
        load(t)


def test_version_mismatch_refused(saved, tmp_path):
    _, d = saved
    import shutil

    t = tmp_path / "old"
    shutil.copytree(d, t)
    meta = json.loads((t / "model.json").read_text())
    meta["versions"]["scikit-learn"] = "0.24.2"
    (t / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="trained with scikit-learn 0.24.2"):
        load(t)


def test_missing_dir_message(tmp_path):
    with pytest.raises(ModelError, match="no model.json found"):
        load(tmp_path)
