"""Reading against a history: message identities, pseudonymised addresses, the incremental reader."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from classifier.ingest import identity, incremental, iter_contacts
from classifier.ingest.identity import MessageKeys, mail_ident
from classifier.ingest.incremental import IncrementalReader
from classifier.service import first_reply, is_back_office
from classifier.store import open_store

from .helpers import SEP, mail, write_mbox

KEYS = MessageKeys(b"test-key")


def _ident(raw: bytes, **kw) -> bytes:
    return mail_ident(KEYS, raw, 0, len(raw), **kw)[0]


def test_the_identity_survives_what_an_export_changes_and_sees_what_a_writer_changed():
    raw = mail(n=1).as_bytes()
    base = _ident(raw)
    assert _ident(b"Status: RO\nX-Mozilla-Status: 0001\n" + raw) == base  # fields a mail program adds
    assert _ident(raw.replace(b"\n", b"\r\n")) == base  # line ends
    assert _ident(raw + b"\n\n") == base  # the blank line an mbox ends a message with
    assert _ident(raw.replace(b"sopimuksesta", b"sopimuksista")) != base  # the body
    assert _ident(raw.replace(b"Sopimus", b"Sopimukset")) != base  # the subject
    assert _ident(mail(n=2).as_bytes()) != base  # the Message-ID
    other = MessageKeys(b"another key")
    assert mail_ident(other, raw, 0, len(raw))[0] != base  # keyed


def test_the_identity_in_an_mbox_is_the_one_of_the_message_alone(tmp_path):
    m = mail(n=1, body="From the start: asiakas kysyy.\nFrom here on too.")
    p = write_mbox(tmp_path / "a.mbox", [m])
    data = p.read_bytes()
    start = len(SEP)
    ident, mid_hash, mid = mail_ident(KEYS, data, start, len(data), mboxrd=True)
    assert ident == _ident(m.as_bytes()) and mid == "m1@ap.example" and mid_hash == KEYS.msgid("m1@ap.example")


def test_pseudonymised_addresses_compare_as_the_real_ones():
    a = KEYS.address
    assert a("hanna@sahko.example") == a("hanna@sahko.example") != a("ville@sahko.example")
    assert "hanna" not in a("hanna@sahko.example") and "sahko" not in a("hanna@sahko.example")
    for addr, rec, bo, sender in [("hanna@tiimi.sahko.example", ["sopimus@sahko.example"], ["@sahko.example"], "x@ap.example"),
                                  ("hanna@sahko.example", ["sopimus@sahko.example"], [], "x@ap.example"),
                                  ("x@ap.example", ["sopimus@sahko.example"], [], "x@ap.example"),
                                  ("y@ap.example", ["sopimus@sahko.example"], ["@muu.example"], "x@ap.example")]:
        assert is_back_office(a(addr), [a(r) for r in rec], [KEYS.pattern(p) for p in bo], a(sender)) == \
            is_back_office(addr, rec, bo, sender)


def _thread(path):
    return [c for c in iter_contacts([path]) if c.n_messages > 1][0].thread


def test_first_replies_on_pseudonymised_threads_are_the_real_ones(tmp_path):
    req = mail(n=1)
    ans = mail(n=2, reply_to=1, subject="RE: Sopimus", body="Hoidettu.")
    del ans["From"], ans["To"]
    ans["From"], ans["To"] = "sopimustiimi@sahko.example", "jonna@ap.example"
    ans.replace_header("Date", "Tue, 06 Sep 2016 09:00:00 +0300")
    real = _thread(write_mbox(tmp_path / "a.mbox", [req, ans]))
    pseudo = tuple(type(m)(m.sent_at, KEYS.address(m.sender), KEYS.addresses(m.recipients), m.is_reply) for m in real)
    assert first_reply(pseudo) == first_reply(real) and first_reply(real).at is not None


@pytest.fixture
def history(tmp_path):
    st = open_store(tmp_path / "h.sqlite", write=True, create=True)
    st.begin_run(["test"], {})
    yield st
    st.close()


def _read(reader, path):
    src = reader.plan([path])[0]
    out = list(reader.contacts(src))
    return out


def _write(history, reader, contacts):
    rows = [{"id": c.id, "key": f"{c.source}#{c.position}", "sent_at": c.sent_at.isoformat() if c.sent_at else None,
             "channel": c.channel, "status": "ok", "n_messages": c.n_messages, "predicted": None} for c in contacts]
    history.write(rows, [reader.plans.popleft() for _ in rows], reader.take_updates())


def test_known_messages_are_skipped_before_their_headers_are_read(tmp_path, history, monkeypatch):
    p = write_mbox(tmp_path / "a.mbox", [mail(n=1), mail(n=2, subject="Toinen")])
    reader = IncrementalReader(history, KEYS)
    _write(history, reader, _read(reader, p))
    calls = []
    monkeypatch.setattr(incremental._MboxReader, "_head_at", lambda *a: calls.append(a))
    again = IncrementalReader(history, KEYS)
    assert _read(again, p) == [] and again.n_seen == 2 and calls == []


def test_a_copy_within_one_run_is_read_once(tmp_path, history):
    p = write_mbox(tmp_path / "a.mbox", [mail(n=1), mail(n=2, subject="Toinen")])
    q = tmp_path / "b.mbox"
    q.write_bytes(p.read_bytes())
    reader = IncrementalReader(history, KEYS)
    assert len(_read(reader, p)) == 2 and _read(reader, q) == [] and reader.n_seen == 2


def test_workers_screen_as_this_process_does(tmp_path, history, monkeypatch):
    p = write_mbox(tmp_path / "a.mbox", [mail(n=i, subject=f"Aihe {i}") for i in range(30)])
    reader = IncrementalReader(history, KEYS)
    _write(history, reader, _read(reader, p)[:12])  # the first twelve are stored
    q = write_mbox(tmp_path / "b.mbox", [mail(n=i, subject=f"Aihe {i}") for i in range(40)])
    monkeypatch.setattr(incremental, "_PARALLEL_SCREEN", 10)
    with ThreadPoolExecutor(2) as pool:
        par = IncrementalReader(history, KEYS)
        par.submit, par.workers = pool.submit, 2
        got = [c.id for c in _read(par, q)]
    one = IncrementalReader(history, KEYS)
    assert got == [c.id for c in _read(one, q)] == [f"m{i}@ap.example" for i in range(12, 40)]
    assert par.n_seen == one.n_seen == 12


def test_a_reply_to_a_stored_message_updates_its_thread(tmp_path, history):
    reader = IncrementalReader(history, KEYS)
    _write(history, reader, _read(reader, write_mbox(tmp_path / "a.mbox", [mail(n=1)])))
    reply = mail(n=2, reply_to=1, subject="RE: Sopimus", body="Kiitos.")
    reader = IncrementalReader(history, KEYS)
    assert _read(reader, write_mbox(tmp_path / "b.mbox", [reply])) == []
    (u,) = reader.updates
    assert len(u.thread) == 2 and len(u.messages) == 1 and not u.superseded
    assert identity.reply_subject("RE: Sopimus")
