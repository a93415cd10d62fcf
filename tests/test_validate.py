import json

import pytest

from classifier.validate import validate_paths

from .conftest import CORPUS, GUIDELINES, write_jsonl

GOOD = {"id": "a", "channel": "email", "sent_at": "2016-05-02T10:00:00+03:00", "subject": "s",
        "text": "Asiakas muuttaa", "topic": "uusi", "guideline_id": "G-1", "avoidable": True}


def _issues(tiny_dir, rows):
    write_jsonl(tiny_dir / "requests.jsonl", rows)
    rep = validate_paths([tiny_dir])
    return [str(i) for i in rep.issues]


def test_good_file_passes(tiny_dir):
    assert _issues(tiny_dir, [GOOD]) == []


def test_unknown_topic_lists_valid_ids(tiny_dir):
    (msg,) = _issues(tiny_dir, [dict(GOOD, topic="muutto", avoidable=None)])
    assert "requests.jsonl:1 [topic]" in msg and "unknown topic 'muutto'" in msg and "uusi, vahvistus, vaara" in msg


def test_bad_date_shows_value(tiny_dir):
    (msg,) = _issues(tiny_dir, [dict(GOOD, sent_at="2.5.2016 10:00")])
    assert "[sent_at]" in msg and "'2.5.2016 10:00'" in msg


def test_unknown_guideline_named(tiny_dir):
    (msg,) = _issues(tiny_dir, [dict(GOOD, guideline_id="G-99")])
    assert "[guideline_id]" in msg and "'G-99' is not in the catalogue" in msg


def test_avoidable_contradicting_rule(tiny_dir):
    # G-1 is published 2016-03-01: a February request cannot have been avoidable through it
    (msg,) = _issues(tiny_dir, [dict(GOOD, sent_at="2016-02-15T10:00:00+02:00")])
    assert "[avoidable]" in msg and "contradicts the rule" in msg and "published 2016-03-01" in msg


def test_duplicate_id_and_bad_channel(tiny_dir):
    msgs = _issues(tiny_dir, [GOOD, dict(GOOD, channel="fax")])
    assert any("duplicate id 'a'" in m for m in msgs)
    assert any("unknown channel 'fax'" in m for m in msgs)


def test_catalogue_problems_reported(tiny_dir):
    write_jsonl(tiny_dir / "guidelines.jsonl", [
        {"id": "G-1", "title": "x", "body": "y", "family": "koulutus", "topics": ["uusi"], "published": "2016-13-01", "retired": None},
        {"id": "G-2", "title": "x", "body": "y", "family": "muu", "topics": ["uusi"], "published": "2016-01-01", "retired": None},
    ])
    rep = validate_paths([tiny_dir / "guidelines.jsonl"], taxonomy_path=tiny_dir / "taxonomy.json")
    text = "\n".join(map(str, rep.issues))
    assert "bad date '2016-13-01'" in text and "unknown family 'muu'" in text


@pytest.mark.skipif(not (CORPUS / "train.jsonl").exists(), reason="corpus not built")
def test_shipped_corpus_validates():
    rep = validate_paths([CORPUS])
    assert rep.ok, "\n".join(map(str, rep.issues[:20]))
    assert rep.records > 900


def test_validate_reads_cp1252_csv_and_jsonl_like_label(tiny_dir):
    (tiny_dir / "r.csv").write_bytes("id,channel,text,topic\n1,email,Hyvää päivää – asiakas muuttaa,uusi\n".encode("cp1252"))
    (tiny_dir / "r.jsonl").write_bytes(json.dumps({"id": "2", "text": "Hyvää päivää", "topic": "uusi"}, ensure_ascii=False).encode("cp1252") + b"\n")
    rep = validate_paths([tiny_dir])
    assert rep.ok, [str(i) for i in rep.issues]
    assert rep.records >= 2 + len(GUIDELINES)


def test_validate_semicolon_csv_with_message_column(tiny_dir):
    (tiny_dir / "r.csv").write_bytes(b"\xef\xbb\xbf" + "id;message;topic\n1;;uusi\n2;Asiakas muuttaa;uusi\n".encode("cp1252"))
    assert [str(i) for i in validate_paths([tiny_dir]).issues] == [f"{tiny_dir / 'r.csv'}:2 [message]: request 1: empty or missing text"]


def test_validate_keeps_going_after_a_bad_line_and_redacts(tiny_dir):
    write_jsonl(tiny_dir / "r.jsonl", [GOOD])
    with open(tiny_dir / "r.jsonl", "a") as fh:
        fh.write('{"id": "b", \n')
        fh.write(json.dumps(dict(GOOD, id="131052-308T", sent_at="puh 040 123 4567")) + "\n")
    msgs = [str(i) for i in validate_paths([tiny_dir]).issues]
    assert any("r.jsonl:2: not valid JSON" in m for m in msgs) and any("r.jsonl:3 [sent_at]" in m for m in msgs)
    assert not any("131052-308T" in m or "040 123 4567" in m for m in msgs)


def test_validate_mbox_with_empty_and_duplicate_message_ids(tiny_dir):
    sep = "From a@b.example Mon Sep  5 10:12:00 2016\n"
    msgs = "".join(sep + f"From: a@b.example\nSubject: S{i}\nDate: Mon, 5 Sep 2016 10:1{i}:00 +0300\nMessage-ID: {mid}\n\nTeksti {i}\n\n"
                   for i, mid in enumerate(["<>", "<>", "<d@b>", "<d@b>"]))
    (tiny_dir / "x.mbox").write_text(msgs, encoding="utf-8")
    rep = validate_paths([tiny_dir / "x.mbox"], taxonomy_path=tiny_dir / "taxonomy.json")
    text = [str(i) for i in rep.issues]
    assert rep.records == 4 + len(GUIDELINES)  # the catalogue beside it is checked too
    assert sum("has no Message-ID" in m for m in text) == 2 and sum("repeats the Message-ID" in m for m in text) == 1
    assert not any("IndexError" in m for m in text)
