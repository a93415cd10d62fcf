"""Real-world mail from public mail parsers' test suites: every message yields a row, none crashes the run.

The fixtures (broken MIME, unknown charsets, TNEF, nested message/rfc822, non-ASCII headers,
missing Date or Message-ID, real Outlook .msg files) and their sources and licences are listed in
``tests/data/realworld/README.md``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from classifier.cli import main
from classifier.ingest import QUOTE_MARKER, iter_contacts, summarise
from classifier.label import label_inputs

REALWORLD = Path(__file__).resolve().parent.parent / "data" / "realworld"
FILES = sorted(p for d in ("eml", "msg") for p in (REALWORLD / d).iterdir() if p.is_file())
BROKEN_MSG = "poi__clusterfuzz-testcase-minimized-POIHSMFFuzzer-4735011465854976.msg"

pytestmark = pytest.mark.filterwarnings("ignore")  # extract-msg warns about unusual .msg properties


def by_name(contacts) -> dict:
    """Contacts by their source file's name."""
    return {Path(c.source).name: c for c in contacts}


@pytest.fixture(scope="module")
def contacts():
    """The whole fixture folder read as one input (its .eml and .msg files threaded together)."""
    return by_name(iter_contacts([REALWORLD]))


# --------------------------------------------------------------------------- every message a row


def test_fixture_set_is_small_and_attributed():
    assert 30 <= len(FILES) <= 50
    assert sum(p.stat().st_size for p in REALWORLD.rglob("*") if p.is_file()) < 2_000_000
    assert all(p.stat().st_size < 300_000 for p in FILES)
    readme = (REALWORLD / "README.md").read_text(encoding="utf-8")
    for p in FILES:
        assert f"`{p.parent.name}/{p.name}`" in readme, f"{p.name} has no attribution row"
    assert len([p for p in FILES if p.suffix == ".msg"]) >= 2


def test_folder_accounts_for_every_message(parser):
    cs = list(iter_contacts([REALWORLD]))
    s = summarise(cs)
    assert s.messages == len(FILES)  # each message is a contact or counted in the thread it joined
    assert len({(c.source, c.position) for c in cs}) == len(cs)
    assert {Path(c.source).name for c in cs} <= {p.name for p in FILES}
    errors = [c for c in cs if c.error]
    assert [Path(c.source).name for c in errors] == [BROKEN_MSG]
    for c in cs:
        assert c.channel == "email"
        assert c.error or c.subject is None or "\x00" not in c.subject


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_each_message_alone_gives_exactly_one_row(path):
    cs = list(iter_contacts([path]))
    assert len(cs) == 1 and cs[0].n_messages == 1
    c = cs[0]
    assert c.source == str(path) and c.position == 0
    if c.error:
        assert str(path) in c.error  # an error row names its file
        assert c.text == ""
    else:
        assert c.text or "empty_text" in c.flags
        assert c.sent_at is None or c.sent_at.tzinfo is not None


def test_broken_msg_is_an_error_row_naming_the_file(contacts):
    c = contacts[BROKEN_MSG]
    assert c.error.startswith(f"{REALWORLD / 'msg' / BROKEN_MSG}: cannot read the Outlook message")
    assert c.n_messages == 1 and c.channel == "email"


# --------------------------------------------------------------------------- Outlook .msg


@pytest.mark.parametrize("name, subject, words", [
    ("poi__quick.msg", "Test the content transformer", "The quick brown fox jumps over the lazy dog"),
    # ANSI (non-Unicode) string properties end in NUL: the subject must not keep it.
    ("poi__simple_test_msg.msg", "test message", "This is a test message."),
    ("poi__cyrillic_message.msg", 'Автоматический ответ подсистемы обмена данными ФГУП "Почта России".',
     'Ваше сообщение с темой "FW: RTM" было успешно получено'),
    ("poi__attachment_msg_pdf.msg", "test email", "Test email with 1 msg attachment, 1 pdf"),
    # HTML-only body stored as bytes in code page 1251 (PR_INTERNET_CPID), with a wrong <meta charset>.
    ("poi__HTMLBodyBinary_CP1251.msg", "Subject öäü Subject", "HTML автоматически"),
], ids=lambda v: v if str(v).endswith(".msg") else "")
def test_real_msg_files_give_their_subject_and_text(contacts, name, subject, words):
    c = contacts[name]
    assert c.error is None
    assert c.subject == subject
    assert words in c.text
    assert c.channel == "email"


def test_msg_with_attached_msg_keeps_it_as_a_quote(contacts):
    c = contacts["poi__attachment_msg_pdf.msg"]
    assert "quote_kept" in c.flags
    assert c.text.split(QUOTE_MARKER)[1].strip().startswith("Blah blah blah")
    assert any(a.lower().endswith(".pdf") for a in c.attachments)
    assert c.sent_at.tzinfo is not None and c.id  # the .msg Message-ID or a stable id


def test_html_only_msg_is_converted(contacts):
    c = contacts["poi__HTMLBodyBinary_CP1251.msg"]
    assert "html_converted" in c.flags and "charset_repaired" not in c.flags
    assert "<" not in c.text


# --------------------------------------------------------------------------- per category


def test_nested_rfc822_text_is_found(parser):
    cs = by_name(iter_contacts([REALWORLD / "eml"]))
    c = cs["mimekit__simple-embedded-message.eml"]
    own, quoted = c.text.split(QUOTE_MARKER)
    assert "This is the message body." in own and "This is the embedded message body" in quoted
    c = cs["mail__attachment_message_rfc822.eml"]
    assert "This is the first part." in c.text and "Just attaching another PDF" in c.text
    # A nested message with broken headers and a broken body: its text (or its raw words) is still read.
    for name in ("flanker__enclosed-broken.eml", "flanker__enclosed-broken-body.eml"):
        assert cs[name].error is None and QUOTE_MARKER in cs[name].text


@pytest.mark.parametrize("name, subject", [
    ("mail__raw_email_with_partially_quoted_subject.eml", 'Re: Test: "漢字" mid "漢字" tail'),
    ("mail__raw_email_encoded_stack_level_too_deep.eml", "Nicolas Fouché has accepted your invitation to Gmail"),
    ("mail__japanese_iso_2022.eml", "まみむめも"),
    ("mimekit__japanese.eml", "日本語メールテスト (testing Japanese emails)"),
    ("mail__utf8_headers.eml", "Säying Hello"),  # RFC 6532: raw UTF-8
    ("mail__invalid_subject_characters.eml", "Formação FrenetikPolis: Mega Campanha Final Verão | Cursos de Setembro"),  # raw latin-1
], ids=lambda v: v if str(v).endswith(".eml") else "")
def test_non_ascii_subjects_are_decoded(contacts, name, subject):
    assert contacts[name].subject == subject


def test_gb2312_label_on_gbk_bytes_is_read_as_gbk(contacts):
    # WHATWG reads gb2312 as GBK: mailers label GBK text gb2312, and strict GB2312 fails on it.
    c = contacts["mailparser__mail_test_9.eml"]
    assert "镜头" in c.subject and "charset_repaired" not in c.flags
    assert "html_converted" in c.flags


def test_iso_2022_jp_body_is_decoded_not_read_as_ascii(contacts):
    c = contacts["mail__japanese_iso_2022.eml"]
    assert c.text == "すみません。"
    assert "control_chars_removed" not in c.flags
    assert "正常に" in contacts["mimekit__japanese.eml"].text


def test_unusual_charset_labels(contacts):
    assert contacts["mail__ks_c_5601-1987.eml"].text == "스티해"
    c = contacts["mimekit__ukr.eml"]  # koi8-r
    assert c.text.startswith("шостий")


def test_tnef_winmail_dat_is_an_attachment_and_the_text_is_read(contacts):
    c = contacts["mimekit__ukr.eml"]
    assert c.error is None and c.subject == "rr test 7"
    assert "winmail.dat" in c.attachments


@pytest.mark.parametrize("name", ["mail__utf8_headers.eml", "flanker__encoded-header.eml",
                                  "flanker__missing-boundaries.eml", "flanker__false-multipart.eml",
                                  "mail__bad_encoded_subject.eml"])
def test_missing_date_is_flagged(contacts, name):
    c = contacts[name]
    assert c.sent_at is None and "no_date" in c.flags


def test_unparseable_date_is_flagged(contacts):
    c = contacts["mail__bad_date_header.eml"]
    assert c.sent_at is None and "bad_date" in c.flags


@pytest.mark.parametrize("name", ["mail__utf8_headers.eml", "flanker__missing-boundaries.eml",
                                  "flanker__delayed-broken.eml", "mimekit__missing-subtype.eml"])
def test_missing_message_id_gets_a_stable_id(contacts, name):
    c = contacts[name]
    assert re.fullmatch(r"[0-9a-f]{16}", c.id) and c.message_ids == ()
    again = by_name(iter_contacts([REALWORLD]))[name]
    assert again.id == c.id


def test_broken_mime(parser):
    cs = by_name(iter_contacts([REALWORLD / "eml"]))
    c = cs["flanker__missing-final-boundary.eml"]
    assert c.text == "Some body" and "truncated" in c.flags
    c = cs["flanker__missing-boundaries.eml"]  # the boundary never occurs: the raw body is the text
    assert c.text.startswith("Hi This is a broken message")
    c = cs["mailparser__mail_malformed_3.eml"]
    assert "boundary_not_found" in c.flags and c.text
    c = cs["mail__raw_email_with_illegal_boundary.eml"]
    assert c.text == "Hello\nThis is an outlook test\n\nSo there."
    # an invalid Content-Type (no subtype) is text/plain for both parsers; with a file name it is an attachment
    c = cs["mimekit__missing-subtype.eml"]
    assert c.attachments == ("document.xml.gz",) and "empty_text" in c.flags
    c = cs["flanker__false-multipart.eml"]  # multipart with no parts: a row without text
    assert c.error is None and "empty_text" in c.flags
    assert "broken_headers" in cs["mimekit__issue358.eml"].flags


def test_html_only_mail_is_converted(contacts):
    c = contacts["mail__content_transfer_encoding_with_8bits.eml"]
    assert "html_converted" in c.flags and "December 04, 2001" in c.text and "<td" not in c.text


def test_attachment_only_mail_is_a_row_without_text(contacts):
    c = contacts["flanker__outlook-express.eml"]
    assert c.error is None and c.subject == "Sup?" and "empty_text" in c.flags and c.attachments


# --------------------------------------------------------------------------- the batch job


def test_label_run_accounts_for_every_message(tmp_path, tiny_model_dir, tiny_dir):
    out = tmp_path / "rows.jsonl"
    s = label_inputs([REALWORLD], out, tiny_model_dir, tiny_dir / "guidelines.jsonl", with_text=True)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == s.contacts
    assert s.messages == len(FILES) == sum(r["n_messages"] for r in rows)
    assert s.errors == 1 and s.labelled + s.no_text + s.errors == s.contacts
    (err,) = [r for r in rows if r["status"] == "error"]
    assert BROKEN_MSG in err["error"] and "cannot read the Outlook message" in err["error"]
    assert {r["status"] for r in rows} <= {"ok", "no_text", "error"}
    assert all(r["predicted"] for r in rows if r["status"] == "ok")


def test_cli_label_on_the_fixture_folder(tmp_path, tiny_model_dir, tiny_dir):
    out = tmp_path / "rows.csv"
    r = CliRunner().invoke(main, ["label", str(REALWORLD), "--out", str(out), "--model", str(tiny_model_dir),
                                  "--guidelines", str(tiny_dir / "guidelines.jsonl")])
    assert r.exit_code == 0, r.output
    assert r.exception is None
    assert f"from {len(FILES)} messages/records" in r.output
