"""Adapting from reviewed files: checks, the adapted model directory, label --reviewed and the commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import classifier
from classifier.adaptation import collect_reviews
from classifier.cli import main
from classifier.errors import ModelError, TukipyyntoError
from classifier.guidelines import Assessor
from classifier.label import label_inputs
from classifier.model import load, save_model

from .conftest import CORPUS, write_jsonl

MOVE = "asiakas muuttaa uuteen osoitteeseen uusi sopimus tuote aloituspäivä valitse tee".split()
OTHER = "kysyy myös asiasta tänään huomenna soitti viestissä tarkemmin kiitos hei terveisin paljon kuitenkin".split()


def _inputs(path: Path, n: int = 60, seed: int = 0) -> Path:
    """Requests about a move, some clearer than others; ids r000..."""
    rng = np.random.default_rng(seed)
    rows = [{"id": f"r{i:03d}", "channel": "email", "sent_at": "2016-05-02T10:00:00+03:00",
             "text": " ".join(list(rng.choice(MOVE, rng.integers(1, 7))) + list(rng.choice(OTHER, rng.integers(2, 10))))}
            for i in range(n)]
    return write_jsonl(path, rows)


def _reviews(labelled: Path, out: Path, n: int, *, strict: bool = True, **extra) -> Path:
    """Reviewed rows for the first n labelled rows: a reviewer who finds G-1 covering only the clearest requests."""
    rows = [json.loads(line) for line in labelled.read_text(encoding="utf-8").splitlines()]
    cut = np.median([r["predicted"]["coverage_probability"] for r in rows])
    rev = []
    for r in rows[:n]:
        covered = bool(r["predicted"]["coverage_probability"] > cut) if strict else True
        rev.append({"id": r["id"], "topic": "uusi", "guideline_id": "G-1" if covered else None,
                    "avoidable": covered, "queue": "random", "sent_at": r["sent_at"], **extra})
    return write_jsonl(out, rev)


@pytest.fixture
def labelled(tmp_path, tiny_model_dir, tiny_dir):
    src = _inputs(tmp_path / "requests.jsonl")
    out = tmp_path / "labelled.jsonl"
    label_inputs([src], out, tiny_model_dir, tiny_dir / "guidelines.jsonl")
    return src, out


def test_reviews_are_checked_and_the_valid_ones_used(tiny_model_dir, tiny_dir):
    a = Assessor(load(tiny_model_dir), catalogue=tiny_dir / "guidelines.jsonl")
    rows = {f"x{i}": {"id": f"x{i}", "topic": "uusi", "guideline_id": "G-1", "text": "asiakas muuttaa", "queue": "random"}
            for i in range(6)}
    rows["t1"] = {"id": "t1", "topic": "laskutus", "guideline_id": None, "text": "lasku", "queue": "random"}
    rows["g1"] = {"id": "g1", "topic": "uusi", "guideline_id": "KJ-101", "text": "muutto", "queue": "random"}
    rows["g2"] = {"id": "g2", "topic": "uusi", "guideline_id": "KJ-102", "text": "muutto"}
    rows["n1"] = {"id": "n1", "topic": "uusi", "guideline_id": "G-1", "queue": "uncertain"}
    rs = collect_reviews(rows, a, source="rev.jsonl")
    assert [r.id for r in rs.requests] == [f"x{i}" for i in range(6)]
    assert rs.queues == {"random": 6}
    text = "\n".join(rs.problems)
    assert "rev.jsonl: 1 review(s) name a topic the model does not know" in text and "'laskutus'" in text
    assert "2 review(s) name a guideline that is not in this catalogue" in text and "KJ-101" in text
    assert "1 review(s) have no request text" in text and "n1" in text
    # all guideline ids foreign: said to come from another catalogue
    foreign = {k: dict(v, guideline_id="KJ-1") for k, v in rows.items() if k.startswith("x")}
    assert "another catalogue" in collect_reviews(foreign, a).problems[0]
    other_tax = {k: dict(v, topic="laskutus") for k, v in rows.items() if k.startswith("x")}
    assert "another taxonomy" in collect_reviews(other_tax, a).problems[0]


def test_label_with_reviews_adapts_and_marks_the_reviewed_rows(tmp_path, labelled, tiny_model_dir, tiny_dir):
    src, out = labelled
    rev = _reviews(out, tmp_path / "reviewed.jsonl", 30)
    adapted = tmp_path / "adapted.jsonl"
    s = label_inputs([src], adapted, tiny_model_dir, tiny_dir / "guidelines.jsonl", reviewed=[rev])
    assert any(n.startswith("adapted to the catalogue from 30 review(s) (30 random)") for n in s.notes)
    reviewed = {json.loads(line)["id"]: json.loads(line) for line in rev.read_text().splitlines()}
    rows = [json.loads(line) for line in adapted.read_text().splitlines()]
    assert len(rows) == 60
    for r in rows:
        p = r["predicted"]
        if r["id"] in reviewed:
            want = reviewed[r["id"]]
            assert p["status"] == "reviewed" and p["topic"] == "uusi" and p["guideline_id"] == want["guideline_id"]
            assert p["avoidable"] is want["avoidable"]
            assert p["reason"] == ("guideline_existed" if want["avoidable"] else "no_guideline")
            assert {"topic", "candidates", "coverage_probability", "avoidable_probability", "avoidable"} <= set(p["out_of_fold"])
        else:
            assert p["status"] != "reviewed" and "out_of_fold" not in p
    # the strict reviewer's catalogue: fewer requests are covered after adaptation
    before = [json.loads(line)["predicted"]["avoidable"] for line in out.read_text().splitlines()[30:]]
    after = [r["predicted"]["avoidable"] for r in rows[30:]]
    assert sum(after) < sum(before)


def test_bad_reviewed_files_are_named_and_the_run_goes_on(tmp_path, labelled, tiny_model_dir, tiny_dir):
    src, out = labelled
    good = [json.loads(line) for line in _reviews(out, tmp_path / "r.jsonl", 20).read_text().splitlines()]
    bad = good[:12] + [dict(good[12], guideline_id="KJ-999"), dict(good[13], topic="laskutus"),
                       {"id": "not-in-inputs", "topic": "uusi", "guideline_id": "G-1", "queue": "random"}]
    f = write_jsonl(tmp_path / "mixed.jsonl", bad)
    res = tmp_path / "res.jsonl"
    s = label_inputs([src], res, tiny_model_dir, tiny_dir / "guidelines.jsonl", reviewed=[f])
    w = "\n".join(s.warnings)
    assert "1 of 15 reviewed request(s) are not among these inputs (not-in-inputs)" in w
    assert "name a guideline that is not in this catalogue" in w and "KJ-999" in w
    assert "name a topic the model does not know" in w and "laskutus" in w
    rows = [json.loads(line) for line in res.read_text().splitlines()]
    assert sum(r["predicted"]["status"] == "reviewed" for r in rows) == 12 and len(rows) == 60


def test_two_reviews_adapt_nothing_and_say_so(tmp_path, labelled, tiny_model_dir, tiny_dir):
    src, out = labelled
    f = _reviews(out, tmp_path / "two.jsonl", 2)
    res = tmp_path / "res.jsonl"
    s = label_inputs([src], res, tiny_model_dir, tiny_dir / "guidelines.jsonl", reviewed=[f])
    assert any("2 usable review(s): no adaptation (at least 10 needed)" in n for n in s.notes)
    rows = [json.loads(line) for line in res.read_text().splitlines()]
    base = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["predicted"]["status"] for r in rows[:2]] == ["reviewed", "reviewed"]
    assert [r["predicted"]["avoidable_probability"] for r in rows[2:]] == \
        [r["predicted"]["avoidable_probability"] for r in base[2:]]
    with pytest.raises(TukipyyntoError, match="too few to adapt"):
        classifier.adapt(f, guidelines=tiny_dir / "guidelines.jsonl", model=tiny_model_dir, inputs=[src])


def test_adapted_model_directory_and_its_card(tmp_path, labelled, tiny_model_dir, tiny_dir):
    src, out = labelled
    rev = _reviews(out, tmp_path / "reviewed.jsonl", 30)
    model = classifier.adapt(rev, guidelines=tiny_dir / "guidelines.jsonl", model=tiny_model_dir, inputs=[src])
    d = save_model(model, tmp_path / "adapted")
    meta = json.loads((d / "model.json").read_text())
    ad = meta["adaptation"]
    assert ad["catalogue_sha256"] == Assessor(load(tiny_model_dir), catalogue=tiny_dir / "guidelines.jsonl").catalogue.digest
    assert ad["fit"]["reviews_by_queue"] == {"random": 30}
    cv = ad["fit"]["cv"]
    assert cv["n_reviews"] == 30 and {"avoidable_accuracy", "topic_accuracy", "guideline_accuracy"} <= set(cv["after"])
    assert not list(d.glob("*.joblib")) and not list(d.glob("*.pkl"))
    card = (d / "README.md").read_text()
    assert ad["catalogue_sha256"] in card and "30 (30 random)" in card and "| avoidable accuracy |" in card
    # the adapted model labels with its adaptation and its catalogue by default
    again = tmp_path / "again.jsonl"
    label_inputs([src], again, d)
    after = [json.loads(line)["predicted"]["avoidable"] for line in again.read_text().splitlines()]
    before = [json.loads(line)["predicted"]["avoidable"] for line in out.read_text().splitlines()]
    assert sum(after) < sum(before)
    # a changed adaptation is a changed model.json, a changed catalogue a refused file
    (d / "guidelines.jsonl").write_text((d / "guidelines.jsonl").read_text() + "\n")
    with pytest.raises(ModelError, match="sha256"):
        load(d)


def test_adapt_and_label_commands(tmp_path, labelled, tiny_model_dir, tiny_dir):
    src, out = labelled
    rev = _reviews(out, tmp_path / "reviewed.jsonl", 30)
    r = CliRunner().invoke(main, ["adapt", str(src), "--reviewed", str(rev), "--guidelines", str(tiny_dir / "guidelines.jsonl"),
                                  "--model", str(tiny_model_dir), "--out", str(tmp_path / "m")])
    assert r.exit_code == 0, r.output
    assert "adapted model written to" in r.output and (tmp_path / "m" / "model.json").exists()
    r = CliRunner().invoke(main, ["adapt", "--reviewed", str(rev), "--model", str(tiny_model_dir),
                                  "--guidelines", str(tiny_dir / "guidelines.jsonl"), "--out", str(tmp_path / "m")])
    assert r.exit_code != 0 and "not empty" in r.output
    r = CliRunner().invoke(main, ["label", str(src), "--out", str(tmp_path / "l.jsonl"), "--model", str(tiny_model_dir),
                                  "--guidelines", str(tiny_dir / "guidelines.jsonl"), "--reviewed", str(rev)])
    assert r.exit_code == 0, r.output
    assert "adapted to the catalogue from 30 review(s)" in r.output
    rows = [json.loads(line) for line in (tmp_path / "l.jsonl").read_text().splitlines()]
    assert sum(r["predicted"]["status"] == "reviewed" for r in rows) == 30


def test_report_on_adapted_rows_corrects_with_out_of_fold_predictions(tmp_path, labelled, tiny_model_dir, tiny_dir):
    src, out = labelled
    rev = _reviews(out, tmp_path / "reviewed.jsonl", 30)
    res = tmp_path / "res.csv"
    label_inputs([src], res, tiny_model_dir, tiny_dir / "guidelines.jsonl", reviewed=[rev])
    r = CliRunner().invoke(main, ["report", str(res), "--reviewed", str(rev), "--model", str(tiny_model_dir),
                                  "--guidelines", str(tiny_dir / "guidelines.jsonl"), "--out", str(tmp_path / "rep"),
                                  "--lang", "en"])
    assert r.exit_code == 0, r.output
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "cross-prediction-powered inference" in md and "for the 30 reviewed requests" in md


@pytest.mark.slow
def test_adapting_to_the_example_mailbox_raises_avoidable_accuracy(tmp_path):
    """The example mailbox against its answer key: the shipped coverage threshold calls too few requests avoidable."""
    mbox = CORPUS / "examples" / "syyskuu-2016.mbox"
    key = CORPUS / "examples" / "syyskuu-2016.labels.jsonl"
    if not mbox.exists() or not key.exists():
        pytest.skip("example mailbox not built")
    from classifier.ingest import iter_contacts
    from classifier.label import contact_key

    gold = {json.loads(line)["message_id"].strip("<>"): json.loads(line) for line in key.read_text().splitlines()}
    truth = {contact_key(c): gold[c.id.strip("<>")] for c in iter_contacts([mbox])}
    base = tmp_path / "base.jsonl"
    label_inputs([mbox], base)
    rows = [json.loads(line) for line in base.read_text().splitlines()]
    pick = set(np.random.default_rng(0).permutation(len(rows))[:60].tolist())
    rev = write_jsonl(tmp_path / "rev.jsonl", [
        {"id": r["id"], "topic": truth[r["key"]]["topic"], "guideline_id": truth[r["key"]]["guideline_id"],
         "queue": "random"} for i, r in enumerate(rows) if i in pick])
    adapted = tmp_path / "adapted.jsonl"
    label_inputs([mbox], adapted, reviewed=[rev])
    after = [json.loads(line) for line in adapted.read_text().splitlines()]
    rest = [i for i in range(len(rows)) if i not in pick]
    acc = lambda rs: np.mean([rs[i]["predicted"]["avoidable"] == truth[rs[i]["key"]]["avoidable"] for i in rest])  # noqa: E731
    assert acc(after) >= acc(rows) + 0.03
    assert all(after[i]["predicted"]["status"] == "reviewed" for i in pick)


def test_reviews_without_a_catalogue_adapt_the_topics_only(tmp_path, labelled, tiny_model_dir):
    src, out = labelled
    rev = _reviews(out, tmp_path / "reviewed.jsonl", 20)
    res = tmp_path / "res.jsonl"
    s = label_inputs([src], res, tiny_model_dir, False, reviewed=[rev])
    assert any("guideline ranking and coverage not adapted" in n for n in s.notes)
    rows = [json.loads(line) for line in res.read_text().splitlines()]
    first = rows[0]["predicted"]
    assert first["status"] == "reviewed" and first["avoidable"] is None and first["reason"] == "no_catalogue"


def test_worker_processes_label_with_the_same_fold_adaptations(tmp_path, labelled, tiny_model_dir, tiny_dir):
    src, out = labelled
    rev = _reviews(out, tmp_path / "reviewed.jsonl", 30)
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    label_inputs([src], one, tiny_model_dir, tiny_dir / "guidelines.jsonl", reviewed=[rev])
    label_inputs([src], two, tiny_model_dir, tiny_dir / "guidelines.jsonl", reviewed=[rev], jobs=2, batch_size=16)
    strip = lambda p: [json.loads(line)["predicted"] for line in p.read_text().splitlines()]  # noqa: E731
    assert strip(one) == strip(two)


def test_default_flow_adapts_from_the_review_page_without_the_inputs(tmp_path, tiny_model_dir, tiny_dir):
    """label (texts in the private store) -> review -> adapt with no inputs: the texts come from the store."""
    from classifier.review.session import load_session

    src = _inputs(tmp_path / "requests.jsonl", n=40)
    out = tmp_path / "labelled.jsonl"
    label_inputs([src], out, tiny_model_dir, tiny_dir / "guidelines.jsonl", text_store=True)
    assert all("text" not in json.loads(line) for line in out.read_text().splitlines())
    s = load_session([out], tmp_path / "reviewed.jsonl", guidelines=str(tiny_dir / "guidelines.jsonl"),
                     model_dir=str(tiny_model_dir), sample=20, seed=1)
    rows = {json.loads(line)["id"]: json.loads(line) for line in out.read_text().splitlines()}
    cut = np.median([r["predicted"]["coverage_probability"] for r in rows.values()])
    while (rid := s.next_id("random")) is not None:
        s.decide(rid, "uusi", "G-1" if rows[rid]["predicted"]["coverage_probability"] > cut else None)
    s.close()
    model = classifier.adapt(tmp_path / "reviewed.jsonl", guidelines=tiny_dir / "guidelines.jsonl", model=tiny_model_dir)
    fit = model.meta["adaptation"]["fit"]
    assert fit["n_reviews"] == 20 and fit["reviews_by_queue"] == {"random": 20} and not fit["left_out"]
