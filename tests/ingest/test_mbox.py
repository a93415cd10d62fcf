"""mbox splitting and offsets, threading (classifier.ingest.mbox, .threads, .headers)."""

from __future__ import annotations

import datetime as dt


from classifier.ingest import (
    iter_contacts,
    normalise_subject,
    summarise,
)

from .helpers import CORPUS, ROWS, SEP, T0, TZ, mail, one, raw_mail, write_csv, write_mbox  # noqa: F401


# --------------------------------------------------------------------------- mbox and threading


def test_mbox_threads_by_headers(tmp_path):
    msgs = [
        mail("Moi,\nasiakas muuttaa 1.10. Miten sopimus siirretään?\n\nt. Jonna", "Muutto", n=0),
        mail("Lasku on väärin, tarkistatteko?", "Lasku", n=1, date=T0 + dt.timedelta(minutes=5)),
        mail("Siirto tehdään uutena sopimuksena.\n\n> Moi,\n> asiakas muuttaa", "VS: Muutto", n=2,
             date=T0 + dt.timedelta(hours=1), reply_to=0, refs=[0]),
        mail("Kiitos!", "VS: VS: Muutto", n=3, date=T0 + dt.timedelta(hours=2), reply_to=2, refs=[0, 2]),
    ]
    p = write_mbox(tmp_path / "inbox.mbox", msgs)
    cs = list(iter_contacts([p]))
    assert [c.id for c in cs] == ["m0@ap.example", "m1@ap.example"]
    first = cs[0]
    assert first.n_messages == 3 and first.message_ids == ("m0@ap.example", "m2@ap.example", "m3@ap.example")
    assert first.sent_at == T0 and first.subject == "Muutto" and first.channel == "email"
    assert first.text == "Moi,\nasiakas muuttaa 1.10. Miten sopimus siirretään?"
    assert first.source == str(p) and first.position == 0 and first.error is None
    assert cs[1].position == 1 and cs[1].n_messages == 1
    s = summarise(cs)
    assert (s.contacts, s.messages, s.merged, s.errors) == (2, 4, 2, 0)
    assert "2 contacts from 4 messages" in s.describe()


def test_thread_request_is_earliest_message_even_when_filed_later(tmp_path):
    msgs = [
        mail("Tehty.", "VS: Vahvistus", n=1, date=T0 + dt.timedelta(days=1), reply_to=0, refs=[0]),
        mail("Asiakas ei saanut vahvistusta, lähetättekö uudestaan?", "Vahvistus", n=0, date=T0),
    ]
    c = one(write_mbox(tmp_path / "m.mbox", msgs))
    assert c.id == "m0@ap.example" and c.position == 1 and c.sent_at == T0 and c.n_messages == 2
    assert c.message_ids == ("m0@ap.example", "m1@ap.example")


def test_subject_fallback_threads_replies_without_references(tmp_path):
    msgs = [
        mail("Ensimmäinen kysymys sopimuksesta.", "Sopimus päättyy", n=0, date=T0),
        mail("Toinen, eri asiakas.", "Sopimus  PÄÄTTYY", n=1, date=T0 + dt.timedelta(hours=1)),
        mail("Vastaus ilman viiteotsakkeita.", "VS: RE:  Sopimus päättyy", n=2, date=T0 + dt.timedelta(hours=2)),
        mail("Välitetty uusi pyyntö.", "VL: Sopimus päättyy", n=3, date=T0 + dt.timedelta(hours=3)),
        mail("Vastaus aiheeseen jota ei ole.", "Vast: Ihan muu asia", n=4, date=T0 + dt.timedelta(hours=4)),
        mail("Toinen vastaus samaan.", "SV: Ihan muu asia", n=5, date=T0 + dt.timedelta(hours=5)),
    ]
    cs = list(iter_contacts([write_mbox(tmp_path / "m.mbox", msgs)]))
    by_id = {c.id: c for c in cs}
    # The reply joins the LATEST earlier thread with that subject (m1), not the first one.
    assert by_id["m0@ap.example"].n_messages == 1
    assert by_id["m1@ap.example"].n_messages == 2 and "threaded_by_subject" in by_id["m1@ap.example"].flags
    # A forward starts a new contact; replies to a thread not in the mailbox thread among themselves.
    assert by_id["m3@ap.example"].n_messages == 1
    assert by_id["m4@ap.example"].n_messages == 2 and "m5@ap.example" not in by_id
    assert summarise(cs).messages == len(msgs)


def test_normalise_subject():
    assert normalise_subject("VS: RE: Vast:SV: Fwd: FW:  VL: TR: Sopimus   Päättyy ") == "sopimus päättyy"
    assert normalise_subject("Re[2]: vs: asia") == "asia"
    assert normalise_subject(None) == "" and normalise_subject("VS:") == ""


def test_mboxrd_from_lines_and_body_from_text(tmp_path):
    body = "Moi,\nFrom now on the customer wants paper invoices.\nFrom 10:00 to 2016 he is away\n"
    p = write_mbox(tmp_path / "m.mbox", [mail(body, n=0)])
    c = one(p)
    assert "From now on the customer" in c.text and c.n_messages == 1


def test_empty_message_ids_do_not_merge_messages(tmp_path):
    msgs = [raw_mail({"From": "a@b.example", "Subject": f"Asia {i}", "Date": "Mon, 5 Sep 2016 10:1%d:00 +0300" % i,
                      "Message-ID": "<>"}, f"Viesti numero {i}.\n".encode()) for i in range(3)]
    cs = list(iter_contacts([write_mbox(tmp_path / "e.mbox", msgs)]))
    assert len(cs) == 3 and [c.n_messages for c in cs] == [1, 1, 1]
    assert len({c.id for c in cs}) == 3 and all("<>" not in c.id for c in cs)


def test_duplicate_message_id_is_not_merged_and_keeps_both_texts(tmp_path, parser):
    a = mail("Ensimmäinen asia: sopimus.", subject="Sopimus", n=1)
    b = mail("Toinen asia: lasku.", subject="Lasku", n=1, date=T0 + dt.timedelta(hours=1))
    cs = list(iter_contacts([write_mbox(tmp_path / "d.mbox", [a, b])]))
    assert [c.text for c in cs] == ["Ensimmäinen asia: sopimus.", "Toinen asia: lasku."]
    assert cs[0].id == "m1@ap.example" and cs[1].id != cs[0].id and "duplicate_message_id" in cs[1].flags
