import csv
import json

import pytest

from classifier.errors import CatalogueError, CorpusError, TaxonomyError
from classifier.io import load_dataset, read_guidelines, read_requests, read_taxonomy

from .conftest import GUIDELINES, write_jsonl

ROWS = [
    {"id": "a", "channel": "email", "sent_at": "2016-05-02T10:00:00+03:00", "subject": "s", "text": "Asiakas muuttaa", "topic": "uusi", "guideline_id": "G-1", "avoidable": True},
    {"id": "b", "channel": "phone", "sent_at": "2016-05-03T11:00:00+03:00", "subject": None, "text": "Lasku on väärin", "topic": "vaara", "guideline_id": None, "avoidable": True},
]


def test_jsonl_csv_parquet_read_the_same(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    write_jsonl(tmp_path / "r.jsonl", ROWS)
    with open(tmp_path / "r.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(ROWS[0]))
        w.writeheader()
        for r in ROWS:
            w.writerow({k: ("" if v is None else v) for k, v in r.items()})
    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "r.parquet")
    got = [read_requests(tmp_path / f"r.{ext}") for ext in ("jsonl", "csv", "parquet")]
    assert got[0] == got[1] == got[2]
    assert got[0][1].guideline_id is None and got[0][0].avoidable is True


def test_load_dataset_returns_dataset(tmp_path):
    import datasets

    write_jsonl(tmp_path / "r.jsonl", ROWS)
    ds = load_dataset(tmp_path / "r.jsonl")
    assert isinstance(ds, datasets.Dataset)
    assert ds.num_rows == 2 and ds[0]["topic"] == "uusi"


def test_load_dataset_keeps_datetimes_as_written(tmp_path):
    """The JSON reader would turn 08:30+02:00 into a naive 06:30; the rows keep the text, as `label` writes it."""
    rows = [{"id": "1", "sent_at": "2016-02-15T08:30:00+02:00", "text": "a"},
            {"id": "2", "sent_at": "2016-09-05T10:12:00+03:00", "text": "b"}]
    write_jsonl(tmp_path / "a.jsonl", rows[:1])
    write_jsonl(tmp_path / "b.jsonl", rows[1:])
    ds = load_dataset([tmp_path / "a.jsonl", tmp_path / "b.jsonl"])
    assert ds["sent_at"] == ["2016-02-15T08:30:00+02:00", "2016-09-05T10:12:00+03:00"]
    assert ds.column_names == ["id", "sent_at", "text"]


def test_bad_json_line_is_named(tmp_path):
    p = tmp_path / "r.jsonl"
    p.write_text(json.dumps(ROWS[0]) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"r.jsonl:2"):
        read_requests(p)


def test_read_taxonomy_default_has_eleven_categories():
    tax = read_taxonomy()
    assert len(tax) == 11
    assert sum(c.misrouted for c in tax.categories) == 1


def test_taxonomy_errors(tmp_path):
    p = tmp_path / "t.json"
    p.write_text(json.dumps({"categories": [{"id": "a"}, {"id": "a"}]}))
    with pytest.raises(TaxonomyError, match="duplicate id 'a'"):
        read_taxonomy(p)
    assert isinstance(TaxonomyError("x"), ValueError)


def test_catalogue_duplicate_missing_date_unknown_topic(tmp_path, tiny_dir):
    tax = read_taxonomy(tiny_dir / "taxonomy.json")
    p = write_jsonl(tmp_path / "g1.jsonl", GUIDELINES + [GUIDELINES[0]])
    with pytest.raises(CatalogueError, match=r"g1.jsonl:4 \[id\]: duplicate guideline id 'G-1'"):
        read_guidelines(p, tax)
    p = write_jsonl(tmp_path / "g2.jsonl", [dict(GUIDELINES[0], published=None)])
    with pytest.raises(CatalogueError, match=r"G-1 has no 'published'"):
        read_guidelines(p, tax)
    p = write_jsonl(tmp_path / "g3.jsonl", [dict(GUIDELINES[0], topics=["nope"])])
    with pytest.raises(CatalogueError, match=r"unknown topic 'nope'; valid topics: uusi, vahvistus, vaara"):
        read_guidelines(p, tax)


def test_nul_padding_after_a_crash_is_no_record(tmp_path):
    from classifier.io import iter_table

    (tmp_path / "r.jsonl").write_bytes(json.dumps(ROWS[0]).encode() + b"\n\x00\x00\x00\n\x00")
    (tmp_path / "r.csv").write_bytes(b"id,text\n1,a\n\x00\x00\n")
    assert [(no, p) for no, _, p, _ in iter_table(tmp_path / "r.jsonl")] == [(1, None)]
    assert [(no, p) for no, _, p, _ in iter_table(tmp_path / "r.csv")] == [(2, None)]
