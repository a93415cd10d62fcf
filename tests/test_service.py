"""Service analytics: working minutes, first back-office replies, repeat contacts, the report section."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import mailbox
import random
from pathlib import Path

import pytest

from classifier.ingest import ThreadMessage, iter_contacts
from classifier.service import (RepeatLinker, ServiceError, ServiceSettings, first_reply, is_back_office,
                                parse_opening_hours, reference_keys, working_minutes)

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_MBOX = REPO / "corpus" / "examples" / "syyskuu-2016.mbox"
HKI = dt.timezone(dt.timedelta(hours=3))  # EEST, September
HKI_W = dt.timezone(dt.timedelta(hours=2))  # EET, December


def t(day, hh, mm=0, month=9, tz=HKI):
    return dt.datetime(2016, month, day, hh, mm, tzinfo=tz)


# ------------------------------------------------------------------------------ working minutes

@pytest.mark.parametrize("start,end,expected", [
    (t(5, 9, 0), t(5, 10, 30), 90),                     # same day (Mon 5.9.)
    (t(5, 7, 0), t(5, 9, 0), 30),                       # start before opening: counts from 8.30
    (t(5, 15, 0), t(5, 18, 0), 60),                     # end after closing: counts to 16.00
    (t(5, 15, 0), t(6, 9, 0), 60 + 30),                 # overnight
    (t(2, 15, 0), t(5, 9, 0), 60 + 30),                 # Fri -> Mon over a weekend
    (t(3, 12, 0), t(5, 8, 45), 15),                     # sent on a Saturday
    (t(5, 17, 0), t(5, 20, 0), 0),                      # wholly after closing
    (t(5, 9, 0), t(5, 9, 0), 0),                        # no time
    (t(5, 10, 0), t(5, 9, 0), 0),                       # end before start
    (t(5, 8, 30), t(12, 8, 30), 5 * 450),               # a whole week: five 7.5-hour days
    # Mon 5.12.2016 15.00 -> Wed 7.12. 9.00: Tue 6.12. (Independence Day) is a holiday
    (t(5, 15, 0, 12, HKI_W), t(7, 9, 0, 12, HKI_W), 60 + 30),
    # Thu 22.12. 15.00 -> Tue 27.12. 9.00: Fri 23.12. a working day, 24.-26.12. weekend and holidays
    (t(22, 15, 0, 12, HKI_W), t(27, 9, 0, 12, HKI_W), 60 + 450 + 30),
])
def test_working_minutes_hand_checked(start, end, expected):
    assert working_minutes(start, end) == pytest.approx(expected)


def test_working_minutes_time_zones_and_hours():
    # 06.00 UTC is 09.00 in Helsinki in September
    assert working_minutes(dt.datetime(2016, 9, 5, 6, 0, tzinfo=dt.timezone.utc), t(5, 10, 0)) == 60
    assert working_minutes(t(5, 7, 0), t(5, 12, 0), (dt.time(8, 0), dt.time(17, 0))) == 240
    # a naive datetime is Helsinki local time
    assert working_minutes(dt.datetime(2016, 9, 5, 9, 0), t(5, 9, 30)) == 30
    assert parse_opening_hours("8:30-16:00") == (dt.time(8, 30), dt.time(16, 0))
    with pytest.raises(ServiceError, match="start before"):
        parse_opening_hours("16:00-8:30")
    with pytest.raises(ServiceError, match="such as"):
        parse_opening_hours("aamusta")


# ------------------------------------------------------------------------------ first reply

AGENT = "agentti@kumppani.example"
TEAM = "tiimi@bo.example"


def msg(at, sender, to=(TEAM,), reply=False):
    return ThreadMessage(sent_at=at, sender=sender, recipients=tuple(to), is_reply=reply)


def test_first_reply_from_the_request_recipient_not_from_follow_ups():
    thread = [msg(t(5, 9), AGENT), msg(t(5, 9, 30), AGENT, reply=True),  # "kiitos!" / a follow-up
              msg(t(5, 11), TEAM, (AGENT,), True), msg(t(6, 9), TEAM, (AGENT,), True)]
    fr = first_reply(thread)
    assert fr.at == t(5, 11) and fr.working_minutes == 120 and fr.flags == ()


def test_first_reply_by_the_team_mailbox_domain_or_given_addresses():
    # a colleague answering from a personal address at the team mailbox's domain counts by default
    thread = [msg(t(5, 9), AGENT), msg(t(5, 10), "hanna@bo.example", (AGENT,), True)]
    assert first_reply(thread).at == t(5, 10)
    # ... but an agent's colleague at the agent's own domain never does
    other = [msg(t(5, 9), AGENT), msg(t(5, 10), "toinen@kumppani.example", (AGENT,), True)]
    assert first_reply(other).at is None and first_reply(other).flags == ("later_messages_not_back_office",)
    # a back office answering from another domain needs --back-office
    ext = [msg(t(5, 9), AGENT), msg(t(5, 10), "hanna@palvelu.example", (AGENT,), True)]
    assert first_reply(ext).at is None and first_reply(ext, ["@palvelu.example"]).at == t(5, 10)
    assert first_reply(thread, ["@bo.example"]).at == t(5, 10)
    assert first_reply(thread, ["hanna@bo.example"]).working_minutes == 60
    assert is_back_office("X@Sub.BO.example", (), ["@bo.example"]) and not is_back_office("x@notbo.example", (), ["@bo.example"])


def test_first_reply_bad_input_is_flagged():
    # a reply dated before its request: it sorts first, yet the request is found and the reply flagged
    fr = first_reply([msg(t(5, 8), TEAM, (AGENT,), True), msg(t(5, 9), AGENT)])
    assert fr.at == t(5, 8) and fr.working_minutes is None and fr.flags == ("reply_before_request",)
    # a thread the back office started
    fr = first_reply([msg(t(5, 9), "hanna@bo.example", (AGENT,)), msg(t(5, 10), AGENT, reply=True)], ["@bo.example"])
    assert fr.at is None and fr.flags == ("first_from_back_office",)
    # missing dates
    fr = first_reply([msg(None, AGENT), msg(t(5, 10), TEAM, (AGENT,), True)])
    assert fr.at == t(5, 10) and fr.working_minutes is None and fr.flags == ("request_no_date",)
    fr = first_reply([msg(t(5, 9), AGENT), msg(None, TEAM, (AGENT,), True)])
    assert fr.at is None and fr.flags == ("reply_no_date",)
    # nobody answered
    assert first_reply([msg(t(5, 9), AGENT)]) == first_reply([msg(t(5, 9), AGENT)]) and \
        first_reply([msg(t(5, 9), AGENT)]).at is None
    assert first_reply([]).at is None


# ------------------------------------------------------------------------------ a mailbox with known reply times

def _build_mailbox(path: Path, n: int = 80, seed: int = 3) -> dict[str, dt.datetime | None]:
    """Threads with known first replies: shared-address and personal replies, replies without
    In-Reply-To (subject only), agents' follow-ups, unanswered threads. Returns truth by request Message-ID."""
    rng = random.Random(seed)
    box = mailbox.mbox(str(path))
    truth: dict[str, dt.datetime | None] = {}
    base = dt.datetime(2016, 9, 1, 7, 0, tzinfo=HKI)

    def add(sender, to, subject, when, mid, irt=None, body="Hei"):
        m = email.message.EmailMessage()
        m["From"], m["To"], m["Subject"] = sender, to, subject
        m["Date"] = email.utils.format_datetime(when)
        m["Message-ID"] = f"<{mid}>"
        if irt:
            m["In-Reply-To"] = f"<{irt}>"
            m["References"] = f"<{irt}>"
        m.set_content(body)
        box.add(m)

    msgs = []
    for i in range(n):
        agent = f"agentti{i % 7}@kumppani.example"
        start = base + dt.timedelta(hours=rng.randint(0, 24 * 25), minutes=rng.randint(0, 59))
        rid = f"req{i}@kumppani.example"
        subject = f"Asiakkaan sopimus {i}"
        msgs.append((start, (agent, TEAM, subject, start, rid, None, f"Asiakas {i} kysyy sopimuksesta.")))
        answered = i % 4 != 0
        if rng.random() < 0.5:  # the agent's follow-up before any answer ("kiitos!" / "onko tullut?")
            msgs.append((start + dt.timedelta(minutes=20),
                         (agent, TEAM, "VS: " + subject, start + dt.timedelta(minutes=20), f"fu{i}@kumppani.example",
                          rid, "Onko tähän tullut vastausta? Kiitos!")))
        if answered:
            when = start + dt.timedelta(hours=rng.randint(1, 60), minutes=rng.randint(0, 59))
            replier = TEAM if i % 2 else f"kasittelija{i % 3}@bo.example"
            no_irt = i % 5 == 1  # a reply whose mailer dropped In-Reply-To: only its subject ties it
            msgs.append((when, (replier, agent, "VS: " + subject, when, f"rep{i}@bo.example",
                                None if no_irt else rid, "Hoidettu.")))
            msgs.append((when + dt.timedelta(minutes=5),
                         (agent, TEAM, "VS: " + subject, when + dt.timedelta(minutes=5), f"thx{i}@kumppani.example",
                          f"rep{i}@bo.example", "kiitos!")))
            truth[rid] = when
        else:
            truth[rid] = None
    for _, a in sorted(msgs, key=lambda x: x[0]):
        add(*a)
    box.flush()
    box.close()
    return truth


def _accuracy(contacts, truth, back_office):
    ok_answered = n_answered = ok_unanswered = n_unanswered = 0
    for c in contacts:
        if c.id not in truth:
            continue
        got = first_reply(c.thread, back_office).at
        want = truth[c.id]
        if want is None:
            n_unanswered += 1
            ok_unanswered += got is None
        else:
            n_answered += 1
            ok_answered += got is not None and got == want
    return ok_answered / n_answered, ok_unanswered / n_unanswered, n_answered, n_unanswered


def test_first_reply_accuracy_on_a_mailbox_with_known_reply_times(tmp_path):
    path = tmp_path / "known.mbox"
    truth = _build_mailbox(path)
    contacts = list(iter_contacts(path))
    assert {c.id for c in contacts} == set(truth)  # one contact per thread, follow-ups merged
    answered, unanswered, n_a, n_u = _accuracy(contacts, truth, ["@bo.example"])
    assert n_a >= 50 and n_u >= 15
    assert answered >= 0.95 and unanswered >= 0.95
    # without --back-office, replies from the team mailbox's domain count: the same here
    a2, u2, _, _ = _accuracy(contacts, truth, [])
    assert u2 >= 0.95 and a2 >= 0.95


@pytest.mark.skipif(not EXAMPLE_MBOX.exists(), reason="corpus/examples not built")
def test_first_reply_accuracy_on_the_example_mailbox():
    """Truth from the headers: the earliest message from the back-office domain that is not the request."""
    truth: dict[str, dt.datetime | None] = {}
    box = mailbox.mbox(str(EXAMPLE_MBOX))
    by_id = {}
    for m in box:
        by_id[m["Message-ID"].strip("<> ")] = m
    box.close()
    contacts = list(iter_contacts(EXAMPLE_MBOX))
    for c in contacts:
        replies = [email.utils.parsedate_to_datetime(by_id[i]["Date"]) for i in c.message_ids[1:]
                   if "@sahkoyhtio.example" in by_id[i]["From"]]
        truth[c.id] = min(replies) if replies else None
    assert sum(v is not None for v in truth.values()) == 40 and len(truth) == 156
    answered, unanswered, _, _ = _accuracy(contacts, truth, ["@sahkoyhtio.example"])
    assert answered == 1.0 and unanswered == 1.0


# ------------------------------------------------------------------------------ repeat contacts

def test_reference_keys_are_keyed_hashes_of_customer_and_contract_numbers():
    k1 = reference_keys("asiakasnumero 1234567, sopimusnro 99887766", b"k")
    assert len(k1) == 2 and all("1234567" not in k and "99887766" not in k for k in k1)
    assert reference_keys("Asiakas nro: 1234567 soitti", b"k") & k1  # same number, other wording
    assert not reference_keys("asiakasnumero 1234567", b"other") & k1  # another key, other hashes
    assert reference_keys("puh. 040 123 4567, matti@example.fi", b"k") == frozenset()  # agents' signatures
    assert reference_keys("tilaus T-123456", b"k", patterns=[r"T-(\d{6})"])
    with pytest.raises(ServiceError, match="not a regular expression"):
        ServiceSettings(reference_patterns=("(",))
    with pytest.raises(ServiceError, match="neither an address"):
        ServiceSettings(back_office=("sahkoyhtio.example",))


def test_repeat_linker_window():
    lk = RepeatLinker(14)
    assert lk.link(t(1, 9), "a", ["customer:x"]) is None
    assert lk.link(t(10, 9), "b", ["customer:x", "contract:y"]) == "a"
    assert lk.link(t(12, 9), "c", ["contract:y"]) == "b"
    assert lk.link(t(30, 9), "d", ["customer:x"]) is None  # 20 days after b
    assert lk.link(None, "e", ["customer:x"]) is None
    assert lk.link(t(30, 10), "f", []) is None


# ------------------------------------------------------------------------------ the labelling job

def _service_mailbox(path: Path) -> None:
    box = mailbox.mbox(str(path))

    def add(sender, to, subject, when, mid, irt=None, body="Hei"):
        m = email.message.EmailMessage()
        m["From"], m["To"], m["Subject"] = sender, to, subject
        m["Date"] = email.utils.format_datetime(when)
        m["Message-ID"] = f"<{mid}>"
        if irt:
            m["In-Reply-To"] = f"<{irt}>"
        m.set_content(body)
        box.add(m)

    add(f"Agentti <{AGENT}>", f"Tiimi <{TEAM}>", "asiakasnumero 1234567", t(5, 9), "a1@kumppani.example",
        body="Asiakas muuttaa ja tarvitsee uuden sopimuksen, asiakasnumero 1234567.")
    add(AGENT, TEAM, "VS: asiakasnumero 1234567", t(5, 9, 20), "a2@kumppani.example", "a1@kumppani.example", "kiitos!")
    add("hanna@bo.example", AGENT, "VS: asiakasnumero 1234567", t(5, 10), "a3@bo.example", "a1@kumppani.example",
        "Hoidettu.")
    add(AGENT, TEAM, "Sopimus", t(8, 15), "b1@kumppani.example",
        body="Asiakas (as.nro 1234567) kysyy vielä uuden sopimuksen aloituspäivää.")
    add("hanna@bo.example", AGENT, "Tiedote", t(9, 9), "c1@bo.example", body="Uusi hinnasto tulee voimaan.")
    box.flush()
    box.close()


def _label(args, tmp_path, tiny_model_dir, tiny_dir, out="out.jsonl"):
    from click.testing import CliRunner

    from classifier.cli import main

    r = CliRunner().invoke(main, ["label", *args, "--out", str(tmp_path / out), "--model", str(tiny_model_dir),
                                  "--guidelines", str(tiny_dir / "guidelines.jsonl")])
    assert r.exit_code == 0, r.output
    text = (tmp_path / out).read_text(encoding="utf-8")
    return text, [json.loads(x) for x in text.splitlines()]


def test_label_writes_first_replies_and_repeat_links_without_identifiers(tmp_path, tiny_model_dir, tiny_dir):
    _service_mailbox(tmp_path / "in.mbox")
    (tmp_path / "calls.jsonl").write_text(json.dumps(
        {"id": "p1", "channel": "phone", "sent_at": "2016-09-12T10:00:00+03:00",
         "text": "Asiakasnumero 1234567: asiakas soitti uudesta sopimuksesta"}) + "\n", encoding="utf-8")
    args = [str(tmp_path / "in.mbox"), str(tmp_path / "calls.jsonl"), "--back-office", "@bo.example",
            "--pseudonym-key", "salainen-avain"]
    text, rows = _label(args, tmp_path, tiny_model_dir, tiny_dir)
    assert len(rows) == 4  # three threads and a call: one row per contact
    a, b, c, p = rows
    assert a["first_reply_at"] == "2016-09-05T10:00:00+03:00" and a["first_reply_working_minutes"] == 60
    assert a["service_flags"] == [] and a["n_messages"] == 3
    assert b["first_reply_at"] is None and b["repeat_of"] == a["id"]
    assert c["service_flags"] == ["first_from_back_office"] and c["first_reply_at"] is None
    assert p["repeat_of"] == b["id"] and p["first_reply_at"] is None and p["service_flags"] is None
    assert "1234567" not in text and "salainen-avain" not in text and "@bo.example" not in text
    assert "agentti@" not in text

    # without --back-office, the personal reply at the team mailbox's domain still counts
    _, rows2 = _label(args[:2], tmp_path, tiny_model_dir, tiny_dir, "out2.jsonl")
    assert rows2[0]["first_reply_at"] == "2016-09-05T10:00:00+03:00" and rows2[0]["service_flags"] == []
    assert rows2[1]["repeat_of"] == rows2[0]["id"]  # links do not depend on the key

    # --repeat-days 2: the call (4 days after b) is no repeat any more
    _, rows3 = _label(args + ["--repeat-days", "2"], tmp_path, tiny_model_dir, tiny_dir, "out3.jsonl")
    assert rows3[3]["repeat_of"] is None and rows3[1]["repeat_of"] is None

    # resume after a crash keeps the links to the rows written before it
    out = tmp_path / "out.jsonl"
    out.write_text("".join(text.splitlines(keepends=True)[:1]) + text.splitlines()[1][:30], encoding="utf-8")
    text4, rows4 = _label(args + ["--resume"], tmp_path, tiny_model_dir, tiny_dir)
    assert rows4 == rows


def test_label_service_fields_with_two_jobs(tmp_path, tiny_model_dir, tiny_dir):
    _service_mailbox(tmp_path / "in.mbox")
    args = [str(tmp_path / "in.mbox"), "--back-office", "@bo.example"]
    _, one = _label(args, tmp_path, tiny_model_dir, tiny_dir, "one.jsonl")
    _, two = _label(args + ["--jobs", "2"], tmp_path, tiny_model_dir, tiny_dir, "two.jsonl")
    keys = ("id", "first_reply_at", "first_reply_working_minutes", "repeat_of", "service_flags")
    assert [{k: r[k] for k in keys} for r in one] == [{k: r[k] for k in keys} for r in two]


def test_label_rejects_bad_service_options(tmp_path, tiny_model_dir, tiny_dir):
    from click.testing import CliRunner

    from classifier.cli import main

    _service_mailbox(tmp_path / "in.mbox")
    for bad in (["--back-office", "bo.example"], ["--opening-hours", "16-8"], ["--reference-pattern", "("]):
        r = CliRunner().invoke(main, ["label", str(tmp_path / "in.mbox"), "--out", str(tmp_path / "x.jsonl"),
                                      "--model", str(tiny_model_dir), *bad])
        assert r.exit_code == 2 and "Traceback" not in r.output, r.output


# ------------------------------------------------------------------------------ the report section

def _row(i, channel, sent_at, topic, reply_at=None, minutes=None, flags=(), repeat_of=None, thread=True):
    row = {"id": f"r{i}", "channel": channel, "sent_at": sent_at, "status": "ok", "n_messages": 1,
           "predicted": {"topic": topic, "reason": "no_guideline", "avoidable": False},
           "first_reply_at": reply_at, "first_reply_working_minutes": minutes, "repeat_of": repeat_of,
           "service_flags": list(flags) if thread else None}
    return row


def _service_rows():
    rows = [
        _row(1, "email", "2016-09-05T09:00:00+03:00", "uusi", "2016-09-05T10:00:00+03:00", 60),
        _row(2, "email", "2016-09-05T17:00:00+03:00", "uusi", "2016-09-06T12:00:00+03:00", 210),
        _row(3, "email", "2016-09-06T10:00:00+03:00", "uusi", "2016-09-08T10:00:00+03:00", 900),
        _row(4, "email", "2016-09-06T11:00:00+03:00", "uusi"),  # unanswered
        _row(5, "email", "2016-09-07T11:00:00+03:00", "vahvistus", "2016-09-07T10:00:00+03:00", None,
             ["reply_before_request"]),
        _row(6, "email", "2016-09-10T11:00:00+03:00", "vahvistus", flags=["first_from_back_office"]),
        _row(7, "email", "2016-09-08T11:00:00+03:00", "vahvistus", flags=["later_messages_not_back_office"],
             repeat_of="r1"),
        _row(8, "phone", "2016-09-08T11:30:00+03:00", "uusi", thread=False, repeat_of="r7"),
        _row(9, "phone", "2016-09-08T11:40:00+03:00", "vahvistus", thread=False),
    ]
    return rows


def _tax():
    from classifier.io import read_taxonomy
    from tests.conftest import TAXONOMY

    import tempfile

    d = Path(tempfile.mkdtemp())
    (d / "t.json").write_text(json.dumps(TAXONOMY), encoding="utf-8")
    return read_taxonomy(d / "t.json")


def test_service_section_tables():
    from classifier.report import build_report

    rep = build_report(_service_rows(), _tax())
    topic = {r["topic"]: r for r in rep.service_response_by_topic}
    u = topic["uusi"]
    assert (u["n"], u["n_answered"], u["median_minutes"], u["p90_minutes"]) == (4, 3, 210, pytest.approx(762))
    assert u["within_day_share"] == pytest.approx(2 / 4)  # 60 and 210 of 3 timed + 1 unanswered
    v = topic["vahvistus"]  # the back office's own thread is no request
    assert (v["n"], v["n_answered"], v["median_minutes"]) == (2, 1, None)
    assert topic["total"]["n"] == 6
    assert [r["channel"] for r in rep.service_response_by_channel] == ["email"]
    assert [r["period"] for r in rep.service_response_by_month] == ["2016-09"]
    assert {r["label"]: r["n"] for r in rep.service_response_by_weekday} == {"ma": 2, "ti": 2, "ke": 1, "to": 1}
    q = {r["category"]: r["n"] for r in rep.service_quality}
    assert q == {"threads": 7, "answered": 4, "answered_timed": 3, "unanswered": 2,
                 "later_messages_not_back_office": 1, "reply_before_request": 1, "first_from_back_office": 1,
                 "request_no_date": 0, "reply_no_date": 0}
    heat = {(r["channel"], r["weekday"]): r for r in rep.service_heatmap}
    assert heat[("phone", 4)]["h11"] == 2 and heat[("email", 1)]["h09"] == 1 and heat[("email", 1)]["h17"] == 1
    assert sum(r["total"] for r in rep.service_heatmap) == 9
    hours = {r["topic"]: r for r in rep.service_email_in_hours}
    assert (hours["uusi"]["n"], hours["uusi"]["n_in_hours"]) == (4, 3)
    assert hours["vahvistus"]["n_in_hours"] == 2  # the Saturday one is outside
    rp = {r["topic"]: r for r in rep.service_repeats}
    assert (rp["uusi"]["n_repeat"], rp["vahvistus"]["n_repeat"], rp["total"]["n_repeat"]) == (1, 1, 2)


def test_service_section_written_in_finnish_and_english(tmp_path):
    import csv

    from classifier.report import build_report, write_report

    rep = build_report(_service_rows(), _tax())
    out = write_report(rep, tmp_path / "fi", formats=("md", "html", "csv"))
    md = out["md"].read_text(encoding="utf-8")
    assert "## 8. Palvelun sujuvuus" in md and "Vastausajat aiheittain" in md and "Mediaani (min)" in md
    assert "1 ketjussa on myöhempiä viestejä" in md
    assert {"png:service_response_by_topic", "png:service_heatmap"} <= set(out)
    with open(out["csv:service_quality"], encoding="utf-8", newline="") as fh:
        assert {r["category"]: int(r["n"]) for r in csv.DictReader(fh)}["unanswered"] == 2
    assert "Palvelun sujuvuus" in out["html"].read_text(encoding="utf-8")
    rep_en = build_report(_service_rows(), _tax(), lang="en")
    md = write_report(rep_en, tmp_path / "en", formats=("md",))["md"].read_text(encoding="utf-8")
    assert "## 8. Service" in md and "Response times by topic" in md and "Palvelun" not in md
    assert "| Email Mon |" in md


@pytest.mark.skipif(not EXAMPLE_MBOX.exists(), reason="corpus/examples not built")
def test_example_report_shows_the_service_section(tmp_path):
    """The September 2016 example mailbox, labelled with the shipped model: section 8 with its 40 answered threads."""
    from click.testing import CliRunner

    from classifier.cli import main

    r = CliRunner().invoke(main, ["analyse", str(EXAMPLE_MBOX), "--out", str(tmp_path), "--back-office",
                                  "@sahkoyhtio.example"])
    assert r.exit_code == 0, r.output
    assert "service: 40 of 156 email threads have a back-office reply" in r.output
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "## 8. Palvelun sujuvuus" in md and "(figures/service_heatmap.png)" in md
    import csv

    with open(tmp_path / "service_quality.csv", encoding="utf-8", newline="") as fh:
        q = {r["category"]: r["n"] for r in csv.DictReader(fh)}
    assert (q["threads"], q["answered"], q["unanswered"], q["answered_timed"]) == ("156", "40", "116", "40")
    # without --back-office the personal addresses at the team mailbox's domain count too: the same result
    r = CliRunner().invoke(main, ["analyse", str(EXAMPLE_MBOX), "--out", str(tmp_path / "b")])
    assert r.exit_code == 0 and "service: 40 of 156 email threads have a back-office reply" in r.output


def test_percentile():
    from classifier.service import percentile

    assert percentile([], 50) is None and percentile([None, float("nan")], 90) is None
    assert percentile([60, 900, 210], 50) == 210 and percentile([60, 210, 900], 90) == pytest.approx(762)
    assert percentile([1, 2, 3, 4], 50) == 2.5
