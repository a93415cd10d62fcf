"""mbox files: memory-mapped, split on their ``From`` lines into byte ranges (offsets), read in two passes."""

from __future__ import annotations

import mmap
import re
from array import array
from pathlib import Path
from typing import Any, Iterator, Sequence

from .headers import _BLANK_RE, _Head, _head_of_raw
from .mime import _Body, _parse_raw


# --------------------------------------------------------------------------- mbox reading

_SEP_TIME_RE = re.compile(rb"\d{1,2}:\d{2}")
_SEP_YEAR_RE = re.compile(rb"(?<!\d)(?:19|20)\d\d(?!\d)")
_MBOXRD_RE = re.compile(rb"(?m)^>(>*From )")


def _is_separator(line: bytes) -> bool:
    """True for an mbox ``From`` line: one with a time and a year, so that body text is not split."""
    return _SEP_TIME_RE.search(line) is not None and _SEP_YEAR_RE.search(line) is not None


def _mbox_chunks(mm: Any) -> Iterator[tuple[int, int, int, bool]]:
    """``(start, end, offset, is_message)`` per message of a mapped mbox (``offset``: its ``From`` line)."""
    # Non-blank bytes before the first From line come first, with is_message False.
    size = len(mm)

    def separators() -> Iterator[int]:
        """Offsets of the From lines."""
        if mm[:5] == b"From ":
            yield 0  # the first line counts even without a date: it is what made this an mbox
        pos = 0
        while True:
            i = mm.find(b"\nFrom ", pos)
            if i < 0:
                return
            start = i + 1
            end = mm.find(b"\n", start)
            if _is_separator(mm[start: size if end < 0 else end]):
                yield start
            pos = start

    prev: int | None = None
    for s in separators():
        if prev is None:
            if s > 0 and mm[:s].strip():
                yield 0, s, 0, False
        else:
            yield _body_start(mm, prev, s), s, prev, True
        prev = s
    if prev is None:
        if size and mm[:size].strip():
            yield 0, size, 0, False
    else:
        yield _body_start(mm, prev, size), size, prev, True


def _body_start(mm: Any, sep: int, end: int) -> int:
    """Offset just after the ``From`` line that starts at ``sep``."""
    nl = mm.find(b"\n", sep, end)
    return end if nl < 0 else nl + 1


class _Lines:
    """Line numbers of byte offsets, counted on demand (only error messages need them)."""

    def __init__(self, mm: Any) -> None:
        self.mm, self.off, self.line = mm, 0, 1

    def at(self, offset: int) -> int:
        """1-based line number of ``offset`` (offsets asked in increasing order are cheap)."""
        if offset < self.off:
            self.off, self.line = 0, 1
        self.line += self.mm[self.off: offset].count(b"\n")
        self.off = offset
        return self.line


class _MboxPlace:
    """``file:line: message N`` of an mbox message, worked out only when an error message needs it."""

    __slots__ = ("src", "lines", "off", "pos")

    def __init__(self, src: str, lines: _Lines, off: int, pos: int) -> None:
        self.src, self.lines, self.off, self.pos = src, lines, off, pos

    def __str__(self) -> str:
        return f"{self.src}:{self.lines.at(self.off)}: message {self.pos + 1}"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


class _MboxReader:
    """Both passes over one mbox file, memory-mapped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.src = str(path)

    def _open(self) -> tuple[Any, Any]:
        """Open and map the file (an empty file maps to ``b""``)."""
        fh = open(self.path, "rb")
        try:
            mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # empty file
            mm = b""
        return fh, mm

    def heads(self) -> Iterator[_Head]:
        """Pass 1: one ``_Head`` per chunk, reading header blocks only."""
        fh, mm = self._open()
        try:
            lines = _Lines(mm)
            size = len(mm)
            for pos, chunk in enumerate(_mbox_chunks(mm)):
                yield self._head_at(mm, lines, size, pos, chunk)
        finally:
            self._close(fh, mm)

    def bodies(self, wanted: set[int] | None) -> Iterator[tuple[int, "_Body"]]:
        """Pass 2: parse the full messages at ``wanted`` positions (all when None)."""
        fh, mm = self._open()
        try:
            lines = _Lines(mm)
            size = len(mm)
            for pos, chunk in enumerate(_mbox_chunks(mm)):
                if wanted is not None and pos not in wanted:
                    continue
                yield pos, self._body_at(mm, lines, size, pos, chunk)
        finally:
            self._close(fh, mm)

    # -- byte ranges, for readers in other processes (classifier.ingest.parallel) ----------

    def chunks(self) -> tuple[array, array, array, set[int], int]:
        """Pass 0, a byte scan: start, end and ``From``-line offset of every chunk (in compact arrays),
        the positions of chunks that are not messages, and the file size."""
        starts, ends, offs, garbage = array("q"), array("q"), array("q"), set()
        fh, mm = self._open()
        try:
            for pos, (start, end, off, is_msg) in enumerate(_mbox_chunks(mm)):
                starts.append(start)
                ends.append(end)
                offs.append(off)
                if not is_msg:
                    garbage.add(pos)
            return starts, ends, offs, garbage, len(mm)
        finally:
            self._close(fh, mm)

    def heads_at(self, first: int, chunks: Sequence[tuple[int, int, int, bool]], size: int) -> list[_Head]:
        """Pass 1 over some chunks (positions ``first``, ``first + 1``, ...) of :meth:`chunks`."""
        fh, mm = self._open()
        try:
            lines = _Lines(mm)
            return [self._head_at(mm, lines, size, first + i, c) for i, c in enumerate(chunks)]
        finally:
            self._close(fh, mm)

    def bodies_at(self, items: Sequence[tuple[int, tuple[int, int, int, bool]]], size: int) -> Iterator[tuple[int, "_Body"]]:
        """Pass 2 over ``(position, chunk)`` pairs of :meth:`chunks`."""
        fh, mm = self._open()
        try:
            lines = _Lines(mm)
            for pos, chunk in items:
                yield pos, self._body_at(mm, lines, size, pos, chunk)
        finally:
            self._close(fh, mm)

    # -- one chunk ------------------------------------------------------------------------

    def _head_at(self, mm: Any, lines: _Lines, size: int, pos: int, chunk: tuple[int, int, int, bool]) -> _Head:
        """Pass 1's ``_Head`` of one chunk."""
        start, end, off, is_msg = chunk
        if not is_msg:
            return _Head(where=self.src, error=self._garbage(end, size))
        label = _MboxPlace(self.src, lines, off, pos)
        if mm[start:start + 1] == b"\n" or mm[start:start + 2] == b"\r\n":
            head_bytes, complete = b"", True
        else:
            m = _BLANK_RE.search(mm, start, end)
            head_bytes, complete = (mm[start:end], False) if m is None else (mm[start:m.start()], True)
        return _head_of_raw(head_bytes, complete, self.src, label)

    def _body_at(self, mm: Any, lines: _Lines, size: int, pos: int, chunk: tuple[int, int, int, bool]) -> "_Body":
        """Pass 2's parsed ``_Body`` of one chunk."""
        start, end, off, is_msg = chunk
        if not is_msg:
            return _Body(error=self._garbage(end, size))
        label = _MboxPlace(self.src, lines, off, pos)
        raw = mm[start:end]
        if b">From " in raw:
            raw = _MBOXRD_RE.sub(rb"\1", raw)
        body = _parse_raw(raw, self.src, label)
        if end == size and raw and not raw.endswith(b"\n") and body.error is None:
            body.flags.add("truncated")  # an mbox writer ends every message with a newline
        return body

    def _garbage(self, end: int, size: int) -> str:
        """The error of bytes that precede the first ``From`` line."""
        if end == size:
            return f"{self.src}:1: no 'From ' separator line: not an mbox file ({size} bytes)"
        return f"{self.src}:1: {end} bytes before the first 'From ' line are not a message"

    @staticmethod
    def _close(fh: Any, mm: Any) -> None:
        """Unmap and close."""
        if isinstance(mm, mmap.mmap):
            mm.close()
        fh.close()
