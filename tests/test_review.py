"""The review session, its reviewed file and the review server's security (no browser needed)."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import threading

import pytest

from classifier.errors import TukipyyntoError
from classifier.estimate import read_reviewed
from classifier.io import read_guidelines, read_taxonomy
from classifier.review import (ReviewError, ReviewLog, ReviewSession, build_queues, certainty, decide_avoidable,
                               make_server)

from .conftest import write_jsonl


def _rows(n: int = 30):
    topics = ["uusi", "vahvistus", "vaara"]
    out = []
    for i in range(n):
        t = topics[i % 3]
        conf = 0.4 + 0.6 * ((i * 37) % 100) / 100
        out.append({"id": f"r{i:03d}", "channel": "email", "sent_at": f"2016-0{1 + i % 9}-15T10:00:00+03:00",
                    "subject": f"aihe {i}", "text": f"Asiakas muuttaa, uusi sopimus {i}", "status": "ok",
                    "predicted": {"topic": t, "confidence": round(conf, 3),
                                  "candidates": [[t, round(conf, 3)], [topics[(i + 1) % 3], round(1 - conf, 3)],
                                                 [topics[(i + 2) % 3], 0.0]],
                                  "guideline_id": "G-1" if t == "uusi" else None, "avoidable": t != "vahvistus",
                                  "reason": "guideline_existed"}})
    return out


@pytest.fixture
def session(tiny_dir, tmp_path):
    tax = read_taxonomy(tiny_dir / "taxonomy.json")
    gl = read_guidelines(tiny_dir / "guidelines.jsonl", tax)
    s = ReviewSession(rows=_rows(), out=tmp_path / "reviewed.jsonl", guidelines=gl, taxonomy=tax, sample=10, seed=3,
                      reviewer="tester")
    yield s
    s.close()


def test_queues_are_seeded_and_independent_of_file_order():
    rows = _rows()
    a, ua = build_queues(rows, 10, seed=5)
    b, ub = build_queues(list(reversed(rows)), 10, seed=5)
    c, _ = build_queues(rows, 10, seed=6)
    assert a == b and ua == ub and a != c
    assert len(a) == 10 and not set(a) & set(ua) and len(ua) == 20
    cert = {r["id"]: certainty(r["predicted"]) for r in rows}
    assert [cert[i] for i in ua] == sorted(cert[i] for i in ua)


def test_certainty_uses_margin_and_coverage():
    assert certainty({"confidence": 0.9, "candidates": [["a", 0.9], ["b", 0.1]]}) == pytest.approx(0.8)
    assert certainty({"confidence": 0.9, "candidates": [["a", 0.9]], "coverage_probability": 0.55}) == pytest.approx(0.1)


def test_avoidable_rule_and_reasons(tiny_dir):
    tax = read_taxonomy(tiny_dir / "taxonomy.json")
    gl = {g.id: g for g in read_guidelines(tiny_dir / "guidelines.jsonl", tax)}
    d = dt.date(2016, 4, 1)
    assert decide_avoidable("vaara", None, d, tax) == (True, "misrouted")
    assert decide_avoidable("vahvistus", gl["G-2"], d, tax) == (False, "back_office_remit")
    assert decide_avoidable("uusi", gl["G-1"], d, tax) == (True, "guideline_existed")
    assert decide_avoidable("uusi", gl["G-1"], dt.date(2016, 2, 1), tax) == (False, "guideline_came_later")
    assert decide_avoidable("uusi", None, d, tax) == (False, "no_guideline")


def test_decisions_are_appended_resumed_and_superseded(session, tmp_path, tiny_dir):
    first = session.next_id("random")
    assert session.queue_of[first] == "random"
    card = session.card(first)
    assert card["text"].startswith("Asiakas") and card["queue"] == "random" and card["position"] == 1
    d = session.decide(first, "uusi", "G-1")
    assert d["avoidable"] in (True, False) and d["queue"] == "random"
    second = session.next_id("random")
    assert second != first
    session.decide(second, "vaara", None)
    session.decide(first, "vahvistus", None)           # re-review: last wins, both kept
    lines = (tmp_path / "reviewed.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3
    row = json.loads(lines[0])
    for k in ("id", "channel", "sent_at", "subject", "text", "topic", "guideline_id", "avoidable", "reviewer",
              "reviewed_at", "queue", "predicted"):
        assert k in row
    rev = read_reviewed(tmp_path / "reviewed.jsonl")
    assert rev[first]["topic"] == "vahvistus" and rev[first]["reason"] == "back_office_remit"
    session.close()
    # restart: the same queues, the reviewed ones are done
    tax = read_taxonomy(tiny_dir / "taxonomy.json")
    s2 = ReviewSession(rows=_rows(), out=tmp_path / "reviewed.jsonl", guidelines=session.guidelines, taxonomy=tax,
                       sample=10, seed=3)
    assert s2.state()["progress"]["random"]["done"] == 2
    assert s2.next_id("random") not in (first, second)
    s2.close()


def test_undo_restores_the_previous_decision(session, tmp_path):
    rid = session.next_id("random")
    session.decide(rid, "uusi", "G-1")
    session.decide(rid, "vaara", None)
    session.undo(rid)
    assert read_reviewed(tmp_path / "reviewed.jsonl")[rid]["topic"] == "uusi"
    session.undo(rid)
    assert rid not in read_reviewed(tmp_path / "reviewed.jsonl")
    assert session.next_id("random") == rid
    with pytest.raises(ReviewError):
        session.undo(rid)


def test_skip_moves_to_the_end(session):
    a = session.next_id("random")
    session.skip(a)
    assert session.next_id("random") != a


def test_invalid_decisions_are_refused(session):
    rid = session.next_id("random")
    for args in ((rid, "nope", None), (rid, "uusi", "G-99"), ("missing", "uusi", None), (rid, ["x"], None)):
        with pytest.raises(ReviewError):
            session.decide(*args)
    with pytest.raises(TukipyyntoError) as e:
        session.decide(rid, "nope", None)
    assert isinstance(e.value, ValueError)
    with pytest.raises(ReviewError):
        session.decide(rid, "uusi", None, queue="uncertain")


def test_torn_last_line_is_cut_on_restart(tmp_path):
    p = tmp_path / "r.jsonl"
    p.write_text('{"id": "a", "topic": "uusi", "queue": "random"}\n{"id": "b", "top', encoding="utf-8")
    log = ReviewLog(p)
    assert log.current("a") and log.current("b") is None
    log.append({"id": "b", "topic": "vaara", "queue": "random"})
    log.close()
    assert set(read_reviewed(p)) == {"a", "b"}


def test_search_finds_by_title_word(session):
    res = session.search("laskutus")
    assert res[0]["id"] == "G-3" and res[0]["retired"] == "2016-06-30"


# ---------------------------------------------------------------------------------------------
# the server


@pytest.fixture
def server(session):
    srv = make_server(session, "127.0.0.1", 0)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _req(srv, method, path, body=None, headers=None, raw=None):
    port = srv.server_address[1]
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    h = {"Host": f"127.0.0.1:{port}"}
    h.update(headers or {})
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    out = r.status, r.read()
    c.close()
    return out


def test_server_serves_the_page_and_assets_locally(server):
    status, html = _req(server, "GET", "/")
    assert status == 200 and server.token.encode() in html
    assert b"http://" not in html and b"https://" not in html       # no CDN: every asset is local
    for name in ("review.js", "review.css"):
        st, body = _req(server, "GET", f"/static/{name}")
        assert st == 200 and b"https://" not in body
    assert _req(server, "GET", "/static/../review.py")[0] == 404


def test_server_refuses_cross_site_and_malformed_requests(server, session, tmp_path):
    tok = {"X-Review-Token": server.token}
    rid = session.next_id("random")
    good = {"id": rid, "topic": "uusi", "guideline_id": None}
    ctype = {"Content-Type": "application/json"}
    assert _req(server, "GET", "/api/state")[0] == 403                                   # no token
    assert _req(server, "POST", "/api/decide", good, ctype)[0] == 403                     # no token
    assert _req(server, "POST", "/api/decide", good, {**ctype, **tok, "Origin": "http://evil.example"})[0] == 403
    assert _req(server, "GET", "/", headers={"Host": "evil.example:80"})[0] == 421       # DNS rebinding
    assert _req(server, "POST", "/api/decide", good, {"Content-Type": "text/plain", **tok})[0] == 415
    assert _req(server, "POST", "/api/decide", None, {**ctype, **tok}, raw=b"{not json")[0] == 400
    assert _req(server, "POST", "/api/decide", None, {**ctype, **tok}, raw=b"[1, 2]")[0] == 400
    assert _req(server, "POST", "/api/decide", None, {**ctype, **tok}, raw=b"\xff\xfe")[0] == 400
    assert _req(server, "POST", "/api/decide", {"id": 5}, {**ctype, **tok})[0] == 400
    assert _req(server, "POST", "/api/decide", {**good, "topic": "x"}, {**ctype, **tok})[0] == 400
    assert _req(server, "POST", "/api/decide", None, {**ctype, **tok}, raw=b"x" * 70000)[0] == 413
    assert _req(server, "GET", "/api/card?id=nope", headers=tok)[0] == 400
    assert _req(server, "GET", "/api/next?queue=nope", headers=tok)[0] == 400
    assert _req(server, "GET", "/api/preview?id=" + rid, headers=tok)[0] == 400
    assert _req(server, "PUT", "/api/decide", good, tok)[0] == 405
    assert _req(server, "GET", "/nothing")[0] == 404
    assert not (tmp_path / "reviewed.jsonl").read_text()                                  # nothing written
    st, body = _req(server, "POST", "/api/decide", good, {**ctype, **tok, "Origin": f"http://127.0.0.1:{server.server_address[1]}"})
    assert st == 200 and json.loads(body)["topic"] == "uusi"
    assert len((tmp_path / "reviewed.jsonl").read_text().splitlines()) == 1
    assert _req(server, "GET", "/api/state", headers=tok)[0] == 200                      # still up


def test_other_hosts_need_the_access_token(session):
    srv = make_server(session, "0.0.0.0", 0)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        assert srv.require_token and srv.url.endswith(f"?token={srv.token}")
        assert _req(srv, "GET", "/")[0] == 403
        assert _req(srv, "GET", f"/?token={srv.token}")[0] == 200
        assert _req(srv, "GET", "/?token=wrong")[0] == 403
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.mark.slow
def test_train_accepts_reviewed_files(tmp_path):
    from click.testing import CliRunner

    from classifier.cli import main
    from .conftest import CORPUS

    rows = [json.loads(line) for line in (CORPUS / "test.jsonl").read_text(encoding="utf-8").splitlines()[:30]]
    rev = write_jsonl(tmp_path / "rev.jsonl", [{**r, "queue": "random", "reviewer": "t", "reviewed_at": "x"} for r in rows]
                      + [{"id": rows[0]["id"], "retracted": True}])
    res = CliRunner().invoke(main, ["train", str(CORPUS / "dev.jsonl"), "--reviewed", str(rev), "--reviewed-weight", "2",
                                    "--out", str(tmp_path / "m")])
    assert res.exit_code == 0, res.output
    card = (tmp_path / "m" / "README.md").read_text(encoding="utf-8")
    assert "reviewed requests added" in card and "'n': 29" in card and "'weight': 2.0" in card


# ---------------------------------------------------------------------------------------------
# the reviewed file is data: checked before it is touched, locked while a session has it


def _session(tiny_dir, out, **kw):
    tax = read_taxonomy(tiny_dir / "taxonomy.json")
    gl = read_guidelines(tiny_dir / "guidelines.jsonl", tax)
    return ReviewSession(rows=_rows(), out=out, guidelines=gl, taxonomy=tax, **{"sample": 10, "seed": 3, **kw})


def test_a_complete_last_line_without_newline_is_kept(tmp_path):
    p = tmp_path / "r.jsonl"
    p.write_text('{"id": "a", "topic": "uusi", "queue": "random"}\n{"id": "b", "topic": "vaara", "queue": "random"}',
                 encoding="utf-8")
    log = ReviewLog(p)
    assert log.current("b")["topic"] == "vaara"
    assert any("no newline" in n for n in log.notes)
    log.append({"id": "c", "topic": "uusi", "queue": "random"})
    log.close()
    assert [json.loads(x)["id"] for x in p.read_text(encoding="utf-8").splitlines()] == ["a", "b", "c"]


def test_a_file_that_is_not_a_reviewed_file_is_refused_and_left_alone(tiny_dir, tmp_path):
    csv = tmp_path / "export.csv"
    csv.write_bytes(b"id,topic\nr001,uusi\nr002,vaara")                 # no newline after the last row
    labelled = write_jsonl(tmp_path / "labelled.jsonl", _rows())
    for p in (csv, labelled):
        before = p.read_bytes()
        with pytest.raises(ReviewError, match="is not a reviewed file"):
            ReviewLog(p)
        with pytest.raises(ReviewError, match="is not a reviewed file"):
            _session(tiny_dir, p)
        assert p.read_bytes() == before


def test_out_may_not_be_an_input(tiny_dir, tmp_path):
    from classifier.review import load_session

    labelled = write_jsonl(tmp_path / "labelled.jsonl", _rows())
    before = labelled.read_bytes()
    with pytest.raises(ReviewError, match="is one of the inputs"):
        load_session([labelled], labelled, tiny_dir / "guidelines.jsonl", tiny_dir / "taxonomy.json", use_model=False)
    with pytest.raises(ReviewError, match="is one of the inputs"):
        load_session([tmp_path], tmp_path / "labelled.jsonl", tiny_dir / "guidelines.jsonl", tiny_dir / "taxonomy.json",
                     use_model=False)
    assert labelled.read_bytes() == before


def test_a_second_session_on_one_file_is_refused_naming_the_first(session, tmp_path, tiny_dir):
    srv = make_server(session, "127.0.0.1", 0)
    try:
        session.log.announce(srv.url)
        with pytest.raises(ReviewError) as e:
            _session(tiny_dir, tmp_path / "reviewed.jsonl")
        assert f"127.0.0.1:{srv.server_address[1]}" in str(e.value) and "another review session" in str(e.value)
    finally:
        srv.server_close()
    session.close()
    _session(tiny_dir, tmp_path / "reviewed.jsonl").close()            # free again once the first one stops


def test_the_file_records_the_sample_and_a_restart_with_another_is_refused(tiny_dir, tmp_path):
    out = tmp_path / "reviewed.jsonl"
    s = _session(tiny_dir, out)
    rid = s.next_id("random")
    s.decide(rid, "uusi", "G-1")
    s.decide(s.next_id("uncertain"), "vaara", None)
    s.close()
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert all(r["sample_seed"] == 3 and r["sample_size"] == 10 for r in rows)
    assert rows[0]["sample_positions"] == [1]
    for kw in ({"seed": 4}, {"sample": 20}, {"design": "tilted"}):
        with pytest.raises(ReviewError, match="another sample.*--new-sample"):
            _session(tiny_dir, out, **kw)
    s = _session(tiny_dir, out, seed=4, new_sample=True)
    assert s.state()["progress"]["random"]["done"] == 0                 # a new sample starts from nothing
    assert s.next_id("random") is not None
    s.decide(s.next_id("random"), "uusi", None)
    s.close()
    _session(tiny_dir, out, seed=4).close()                             # and is the file's sample from then on


def test_tilted_queue_draws_with_known_probabilities(tiny_dir, tmp_path):
    rows = _rows(60)
    for k, r in enumerate(rows):
        r["predicted"]["avoidable_probability"] = [0.02, 0.5, 0.98][k % 3]
    tax = read_taxonomy(tiny_dir / "taxonomy.json")
    s = ReviewSession(rows=rows, out=tmp_path / "t.jsonl", guidelines=read_guidelines(tiny_dir / "guidelines.jsonl", tax),
                      taxonomy=tax, sample=40, seed=1, design="tilted")
    q = s.plan.selection
    assert s.state()["sample_queue"] == "tilted" and s.queues["tilted"]
    # probabilities tilted toward the uncertain rows (p = 0.5), none below the uniform share
    by_p = {}
    for r in rows:
        if r["id"] in q:
            by_p.setdefault(r["predicted"]["avoidable_probability"], set()).add(round(q[r["id"]], 9))
    assert max(by_p[0.5]) > max(by_p.get(0.02, {0})) and min(min(v) for v in by_p.values()) >= 0.2 / 60 - 1e-12
    assert sum(len(v) for v in s.plan.positions.values()) == 40
    rid = s.next_id("tilted")
    s.decide(rid, "uusi", None)
    s.close()
    row = json.loads((tmp_path / "t.jsonl").read_text(encoding="utf-8"))
    assert row["queue"] == "tilted" and row["selection_probability"] == pytest.approx(q[rid])
    assert row["sample_positions"][0] == 1 and row["sample_size"] == 40


def test_unwritable_out_is_not_reported_as_a_port_problem(tiny_dir, tmp_path):
    from click.testing import CliRunner

    from classifier.cli import main

    labelled = write_jsonl(tmp_path / "labelled.jsonl", _rows())
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    res = CliRunner().invoke(main, ["review", str(labelled), "--out", str(tmp_path / "a-file" / "reviewed.jsonl"),
                                    "--no-model", "--guidelines", str(tiny_dir / "guidelines.jsonl"), "--taxonomy",
                                    str(tiny_dir / "taxonomy.json"), "--port", "0", "--no-browser"])
    assert res.exit_code == 1 and "cannot listen" not in res.output
    assert "a-file" in res.output and "cannot create the folder" in res.output


def test_server_answers_400_to_deep_json_and_never_reads_a_refused_body_as_a_request(server, session):
    port = server.server_address[1]
    tok = {"X-Review-Token": server.token, "Content-Type": "application/json"}
    assert _req(server, "POST", "/api/decide", None, tok, raw=b"[" * 100000 + b"]" * 100000)[0] in (400, 413)
    assert _req(server, "POST", "/api/decide", None, tok, raw=b'{"id": ' + b"[" * 20000 + b"]" * 20000 + b"}")[0] == 400
    # a refused write whose body is itself a request: the next request on the connection must not be it
    smuggled = f"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Review-Token: {server.token}\r\n\r\n".encode()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("POST", "/api/decide", body=smuggled, headers={"Host": f"127.0.0.1:{port}", "Content-Type": "application/json"})
    r = c.getresponse()
    assert r.status == 403
    r.read()
    c.request("GET", "/favicon.ico", headers={"Host": f"127.0.0.1:{port}"})
    r2 = c.getresponse()
    assert r2.status == 204                                               # our own next request, not the smuggled one
    c.close()


def test_a_silent_client_does_not_hold_a_thread_forever(session):
    import socket
    import time

    srv = make_server(session, "127.0.0.1", 0, timeout=0.5)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        s = socket.create_connection(("127.0.0.1", srv.server_address[1]), timeout=10)
        s.sendall(f"POST /api/decide HTTP/1.1\r\nHost: 127.0.0.1:{srv.server_address[1]}\r\nContent-Length: 50\r\n"
                  f"X-Review-Token: {srv.token}\r\nContent-Type: application/json\r\n\r\n".encode())
        start = time.time()
        data = s.recv(1000)
        while data:                                                       # the server gives up and closes
            data = s.recv(1000)
        assert time.time() - start < 5
        s.close()
    finally:
        srv.shutdown()
        srv.server_close()


def test_the_page_shows_texts_from_the_private_store(tiny_dir, tiny_model_dir, tmp_path, monkeypatch):
    from classifier.label import label_inputs
    from classifier.review import load_session

    from .conftest import TINY_TEXTS

    monkeypatch.setenv("TUKIPYYNTO_TEXT_STORE", str(tmp_path / "store"))
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": f"{t}-{j}", "text": x + " asnro 1234567", "channel": "email",
                                               "sent_at": "2016-05-02T10:00:00+03:00"}
                                              for t, xs in TINY_TEXTS.items() for j, x in enumerate(xs)])
    out = tmp_path / "shared" / "labelled.jsonl"
    label_inputs([src], out, tiny_model_dir, tiny_dir / "guidelines.jsonl", text_store=True)
    assert '"text":' not in out.read_text(encoding="utf-8")
    moved = tmp_path / "elsewhere.jsonl"                     # the labelled file moved: its rows still name the store
    out.rename(moved)
    s = load_session([moved], tmp_path / "reviewed.jsonl", tiny_dir / "guidelines.jsonl", tiny_dir / "taxonomy.json",
                     use_model=False, sample=5)
    try:
        card = s.card(s.next_id("random"))
        assert card["text"] and "[ASIAKASNRO]" in card["text"] and "1234567" not in card["text"]
        assert not s.notes
        s.decide(card["id"], "uusi", None)
    finally:
        s.close()
    import stat

    assert stat.S_IMODE((tmp_path / "reviewed.jsonl").stat().st_mode) == 0o600   # decisions hold the text
    # on a machine without the store the page says so instead of showing nothing
    monkeypatch.setenv("TUKIPYYNTO_TEXT_STORE", str(tmp_path / "other-machine"))
    s = load_session([moved], tmp_path / "r2.jsonl", tiny_dir / "guidelines.jsonl", tiny_dir / "taxonomy.json",
                     use_model=False, sample=5)
    try:
        assert s.card(s.next_id("random"))["text"] is None
        assert any("have no text on this machine" in n for n in s.notes)
    finally:
        s.close()


def test_a_session_takes_rows_already_read_as_from_files(tiny_dir, tmp_path):
    from classifier.review import load_session

    write_jsonl(tmp_path / "labelled.jsonl", _rows())
    args = (tmp_path / "a.jsonl", str(tiny_dir / "guidelines.jsonl"), str(tiny_dir / "taxonomy.json"), None, 10, 3)
    from_file = load_session([tmp_path / "labelled.jsonl"], *args, use_model=False)
    from_rows = load_session((), tmp_path / "b.jsonl", *args[1:], use_model=False, rows=_rows())
    try:
        assert list(from_rows.by_id) == list(from_file.by_id)
        assert from_rows.state()["progress"] == from_file.state()["progress"]
    finally:
        from_file.close()
        from_rows.close()


class _LetterEmbedder:
    """A stand-in for the sentence embedder: normalised letter counts (similar spelling, similar vector)."""

    def __init__(self):
        self.calls = []

    def embed(self, texts):
        import numpy as np

        self.calls.append(list(texts))
        v = np.zeros((len(texts), 26), dtype=np.float32)
        for i, t in enumerate(texts):
            for ch in t.lower():
                if "a" <= ch <= "z":
                    v[i, ord(ch) - 97] += 1
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)


def test_similar_requests_already_reviewed_come_with_their_decisions(tiny_dir, tmp_path):
    rows = _rows(6)
    texts = ["Asiakas haluaa irtisanoa sopimuksen", "Vahvistus ei tullut perille", "Asiakas haluaa irtisanoa sopimuksensa",
             "Lasku on liian suuri", "Vahvistusta ei tullut perille", "Sopimuksen irtisanominen, asiakas haluaa"]
    for r, t in zip(rows, texts):
        r["text"] = t
    tax = read_taxonomy(tiny_dir / "taxonomy.json")
    gl = read_guidelines(tiny_dir / "guidelines.jsonl", tax)
    s = ReviewSession(rows=rows, out=tmp_path / "r.jsonl", guidelines=gl, taxonomy=tax, sample=6, seed=1,
                      embedder=_LetterEmbedder())
    try:
        assert s.card("r000")["similar"] == []                  # nothing reviewed yet
        s.decide("r002", "uusi", "G-1")
        s.decide("r004", "vahvistus", None)
        s.decide("r003", "vaara", None)
        sim = s.card("r000")["similar"]
        assert len(sim) == 3 and sim[0]["id"] == "r002" and {x["id"] for x in sim} == {"r002", "r003", "r004"}
        top = sim[0]
        assert top["topic"] == "uusi" and top["guideline_id"] == "G-1" and top["guideline_title"]
        assert top["avoidable"] in (True, False) and top["similarity"] > sim[-1]["similarity"]
        assert top["opening"].startswith("Asiakas haluaa") and top["topic_label"]
        assert s.card("r001")["similar"][0]["id"] == "r004"     # the confirmation request's nearest
        before = len(s.embedder.calls)
        s.card("r000"), s.card("r001")
        assert len(s.embedder.calls) == before                  # texts already embedded are not embedded again
        assert all(x["id"] != "r002" for x in s.card("r002")["similar"])   # never itself
        s.undo("r004")                                          # an undone decision is no neighbour
        assert all(x["id"] != "r004" for x in s.card("r001")["similar"])
        assert len(s.similar("r000", k=1)) == 1
    finally:
        s.close()
    plain = _session(tiny_dir, tmp_path / "plain.jsonl")
    try:
        assert plain.card(plain.next_id("random"))["similar"] == []  # without an embedder: nothing, no error
    finally:
        plain.close()

