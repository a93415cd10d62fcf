"""Batch labelling: one row per record, formats, resume after a crash, parallel and Dask paths."""

import json

import pytest

from classifier.label import label_inputs

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


def test_dataset_labeler_gives_label_rows_fields(tiny_model_dir, tiny_dir, tmp_path):
    """The library path (load_dataset + label_dataset) and `label` on the same file give the same fields and values."""
    from classifier.io import load_dataset
    from classifier.label import PREDICTED_COLUMNS, _Writer, label_dataset

    texts = [t for ts in TINY_TEXTS.values() for t in ts] + ["   "]
    f = tmp_path / "r.jsonl"
    f.write_text("".join(json.dumps({"id": str(i), "sent_at": "2016-05-01T10:00:00+03:00", "text": t}) + "\n"
                         for i, t in enumerate(texts)), encoding="utf-8")
    gl = tiny_dir / "guidelines.jsonl"
    label_inputs([f], tmp_path / "o.jsonl", tiny_model_dir, gl)
    rows = [_Writer.flat(json.loads(x)) for x in (tmp_path / "o.jsonl").read_text(encoding="utf-8").splitlines()]
    # batches of 5: the last batch's rows have no later guideline and no text, and the columns keep their types
    out = label_dataset(load_dataset(f), tiny_model_dir, gl, batch_size=5, load_from_cache_file=False)
    assert out.num_rows == len(texts)
    assert {"predicted.coverage_probability", "predicted.avoidable_probability"} <= set(PREDICTED_COLUMNS)
    for r, d in zip(rows[:-1], out):
        assert d["sent_at"] == "2016-05-01T10:00:00+03:00" == r["sent_at"]
        assert d["status"] == r["status"]
        for c in PREDICTED_COLUMNS:
            assert d[c] == r.get(c), (c, d[c], r.get(c))
    # a blank text: `label` reports the record's empty field as an error; a dataset row is not assessed either
    assert rows[-1]["status"] == "error" and out[-1]["status"] == "no_text" and out[-1]["predicted.topic"] is None
    assert out[0]["predicted.topic"] == "uusi"
    assert out[0]["predicted.avoidable_probability"] is not None


def test_model_in_other_taxonomy_skips_matching_with_one_warning(records, tmp_path, tiny_model_dir):
    from .conftest import CORPUS

    path, n = records
    s = label_inputs([path], tmp_path / "o.jsonl", tiny_model_dir, CORPUS / "guidelines.jsonl")
    assert len(s.warnings) == 1 and "skipped" in s.warnings[0]
    rows = [json.loads(l) for l in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert len(rows) == n and all(r["predicted"]["guideline_id"] is None for r in rows if r["status"] == "ok")


# --------------------------------------------------------------------------- issue 15: nothing lost, nothing leaked

import csv as _csv
from pathlib import Path

from classifier.errors import OutputError, TukipyyntoError

PLANTED = ["131052-308T", "040 123 4567", "0401234567", "matti.meikalainen@example.fi", "FI21 1234 5600 0007 85",
           "FI2112345600000785"]
MBOX_SEP = "From jonna@ap.example Mon Sep  5 10:12:00 2016\n"


def _colliding_inputs(d: Path) -> list[Path]:
    """Two JSONL files and a CSV, each with ids 1-3, and an mbox whose messages have one empty Message-ID."""
    texts = [t for ts in TINY_TEXTS.values() for t in ts]
    paths = []
    for f in range(2):
        paths.append(write_jsonl(d / f"part{f}.jsonl", [
            {"id": str(i), "text": texts[f * 3 + i - 1] + f"\nrivi kaksi {f}", "sent_at": f"2016-05-0{i}T10:00:00+03:00"}
            for i in (1, 2, 3)]))
    with open(d / "part2.csv", "w", newline="", encoding="utf-8") as fh:
        w = _csv.writer(fh)
        w.writerow(["id", "text", "sent_at"])
        for i in (1, 2, 3):
            w.writerow([str(i), texts[9 + i] + '\n"lainaus", toinen rivi', "2016-05-0%dT10:00:00+03:00" % i])
    msgs = ""
    for i in range(3):
        msgs += (MBOX_SEP + f"From: a@b.example\nSubject: Asia {i}\nDate: Mon, 5 Sep 2016 10:1{i}:00 +0300\n"
                 f"Message-ID: <>\n\n{texts[14 + i]}\n\n")
    (d / "part3.mbox").write_text(msgs, encoding="utf-8")
    return paths + [d / "part2.csv", d / "part3.mbox"]


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_resume_after_cuts_anywhere_equals_an_uninterrupted_run(tmp_path, tiny_model_dir, tiny_dir, suffix):
    inputs = _colliding_inputs(tmp_path)
    gl = tiny_dir / "guidelines.jsonl"
    full_path = tmp_path / f"full.{suffix}"
    s = label_inputs(inputs, full_path, tiny_model_dir, gl, with_text=True, batch_size=2)
    full = full_path.read_bytes()
    assert s.contacts == 12 and s.messages == 12  # three files of colliding ids and three empty Message-IDs
    out = tmp_path / f"cut.{suffix}"
    for cut in sorted({*range(0, len(full), max(1, len(full) // 40)), len(full) - 1, len(full)}):
        out.write_bytes(full[:cut])
        label_inputs(inputs, out, tiny_model_dir, gl, with_text=True, batch_size=2, resume=True)
        assert out.read_bytes() == full, f"resume after a cut at byte {cut} differs"


def test_issue_example_six_records_two_files_cut_after_four_rows(tmp_path, tiny_model_dir, tiny_dir):
    inputs = _colliding_inputs(tmp_path)[:2]
    out = tmp_path / "o.jsonl"
    label_inputs(inputs, out, tiny_model_dir, tiny_dir / "guidelines.jsonl")
    rows = out.read_text().splitlines()
    out.write_text("\n".join(rows[:4]) + "\n")
    s = label_inputs(inputs, out, tiny_model_dir, tiny_dir / "guidelines.jsonl", resume=True)
    assert s.skipped_resumed == 4 and out.read_text().splitlines() == rows


def test_existing_output_is_refused_without_resume_or_overwrite(records, tmp_path, tiny_model_dir, tiny_dir):
    path, n = records
    out = tmp_path / "o.jsonl"
    _label(path, out, tiny_model_dir, tiny_dir)
    before = out.read_text()
    with pytest.raises(OutputError, match="already exists.*--resume.*--overwrite"):
        _label(path, out, tiny_model_dir, tiny_dir)
    assert out.read_text() == before
    _label(path, out, tiny_model_dir, tiny_dir, overwrite=True)
    assert len(out.read_text().splitlines()) == n
    with pytest.raises(TukipyyntoError, match="contradict"):
        _label(path, out, tiny_model_dir, tiny_dir, overwrite=True, resume=True)


@pytest.mark.parametrize("bad", ["/proc/x.jsonl", "FILE/x.jsonl", "/proc/x.parquet"])
def test_unwritable_output_is_a_named_error(records, tmp_path, tiny_model_dir, tiny_dir, bad):
    path, _ = records
    (tmp_path / "FILE").write_text("a file, not a folder")
    out = bad.replace("FILE", str(tmp_path / "FILE"))
    with pytest.raises(OutputError, match=r"cannot write the output") as e:
        _label(path, out, tiny_model_dir, tiny_dir)
    assert isinstance(e.value, OSError) and out in str(e.value)


def _planted_inputs(d: Path) -> list[Path]:
    """Personal data in every field that is not text: ids, subject, channel, timestamps, extra columns, Message-IDs."""
    write_jsonl(d / "p.jsonl", [
        {"id": "matti.meikalainen@example.fi", "text": "Asiakas muuttaa ja tarvitsee uuden sopimuksen", "channel": "040 123 4567",
         "subject": "Soita 0401234567", "sent_at": "2016-05-01T10:00:00+03:00", "asiakas": "hetu 131052-308T"},
        {"id": "FI21 1234 5600 0007 85", "text": "Lähettäkää sopimusvahvistus uudelleen", "sent_at": "131052-308T"},
        {"id": "x3", "text": ["lista", "131052-308T"]},
        {"id": "x4", "channel": "email", "muistiinpano": "FI2112345600000785"},
    ])
    (d / "x.csv").write_text('id,message,date\n1,"Asiakkaan hetu 131052-308T ja puh 040 123 4567 haluaa irtisanoa",1.9.2016\n'
                             '2,,"matti.meikalainen@example.fi"\n', encoding="utf-8")
    (d / "m.mbox").write_text(
        MBOX_SEP + "From: Matti <matti.meikalainen@example.fi>\nSubject: Puh 040 123 4567\n"
        "Date: Mon, 5 Sep 2016 10:12:00 +0300\nMessage-ID: <matti.meikalainen@example.fi>\n\n"
        "Asiakas haluaa uuden sopimuksen, hetu 131052-308T.\n\n", encoding="utf-8")
    return [d / "p.jsonl", d / "x.csv", d / "m.mbox"]


def _assert_no_planted(files):
    for f in files:
        data = Path(f).read_bytes().decode("utf-8", "replace")
        for p in PLANTED:
            assert p not in data, f"{p!r} leaked into {f}"


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_no_personal_data_in_any_field_of_rows_or_report(tmp_path, tiny_model_dir, tiny_dir, suffix):
    from classifier.cli import main
    from click.testing import CliRunner

    inputs = _planted_inputs(tmp_path)
    out = tmp_path / f"o.{suffix}"
    r = CliRunner().invoke(main, ["label", *map(str, inputs), "--out", str(out), "--model", str(tiny_model_dir),
                                  "--guidelines", str(tiny_dir / "guidelines.jsonl")])
    assert r.exit_code == 0, r.output
    _assert_no_planted([out])
    assert "131052-308T" not in r.output and "040 123 4567" not in r.output
    from classifier.report import read_labelled

    rows = read_labelled([out])
    assert len(rows) == 7
    ids = [r["id"] for r in rows]
    assert ids[0].startswith("h-") and ids[1].startswith("h-") and ids[-1].startswith("h-") and "x3" in ids
    rep = CliRunner().invoke(main, ["report", str(out), "--out", str(tmp_path / "rep"), "--taxonomy",
                                    str(tiny_dir / "taxonomy.json"), "--guidelines", str(tiny_dir / "guidelines.jsonl")])
    assert rep.exit_code == 0, rep.output
    _assert_no_planted(p for p in (tmp_path / "rep").rglob("*") if p.is_file())


def test_hashed_ids_are_stable_and_keyed(tmp_path, tiny_model_dir, tiny_dir, monkeypatch):
    inputs = _planted_inputs(tmp_path)[:1]
    gl = tiny_dir / "guidelines.jsonl"
    ids = []
    for i, key in enumerate(["k1", "k1", "k2"]):
        monkeypatch.setenv("TUKIPYYNTO_ID_KEY", key)
        label_inputs(inputs, tmp_path / f"o{i}.jsonl", tiny_model_dir, gl)
        ids.append(json.loads((tmp_path / f"o{i}.jsonl").read_text().splitlines()[0])["id"])
    assert ids[0] == ids[1] != ids[2]


def test_request_without_text_gets_no_topic_and_no_avoidable_decision(tmp_path, tiny_model_dir, tiny_dir):
    mb = tmp_path / "e.mbox"
    mb.write_text(MBOX_SEP + "From: a@b.example\nSubject: \nDate: Mon, 5 Sep 2016 10:12:00 +0300\nMessage-ID: <e1@b>\n"
                  "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"X\"\n\n--X\nContent-Type: text/plain\n\n\n--X--\n\n",
                  encoding="utf-8")
    s = label_inputs([mb], tmp_path / "o.jsonl", tiny_model_dir, tiny_dir / "guidelines.jsonl")
    (row,) = [json.loads(l) for l in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert row["status"] == "no_text" and row["predicted"] is None and "empty_text" in row["flags"]
    assert s.no_text == 1 and s.labelled == 0 and not s.all_failed


def test_an_id_and_a_signature_alone_are_no_text(tmp_path, tiny_model_dir, tiny_dir):
    src = tmp_path / "notes.jsonl"
    src.write_text(json.dumps({"id": "1", "text": "asnro 4410233 -- Sanna V. Palveluneuvoja"}) + "\n"
                   + json.dumps({"id": "2", "text": "Lähettäkää vahvistus uudelleen, asnro 4410233 -- Sanna V."}) + "\n",
                   encoding="utf-8")
    s = label_inputs([src], tmp_path / "o.jsonl", tiny_model_dir, tiny_dir / "guidelines.jsonl")
    empty, real = [json.loads(l) for l in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert empty["status"] == "no_text" and empty["predicted"] is None and "empty_text" in empty["flags"]
    assert real["status"] == "ok" and real["predicted"]["topic"] == "vahvistus"
    assert (s.no_text, s.labelled) == (1, 1)


def test_broken_boundary_is_labelled_from_the_raw_body(tmp_path, tiny_model_dir, tiny_dir):
    mb = tmp_path / "b.mbox"
    mb.write_text(MBOX_SEP + "From: a@b.example\nSubject: Vahvistus\nDate: Mon, 5 Sep 2016 10:12:00 +0300\nMessage-ID: <b1@b>\n"
                  "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"PUUTTUU\"\n\n--MUU\n"
                  "Content-Type: text/plain\n\nLähettäkää sopimusvahvistus uudelleen asiakkaalle\n--MUU--\n\n", encoding="utf-8")
    label_inputs([mb], tmp_path / "o.jsonl", tiny_model_dir, tiny_dir / "guidelines.jsonl", with_text=True)
    (row,) = [json.loads(l) for l in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert row["status"] == "ok" and "sopimusvahvistus" in row["text"] and "boundary_not_found" in row["flags"]
    assert row["predicted"]["topic"] == "vahvistus"


# --------------------------------------------------------------------------- property: accounted for, resumable, redacted

import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

_TEXTS = [t for ts in TINY_TEXTS.values() for t in ts]
_IDS = ["1", "2", "3", "matti.meikalainen@example.fi", "FI21 1234 5600 0007 85"]
_PLANTS = ["131052-308T", "040 123 4567", "matti.meikalainen@example.fi", "FI21 1234 5600 0007 85"]
_TEXT_DAMAGE = ["none", "nul", "html", "mojibake", "caps", "glued", "plant"]

_record = st.fixed_dictionaries({
    "id": st.sampled_from(_IDS), "text": st.sampled_from(_TEXTS), "damage": st.sampled_from(_TEXT_DAMAGE),
    "plant": st.sampled_from(_PLANTS), "field": st.sampled_from(["text", "id", "date", "channel", "extra", "missing_text"]),
})


def _damaged_text(r) -> str:
    t, d = r["text"], r["damage"]
    if d == "nul":
        t = t[:5] + "\x00" + t[5:]
    elif d == "html":
        t = "<div>" + t.replace(" ", "&nbsp;", 1) + "<br></div>"
    elif d == "mojibake":
        t = t.encode("utf-8").decode("latin-1")
    elif d == "caps":
        t = t.upper()
    elif d == "glued":
        t = t.replace(" ", ".", 1)
    if r["field"] == "text" or d == "plant":
        t += f" tunnus {r['plant']} kiitos"
    return t


def _fields(r) -> dict:
    row = {"id": r["id"], "text": _damaged_text(r), "sent_at": "2016-05-02T10:00:00+03:00", "channel": "email", "note": "x"}
    if r["field"] == "date":
        row["sent_at"] = r["plant"]
    elif r["field"] == "channel":
        row["channel"] = r["plant"]
    elif r["field"] == "extra":
        row["note"] = "soita " + r["plant"]
    elif r["field"] == "missing_text":
        row["text"] = ""
    return row


def _junk(data: bytes, junk: list) -> bytes:
    """Bytes inserted at drawn places (never a newline or a quote: they would change what a record is)."""
    for frac, b in junk:
        at = int(frac * (len(data) - 1))  # before the last newline: a junk line of its own would be a record
        data = data[:at] + bytes([b]) + data[at:]
    return data


def _write_input(d: Path, i: int, kind: str, recs: list, variant: int, junk: list = ()) -> Path:
    if kind == "jsonl":
        lines = []
        for j, r in enumerate(recs):
            row = _fields(r)
            if variant == 1 and j == 0:
                lines.append('{"id": "rikki", "text": "' + r["plant"] + '" ')  # a torn line
                continue
            if variant == 2 and j == 0:
                row["text"] = [row["text"]]
            lines.append(json.dumps(row, ensure_ascii=False))
        data = "\n".join(lines) + "\n"
        p = d / f"in{i}.jsonl"
        p.write_bytes(_junk(data.encode("cp1252", "replace") if variant == 3 else data.encode("utf-8"), junk))
        return p
    if kind == "csv":
        delim = ";" if variant in (1, 3) else ","
        import io as _io

        buf = _io.StringIO()
        w = _csv.writer(buf, delimiter=delim)
        w.writerow(["id", "message" if variant == 2 else "text", "sent_at", "channel", "note"])
        for r in recs:
            row = _fields(r)
            w.writerow([row["id"], row["text"], row["sent_at"], row["channel"], row["note"]])
        p = d / f"in{i}.csv"
        p.write_bytes((b"\xef\xbb\xbf" if variant == 3 else b"")
                      + _junk(buf.getvalue().encode("cp1252" if variant >= 1 else "utf-8", "replace"), junk))
        return p
    out = ""
    for j, r in enumerate(recs):
        row = _fields(r)
        mid = ["<>", "<dup@x.example>", f"<{r['plant']}>", f"<u{i}.{j}@x.example>"][(j + variant) % 4]
        date = "Mon, 5 Sep 2016 10:%02d:00 +0300" % j if r["field"] != "date" else row["sent_at"]
        body = _junk(row["text"].replace(chr(0), "").encode("utf-8"), junk).decode("utf-8", "surrogateescape")
        out += (MBOX_SEP + f"From: a@x.example\nSubject: Asia {j} {row['note']}\nDate: {date}\nMessage-ID: {mid}\n\n"
                f"{body}\n\n")
    p = d / f"in{i}.mbox"
    data = out.encode("utf-8", "surrogateescape")
    if variant == 3:
        data = data[: len(data) - max(1, len(_fields(recs[-1])["text"]) // 2)]  # the last message cut short
    p.write_bytes(data)
    return p


_JUNK = st.lists(st.tuples(st.floats(0, 1), st.sampled_from([0x00, 0x80, 0xC3, 0xFF, 0x1B, 0x7B, 0x2C, 0x3B, 0x3C])),
                 max_size=3)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(files=st.lists(st.tuples(st.sampled_from(["jsonl", "csv", "mbox"]), st.lists(_record, min_size=1, max_size=5),
                                st.integers(0, 3), _JUNK), min_size=1, max_size=3),
       out_fmt=st.sampled_from(["jsonl", "csv"]), batch=st.integers(1, 4), cut=st.floats(0, 1), with_text=st.booleans())
def test_property_every_input_once_resume_equal_nothing_leaked(tiny_model_dir, tiny_dir, files, out_fmt, batch, cut, with_text):
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        inputs = [_write_input(d, i, kind, recs, variant, junk) for i, (kind, recs, variant, junk) in enumerate(files)]
        expected = sum(len(recs) for _, recs, _, _ in files)
        gl = tiny_dir / "guidelines.jsonl"
        full = d / f"full.{out_fmt}"
        s = label_inputs(inputs, full, tiny_model_dir, gl, with_text=with_text, batch_size=batch)
        from classifier.report import read_labelled

        rows = read_labelled([full])
        # every input record or message accounted for exactly once
        assert s.messages == expected == sum(int(r["n_messages"]) for r in rows)
        assert len(rows) == s.contacts == s.labelled + s.errors + s.no_text
        assert len({r["key"] for r in rows}) == len(rows)
        _assert_no_planted([full])
        # resume after a cut anywhere equals the uninterrupted run
        data = full.read_bytes()
        part = d / f"part.{out_fmt}"
        part.write_bytes(data[: int(cut * len(data))])
        label_inputs(inputs, part, tiny_model_dir, gl, with_text=with_text, batch_size=batch, resume=True)
        assert part.read_bytes() == data


@pytest.mark.parametrize("suffix", ["jsonl", "csv", "parquet"])
def test_repair_flags_reach_every_output_format(tmp_path, tiny_model_dir, tiny_dir, suffix):
    from classifier.report import read_labelled

    p = write_jsonl(tmp_path / "in.jsonl", [{"id": "1", "text": "<p>Asiakas muuttaa&nbsp;ja tarvitsee uuden sopimuksen</p>"}])
    label_inputs([p], tmp_path / f"o.{suffix}", tiny_model_dir, tiny_dir / "guidelines.jsonl")
    (row,) = read_labelled([tmp_path / f"o.{suffix}"])
    flags = row["flags"] if isinstance(row["flags"], list) else json.loads(row["flags"])
    assert "html_removed" in flags and row["key"]


def test_resume_recognises_the_same_file_named_differently(tmp_path, tiny_model_dir, tiny_dir, monkeypatch):
    inputs = _colliding_inputs(tmp_path)[:2]
    out = tmp_path / "o.jsonl"
    label_inputs(inputs, out, tiny_model_dir, tiny_dir / "guidelines.jsonl")
    monkeypatch.chdir(tmp_path)
    s = label_inputs([p.name for p in inputs], out, tiny_model_dir, tiny_dir / "guidelines.jsonl", resume=True)
    assert s.skipped_resumed == 6 and len(out.read_text().splitlines()) == 6


# --------------------------------------------------------------------------- label_inputs's steps, one at a time

import inspect
from types import SimpleNamespace

from classifier.label import _assess, _close, _plan, _read, _service_fields, _write, _Writer, contact_key


def _plan_of(inputs, out, **kw):
    """A run planned from label_inputs's own defaults and the given options."""
    args = inspect.signature(label_inputs).bind(inputs, out, **kw)
    args.apply_defaults()
    return _plan(*args.args)


def _three_records(tmp_path):
    return write_jsonl(tmp_path / "three.jsonl", [
        {"id": "r1", "text": "Asiakas 131052-308T muuttaa", "sent_at": "2016-05-02T10:00:00+03:00"},
        {"id": "r2", "text": "Lähettäkää vahvistus matti.meikalainen@example.fi", "sent_at": "2016-05-03T10:00:00+03:00"},
        {"id": "r3", "text": "Lasku on liian suuri", "sent_at": "2016-05-04T10:00:00+03:00"}])


def test_plan_checks_and_decides_but_opens_nothing(tmp_path):
    run = _plan_of([tmp_path / "in.jsonl"], tmp_path / "sub" / "o.csv", jobs=2, guidelines=False, model_dir=tmp_path)
    assert run.fmt == "csv" and run.parallel and run.model_dir == str(tmp_path) and run.guidelines is False
    assert run.writer is None and run.assessor is None and run.pool is None and run.done == set()
    assert not (tmp_path / "sub").exists()
    assert not _plan_of([], tmp_path / "o.jsonl").parallel
    with pytest.raises(TukipyyntoError, match="unknown output format"):
        _plan_of([], tmp_path / "o.jsonl", fmt="xml")


def test_read_and_service_fields_count_every_contact_and_skip_resumed_ones(tmp_path):
    path = _three_records(tmp_path)
    first = next(iter(_read(_plan_of([path], tmp_path / "x.jsonl"))))
    (tmp_path / "o.jsonl").write_text(json.dumps({"key": contact_key(first)}) + "\n", encoding="utf-8")
    run = _plan_of([path], tmp_path / "o.jsonl", resume=True)
    assert run.done == {contact_key(first)}
    todo = list(_service_fields(run, _read(run)))
    assert [c.id for c in todo] == ["r2", "r3"]
    assert (run.summary.contacts, run.summary.skipped_resumed) == (3, 1)
    assert all(c.thread == () and "first_reply_at" in c.service for c in todo)


def test_assess_batches_contacts_into_redacted_rows_with_any_assessor(tmp_path):
    class Echo:
        def assess(self, reqs):
            return [SimpleNamespace(to_dict=lambda r=r: {"topic": "uusi", "n_chars": len(r.text)}) for r in reqs]

    run = _plan_of([_three_records(tmp_path)], tmp_path / "o.jsonl", batch_size=2, with_text=True)
    run.assessor = Echo()
    batches = list(_assess(run, _read(run)))
    assert [len(b) for b in batches] == [2, 1]
    rows = [r for b in batches for r in b]
    assert [r["predicted"]["topic"] for r in rows] == ["uusi"] * 3
    assert "131052-308T" not in rows[0]["text"] and "matti.meikalainen" not in rows[1]["text"]
    # the assessor sees the text before redaction: the row's text is the redacted one
    assert rows[0]["predicted"]["n_chars"] == len("Asiakas 131052-308T muuttaa")


def test_write_counts_rows_by_status_and_close_redacts_the_notes(tmp_path):
    seen = []
    run = _plan_of([], tmp_path / "o.jsonl", progress=seen.append)
    run.writer = _Writer(run.out, run.fmt, append=False)
    _write(run, [{"key": "a", "status": "ok"}, {"key": "b", "status": "no_text"}, {"key": "c", "status": "error"}])
    _write(run, [{"key": "d", "status": "ok"}])
    run.notes += ["luettu: matti.meikalainen@example.fi", "luettu: matti.meikalainen@example.fi"]
    _close(run)
    s = run.summary
    assert (s.labelled, s.no_text, s.errors, seen) == (2, 1, 1, [3, 4])
    assert [json.loads(l)["key"] for l in run.out.read_text().splitlines()] == ["a", "b", "c", "d"]
    assert len(s.notes) == 1 and "matti.meikalainen" not in s.notes[0]
    assert run.writer.fh.closed


def test_service_section_from_csv_rows(tmp_path):
    """The label CSV carries the service fields as text: the section reads them back alike."""

    from classifier.report import build_report, read_labelled

    from .test_service import _service_rows, _tax

    w = _Writer(tmp_path / "l.csv", "csv", append=False)
    w.write(_service_rows())
    w.close()
    rows = read_labelled(tmp_path / "l.csv")
    a, b = build_report(rows, _tax()), build_report(_service_rows(), _tax())
    assert a.service_response_by_topic == b.service_response_by_topic and a.service_quality == b.service_quality
    assert a.service_repeats == b.service_repeats

def test_csv_and_parquet_rows_carry_the_probabilities(records, tmp_path, tiny_model_dir, tiny_dir):
    """The report reads the same estimate from `label`'s CSV and Parquet output as from its JSONL."""
    from classifier.report import read_labelled

    path, n = records
    got = {}
    for fmt in ("jsonl", "csv", "parquet"):
        label_inputs([path], tmp_path / f"o.{fmt}", tiny_model_dir, tiny_dir / "guidelines.jsonl")
        got[fmt] = [(r["predicted"] or {}) for r in read_labelled([tmp_path / f"o.{fmt}"])]
    for fmt in ("csv", "parquet"):
        for a, b in zip(got["jsonl"], got[fmt]):
            for k in ("status", "coverage_probability", "avoidable_probability", "assessed_on"):
                x, y = a.get(k), b.get(k)
                assert (float(x) == pytest.approx(float(y))) if isinstance(x, float) else (x == y or str(x) == str(y)), (fmt, k, x, y)
    assert any(p.get("avoidable_probability") is not None for p in got["csv"])


def test_resuming_a_csv_of_other_columns_is_refused(records, tmp_path, tiny_model_dir, tiny_dir):
    from classifier.errors import OutputError

    path, _ = records
    out = tmp_path / "o.csv"
    out.write_text("id,key,status\n1,abc,ok\n", encoding="utf-8")
    with pytest.raises(OutputError, match="columns differ"):
        label_inputs([path], out, tiny_model_dir, tiny_dir / "guidelines.jsonl", resume=True)


# ---------------------------------------------------------------------------------------------
# texts for the review page: in a private store, not in the rows, unless asked for


def test_texts_go_to_the_private_store_not_the_rows(records, tmp_path, tiny_model_dir, tiny_dir, monkeypatch):
    import os
    import stat

    from classifier.textstore import read_texts, store_dir, store_ref

    monkeypatch.setenv("TUKIPYYNTO_TEXT_STORE", str(tmp_path / "store"))
    path, n = records
    for suffix in ("jsonl", "csv"):
        out = tmp_path / f"o.{suffix}"
        _label(path, out, tiny_model_dir, tiny_dir, text_store=True)
        raw = out.read_text(encoding="utf-8")
        assert "muuttaa" not in raw and "Lähettäkää" not in raw           # no request text in the shared output
        from classifier.report import read_labelled

        rows = read_labelled([out])
        ok = [r for r in rows if r["status"] == "ok"]
        assert all(r.get("text_ref") == store_ref(out) and not r.get("text") for r in ok)
        texts = read_texts([store_ref(out)])
        assert len(texts) == len(ok) and all("[ASIAKASNRO]" in texts[r["key"]] for r in ok)
        assert not any("12345" in t for t in texts.values())             # redacted before it is stored
    folder = store_dir()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(os.stat(p).st_mode) == 0o600 for p in folder.iterdir())
    # with --with-text the rows carry the text and nothing is stored for them
    _label(path, tmp_path / "w.jsonl", tiny_model_dir, tiny_dir, with_text=True, text_store=True)
    assert not read_texts([store_ref(tmp_path / "w.jsonl")])
    # labelling to the same output again replaces its texts, a resume adds to them
    _label(path, tmp_path / "o.jsonl", tiny_model_dir, tiny_dir, text_store=True, overwrite=True)
    assert len((folder / f"{store_ref(tmp_path / 'o.jsonl')}.jsonl").read_text().splitlines()) == n - 1


def test_workers_that_embed_get_small_batches():
    from types import SimpleNamespace

    from classifier.label import SEMANTIC_PARALLEL_BATCH, _batch_size

    run = lambda **kw: SimpleNamespace(**{"semantic": None, "parallel": False, "batch_size": 1000, **kw})  # noqa: E731
    assert _batch_size(run()) == 1000                                      # lexical: the run's batches
    assert _batch_size(run(semantic="cascade")) == 1000                    # one process: nothing to balance
    assert _batch_size(run(semantic="all", parallel=True)) == SEMANTIC_PARALLEL_BATCH < 1000
    assert _batch_size(run(semantic="cascade", parallel=True, batch_size=50)) == 50   # a smaller one is kept
