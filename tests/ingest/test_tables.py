"""JSONL / CSV / Parquet records (classifier.ingest.tables)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from classifier.errors import IngestError
from classifier.ingest import (
    iter_contacts,
    summarise,
)
from classifier.records import HELSINKI

from .helpers import CORPUS, ROWS, SEP, T0, TZ, mail, one, raw_mail, write_csv, write_mbox  # noqa: F401


# --------------------------------------------------------------------------- tables


def test_jsonl_csv_parquet_give_the_same_contacts(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "r.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS), encoding="utf-8")
    write_csv(tmp_path / "r.csv", ROWS)
    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "r.parquet")
    got = {ext: list(iter_contacts([tmp_path / f"r.{ext}"])) for ext in ("jsonl", "csv", "parquet")}
    j = got["jsonl"]
    assert [c.id for c in j] == ["r1", "r2"] and j[0].channel == "phone"
    assert j[0].sent_at == dt.datetime(2016, 9, 5, 10, 12, tzinfo=TZ) and j[0].text == ROWS[0]["text"]
    assert j[0].extra == {"topic": "sahkoiset_palvelut", "guideline_id": "G-1", "avoidable": True}
    assert j[0].to_request_dict()["topic"] == "sahkoiset_palvelut"
    for ext in ("csv", "parquet"):
        assert [(c.id, c.channel, c.sent_at, c.subject, c.text) for c in got[ext]] == \
               [(c.id, c.channel, c.sent_at, c.subject, c.text) for c in j]
    assert got["parquet"][0].extra == j[0].extra
    assert got["csv"][0].extra["avoidable"] == "True"  # CSV cells pass through untouched
    json.dumps([c.to_dict() for c in got["parquet"]])


def test_minimal_records_and_stable_ids(tmp_path):
    p = tmp_path / "min.jsonl"
    p.write_text('{"id": 7, "text": "Pelkkä teksti."}\n{"text": "Ei id:tä."}\n', encoding="utf-8")
    a = list(iter_contacts([p]))
    b = list(iter_contacts([p]))
    assert a[0].id == "7" and a[0].channel is None and a[0].sent_at is None and "no_date" in a[0].flags
    assert re.fullmatch(r"[0-9a-f]{16}", a[1].id) and [c.id for c in a] == [c.id for c in b]
    assert a[1].position == 1 and a[1].source == str(p)


def test_bad_rows_become_error_contacts(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text(
        json.dumps({"id": "a", "text": "Hyvä."}) + "\n"
        + json.dumps({"id": "b"}) + "\n"
        + json.dumps({"id": "c", "text": "x", "sent_at": "eilen"}) + "\n"
        + "{not json\n"
        + "\n"
        + "[1, 2]\n"
        + json.dumps({"id": "d", "text": "   "}) + "\n"
        + json.dumps({"id": "e", "text": "Vielä luetaan."}) + "\n",
        encoding="utf-8",
    )
    cs = list(iter_contacts([p]))
    assert [c.id for c in cs if not c.error] == ["a", "e"]
    errors = [c.error for c in cs if c.error]
    assert errors == [
        f"{p}:2 [text]: record b has no 'text' field",
        f"{p}:3 [sent_at]: record c: bad timestamp 'eilen', expected ISO 8601 such as 2016-09-05T10:12:00+03:00",
        f"{p}:4: not valid JSON (Expecting property name enclosed in double quotes at column 2)",
        f"{p}:6: expected a JSON object, found list",
        f"{p}:7 [text]: record d has an empty 'text'",
    ]
    assert summarise(cs).messages == 7 and summarise(cs).errors == 5


def test_csv_column_map_and_phone_notes(tmp_path):
    rows = [{"tunnus": "p1", "kanava": "puhelin", "pvm": "2016-09-05 10:12", "viesti": "Asiakas kysyi hinnasta.",
             "text": "vanha sarake", "aihe": "hinta"},
            {"tunnus": "p2", "kanava": "phone", "pvm": "5.9.2016", "viesti": "Toinen.", "text": "", "aihe": ""}]
    p = write_csv(tmp_path / "puhelut.csv", rows)
    cmap = {"tunnus": "id", "kanava": "channel", "pvm": "sent_at", "viesti": "text"}
    cs = list(iter_contacts([p], column_map=cmap))
    assert cs[0].id == "p1" and cs[0].channel == "phone" and cs[0].text == "Asiakas kysyi hinnasta."
    assert cs[0].sent_at == dt.datetime(2016, 9, 5, 10, 12, tzinfo=HELSINKI)
    assert cs[0].extra == {"text": "vanha sarake", "aihe": "hinta"}
    assert cs[1].error == (f"{p}:3 [pvm]: record p2: bad timestamp '5.9.2016', "
                           "expected ISO 8601 such as 2016-09-05T10:12:00+03:00")
    with pytest.raises(IngestError, match="'viesti' maps to 'body'"):
        iter_contacts([p], column_map={"viesti": "body"})


def test_windows_encoded_csv_and_bom_jsonl(tmp_path):
    p = tmp_path / "excel.csv"
    p.write_bytes("id,channel,text\n1,puhelin,Hyvää päivää – 5 €\n".encode("cp1252"))
    (c,) = iter_contacts([p])
    assert c.text == "Hyvää päivää – 5 €" and c.channel == "phone" and "charset_repaired" in c.flags
    j = tmp_path / "bom.jsonl"
    j.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": "x", "text": "Moi"}).encode() + b"\n"
                  + json.dumps({"id": "y", "text": "Hyvää"}, ensure_ascii=False).encode("latin-1") + b"\n")
    a, b = iter_contacts([j])
    assert (a.id, a.error, b.text, b.flags) == ("x", None, "Hyvää", ("charset_repaired", "no_date"))


def test_finnish_excel_csv_is_read_and_the_assumptions_named(tmp_path):
    # what Finnish Excel writes: ';'-separated, cp1252, a UTF-8 byte-order mark, a Finnish text column
    p = tmp_path / "excel.csv"
    p.write_bytes(b"\xef\xbb\xbf" + "viesti;pvm;kanava\n\"Hyvää päivää; sopimus – 5 €\";2016-09-05;puhelin\n".encode("cp1252"))
    notes: list[str] = []
    (c,) = iter_contacts([p], notes=notes)
    assert c.error is None and c.text == "Hyvää päivää; sopimus – 5 €"
    assert "charset_repaired" in c.flags and c.extra == {"pvm": "2016-09-05", "kanava": "puhelin"}
    said = " | ".join(notes)
    assert "';'-separated" in said and "cp1252" in said and "'viesti' read as the request text" in said


def test_bom_first_column_can_be_mapped(tmp_path):
    p = tmp_path / "bom.csv"
    p.write_bytes(b"\xef\xbb\xbf" + "sanoma,pvm\nAsiakas kysyy hinnasta – kiitos\n".encode("cp1252"))
    (c,) = iter_contacts([p], column_map={"sanoma": "text"})
    assert c.error is None and c.text == "Asiakas kysyy hinnasta – kiitos"


@pytest.mark.parametrize("col", ["message", "body", "viesti", "Kuvaus", "sisältö"])
def test_usual_text_columns_are_recognised(tmp_path, col):
    p = tmp_path / "t.csv"
    p.write_text(f"id,{col}\n1,Asiakas haluaa irtisanoa sopimuksen\n", encoding="utf-8")
    (c,) = iter_contacts([p])
    assert c.error is None and c.text == "Asiakas haluaa irtisanoa sopimuksen" and col not in c.extra


def test_multiline_csv_record_errors_cite_its_first_line(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text('id,text,sent_at\n1,"rivi yksi\nrivi kaksi\nrivi kolme",eilen\n2,ok,\n', encoding="utf-8")
    a, b = iter_contacts([p])
    assert a.error.startswith(f"{p}:2 [sent_at]") and b.error is None and b.position == 1


def test_json_error_says_at_once(tmp_path):
    p = tmp_path / "c.jsonl"
    p.write_bytes(b'{"id": "1", "text": "a\x01b"}\n')
    (c,) = iter_contacts([p])
    assert "not valid JSON" in c.error and "at at" not in c.error and "at column" in c.error


def test_nul_removed_and_wrong_types_refused(tmp_path):
    p = tmp_path / "t.jsonl"
    p.write_text(json.dumps({"id": "1", "text": "Asiakas\u0000 kysyy"}) + "\n"
                 + json.dumps({"id": "2", "text": ["Asiakas", "kysyy"]}) + "\n"
                 + json.dumps({"id": "3", "text": "Asiakas kysyy", "subject": {"a": 1}}) + "\n", encoding="utf-8")
    a, b, c = iter_contacts([p])
    assert a.text == "Asiakas kysyy" and "\x00" not in a.text and "control_chars_removed" in a.flags
    assert b.error.endswith("[text]: record 2: expected a string, found list")
    assert c.error.endswith("[subject]: record 3: expected a string, found dict")


def test_damaged_export_text_is_repaired_and_flagged(tmp_path):
    p = tmp_path / "t.jsonl"
    rows = [{"id": "h", "text": "<div>Asiakas haluaa p&auml;&auml;tt&auml;&auml; sopimuksen.<br>Kiitos</div>"},
            {"id": "m", "text": "Asiakkaan sÃ¤hkÃ¶sopimus pÃ¤Ã¤ttyy"},
            {"id": "c", "text": "ASIAKAS HALUAA IRTISANOA SOPIMUKSEN FI21 1234 5600 0007 85 HETI"},
            {"id": "s", "text": "Asiakas muuttaa.Tarvitaan uusi sopimus,kiitos"}]
    write = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    p.write_text(write, encoding="utf-8")
    h, m, c, s = iter_contacts([p])
    assert h.text == "Asiakas haluaa päättää sopimuksen.\nKiitos" and "html_removed" in h.flags
    assert m.text == "Asiakkaan sähkösopimus päättyy" and "mojibake_fixed" in m.flags
    assert c.text == "Asiakas haluaa irtisanoa sopimuksen FI21 1234 5600 0007 85 heti" and "caps_normalised" in c.flags
    assert s.text == "Asiakas muuttaa. Tarvitaan uusi sopimus, kiitos" and "spacing_fixed" in s.flags
