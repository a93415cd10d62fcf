import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from classifier.cli import main

from .conftest import TINY_TEXTS, write_jsonl

REPO = Path(__file__).resolve().parent.parent

COMMANDS = ["validate", "train", "evaluate", "label", "report", "analyse", "upgrade-model", "review", "trends",
            "export", "adapt"]


@pytest.mark.parametrize("cmd", COMMANDS)
def test_every_command_has_help(cmd):
    r = CliRunner().invoke(main, [cmd, "--help"])
    assert r.exit_code == 0, r.output
    assert "Usage:" in r.output


def test_installed_console_script_runs(tiny_dir):
    from pathlib import Path

    beside = Path(sys.executable).parent / "tukipyynto"
    exe = str(beside) if beside.exists() else shutil.which("tukipyynto")
    if exe is None:
        pytest.skip("tukipyynto is not installed as a console script")
    ok = subprocess.run([exe, "validate", str(tiny_dir)], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    write_jsonl(tiny_dir / "bad.jsonl", [{"id": "x", "text": "t", "topic": "nope"}])
    bad = subprocess.run([exe, "validate", str(tiny_dir)], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "unknown topic 'nope'" in bad.stdout
    mod = subprocess.run([sys.executable, "-m", "classifier", "--version"], capture_output=True, text=True, timeout=120)
    assert mod.returncode == 0 and "tukipyynto" in mod.stdout


def _tiny_corpus(tmp_path, label_field="topic", labels=None):
    rows = []
    names = labels or {k: k for k in TINY_TEXTS}
    for i, (lab, texts) in enumerate(TINY_TEXTS.items()):
        for j, t in enumerate(texts * 3):
            rows.append({"id": f"{lab}-{j}", "viesti": f"{t} ({j})", label_field: names[lab]})
    write_jsonl(tmp_path / "c.jsonl", rows)
    return tmp_path / "c.jsonl"


def test_train_and_evaluate_arbitrary_labels(tmp_path):
    labels = {"uusi": "science/technology", "vahvistus": "eurooppa-, kulttuuri- ja urheiluministeri", "vaara": "muu"}
    f = _tiny_corpus(tmp_path, "luokka", labels)
    r = CliRunner().invoke(main, ["train", str(f), "--text-field", "viesti", "--label-field", "luokka",
                                  "--out", str(tmp_path / "m")])
    assert r.exit_code == 0, r.output
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert sorted(meta["labels"]) == sorted(labels.values())
    r = CliRunner().invoke(main, ["evaluate", str(f), "--model", str(tmp_path / "m"), "--text-field", "viesti",
                                  "--label-field", "luokka", "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)
    assert set(res["topic"]["per_class"]) == set(labels.values())
    # the texts are separable: a model that learned nothing (one class for all) scores 1/3 at most
    assert res["topic"]["accuracy"] > 0.6 and res["topic"]["macro_f1"] > 0.5


def test_label_command_writes_one_row_per_record(tmp_path, tiny_model_dir, tiny_dir):
    rows = [{"id": "a", "text": "Asiakas muuttaa ja tarvitsee uuden sopimuksen osoitteeseen", "sent_at": "2016-05-01T10:00:00+03:00",
             "topic": "uusi"},
            {"id": "b", "text": "Soita 040 123 4567, lähetä vahvistus uudelleen asiakkaalle"},
            {"id": "c", "sent_at": "2016-05-01"}]
    write_jsonl(tmp_path / "in.jsonl", rows)
    r = CliRunner().invoke(main, ["label", str(tmp_path / "in.jsonl"), "--out", str(tmp_path / "out.jsonl"),
                                  "--model", str(tiny_model_dir), "--guidelines", str(tiny_dir / "guidelines.jsonl"),
                                  "--with-text"])
    assert r.exit_code == 0, r.output
    out = [json.loads(l) for l in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [o["id"] for o in out] == ["a", "b", "c"]
    assert out[0]["predicted"]["topic"] == "uusi" and out[0]["topic"] == "uusi"  # own label passes through
    assert out[0]["predicted"]["reason"] == "guideline_existed"
    assert "[PUHELIN]" in out[1]["text"] and "040" not in out[1]["text"]
    assert out[2]["status"] == "error" and "text" in out[2]["error"]


def test_upgrade_model_needs_trust_and_writes_the_safe_format(tiny_model_dir, tmp_path):
    import joblib
    from click.testing import CliRunner

    from classifier.cli import main
    from classifier.model import load, sha256_file

    from classifier.classify import TopicClassifier

    from .test_classify import X, y

    m = load(tiny_model_dir)
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    clf = TopicClassifier(cv=2).fit(X, y)
    expected = clf.predict_proba(["Pankki nosti korkoa", "Museo ja teatteri"])
    del clf.predictor_  # as pickled before predictions went through exported arrays
    joblib.dump(clf, legacy / "classifier.joblib")
    meta = dict(m.meta, format_version=1, artefacts={"classifier.joblib": sha256_file(legacy / "classifier.joblib")})
    (legacy / "model.json").write_text(json.dumps(meta))
    res = CliRunner().invoke(main, ["upgrade-model", str(legacy), "--out", str(tmp_path / "new")])
    assert res.exit_code == 1 and "--trust-pickle" in res.output and not (tmp_path / "new").exists()
    res = CliRunner().invoke(main, ["upgrade-model", str(legacy), "--out", str(tmp_path / "new"), "--trust-pickle"])
    assert res.exit_code == 0, res.output
    new = load(tmp_path / "new")
    assert abs(new.classifier.predict_proba(["Pankki nosti korkoa", "Museo ja teatteri"]) - expected).max() < 1e-6


def _label_cli(tmp_path, tiny_model_dir, tiny_dir, inputs, out, *extra):
    return CliRunner().invoke(main, ["label", *map(str, inputs), "--out", str(out), "--model", str(tiny_model_dir),
                                     "--guidelines", str(tiny_dir / "guidelines.jsonl"), *extra])


def test_label_refuses_existing_out_unless_resume_or_overwrite(tmp_path, tiny_model_dir, tiny_dir):
    write_jsonl(tmp_path / "a.jsonl", [{"id": str(i), "text": t} for i, t in enumerate(TINY_TEXTS["uusi"])])
    write_jsonl(tmp_path / "b.jsonl", [{"id": str(i), "text": t} for i, t in enumerate(TINY_TEXTS["vaara"][:3])])
    out = tmp_path / "o.jsonl"
    assert _label_cli(tmp_path, tiny_model_dir, tiny_dir, [tmp_path / "a.jsonl"], out).exit_code == 0
    r = _label_cli(tmp_path, tiny_model_dir, tiny_dir, [tmp_path / "b.jsonl"], out)
    assert r.exit_code == 1 and "already exists" in r.output and len(out.read_text().splitlines()) == 6
    r = _label_cli(tmp_path, tiny_model_dir, tiny_dir, [tmp_path / "b.jsonl"], out, "--overwrite")
    assert r.exit_code == 0 and len(out.read_text().splitlines()) == 3


@pytest.mark.parametrize("bad", ["/proc/x.jsonl", "ro/x.jsonl"])
def test_label_unwritable_out_is_an_error_not_a_traceback(tmp_path, tiny_model_dir, tiny_dir, bad):
    write_jsonl(tmp_path / "a.jsonl", [{"id": "1", "text": TINY_TEXTS["uusi"][0]}])
    (tmp_path / "ro").write_text("not a folder")
    out = bad.replace("ro/", str(tmp_path / "ro") + "/")
    r = _label_cli(tmp_path, tiny_model_dir, tiny_dir, [tmp_path / "a.jsonl"], out)
    assert r.exit_code == 1 and "Traceback" not in r.output and f"error: {out}: cannot write the output" in r.output
    assert not isinstance(r.exception, Exception) or isinstance(r.exception, SystemExit)


def test_label_exits_non_zero_when_every_record_failed(tmp_path, tiny_model_dir, tiny_dir):
    write_jsonl(tmp_path / "a.jsonl", [{"id": "1"}, {"id": "2", "text": ""}, {"id": "3", "text": "x", "sent_at": "eilen"}])
    r = _label_cli(tmp_path, tiny_model_dir, tiny_dir, [tmp_path / "a.jsonl"], tmp_path / "o.jsonl")
    assert r.exit_code == 1 and "every one of the 3 contacts failed" in r.output
    assert "3 contacts from 3 messages/records: 0 labelled, 3 errors" in r.output


def test_label_reads_finnish_excel_csv_and_says_what_it_assumed(tmp_path, tiny_model_dir, tiny_dir):
    p = tmp_path / "excel.csv"
    p.write_bytes(b"\xef\xbb\xbf" + "tunnus;viesti;pvm\n1;Asiakas muuttaa ja tarvitsee uuden sopimuksen;1.9.2016\n".encode("cp1252"))
    r = _label_cli(tmp_path, tiny_model_dir, tiny_dir, [p], tmp_path / "o.jsonl", "--map", "tunnus=id")
    assert r.exit_code == 0, r.output
    assert "';'-separated" in r.output and "'viesti' read as the request text" in r.output
    (row,) = [json.loads(l) for l in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert row["id"] == "1" and row["status"] == "ok" and row["predicted"]["topic"] == "uusi"


# ---------------------------------------------------------------------------------------------
# reviewed files in `report` and `train`: checked, every unused row named, nothing invented

_TOPICS = ("uusi", "vahvistus", "vaara")


def _labelled_rows(n=120):
    out = []
    for i in range(n):
        t = _TOPICS[i % 3]
        out.append({"id": f"x{i:03d}", "channel": "email", "sent_at": "2016-09-05T10:00:00+03:00", "status": "ok",
                    "predicted": {"topic": t, "confidence": 0.9, "candidates": [[t, 0.9], [_TOPICS[(i + 1) % 3], 0.1]],
                                  "guideline_id": None, "avoidable": t == "vaara", "avoidable_probability": 0.8 if t == "vaara" else 0.2,
                                  "reason": "misrouted" if t == "vaara" else "no_guideline"}})
    return out


def _report_cli(tmp_path, tiny_dir, labelled, *reviewed, extra=()):
    args = ["report", str(labelled), "--out", str(tmp_path / "rep"), "--taxonomy", str(tiny_dir / "taxonomy.json"),
            "--guidelines", str(tiny_dir / "guidelines.jsonl"), "--lang", "en", *extra]
    for r in reviewed:
        args += ["--reviewed", str(r)]
    return CliRunner().invoke(main, args)


def test_report_refuses_the_labelled_file_as_reviewed_and_names_bad_rows(tmp_path, tiny_dir):
    labelled = write_jsonl(tmp_path / "labelled.jsonl", _labelled_rows())
    r = _report_cli(tmp_path, tiny_dir, labelled, labelled)
    assert r.exit_code == 1 and "labelled.jsonl:1: not a reviewed decision" in r.output
    assert "uncertainty" not in r.output
    rev = write_jsonl(tmp_path / "rev.jsonl", [{"id": "x001", "topic": "uusi", "queue": "random"},
                                               {"id": "x002", "topic": "no_such_topic", "queue": "random"},
                                               {"id": "x003", "topic": "uusi", "guideline_id": "KJ-1", "queue": "random"}])
    r = _report_cli(tmp_path, tiny_dir, labelled, rev)
    assert r.exit_code == 1 and "rev.jsonl:2: unknown topic 'no_such_topic' (known: uusi, vahvistus, vaara)" in r.output
    assert "rev.jsonl:3: unknown guideline 'KJ-1'" in r.output
    r = _report_cli(tmp_path, tiny_dir, labelled, rev, extra=["--skip-invalid"])
    assert r.exit_code == 0, r.output
    assert "skipped" in r.output and "rev.jsonl:2" in r.output and "need at least 10 (9 more)" in r.output


def test_report_says_what_each_reviewed_file_gave(tmp_path, tiny_dir):
    rows = _labelled_rows()
    labelled = write_jsonl(tmp_path / "labelled.jsonl", rows)
    sample = [{"id": r["id"], "topic": r["predicted"]["topic"], "avoidable": r["predicted"]["avoidable"],
               "queue": "random", "sample_seed": 0, "sample_size": 40, "sample_positions": [k + 1]}
              for k, r in enumerate(rows[:30])]
    a = write_jsonl(tmp_path / "a.jsonl", sample + [{"id": "elsewhere", "topic": "uusi", "queue": "random",
                                                     "sample_seed": 0, "sample_size": 40, "sample_positions": [31]}])
    (tmp_path / "b.jsonl").write_text("".join(json.dumps({"id": r["id"], "topic": r["predicted"]["topic"]}) + "\n"
                                              for r in rows[40:45])[:-1], encoding="utf-8")   # another tool, no newline
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    r = _report_cli(tmp_path, tiny_dir, labelled, a, tmp_path / "b.jsonl", empty)
    assert r.exit_code == 0, r.output
    assert "a.jsonl: 30 reviews used (random sample, seed 0, size 40); 1 for requests not in the labelled rows (elsewhere)" in r.output
    assert "b.jsonl: no review of the sample is used; 5 written by another tool (no queue" in r.output
    assert "empty.jsonl: no decisions (an empty reviewed file)" in r.output
    md = (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    assert "5 reviewed requests were written by another tool (no queue)" in md and "least-certain" not in md


def test_train_refuses_a_topic_outside_the_taxonomy_before_training(tmp_path):
    from .conftest import CORPUS

    rev = write_jsonl(tmp_path / "rev.jsonl", [{"id": "r1", "text": "Asiakas muuttaa", "topic": "no_such_topic",
                                               "queue": "random"}, {"id": "r2", "text": "x", "topic": 5}])
    r = CliRunner().invoke(main, ["train", str(CORPUS), "--reviewed", str(rev), "--out", str(tmp_path / "m")])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "rev.jsonl:1: unknown topic 'no_such_topic' (known: " in r.output
    assert "rev.jsonl:2: topic must be a topic id (text), found 5" in r.output
    assert not (tmp_path / "m").exists()


def test_every_option_has_help():
    import click

    missing = [(name, p.opts[0]) for name, cmd in main.commands.items() for p in cmd.params
               if isinstance(p, click.Option) and not p.hidden and not p.help]
    assert not missing, f"options without a help text: {missing}"


def _folder_of_inputs(tmp_path):
    """A folder as an export lands: requests in two tables (one in a subfolder), an answer key, a note."""
    d = tmp_path / "in"
    (d / "older").mkdir(parents=True)
    texts = [t for ts in TINY_TEXTS.values() for t in ts[:2]]
    write_jsonl(d / "requests.jsonl", [{"id": f"r{i}", "channel": "email", "sent_at": "2016-09-05T10:00:00+03:00",
                                        "text": t} for i, t in enumerate(texts)])
    (d / "older" / "calls.csv").write_text("id,channel,sent_at,text\nc1,phone,2016-08-01T09:00:00+03:00,"
                                           f"{TINY_TEXTS['uusi'][3]}\n", encoding="utf-8")
    write_jsonl(d / "requests.labels.jsonl", [{"id": f"r{i}", "topic": "uusi"} for i in range(len(texts))])
    (d / "README.md").write_text("what these files are\n", encoding="utf-8")
    return d, len(texts) + 1


def test_label_and_analyse_read_a_folder_by_one_rule(tmp_path, tiny_model_dir, tiny_dir):
    """The answer-key sidecar and the note are not inputs, for label and analyse alike; subfolders are."""
    from classifier.ingest import plan_inputs

    d, n = _folder_of_inputs(tmp_path)
    assert [p.name for p in plan_inputs([d])] == ["calls.csv", "requests.jsonl"]
    opts = ["--model", str(tiny_model_dir), "--guidelines", str(tiny_dir / "guidelines.jsonl")]
    r = CliRunner().invoke(main, ["label", str(d), "--out", str(tmp_path / "l.jsonl"), *opts])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["analyse", str(d), "--out", str(tmp_path / "a"), *opts])
    assert r.exit_code == 0, r.output
    labelled = [json.loads(x) for x in (tmp_path / "l.jsonl").read_text(encoding="utf-8").splitlines()]
    analysed = [json.loads(x) for x in (tmp_path / "a" / "labelled.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(labelled) == n and all(r["status"] == "ok" for r in labelled)
    assert [(r["key"], r["id"]) for r in labelled] == [(r["key"], r["id"]) for r in analysed]


def test_example_folder_plan_skips_the_answer_key():
    from classifier.ingest import plan_inputs

    examples = REPO / "corpus" / "examples"
    if not (examples / "syyskuu-2016.labels.jsonl").exists():
        pytest.skip("corpus/examples not built")
    assert [p.name for p in plan_inputs([examples])] == [
        "puhelut-syyskuu-2016.csv", "syyskuu-2016.mbox", "yhteydenotot-2016-02-08.jsonl"]
    # named on its own, an answer key is read like any table
    assert [p.name for p in plan_inputs([examples / "syyskuu-2016.labels.jsonl"])] == ["syyskuu-2016.labels.jsonl"]


def test_analyse_refuses_a_folder_that_is_not_empty_without_overwrite(tmp_path, tiny_model_dir, tiny_dir):
    d, _ = _folder_of_inputs(tmp_path)
    out = tmp_path / "report"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n", encoding="utf-8")
    opts = ["--model", str(tiny_model_dir), "--guidelines", str(tiny_dir / "guidelines.jsonl")]
    r = CliRunner().invoke(main, ["analyse", str(d), "--out", str(out), *opts])
    assert r.exit_code == 1 and "not empty" in r.output and "--overwrite" in r.output
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    r = CliRunner().invoke(main, ["analyse", str(d), "--out", str(out), "--overwrite", *opts])
    assert r.exit_code == 0, r.output
    assert (out / "report.html").exists() and (out / "notes.txt").read_text(encoding="utf-8") == "mine\n"


def test_report_says_how_many_rows_its_period_holds(tmp_path, tiny_model_dir, tiny_dir):
    d, n = _folder_of_inputs(tmp_path)
    opts = ["--model", str(tiny_model_dir), "--guidelines", str(tiny_dir / "guidelines.jsonl")]
    r = CliRunner().invoke(main, ["label", str(d), "--out", str(tmp_path / "l.jsonl"), *opts])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["report", str(tmp_path / "l.jsonl"), "--out", str(tmp_path / "r"), "--from", "2016-09-01",
                                  "--to", "2016-09-30", *opts])
    assert r.exit_code == 0, r.output
    assert f"report of {n - 1} contacts 2016-09-01 – 2016-09-30 ({n} rows read: 1 outside the period" in r.output


def _store_texts(month: str, n: int, share_uusi: float) -> list[dict]:
    """Requests of one month, a given share of them about a new contract."""
    k = round(n * share_uusi)
    return [{"id": f"{month}-{i}", "channel": "phone", "sent_at": f"{month}-{1 + i % 28:02d}T10:00:00+03:00",
             "text": TINY_TEXTS["uusi"][i % 6] if i < k else TINY_TEXTS["vahvistus"][i % 6]} for i in range(n)]


def test_store_commands_label_report_export_and_trends(tmp_path, tiny_model_dir, tiny_dir):
    opts = ["--model", str(tiny_model_dir), "--guidelines", str(tiny_dir / "guidelines.jsonl")]
    store = tmp_path / "h.sqlite"
    run = CliRunner().invoke
    r = run(main, ["label", str(tmp_path), *opts])
    assert r.exit_code == 1 and "give --out FILE, --store FILE or both" in r.output
    write_jsonl(tmp_path / "elo.jsonl", _store_texts("2016-08", 60, 0.3))
    write_jsonl(tmp_path / "syys.jsonl", _store_texts("2016-09", 60, 0.3))
    r = run(main, ["label", str(tmp_path / "elo.jsonl"), str(tmp_path / "syys.jsonl"), "--store", str(store), *opts])
    assert r.exit_code == 0 and "120 contacts" in r.output and "0 messages/records already in the store" in r.output
    r = run(main, ["label", str(tmp_path / "syys.jsonl"), "--store", str(store), *opts])
    assert r.exit_code == 0 and "0 contacts" in r.output and "60 messages/records already in the store" in r.output
    r = run(main, ["trends", "--store", str(store), "--model", str(tiny_model_dir)])
    assert r.exit_code == 0 and "2016-09: no alert" in r.output, r.output  # the same shares both months

    write_jsonl(tmp_path / "loka.jsonl", _store_texts("2016-10", 60, 0.9))
    r = run(main, ["label", str(tmp_path / "loka.jsonl"), "--store", str(store), *opts])
    assert r.exit_code == 0, r.output
    r = run(main, ["trends", "--store", str(store), "--model", str(tiny_model_dir), "--lang", "en"])
    assert r.exit_code == 1 and "ALERT: 2016-10 vs 2016-09: New contract" in r.output, r.output
    r = run(main, ["trends", "--store", str(store), "--json", "--month", "2016-09"])
    assert r.exit_code == 0 and json.loads(r.output)["month"] == "2016-09"
    r = run(main, ["trends", "--store", str(tmp_path / "elo.jsonl")])
    assert r.exit_code == 2 and "not a tukipyynto store" in r.output

    r = run(main, ["report", "--store", str(store), "--out", str(tmp_path / "r1"), *opts])
    assert r.exit_code == 0 and "report of 180 contacts" in r.output, r.output
    assert (tmp_path / "r1" / "provenance.csv").read_text().count("\n") == 4  # header and three months
    assert "ALERT" not in (tmp_path / "r1" / "alerts.csv").read_text() and \
        "uusi" in (tmp_path / "r1" / "alerts.csv").read_text()
    r = run(main, ["export", "--store", str(store), "--out", str(tmp_path / "h.parquet")])
    assert r.exit_code == 0 and "180 rows" in r.output
    r = run(main, ["report", str(tmp_path / "h.parquet"), "--out", str(tmp_path / "r2"), *opts])
    assert r.exit_code == 0, r.output
    for f in (tmp_path / "r1").glob("*.csv"):
        if f.name != "provenance.csv":
            assert f.read_bytes() == (tmp_path / "r2" / f.name).read_bytes(), f.name
    r = run(main, ["report", str(tmp_path / "h.parquet"), "--store", str(store), "--out", str(tmp_path / "r3")])
    assert r.exit_code == 1 and "one of them" in r.output
    r = run(main, ["analyse", str(tmp_path / "loka.jsonl"), "--store", str(store), "--out", str(tmp_path / "a"), *opts])
    assert r.exit_code == 0 and f"labelled 0 contacts -> {store}; report of 180" in r.output, r.output
    assert (tmp_path / "a" / "provenance.csv").exists() and not (tmp_path / "a" / "labelled.jsonl").exists()
