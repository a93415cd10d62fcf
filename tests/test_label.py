"""Batch labelling: one row per record, formats, resume after a crash, parallel and Dask paths."""

import json

import pytest

from classifier.label import DatasetLabeler, label_inputs

from .conftest import TINY_TEXTS, write_jsonl


@pytest.fixture
def records(tmp_path):
    rows = []
    for lab, texts in TINY_TEXTS.items():
        for j, t in enumerate(texts):
            rows.append({"id": f"{lab}-{j}", "text": t + f" asnro 12345{j}", "channel": "email",
                         "sent_at": f"2016-05-{j + 1:02d}T10:00:00+03:00", "topic": lab})
    rows.append({"id": "broken", "channel": "email"})  # no text: an error row, not a crash
    return write_jsonl(tmp_path / "in.jsonl", rows), len(rows)


def _label(records, out, tiny_model_dir, tiny_dir, **kw):
    return label_inputs([records], out, tiny_model_dir, tiny_dir / "guidelines.jsonl", **kw)


def test_every_record_one_row_redacted(records, tmp_path, tiny_model_dir, tiny_dir):
    path, n = records
    s = _label(path, tmp_path / "o.jsonl", tiny_model_dir, tiny_dir, with_text=True)
    rows = [json.loads(l) for l in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert len(rows) == n == s.contacts == s.labelled + s.errors and s.errors == 1
    ok = [r for r in rows if r["status"] == "ok"]
    assert all("[ASIAKASNRO]" in r["text"] and "12345" not in r["text"] for r in ok)
    assert sum(r["predicted"]["topic"] == r["topic"] for r in ok) >= 0.8 * len(ok)


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_csv_and_parquet_outputs(records, tmp_path, tiny_model_dir, tiny_dir, suffix):
    from classifier.report import read_labelled

    path, n = records
    _label(path, tmp_path / f"o.{suffix}", tiny_model_dir, tiny_dir)
    back = read_labelled([tmp_path / f"o.{suffix}"])
    assert len(back) == n and {r["id"] for r in back} >= {"uusi-0", "broken"}


def test_resume_after_torn_write(records, tmp_path, tiny_model_dir, tiny_dir):
    path, n = records
    out = tmp_path / "o.jsonl"
    _label(path, out, tiny_model_dir, tiny_dir, batch_size=4)
    full = out.read_text().splitlines()
    # simulate a crash: 7 complete rows and half of the 8th on disk
    out.write_text("\n".join(full[:7]) + "\n" + full[7][: len(full[7]) // 2])
    s = _label(path, out, tiny_model_dir, tiny_dir, batch_size=4, resume=True)
    again = out.read_text().splitlines()
    assert s.skipped_resumed == 7
    assert [json.loads(l)["id"] for l in again] == [json.loads(l)["id"] for l in full]
    assert len(set(again)) == len(again) == n


def test_parallel_jobs_same_rows(records, tmp_path, tiny_model_dir, tiny_dir):
    path, _ = records
    _label(path, tmp_path / "a.jsonl", tiny_model_dir, tiny_dir, batch_size=3)
    _label(path, tmp_path / "b.jsonl", tiny_model_dir, tiny_dir, batch_size=3, jobs=2)
    assert (tmp_path / "a.jsonl").read_text() == (tmp_path / "b.jsonl").read_text()


@pytest.mark.slow
def test_dask_cluster_same_rows(records, tmp_path, tiny_model_dir, tiny_dir):
    distributed = pytest.importorskip("distributed")
    path, _ = records
    _label(path, tmp_path / "a.jsonl", tiny_model_dir, tiny_dir, batch_size=3)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        _label(path, tmp_path / "d.jsonl", tiny_model_dir, tiny_dir, batch_size=3, engine="dask",
               scheduler=cluster.scheduler_address)
    assert (tmp_path / "a.jsonl").read_text() == (tmp_path / "d.jsonl").read_text()


def test_dataset_labeler(tiny_model_dir, tiny_dir):
    import datasets

    ds = datasets.Dataset.from_dict({"text": [t for ts in TINY_TEXTS.values() for t in ts],
                                     "sent_at": ["2016-05-01T10:00:00+03:00"] * 18})
    out = ds.map(DatasetLabeler(tiny_model_dir, tiny_dir / "guidelines.jsonl"), batched=True, batch_size=5)
    assert out.num_rows == 18 and {"predicted_topic", "predicted_avoidable", "reason"} <= set(out.column_names)
    assert out[0]["predicted_topic"] == "uusi"


def test_model_in_other_taxonomy_skips_matching_with_one_warning(records, tmp_path, tiny_model_dir):
    from .conftest import CORPUS

    path, n = records
    s = label_inputs([path], tmp_path / "o.jsonl", tiny_model_dir, CORPUS / "guidelines.jsonl")
    assert len(s.warnings) == 1 and "skipped" in s.warnings[0]
    rows = [json.loads(l) for l in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert len(rows) == n and all(r["predicted"]["guideline_id"] is None for r in rows if r["status"] == "ok")
