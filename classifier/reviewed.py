"""Reviewed files: the one reader of the decisions ``tukipyynto review`` (and other tools) write.

A reviewed file is JSONL, one decision per line, in the labelled-request format (``id``,
``topic``, ``guideline_id``, ``avoidable``). The review page adds ``queue`` (``random``,
``tilted`` or ``uncertain``), the sample it belongs to (``sample_seed``, ``sample_size``,
``sample_positions``; ``selection_probability`` in the tilted queue), ``reviewer`` and
``reviewed_at``. A later line for the same id supersedes an earlier one (the last wins;
across files, a later file wins); ``{"id": ..., "retracted": true}`` withdraws the id's
decision. Rows without ``queue`` were written by another tool (a spreadsheet, a gold
file): they are decisions, but not part of any sample.

:func:`read_reviewed_files` checks every line before anything uses the file: a complete
last line counts whether or not it ends in a newline; only a torn last line (a write cut
off by a crash: no newline and not valid JSON) is left out, and the file report says so.
An unknown topic or guideline never becomes a class: the file is refused with
``FILE:LINE: unknown topic 'x' (known: ...)``, or, with ``skip_invalid``, the row is left
out with that warning. ``review``, ``report``, ``train`` and the adaptation all read
through here.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import IngestError
from .rules import parse_bool

__all__ = ["QUEUES", "RANDOM_QUEUE", "SAMPLE_QUEUES", "TILTED_QUEUE", "UNCERTAIN_QUEUE", "FileReport", "Reviewed",
           "ReviewedFileError", "check_reviewed_bytes", "read_reviewed_files", "sample_key"]

RANDOM_QUEUE = "random"
TILTED_QUEUE = "tilted"
UNCERTAIN_QUEUE = "uncertain"
#: queues whose reviews are a probability sample (they feed the corrected estimates)
SAMPLE_QUEUES = (RANDOM_QUEUE, TILTED_QUEUE)
QUEUES = (RANDOM_QUEUE, TILTED_QUEUE, UNCERTAIN_QUEUE)
_SHOW_PROBLEMS = 10  # problems quoted in a refusal; the rest are counted


class ReviewedFileError(IngestError):
    """A reviewed file is not one, or holds invalid decisions (each named by file and line)."""


@dataclass(frozen=True)
class FileReport:
    """What one reviewed file held.

    Attributes
    ----------
    path : str
    lines : int
        Complete JSON lines read (decisions, re-decisions and withdrawals).
    decisions : int
        Standing decisions this file contributes (after later lines and later files).
    superseded : int
        Lines replaced by a later line for the same request.
    retracted : int
        Requests whose decision this file withdraws.
    invalid : tuple of str
        ``FILE:LINE: ...`` of each row left out (only with ``skip_invalid``).
    torn_line : int or None
        Line number of a torn last line that was left out.
    unterminated : bool
        The complete last line has no newline (it is read all the same).
    queues : dict
        Standing decisions per queue; ``""`` counts rows without a queue (another tool).
    """

    path: str
    lines: int = 0
    decisions: int = 0
    superseded: int = 0
    retracted: int = 0
    invalid: tuple[str, ...] = ()
    torn_line: int | None = None
    unterminated: bool = False
    queues: Mapping[str, int] = field(default_factory=dict)

    def notes(self) -> list[str]:
        """Plain sentences about the file: empty, torn, invalid rows left out."""
        out = []
        if not self.lines:
            out.append(f"{self.path}: no decisions (an empty reviewed file)")
        if self.torn_line:
            out.append(f"{self.path}:{self.torn_line}: a torn last line (a write cut off by a crash) is left out")
        out.extend(f"skipped {m}" for m in self.invalid)
        return out


class Reviewed(Mapping):
    """The standing decisions of one or more reviewed files: request id -> normalised row.

    A read-only mapping in the order of each request's latest decision, with where each
    decision came from (:attr:`origin`) and a :class:`FileReport` per file (:attr:`files`).
    Rows carry ``id`` as text, ``avoidable`` as ``True``/``False``/``None`` and an empty
    ``guideline_id`` as ``None``.
    """

    def __init__(self, decisions: Mapping[str, dict[str, Any]], origin: Mapping[str, tuple[str, int]],
                 files: Sequence[FileReport]) -> None:
        self._d = dict(decisions)
        self.origin = dict(origin)
        self.files = tuple(files)

    def __getitem__(self, rid: str) -> dict[str, Any]:
        return self._d[rid]

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __repr__(self) -> str:
        return f"Reviewed({len(self)} decisions from {len(self.files)} file(s))"

    def where(self, rid: str) -> str:
        """``FILE:LINE`` of the request's standing decision."""
        p, no = self.origin.get(rid, ("?", 0))
        return f"{p}:{no}"

    def notes(self) -> list[str]:
        """Each file's notes (:meth:`FileReport.notes`)."""
        return [n for f in self.files for n in f.notes()]


def sample_key(row: Mapping[str, Any]) -> tuple[str, int | None, int | None] | None:
    """The sample a reviewed row belongs to: ``(queue, seed, size)``, or None outside the sample queues."""
    q = row.get("queue")
    if q not in SAMPLE_QUEUES:
        return None
    return q, row.get("sample_seed"), row.get("sample_size")


# ---------------------------------------------------------------------------------------------
# One row


def _ids(known: Any) -> tuple[str, ...] | None:
    """Topic or guideline ids of a taxonomy, catalogue or iterable (None: not checked)."""
    if known is None:
        return None
    ids = getattr(known, "ids", None)
    if ids is not None and not callable(ids):
        return tuple(ids)
    return tuple(str(getattr(k, "id", k)) for k in known)


def _listing(ids: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f", … ({len(ids)} in all)" if len(ids) > limit else "")


def _quote(v: Any) -> str:
    s = repr(v)
    return s if len(s) <= 60 else s[:57] + "…'"


def _int_or_none(row: Mapping[str, Any], key: str, minimum: int) -> int | None:
    v = row.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise ValueError(f"{key} must be a whole number of at least {minimum}, found {_quote(v)}")
    return v


def _normalise_row(row: Any, topics: Sequence[str] | None = None,
                  guidelines: Sequence[str] | None = None) -> dict[str, Any] | None:
    """Check one reviewed row and return it normalised (None for a withdrawal's own fields only).

    Raises
    ------
    ValueError
        What is wrong, without the file and line (the caller adds them).
    """
    if not isinstance(row, dict):
        raise ValueError(f"expected a JSON object, found {type(row).__name__}")
    rid = row.get("id")
    if isinstance(rid, bool) or not isinstance(rid, (str, int)) or (isinstance(rid, str) and not rid.strip()):
        raise ValueError("a reviewed row needs an 'id' (text)")
    out = dict(row)
    out["id"] = str(rid)
    q = row.get("queue")
    if q is not None and q not in QUEUES:
        raise ValueError(f"unknown queue {_quote(q)} (known: {', '.join(QUEUES)})")
    if row.get("retracted") is True:
        return out
    if "topic" not in row:
        hint = (" (this looks like a labelled row from `tukipyynto label`: pass the file `tukipyynto review` "
                "wrote)") if "predicted" in row else ""
        raise ValueError(f"not a reviewed decision: no 'topic'{hint}")
    t = row.get("topic")
    if not isinstance(t, str) or not t.strip():
        raise ValueError(f"topic must be a topic id (text), found {_quote(t)}")
    if topics is not None and t not in topics:
        raise ValueError(f"unknown topic {_quote(t)} (known: {_listing(list(topics))})")
    g = row.get("guideline_id")
    if g == "":
        g = None
    if g is not None:
        if not isinstance(g, str):
            raise ValueError(f"guideline_id must be a guideline id (text) or null, found {_quote(g)}")
        if guidelines is not None and g not in guidelines:
            raise ValueError(f"unknown guideline {_quote(g)}: not in the catalogue of {len(guidelines)} guidelines "
                             f"({_listing(sorted(guidelines), 5)}); was it reviewed against another catalogue?")
    out["guideline_id"] = g
    try:
        out["avoidable"] = parse_bool(row.get("avoidable"))
    except ValueError as e:
        raise ValueError(f"avoidable: {e}") from None
    _int_or_none(row, "sample_seed", -(2**63))
    _int_or_none(row, "sample_size", 0)
    pos = row.get("sample_positions")
    if pos is not None and (not isinstance(pos, list) or not pos
                            or any(isinstance(p, bool) or not isinstance(p, int) or p < 1 for p in pos)):
        raise ValueError(f"sample_positions must be a list of positions (1, 2, ...), found {_quote(pos)}")
    sp = row.get("selection_probability")
    if sp is not None or q == TILTED_QUEUE:
        if isinstance(sp, bool) or not isinstance(sp, (int, float)) or not math.isfinite(sp) or not 0 < sp <= 1:
            raise ValueError(f"selection_probability must be a number in (0, 1], found {_quote(sp)}")
        if q == TILTED_QUEUE and pos is None:
            raise ValueError("a tilted-queue decision needs its sample_positions")
    return out


# ---------------------------------------------------------------------------------------------
# Files


def _lines(data: bytes) -> Iterator[tuple[int, bytes, bool]]:
    """``(line number, bytes, ends in a newline)`` of every line, the last one too."""
    start, no = 0, 0
    while start < len(data):
        end = data.find(b"\n", start)
        no += 1
        if end < 0:
            yield no, data[start:], False
            return
        yield no, data[start:end], True
        start = end + 1


def _parse(data: bytes, path: str, topics, guidelines,
           problems: list[str]) -> tuple[list[tuple[int, dict[str, Any]]], int | None, bool]:
    """The checked rows of the complete lines, the torn last line (or None) and whether the last line lacks a newline.

    Each problem is added to ``problems`` as ``FILE:LINE: ...``; its row is left out.
    """
    rows: list[tuple[int, dict[str, Any]]] = []
    torn, unterminated = None, False
    for no, raw, newline in _lines(data):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw.decode("utf-8"))
        except RecursionError:
            problems.append(f"{path}:{no}: nested too deeply to be a reviewed decision")
            continue
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            if not newline and raw.lstrip().startswith(b"{"):
                torn = no  # a write cut off mid-line: only ever the last line
                continue
            why = "not UTF-8 text" if isinstance(e, UnicodeDecodeError) else f"not valid JSON ({e.msg})"
            problems.append(f"{path}:{no}: {why}; a reviewed file has one JSON decision per line")
            continue
        if not newline:
            unterminated = True
        try:
            rows.append((no, _normalise_row(obj, topics, guidelines)))
        except ValueError as e:
            problems.append(f"{path}:{no}: {e}")
    return rows, torn, unterminated


def _refusal(problems: Sequence[str]) -> str:
    shown = "; ".join(problems[:_SHOW_PROBLEMS])
    more = f"; and {len(problems) - _SHOW_PROBLEMS} more" if len(problems) > _SHOW_PROBLEMS else ""
    return (f"{shown}{more}. Fix the file, or pass --skip-invalid to leave such rows out "
            f"(library: skip_invalid=True)")


def check_reviewed_bytes(data: bytes, path: str | os.PathLike) -> tuple[list[tuple[int, dict[str, Any]]], int | None]:
    """Check the bytes of a file the review page is about to append to.

    Returns
    -------
    (rows, torn_line)
        The rows of the complete lines, and the line number of a torn last line (None when
        there is none): the only part the review page may cut.

    Raises
    ------
    ReviewedFileError
        Any complete line is not a reviewed decision (the file is then left as it is).
    """
    problems: list[str] = []
    rows, torn, _ = _parse(data, str(path), None, None, problems)
    if problems:
        more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
        raise ReviewedFileError(f"{path} is not a reviewed file: {'; '.join(problems[:3])}{more}. Nothing was changed; "
                                "give --out a new file, or the reviewed file of this review")
    return rows, torn


def read_reviewed_files(paths: str | os.PathLike | Iterable[str | os.PathLike], taxonomy: Any = None,
                        guidelines: Any = None, skip_invalid: bool = False) -> Reviewed:
    """Read and check reviewed files: the standing decision per request id.

    Parameters
    ----------
    paths : path or list of paths
        JSONL files written by ``tukipyynto review`` (or by another tool in the same format).
    taxonomy : Taxonomy or iterable of str, optional
        The topics a decision may name; without it topics are only checked to be text.
    guidelines : list of Guideline or iterable of str, optional
        The catalogue a decision's ``guideline_id`` must come from.
    skip_invalid : bool
        Leave invalid rows out (each named in :attr:`FileReport.invalid`) instead of
        refusing the files.

    Returns
    -------
    Reviewed

    Raises
    ------
    ReviewedFileError
        A file is missing, or (without ``skip_invalid``) a row is not valid JSON, has no
        ``id`` or ``topic``, or names an unknown topic, guideline or queue; every problem
        is named ``FILE:LINE: ...``.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    topics, gls = _ids(taxonomy), _ids(guidelines)
    decisions: dict[str, dict[str, Any]] = {}
    origin: dict[str, tuple[str, int]] = {}
    per_file: list[dict[str, Any]] = []
    all_problems: list[str] = []
    for p in paths:
        path = Path(p)
        if not path.is_file():
            raise ReviewedFileError(f"{path}: reviewed file not found")
        try:
            data = path.read_bytes()
        except OSError as e:
            raise ReviewedFileError(f"{path}: cannot read the reviewed file ({e.strerror or e})") from None
        problems: list[str] = []
        info = {"path": str(path), "lines": 0, "superseded": 0, "retracted": 0}
        rows, info["torn_line"], info["unterminated"] = _parse(data, str(path), topics, gls, problems)
        for no, row in rows:
            info["lines"] += 1
            rid = row["id"]
            if rid in decisions:
                before = origin.pop(rid)[0]
                next(f for f in reversed(per_file + [info]) if f["path"] == before)["superseded"] += 1
                del decisions[rid]  # keep the order of the latest decisions
            if row.get("retracted") is True:
                info["retracted"] += 1
                continue
            decisions[rid] = row
            origin[rid] = (str(path), no)
        info["invalid"] = tuple(problems)
        all_problems.extend(problems)
        per_file.append(info)
    if all_problems and not skip_invalid:
        raise ReviewedFileError(_refusal(all_problems))
    files = []
    for info in per_file:
        mine = [rid for rid, (p, _) in origin.items() if p == info["path"]]
        queues = Counter(decisions[rid].get("queue") or "" for rid in mine)
        files.append(FileReport(decisions=len(mine), queues=dict(queues), **info))
    return Reviewed(decisions, origin, files)
