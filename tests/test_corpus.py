"""The shipped corpus: generator determinism, labels consistent with the rule, example data as specified."""

import csv
import datetime as dt
import email.policy
import importlib.util
import json
import mailbox
from collections import Counter
from zoneinfo import ZoneInfo

import pytest

from classifier.io import read_guidelines, read_taxonomy
from classifier.records import expected_avoidable, local_date, parse_datetime

from .conftest import CORPUS

HEL = ZoneInfo("Europe/Helsinki")


def _generator():
    path = CORPUS / "generate.py"
    if not path.exists():
        pytest.skip("corpus/generate.py absent")
    spec = importlib.util.spec_from_file_location("corpus_generate", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_generator_is_deterministic_and_seeded():
    gen = _generator()
    a, b, c = gen.generate(300, 7), gen.generate(300, 7), gen.generate(300, 8)
    assert a == b
    assert [r["text"] for r in a] != [r["text"] for r in c]
    assert len({r["text"] for r in a}) == 300


def test_generated_labels_follow_the_rule():
    gen = _generator()
    tax = read_taxonomy(CORPUS / "taxonomy.json")
    cat = {g.id: g for g in read_guidelines(CORPUS / "guidelines.jsonl", tax)}
    rows = gen.generate(500, 11)
    assert {r["topic"] for r in rows} == set(tax.ids)
    for r in rows:
        g = cat[r["guideline_id"]] if r["guideline_id"] else None
        assert r["avoidable"] == expected_avoidable(r["topic"], g, local_date(parse_datetime(r["sent_at"])), tax), r["id"]


def test_shipped_generated_file_matches_the_generator():
    gen = _generator()
    path = CORPUS / "generated.jsonl"
    if not path.exists():
        pytest.skip("generated.jsonl absent")
    with open(path, encoding="utf-8") as fh:
        first = [json.loads(next(fh)) for _ in range(50)]
    assert gen.generate(10000, 2016)[:50] == first


def test_splits_hand_written_only_in_test_and_channel_mix():
    rows = {s: [json.loads(l) for l in open(CORPUS / f"{s}.jsonl", encoding="utf-8")] for s in ("train", "dev", "test")}
    assert all(r["id"].startswith("hw") for r in rows["test"])
    ids = [r["id"] for s in rows.values() for r in s]
    assert len(ids) == len(set(ids))
    per_topic = Counter(r["topic"] for s in rows.values() for r in s)
    assert min(per_topic.values()) >= 80 and len(per_topic) == 11
    phone = sum(r["channel"] == "phone" for s in rows.values() for r in s) / len(ids)
    assert 0.2 < phone < 0.45


def _send_slot(ts: dt.datetime) -> str:
    t = ts.astimezone(HEL)
    if t.weekday() == 5:
        return "saturday"
    if t.weekday() == 6:
        return "sunday"
    return "open" if dt.time(8, 30) <= t.time() < dt.time(16, 0) else "other"


def test_example_mailbox_threads_and_send_times():
    path = CORPUS / "examples" / "syyskuu-2016.mbox"
    labels = CORPUS / "examples" / "syyskuu-2016.labels.jsonl"
    if not path.exists():
        pytest.skip("example mailbox absent")
    msgs = [m for m in mailbox.mbox(str(path), factory=lambda f: email.message_from_binary_file(f, policy=email.policy.default))]
    lab = [json.loads(l) for l in open(labels, encoding="utf-8")]
    assert len(lab) == 156 and len(msgs) > 156
    slots = Counter(_send_slot(parse_datetime(r["sent_at"])) for r in lab)
    assert (slots["open"], slots["other"], slots["saturday"], slots["sunday"]) == (117, 30, 9, 0)
    by_id = {m["Message-ID"]: m for m in msgs}
    assert all(r["message_id"] in by_id and not by_id[r["message_id"]]["In-Reply-To"] for r in lab)
    from classifier.ingest import iter_contacts

    contacts = list(iter_contacts([path]))
    assert len(contacts) == 156 and sum(c.n_messages for c in contacts) == len(msgs)


def test_example_volumes_add_up_to_the_thesis():
    ex = CORPUS / "examples"
    if not (ex / "puhelut-syyskuu-2016.csv").exists():
        pytest.skip("example data absent")
    with open(ex / "puhelut-syyskuu-2016.csv", encoding="utf-8") as fh:
        calls = list(csv.DictReader(fh))
    vol = [json.loads(l) for l in open(next(ex.glob("yhteydenotot-*.jsonl")), encoding="utf-8")]
    phone = len(calls) + sum(r["channel"] == "phone" for r in vol)
    mail = 156 + sum(r["channel"] == "email" for r in vol)
    assert (len(calls), phone, mail) == (297, 3564, 1301)


TRANSFER = CORPUS / "transfer"


@pytest.mark.skipif(not (TRANSFER / "requests.jsonl").exists(), reason="no transfer set")
def test_transfer_set_is_never_training_data():
    """The transfer set is for evaluation only: not discovered as training data, no text shared with the corpus."""
    from classifier.training import discover_corpus

    found = discover_corpus([CORPUS])
    assert not any("transfer" in str(f) for fs in found.values() for f in fs)
    own = {json.loads(line)["text"].strip() for f in ("train", "dev", "test", "generated")
           for line in (CORPUS / f"{f}.jsonl").read_text(encoding="utf-8").splitlines()}
    transfer = [json.loads(line) for line in (TRANSFER / "requests.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(transfer) >= 250 and not {r["text"].strip() for r in transfer} & own


@pytest.mark.skipif(not (TRANSFER / "requests.jsonl").exists(), reason="no transfer set")
def test_transfer_set_labels_follow_the_rule_and_its_own_catalogue():
    tax = read_taxonomy(CORPUS / "taxonomy.json")
    gl = {g.id: g for g in read_guidelines(TRANSFER / "guidelines.jsonl", tax)}
    main_ids = {g.id for g in read_guidelines(CORPUS / "guidelines.jsonl", tax)}
    assert len(gl) >= 35 and not set(gl) & main_ids
    assert {g.family for g in gl.values()} == {"jarjestelma_ja_prosessi", "tuotteet_ja_hinnastot", "koulutus"}
    assert sum(g.retired is not None for g in gl.values()) >= 2
    rows = [json.loads(line) for line in (TRANSFER / "requests.jsonl").read_text(encoding="utf-8").splitlines()]
    n_uncovered = n_later = 0
    for r in rows:
        g = gl.get(r["guideline_id"]) if r["guideline_id"] else None
        assert r["guideline_id"] is None or g is not None, r["id"]
        day = local_date(parse_datetime(r["sent_at"]))
        assert r["avoidable"] == expected_avoidable(r["topic"], g, day, tax), r["id"]
        agent = tax[r["topic"]].agents_own
        n_uncovered += agent and g is None
        n_later += agent and g is not None and day < g.published
    assert n_uncovered >= 10 and n_later >= 10
