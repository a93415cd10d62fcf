"""Inputs: globs, directories, mixed kinds, summaries (classifier.ingest.sources, .contact)."""

from __future__ import annotations

import json
import re

import pytest

from classifier.errors import IngestError
from classifier.ingest import (
    IngestTally,
    iter_contacts,
)

from .helpers import CORPUS, ROWS, SEP, T0, TZ, mail, one, raw_mail, write_csv, write_mbox  # noqa: F401


# --------------------------------------------------------------------------- inputs


def test_globs_mixed_inputs_and_bad_arguments(tmp_path):
    (tmp_path / "a.jsonl").write_text(json.dumps(ROWS[0]) + "\n", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text(json.dumps(ROWS[1]) + "\n", encoding="utf-8")
    write_mbox(tmp_path / "Saapuneet", [mail(n=5)])  # a Thunderbird mbox: no suffix
    (tmp_path / "x.eml").write_bytes(mail(n=6).as_bytes())
    cs = list(iter_contacts([str(tmp_path / "*.jsonl"), tmp_path / "Saapuneet", str(tmp_path / "*.eml")]))
    assert [c.id for c in cs] == ["r1", "r2", "m5@ap.example", "m6@ap.example"]
    assert [c.id for c in iter_contacts(str(tmp_path / "*.jsonl"))] == ["r1", "r2"]
    with pytest.raises(IngestError, match="no file matches this pattern"):
        iter_contacts([str(tmp_path / "*.parquet")])
    with pytest.raises(IngestError, match="no such file or directory"):
        iter_contacts([tmp_path / "missing.mbox"])
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(IngestError, match="cannot tell what kind of input"):
        iter_contacts([tmp_path / "notes.txt"])
    assert isinstance(IngestError("x"), ValueError)


def test_stable_ids_for_mail_without_message_id(tmp_path):
    p = write_mbox(tmp_path / "m.mbox", [mail(n=None), mail("Toinen.", "Muu", n=None)])
    a = [c.id for c in iter_contacts([p])]
    b = [c.id for c in iter_contacts([p])]
    assert a == b and len(set(a)) == 2 and all(re.fullmatch(r"[0-9a-f]{16}", x) for x in a)


def test_tally_counts_while_streaming(tmp_path):
    p = write_mbox(tmp_path / "m.mbox", [mail(n=0), mail("r", "VS: Sopimus", n=1, reply_to=0), mail("x", "Muu", n=2)])
    tally = IngestTally()
    out = list(tally.tee(iter_contacts([p])))
    s = tally.summary()
    assert len(out) == 2 and (s.contacts, s.messages, s.merged, s.errors) == (2, 3, 1, 0)
    assert dict(s.channels) == {"email": 2}


def test_mailbox_saved_as_eml_is_read_as_mbox(tmp_path):
    p = write_mbox(tmp_path / "export.eml", [mail(n=0), mail("Toinen.", "Muu", n=1)])
    assert [c.id for c in iter_contacts([p])] == ["m0@ap.example", "m1@ap.example"]
    single = tmp_path / "single.eml"
    single.write_bytes(SEP + mail(n=2).as_bytes())
    assert one(single).id == "m2@ap.example"


EXAMPLE_MBOX = CORPUS / "examples" / "syyskuu-2016.mbox"


@pytest.mark.skipif(not EXAMPLE_MBOX.exists(), reason="corpus/examples/syyskuu-2016.mbox not built")
def test_example_september_mailbox_has_156_contacts():
    cs = list(iter_contacts([EXAMPLE_MBOX]))
    assert len(cs) == 156
    assert not [c.error for c in cs if c.error]
    assert all(c.text for c in cs)
    labels = EXAMPLE_MBOX.with_name("syyskuu-2016.labels.jsonl")
    if labels.exists():
        rows = [json.loads(line) for line in labels.read_text(encoding="utf-8").splitlines() if line.strip()]
        assert {c.id for c in cs} == {r["message_id"].strip("<>") for r in rows}
    phone = EXAMPLE_MBOX.with_name("puhelut-syyskuu-2016.csv")
    if phone.exists():
        calls = list(iter_contacts([phone]))
        assert len(calls) == 297 and {c.channel for c in calls} == {"phone"} and not any(c.error for c in calls)
