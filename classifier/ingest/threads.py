"""Threading: a union-find over Message-IDs and references (subject fallback), which message of each thread is the request."""

from __future__ import annotations

import datetime as dt
import math
from array import array
from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any

from .headers import _Head, _is_reply_subject, normalise_subject


# --------------------------------------------------------------------------- threading


@dataclass
class _ThreadPlan:
    """Pass 1's result: which message of each thread is the request, and the thread's members."""

    request_of: dict[int, int]  # request position -> thread root
    members: dict[int, list[int]]  # thread root -> member positions, chronological
    by_subject: set[int]  # roots of threads that took in a message by subject alone
    msgids: list[str | None]
    errors: dict[int, _Head]
    duplicates: set[int] = field(default_factory=set)
    # per position, for the service analytics: date, sender, To addresses, reply-ness
    dates: list[dt.datetime | None] = field(default_factory=list)
    senders: list[str | None] = field(default_factory=list)
    recipients: list[tuple[str, ...]] = field(default_factory=list)
    replyish: Any = None


class _ThreadIndex:
    """Pass 1 state: a union-find over messages and the ids they name, kept in compact arrays."""

    def __init__(self) -> None:
        self.parent = array("q")
        self.node_of_id: dict[str, int] = {}
        self.pos_node = array("q")
        self.keys = array("d")
        self.subjects: list[str] = []
        self.reply_refs: dict[int, tuple[str, ...]] = {}  # reply-prefixed messages: their references
        self.msgids: list[str | None] = []
        self.errors: dict[int, _Head] = {}
        self.claimed: set[str] = set()  # ids a message of this source carries as its own Message-ID
        self.duplicates: set[int] = set()  # positions whose Message-ID an earlier message already had
        self._subjects: dict[str, str] = {}
        self.dates: list[dt.datetime | None] = []
        self.senders: list[str | None] = []
        self.recipients: list[tuple[str, ...]] = []
        self.replyish = array("b")
        self._interned: dict[Any, Any] = {}

    def _new(self) -> int:
        """A fresh union-find node."""
        n = len(self.parent)
        self.parent.append(n)
        return n

    def _find(self, x: int) -> int:
        """Root of x's set, compressing the path."""
        p = self.parent
        root = x
        while p[root] != root:
            root = p[root]
        while p[x] != root:
            p[x], x = root, p[x]
        return root

    def _union(self, a: int, b: int) -> None:
        """Merge the sets of a and b."""
        ra, rb = self._find(a), self._find(b)
        if ra != rb:
            self.parent[rb] = ra

    def add(self, h: _Head) -> None:
        """Register one message's ids, references, date and subject."""
        pos = len(self.pos_node)
        node = self._new()
        self.pos_node.append(node)
        self.keys.append(h.date.timestamp() if h.date is not None else math.inf)
        subj = normalise_subject(h.subject)
        self.subjects.append(self._subjects.setdefault(subj, subj))
        self.msgids.append(h.msgid)
        interned = self._interned
        self.dates.append(h.date)
        self.senders.append(interned.setdefault(h.sender, h.sender) if h.sender else None)
        self.recipients.append(interned.setdefault(h.recipients, h.recipients) if h.recipients else ())
        self.replyish.append(1 if (h.refs or _is_reply_subject(h.subject)) else 0)
        if h.error is not None:
            self.errors[pos] = h  # an unreadable message stays a contact of its own
            return
        if _is_reply_subject(h.subject) and subj:
            self.reply_refs[pos] = h.refs
        if h.msgid and h.msgid in self.claimed:
            # Two messages with one Message-ID (a broken mailer, a copied message): never merge on it
            # alone; the second stays a contact of its own unless its references join it to a thread.
            self.duplicates.add(pos)
        elif h.msgid:
            self.claimed.add(h.msgid)
            other = self.node_of_id.get(h.msgid)
            if other is None:
                self.node_of_id[h.msgid] = node
            else:
                self._union(other, node)
        for ref in h.refs:
            other = self.node_of_id.get(ref)
            if other is None:
                other = self.node_of_id[ref] = self._new()  # a message not in this source
            self._union(other, node)

    def plan(self) -> _ThreadPlan:
        """Group messages into threads (subject fallback included) and pick each thread's request."""
        n = len(self.pos_node)
        keys, find, pos_node = self.keys, self._find, self.pos_node
        by_subject_nodes: list[int] = []
        # Subject fallback: a reply whose own reference headers name no message of this source
        # joins the latest earlier thread with the same normalised subject (its own replies with it).
        real = {m for i, m in enumerate(self.msgids) if m and i not in self.errors}
        cands = [i for i, refs in self.reply_refs.items()
                 if not any(r in real and r != self.msgids[i] for r in refs)]
        if cands:
            roots = [find(pos_node[i]) for i in range(n)]
            start: dict[int, tuple[float, int]] = {}
            for i in range(n):
                r, k = roots[i], (keys[i], i)
                if r not in start or k < start[r]:
                    start[r] = k
            index: dict[str, list[tuple[tuple[float, int], int]]] = {}
            seen: set[tuple[str, int]] = set()
            for i in range(n):
                subj = self.subjects[i]
                if subj and i not in self.errors and (subj, roots[i]) not in seen:
                    seen.add((subj, roots[i]))
                    index.setdefault(subj, []).append((start[roots[i]], roots[i]))
            del roots, seen
            for lst in index.values():
                lst.sort()
            for c in sorted(cands, key=lambda i: (keys[i], i)):
                own = find(pos_node[c])
                lst = index[self.subjects[c]]
                j = bisect_left(lst, ((keys[c], c), -1))
                while j > 0:
                    j -= 1
                    target = find(lst[j][1])
                    if target != own:
                        self.parent[own] = target
                        by_subject_nodes.append(target)
                        break
        roots = [find(pos_node[i]) for i in range(n)]
        by_subject = {find(t) for t in by_subject_nodes}
        self.node_of_id.clear()
        self.parent = array("q")
        members: dict[int, list[int]] = {}
        for i in range(n):
            members.setdefault(roots[i], []).append(i)
        request_of: dict[int, int] = {}
        for r, ms in members.items():
            if len(ms) > 1:
                ms.sort(key=lambda i: (keys[i], i))
            request_of[ms[0]] = r
        return _ThreadPlan(request_of, members, by_subject, self.msgids, self.errors, self.duplicates,
                           dates=self.dates, senders=self.senders, recipients=self.recipients,
                           replyish=self.replyish)
