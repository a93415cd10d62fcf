"""Parallel reading of mbox files: the messages are parsed in worker processes, the threads planned here.

:func:`iter_contacts_parallel` yields the same contacts, in the same order, as
:func:`~classifier.ingest.iter_contacts` (without ``keep_stripped``), but an mbox's messages
are read by worker processes:

- pass 0, here: a byte scan of the memory-mapped mbox finds the byte range of every message
  (its ``From`` line, start and end), kept in compact arrays;
- pass 1, in the workers: the header blocks of ranges of messages (what threading needs:
  Message-ID, references, subject, date, addresses), returned in input order;
- here: the thread map (:class:`~classifier.ingest.threads._ThreadIndex`) and, for each
  thread, which message is the request;
- pass 2, in the workers: each request's message is read from its byte range, parsed (MIME,
  charsets, HTML), cleaned and made into its contact, in tasks of a few hundred requests;
- here: the contacts come back in input order, a bounded window of tasks at a time, and get
  their thread's messages (dates and addresses for :mod:`classifier.service`, which stay in
  this process).

``submit`` is any ``concurrent.futures`` style ``submit`` (a process pool's); the workers open
the mbox themselves. Request tables and sets of ``.eml`` / ``.msg`` files are read here, as
:func:`~classifier.ingest.iter_contacts` reads them.
"""

from __future__ import annotations

import os
from collections import deque
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from .contact import Contact
from .headers import _Head
from .mail import _assemble_contact, _mail_contacts, _request_facts, _thread_of
from .mbox import _MboxReader
from .sources import _check_column_map, _plan_sources
from .tables import _table_contacts
from .threads import _ThreadIndex

__all__ = ["iter_contacts_parallel"]

Chunk = tuple[int, int, int, bool]


def iter_contacts_parallel(
    inputs: Sequence[str | os.PathLike] | str | os.PathLike,
    submit: Callable[..., Any],
    workers: int = 2,
    column_map: dict[str, str] | None = None,
    notes: list[str] | None = None,
    heads_per_task: int = 4000,
    requests_per_task: int = 300,
    head_submit: Callable[..., Any] | None = None,
) -> Iterator[Contact]:
    """Read inputs into contacts as :func:`~classifier.ingest.iter_contacts` does, parsing mbox files in workers.

    Parameters
    ----------
    inputs, column_map, notes
        As for :func:`~classifier.ingest.iter_contacts`.
    submit : callable
        ``submit(fn, *args)`` returning a future, e.g. ``ProcessPoolExecutor.submit``.
    workers : int
        Worker processes behind ``submit``: pass 1 is cut into at least this many tasks, and
        about two tasks per worker are kept in flight in pass 2.
    heads_per_task, requests_per_task : int
        Messages per pass-1 task, thread requests per pass-2 task.
    head_submit : callable, optional
        Another pool's ``submit`` for pass 1 of the first mbox: its offsets are found and its
        header blocks handed to that pool at once, when this function is called, so that they
        are read while the caller gets ready (loads a model) before it iterates. ``submit`` is
        not called before the iteration starts.

    Raises
    ------
    IngestError
        At once, as :func:`~classifier.ingest.iter_contacts` does.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    column_map = _check_column_map(column_map)
    sources = _plan_sources(inputs)
    notes = notes if notes is not None else []
    workers = max(1, int(workers))

    early: dict[int, _Pass1] = {}
    if head_submit is not None:
        first = next((i for i, src in enumerate(sources) if src.kind == "mbox"), None)
        if first is not None:
            early[first] = _start_pass1(sources[first].paths[0], head_submit, workers, heads_per_task)

    def gen() -> Iterator[Contact]:
        for i, src in enumerate(sources):
            if src.kind == "table":
                yield from _table_contacts(src.paths[0], column_map, False, notes)
            elif src.kind == "mbox":
                pass1 = early.pop(i, None) or _start_pass1(src.paths[0], submit, workers, heads_per_task)
                yield from _mbox_contacts(pass1, submit, workers, requests_per_task)
            else:
                yield from _mail_contacts(src, False)

    return gen()


class _Pass1:
    """An mbox's byte ranges (pass 0, done) and the futures of its header blocks (pass 1, under way)."""

    def __init__(self, src: str, starts: Any, ends: Any, offs: Any, garbage: set[int], size: int) -> None:
        self.src, self.starts, self.ends, self.offs, self.garbage, self.size = src, starts, ends, offs, garbage, size
        self.futures: list[Any] = []

    def chunk(self, pos: int) -> Chunk:
        """``(start, end, offset, is_message)`` of the chunk at ``pos``."""
        return self.starts[pos], self.ends[pos], self.offs[pos], pos not in self.garbage


def _start_pass1(path: Path, submit: Callable[..., Any], workers: int, heads_per_task: int) -> _Pass1:
    """Pass 0 here (the offsets), then pass 1 handed to ``submit`` in at least ``workers`` tasks."""
    p = _Pass1(str(path), *_MboxReader(path).chunks())
    n = len(p.starts)
    k = max(1, min(heads_per_task, -(-n // workers)))
    p.futures = [submit(_heads_task, p.src, i, [p.chunk(q) for q in range(i, min(n, i + k))], p.size)
                 for i in range(0, n, k)]
    return p


def _mbox_contacts(p: _Pass1, submit: Callable[..., Any], workers: int, requests_per_task: int) -> Iterator[Contact]:
    """One mbox: header blocks (pass 1) from the workers into the thread plan here, then the requests in the workers."""
    src, size, chunk = p.src, p.size, p.chunk
    index = _ThreadIndex()
    for f in p.futures:
        for head in f.result():
            index.add(head)
    p.futures = []
    plan = index.plan()
    del index

    # pass 2: the requests, a bounded window of tasks in flight, contacts back in input order
    order = sorted(plan.request_of)

    def tasks() -> Iterator[tuple[list[int], Any]]:
        for i in range(0, len(order), requests_per_task):
            positions = order[i:i + requests_per_task]
            items = [(q, chunk(q), *_request_facts(q, plan.request_of[q], plan)) for q in positions]
            yield positions, submit(_requests_task, src, items, size)

    pending: deque = deque()
    todo = tasks()
    window = 2 * workers + 1
    for t in todo:
        pending.append(t)
        if len(pending) >= window:
            break
    while pending:
        positions, fut = pending.popleft()
        contacts = fut.result()
        nxt = next(todo, None)
        if nxt is not None:
            pending.append(nxt)
        for pos, c in zip(positions, contacts):
            thread = _thread_of(plan, plan.members[plan.request_of[pos]])
            if thread:
                # a fresh contact, unpickled here and seen by no one yet: set its thread in place
                object.__setattr__(c, "thread", thread)
            yield c


# --------------------------------------------------------------------------- worker tasks


def _heads_task(src: str, first: int, chunks: list[Chunk], size: int) -> list[_Head]:
    """Pass 1 in a worker: the ``_Head`` of each chunk (positions ``first``, ``first + 1``, ...)."""
    return _MboxReader(Path(src)).heads_at(first, chunks, size)


def _requests_task(src: str, items: list[tuple], size: int) -> list[Contact]:
    """Pass 2 in a worker: parse, clean and assemble the contact of each request (without its thread)."""
    reader = _MboxReader(Path(src))
    out = []
    for (pos, body), item in zip(reader.bodies_at([(it[0], it[1]) for it in items], size), items):
        out.append(_assemble_contact(body, src, pos, *item[2:]))
    return out
