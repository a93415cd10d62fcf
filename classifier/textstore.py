"""The private store of labelled requests' redacted texts: the review page shows them, the shared outputs never hold them.

``tukipyynto label`` and ``analyse`` write labelled rows without the request text unless
``--with-text`` is given: those rows, their CSV tables and the report are meant to be
shared. The redacted texts go here instead, one JSONL file per labelled output
(``{"key": ..., "text": ...}`` per contact), in a folder readable by its owner only:
``$TUKIPYYNTO_TEXT_STORE``, else ``$XDG_DATA_HOME/tukipyynto/texts`` (by default
``~/.local/share/tukipyynto/texts``). Each labelled row names its file in ``text_ref``
(16 hex digits, no personal data), so ``tukipyynto review`` finds the texts wherever the
labelled file is moved on the same machine. Labelling to the same output again replaces
its file; delete the folder to forget every text.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .errors import OutputError

__all__ = ["STORE_ENV", "TextStore", "read_texts", "store_dir", "store_ref"]

STORE_ENV = "TUKIPYYNTO_TEXT_STORE"
_REF_RE = re.compile(r"^[0-9a-f]{16}$")


def store_dir() -> Path:
    """The folder of the text store (``$TUKIPYYNTO_TEXT_STORE`` or the user's data folder)."""
    given = os.environ.get(STORE_ENV)
    if given:
        return Path(given)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "tukipyynto" / "texts"


def store_ref(out: str | os.PathLike) -> str:
    """The store file's name for a labelled output: 16 hex digits of the output's absolute path."""
    return hashlib.sha1(os.path.abspath(out).encode("utf-8", "surrogateescape")).hexdigest()[:16]


class TextStore:
    """Writes one labelled output's redacted texts into the private store.

    Parameters
    ----------
    out : path
        The labelled output the texts belong to (names the store file).
    append : bool
        Add to the file (a resumed run) instead of replacing it.

    Raises
    ------
    OutputError
        The store folder or file cannot be written.
    """

    def __init__(self, out: str | os.PathLike, append: bool = False) -> None:
        self.ref = store_ref(out)
        folder = store_dir()
        self.path = folder / f"{self.ref}.jsonl"
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(folder, 0o700)
            flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
            fd = os.open(self.path, flags, 0o600)
            os.fchmod(fd, 0o600)  # an existing file keeps no wider mode
        except OSError as e:
            raise OutputError(f"{folder}: cannot write the private text store ({e.strerror or e}); set "
                              f"{STORE_ENV} to a folder you can write, or label with --with-text") from None
        self._fh = os.fdopen(fd, "a", encoding="utf-8")

    def write(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Store the ``text`` of each row that has one, under its ``key``."""
        for r in rows:
            if isinstance(r.get("text"), str) and r["text"] and r.get("key"):
                self._fh.write(json.dumps({"key": r["key"], "text": r["text"]}, ensure_ascii=False) + "\n")
        self._fh.flush()

    def close(self) -> None:
        """Close the file."""
        if not self._fh.closed:
            self._fh.close()


def read_texts(refs: Iterable[str]) -> dict[str, str]:
    """The stored texts of the given store files: contact key -> redacted text.

    A file that is not on this machine is skipped (the rows then show no text); a torn last
    line (a run that was killed) is skipped; a ref that is not 16 hex digits is ignored.
    """
    out: dict[str, str] = {}
    folder = store_dir()
    for ref in dict.fromkeys(refs):
        if not isinstance(ref, str) or not _REF_RE.match(ref):
            continue
        path = folder / f"{ref}.jsonl"
        try:
            data = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for line in data.splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and isinstance(row.get("key"), str) and isinstance(row.get("text"), str):
                out[row["key"]] = row["text"]
    return out
