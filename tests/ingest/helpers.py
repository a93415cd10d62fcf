"""Helpers of the ingest tests: messages, mboxes and tables built in the test."""

from __future__ import annotations

import csv
import datetime as dt
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from classifier.ingest import Contact, iter_contacts

from ..conftest import CORPUS  # noqa: F401

TZ = dt.timezone(dt.timedelta(hours=3))
T0 = dt.datetime(2016, 9, 5, 10, 12, tzinfo=TZ)
SEP = b"From jonna@ap.example Mon Sep  5 10:12:00 2016\n"


def mail(body: str = "Moi,\nasiakas kysyy sopimuksesta.", subject: str = "Sopimus", n: int | None = 0,
         date: dt.datetime | None = T0, reply_to: int | None = None, refs: list[int] | None = None,
         charset: str = "utf-8", cte: str | None = None, html: str | None = None) -> EmailMessage:
    """A small message from an agent to the back office."""
    m = EmailMessage()
    m["From"] = "Jonna Virtanen <jonna@ap.example>"
    m["To"] = "sopimustiimi@sahko.example"
    m["Subject"] = subject
    if date is not None:
        m["Date"] = format_datetime(date)
    if n is not None:
        m["Message-ID"] = f"<m{n}@ap.example>"
    if reply_to is not None:
        m["In-Reply-To"] = f"<m{reply_to}@ap.example>"
    if refs:
        m["References"] = " ".join(f"<m{r}@ap.example>" for r in refs)
    m.set_content(body, charset=charset, cte=cte)
    if html is not None:
        m.add_alternative(html, subtype="html")
    return m


def raw_mail(headers: dict[str, str | bytes], body: bytes) -> bytes:
    """A message built byte by byte (for charsets and damage the email package would not write)."""
    out = b""
    for k, v in headers.items():
        out += k.encode() + b": " + (v if isinstance(v, bytes) else v.encode()) + b"\n"
    return out + b"\n" + body


def write_mbox(path: Path, messages: list, between: bytes = b"\n") -> Path:
    """Write messages (EmailMessage or raw bytes) as an mbox."""
    with open(path, "wb") as fh:
        for m in messages:
            data = m if isinstance(m, bytes) else m.as_bytes()
            fh.write(SEP + data.replace(b"\nFrom ", b"\n>From ") + between)
    return path


def one(path_or_paths, **kw) -> Contact:
    """The single contact of an input."""
    cs = list(iter_contacts(path_or_paths if isinstance(path_or_paths, list) else [path_or_paths], **kw))
    assert len(cs) == 1, cs
    return cs[0]


ROWS = [
    {"id": "r1", "channel": "phone", "sent_at": "2016-09-05T10:12:00+03:00", "subject": None,
     "text": "AP/Jonna soitti: asiakas haluaa e-laskun.", "topic": "sahkoiset_palvelut", "guideline_id": "G-1",
     "avoidable": True},
    {"id": "r2", "channel": "email", "sent_at": "2016-09-06T11:00:00+03:00", "subject": "Lasku",
     "text": "Lasku on väärin.", "topic": None, "guideline_id": None, "avoidable": None},
]


def write_csv(path: Path, rows: list[dict], fields: list[str] | None = None) -> Path:
    fields = fields or list(rows[0])
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in fields})
    return path
