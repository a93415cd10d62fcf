"""Damaged mailboxes and files: every message accounted for (classifier.ingest.mbox, .files, .mail)."""

from __future__ import annotations

import datetime as dt
import random
import re
from pathlib import Path


from classifier.ingest import (
    iter_contacts,
    summarise,
)

from .helpers import CORPUS, ROWS, SEP, T0, TZ, mail, one, raw_mail, write_csv, write_mbox  # noqa: F401


# --------------------------------------------------------------------------- damaged input


def test_corrupt_mbox_accounts_for_every_message(tmp_path, parser):
    good = [mail(f"Pyyntö numero {i}.", f"Asia {i}", n=i, date=T0 + dt.timedelta(minutes=i)) for i in range(3)]
    broken_headers = (b"Subject: Rikki\nMessage-ID: <broken@x>\nthis line is not a header\n"
                      b"Date: Mon, 05 Sep 2016 12:00:00 +0300\n\nRunko on kunnossa.\n")
    truncated = mail("Viimeinen viesti.", "Katkennut", n=7)
    truncated.add_attachment(b"x" * 3000, maintype="application", subtype="pdf", filename="iso.pdf")
    data = b"garbage before the first separator\n\x00\x01\x02\n"
    data += SEP + good[0].as_bytes() + b"\n"
    data += b"From junk Mon Sep  5 10:12:00 2016\n\x00\x89PNG binary junk\nno headers here at all\n\n"
    data += SEP + good[1].as_bytes() + b"\n"
    data += SEP + broken_headers + b"\n"
    data += SEP + good[2].as_bytes() + b"\n"
    data += SEP + truncated.as_bytes()[:-1500]
    p = tmp_path / "corrupt.mbox"
    p.write_bytes(data)
    cs = list(iter_contacts([p]))
    n_chunks = 1 + data.count(b"\nFrom ")  # the garbage prefix plus one per separator
    assert summarise(cs).messages == n_chunks == 7
    errors = [c for c in cs if c.error]
    assert len(errors) == 2
    assert re.match(rf"{re.escape(str(p))}:1: \d+ bytes before the first 'From ' line", errors[0].error)
    assert re.match(rf"{re.escape(str(p))}:\d+: message 3: no header fields", errors[1].error)
    assert all(c.text == "" for c in errors)
    ok = {c.id: c for c in cs if not c.error}
    assert ok["broken@x"].text == "Runko on kunnossa." and "broken_headers" in ok["broken@x"].flags
    assert ok["broken@x"].sent_at == dt.datetime(2016, 9, 5, 12, 0, tzinfo=TZ)
    assert "truncated" in ok["m7@ap.example"].flags and ok["m7@ap.example"].text == "Viimeinen viesti."
    assert [ok[f"m{i}@ap.example"].text for i in range(3)] == [f"Pyyntö numero {i}." for i in range(3)]


def test_truncated_and_empty_eml(tmp_path, parser):
    full = mail("Asiakas kysyy laskusta.", "Lasku", n=1)
    full.add_attachment(b"y" * 4000, maintype="application", subtype="pdf", filename="lasku.pdf")
    raw = full.as_bytes()
    d = tmp_path / "in"
    d.mkdir()
    (d / "a_in_headers.eml").write_bytes(raw[: raw.index(b"Message-ID")])
    (d / "b_in_body.eml").write_bytes(raw[:-2000])
    (d / "c_empty.eml").write_bytes(b"")
    (d / "d_ok.eml").write_bytes(mail("Kunnossa.", n=2).as_bytes())
    cs = list(iter_contacts([d]))
    assert summarise(cs).messages == 4 and len(cs) == 4
    by = {Path(c.source).name: c for c in cs}
    assert "ends inside its header block" in by["a_in_headers.eml"].error
    assert by["a_in_headers.eml"].error.startswith(str(d / "a_in_headers.eml"))
    assert by["b_in_body.eml"].error is None and "truncated" in by["b_in_body.eml"].flags
    assert by["b_in_body.eml"].text == "Asiakas kysyy laskusta."
    assert by["c_empty.eml"].error == f"{d / 'c_empty.eml'}: empty file"
    assert by["d_ok.eml"].error is None and by["d_ok.eml"].text == "Kunnossa."


def test_random_damage_never_crashes(tmp_path):
    rnd = random.Random(7)
    base = b"".join(SEP + mail(f"Viesti {i}", f"Aihe {i}", n=i).as_bytes() + b"\n" for i in range(20))
    for k in range(5):
        data = bytearray(base)
        for _ in range(40):
            i = rnd.randrange(len(data))
            data[i:i + rnd.randrange(1, 30)] = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 30)))
        p = tmp_path / f"r{k}.mbox"
        p.write_bytes(bytes(data))
        cs = list(iter_contacts([p]))
        assert summarise(cs).messages >= 1
        assert all(isinstance(c.text, str) for c in cs)
