#!/usr/bin/env python3
"""Build the example data of the library's main job (standard library only).

Writes, next to this script:

* ``syyskuu-2016.mbox``: September 2016 support-request emails from customer
  service to the contract team, 156 threads (first messages timed as in the
  thesis's table 2: 117 weekdays 08:30-16:00, 30 other weekday times,
  9 Saturdays), about 40 with replies, in the encodings real mail clients use.
* ``syyskuu-2016.labels.jsonl``: the true labels, one line per thread.
* ``puhelut-syyskuu-2016.csv``: 297 phone notes of September 2016.
* ``yhteydenotot-2016-02-08.jsonl``: unlabelled requests 15.2.-31.8.2016, so
  that with September the totals are 3,564 calls and 1,301 emails.

Request texts and labels come from ``corpus/generate.py``'s ``generate()``.
Deterministic: run ``python corpus/examples/build_examples.py`` to rebuild
byte-identical files; it verifies them and prints the monthly table.
"""

from __future__ import annotations

import csv
import datetime as dt
import email.policy
import email.utils
import html
import importlib.util
import io
import json
import mailbox
import random
import re
import struct
import sys
import zlib
from collections import Counter
from email.message import EmailMessage
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent

_spec = importlib.util.spec_from_file_location("corpus_generate", CORPUS / "generate.py")
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)

TZ = gen.TZ
UTC = dt.timezone.utc
SEED = 909

MBOX = HERE / "syyskuu-2016.mbox"
LABELS = HERE / "syyskuu-2016.labels.jsonl"
CALLS = HERE / "puhelut-syyskuu-2016.csv"
EARLIER = HERE / "yhteydenotot-2016-02-08.jsonl"

AGENT_DOMAIN = "palvelukumppani.example"
TEAM_DOMAIN = "sahkoyhtio.example"
TEAM_ADDRESS = f"sopimustiimi@{TEAM_DOMAIN}"

# Thesis table 2 (September 2016 email send times) and totals 15.2.-30.9.2016.
N_THREADS = 156
SLOT_COUNTS = {"weekday_office": 117, "weekday_other": 30, "saturday": 9}
N_CALLS_SEPT = 297
TOTAL_PHONE = 3564
TOTAL_EMAIL = 1301
# Monthly volumes before September (figure 4: falling as the service settled).
PHONE_MONTHS = {(2016, 2): 450, (2016, 3): 720, (2016, 4): 590, (2016, 5): 480,
                (2016, 6): 390, (2016, 7): 327, (2016, 8): 310}
EMAIL_MONTHS = {(2016, 5): 380, (2016, 6): 300, (2016, 7): 250, (2016, 8): 215}
PHONE_START = dt.date(2016, 2, 15)   # phone service outsourced
EMAIL_START = dt.date(2016, 5, 2)    # email service outsourced (first weekday of May)

#: Calls were mostly about making contracts.
PHONE_TOPIC_WEIGHTS = {
    "sopimuksen_tekeminen": 45, "voimassa_oleva_sopimus": 12, "sopimuksen_paattaminen": 10,
    "vahvistuksen_uudelleenlahetys": 4, "ohjeistus": 6, "sahkoiset_palvelut": 4, "reklamaatio": 2,
    "selvityspyynto": 7, "tuotteet_ja_hinnastot": 6, "kulutusneuvonta": 1, "vaara_vastaanottaja": 3,
}

BACK_OFFICE = [("Marja", "Kallio"), ("Pirjo", "Lehtinen"), ("Tapio", "Nurmela"), ("Hannele", "Ruotsalainen"),
               ("Kimmo", "Vartiainen"), ("Satu", "Hellström"), ("Jaana", "Tikkanen"), ("Reijo", "Ahola")]

REPLIES = {
    "sopimuksen_tekeminen": [
        "Sopimuksen voi tehdä normaalisti, ohje on intrassa kohdassa Sopimukset > Uusi sopimus.",
        "Aloituspäiväksi laitetaan avainten luovutuspäivä, ja vanhan osoitteen sopimus päätetään samalla.",
        "Tein sopimuksen valmiiksi, vahvistus lähtee asiakkaalle huomenna.",
        "Virhe johtui käyttöpaikkatunnuksesta, korjasin sen. Sopimuksen voi nyt tallentaa.",
        "Tähän tarvitaan y-tunnus ja nimenkirjoitusoikeus, muuten sopimus tehdään kuten kuluttajalle.",
    ],
    "voimassa_oleva_sopimus": [
        "Tuotevaihdon voit tehdä itse CRM:ssä, muutos tulee voimaan seuraavan kuun alusta.",
        "Päivitin tiedot sopimukselle, asiakkaan ei tarvitse tehdä mitään.",
        "Määräaikainen jatkuu toistaiseksi voimassa olevana, jos asiakas ei tee mitään.",
        "Tähän tarvitaan molempien suostumus, ohje löytyy intrasta.",
    ],
    "sopimuksen_paattaminen": [
        "Sopimus on nyt päätetty, loppulasku lähtee automaattisesti.",
        "Päättymispäiväksi laitetaan muuttopäivä. Mittarilukema tulee verkkoyhtiöltä.",
        "Kuolintodistusta ei tarvita, kuolinpesän yhteyshenkilön tiedot riittävät.",
        "Määräaikaisen voi päättää kesken vain muuton vuoksi, muuten peritään korvaus.",
    ],
    "vahvistuksen_uudelleenlahetys": [
        "Vahvistus lähetetty uudelleen tänään.",
        "Lähetin vahvistuksen asiakkaan sähköpostiin.",
        "Vahvistus on postitettu uudestaan oikeaan osoitteeseen.",
    ],
    "ohjeistus": [
        "Ohje löytyy intrasta, ks. Asiakaspalvelu > Ohjeet.",
        "Tunnistamiseen riittää nimi, henkilötunnus ja osoite.",
        "Valtakirjassa pitää olla molempien nimet, asia ja allekirjoitus. Kuva sähköpostilla kelpaa.",
        "Näitä tietoja ei saa luovuttaa puhelimessa, pyydä kirjallinen pyyntö.",
    ],
    "sahkoiset_palvelut": [
        "Tunnukset avattu, asiakas voi kirjautua uudelleen.",
        "Vika on tiedossa ja IT korjaa sitä parhaillaan.",
        "Kulutustiedot päivittyvät palveluun yleensä parin päivän viiveellä.",
    ],
    "reklamaatio": [
        "Otimme reklamaation käsittelyyn ja olemme asiakkaaseen yhteydessä viikon sisällä.",
        "Korjasin virheen ja hyvitys näkyy asiakkaan seuraavalla laskulla.",
        "Kiitos, kirjattu reklamaatioksi. Älä lupaa asiakkaalle hyvitystä ennen kuin olemme käsitelleet asian.",
    ],
    "selvityspyynto": [
        "Selvitin asian: vaihtosanoma oli jäänyt jumiin, nyt korjattu.",
        "Ylimääräinen sopimus on poistettu, asiakkaalla on nyt yksi voimassa oleva sopimus.",
        "Sopimus on nyt käynnistynyt, aloituspäivä korjattu.",
        "Asia on selvityksessä verkkoyhtiön kanssa, palaan kun tiedän lisää.",
    ],
    "tuotteet_ja_hinnastot": [
        "Voimassa oleva hinnasto löytyy intrasta kohdasta Hinnastot.",
        "Kampanjan ehdot ovat kampanjamateriaalissa, etu koskee vain uusia asiakkaita.",
        "Yrityshinnat ovat alv 0 %, hinnasto on intrassa.",
    ],
    "kulutusneuvonta": [
        "Kulutuksen nousu johtuu todennäköisesti lämmityskaudesta, koulutusmateriaalissa on vertailu.",
        "Voit kertoa asiakkaalle säästövinkit, ne löytyvät intrasta.",
    ],
    "vaara_vastaanottaja": [
        "Tämä kuuluu laskutustiimille, ohjaa asiakas heille.",
        "Tämä on verkkoyhtiön asia, asiakas voi soittaa heidän asiakaspalveluunsa.",
        "Tämä ei kuulu sopimustiimille, laita viesti omalle esimiehellesi.",
    ],
}
FOLLOW_UPS = [
    "Kiitos! Kerroin asiakkaalle.",
    "Kiitos nopeasta vastauksesta.",
    "Asiakas soitti uudestaan ja kysyi vielä, milloin asia on hoidossa?",
    "Ok, kiitos. Entä jos asiakas ei hyväksy tätä?",
    "Kiitos, tämä selvisi.",
    "Vielä tarkennus: asiakas toivoo vastausta sähköpostilla.",
]
NUDGES = [
    "Hei, tähän ei ole vielä tullut vastausta ja asiakas kyselee. Voisitteko katsoa?",
    "Muistutus tästä, asiakas odottaa.",
    "Onko tähän jo tullut jotain tietoa?",
]
REPLY_OPENERS = ["Hei,", "Hei {first},", "Moi {first},", "Hei!", "Hei {first}!"]
REPLY_CLOSERS = ["Ystävällisin terveisin", "Ystävällisin terveisin", "Terveisin", "Yst. terv."]
WEEKDAYS_FI = ["ma", "ti", "ke", "to", "pe", "la", "su"]
MONTHS_GEN_FI = ["tammikuuta", "helmikuuta", "maaliskuuta", "huhtikuuta", "toukokuuta", "kesäkuuta",
                 "heinäkuuta", "elokuuta", "syyskuuta", "lokakuuta", "marraskuuta", "joulukuuta"]


# ---------------------------------------------------------------------------
# Times
# ---------------------------------------------------------------------------

def slot_of(when: dt.datetime) -> str:
    """Table-2 slot of a send time (Helsinki local)."""
    local = when.astimezone(TZ)
    minute = local.hour * 60 + local.minute
    if local.weekday() == 6:
        return "sunday"
    if local.weekday() == 5:
        return "saturday"
    return "weekday_office" if 8 * 60 + 30 <= minute < 16 * 60 else "weekday_other"


def month_days(year: int, month: int, first: dt.date | None = None) -> list[dt.date]:
    d = dt.date(year, month, 1)
    out = []
    while d.month == month:
        if first is None or d >= first:
            out.append(d)
        d += dt.timedelta(days=1)
    return out


def _at(d: dt.date, minute: int) -> dt.datetime:
    return dt.datetime(d.year, d.month, d.day, minute // 60, minute % 60, tzinfo=TZ)


def draw_slot_time(rng: random.Random, days: list[dt.date], slot: str) -> dt.datetime:
    business = [d for d in days if gen.is_business_day(d)]
    if slot == "weekday_office":
        return _at(rng.choice(business), gen.business_minute(rng))
    if slot == "weekday_other":
        weekdays = [d for d in days if d.weekday() < 5]
        m = rng.randrange(6 * 60 + 30, 8 * 60 + 30) if rng.random() < 0.3 else rng.randrange(16 * 60, 23 * 60)
        return _at(rng.choice(weekdays), m)
    if slot == "saturday":
        return _at(rng.choice([d for d in days if d.weekday() == 5]), rng.randrange(8 * 60, 20 * 60))
    return _at(rng.choice([d for d in days if d.weekday() == 6]), rng.randrange(10 * 60, 21 * 60))


def email_times(rng: random.Random, days: list[dt.date], n: int, counts: dict | None = None) -> list[dt.datetime]:
    """n email send times; exact slot counts if given, else table-2 proportions."""
    if counts is None:
        office = round(n * 117 / 156)
        sat = round(n * 9 / 156)
        counts = {"weekday_office": office, "saturday": sat, "weekday_other": n - office - sat}
    times = [draw_slot_time(rng, days, slot) for slot, c in counts.items() for _ in range(c)]
    return sorted(times)


def phone_times(rng: random.Random, days: list[dt.date], n: int) -> list[dt.datetime]:
    business = [d for d in days if gen.is_business_day(d)]
    return sorted(_at(rng.choice(business), gen.business_minute(rng)) for _ in range(n))


def next_office_time(rng: random.Random, t: dt.datetime) -> dt.datetime:
    """The first moment at or after t when the back office answers email."""
    t = t.astimezone(TZ)
    minute = t.hour * 60 + t.minute
    if gen.is_business_day(t.date()) and 8 * 60 + 30 <= minute < 16 * 60:
        return t
    d = t.date() if (minute < 8 * 60 + 30 and gen.is_business_day(t.date())) else t.date() + dt.timedelta(days=1)
    while not gen.is_business_day(d):
        d += dt.timedelta(days=1)
    return _at(d, 8 * 60 + 30 + rng.randrange(0, 120))


# ---------------------------------------------------------------------------
# Message building
# ---------------------------------------------------------------------------

def png_bytes(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def pdf_bytes(title: str) -> bytes:
    text = title.encode("latin-1", "replace")
    stream = b"BT /F1 12 Tf 72 720 Td (" + text + b") Tj ET"
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(out.tell())
        out.write(f"{i} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def to_html(text: str, outlook: bool) -> str:
    paras = re.split(r"\n\s*\n", text.strip())
    if outlook:
        body = "\n".join('<p class="MsoNormal">' + "<br>\n".join(html.escape(l) for l in p.split("\n"))
                         + "<o:p></o:p></p>\n<p class=\"MsoNormal\"><o:p>&nbsp;</o:p></p>" for p in paras)
        return ('<html xmlns:o="urn:schemas-microsoft-com:office:office">\n<head>\n'
                '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n'
                '<style><!-- p.MsoNormal {margin:0cm; font-size:11.0pt; font-family:"Calibri",sans-serif;} --></style>\n'
                '</head>\n<body lang="FI" link="#0563C1">\n<div class="WordSection1">\n' + body
                + "\n</div>\n</body>\n</html>\n")
    body = "\n".join("<div>" + "<br>".join(html.escape(l) for l in p.split("\n")) + "</div><div><br></div>"
                     for p in paras)
    return ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head>'
            '<body style="font-family: Arial, sans-serif; font-size: 10pt">\n' + body + "\n</body></html>\n")


def unixfrom(address: str, when: dt.datetime) -> str:
    u = when.astimezone(UTC)
    return f"From {address} {u:%a %b} {u.day:2d} {u:%H:%M:%S %Y}"


def message_id(rng: random.Random, when: dt.datetime, domain: str) -> str:
    return f"<{when.astimezone(UTC):%Y%m%d%H%M%S}.{rng.getrandbits(48):012X}@{domain}>"


def fix_boundaries(msg: EmailMessage, rng: random.Random) -> None:
    """Set deterministic MIME boundaries (the email package would draw random ones)."""
    for part in msg.walk():
        if part.is_multipart():
            part.set_boundary(f"----=_NextPart_{rng.getrandbits(32):08X}.{rng.getrandbits(32):08X}")


def set_text(msg: EmailMessage, text: str, charset: str, cte: str) -> None:
    try:
        text.encode(charset)
    except UnicodeEncodeError:
        charset = "utf-8"
    msg.set_content(text, charset=charset, cte=cte)


def attribution(prev: dict) -> str:
    local = prev["date"].astimezone(TZ)
    return (f"{WEEKDAYS_FI[local.weekday()]} {local.day}.{local.month}.{local.year} klo "
            f"{local.hour}.{local.minute:02d} {prev['from_name']} <{prev['from_addr']}> kirjoitti:")


def quote_block(rng: random.Random, prev: dict) -> str:
    local = prev["date"].astimezone(TZ)
    if rng.random() < 0.5:
        return attribution(prev) + "\n" + "\n".join(("> " + l) if l else ">" for l in prev["text"].split("\n"))
    return ("-----Alkuperäinen viesti-----\n"
            f"Lähettäjä: {prev['from_name']} [mailto:{prev['from_addr']}]\n"
            f"Lähetetty: {local.day}. {MONTHS_GEN_FI[local.month - 1]} {local.year} {local.hour}:{local.minute:02d}\n"
            f"Vastaanottaja: {prev['to_name']}\n"
            f"Aihe: {prev['subject']}\n\n" + prev["text"])


def norm_subject(s: str) -> str:
    s = s.strip()
    while True:
        new = re.sub(r"^(?:vs|re|fw|fwd|vl|sv|aw)\s*:\s*", "", s, flags=re.I)
        if new == s:
            return s.lower()
        s = new


def build_threads(rng: random.Random):
    days = month_days(2016, 9)
    times = email_times(rng, days, N_THREADS, counts=SLOT_COUNTS)
    records = gen.generate(N_THREADS, SEED, channel="email", times=times, id_prefix="e-201609", with_agent=True)

    # Encoding plan for first messages.
    plan = (["html"] * 12 + ["alternative"] * 15 + ["cp1252"] * 8 + ["iso-8859-15"] * 7 + ["attachment"] * 6)
    plan += ["plain-8bit", "plain-qp"] * ((N_THREADS - len(plan)) // 2)
    plan += ["plain-8bit"] * (N_THREADS - len(plan))
    rng.shuffle(plan)
    reply_threads = sorted(rng.sample(range(N_THREADS), 40))
    subject_only = set(rng.sample(reply_threads, 3))

    # Subjects: a first message whose subject carries a reply/forward prefix, and the three
    # threads grouped only by subject, must not collide with another thread's subject.
    counts = Counter(norm_subject(r["subject"]) for r in records)
    for i, r in enumerate(records):
        ns = norm_subject(r["subject"])
        if i in subject_only and (counts[ns] > 1 or not ns):
            r["subject"] = (r["subject"] or "Asiakkaan asia") + f" / asnro {rng.randint(1000000, 9999999)}"
        elif norm_subject(r["subject"]) != r["subject"].strip().lower() and counts[ns] > 1:
            r["subject"] = re.sub(r"^(?:(?:vs|re|fw|fwd|vl)\s*:\s*)+", "", r["subject"], flags=re.I)

    messages = []  # (date, EmailMessage)
    labels = []
    for i, r in enumerate(records):
        first, last = r.pop("agent")
        addr = f"{gen._ascii_fold(first)}.{gen._ascii_fold(last)}@{AGENT_DOMAIN}"
        name = f"{first} {last}"
        when = dt.datetime.fromisoformat(r["sent_at"])
        text = r["text"]
        kind = plan[i]
        x = rng.random()
        if x < 0.06:
            text += "\n\nLähetetty iPhonesta"
        elif x < 0.2:
            text += (f"\n\n--\n{name}\nPalveluneuvoja | Palvelukumppani Oy\n"
                     f"puh. 010 {rng.randint(100, 999)} {rng.randint(1000, 9999)}\n{addr}")
        msg = EmailMessage()
        msg["From"] = email.utils.formataddr((name, addr))
        msg["To"] = TEAM_ADDRESS if rng.random() < 0.8 else email.utils.formataddr(("Sopimustiimi", TEAM_ADDRESS))
        if rng.random() < 0.08:
            msg["Cc"] = f"asiakaspalvelu.tiiminvetajat@{AGENT_DOMAIN}"
        msg["Subject"] = r["subject"]
        msg["Date"] = email.utils.format_datetime(when)
        mid = message_id(rng, when, AGENT_DOMAIN)
        msg["Message-ID"] = mid
        if "iPhonesta" in text:
            msg["X-Mailer"] = "iPhone Mail (13G36)"
        elif rng.random() < 0.5:
            msg["X-Mailer"] = "Microsoft Outlook 15.0"
        msg["Content-Language"] = "fi-FI"
        if kind == "html":
            msg.set_content(to_html(text, outlook=rng.random() < 0.6), subtype="html", charset="utf-8",
                            cte="quoted-printable")
        elif kind == "alternative":
            set_text(msg, text, "utf-8", "quoted-printable")
            msg.add_alternative(to_html(text, outlook=True), subtype="html", charset="utf-8", cte="quoted-printable")
        elif kind in ("cp1252", "iso-8859-15"):
            set_text(msg, text, "windows-1252" if kind == "cp1252" else "iso-8859-15", "quoted-printable")
        elif kind == "attachment":
            what = rng.choice(["png", "pdf", "txt", "png", "pdf", "txt"])
            text += "\n\n" + {"png": "Liitteenä kuvakaappaus.", "pdf": "Liitteenä asiakkaan lähettämä dokumentti.",
                              "txt": "Liitteenä asiakkaan viesti tekstinä."}[what]
            set_text(msg, text, "utf-8", "8bit")
            if what == "png":
                msg.add_attachment(png_bytes(rng.randint(8, 24), rng.randint(8, 24),
                                             (rng.randrange(256), rng.randrange(256), rng.randrange(256))),
                                   maintype="image", subtype="png",
                                   filename=rng.choice(["kuvakaappaus.png", "virhe.png", "näyttökuva.png"]))
            elif what == "pdf":
                msg.add_attachment(pdf_bytes(rng.choice(["Valtakirja", "Kuolinpesan tiedot", "Vuokrasopimus"])),
                                   maintype="application", subtype="pdf",
                                   filename=rng.choice(["valtakirja.pdf", "liite.pdf", "skannaus_0912.pdf"]))
            else:
                msg.add_attachment(f"Asiakkaan viesti {when.astimezone(TZ):%d.%m.%Y}:\n\n{r['text']}\n",
                                   subtype="plain", charset="utf-8", filename="asiakkaan_viesti.txt")
        else:
            set_text(msg, text, "utf-8", "8bit" if kind == "plain-8bit" else "quoted-printable")
        fix_boundaries(msg, rng)
        msg.set_unixfrom(unixfrom(addr, when))
        messages.append((when, msg))
        labels.append({"message_id": mid, "topic": r["topic"], "guideline_id": r["guideline_id"],
                       "avoidable": r["avoidable"], "sent_at": r["sent_at"]})

        if i not in reply_threads:
            continue
        # Replies and follow-ups.
        bo_first, bo_last = rng.choice(BACK_OFFICE)
        bo_addr = f"{gen._ascii_fold(bo_first)}.{gen._ascii_fold(bo_last)}@{TEAM_DOMAIN}"
        bo_name = f"{bo_first} {bo_last}"
        pattern = rng.choice([["reply"], ["reply"], ["reply", "thanks"], ["reply", "follow", "reply"],
                              ["nudge", "reply"], ["nudge", "reply", "thanks"], ["reply", "follow"]])
        prev = {"date": when, "from_name": name, "from_addr": addr, "to_name": "Sopimustiimi",
                "subject": r["subject"], "text": text, "mid": mid}
        refs = [mid]
        base_subject = r["subject"] or ""
        for j, step in enumerate(pattern):
            from_bo = step == "reply"
            if from_bo:
                t = next_office_time(rng, prev["date"] + dt.timedelta(minutes=rng.randint(15, 60 * 20)))
                opener = rng.choice(REPLY_OPENERS).format(first=first)
                body = (f"{opener}\n\n{rng.choice(REPLIES[r['topic']])}\n\n{rng.choice(REPLY_CLOSERS)}\n"
                        f"{bo_name}\nSopimustiimi\nSähköyhtiö Oy")
                sender = (bo_name, bo_addr)
                to_name, to_addr = name, addr
            else:
                t = prev["date"] + dt.timedelta(minutes=rng.randint(10, 60 * 5))
                if step == "nudge":
                    t = prev["date"] + dt.timedelta(hours=rng.randint(20, 30))
                line = rng.choice(NUDGES if step == "nudge" else (["Kiitos!", "Kiitos paljon!", "Kiitti!"]
                                                                   if step == "thanks" else FOLLOW_UPS))
                body = f"{line}\n\n{first}" if rng.random() < 0.7 else f"{line}\nt. {first}"
                sender = (name, addr)
                to_name, to_addr = "Sopimustiimi", TEAM_ADDRESS
            body = body + "\n\n" + quote_block(rng, prev)
            prefix = "VS: " if (i in subject_only and j == 0) else rng.choice(["VS: ", "VS: ", "RE: "])
            subj = (prefix + norm_subject_keep_case(base_subject)).strip()
            reply = EmailMessage()
            reply["From"] = email.utils.formataddr(sender)
            reply["To"] = email.utils.formataddr((to_name, to_addr))
            reply["Subject"] = subj
            reply["Date"] = email.utils.format_datetime(t)
            rmid = message_id(rng, t, TEAM_DOMAIN if from_bo else AGENT_DOMAIN)
            reply["Message-ID"] = rmid
            if not (i in subject_only and j == 0):
                reply["In-Reply-To"] = prev["mid"]
                reply["References"] = " ".join(refs)
            if from_bo or rng.random() < 0.5:
                reply["X-Mailer"] = "Microsoft Outlook 15.0"
            if from_bo and rng.random() < 0.4:
                set_text(reply, body, "utf-8", "quoted-printable")
                reply.add_alternative(to_html(body, outlook=True), subtype="html", charset="utf-8",
                                      cte="quoted-printable")
            else:
                set_text(reply, body, "utf-8", rng.choice(["8bit", "quoted-printable"]))
            fix_boundaries(reply, rng)
            reply.set_unixfrom(unixfrom(sender[1], t))
            messages.append((t, reply))
            refs.append(rmid)
            prev = {"date": t, "from_name": sender[0], "from_addr": sender[1], "to_name": to_name,
                    "subject": subj, "text": body, "mid": rmid}
    return messages, labels, records


def norm_subject_keep_case(s: str) -> str:
    return re.sub(r"^(?:(?:vs|re|fw|fwd|vl)\s*:\s*)+", "", s.strip(), flags=re.I)


# ---------------------------------------------------------------------------
# Writing and verification
# ---------------------------------------------------------------------------

def write_mbox(messages) -> None:
    if MBOX.exists():
        MBOX.unlink()
    box = mailbox.mbox(str(MBOX), create=True)
    box.lock()
    try:
        for _, msg in sorted(messages, key=lambda m: m[0]):
            box.add(msg)
        box.flush()
    finally:
        box.unlock()
        box.close()


def write_jsonl(path: Path, rows) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


def build_calls(rng: random.Random) -> list[dict]:
    times = phone_times(rng, month_days(2016, 9), N_CALLS_SEPT)
    return gen.generate(N_CALLS_SEPT, SEED + 1, channel="phone", times=times,
                        topic_weights=PHONE_TOPIC_WEIGHTS, id_prefix="p-201609")


def write_calls(rows) -> None:
    with open(CALLS, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["id", "channel", "sent_at", "subject", "text"])
        for r in rows:
            w.writerow([r["id"], "phone", r["sent_at"], "", r["text"]])


def build_earlier(rng: random.Random) -> list[dict]:
    phone_t, email_t = [], []
    for (y, m), n in PHONE_MONTHS.items():
        phone_t += phone_times(rng, month_days(y, m, PHONE_START), n)
    for (y, m), n in EMAIL_MONTHS.items():
        email_t += email_times(rng, month_days(y, m, EMAIL_START), n)
    phones = gen.generate(len(phone_t), SEED + 2, channel="phone", times=sorted(phone_t),
                          topic_weights=PHONE_TOPIC_WEIGHTS)
    emails = gen.generate(len(email_t), SEED + 3, channel="email", times=sorted(email_t))
    merged = sorted(phones + emails, key=lambda r: (r["sent_at"], r["channel"], r["id"]))
    out = []
    for i, r in enumerate(merged, 1):
        out.append({"id": f"y-{i:05d}", "channel": r["channel"], "sent_at": r["sent_at"],
                    "subject": r["subject"], "text": r["text"]})
    return out


def read_mbox():
    box = mailbox.mbox(str(MBOX), factory=lambda fh: email.message_from_binary_file(fh, policy=email.policy.default),
                       create=False)
    msgs = []
    for msg in box:
        # Touch everything a reader needs: headers, body text, attachments.
        _ = (str(msg["From"]), str(msg["Subject"] or ""), email.utils.parsedate_to_datetime(msg["Date"]))
        body = msg.get_body(preferencelist=("plain", "html"))
        assert body is not None and body.get_content().strip(), msg["Message-ID"]
        for att in msg.iter_attachments():
            assert att.get_filename() and att.get_content(), msg["Message-ID"]
        msgs.append(msg)
    box.close()
    return msgs


def group_threads(msgs) -> dict[str, list]:
    """Threads by References/In-Reply-To, else by a reply subject matching an earlier thread."""
    root_of: dict[str, str] = {}
    threads: dict[str, list] = {}
    by_subject: dict[str, str] = {}
    for msg in sorted(msgs, key=lambda m: email.utils.parsedate_to_datetime(m["Date"])):
        mid = msg["Message-ID"].strip()
        refs = (msg["References"] or "").split() + (msg["In-Reply-To"] or "").split()
        root = next((root_of[r] for r in refs if r in root_of), None)
        subj = str(msg["Subject"] or "")
        if root is None and re.match(r"^\s*(vs|re|sv|aw)\s*:", subj, re.I):
            root = by_subject.get(norm_subject(subj))
        if root is None:
            root = mid
            threads[root] = []
            if norm_subject(subj):
                by_subject.setdefault(norm_subject(subj), root)
        root_of[mid] = root
        threads[root].append(msg)
    return threads


def verify(labels, calls, earlier) -> None:
    msgs = read_mbox()
    threads = group_threads(msgs)
    assert len(threads) == N_THREADS, len(threads)
    label_ids = {l["message_id"] for l in labels}
    assert set(threads) == label_ids, "thread roots differ from labelled first messages"
    slots = Counter(slot_of(email.utils.parsedate_to_datetime(t[0]["Date"])) for t in threads.values())
    assert dict(slots) == SLOT_COUNTS, slots
    for t in threads.values():
        dates = [email.utils.parsedate_to_datetime(m["Date"]) for m in t]
        assert dates == sorted(dates) and len(set(dates)) == len(dates)
        assert all(str(m["Date"]).endswith("+0300") for m in t if dates[0].month == 9)
    with open(CALLS, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == N_CALLS_SEPT
    for r in rows:
        t = dt.datetime.fromisoformat(r["sent_at"])
        assert slot_of(t) == "weekday_office" and t.month == 9 and r["subject"] == "", r
    phone = len(rows) + sum(r["channel"] == "phone" for r in earlier)
    mail = len(threads) + sum(r["channel"] == "email" for r in earlier)
    assert (phone, mail) == (TOTAL_PHONE, TOTAL_EMAIL), (phone, mail)
    n_replied = sum(len(t) > 1 for t in threads.values())
    encodings = Counter()
    for m in msgs:
        for part in m.walk():
            if not part.is_multipart():
                encodings[(part.get_content_type(), part.get_content_charset() or "-",
                           part["Content-Transfer-Encoding"] or "-")] += 1
    print(f"mbox: {len(msgs)} messages, {len(threads)} threads ({n_replied} with replies), "
          f"first-message slots {dict(slots)}")
    print("  parts by type/charset/encoding: " + ", ".join(f"{k[0]} {k[1]} {k[2]}: {v}"
                                                          for k, v in sorted(encodings.items())))
    print(f"calls CSV: {len(rows)} rows; totals 15.2.-30.9.2016: phone {phone}, email {mail}")


def monthly_table(calls, earlier, labels) -> None:
    table: dict[tuple[int, int], Counter] = {}
    for r in earlier:
        t = dt.datetime.fromisoformat(r["sent_at"])
        table.setdefault((t.year, t.month), Counter())[r["channel"]] += 1
    table.setdefault((2016, 9), Counter())["phone"] += len(calls)
    table[(2016, 9)]["email"] += len(labels)
    print("\nmonth      phone  email")
    for (y, m), c in sorted(table.items()):
        label = f"{y}-{m:02d}" + (" (15.-)" if (y, m) == (2016, 2) else "")
        print(f"{label:12s}{c['phone']:5d}  {c['email']:5d}")
    print(f"{'total':12s}{sum(c['phone'] for c in table.values()):5d}  {sum(c['email'] for c in table.values()):5d}")


def main() -> int:
    rng = random.Random(SEED)
    messages, labels, _ = build_threads(rng)
    write_mbox(messages)
    write_jsonl(LABELS, labels)
    calls = build_calls(rng)
    write_calls(calls)
    earlier = build_earlier(rng)
    write_jsonl(EARLIER, earlier)
    verify(labels, calls, earlier)
    monthly_table(calls, earlier, labels)
    return 0


if __name__ == "__main__":
    sys.exit(main())
