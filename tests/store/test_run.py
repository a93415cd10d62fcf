"""Labelling into a store: every contact once, only the new ones labelled, the report as from a clean run."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from classifier.io import read_taxonomy
from classifier.label import label_inputs
from classifier.report import build_report, normalise_labelled, read_labelled
from classifier.store import StoreError, StoreLockedError, open_store
from classifier.store.lock import WriterLock

from .helpers import CALLS, MBOX, NEW_MAIL, jsonl_rows, later_export, without_origin

pytestmark = pytest.mark.skipif(not MBOX.exists(), reason="corpus/examples not built")


def _rows(store: Path) -> list[dict]:
    with open_store(store) as st:
        return list(st.iter_rows())


def _report(rows: list[dict]) -> dict:
    return build_report(rows, read_taxonomy()).to_dict()


@pytest.fixture(scope="module")
def months(tmp_path_factory):
    """September labelled into a store, then September and a copy of it, then October's export (September again and new mail)."""
    tmp = tmp_path_factory.mktemp("months")
    copy = tmp / "kopio.mbox"
    copy.write_bytes(MBOX.read_bytes())
    later = later_export(tmp / "lokakuu.mbox")
    store = tmp / "history.sqlite"
    runs = [label_inputs([MBOX, CALLS], None, with_text=True, store=store),
            label_inputs([MBOX, copy, CALLS], None, with_text=True, store=store)]
    after_two = _rows(store)
    runs.append(label_inputs([later, CALLS], None, with_text=True, store=store))
    clean = tmp / "clean.jsonl"
    label_inputs([later, CALLS], clean, with_text=True)
    return {"store": store, "runs": runs, "after_two": after_two, "clean": clean, "later": later, "tmp": tmp}


def test_a_copy_of_the_mailbox_adds_nothing(months):
    first, second, _ = months["runs"]
    assert first.contacts == 156 + 297 and first.known == 0
    assert second.contacts == 0 and second.labelled == 0
    assert second.known == 2 * 231 + 297  # both copies and the calls recognised before parsing
    assert len(months["after_two"]) == 156 + 297


def test_the_later_export_adds_only_the_new_mail(months):
    third = months["runs"][2]
    # six new messages: three new requests (one answered), two replies to September threads and
    # a September Message-ID with new content
    assert (third.contacts, third.labelled, third.merged_messages) == (3, 3, 1)
    assert third.threads_updated == 2 and third.known == 231 + 297
    rows = _rows(months["store"])
    assert len(rows) == 156 + 297 + 3
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == len(ids)
    dup = [r for r in rows if "duplicate_message_id" in (r.get("flags") or [])]
    assert len(dup) == 1 and dup[0]["sent_at"].startswith("2016-10-05")


def test_nothing_stored_before_is_classified_again(months):
    before = {r["id"]: r for r in months["after_two"]}
    after = {r["id"]: r for r in _rows(months["store"])}
    changed = [i for i in before if before[i] != after[i]]
    # only the two threads that took in a reply changed, and only in their thread's fields
    assert len(changed) == 2
    for i in changed:
        diff = {k for k in before[i].keys() | after[i].keys() if before[i].get(k) != after[i].get(k)}
        assert diff <= {"n_messages", "first_reply_at", "first_reply_working_minutes", "service_flags", "flags"}
        assert after[i]["predicted"] == before[i]["predicted"]


def test_a_reply_in_a_later_export_joins_its_thread(months):
    after = {r["subject"]: r for r in _rows(months["store"]) if r["channel"] == "email"}
    answered = after["kirjautuminen"]
    assert answered["n_messages"] == 2 and answered["first_reply_at"].startswith("2016-10-03T09:00")
    assert answered["first_reply_working_minutes"] > 0
    followed = [r for r in _rows(months["store"]) if r["subject"] == "Kp puuttuu" and r["n_messages"] == 2]
    assert len(followed) == 1 and "threaded_by_subject" in followed[0]["flags"]


def _by_id(rows: list[dict]) -> list[dict]:
    return sorted((without_origin(r) for r in rows), key=lambda r: (r["channel"], r["id"]))


def test_the_store_holds_what_a_clean_run_writes_and_reports_the_same(months):
    stored = _rows(months["store"])
    clean = jsonl_rows(months["clean"])
    # the same rows; the store keeps them in the order they came (the calls before October's mail)
    assert _by_id(stored) == _by_id(clean)
    assert [r["channel"] for r in stored] != [r["channel"] for r in clean]
    assert _report(stored) == _report(read_labelled([months["clean"]]))


def test_the_store_knows_its_runs_model_and_catalogue(months):
    with open_store(months["store"]) as st:
        runs = st.runs()
        prov = st.provenance()
    assert [r["status"] for r in runs] == ["done"] * 3
    assert runs[2]["counts"]["inserted"] == 3 and runs[2]["counts"]["updated"] == 2
    assert runs[0]["model"] and runs[0]["catalogue"] and runs[0]["model"] == runs[2]["model"]
    assert [(p["period"], p["n"]) for p in prov] == [("2016-09", 453), ("2016-10", 3)]


def test_a_monthly_export_of_new_mail_only_joins_the_stored_threads(months, tmp_path):
    store = tmp_path / "h.sqlite"
    label_inputs([MBOX], None, store=store)
    october = tmp_path / "lokakuu-vain.mbox"
    october.write_bytes(b"".join(NEW_MAIL))
    s = label_inputs([october], None, store=store)
    assert (s.contacts, s.threads_updated) == (3, 2)
    rows = _rows(store)
    assert len(rows) == 159
    full = tmp_path / "full.jsonl"
    label_inputs([months["later"]], full)

    def same(r: dict) -> dict:
        # a message whose Message-ID another has gets an id from its file and position, as in any run
        return {k: v for k, v in without_origin(r).items() if k != "id" or "duplicate_message_id" not in r.get("flags", ())}

    assert [same(r) for r in rows] == [same(r) for r in jsonl_rows(full)]


def test_a_request_arriving_after_its_reply_takes_the_thread_over(tmp_path):
    reply, request = NEW_MAIL[3], NEW_MAIL[2]  # the answer to 'Muutto lokakuussa', then the request
    first = tmp_path / "a.mbox"
    first.write_bytes(reply)
    store = tmp_path / "h.sqlite"
    assert label_inputs([first], None, store=store).contacts == 1  # the answer alone is a contact
    second = tmp_path / "b.mbox"
    second.write_bytes(request)
    s = label_inputs([second], None, store=store)
    assert s.contacts == 1
    rows = _rows(store)
    assert len(rows) == 1 and rows[0]["subject"] == "Muutto lokakuussa" and rows[0]["n_messages"] == 2
    both = tmp_path / "both.mbox"
    both.write_bytes(request + reply)
    clean = tmp_path / "clean.jsonl"
    label_inputs([both], clean)
    assert [without_origin(r) for r in rows] == [without_origin(r) for r in jsonl_rows(clean)]
    with open_store(store) as st:
        assert st.runs()[1]["counts"]["superseded"] == 1 and st.n_messages() == 2


def test_a_table_record_is_new_again_only_when_it_changed(tmp_path):
    calls = tmp_path / "puhelut.csv"
    lines = CALLS.read_text(encoding="utf-8").splitlines(keepends=True)
    calls.write_text("".join(lines[:11]), encoding="utf-8")
    store = tmp_path / "h.sqlite"
    assert label_inputs([calls], None, store=store).contacts == 10
    changed = lines[:5] + [lines[5].rstrip("\n") + " Soitti uudelleen.\n"] + lines[6:14]
    calls.write_text("".join(changed), encoding="utf-8")
    s = label_inputs([calls], None, store=store)
    assert (s.contacts, s.known) == (4, 9)  # the edited record and three new ones
    assert len(_rows(store)) == 14


def test_repeat_contacts_link_across_runs(tmp_path):
    def table(name: str, rows: list[tuple[str, str, str]]) -> Path:
        p = tmp_path / name
        p.write_text("id,channel,sent_at,text\n" + "".join(f"{a},phone,{b},{c}\n" for a, b, c in rows), encoding="utf-8")
        return p

    store = tmp_path / "h.sqlite"
    label_inputs([table("a.csv", [("p1", "2016-09-01T10:00:00+03:00", "Asiakasnumero 123456 kysyy laskusta")])],
                 None, store=store)
    label_inputs([table("b.csv", [("p2", "2016-09-08T10:00:00+03:00", "asiakasnro 123456 soitti taas laskusta"),
                                  ("p3", "2016-09-30T10:00:00+03:00", "asiakasnro 123456 kolmannen kerran")])],
                 None, store=store)
    rows = {r["id"]: r for r in _rows(store)}
    assert rows["p2"]["repeat_of"] == "p1"  # the stored contact, a week earlier
    assert rows["p3"]["repeat_of"] is None  # three weeks later: outside the 14 days


def test_mail_files_in_a_folder_are_recognised_again(tmp_path):
    folder = tmp_path / "posti"
    folder.mkdir()
    for i, m in enumerate(NEW_MAIL[2:5]):
        (folder / f"{i}.eml").write_bytes(m.split(b"\n", 1)[1])  # without the mbox From line
    store = tmp_path / "h.sqlite"
    assert label_inputs([folder], None, store=store).contacts == 2
    (folder / "x.eml").write_bytes(NEW_MAIL[5].split(b"\n", 1)[1])
    s = label_inputs([folder], None, store=store)
    assert (s.contacts, s.known) == (1, 3)


_KILLER = """
import os, signal, sys
from classifier.label import label_inputs
done = []
def progress(n):
    done.append(n)
    if len(done) == 3:
        os.kill(os.getpid(), signal.SIGKILL)
label_inputs(sys.argv[2:], None, with_text=True, store=sys.argv[1], batch_size=40, progress=progress)
"""


def test_kill_9_during_a_run_then_rerun_holds_every_contact_once(tmp_path):
    store = tmp_path / "h.sqlite"
    later = later_export(tmp_path / "lokakuu.mbox")
    env = {**os.environ, "TUKIPYYNTO_ID_KEY": "test-key"}
    p = subprocess.run([sys.executable, "-c", _KILLER, str(store), str(later), str(CALLS)], env=env,
                       capture_output=True, timeout=600)
    assert p.returncode == -9, p.stderr.decode()[-2000:]
    partial = _rows(store)
    assert 0 < len(partial) < 159 + 297  # some batches were written, not all
    with open_store(store) as st:
        assert st.runs()[0]["status"] == "running"  # it never finished
    s = label_inputs([later, CALLS], None, with_text=True, store=store)
    assert s.known == len(partial) + sum(r["n_messages"] - 1 for r in partial)
    rows = _rows(store)
    clean = tmp_path / "clean.jsonl"
    label_inputs([later, CALLS], clean, with_text=True)
    key = lambda r: (r["channel"], r["id"])  # noqa: E731
    assert sorted(map(key, rows)) == sorted(map(key, jsonl_rows(clean)))  # every contact exactly once
    assert _by_id(rows) == _by_id(jsonl_rows(clean))
    with open_store(store) as st:
        assert [r["status"] for r in st.runs()] == ["interrupted", "done"]


def test_a_second_writer_gets_a_clear_error_and_can_wait(tmp_path):
    store = tmp_path / "h.sqlite"
    label_inputs([CALLS], None, store=store)
    before = hashlib.sha256(store.read_bytes()).hexdigest()
    with WriterLock(store):
        with pytest.raises(StoreLockedError, match=f"another process \\(pid {os.getpid()}\\) is writing"):
            label_inputs([MBOX], None, store=store)
        with pytest.raises(StoreLockedError):
            label_inputs([MBOX], None, store=store, store_wait=0.3)
        assert len(_rows(store)) == 297  # reading is never blocked
    assert hashlib.sha256(store.read_bytes()).hexdigest() == before
    assert label_inputs([MBOX], None, store=store).contacts == 156


def test_a_store_written_with_another_key_is_refused(tmp_path, monkeypatch):
    store = tmp_path / "h.sqlite"
    label_inputs([CALLS], None, store=store)
    monkeypatch.setenv("TUKIPYYNTO_ID_KEY", "another-key")
    with pytest.raises(StoreError, match="another id key"):
        label_inputs([CALLS], None, store=store)


def test_a_foreign_file_as_store_is_refused_before_any_labelling(tmp_path):
    store = tmp_path / "h.sqlite"
    store.write_bytes(CALLS.read_bytes())
    with pytest.raises(StoreError, match="not a tukipyynto store"):
        label_inputs([MBOX], None, store=store)
    assert store.read_bytes() == CALLS.read_bytes()


def test_out_and_store_together_write_the_new_rows_to_both(tmp_path):
    store, out = tmp_path / "h.sqlite", tmp_path / "uudet.jsonl"
    label_inputs([CALLS], None, store=store)
    label_inputs([MBOX, CALLS], out, store=store)
    assert len(jsonl_rows(out)) == 156 and len(_rows(store)) == 156 + 297


def test_rows_read_back_normalise_as_files_do(months):
    assert _by_id(normalise_labelled(_rows(months["store"]))) == _by_id(read_labelled([months["clean"]]))


def test_a_damaged_store_is_refused_and_left_as_it_was(tmp_path):
    store = tmp_path / "h.sqlite"
    label_inputs([CALLS], None, store=store)
    data = bytearray(store.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[page:] = bytes((i * 37 + 11) % 256 for i in range(len(data) - page))  # every page but the first
    store.write_bytes(bytes(data))
    for inputs in ([CALLS], [MBOX]):
        with pytest.raises(StoreError, match="damaged.*nothing was written"):
            label_inputs(inputs, None, store=store)
        assert store.read_bytes() == bytes(data)
    with pytest.raises(StoreError, match="damaged"):
        _rows(store)
