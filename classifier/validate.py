"""Validation of corpora, catalogues, taxonomies and example mailboxes, with precise messages."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Sequence

from .errors import CorpusError, ValidationIssue
from .io import TABLE_SUFFIXES, guideline_from_row, iter_rows, iter_table, read_taxonomy, text_column
from .redact import redact
from .records import CHANNELS, FAMILIES, Guideline, Taxonomy, expected_avoidable, local_date, parse_datetime
from .rules import avoidable_reason, parse_bool

__all__ = ["validate_paths", "validate_requests", "validate_catalogue", "ValidationReport"]


class ValidationReport:
    """What a validation run found: issues, and counts of files and records checked."""

    def __init__(self) -> None:
        self.issues: list[ValidationIssue] = []
        self.files: dict[str, str] = {}
        self.records = 0

    @property
    def ok(self) -> bool:
        """True when no issue was found."""
        return not self.issues

    def add(self, path: Path | str, line: int | None, field: str | None, message: str) -> None:
        """Record one issue (redacted: a message may quote an input value)."""
        self.issues.append(ValidationIssue(str(path), line, field and redact(field), redact(message)))


def validate_catalogue(
    path: Path | str, taxonomy: Taxonomy, report: ValidationReport | None = None
) -> tuple[ValidationReport, dict[str, Guideline]]:
    """Check a guideline catalogue: every record, not only the first problem."""
    report = report or ValidationReport()
    catalogue: dict[str, Guideline] = {}
    lines: dict[str, int] = {}
    try:
        for no, row, problem, _ in iter_table(path):
            report.records += 1
            if problem is not None:
                report.add(path, no, None, problem)
                continue
            try:
                g = guideline_from_row(row, f"{path}:{no}", taxonomy)
            except CorpusError as e:
                report.add(path, no, None, str(e).split(": ", 1)[-1])
                continue
            if g.id in catalogue:
                report.add(path, no, "id", f"duplicate guideline id {g.id!r} (first at line {lines[g.id]})")
                continue
            if g.family not in FAMILIES:
                report.add(path, no, "family", f"guideline {g.id}: unknown family {g.family!r}; expected one of {', '.join(FAMILIES)}")
            if not g.body.strip():
                report.add(path, no, "body", f"guideline {g.id} has an empty body")
            if not g.topics:
                report.add(path, no, "topics", f"guideline {g.id} names no topic")
            catalogue[g.id] = g
            lines[g.id] = no
    except CorpusError as e:
        report.add(path, None, None, str(e))
    return report, catalogue


def validate_requests(
    path: Path | str,
    taxonomy: Taxonomy,
    catalogue: dict[str, Guideline] | None,
    report: ValidationReport | None = None,
    seen_ids: dict[str, str] | None = None,
    id_field: str = "id",
) -> ValidationReport:
    """Check a labelled or unlabelled request file against a taxonomy, a catalogue and the rule."""
    report = report or ValidationReport()
    seen_ids = {} if seen_ids is None else seen_ids
    text_col: list[str | None] = []
    try:
        for no, row, problem, _ in iter_table(path):  # the reader `label` uses: both see the same records
            report.records += 1
            if problem is not None:
                report.add(path, no, None, problem)
                continue
            if not text_col:
                text_col.append(text_column(row) or "text")
            rid = row.get(id_field)
            if rid in (None, ""):
                report.add(path, no, id_field, f"record has no {id_field!r}")
            else:
                where = f"{path}:{no}"
                if rid in seen_ids:
                    report.add(path, no, id_field, f"duplicate id {rid!r} (first at {seen_ids[rid]})")
                seen_ids[rid] = where
            text = row.get(text_col[0])
            if id_field == "id" and text is not None and not isinstance(text, str):
                report.add(path, no, text_col[0], f"request {rid}: expected a string, found {type(text).__name__}")
            elif id_field == "id" and (text is None or not str(text).strip()):
                report.add(path, no, text_col[0], f"request {rid}: empty or missing text")
            ch = row.get("channel")
            if ch is not None and ch not in CHANNELS:
                report.add(path, no, "channel", f"request {rid}: unknown channel {ch!r}; expected one of {', '.join(CHANNELS)}")
            sent_at = None
            try:
                sent_at = parse_datetime(row.get("sent_at"))
            except (ValueError, TypeError):
                report.add(path, no, "sent_at", f"request {rid}: bad timestamp {row.get('sent_at')!r}; expected ISO 8601 such as 2016-09-05T10:12:00+03:00")
            topic = row.get("topic")
            if topic is not None and topic not in taxonomy:
                report.add(path, no, "topic", f"request {rid}: unknown topic {topic!r}; valid topics: {', '.join(taxonomy.ids)}")
                topic = None
            gid = row.get("guideline_id")
            guideline = None
            if gid is not None:
                if catalogue is None:
                    report.add(path, no, "guideline_id", f"request {rid}: guideline_id {gid!r} given but no catalogue was found to check it against")
                elif gid not in catalogue:
                    report.add(path, no, "guideline_id", f"request {rid}: guideline_id {gid!r} is not in the catalogue")
                else:
                    guideline = catalogue[gid]
            try:
                avoidable = parse_bool(row.get("avoidable"))
            except ValueError as e:
                report.add(path, no, "avoidable", f"request {rid}: {e}")
                continue
            if avoidable is not None and topic is not None and (gid is None or guideline is not None):
                want = expected_avoidable(topic, guideline, local_date(sent_at), taxonomy)
                if want != avoidable:
                    why = _rule_reason(topic, guideline, sent_at, taxonomy)
                    report.add(path, no, "avoidable", f"request {rid}: avoidable={str(avoidable).lower()} contradicts the rule ({why}, so {str(want).lower()})")
    except CorpusError as e:
        report.add(path, None, None, str(e))
    return report


def _rule_reason(topic, guideline, sent_at, taxonomy) -> str:
    """Explain in a few words which branch of the avoidable rule applies."""
    day = local_date(sent_at)
    covered = guideline is not None and guideline.in_force(day)
    later = guideline is not None and day is not None and day < guideline.published
    _, reason = avoidable_reason(taxonomy[topic], covered, later)
    if guideline is None:
        return f"{reason}: no covering guideline"
    return (f"{reason}: guideline {guideline.id} published {guideline.published}, retired {guideline.retired}, "
            f"request date {day}")


def _find_upwards(start: Path, names: Sequence[str]) -> Path | None:
    """Find the first of ``names`` in ``start`` or its parents."""
    for d in [start, *start.parents]:
        for n in names:
            if (d / n).is_file():
                return d / n
    return None


def _kind_of(path: Path) -> str:
    """Guess what a table file holds from its first record: catalogue, labels, taxonomy or requests."""
    if path.name.startswith("taxonomy"):
        return "taxonomy"
    try:
        for _, row in iter_rows(path):
            if "body" in row and "title" in row:
                return "catalogue"
            if "message_id" in row:
                return "labels"
            return "requests"
    except CorpusError:
        return "requests"
    return "requests"


def validate_paths(
    paths: Iterable[str | os.PathLike],
    taxonomy_path: str | os.PathLike | None = None,
    guidelines_path: str | os.PathLike | None = None,
) -> ValidationReport:
    """Validate files and directories: taxonomy, catalogue, request files, example mailboxes.

    Taxonomy and catalogue are taken from the arguments or searched for (``taxonomy.json``,
    ``guidelines.jsonl``) beside the files and in their parent folders.
    """
    report = ValidationReport()
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files.extend(sorted(q for q in p.rglob("*") if q.is_file() and (q.suffix.lower() in TABLE_SUFFIXES or q.suffix.lower() == ".mbox")))
        elif p.exists():
            files.append(p)
        else:
            report.add(p, None, None, "no such file or directory")
    if not files:
        return report
    anchor = files[0].parent
    tax_file = Path(taxonomy_path) if taxonomy_path else _find_upwards(anchor, ["taxonomy.json", "taxonomy.jsonl", "taxonomy.csv"])
    try:
        taxonomy = read_taxonomy(tax_file)
    except CorpusError as e:
        report.add(tax_file or anchor, None, None, str(e))
        return report
    report.files[str(tax_file)] = "taxonomy"
    cat_names = ["guidelines.jsonl", "guidelines.csv", "guidelines.parquet"]
    catalogues: dict[Path | None, Any] = {None: None}

    def catalogue_for(folder: Path):
        """The catalogue given, or the nearest one beside the file or above it (a transfer set has its own)."""
        cf = Path(guidelines_path) if guidelines_path else _find_upwards(folder, cat_names)
        if cf not in catalogues:
            _, catalogues[cf] = validate_catalogue(cf, taxonomy, report)
            report.files[str(cf)] = "catalogue"
        return catalogues[cf]

    catalogue_for(anchor)
    # ids must be unique within a folder (the corpus splits), not across folders: the
    # hand-written sources and the splits built from them hold the same records.
    seen_by_dir: dict[Path, dict[str, str]] = {}
    for f in files:
        seen = seen_by_dir.setdefault(f.parent, {})
        if str(f) in report.files or f.suffix.lower() == ".json" and f.name.startswith("taxonomy"):
            continue
        if f.suffix.lower() == ".mbox":
            _validate_mbox(f, report)
            report.files[str(f)] = "mbox"
            continue
        kind = _kind_of(f)
        report.files[str(f)] = kind
        if kind == "catalogue":
            catalogue_for(f.parent) if f.name in cat_names else validate_catalogue(f, taxonomy, report)
        elif kind == "labels":
            validate_requests(f, taxonomy, catalogue_for(f.parent), report, {}, id_field="message_id")
        elif kind == "requests":
            validate_requests(f, taxonomy, catalogue_for(f.parent), report, seen)
    return report


def _validate_mbox(path: Path, report: ValidationReport) -> None:
    """Check an mbox with the reader ``label`` uses: unreadable messages, missing or duplicate ids and dates."""
    import re

    from .ingest import iter_contacts

    prefix = re.compile(rf"^{re.escape(str(path))}(?::(\d+))?: ")
    try:
        for c in iter_contacts([path]):
            report.records += c.n_messages
            n = c.position + 1
            if c.error:
                m = prefix.match(c.error)
                report.add(path, int(m.group(1)) if m and m.group(1) else None, None,
                           c.error[m.end():] if m else c.error)
                continue
            if "duplicate_message_id" in c.flags:
                report.add(path, None, "Message-ID", f"message {n} repeats the Message-ID of an earlier message")
            elif c.id not in c.message_ids:
                report.add(path, None, "Message-ID", f"message {n} has no Message-ID header")
            if "no_date" in c.flags or "bad_date" in c.flags:
                report.add(path, None, "Date", f"message {n} has {'no' if 'no_date' in c.flags else 'an unreadable'} Date header")
    except Exception as e:  # an input this reader cannot open at all: name it and go on
        report.add(path, None, None, f"cannot read mbox: {type(e).__name__}: {str(e)[:160]}")
