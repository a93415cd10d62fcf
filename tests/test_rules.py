"""The domain's codes: every reason, status and flag a labelled row can carry has Finnish and English words."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from classifier.report.texts import LANGS, code_text
from classifier.rules import CODES, REASONS, code_base

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "classifier"

# where flags are made: added to a flags collection, or a date reader's "why not"
_FLAG_SITES = re.compile(r'''flags?\b[^\n]*?(?:\.add\(|\.append\(|\+= \(|\{\*[\w.]+, )\s*f?"([a-z][a-z_:]*)''')
_DATE_FLAGS = re.compile(r'''return None, "([a-z_]+)"''')


def _codes_in_source(pattern: re.Pattern, files) -> dict[str, str]:
    found = {}
    for p in files:
        for no, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            for m in pattern.finditer(line):
                code = next(g for g in m.groups() if g)
                found.setdefault(code.rstrip(":"), f"{p.relative_to(REPO)}:{no}")
    return found


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", sorted(CODES))
def test_every_code_has_words_in_every_language(kind, lang):
    for code in CODES[kind]:
        words = code_text(code, lang, kind)
        assert words and words != code, f"{kind} {code!r} has no {lang} text"
        assert "_" not in words, f"{kind} {code!r} reads as a code in {lang}: {words!r}"


def test_the_registry_holds_every_code_the_package_makes():
    files = sorted(PACKAGE.rglob("*.py"))
    flags = _codes_in_source(_FLAG_SITES, files)
    flags.update(_codes_in_source(_DATE_FLAGS, [PACKAGE / "ingest" / "charset.py"]))
    assert len(flags) >= 25  # the scan finds the flags at all
    unknown = {c: where for c, where in flags.items() if code_base(c) not in CODES["flag"]
               and not any(k.startswith(c) for k in CODES["flag"])}
    assert not unknown, f"flags without words (add them to classifier.rules and lang/*.toml): {unknown}"
    from classifier.repair import REPAIR_FLAGS
    from classifier.service import SERVICE_FLAGS

    assert set(REPAIR_FLAGS) | set(SERVICE_FLAGS) <= set(CODES["flag"])
    assert set(REASONS) == set(CODES["reason"])


def test_a_flag_with_a_detail_keeps_it():
    assert code_text("other_language:sv", "en") == "Not Finnish (sv)"
    assert code_text("other_language:sv", "fi") == "Ei suomea (sv)"
    assert code_text("no_sent_at:assessed_against_catalogue_today", "en").startswith("No send time")
    assert code_text("made_up_by_a_newer_version", "fi") == "made_up_by_a_newer_version"


def test_rows_of_damaged_inputs_carry_only_known_codes(tmp_path):
    """Label real-world broken mail and damaged table exports: every code in the rows has words."""
    from classifier.label import label_inputs

    inputs = [REPO / "tests" / "data" / "realworld" / "eml", REPO / "tests" / "data" / "damaged_requests.jsonl"]
    inputs = [p for p in inputs if p.exists()]
    if not inputs:
        pytest.skip("test data absent")
    empty = tmp_path / "empty.jsonl"
    empty.write_text(json.dumps({"id": "e", "text": "   "}) + "\n" + json.dumps({"id": "b", "sent_at": "eilen", "text": "x"})
                     + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    label_inputs([*inputs, empty], out)
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    seen = {("status", r["status"]) for r in rows}
    for r in rows:
        seen |= {("flag", f) for f in r.get("flags") or []} | {("flag", f) for f in r.get("service_flags") or []}
        p = r.get("predicted") or {}
        seen |= {("flag", f) for f in p.get("flags") or []}
        if p:
            seen |= {("status", p["status"]), ("reason", p["reason"])}
    assert {("status", "error"), ("status", "no_text"), ("status", "ok"), ("status", "auto")} <= seen
    for kind, code in seen:
        assert code_text(code, "fi", kind) != code, (kind, code)
