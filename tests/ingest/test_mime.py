"""MIME decoding, charsets, HTML, attachments (classifier.ingest.mime, .charset, .html)."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from classifier.ingest import (
    QUOTE_MARKER,
    iter_contacts,
)

from .helpers import CORPUS, ROWS, SEP, T0, TZ, mail, one, raw_mail, write_csv, write_mbox  # noqa: F401


# --------------------------------------------------------------------------- charsets, HTML, attachments

CHARSET_CASES = {
    "utf8_8bit": (raw_mail({"Subject": "Sopimus", "Content-Type": "text/plain; charset=utf-8",
                            "Content-Transfer-Encoding": "8bit"}, "Hyvää päivää, sähkö €".encode()),
                  "Hyvää päivää, sähkö €", False),
    "latin1_qp": (raw_mail({"Subject": "x", "Content-Type": "text/plain; charset=iso-8859-1",
                            "Content-Transfer-Encoding": "quoted-printable"}, b"Hyv=E4=E4 p=E4iv=E4=E4, =\nkiitos"),
                  "Hyvää päivää, kiitos", False),
    "latin9_euro": (raw_mail({"Subject": "x", "Content-Type": "text/plain; charset=iso-8859-15",
                              "Content-Transfer-Encoding": "8bit"}, "Lasku 120 € on väärin".encode("iso-8859-15")),
                    "Lasku 120 € on väärin", False),
    "cp1252": (raw_mail({"Subject": "x", "Content-Type": "text/plain; charset=windows-1252",
                         "Content-Transfer-Encoding": "8bit"}, "“Määräaikainen” – 5 €".encode("cp1252")),
               "“Määräaikainen” – 5 €", False),
    "latin1_label_cp1252_bytes": (raw_mail({"Subject": "x", "Content-Type": "text/plain; charset=iso-8859-1"},
                                           "Hinta 5 € – ok".encode("cp1252")), "Hinta 5 € – ok", False),
    "base64": (raw_mail({"Subject": "x", "Content-Type": "text/plain; charset=utf-8",
                         "Content-Transfer-Encoding": "base64"},
                        __import__("base64").encodebytes("Sähkösopimus päättyy.".encode())),
               "Sähkösopimus päättyy.", False),
    "missing_charset_latin1": (raw_mail({"Subject": "x", "Content-Type": "text/plain"}, "Hyvää yötä".encode("latin-1")),
                               "Hyvää yötä", True),
    "utf8_label_latin1_bytes": (raw_mail({"Subject": "x", "Content-Type": "text/plain; charset=utf-8"},
                                         "Hyvää yötä".encode("latin-1")), "Hyvää yötä", True),
    "latin1_label_utf8_bytes": (raw_mail({"Subject": "x", "Content-Type": "text/plain; charset=iso-8859-1"},
                                         "Hyvää yötä".encode()), "Hyvää yötä", True),
    "unknown_charset": (raw_mail({"Subject": "x", "Content-Type": "text/plain; charset=x-mystery"},
                                 "Hyvää yötä".encode()), "Hyvää yötä", True),
}


@pytest.mark.parametrize("case", sorted(CHARSET_CASES))
def test_charsets(tmp_path, parser, case):
    data, expected, repaired = CHARSET_CASES[case]
    p = tmp_path / "m.eml"
    p.write_bytes(data)
    c = one(p)
    assert c.error is None
    assert c.text == expected
    assert ("charset_repaired" in c.flags) == repaired


def test_undecodable_bytes_are_replaced_not_fatal(tmp_path, parser):
    p = tmp_path / "m.eml"
    p.write_bytes(raw_mail({"Subject": "x", "Content-Type": "text/plain; charset=utf-8"}, b"ok \x81\x8d\x9d loppu"))
    c = one(p)
    assert c.error is None and c.text.startswith("ok ") and c.text.endswith("loppu")
    assert "charset_repaired" in c.flags


def test_encoded_subjects(tmp_path):
    subjects = {
        "=?iso-8859-1?q?Sopimuksen_p=E4=E4tt=E4minen?=": "Sopimuksen päättäminen",
        "VS: =?utf-8?b?U8OkaGvDtnNvcGltdXM=?= =?utf-8?b?IOKCrA==?=": "VS: Sähkösopimus €",
        "=?windows-1252?Q?Lasku_=96_virhe?=": "Lasku – virhe",
    }
    for i, (enc, dec) in enumerate(subjects.items()):
        (tmp_path / f"{i}.eml").write_bytes(raw_mail({"Subject": enc, "Message-ID": f"<s{i}@x>"}, b"teksti"))
    (tmp_path / "8bit.eml").write_bytes(raw_mail({"Subject": "Hyvää päivää".encode("latin-1"), "Message-ID": "<s9@x>"},
                                                 b"teksti"))
    cs = {c.id: c for c in iter_contacts([tmp_path])}
    for i, dec in enumerate(subjects.values()):
        assert cs[f"s{i}@x"].subject == dec
    assert cs["s9@x"].subject == "Hyvää päivää" and "charset_repaired" in cs["s9@x"].flags


def test_html_only_body_is_converted(tmp_path, parser):
    html = ("<html><head><style>p {color: red}</style><script>var x = 1;</script></head><body>"
            "<div>Moi,</div><div>asiakas&nbsp;kysyy <b>hinnasta</b>.<br>Toinen rivi</div>"
            "<ul><li>Lumo</li><li>Kiinteä</li></ul><p>t. Jonna</p></body></html>")
    m = EmailMessage()
    m["Subject"] = "Hinta"
    m["Message-ID"] = "<h@x>"
    m.set_content(html, subtype="html")
    p = tmp_path / "h.eml"
    p.write_bytes(m.as_bytes())
    c = one(p)
    assert c.text == "Moi,\nasiakas kysyy hinnasta.\nToinen rivi\nLumo\nKiinteä"
    assert "html_converted" in c.flags and "color" not in c.text and "var x" not in c.text


def test_multipart_alternative_prefers_plain(tmp_path, parser):
    m = mail("Tekstiversio pyynnöstä.", html="<p>HTML-versio pyynnöstä.</p>")
    p = tmp_path / "a.eml"
    p.write_bytes(m.as_bytes())
    c = one(p)
    assert c.text == "Tekstiversio pyynnöstä." and "html_converted" not in c.flags


def test_html_blockquote_is_a_quote(tmp_path, parser):
    html = ("<div>Asiakkaan viesti alla, mitä vastaan?</div><div class='gmail_quote'>"
            "<div>ma 5.9.2016 klo 10.12 Matti &lt;matti@example.com&gt; kirjoitti:<br></div>"
            "<blockquote><div>Miksi laskuni on kaksinkertainen?</div></blockquote></div>")
    m = EmailMessage()
    m["Subject"] = "Lasku"
    m.set_content(html, subtype="html")
    p = tmp_path / "q.eml"
    p.write_bytes(m.as_bytes())
    c = one(p)
    assert c.text == f"Asiakkaan viesti alla, mitä vastaan?\n\n{QUOTE_MARKER}\nMiksi laskuni on kaksinkertainen?"


def test_attachment_names_recorded_content_dropped(tmp_path, parser):
    m = mail("Liitteenä lasku, onko summa oikein?")
    m.add_attachment(b"%PDF-1.4 secret-bytes", maintype="application", subtype="pdf", filename="lasku_syyskuu.pdf")
    m.add_attachment(b"\x89PNG....", maintype="image", subtype="png", filename="kuvakaappaus äö.png")
    p = tmp_path / "att.eml"
    p.write_bytes(m.as_bytes())
    c = one(p)
    assert c.attachments == ("lasku_syyskuu.pdf", "kuvakaappaus äö.png")
    assert c.text == "Liitteenä lasku, onko summa oikein?" and "secret" not in c.text


def test_forwarded_message_attachment_is_kept_as_quote(tmp_path, parser):
    inner = mail("Hei,\nhaluan irtisanoa sopimukseni 31.10.\n\nTerveisin\nMatti Meikäläinen", "Irtisanominen", n=9)
    outer = mail("Asiakkaan viesti liitteenä, voiko näin tehdä?", "VL: Irtisanominen", n=1)
    outer.add_attachment(inner)
    p = tmp_path / "fw.eml"
    p.write_bytes(outer.as_bytes())
    c = one(p)
    assert c.text == (f"Asiakkaan viesti liitteenä, voiko näin tehdä?\n\n{QUOTE_MARKER}\n"
                      "Hei,\nhaluan irtisanoa sopimukseni 31.10.")
    assert c.attachments == ("Irtisanominen.eml",)


def test_missing_mime_boundary_falls_back_to_the_raw_body(tmp_path, parser):
    raw = raw_mail({"From": "a@b.example", "Subject": "Sopimus", "Date": "Mon, 5 Sep 2016 10:12:00 +0300",
                    "Message-ID": "<x1@b.example>", "MIME-Version": "1.0",
                    "Content-Type": 'multipart/mixed; boundary="EIOLE"'},
                   "--TOINEN\nContent-Type: text/plain; charset=utf-8\n\nAsiakas haluaa irtisanoa sopimuksen.\n--TOINEN--\n".encode())
    (c,) = iter_contacts([write_mbox(tmp_path / "b.mbox", [raw])])
    assert "Asiakas haluaa irtisanoa sopimuksen." in c.text and "boundary_not_found" in c.flags
