"""Reading labelled rows (JSONL, CSV or Parquet from ``tukipyynto label``) into one normal shape."""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import IngestError
from ..rules import parse_bool


def _to_bool(v: Any) -> bool | None:
    """Read an optional boolean from JSON, CSV text or Parquet."""
    return parse_bool(v)


def _maybe_json(v: Any) -> Any:
    """Decode a JSON list/object written into a CSV or Parquet string cell."""
    if isinstance(v, str) and v[:1] in "[{":
        try:
            return json.loads(v)
        except json.JSONDecodeError:
            return v
    return v


def _clean_str(v: Any) -> str | None:
    """A non-empty string or None."""
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    s = str(v).strip()
    return s or None


_FREE_TEXT_FIELDS = ("id", "source", "channel", "subject", "error", "text")
# label's keyed hash of an id that held personal data: already safe, and redacting its digits
# (which can look like a phone number) would part the row from its reviews
_HASHED_ID = re.compile(r"h-[0-9a-f]{20}")


def _redact(text: str) -> str:
    """Redact with the library's default redactor."""
    from ..redact import redact

    return redact(text)


def _normalise_row(row: dict[str, Any], redact: bool = True) -> dict[str, Any]:
    """One labelled row with ``predicted`` as a dict (or None), whatever file format it came from.

    ``redact=False`` for rows redacted already (normalised once, or from a store). Raises
    ``ValueError`` when ``predicted`` is an unreadable JSON string or a boolean is garbled.
    """
    flat_keys = [k for k in row if str(k).startswith("predicted.")]
    r = dict(row)
    for k in flat_keys:
        del r[k]
    if redact:
        for k in _FREE_TEXT_FIELDS:  # rows not written by `label` may hold personal data: never report it
            if isinstance(r.get(k), str) and not (k == "id" and _HASHED_ID.fullmatch(r[k])):
                r[k] = _redact(r[k])
    pred = row.get("predicted")
    if isinstance(pred, str):
        s = pred.strip()
        if s in ("", "null", "None"):
            pred = None
        else:
            try:
                pred = json.loads(s)
            except json.JSONDecodeError as e:
                raise ValueError(f"'predicted' is not valid JSON ({e.msg})") from None
    if pred is not None and not isinstance(pred, dict):
        raise ValueError(f"'predicted' should be an object, found {type(pred).__name__}")
    flat = {str(k)[len("predicted."):]: row[k] for k in flat_keys}
    if any(v not in (None, "") for v in flat.values()):
        pred = dict(pred or {})
        for k, v in flat.items():
            if pred.get(k) is None:
                pred[k] = v
    if pred is None and _clean_str(row.get("predicted_topic")):  # the datasets labeller's columns
        pred = {"topic": row.get("predicted_topic"), "confidence": row.get("confidence"),
                "guideline_id": row.get("predicted_guideline_id"), "guideline_score": row.get("guideline_score"),
                "avoidable": row.get("predicted_avoidable"), "reason": row.get("reason")}
    if pred is not None:
        pred = dict(pred)
        for k in ("candidates", "flags", "out_of_fold"):
            pred[k] = _maybe_json(pred.get(k))
        if not isinstance(pred["out_of_fold"], dict):
            del pred["out_of_fold"]
        for k in ("topic", "guideline_id", "reason", "later_guideline_id"):
            pred[k] = _clean_str(pred.get(k))
        try:
            pred["avoidable"] = _to_bool(pred.get("avoidable"))
        except ValueError as e:
            raise ValueError(f"predicted.avoidable: {e}") from None
        if not any(pred.get(k) is not None for k in ("topic", "reason", "avoidable")):
            pred = None
    r["predicted"] = pred
    status = _clean_str(row.get("status"))
    r["status"] = status.lower() if status else "ok"
    r["channel"] = (_clean_str(row.get("channel")) or "unknown").lower()
    return r


# ---------------------------------------------------------------------------------------------
# Reading

__all__ = ["normalise_labelled", "read_labelled"]


def normalise_labelled(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Labelled rows already read (from a store, say) in the shape :func:`read_labelled` gives.

    Raises
    ------
    IngestError
        A row's ``predicted`` is unreadable (named by the row's position and id).
    """
    out = []
    for i, row in enumerate(rows, 1):
        try:
            out.append(_normalise_row(row))
        except ValueError as e:
            raise IngestError(f"row {i} (id {str(row.get('id'))[:40]}): {e}") from None
    return out


def read_labelled(paths: str | os.PathLike | Sequence[str | os.PathLike]) -> list[dict[str, Any]]:
    """Read labelled rows written by ``tukipyynto label`` (JSONL, CSV or Parquet).

    Parameters
    ----------
    paths : path or list of paths
        Files, globs or directories (searched recursively).

    Returns
    -------
    list of dict
        One row per contact, with ``predicted`` as a dictionary (or ``None`` for error
        rows) whether the file had it nested, as a JSON string or flattened into
        ``predicted.*`` columns; ``status`` defaults to ``"ok"``.

    Raises
    ------
    IngestError
        A file is missing, of an unknown type, or has an unreadable row (named by file and line).
    """
    from ..errors import CorpusError
    from ..io import expand_paths, iter_rows

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    try:
        files = expand_paths(paths)
    except CorpusError as e:
        raise IngestError(str(e)) from None
    if not files:
        raise IngestError(f"{', '.join(map(str, paths))}: no JSONL, CSV or Parquet file found")
    out: list[dict[str, Any]] = []
    for path in files:
        try:
            for no, row in iter_rows(path):
                try:
                    out.append(_normalise_row(row))
                except ValueError as e:
                    raise IngestError(f"{path}:{no}: {e}") from None
        except CorpusError as e:
            raise IngestError(str(e)) from None
    return out


