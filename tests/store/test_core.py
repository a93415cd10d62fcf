"""The Store: batch writes in one transaction, reviews, trends counts, provenance, reading rows back."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from classifier.ingest.incremental import ContactPlan, StoredMessage
from classifier.report.tables.trends import alerts
from classifier.store import StoreError, open_store
from classifier.store.core import row_columns
from classifier.store.trends import counts_from_store


def _row(i: int, month: str, topic: str, avoidable: bool | None = False) -> dict:
    return {"id": f"r{i}", "key": f"k{i}", "source": "x.csv", "channel": "phone", "sent_at": f"{month}-10T10:00:00+03:00",
            "subject": None, "n_messages": 1, "status": "ok", "error": None,
            "predicted": {"topic": topic, "avoidable": avoidable, "reason": "no_guideline" if avoidable is False
                          else "guideline_existed", "avoidable_probability": 0.3}}


def _plan(i: int) -> ContactPlan:
    h = i.to_bytes(16, "big")
    return ContactPlan(handle=h, messages=[StoredMessage(ident=h, msgid=None, handle=b"", sent_at=None, sender=None,
                                                         recipients=(), is_reply=False, reply_subject=False,
                                                         subject=None, kind="record")])


def _store(path, rows):
    st = open_store(path, write=True, create=True)
    st.begin_run(["test"], {})
    st.write(rows, [_plan(i) for i in range(len(rows))])
    st.finish_run()
    return st


def test_a_batch_is_written_whole_or_not_at_all(tmp_path):
    st = _store(tmp_path / "h.sqlite", [_row(0, "2016-09", "a")])
    rows = [_row(1, "2016-09", "a"), _row(2, "2016-09", "a")]
    with pytest.raises(StoreError, match="refused a write.*nothing of this batch"):
        st.write(rows, [_plan(5), _plan(0)])  # the second row's handle is stored already
    assert st.n_contacts() == 1 and st.n_messages() == 1
    st.write(rows, [_plan(5), _plan(6)])
    assert [r["id"] for r in st.iter_rows()] == ["r0", "r1", "r2"]
    st.close()


def test_rows_come_back_as_written_and_by_period(tmp_path):
    rows = [_row(0, "2016-08", "a"), _row(1, "2016-09", "b"), dict(_row(2, "2016-09", "b"), sent_at=None)]
    st = _store(tmp_path / "h.sqlite", rows)
    assert list(st.iter_rows()) == json.loads(json.dumps(rows))
    sept = list(st.iter_rows(dt.date(2016, 9, 1), dt.date(2016, 9, 30)))
    assert [r["id"] for r in sept] == ["r1", "r2"]  # undated rows are kept
    st.close()


def test_row_columns_hold_what_the_report_reads():
    c = row_columns(_row(0, "2016-09", "a", None) | {"sent_at": "2016-09-30T23:30:00+00:00", "channel": " Email "})
    assert (c["local_date"], c["month"], c["channel"], c["topic"], c["avoidable"]) == \
        ("2016-10-01", "2016-10", "email", "a", None)  # Helsinki's date, not UTC's
    assert row_columns({"id": 1, "status": "error", "predicted": None})["topic"] is None


def test_trend_counts_from_the_store_feed_the_alerts(tmp_path):
    rows = [_row(i, "2016-08", "a" if i % 2 else "b") for i in range(200)]
    rows += [_row(200 + i, "2016-09", "a" if i % 10 else "b", avoidable=i % 3 == 0) for i in range(200)]
    st = _store(tmp_path / "h.sqlite", rows)
    counts = counts_from_store(st)
    assert (counts["2016-08"].n, counts["2016-08"].topics["a"], counts["2016-09"].topics["b"]) == (200, 100, 20)
    assert (counts["2016-09"].decided, counts["2016-09"].avoidable) == (200, 67)
    found = alerts(counts, ["a", "b"])
    assert {(a["topic"], a["direction"]) for a in found} == {("a", "up"), ("b", "down"), ("avoidable", "up")}
    st.close()


def test_reviews_are_recorded_once_and_the_last_decision_stands(tmp_path):
    st = _store(tmp_path / "h.sqlite", [_row(0, "2016-09", "a"), _row(1, "2016-09", "a")])
    f = tmp_path / "reviewed.jsonl"
    lines = [{"id": "r0", "topic": "a", "queue": "random", "reviewed_at": "t1"},
             {"id": "r1", "topic": "b", "queue": "random", "reviewed_at": "t2"},
             {"id": "r0", "topic": "b", "queue": "random", "reviewed_at": "t3"}]
    f.write_text("".join(json.dumps(x) + "\n" for x in lines) + '{"id": "r1", "ret', encoding="utf-8")  # torn last line
    assert st.add_reviews(f) == 3
    assert st.add_reviews(f) == 0  # the same file again adds nothing
    assert {k: v["topic"] for k, v in st.reviewed().items()} == {"r1": "b", "r0": "b"}
    f.write_text("".join(json.dumps(x) + "\n" for x in lines)
                 + json.dumps({"id": "r1", "retracted": True, "reviewed_at": "t4"}) + "\n", encoding="utf-8")
    assert st.add_reviews(f) == 1
    assert list(st.reviewed()) == ["r0"]  # the undo withdrew r1's decision
    st.close()


def test_provenance_says_which_model_and_catalogue_labelled_each_month(tmp_path):
    st = open_store(tmp_path / "h.sqlite", write=True, create=True)
    st.begin_run(["a"], {}, {"fingerprint": "f" * 64, "path": "m1", "meta": {"adaptation": {"x": 1}}},
                 {"sha256": "c" * 64, "file": "g.jsonl", "n_guidelines": 3})
    st.write([_row(0, "2016-08", "a")], [_plan(0)])
    st.begin_run(["b"], {}, {"fingerprint": "e" * 64, "path": "m2"}, None)
    st.write([_row(1, "2016-09", "a"), _row(2, "2016-09", "a")], [_plan(1), _plan(2)])
    assert st.provenance() == [
        {"period": "2016-08", "n": 1, "model": "f" * 12, "model_path": "m1", "adapted": True, "catalogue": "c" * 12,
         "catalogue_file": "g.jsonl"},
        {"period": "2016-09", "n": 2, "model": "e" * 12, "model_path": "m2", "adapted": False, "catalogue": None,
         "catalogue_file": None}]
    st.close()


def test_reading_needs_no_lock_and_cannot_write(tmp_path):
    st = _store(tmp_path / "h.sqlite", [_row(0, "2016-09", "a")])
    ro = open_store(tmp_path / "h.sqlite")
    assert ro.n_contacts() == 1
    with pytest.raises(StoreError, match="reading only"):
        ro.begin_run(["x"], {})
    ro.close()
    st.close()
