"""Report tables on a hand-made labelled file whose every answer is known, and the written files."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import json
import re
from pathlib import Path

import pytest

from classifier.errors import IngestError, TukipyyntoError
from classifier.records import Category, Guideline, Taxonomy
from classifier.report import (
    TABLES,
    Report,
    ReportError,
    build_report,
    read_labelled,
    send_time_category,
    wilson_interval,
    write_report,
)

REPO = Path(__file__).resolve().parent.parent
SYYSKUU = REPO / "corpus" / "examples" / "syyskuu-2016.labels.jsonl"

TAXONOMY = Taxonomy((
    Category("uusi", "Uusi sopimus", "New contract"),
    Category("paattaminen", "Sopimuksen päättäminen", "Ending a contract"),
    Category("vahvistus", "Vahvistus", "Confirmation", back_office_remit=True),
    Category("vaara", "Väärä vastaanottaja", "Wrong recipient", misrouted=True),
))


def _g(gid, title, body, topics, published, retired=None):
    return Guideline(gid, title, body, "jarjestelma_ja_prosessi", tuple(topics), dt.date.fromisoformat(published),
                     dt.date.fromisoformat(retired) if retired else None)


GUIDELINES = [
    _g("G-1", "Uuden sopimuksen tekeminen", "Kun asiakas muuttaa, tee uusi sopimus uudelle osoitteelle. "
       "Valitse tuote ja aloituspäivä.", ["uusi"], "2016-03-01"),
    _g("G-2", "Vahvistuksen lähettäminen", "Sopimusvahvistuksen uudelleenlähetys hoidetaan sopimustiimissä.",
       ["vahvistus"], "2016-01-01"),
    _g("G-3", "Laskutusasiat laskutustiimille", "Laskut, maksuajat ja perintä kuuluvat laskutustiimille.",
       ["vaara"], "2016-01-01", "2016-06-30"),
    _g("G-4", "Uuden sopimuksen tekeminen muuton yhteydessä", "Kun asiakas muuttaa, tee uusi sopimus uudelle "
       "osoitteelle. Valitse tuote, aloituspäivä ja laskutustapa.", ["uusi"], "2016-10-01"),
    _g("G-5", "Kuolinpesän sopimukset", "Kuolinpesän osakas voi irtisanoa vainajan sähkösopimuksen "
       "perukirjan tai virkatodistuksen perusteella.", ["paattaminen"], "2016-01-01"),
    _g("G-6", "Irtisanominen ja määräajat", "Toistaiseksi voimassa olevan sopimuksen irtisanomisaika on kaksi "
       "viikkoa; määräaikainen päättyy kauden lopussa.", ["paattaminen"], "2016-10-01"),
    _g("G-7", "Vanha kampanja", "Kevään kampanjahinnat ovat voimassa huhtikuun loppuun.", ["uusi"],
       "2016-01-01", "2016-04-30"),
]

AVOIDABLE = {"misrouted", "guideline_existed"}
MUUTTO = [
    "Asiakas muuttaa uuteen asuntoon ja kysyy voiko sähkösopimuksen aloituspäivän siirtää muuttopäivään.",
    "Muutto uuteen osoitteeseen, asiakas haluaa sähkösopimuksen alkamaan muuttopäivästä, mistä aloituspäivä?",
    "Asiakkaan muutto viivästyi, uuden sähkösopimuksen aloituspäivä pitäisi siirtää viikolla eteenpäin.",
    "Muuttopäivä vaihtui, asiakas kysyy sähkösopimuksen aloituspäivän muuttamisesta uudessa asunnossa.",
    "Uusi asunto ja muutto ensi kuussa: miten sähkösopimuksen aloituspäivä valitaan kun muuttopäivä ei ole "
    "varma? " + "Asiakas soitti uudelleen ja halusi tietää vielä lisää muuttopäivän vaikutuksesta. " * 3,
]
YRITYS = [
    "Pk-yritys haluaa sähkösopimuksen toimitilaan, yrityksen y-tunnus löytyy mutta yrityssopimus ei tallennu.",
    "Yritysasiakas avaa toimitilan, yrityksen sähkösopimus ja y-tunnus: kenen nimiin yrityssopimus tehdään?",
    "Toiminimi yritys tarvitsee sähkösopimuksen toimitilaan, y-tunnus puuttuu yrityksen tiedoista.",
    "Yrityksen uusi toimitila, yritys kysyy yrityssopimuksen hintaa ja y-tunnus on rekisterissä.",
]


def R(rid, channel, sent_at, topic, reason, guideline_id=None, later=None, text=None, **kw):
    """One labelled row as `tukipyynto label --with-text` writes it."""
    row = {"id": rid, "source": "test", "channel": channel, "sent_at": sent_at, "subject": None, "n_messages": 1,
           "predicted": {"topic": topic, "confidence": 0.9, "guideline_id": guideline_id, "guideline_score": 0.8,
                         "avoidable": reason in AVOIDABLE, "reason": reason, "later_guideline_id": later,
                         "candidates": [[topic, 0.9]], "flags": []},
           "status": "ok", "error": None}
    if text is not None:
        row["text"] = text
    row.update(kw)
    return row


ROWS = [
    # May: a holiday (Ascension Day, Thursday), a Saturday and a Sunday email; one call.
    R("m1", "email", "2016-05-05T10:00:00+03:00", "uusi", "guideline_existed", "G-1"),
    R("m2", "email", "2016-05-07T12:00:00+03:00", "vaara", "misrouted", "G-3"),
    R("m3", "email", "2016-05-08T09:00:00+03:00", "vahvistus", "back_office_remit", "G-2"),
    R("m4", "phone", "2016-05-10T09:00:00+03:00", "uusi", "no_guideline", text=MUUTTO[0]),
    # June: before 8:30 and exactly 16:00 are outside opening hours.
    R("j1", "email", "2016-06-01T08:29:00+03:00", "uusi", "no_guideline", text=YRITYS[0]),
    R("j2", "email", "2016-06-01T16:00:00+03:00", "uusi", "guideline_existed", "G-1"),
    R("j3", "phone", "2016-06-02T10:00:00+03:00", "vahvistus", "back_office_remit", "G-2"),
    # July: no contacts at all.
    # August: exactly 8:30 and 15:59 are inside.
    R("a1", "email", "2016-08-01T08:30:00+03:00", "uusi", "guideline_came_later", "G-4", "G-4", text=MUUTTO[1]),
    R("a2", "email", "2016-08-01T15:59:00+03:00", "uusi", "no_guideline", text=YRITYS[1]),
    R("a3", "phone", "2016-08-02T10:00:00+03:00", "vahvistus", "back_office_remit", "G-2"),
    R("a4", "phone", "2016-08-03T10:00:00+03:00", "uncertain", "uncertain_topic"),
    # September: "uusi" rises 2 -> 8, "vaara" 0 -> 5.
    R("s1", "email", "2016-09-05T06:00:00Z", "uusi", "guideline_existed", "G-1"),  # 09:00 in Helsinki
    R("s2", "email", "2016-09-05T11:00:00+03:00", "uusi", "guideline_existed", "G-1"),
    R("s3", "email", "2016-09-05T12:00:00+03:00", "uusi", "no_guideline", text=MUUTTO[4]),
    R("s4", "email", "2016-09-06T10:00:00+03:00", "uusi", "no_guideline", text=YRITYS[2]),
    R("s5", "email", "2016-09-06T17:30:00+03:00", "uusi", "no_guideline", text=MUUTTO[2]),
    R("s6", "phone", "2016-09-07T10:00:00+03:00", "uusi", "guideline_existed", "G-1"),
    R("s7", "phone", "2016-09-07T11:00:00+03:00", "uusi", "no_guideline", text=YRITYS[3]),
    R("s8", "phone", "2016-09-07T12:00:00+03:00", "uusi", "guideline_came_later", "G-4", "G-4", text=MUUTTO[3]),
    R("s9", "email", "2016-09-08T10:00:00+03:00", "vahvistus", "back_office_remit", "G-2"),
    R("s10", "email", "2016-09-08T11:00:00+03:00", "vahvistus", "back_office_remit", "G-2"),
    R("s11", "email", "2016-09-12T10:00:00+03:00", "vaara", "misrouted"),
    R("s12", "email", "2016-09-12T11:00:00+03:00", "vaara", "misrouted"),
    R("s13", "phone", "2016-09-13T10:00:00+03:00", "vaara", "misrouted"),
    R("s14", "phone", "2016-09-13T11:00:00+03:00", "vaara", "misrouted"),
    R("s15", "phone", "2016-09-13T12:00:00+03:00", "vaara", "misrouted"),
    R("p1", "email", "2016-09-14T11:00:00+03:00", "paattaminen", "no_guideline",
      text="Kuolinpesä haluaa päättää sopimuksen mutta osakkaita on useita, kuka voi allekirjoittaa?"),
    R("p2", "phone", "2016-09-14T12:00:00+03:00", "paattaminen", "guideline_came_later", "G-6", "G-6",
      text="Asiakas kysyy määräaikaisen sopimuksen päättämisestä kesken kauden."),
    # Left out: labelling errors, an undated request, one after the period.
    {"id": "e1", "source": "test", "channel": "email", "sent_at": "2016-09-07T10:00:00+03:00", "predicted": None,
     "status": "error", "error": "unreadable message"},
    {"id": "e2", "source": "test", "channel": "email", "sent_at": None, "predicted": None, "status": "error",
     "error": "empty body"},
    R("u1", "email", None, "uusi", "no_guideline"),
    R("o1", "email", "2016-10-03T10:00:00+03:00", "uusi", "no_guideline"),
]
PERIOD = {"period_from": dt.date(2016, 5, 1), "period_to": dt.date(2016, 9, 30)}


@pytest.fixture(scope="module")
def report() -> Report:
    return build_report(ROWS, TAXONOMY, GUIDELINES, **PERIOD)


def by(rows, key):
    return {r[key]: r for r in rows}


def test_counts_and_metadata(report):
    assert report.n_rows == 32
    assert report.n_errors == 2 and {e["id"] for e in report.errors} == {"e1", "e2"}
    assert report.n_analysed == 28
    assert report.n_undated == 1 and report.n_outside_period == 1
    assert report.n_by_channel == {"email": 17, "phone": 11}
    assert report.channels == ("email", "phone")
    assert (report.period_from, report.period_to) == (dt.date(2016, 5, 1), dt.date(2016, 9, 30))


def test_volumes_by_month_include_the_empty_month(report):
    vol = by(report.volumes, "period")
    assert list(vol) == ["2016-05", "2016-06", "2016-07", "2016-08", "2016-09"]
    assert [(vol[p]["email"], vol[p]["phone"], vol[p]["total"]) for p in vol] == [
        (3, 1, 4), (2, 1, 3), (0, 0, 0), (2, 2, 4), (10, 7, 17)]
    assert vol["2016-07"]["start"] == dt.date(2016, 7, 1) and vol["2016-07"]["end"] == dt.date(2016, 7, 31)


def test_volumes_by_week():
    rep = build_report(ROWS, TAXONOMY, period_from=dt.date(2016, 8, 1), period_to=dt.date(2016, 8, 21),
                       granularity="week")
    assert [(r["period"], r["start"], r["email"], r["phone"]) for r in rep.volumes] == [
        ("2016-W31", dt.date(2016, 8, 1), 2, 2), ("2016-W32", dt.date(2016, 8, 8), 0, 0),
        ("2016-W33", dt.date(2016, 8, 15), 0, 0)]


def test_topic_distribution_per_channel(report):
    t = by(report.topics, "topic")
    assert [r["topic"] for r in report.topics] == ["uusi", "vaara", "vahvistus", "paattaminen", "uncertain"]
    assert (t["uusi"]["email_n"], t["uusi"]["phone_n"], t["uusi"]["total_n"]) == (10, 4, 14)
    assert (t["vaara"]["email_n"], t["vaara"]["phone_n"]) == (3, 3)
    assert (t["vahvistus"]["email_n"], t["vahvistus"]["phone_n"]) == (3, 2)
    assert (t["paattaminen"]["email_n"], t["paattaminen"]["phone_n"]) == (1, 1)
    assert (t["uncertain"]["email_n"], t["uncertain"]["phone_n"]) == (0, 1)
    assert t["uusi"]["email_share"] == pytest.approx(10 / 17)
    assert t["uusi"]["total_share"] == pytest.approx(14 / 28)
    assert sum(r["phone_share"] for r in report.topics) == pytest.approx(1.0)
    assert t["uusi"]["label"] == "Uusi sopimus" and t["uncertain"]["label"] == "Epävarma aihe"


def test_send_times(report):
    st = by(report.send_times, "category")
    assert {k: v["n"] for k, v in st.items()} == {
        "weekday_open": 11, "weekday_other": 3, "saturday": 1, "sunday": 1, "holiday": 1, "total": 17}
    assert st["weekday_open"]["share"] == pytest.approx(11 / 17)
    assert st["weekday_open"]["label"] == "Arkipäivät klo 8.30–16.00"


def test_send_time_category_boundaries():
    oh = (dt.time(8, 30), dt.time(16, 0))

    def c(s):
        return send_time_category(dt.datetime.fromisoformat(s), oh)

    assert c("2016-09-05T08:30:00+03:00") == "weekday_open"
    assert c("2016-09-05T15:59:59+03:00") == "weekday_open"
    assert c("2016-09-05T16:00:00+03:00") == "weekday_other"
    assert c("2016-09-05T08:29:00+03:00") == "weekday_other"
    assert c("2016-05-05T10:00:00+03:00") == "holiday"       # Ascension Day, a Thursday
    assert c("2016-12-06T10:00:00+02:00") == "holiday"       # Independence Day, a Tuesday
    assert c("2016-12-24T10:00:00+02:00") == "saturday"      # Christmas Eve on a Saturday
    assert c("2016-09-09T21:30:00+00:00") == "saturday"      # Friday in UTC, Saturday 00:30 in Helsinki
    assert c("2016-09-05T10:00:00") == "weekday_open"        # naive = Helsinki
    later = (dt.time(9, 0), dt.time(17, 0))
    assert send_time_category(dt.datetime.fromisoformat("2016-09-05T16:30:00+03:00"), later) == "weekday_open"


def test_opening_hours_configurable():
    rep = build_report(ROWS, TAXONOMY, opening_hours=(dt.time(9, 0), dt.time(18, 0)), **PERIOD)
    st = by(rep.send_times, "category")
    # 8:30 (a1) moves out, 16:00 (j2) and 17:30 (s5) move in.
    assert (st["weekday_open"]["n"], st["weekday_other"]["n"]) == (12, 2)


def test_wilson_interval_known_values():
    lo, hi = wilson_interval(3, 40)
    assert lo == pytest.approx(0.0258, abs=5e-4) and hi == pytest.approx(0.1986, abs=5e-4)
    assert wilson_interval(0, 0) == (None, None)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == pytest.approx(1.0)
    lo, hi = wilson_interval(50, 100)
    assert lo == pytest.approx(1 - hi)
    with pytest.raises(ReportError, match="k=5.*n=3|5.*3"):
        wilson_interval(5, 3)


def test_avoidable_shares(report):
    (overall,) = report.avoidable_overall
    assert (overall["n"], overall["n_avoidable"]) == (28, 11)
    assert overall["share"] == pytest.approx(11 / 28)
    assert (overall["ci_low"], overall["ci_high"]) == pytest.approx(wilson_interval(11, 28))
    assert overall["reason_misrouted"] == 6 and overall["reason_guideline_existed"] == 5
    assert overall["reason_no_guideline"] == 8 and overall["reason_guideline_came_later"] == 3
    assert overall["reason_back_office_remit"] == 5 and overall["reason_uncertain_topic"] == 1

    reasons = by(report.avoidable_reasons, "reason")
    assert sum(r["n"] for r in reasons.values()) == 28
    assert reasons["misrouted"]["avoidable"] and not reasons["no_guideline"]["avoidable"]

    ch = by(report.avoidable_by_channel, "channel")
    assert (ch["email"]["n_avoidable"], ch["email"]["n"]) == (7, 17)
    assert (ch["phone"]["n_avoidable"], ch["phone"]["n"]) == (4, 11)

    assert [(r["topic"], r["n_avoidable"], r["n"]) for r in report.avoidable_by_topic] == [
        ("vaara", 6, 6), ("uusi", 5, 14), ("vahvistus", 0, 5), ("paattaminen", 0, 2), ("uncertain", 0, 1)]
    vaara = report.avoidable_by_topic[0]
    assert vaara["share"] == 1.0 and vaara["ci_high"] == pytest.approx(1.0)
    assert vaara["ci_low"] == pytest.approx(wilson_interval(6, 6)[0])

    month = by(report.avoidable_by_month, "period")
    assert [(p, m["n_avoidable"], m["n"]) for p, m in month.items()] == [
        ("2016-05", 2, 4), ("2016-06", 1, 3), ("2016-07", 0, 0), ("2016-08", 0, 4), ("2016-09", 8, 17)]
    assert month["2016-07"]["share"] is None and month["2016-07"]["ci_low"] is None


def test_guideline_gaps_ranked_with_examples(report):
    assert [(g["topic"], g["n"], g["n_no_guideline"], g["n_came_later"]) for g in report.gaps] == [
        ("uusi", 9, 7, 2), ("paattaminen", 2, 1, 1)]
    uusi = report.gaps[0]
    assert uusi["later_guidelines"] == ["G-4"] and report.gaps[1]["later_guidelines"] == ["G-6"]
    assert uusi["gap_share"] == pytest.approx(9 / 14)
    assert 1 <= len(uusi["examples"]) <= 3
    assert all(len(x) <= 201 for g in report.gaps for x in g["examples"])
    clusters = [c for c in report.gap_clusters if c["topic"] == "uusi"]
    assert sum(c["n"] for c in clusters) == 9 and 2 <= len(clusters) <= 3
    assert all(1 <= len(c["examples"]) <= 3 and c["top_terms"] for c in clusters)


def test_gap_clusters_separate_themes_deterministically():
    a = build_report(ROWS, TAXONOMY, max_clusters=2, **PERIOD)
    b = build_report(ROWS, TAXONOMY, max_clusters=2, **PERIOD)
    assert a.gap_clusters == b.gap_clusters
    clusters = [c for c in a.gap_clusters if c["topic"] == "uusi"]
    assert sorted(c["n"] for c in clusters) == [4, 5]
    big, small = sorted(clusters, key=lambda c: -c["n"])
    assert any(t.startswith(("muut", "aloitus")) for t in big["top_terms"])
    assert any(t.startswith(("yrity", "toimitila")) for t in small["top_terms"])
    long = [x for x in big["examples"] if x.startswith("Uusi asunto")]
    assert not long or (long[0].endswith("…") and len(long[0]) <= 201)


def test_gaps_without_texts_skip_clustering():
    rows = [{k: v for k, v in r.items() if k != "text"} for r in ROWS]
    rep = build_report(rows, TAXONOMY, **PERIOD)
    assert [g["n"] for g in rep.gaps] == [9, 2]
    assert rep.gap_clusters == [] and all(g["examples"] == [] for g in rep.gaps)
    assert rep.n_with_text == 0


def test_guideline_use_unused_and_duplicates(report):
    assert [(g["guideline_id"], g["n"]) for g in report.guideline_use] == [
        ("G-1", 5), ("G-2", 5), ("G-4", 2), ("G-3", 1), ("G-6", 1)]
    use = by(report.guideline_use, "guideline_id")
    assert use["G-1"]["n_avoidable"] == 5 and use["G-2"]["n_avoidable"] == 0
    assert use["G-4"]["n_came_later"] == 2 and use["G-1"]["title"] == "Uuden sopimuksen tekeminen"
    # G-5 was never matched; G-7 was retired before the period and is not listed.
    assert [g["guideline_id"] for g in report.guidelines_unused] == ["G-5"]
    assert [(d["guideline_a"], d["guideline_b"]) for d in report.guideline_duplicates] == [("G-1", "G-4")]
    dup = report.guideline_duplicates[0]
    assert dup["similarity"] >= 0.5 and dup["shared_topics"] == ["uusi"] and (dup["n_a"], dup["n_b"]) == (5, 2)
    strict = build_report(ROWS, TAXONOMY, GUIDELINES, duplicate_threshold=0.99, **PERIOD)
    assert strict.guideline_duplicates == []


def test_no_catalogue_means_no_unused_list():
    rep = build_report(ROWS, TAXONOMY, None, **PERIOD)
    assert rep.guidelines_unused == [] and rep.guideline_duplicates == []
    assert len(rep.guideline_use) == 5 and rep.guideline_use[0]["title"] is None


def test_trends(report):
    assert [(t["topic"], t["previous_n"], t["last_n"], t["change"]) for t in report.trends] == [
        ("uusi", 2, 8, 6), ("vaara", 0, 5, 5)]
    assert report.trends[0]["ratio"] == pytest.approx(4.0) and report.trends[1]["ratio"] is None
    assert report.trends[0]["previous_period"] == "2016-08" and report.trends[0]["last_period"] == "2016-09"
    strict = build_report(ROWS, TAXONOMY, trend_ratio=5.0, trend_min_increase=5, **PERIOD)
    assert [t["topic"] for t in strict.trends] == ["vaara"]
    loose = build_report(ROWS, TAXONOMY, trend_ratio=1.5, trend_min_increase=2, **PERIOD)
    assert [t["topic"] for t in loose.trends] == ["uusi", "vaara", "paattaminen"]


def test_default_period_keeps_undated_rows():
    rep = build_report(ROWS, TAXONOMY)
    assert (rep.period_from, rep.period_to) == (dt.date(2016, 5, 5), dt.date(2016, 10, 3))
    assert rep.n_analysed == 30 and rep.n_undated == 1 and rep.n_outside_period == 0
    assert sum(v["total"] for v in rep.volumes) == 29  # the undated row is in no period
    assert by(rep.topics, "topic")["uusi"]["total_n"] == 16


def test_single_channel_file(tmp_path):
    rows = [r for r in ROWS if r.get("channel") == "phone"]
    rep = build_report(rows, TAXONOMY, GUIDELINES, **PERIOD)
    assert rep.channels == ("phone",) and rep.n_analysed == 11
    assert all("email" not in v for v in rep.volumes)
    assert [v["phone"] for v in rep.volumes] == [1, 1, 0, 2, 7]
    assert rep.send_times == []
    assert [c["channel"] for c in rep.avoidable_by_channel] == ["phone"]
    out = write_report(rep, tmp_path)
    page = out["html"].read_text(encoding="utf-8")
    pngs = list((tmp_path / "figures").glob("*.png"))
    assert page.count('<img src="data:image/png;base64,') == len(pngs) >= 5


def test_english_labels(tmp_path):
    rep = build_report(ROWS, TAXONOMY, GUIDELINES, lang="en", **PERIOD)
    t = by(rep.topics, "topic")
    assert t["uusi"]["label"] == "New contract" and t["uncertain"]["label"] == "Uncertain topic"
    assert by(rep.send_times, "category")["weekday_open"]["label"] == "Weekdays 08:30–16:00"
    assert by(rep.avoidable_reasons, "reason")["misrouted"]["label"] == "Wrong recipient"
    out = write_report(rep, tmp_path, formats=("md",))
    md = out["md"].read_text(encoding="utf-8")
    assert md.startswith("# Support request report")
    assert "## 4. Avoidable contacts" in md and "| Topic |" in md and "Email" in md
    assert "Tukipyyntöraportti" not in md


def test_write_report_html_csv_md(report, tmp_path):
    out = write_report(report, tmp_path, formats=("md", "html", "csv", "json"))
    page = out["html"].read_text(encoding="utf-8")
    pngs = sorted((tmp_path / "figures").glob("*.png"))
    assert {p.stem for p in pngs} == {"volumes", "topics", "send_times", "avoidable_by_topic", "avoidable_by_month",
                                     "gaps", "guideline_use", "trends"}
    imgs = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(imgs) == len(pngs)
    assert all(base64.b64decode(x)[:8] == b"\x89PNG\r\n\x1a\n" for x in imgs)
    assert "Tukipyyntöraportti" in page and "Vältettävissä olevat yhteydenotot" in page
    assert 'src="figures/' not in page  # self-contained
    assert "<script" not in page
    # request texts are escaped, not injected
    assert "Pk-yritys haluaa" in page

    for name in TABLES:
        assert out[f"csv:{name}"].exists()
    with open(out["csv:volumes"], encoding="utf-8", newline="") as fh:
        vol = list(csv.DictReader(fh))
    assert [(v["period"], v["email"], v["phone"]) for v in vol][2] == ("2016-07", "0", "0")
    with open(out["csv:send_times"], encoding="utf-8", newline="") as fh:
        assert {r["category"]: int(r["n"]) for r in csv.DictReader(fh)}["weekday_open"] == 11

    md = out["md"].read_text(encoding="utf-8")
    assert md.startswith("# Tukipyyntöraportti") and "![" in md and "(figures/volumes.png)" in md
    assert "| 2016-07 | 0 | 0 | 0 |" in md
    data = json.loads(out["json"].read_text(encoding="utf-8"))
    assert data["meta"]["n_errors"] == 2 and len(data["tables"]["volumes"]) == 5


def test_html_escapes_request_text(tmp_path):
    rows = [R("x1", "email", "2016-09-05T10:00:00+03:00", "uusi", "no_guideline", text="<script>alert(1)</script> "
              "asiakas haluaa sopimuksen")]
    out = write_report(build_report(rows, TAXONOMY), tmp_path, formats=("html",))
    page = out["html"].read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;" in page


def _flat(row):
    out = {k: v for k, v in row.items() if k != "predicted"}
    for k, v in (row.get("predicted") or {}).items():
        out[f"predicted.{k}"] = json.dumps(v) if isinstance(v, (list, dict)) else v
    return out


def _key_numbers(rep):
    return (rep.n_rows, rep.n_errors, rep.n_analysed, [v["total"] for v in rep.volumes],
            [(r["topic"], r["total_n"]) for r in rep.topics], [r["n"] for r in rep.send_times],
            rep.avoidable_overall[0]["n_avoidable"], [g["n"] for g in rep.gaps], [t["topic"] for t in rep.trends])


def test_read_labelled_jsonl_csv_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    jsonl = tmp_path / "l.jsonl"
    jsonl.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS), encoding="utf-8")
    flat = [_flat(r) for r in ROWS]
    cols = sorted({k for r in flat for k in r})
    with open(tmp_path / "flat.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for r in flat:
            w.writerow({k: "" if r.get(k) is None else r.get(k) for k in cols})
    with open(tmp_path / "nested.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["id", "channel", "sent_at", "status", "error", "predicted", "text"])
        w.writeheader()
        for r in ROWS:
            w.writerow({"id": r["id"], "channel": r["channel"], "sent_at": r["sent_at"] or "", "status": r["status"],
                        "error": r.get("error") or "", "text": r.get("text") or "",
                        "predicted": json.dumps(r["predicted"], ensure_ascii=False) if r["predicted"] else ""})
    table = pa.table({c: [None if r.get(c) is None else (r[c] if isinstance(r[c], bool) else str(r[c]))
                          for r in flat] for c in cols if c != "n_messages"})
    pq.write_table(table, tmp_path / "flat.parquet")

    expected = _key_numbers(build_report(ROWS, TAXONOMY, **PERIOD))
    for name in ("l.jsonl", "flat.csv", "nested.csv", "flat.parquet"):
        rows = read_labelled(tmp_path / name)
        assert len(rows) == len(ROWS), name
        assert rows[0]["predicted"]["avoidable"] is True and rows[0]["predicted"]["flags"] == []
        assert _key_numbers(build_report(rows, TAXONOMY, **PERIOD)) == expected, name
    assert len(read_labelled([tmp_path / "l.jsonl", tmp_path / "flat.csv"])) == 2 * len(ROWS)


def test_read_labelled_errors(tmp_path):
    with pytest.raises(IngestError, match="missing.jsonl"):
        read_labelled(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.csv"
    bad.write_text("id,predicted\nx,{not json\n", encoding="utf-8")
    with pytest.raises(IngestError, match="bad.csv:2"):
        read_labelled(bad)


def test_gold_label_rows_without_predicted():
    rows = [{"id": "g1", "channel": "email", "sent_at": "2016-09-05T10:00:00+03:00", "topic": "vaara",
             "guideline_id": None, "avoidable": True},
            {"id": "g2", "channel": "email", "sent_at": "2016-09-05T11:00:00+03:00", "topic": "uusi",
             "guideline_id": "G-4", "avoidable": False}]
    rep = build_report(rows, TAXONOMY)
    assert rep.n_analysed == 2 and rep.n_errors == 0
    assert by(rep.avoidable_reasons, "reason")["misrouted"]["n"] == 1
    assert rep.gaps[0]["n_came_later"] == 1


def test_bad_arguments():
    with pytest.raises(ReportError, match="granularity must be one of .*'day'"):
        build_report(ROWS, TAXONOMY, granularity="day")
    with pytest.raises(ReportError, match="lang must be one of .*'sv'"):
        build_report(ROWS, TAXONOMY, lang="sv")
    with pytest.raises(ReportError, match="period_from 2016-09-01 is after period_to 2016-08-01"):
        build_report(ROWS, TAXONOMY, period_from=dt.date(2016, 9, 1), period_to=dt.date(2016, 8, 1))
    with pytest.raises(TukipyyntoError, match="opening_hours must be"):
        build_report(ROWS, TAXONOMY, opening_hours=(dt.time(16, 0), dt.time(8, 30)))
    rep = build_report([], TAXONOMY)
    assert rep.n_rows == 0 and rep.volumes == [] and rep.send_times == []
    with pytest.raises(ReportError, match="pdf"):
        write_report(rep, Path("/nonexistent-never-written"), formats=("pdf",))


def test_empty_report_writes(tmp_path):
    out = write_report(build_report([], TAXONOMY), tmp_path)
    assert out["html"].exists() and out["md"].exists() and out["csv:volumes"].exists()


@pytest.mark.skipif(not SYYSKUU.exists(), reason="corpus/examples/syyskuu-2016.labels.jsonl not built")
def test_september_2016_send_times_match_the_thesis():
    rows = []
    with open(SYYSKUU, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            r = json.loads(line)
            rows.append({"id": r["message_id"], "channel": "email", "sent_at": r["sent_at"], "status": "ok",
                         "predicted": {"topic": r["topic"], "guideline_id": r.get("guideline_id"),
                                       "avoidable": r.get("avoidable")}})
    taxonomy = None
    tax_path = REPO / "corpus" / "taxonomy.json"
    if tax_path.exists():
        from classifier.io import read_taxonomy

        taxonomy = read_taxonomy(tax_path)
    rep = build_report(rows, taxonomy)
    st = by(rep.send_times, "category")
    assert (st["weekday_open"]["n"], st["weekday_other"]["n"], st["saturday"]["n"]) == (117, 30, 9)
    assert st["total"]["n"] == 156
    assert st["sunday"]["n"] == 0 and st["holiday"]["n"] == 0


EXAMPLES = REPO / "corpus" / "examples"


@pytest.mark.skipif(not all((EXAMPLES / f).exists() for f in ("yhteydenotot-2016-02-08.jsonl",
                                                               "puhelut-syyskuu-2016.csv",
                                                               "syyskuu-2016.labels.jsonl")),
                    reason="corpus/examples not built")
def test_thesis_monthly_volumes_figure_4():
    from classifier.io import iter_rows

    rows = []
    for name in ("yhteydenotot-2016-02-08.jsonl", "puhelut-syyskuu-2016.csv"):
        for _, r in iter_rows(EXAMPLES / name):
            rows.append({"id": r["id"], "channel": r["channel"], "sent_at": r["sent_at"], "status": "ok",
                         "predicted": {"topic": "uncertain", "reason": "uncertain_topic", "avoidable": False}})
    for _, r in iter_rows(EXAMPLES / "syyskuu-2016.labels.jsonl"):
        rows.append({"id": r["message_id"], "channel": "email", "sent_at": r["sent_at"], "status": "ok",
                     "predicted": {"topic": r["topic"], "guideline_id": r["guideline_id"], "avoidable": r["avoidable"]}})
    rep = build_report(rows, TAXONOMY, period_from=dt.date(2016, 2, 15), period_to=dt.date(2016, 9, 30))
    assert [(v["period"], v["phone"], v["email"]) for v in rep.volumes] == [
        ("2016-02", 450, 0), ("2016-03", 720, 0), ("2016-04", 590, 0), ("2016-05", 480, 380),
        ("2016-06", 390, 300), ("2016-07", 327, 250), ("2016-08", 310, 215), ("2016-09", 297, 156)]
    assert rep.n_by_channel == {"email": 1301, "phone": 3564}


def test_avoidable_estimate_from_probabilities_with_model_interval():
    """Rows that carry avoidable_probability: the estimate is their mean, the interval a bootstrap."""
    rows = []
    for i, r in enumerate(ROWS):
        r = dict(r)
        if r.get("predicted") and r["predicted"].get("reason") not in (None, "uncertain_topic"):
            r["predicted"] = dict(r["predicted"], avoidable_probability=0.9 if i % 2 else 0.2)
        rows.append(r)
    rep = build_report(rows, TAXONOMY, GUIDELINES, **PERIOD)
    (overall,) = rep.avoidable_overall
    # one row has no probability (its topic is uncertain): the estimate falls back to the labels
    assert overall["method"] == "wilson_labels"
    decided = [r for r in rows if "avoidable_probability" in (r.get("predicted") or {})]
    probs = [r["predicted"]["avoidable_probability"] for r in decided]
    rep2 = build_report(decided, TAXONOMY, GUIDELINES)
    (overall2,) = rep2.avoidable_overall
    assert overall2["method"] == "model_bootstrap"
    assert overall2["estimate"] == pytest.approx(sum(probs) / len(probs))
    assert overall2["ci_low"] < overall2["estimate"] < overall2["ci_high"]
    cal = {"p": [0.1, 0.9] * 15, "y": [0, 1, 1, 1, 0, 0] * 5}
    rep3 = build_report(decided, TAXONOMY, GUIDELINES, calibration=cal)
    (overall3,) = rep3.avoidable_overall
    assert overall3["ci_high"] - overall3["ci_low"] > overall2["ci_high"] - overall2["ci_low"]


def test_texts_have_the_same_keys_in_every_language():
    from classifier.report.texts import LANGS, STOPWORDS, TEXT, WEEKDAYS

    assert set(TEXT) == set(LANGS) == {"fi", "en"}
    assert set(TEXT["fi"]) == set(TEXT["en"])
    assert all(isinstance(v, str) and v for lang in LANGS for v in TEXT[lang].values())
    assert all(len(WEEKDAYS[lang]) == 7 for lang in LANGS)
    assert {"asiakas", "kiitos", "hetu"} <= STOPWORDS


def test_templates_and_texts_are_package_data():
    from importlib.resources import files

    root = files("classifier.report")
    for name in ("templates/report.html.j2", "templates/report.md.j2", "templates/report.css", "lang/fi.toml",
                 "lang/en.toml", "lang/stopwords.txt"):
        assert root.joinpath(name).is_file(), name


@pytest.mark.parametrize("lang", ["fi", "en"])
def test_reasons_table_shows_words_not_codes(lang, tmp_path):
    from classifier.rules import REASONS

    rep = build_report(ROWS, TAXONOMY, GUIDELINES, lang=lang)
    assert [r["reason"] for r in rep.avoidable_reasons][:len(REASONS)] == list(REASONS)
    for r in rep.avoidable_reasons:
        assert r["label"] != r["reason"] and "_" not in r["label"], r
    md = write_report(rep, tmp_path, formats=("md",))["md"].read_text(encoding="utf-8")
    assert not any(f"| {code} |" in md for code in REASONS)


# ---------------------------------------------------------------------------------------------
# the panel "before and after your reviews"


def _probable_rows(n=200):
    out = []
    for i in range(n):
        t = ("uusi", "vahvistus", "vaara")[i % 3]
        p = (0.85, 0.1, 0.6)[i % 3]
        reason = {"uusi": "guideline_existed", "vahvistus": "back_office_remit", "vaara": "misrouted"}[t]
        row = R(f"p{i:03d}", "email", "2016-05-10T10:00:00+03:00", t, reason)
        row["predicted"].update({"avoidable_probability": p, "coverage_probability": p})
        out.append(row)
    return out


def test_before_and_after_without_reviews_marks_the_model_unverified_and_says_how_many_to_review(tmp_path):
    rep = build_report(_probable_rows(), TAXONOMY, lang="en")
    model, needed = rep.avoidable_before_after
    assert model["measure"] == "model" and model["estimate"] == pytest.approx(rep.avoidable_overall[0]["estimate"])
    assert model["note"].startswith("unverified on this catalogue")
    from classifier.estimate import reviews_for_margin

    p = [r["predicted"]["avoidable_probability"] for r in _probable_rows()]
    assert needed["measure"] == "reviews_needed" and needed["reviews"] == reviews_for_margin(p)
    assert 10 < needed["reviews"] <= 200 and "review --tilted" in needed["note"]
    md = write_report(rep, tmp_path)["md"].read_text(encoding="utf-8")
    assert "### Before and after your reviews" in md and "| The model alone | " in md
    assert "Random reviews for an interval of ±5 points" in md


def test_before_and_after_with_reviews_puts_the_corrected_estimate_and_the_accuracy_beside_the_model():
    rows = _probable_rows()
    rev = {r["id"]: {"id": r["id"], "topic": r["predicted"]["topic"], "guideline_id": None,
                     "avoidable": r["predicted"]["topic"] == "vaara" or (k % 2 == 0), "queue": "random"}
           for k, r in enumerate(rows[:40])}
    rep = build_report(rows, TAXONOMY, lang="en", reviewed=rev)
    panel = {r["measure"]: r for r in rep.avoidable_before_after}
    assert set(panel) == {"model", "corrected", "avoidable_accuracy", "topic_accuracy"}
    assert panel["model"]["note"].startswith("checked against 40 reviews")
    ppi = rep.avoidable_overall[-1]
    assert panel["corrected"]["estimate"] == ppi["estimate"] and panel["corrected"]["reviews"] == 40
    assert panel["topic_accuracy"]["estimate"] == 1.0 and panel["avoidable_accuracy"]["estimate"] < 1.0
    # too few reviews: the corrected row says how many more, and the reviews-needed row stays
    few = build_report(rows, TAXONOMY, lang="en", reviewed=dict(list(rev.items())[:4]))
    panel = {r["measure"]: r for r in few.avoidable_before_after}
    assert panel["corrected"]["estimate"] is None and panel["corrected"]["note"] == "needs 6 more reviews"
    assert "reviews_needed" in panel


def test_no_panel_for_rows_labelled_without_a_model():
    rows = [{"id": f"l{i}", "sent_at": "2016-05-10T10:00:00+03:00", "channel": "email", "topic": "uusi",
             "avoidable": i % 2 == 0} for i in range(20)]
    assert build_report(rows, TAXONOMY).avoidable_before_after == []
def test_read_labelled_keeps_hashed_ids_and_redacts_others(tmp_path):
    """label's keyed hash of an id is kept as written (its digits can look like a phone number); raw ids are redacted."""
    rows = [dict(ROWS[0], id="h-031075752a280c1674a3"), dict(ROWS[0], id="matti.meikalainen@example.com")]
    p = tmp_path / "l.jsonl"
    p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    got = [r["id"] for r in read_labelled(p)]
    assert got[0] == "h-031075752a280c1674a3"
    assert "meikalainen" not in got[1]


# --------------------------------------------------------------------------- the headline: one number per figure


def _with_probabilities(rows):
    out = []
    for i, r in enumerate(rows):
        r = dict(r)
        if r.get("predicted") and r["predicted"].get("reason") not in (None, "uncertain_topic"):
            r["predicted"] = dict(r["predicted"], avoidable_probability=0.9 if r["predicted"].get("avoidable") else 0.15)
        out.append(r)
    return [r for r in out if not r.get("predicted") or r["predicted"].get("reason") != "uncertain_topic"]


def _top(section: str, page: str) -> str:
    """The part of a written report before its first numbered section."""
    return page.split(section, 1)[0]


@pytest.mark.parametrize("lang", ["fi", "en"])
def test_headline_repeats_the_tables_and_says_what_the_share_rests_on(lang, tmp_path):
    from classifier.report.format import _fmt_int, _fmt_pct
    from classifier.report.texts import TEXT

    rep = build_report(_with_probabilities(ROWS), TAXONOMY, GUIDELINES, lang=lang, **PERIOD)
    h, (overall,) = rep.headline, rep.avoidable_overall
    assert overall["method"] == "model_bootstrap"
    assert h["share"]["basis"] == "model" and h["share"]["estimate"] == overall["estimate"]
    assert (h["share"]["ci_low"], h["share"]["ci_high"]) == (overall["ci_low"], overall["ci_high"])
    topics = sorted((r for r in rep.topics if r["topic"] != "total" and r["total_n"]), key=lambda r: -r["total_n"])
    assert [(t["label"], t["n"]) for t in h["topics"]] == [(r["label"], r["total_n"]) for r in topics[:3]]
    assert [(g["label"], g["n"]) for g in h["gaps"]] == [(r["label"], r["n"]) for r in rep.gaps[:3]]
    paths = write_report(rep, tmp_path, formats=("md", "html"))
    nb = lambda s: s.replace("\u00a0", " ")  # noqa: E731
    md = nb(_top("## 1.", paths["md"].read_text(encoding="utf-8")))
    html = nb(_top('<section id="volumes"', paths["html"].read_text(encoding="utf-8")))
    t = TEXT[lang]
    share = nb(_fmt_pct(overall["estimate"], lang))
    for page in (md, html):
        assert share in page and t["hl_title"] in page and t["hl_topics"] in page and t["hl_gaps"] in page
        assert "tukipyynto review" in page  # model only: how to correct it
        assert nb(f"{_fmt_int(rep.n_analysed, lang)}") in page
        assert all(x["label"] in page for x in h["topics"] + h["gaps"])
    # the share appears once in the page's top; the yes/no decisions' share is not a second headline number
    assert md.count(share) == 1 and nb(_fmt_pct(overall["share"], lang)) not in md


def test_headline_of_labelled_rows_and_of_a_reviewed_sample():
    labels = build_report(ROWS, TAXONOMY, GUIDELINES, **PERIOD)
    assert labels.headline["share"]["basis"] == "labels"
    tax = Taxonomy.from_labels(["a", "b"])
    rows, reviewed = [], {}
    for i in range(120):
        t = "a" if i % 2 else "b"
        rows.append({"id": f"x{i}", "channel": "email", "sent_at": "2016-09-05T10:00:00+03:00", "status": "ok",
                     "predicted": {"topic": t, "confidence": 0.9, "candidates": [[t, 0.9]], "guideline_id": None,
                                   "avoidable": t == "a", "reason": "guideline_existed" if t == "a" else "no_guideline",
                                   "avoidable_probability": 0.8 if t == "a" else 0.1}})
        if i < 40:
            truth = "b" if i % 4 == 1 else t
            reviewed[f"x{i}"] = {"id": f"x{i}", "topic": truth, "avoidable": truth == "a", "guideline_id": None,
                                 "queue": "random"}
    rep = build_report(rows, tax, reviewed=reviewed)
    model_row, ppi_row = rep.avoidable_overall
    share = rep.headline["share"]
    assert share["basis"] == "reviewed" and share["estimate"] == ppi_row["estimate"]
    assert share["n_reviewed"] == ppi_row["n_reviewed"] == 40 and share["model_estimate"] == model_row["estimate"]
    from classifier.report import headline_lines

    lines = headline_lines(rep)
    assert "40" in lines[1] and "PPI" in lines[1]


def test_avoidable_tables_show_one_number_and_no_reviewed_zeros(tmp_path):
    from classifier.report.texts import TEXT

    rep = build_report(_with_probabilities(ROWS), TAXONOMY, GUIDELINES, **PERIOD)
    md = write_report(rep, tmp_path, formats=("md",))["md"].read_text(encoding="utf-8")
    t = TEXT["fi"]
    section = md.split("## 4.", 1)[1].split("## 5.", 1)[0]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in section.splitlines() if line.startswith("| ")]
    headers = [cells for cells in rows if cells[0] in (t["col_group"], t["col_label"], t["col_channel"], t["col_period"])]
    assert len(headers) == 4
    for cells in headers:
        assert t["col_estimate"] in cells and t["col_share"] not in cells and t["col_n_avoidable"] not in cells
        assert t["col_n_reviewed"] not in cells


def test_avoidable_topic_figure_labels_say_what_the_bars_show():
    from classifier.report.figures import _avoidable_topic_bars
    from classifier.report.format import _fmt_pct

    rep = build_report(_with_probabilities(ROWS), TAXONOMY, GUIDELINES, **PERIOD)
    bars = _avoidable_topic_bars(rep)
    rows = [r for r in rep.avoidable_by_topic if r["n"]]
    assert len(bars) == len(rows) >= 3
    for b, r in zip(bars, rows):
        assert b["value"] == pytest.approx(100 * r["estimate"]) and b["text"] == _fmt_pct(r["estimate"], "fi")
        assert b["label"] == f"{r['label']} (n = {r['n']})"
    # bars run from the most avoidable contacts (estimate x requests) down
    est = [r["estimate"] * r["n"] for r in rows]
    assert est == sorted(est, reverse=True)


def test_the_report_does_not_depend_on_the_order_of_its_rows(report):
    import random

    shuffled = list(ROWS)
    random.Random(7).shuffle(shuffled)
    assert build_report(shuffled, TAXONOMY, GUIDELINES, **PERIOD).to_dict() == report.to_dict()


def test_rows_redacted_already_are_not_redacted_again():
    row = R("x1", "email", "2016-09-14T11:00:00+03:00", "paattaminen", "no_guideline",
            text="Soita numeroon 040 123 4567, kuka voi allekirjoittaa?")
    plain = build_report([row], TAXONOMY)
    trusted = build_report([row], TAXONOMY, redacted=True)
    assert "040 123 4567" not in str(plain.gaps) and "040 123 4567" in str(trusted.gaps)


def test_gap_clusters_of_many_texts_are_found_on_a_sample_and_scaled_to_all():
    from classifier.report.tables import gaps

    texts = [f"Kuolinpesä haluaa päättää sopimuksen {i % 7}" if i % 2 else f"Muutto uuteen osoitteeseen {i % 5}"
             for i in range(gaps.CLUSTER_SAMPLE * 3 + 1)]
    summary, found = gaps._cluster_texts(texts, 2, 0, 3, 200)
    assert sum(c["size"] for c in found) == len(texts) and len(found) == 2
    assert all(abs(c["size"] - len(texts) / 2) < 0.05 * len(texts) for c in found)
