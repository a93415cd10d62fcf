import datetime as dt
import json

import pytest

from classifier.errors import CatalogueError
from classifier.guidelines import MATCH_FEATURES, REASONS, Assessor, Catalogue, fit_matcher
from classifier.io import read_guidelines
from classifier.model import load
from classifier.records import Request, parse_datetime

from .conftest import GUIDELINES, write_jsonl

MOVE = "Asiakas muuttaa uuteen osoitteeseen ja tarvitsee uuden sopimuksen, miten teen sen?"


def req(text, when, rid="r"):
    return Request(id=rid, text=text, sent_at=parse_datetime(when))


@pytest.fixture
def assessor(tiny_model_dir, tiny_dir):
    return Assessor(load(tiny_model_dir), catalogue=tiny_dir / "guidelines.jsonl")


def test_guideline_existed_from_its_published_day(assessor):
    a = assessor.assess([req(MOVE, "2016-03-01T08:00:00+02:00")])[0]  # G-1 published 2016-03-01
    assert (a.topic, a.reason, a.avoidable, a.guideline_id) == ("uusi", "guideline_existed", True, "G-1")


def test_guideline_came_later_the_day_before(assessor):
    a = assessor.assess([req(MOVE, "2016-02-29T23:30:00+02:00")])[0]
    assert (a.reason, a.avoidable, a.guideline_id, a.later_guideline_id) == ("guideline_came_later", False, "G-1", "G-1")


def test_local_date_decides_not_utc(assessor):
    # 22:30 UTC on 29 Feb is 00:30 on 1 March in Helsinki: the guideline already counts
    a = assessor.assess([req(MOVE, "2016-02-29T22:30:00+00:00")])[0]
    assert a.reason == "guideline_existed"


def test_back_office_remit(assessor):
    a = assessor.assess([req("Lähettäkää sopimusvahvistus uudelleen asiakkaalle, ei saanut vahvistusta", "2016-05-01T10:00:00+03:00")])[0]
    assert (a.topic, a.reason, a.avoidable) == ("vahvistus", "back_office_remit", False)


def test_misrouted_even_after_routing_guideline_retired(assessor):
    a = assessor.assess([req("Asiakkaan lasku on liian suuri ja hän haluaa maksuaikaa laskulle", "2016-08-01T10:00:00+03:00")])[0]
    assert (a.topic, a.reason, a.avoidable) == ("vaara", "misrouted", True)
    # the spec's convention: a misrouted request names the routing guideline for its recipient;
    # G-3 (retired 2016-06-30) is the only one, so it is named, and the topic alone decides
    assert a.guideline_id == "G-3" and a.avoidable_probability > 0.9


def test_no_guideline_and_uncertain_topic(tiny_model_dir, tiny_dir):
    # a catalogue without the moving guideline: nothing covers a move
    write_jsonl(tiny_dir / "g2.jsonl", GUIDELINES[1:])
    a = Assessor(load(tiny_model_dir), catalogue=tiny_dir / "g2.jsonl").assess([req(MOVE, "2016-05-01T10:00:00+03:00")])[0]
    assert (a.reason, a.avoidable, a.guideline_id) == ("no_guideline", False, None)
    u = Assessor(load(tiny_model_dir), catalogue=tiny_dir / "g2.jsonl", threshold=1.01,
                 mode="auto-label").assess([req(MOVE, "2016-05-01T10:00:00+03:00")])[0]
    assert (u.topic, u.reason, u.avoidable) == ("uncertain", "uncertain_topic", False)


def test_every_reason_code_reachable():
    assert set(REASONS) == {"misrouted", "guideline_existed", "back_office_remit", "guideline_came_later",
                            "no_guideline", "uncertain_topic", "no_catalogue", "no_text"}


def test_empty_catalogue_gives_no_guideline(tiny_model_dir, tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    a = Assessor(load(tiny_model_dir), catalogue=tmp_path / "empty.jsonl").assess([req(MOVE, "2016-05-01T10:00:00+03:00")])[0]
    assert (a.reason, a.guideline_id) == ("no_guideline", None)


def test_missing_sent_at_assessed_today_and_flagged(assessor):
    a = assessor.assess([Request(id="x", text=MOVE)], today=dt.date(2016, 4, 1))[0]
    assert a.assessed_on == "2016-04-01" and any(f.startswith("no_sent_at") for f in a.flags)
    assert a.reason == "guideline_existed"


def test_user_catalogue_replaces_shipped(tiny_model_dir, tiny_dir):
    own = [dict(GUIDELINES[0], id="OMA-7", title="Muuttajan uusi sopimus", published="2016-01-01")]
    write_jsonl(tiny_dir / "own.jsonl", own)
    a = Assessor(load(tiny_model_dir), catalogue=tiny_dir / "own.jsonl").assess([req(MOVE, "2016-05-01T10:00:00+03:00")])[0]
    assert a.guideline_id == "OMA-7"


def test_catalogue_in_other_taxonomy_is_skipped_with_warning(tiny_model_dir):
    from .conftest import CORPUS

    a = Assessor(load(tiny_model_dir), catalogue=CORPUS / "guidelines.jsonl")
    assert a.catalogue is None and "skipped" in a.warnings[0]
    res = a.assess([MOVE])[0]
    assert (res.reason, res.avoidable) == ("no_catalogue", None)


def test_catalogue_duplicate_ids_fail(tiny_dir):
    from classifier.text import TextProcessor

    gl = read_guidelines(tiny_dir / "guidelines.jsonl")
    with pytest.raises(CatalogueError, match="duplicate guideline ids: G-1"):
        Catalogue(gl + gl[:1], TextProcessor())


def test_matcher_threshold_learned_and_persisted(tiny_model_dir, tiny_dir, tmp_path):
    from classifier.model import save_model

    model = load(tiny_model_dir)
    cat = Catalogue(read_guidelines(tiny_dir / "guidelines.jsonl"), model.classifier.processor_)
    texts = [MOVE, "Uusi asiakas tekee sopimuksen", "Lähettäkää vahvistus uudelleen", "Asiakas kysyy jotain aivan muuta",
             "Muuttoon uusi sopimus", "Vahvistus hukkui", "Laskun maksuaika", "Sää on kaunis tänään"] * 3
    gold = ["G-1", "G-1", "G-2", None, "G-1", "G-2", "G-3", None] * 3
    proba = model.classifier.predict_proba(texts)
    s = fit_matcher(cat, texts, gold, proba, list(model.classifier.classes_))
    assert 0.0 <= s["coverage_threshold"] <= 1.0 and len(s["coef"]) == len(s["features"]) == len(MATCH_FEATURES)
    model.meta["matcher"] = s
    out = save_model(model, tmp_path / "m2")
    again = load(out)
    assert again.matcher_settings["coverage_threshold"] == s["coverage_threshold"]
    assert json.loads((out / "model.json").read_text())["matcher"]["coef"] == s["coef"]


def test_catalogue_without_guideline_for_a_topic_is_flagged(tiny_model_dir, tiny_dir):
    write_jsonl(tiny_dir / "g_no_vahvistus.jsonl", [g for g in GUIDELINES if g["id"] != "G-2"])
    a = Assessor(load(tiny_model_dir), catalogue=tiny_dir / "g_no_vahvistus.jsonl")
    assert "vahvistus" in a.uncovered_topics and any("no guideline for topic" in w for w in a.warnings)
    res = a.assess([req("Lähettäkää sopimusvahvistus uudelleen asiakkaalle", "2016-05-01T10:00:00+03:00")])[0]
    assert res.topic == "vahvistus" and "catalogue_has_no_guideline_for_topic" in res.flags
    assert res.guideline_id is None and res.reason == "back_office_remit"


def test_empty_guideline_body_is_an_error_naming_the_line(tiny_dir):
    rows = [dict(GUIDELINES[0]), dict(GUIDELINES[1], body="  ")]
    write_jsonl(tiny_dir / "g_empty.jsonl", rows)
    with pytest.raises(CatalogueError, match=r"g_empty.jsonl:2 \[body\]: guideline G-2 has an empty body"):
        read_guidelines(tiny_dir / "g_empty.jsonl")


def test_remit_and_misrouted_topics_name_their_hand_off_and_routing_guidelines(assessor):
    v, m = assessor.assess([req("Lähettäkää sopimusvahvistus uudelleen asiakkaalle", "2016-05-01T10:00:00+03:00"),
                            req("Asiakkaan lasku on liian suuri ja hän haluaa maksuaikaa", "2016-05-01T10:00:00+03:00")])
    assert (v.topic, v.reason, v.guideline_id, v.avoidable) == ("vahvistus", "back_office_remit", "G-2", False)
    assert (m.topic, m.reason, m.guideline_id, m.avoidable) == ("vaara", "misrouted", "G-3", True)
    assert v.avoidable_probability < 0.5 < m.avoidable_probability
    assert 0.0 <= v.coverage_probability <= 1.0
