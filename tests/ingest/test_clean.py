"""Quotes, signatures, disclaimers and footers (classifier.ingest.clean)."""

from __future__ import annotations

import datetime as dt

import pytest

from classifier.ingest import (
    QUOTE_MARKER,
    clean_email_text,
    iter_contacts,
)

from .helpers import CORPUS, ROWS, SEP, T0, TZ, mail, one, raw_mail, write_csv, write_mbox  # noqa: F401


# --------------------------------------------------------------------------- quotes and signatures

OUTLOOK_FI = """Moi,

asiakas kysyy alla, voiko määräaikaisen sopimuksen päättää kesken. Mitä vastaan?

Ystävällisin terveisin
Jonna Virtanen
Asiakaspalveluneuvoja
AP Palvelut Oy
puh. 040 123 4567

Tämä viesti voi sisältää luottamuksellista tietoa. Jos olet saanut viestin erehdyksessä, ilmoita lähettäjälle.

________________________________
Lähettäjä: Matti Meikäläinen <matti@example.fi>
Lähetetty: maanantai 5. syyskuuta 2016 9.58
Vastaanottaja: Asiakaspalvelu <asiakaspalvelu@example.fi>
Aihe: sopimus

Hei,
muutan lokakuussa ja haluan lopettaa sopimuksen. Onnistuuko ilman kuluja?

Terveisin
Matti

Lähetetty iPhonesta
"""

OUTLOOK_EN = """Hi,
the customer asks below whether the fixed-term contract can end early.

Br,
Jonna

-----Original Message-----
From: Matti Meikäläinen [mailto:matti@example.fi]
Sent: Monday, September 5, 2016 9:58 AM
To: Customer Service
Subject: contract

Hello, I am moving in October. Can I cancel my contract?

Sent from my iPhone

This e-mail may contain confidential information. If you are not the intended recipient, delete it.
"""

GMAIL_FI = """Moi, asiakas ei pääse Online-palveluun, ks. alla.
terv. Mikko

ma 5.9.2016 klo 10.12 Matti Meikäläinen <matti@example.com>
kirjoitti:

> Hei, en pääse kirjautumaan. Salasana ei kelpaa.
>
> ti 30.8.2016 klo 9.00 Asiakaspalvelu <ap@example.fi> kirjoitti:
>> Kiitos viestistäsi.
"""

GMAIL_EN = """Could you check this invoice? Customer's mail below.

On Mon, Sep 5, 2016 at 10:12 AM Matti Meikäläinen <matti@example.com> wrote:

> The invoice is wrong, I was charged twice.
> --
> Matti

--
Jonna Virtanen | AP Palvelut
"""


def test_outlook_fi_forward_kept_signature_and_disclaimer_removed():
    assert clean_email_text(OUTLOOK_FI) == (
        "Moi,\n\nasiakas kysyy alla, voiko määräaikaisen sopimuksen päättää kesken. Mitä vastaan?\n\n"
        f"{QUOTE_MARKER}\nHei,\nmuutan lokakuussa ja haluan lopettaa sopimuksen. Onnistuuko ilman kuluja?"
    )


def test_outlook_en_forward():
    assert clean_email_text(OUTLOOK_EN) == (
        "Hi,\nthe customer asks below whether the fixed-term contract can end early.\n\n"
        f"{QUOTE_MARKER}\nHello, I am moving in October. Can I cancel my contract?"
    )


def test_gmail_fi_and_en_attribution_and_nested_quotes():
    assert clean_email_text(GMAIL_FI) == (
        f"Moi, asiakas ei pääse Online-palveluun, ks. alla.\n\n{QUOTE_MARKER}\n"
        "Hei, en pääse kirjautumaan. Salasana ei kelpaa."
    )
    assert clean_email_text(GMAIL_EN) == (
        f"Could you check this invoice? Customer's mail below.\n\n{QUOTE_MARKER}\nThe invoice is wrong, I was charged twice."
    )


def test_replies_drop_all_quoted_text():
    assert clean_email_text(OUTLOOK_FI, first=False) == (
        "Moi,\n\nasiakas kysyy alla, voiko määräaikaisen sopimuksen päättää kesken. Mitä vastaan?"
    )
    assert clean_email_text("Selvä, kiitos.\n\n> Tee näin.\n", first=False) == "Selvä, kiitos."


@pytest.mark.parametrize("text, expected", [
    ("Moi,\nasiakas haluaa paperilaskun.\n\nt. Jonna", "Moi,\nasiakas haluaa paperilaskun."),
    ("Asiakas haluaa paperilaskun.\nTerv. Jonna / AP", "Asiakas haluaa paperilaskun."),
    ("Asiakas haluaa paperilaskun.\n\nTerveisin,\nJonna Virtanen\nAP Palvelut Oy\n+358 40 123 4567\njonna@ap.example",
     "Asiakas haluaa paperilaskun."),
    ("Customer wants paper invoices.\n\nBr,\nJonna", "Customer wants paper invoices."),
    ("Customer wants paper invoices.\n\nKind regards\nJonna Virtanen\nCustomer Service Advisor",
     "Customer wants paper invoices."),
    ("Asiakas haluaa paperilaskun.\n-- \nJonna Virtanen\nwww.ap.example", "Asiakas haluaa paperilaskun."),
    ("Asiakas haluaa paperilaskun.\n\nKiitos!\nJonna", "Asiakas haluaa paperilaskun."),
    ("Asiakas haluaa paperilaskun.\n\nLähetetty Android-laitteesta", "Asiakas haluaa paperilaskun."),
    ("Asiakas haluaa paperilaskun.\n\nLähetetty iPhonesta", "Asiakas haluaa paperilaskun."),
    ("Asiakas haluaa paperilaskun.\n\nJonna", "Asiakas haluaa paperilaskun."),
    # Not signatures: content that merely starts like one.
    ("Kiitos jos ehdit katsoa tämän tänään, asiakas odottaa.\nSopimusnumero 123456",
     "Kiitos jos ehdit katsoa tämän tänään, asiakas odottaa.\nSopimusnumero 123456"),
    ("Asiakkaan yhteystiedot:\npuh. 040 765 4321", "Asiakkaan yhteystiedot:\npuh. 040 765 4321"),
    ("Terveysasema maksaa laskun, onko ok?", "Terveysasema maksaa laskun, onko ok?"),
])
def test_signatures(text, expected):
    assert clean_email_text(text) == expected


def test_bottom_posted_reply_keeps_own_words():
    text = "> Asiakas: onko kaksi sopimusta mahdollista?\n\nOnko tämä mahdollista samalle asiakkaalle?\n-Jonna"
    assert clean_email_text(text) == (
        f"Onko tämä mahdollista samalle asiakkaalle?\n\n{QUOTE_MARKER}\nAsiakas: onko kaksi sopimusta mahdollista?"
    )


def test_keep_stripped_holds_signature_quotes_and_replies(tmp_path):
    msgs = [
        mail(OUTLOOK_FI, "Määräaikainen", n=0),
        mail("Voi päättää, kulut ohjeen G-012 mukaan.\n\nt. Back office\n\n" + "\n".join("> " + x for x in OUTLOOK_FI.splitlines()),
             "VS: Määräaikainen", n=1, date=T0 + dt.timedelta(hours=1), reply_to=0, refs=[0]),
        mail("Kiitos, selvä!\n\nLähetetty iPhonesta", "VS: VS: Määräaikainen", n=2, date=T0 + dt.timedelta(hours=2),
             reply_to=1, refs=[0, 1]),
        mail("Toinen pyyntö.", "Muu", n=3, date=T0 + dt.timedelta(minutes=1)),
    ]
    cs = list(iter_contacts([write_mbox(tmp_path / "m.mbox", msgs)], keep_stripped=True))
    assert [c.id for c in cs] == ["m0@ap.example", "m3@ap.example"]
    st = cs[0].stripped
    assert st["replies"] == ["Voi päättää, kulut ohjeen G-012 mukaan.", ""]  # thanks alone is no request
    assert "Ystävällisin terveisin" in st["signature"] and "luottamuksellista" in st["signature"]
    assert "Lähetetty iPhonesta" in st["signature"] and "Terveisin\nMatti" in st["signature"]
    assert cs[1].stripped == {"quoted": "", "signature": "", "replies": []}
    assert all(c.stripped is None for c in iter_contacts([tmp_path / "m.mbox"]))
