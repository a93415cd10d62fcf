"""The one reader of reviewed files: nothing lost, nothing invented, every problem named with its line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classifier.errors import IngestError, TukipyyntoError
from classifier.estimate import read_reviewed, review_estimates
from classifier.io import read_guidelines, read_taxonomy
from classifier.reviewed import ReviewedFileError, read_reviewed_files

TOPICS = ("uusi", "vahvistus", "vaara")
N_POP = 30  # labelled rows of the property test


def _decision(i: int, topic: str = "uusi", **kw) -> dict:
    return {"id": f"r{i:03d}", "topic": topic, "guideline_id": None, "avoidable": topic == "vaara", "queue": "random",
            "sample_seed": 0, "sample_size": 100, "sample_positions": [i + 1], **kw}


def _write(path, rows, tail: str = "") -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows) + tail, encoding="utf-8")


def test_a_complete_last_line_without_a_newline_counts(tmp_path):
    p = tmp_path / "r.jsonl"
    rows = [_decision(i) for i in range(99)]
    _write(p, rows[:-1], json.dumps(rows[-1]))                       # 99 decisions, the last unterminated
    assert len(read_reviewed(p)) == 99
    got = read_reviewed_files(p)
    assert got.files[0].unterminated and got.files[0].torn_line is None and got.files[0].lines == 99


def test_only_a_torn_last_line_is_left_out_and_said(tmp_path):
    p = tmp_path / "r.jsonl"
    _write(p, [_decision(1), _decision(2)], '{"id": "r003", "top')
    got = read_reviewed_files(p)
    assert set(got) == {"r001", "r002"} and got.files[0].torn_line == 3
    assert any("r.jsonl:3: a torn last line" in n for n in got.notes())


def test_unknown_topic_is_refused_with_file_line_and_the_known_topics(tiny_dir, tmp_path):
    tax = read_taxonomy(tiny_dir / "taxonomy.json")
    p = tmp_path / "r.jsonl"
    _write(p, [_decision(1), _decision(2, "no_such_topic"), _decision(3, 5)])
    with pytest.raises(ReviewedFileError) as e:
        read_reviewed_files(p, tax)
    msg = str(e.value)
    assert f"{p}:2: unknown topic 'no_such_topic' (known: uusi, vahvistus, vaara)" in msg
    assert f"{p}:3: topic must be a topic id (text), found 5" in msg
    assert "--skip-invalid" in msg
    assert isinstance(e.value, IngestError) and isinstance(e.value, TukipyyntoError) and isinstance(e.value, ValueError)
    # skipped, each named, when asked to: nothing invalid becomes a decision
    got = read_reviewed_files(p, tax, skip_invalid=True)
    assert list(got) == ["r001"]
    assert [n.split(": ", 1)[0] for n in got.notes()] == [f"skipped {p}:2", f"skipped {p}:3"]


def test_topic_of_the_wrong_type_is_refused_even_without_a_taxonomy(tmp_path):
    p = tmp_path / "r.jsonl"
    _write(p, [_decision(1, 5)])
    with pytest.raises(ReviewedFileError, match=r"r\.jsonl:1: topic must be a topic id"):
        read_reviewed(p)


def test_guideline_of_another_catalogue_is_named(tiny_dir, tmp_path):
    tax = read_taxonomy(tiny_dir / "taxonomy.json")
    gl = read_guidelines(tiny_dir / "guidelines.jsonl", tax)
    p = tmp_path / "r.jsonl"
    _write(p, [_decision(1, guideline_id="G-1"), _decision(2, guideline_id="KJ-127")])
    with pytest.raises(ReviewedFileError, match=r"r\.jsonl:2: unknown guideline 'KJ-127': not in the catalogue of 3"):
        read_reviewed_files(p, tax, gl)
    assert list(read_reviewed_files(p, tax, gl, skip_invalid=True)) == ["r001"]


def test_a_labelled_file_is_not_a_reviewed_file(tmp_path):
    p = tmp_path / "labelled.jsonl"
    _write(p, [{"id": f"x{i}", "status": "ok", "predicted": {"topic": "uusi", "avoidable": True}} for i in range(5)])
    with pytest.raises(ReviewedFileError, match=r"labelled\.jsonl:1: not a reviewed decision: no 'topic' \(this looks "
                                                r"like a labelled row"):
        read_reviewed(p)


def test_an_empty_file_is_said_and_reads_as_nothing(tmp_path):
    p = tmp_path / "r.jsonl"
    p.write_text("", encoding="utf-8")
    got = read_reviewed_files(p)
    assert not got and got.notes() == [f"{p}: no decisions (an empty reviewed file)"]


def test_kylla_is_yes_in_reviews_as_in_predictions(tmp_path):
    p = tmp_path / "r.jsonl"
    _write(p, [_decision(1, avoidable="kyllä"), _decision(2, avoidable="ei"), _decision(3, avoidable="")])
    got = read_reviewed_files(p)
    assert [got[i]["avoidable"] for i in ("r001", "r002", "r003")] == [True, False, None]
    _write(p, [_decision(4, avoidable="maybe")])
    with pytest.raises(ReviewedFileError, match=r"r\.jsonl:1: avoidable: expected true or false"):
        read_reviewed_files(p)


def test_later_files_and_lines_win_and_withdrawals_withdraw(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    _write(a, [_decision(1), _decision(2), _decision(1, "vaara")])
    _write(b, [_decision(2, "vahvistus"), {"id": "r001", "retracted": True, "queue": "random"}])
    got = read_reviewed_files([a, b])
    assert dict((k, v["topic"]) for k, v in got.items()) == {"r002": "vahvistus"}
    assert got.where("r002") == f"{b}:1"
    fa, fb = got.files
    assert (fa.lines, fa.superseded, fa.decisions) == (3, 3, 0) and (fb.lines, fb.retracted, fb.decisions) == (2, 1, 1)


# ---------------------------------------------------------------------------------------------
# property: random reviewed files, damaged endings, foreign ids, unknown topics, re-decisions and withdrawals

_op = st.one_of(
    st.tuples(st.just("decide"), st.integers(0, 31), st.sampled_from(TOPICS + ("no_such_topic",))),
    st.tuples(st.just("retract"), st.integers(0, 31), st.just("")),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(_op, min_size=30, max_size=90), ending=st.sampled_from(["newline", "unterminated", "torn"]),
       probs=st.lists(st.sampled_from([0.0, 1.0, 0.3, 0.9]), min_size=N_POP, max_size=N_POP))
def test_property_every_decision_once_nothing_invalid_no_zero_width(tmp_path_factory, ops, ending, probs):
    p = tmp_path_factory.mktemp("prop") / "r.jsonl"
    lines, expect = [], {}
    for kind, i, topic in ops:
        rid = f"r{i:03d}"           # ids 30 and 31 are not among the labelled rows
        if kind == "retract":
            lines.append({"id": rid, "retracted": True, "queue": "random"})
            expect.pop(rid, None)
        else:
            lines.append(_decision(i, topic))
            if topic in TOPICS:
                expect.pop(rid, None)
                expect[rid] = topic
    text = "".join(json.dumps(r) + "\n" for r in lines)
    if ending == "unterminated":
        text = text[:-1]
    elif ending == "torn":
        text += '{"id": "r009", "topic": "uu'
    p.write_text(text, encoding="utf-8")
    got = read_reviewed_files(p, TOPICS, skip_invalid=True)
    # every complete valid decision is read, exactly once, the last one wins
    assert {k: v["topic"] for k, v in got.items()} == expect
    assert list(got) == list(expect)
    assert got.files[0].lines == sum(1 for r in lines if r.get("retracted") or r["topic"] in TOPICS)
    assert len(got.files[0].invalid) == sum(1 for r in lines if not r.get("retracted") and r["topic"] not in TOPICS)
    assert (got.files[0].torn_line is not None) == (ending == "torn")
    assert all(v["topic"] in TOPICS for v in got.values())         # nothing invalid enters
    # intervals: none of zero width while fewer than all of the population is reviewed
    rows = [{"id": f"r{i:03d}", "predicted": {"topic": TOPICS[i % 3], "avoidable": probs[i] > 0.5,
                                              "avoidable_probability": probs[i],
                                              "candidates": [[TOPICS[i % 3], 0.8], [TOPICS[(i + 1) % 3], 0.2]]}}
            for i in range(N_POP)]
    est = review_estimates(rows, got, list(TOPICS))
    shown = [r for r in est["review_topics"] + est["review_avoidable"] if r.get("estimate") is not None]
    if est["n_reviewed"] < len(rows):
        assert all(r["ci_high"] - r["ci_low"] > 0 for r in shown)
    assert est["n_reviewed"] == sum(1 for k in expect if int(k[1:]) < N_POP)
    assert est["n_reviewed_unknown"] == sum(1 for k in expect if int(k[1:]) >= N_POP)
    assert np.all([r["ci_low"] <= r["estimate"] <= r["ci_high"] for r in shown])
