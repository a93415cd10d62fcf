import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from classifier.classify import UNCERTAIN, TopicClassifier

TEXTS = {
    "tiede/tekniikka": ["Tietokoneen prosessori laskee nopeasti", "Uusi ohjelmisto julkaistiin tänään",
                        "Robotti kokoaa autoja tehtaassa", "Internetyhteys katkesi palvelimelta",
                        "Puhelimen akku kestää kaksi päivää", "Tekoäly tunnistaa kuvia"],
    "urheilu, kulttuuri ja matkailu": ["Jalkapallo-ottelu päättyi tasapeliin", "Hiihtäjä voitti kultaa",
                                       "Konsertti myytiin loppuun", "Museo avaa uuden näyttelyn",
                                       "Matkailijat saapuivat Lappiin", "Teatteri esittää klassikon"],
    "talous": ["Pörssikurssit laskivat jyrkästi", "Pankki nosti korkoa", "Inflaatio kiihtyi keväällä",
               "Yritys teki ennätystuloksen", "Verotus kiristyy ensi vuonna", "Työttömyys väheni selvästi"],
}
X = [t for ts in TEXTS.values() for t in ts] * 2
y = [lab for lab, ts in TEXTS.items() for _ in ts] * 2


@pytest.fixture(scope="module")
def fitted():
    return TopicClassifier(cv=2).fit(X, y)


def test_estimator_contract():
    est = TopicClassifier(C=2.0, char_ngrams=True)
    assert est.get_params()["C"] == 2.0
    c = clone(est)
    assert c.get_params() == est.get_params() and c is not est
    est.set_params(C=0.1)
    assert est.C == 0.1
    with pytest.raises(NotFittedError, match="not fitted yet"):
        est.predict(["teksti"])


def test_arbitrary_label_strings_and_probabilities(fitted):
    assert set(fitted.classes_) == set(TEXTS)
    proba = fitted.predict_proba(["Jääkiekko-ottelu ja hiihto", "Korko ja pörssi"])
    assert proba.shape == (2, 3) and np.allclose(proba.sum(axis=1), 1)
    assert list(fitted.predict(["Pankki ja korko nousivat"])) == ["talous"]


def test_pipeline_and_grid_search():
    grid = GridSearchCV(Pipeline([("clf", TopicClassifier(cv=2))]), {"clf__C": [0.1, 1.0]}, cv=2)
    grid.fit(X, y)
    assert grid.best_params_["clf__C"] in (0.1, 1.0)
    # one clear text per class: a constant predictor cannot pass
    probe = {"talous": "Pankki nosti korkoa ja pörssi laski", "urheilu, kulttuuri ja matkailu": "Hiihtäjä voitti kultaa",
             "tiede/tekniikka": "Tietokoneen prosessori ja ohjelmisto"}
    assert set(probe) == set(TEXTS) and list(grid.predict(list(probe.values()))) == list(probe)


def test_abstention_modes(fitted):
    text = ["Pankki nosti korkoa"]
    default = fitted.predict_detailed(text, threshold=1.01)[0]
    assert default.topic == "talous" and default.status == "review"  # pre-select: every request gets a topic
    auto = fitted.predict_detailed(text, mode="auto-label", threshold=1.01)[0]
    assert auto.topic == UNCERTAIN and auto.status == "uncertain" and "below_threshold" in auto.flags
    assert len(auto.candidates) == 3 and auto.candidates[0][0] == "talous"
    pre = fitted.predict_detailed(text, mode="pre-select", threshold=1.01)[0]
    assert pre.topic == "talous" and pre.status == "review"
    sug = fitted.predict_detailed(text, mode="suggest-only", threshold=0.0)[0]
    assert sug.topic == UNCERTAIN and sug.candidates[0][0] == "talous"
    ok = fitted.predict_detailed(text, threshold=0.0)[0]
    assert ok.topic == "talous" and ok.status == "auto"


def test_choose_threshold_meets_target():
    from classifier.predictor import threshold_for_accuracy as _threshold_for_accuracy

    # confidences with known correctness: the best cut keeps the top 6 (5 right of 6 >= 0.8)
    conf = np.array([0.99, 0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3])
    correct = np.array([1, 1, 1, 0, 1, 1, 0, 0, 1, 0], dtype=bool)
    assert _threshold_for_accuracy(conf, correct, 0.8) == 0.7
    assert _threshold_for_accuracy(conf, correct, 1.0) == 0.9
    assert _threshold_for_accuracy(conf, ~np.ones(10, dtype=bool), 0.5) == 1.0  # never reached: keep nothing


def test_choose_threshold_on_the_estimator(fitted):
    import copy

    est = copy.deepcopy(fitted)
    thr = est.choose_threshold(X, y, target_accuracy=0.9)
    proba = est.predict_proba(X)
    kept = proba.max(axis=1) >= thr
    assert est.threshold_ == thr and kept.any()
    assert (est.classes_[proba.argmax(axis=1)][kept] == np.asarray(y, dtype=object)[kept]).mean() >= 0.9


def test_other_language_and_too_short_flagged(fitted):
    texts = ["Hej, kunden vill säga upp avtalet och flytta till Åbo i maj", "ok", " ... "]
    sv, short, empty = fitted.predict_detailed(texts, threshold=0.0)
    # not Finnish, or no words at all: no topic in any mode
    assert sv.topic == UNCERTAIN and sv.status == "uncertain" and "other_language:sv" in sv.flags
    assert empty.topic == UNCERTAIN and empty.status == "uncertain" and "no_text" in empty.flags
    # a short Finnish text gets its best topic for review by default, none in auto-label mode
    assert short.topic != UNCERTAIN and short.status == "review" and "too_short" in short.flags
    auto_short = fitted.predict_detailed(["ok"], mode="auto-label", threshold=0.0)[0]
    assert auto_short.topic == UNCERTAIN and "too_short" in auto_short.flags


def test_explanation_points_at_words(fitted):
    e = fitted.explain("Pankki nosti korkoa ja pörssi laski")
    assert e["topic"] == "talous" and e["runner_up"] != "talous"
    toward = [w for w, _ in e["toward"]]
    assert {"pankki", "korko", "pörssi"} & set(toward)
    assert all(v > 0 for _, v in e["toward"]) and all(v < 0 for _, v in e["away"])


def test_single_string_rejected(fitted):
    with pytest.raises(ValueError, match="single string"):
        fitted.predict("Pankki")
