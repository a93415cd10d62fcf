"""Parallel parsing (issue 13): iter_contacts_parallel gives iter_contacts's contacts, and label --jobs 2 its rows."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import random
from concurrent.futures import Future, ProcessPoolExecutor

import pytest

from classifier.ingest import iter_contacts, iter_contacts_parallel
from classifier.label import label_inputs

from ..conftest import CORPUS, TINY_TEXTS, write_jsonl
from .helpers import SEP, T0, mail


def inline_submit(fn, *args):
    """A ``submit`` that runs the task at once in this process."""
    f: Future = Future()
    f.set_result(fn(*args))
    return f


def same(a, b):
    """Contacts equal field by field, their threads (left out of ==) included."""
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x == y and x.thread == y.thread


def damaged_mbox(path):
    """Threads, a subject-only reply, a duplicate id, junk before the first From line, a message
    without headers, an mboxrd-quoted body line and a truncated last message."""
    msgs = [
        mail("Moi,\nasiakas muuttaa 1.10.\n\nt. Jonna", "Muutto", n=0),
        mail("Lasku on väärin?", "Lasku", n=1, date=T0 + dt.timedelta(minutes=5)),
        mail("Siirto tehdään.\n\n> Moi,\n> asiakas muuttaa", "VS: Muutto", n=2,
             date=T0 + dt.timedelta(hours=1), reply_to=0, refs=[0]),
        mail("Vastaus ilman viittauksia.", "VS: Lasku", n=3, date=T0 + dt.timedelta(hours=2)),
        mail("Sama tunniste toisella viestillä.", "Muu", n=1, date=T0 + dt.timedelta(hours=3)),
        mail("Rivi alkaa\nFrom tästä, ja jatkuu.", "Rivi", n=5, date=None),
    ]
    data = b"junk before the first From line\n"
    data += b"".join(SEP + m.as_bytes().replace(b"\nFrom ", b"\n>From ") + b"\n" for m in msgs)
    data += b"From junk Mon Sep  5 10:12:00 2016\n\x00\x89PNG binary junk\nno headers here at all\n\n"
    data += SEP + mail("Viimeinen viesti.", "Loppu", n=7).as_bytes()[:-1]
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("per_task", [1, 2, 1000])
def test_same_contacts_as_serial_inline(tmp_path, per_task):
    p = damaged_mbox(tmp_path / "d.mbox")
    serial = list(iter_contacts([p]))
    par = list(iter_contacts_parallel([p], inline_submit, 2, heads_per_task=per_task, requests_per_task=per_task))
    same(serial, par)
    assert sum(c.n_messages for c in par) == 9 and sum(c.error is not None for c in par) == 2
    assert any(c.thread for c in par)


def test_same_contacts_with_random_damage(tmp_path):
    rnd = random.Random(13)
    base = b"".join(SEP + mail(f"Viesti {i}", f"{'VS: ' if i % 3 else ''}Aihe {i // 3}", n=i,
                               reply_to=i - 1 if i % 3 else None).as_bytes() + b"\n" for i in range(30))
    for k in range(4):
        data = bytearray(base)
        for _ in range(30):
            i = rnd.randrange(len(data))
            data[i:i + rnd.randrange(1, 30)] = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 30)))
        p = tmp_path / f"r{k}.mbox"
        p.write_bytes(bytes(data))
        same(list(iter_contacts([p])), list(iter_contacts_parallel([p], inline_submit, 3, requests_per_task=4)))


def test_same_contacts_in_worker_processes_mixed_inputs(tmp_path):
    p = damaged_mbox(tmp_path / "d.mbox")
    d = tmp_path / "eml"
    d.mkdir()
    (d / "a.eml").write_bytes(mail("Asiakas kysyy hinnasta.", "Hinta", n=10).as_bytes())
    table = write_jsonl(tmp_path / "t.jsonl", [{"id": "a", "text": "Hei, lasku?"}, {"id": "b"}])
    inputs = [p, d, table] + ([CORPUS / "examples" / "syyskuu-2016.mbox"]
                              if (CORPUS / "examples" / "syyskuu-2016.mbox").exists() else [])
    notes_a: list[str] = []
    notes_b: list[str] = []
    serial = list(iter_contacts(inputs, notes=notes_a))
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as ex:
        par = list(iter_contacts_parallel(inputs, ex.submit, 2, notes=notes_b, requests_per_task=7))
    same(serial, par)
    assert notes_a == notes_b


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork here")
def test_label_two_jobs_same_rows_errors_and_resume(tmp_path, tiny_model_dir, tiny_dir):
    p = damaged_mbox(tmp_path / "d.mbox")
    rows = [{"id": f"r{i}", "text": t, "channel": "phone"} for i, t in enumerate(TINY_TEXTS["uusi"])]
    table = write_jsonl(tmp_path / "t.jsonl", rows + [{"id": "broken"}])
    gl = tiny_dir / "guidelines.jsonl"
    one = label_inputs([p, table], tmp_path / "one.jsonl", tiny_model_dir, gl, batch_size=2, with_text=True)
    two = label_inputs([p, table], tmp_path / "two.jsonl", tiny_model_dir, gl, batch_size=2, with_text=True, jobs=2)
    a, b = (tmp_path / "one.jsonl").read_text(), (tmp_path / "two.jsonl").read_text()
    assert a == b
    assert one.to_dict() | {"output": ""} == two.to_dict() | {"output": ""}
    out = [json.loads(x) for x in b.splitlines()]
    assert len(out) == one.contacts and sum(r["status"] == "error" for r in out) == 3
    # a crash after three rows and half a fourth: --resume with two jobs writes the rest once
    lines = b.splitlines(keepends=True)
    (tmp_path / "two.jsonl").write_text("".join(lines[:3]) + lines[3][:20])
    s = label_inputs([p, table], tmp_path / "two.jsonl", tiny_model_dir, gl, batch_size=2, with_text=True, jobs=2,
                     resume=True)
    assert s.skipped_resumed == 3 and (tmp_path / "two.jsonl").read_text() == a
