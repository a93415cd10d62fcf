""".eml directories and Outlook .msg files (classifier.ingest.files, .msg)."""

from __future__ import annotations

import datetime as dt
import re
from email.parser import HeaderParser
from email.policy import compat32
from pathlib import Path


from classifier.ingest import (
    iter_contacts,
    summarise,
)

from .helpers import CORPUS, ROWS, SEP, T0, TZ, mail, one, raw_mail, write_csv, write_mbox  # noqa: F401


# --------------------------------------------------------------------------- .eml directories and .msg files


def test_eml_directory_recursive_threads_across_files(tmp_path):
    d = tmp_path / "mail"
    (d / "2016" / "09").mkdir(parents=True)
    (d / "2016" / "09" / "a.eml").write_bytes(mail("Asiakas kysyy hinnasta.", "Hinta", n=0).as_bytes())
    (d / "2016" / "09" / "b.eml").write_bytes(
        mail("Hinta on 5 snt/kWh.", "VS: Hinta", n=1, date=T0 + dt.timedelta(hours=1), reply_to=0).as_bytes())
    crlf = mail("Toinen pyyntö CRLF-rivinvaihdoin.\nToinen rivi.", "Muu", n=None).as_bytes().replace(b"\n", b"\r\n")
    (d / "c.eml").write_bytes(crlf)
    (d / "notes.txt").write_text("not mail")
    cs = list(iter_contacts([d]))
    assert len(cs) == 2 and summarise(cs).messages == 3
    a = next(c for c in cs if c.id == "m0@ap.example")
    assert a.source == str(d / "2016" / "09" / "a.eml") and a.position == 0 and a.n_messages == 2
    c = next(c for c in cs if c.id != "m0@ap.example")
    assert c.text == "Toinen pyyntö CRLF-rivinvaihdoin.\nToinen rivi." and "no_date" not in c.flags
    assert re.fullmatch(r"[0-9a-f]{16}", c.id)


class FakeAttachment:
    def __init__(self, name):
        self.longFilename = name


class FakeMsg:
    """Stands in for extract_msg.Message: no real .msg file can be written offline."""

    def __init__(self, subject, body, msgid, date, in_reply_to=None, html=None, attachments=()):
        self.subject = subject
        self.body = body
        self.htmlBody = html
        self.messageId = msgid
        self.inReplyTo = in_reply_to
        self.date = date
        self.header = HeaderParser(policy=compat32).parsestr(f"Message-ID: {msgid}\nSubject: {subject}\n\n")
        self.attachments = [FakeAttachment(a) for a in attachments]
        self.closed = False

    def close(self):
        self.closed = True


def test_msg_files_through_extract_msg(tmp_path, monkeypatch):
    import extract_msg

    fakes = {
        "a.msg": FakeMsg("Sopimus", "Moi,\nasiakas kysyy sopimuksesta.\n\nt. Jonna", "<o1@x>", T0, attachments=["sopimus.pdf"]),
        "b.msg": FakeMsg("VS: Sopimus", "Vastaus.", "<o2@x>", T0 + dt.timedelta(hours=1), in_reply_to="<o1@x>"),
        "c.msg": FakeMsg("HTML", "", "<o3@x>", dt.datetime(2016, 9, 6, 8, 0),
                         html=b"<html><body><p>Asiakas kysyy <b>hinnasta</b>.</p></body></html>"),
    }
    opened = []

    def open_msg(path, **kw):
        name = Path(path).name
        if name == "broken.msg":
            raise OSError("not an OLE2 structured storage file")
        opened.append(fakes[name])
        return fakes[name]

    monkeypatch.setattr(extract_msg, "openMsg", open_msg)
    for name in [*fakes, "broken.msg"]:
        (tmp_path / name).write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 fake")
    cs = list(iter_contacts([tmp_path]))
    assert summarise(cs).messages == 4 and len(cs) == 3
    by = {Path(c.source).name: c for c in cs}
    assert by["a.msg"].id == "o1@x" and by["a.msg"].n_messages == 2 and by["a.msg"].text == "Moi,\nasiakas kysyy sopimuksesta."
    assert by["a.msg"].attachments == ("sopimus.pdf",) and by["a.msg"].channel == "email"
    assert by["c.msg"].text == "Asiakas kysyy hinnasta." and "html_converted" in by["c.msg"].flags
    assert by["c.msg"].sent_at.tzinfo is not None
    assert by["broken.msg"].error.startswith(f"{tmp_path / 'broken.msg'}: cannot read the Outlook message")
    assert all(m.closed for m in opened)
    # A single .msg file as an input.
    assert one(tmp_path / "c.msg").id == "o3@x"
