"""Sets of ``.eml`` and ``.msg`` files threaded together: both passes over them."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

from .contact import _brief
from .headers import _BLANK_RE, _Head, _head_of_raw, _split_raw
from .mime import _Body, _parse_raw
from .msg import _OLE_MAGIC, _read_msg


class _FileSetReader:
    """Both passes over a set of .eml and .msg files, threaded together."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = list(paths)

    @staticmethod
    def _is_msg(path: Path) -> bool:
        """True for an Outlook .msg file (by suffix, else by its OLE signature)."""
        if path.suffix.lower() == ".msg":
            return True
        if path.suffix.lower() == ".eml":
            return False
        try:
            with open(path, "rb") as fh:
                return fh.read(8) == _OLE_MAGIC
        except OSError:
            return False

    def heads(self) -> Iterator[_Head]:
        """Pass 1: the header block of each file."""
        for p in self.paths:
            src = str(p)
            if self._is_msg(p):
                head, _ = _read_msg(p, headers_only=True)
                yield head
                continue
            try:
                with open(p, "rb") as fh:
                    data = fh.read(65536)
                    if _BLANK_RE.search(data) is None:
                        data += fh.read()
            except OSError as e:
                yield _Head(where=src, error=f"{src}: cannot read the file ({e.strerror or _brief(e)})")
                continue
            data = _strip_from_line(data)
            if not data.strip():
                yield _Head(where=src, error=f"{src}: empty file")
                continue
            block, rest = _split_raw(data)
            yield _head_of_raw(block, rest is not None, src, src)

    def bodies(self, wanted: set[int] | None) -> Iterator[tuple[int, "_Body"]]:
        """Pass 2: parse the wanted files in full."""
        for pos, p in enumerate(self.paths):
            if wanted is not None and pos not in wanted:
                continue
            src = str(p)
            if self._is_msg(p):
                _, body = _read_msg(p, headers_only=False)
                yield pos, body  # type: ignore[misc]
                continue
            try:
                raw = p.read_bytes()
            except OSError as e:
                yield pos, _Body(error=f"{src}: cannot read the file ({e.strerror or _brief(e)})")
                continue
            raw = _strip_from_line(raw)
            if not raw.strip():
                yield pos, _Body(error=f"{src}: empty file")
                continue
            yield pos, _parse_raw(raw, src, src)


def _strip_from_line(data: bytes) -> bytes:
    """Drop an mbox ``From`` line some tools put at the top of an .eml file."""
    if data.startswith(b"From "):
        nl = data.find(b"\n")
        return data[nl + 1:] if nl >= 0 else b""
    return data
