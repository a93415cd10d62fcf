"""The review session: what the page shows for a request, what a decision writes, undo, resume, and the reviewed file."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ..errors import TukipyyntoError
from ..estimate import RANDOM_QUEUE, UNCERTAIN_QUEUE
from ..records import HELSINKI, Guideline, Request, Taxonomy, parse_datetime
from ..rules import avoidable_reason
from .queues import QUEUES, _float, build_queues, certainty

__all__ = ["ReviewError", "ReviewLog", "ReviewSession", "decide_avoidable", "load_session"]


class ReviewError(TukipyyntoError, ValueError):
    """A review request or file is invalid (unknown id, topic or guideline, a bad reviewed file)."""


def decide_avoidable(topic: str, guideline: Guideline | None, day: dt.date, taxonomy: Taxonomy) -> tuple[bool, str]:
    """The spec's avoidable rule for a reviewed topic and covering guideline, with its reason code."""
    cat = taxonomy[topic] if topic in taxonomy else None
    covered = guideline is not None and guideline.in_force(day)
    later = guideline is not None and guideline.published > day
    avoidable, reason = avoidable_reason(cat, covered, later)
    return bool(avoidable), reason


# ---------------------------------------------------------------------------------------------
# The reviewed file


class ReviewLog:
    """Append-only reviewed file: one JSON line per decision, flushed and fsynced before returning.

    Parameters
    ----------
    path : path
        The reviewed JSONL file; created when missing. A torn last line (a crash while
        writing) is cut off on opening.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.history: dict[str, list[dict[str, Any]]] = {}
        self.order: list[str] = []
        self._lock = threading.Lock()
        if self.path.exists():
            data = self.path.read_bytes()
            end = data.rfind(b"\n") + 1
            if end < len(data):
                with open(self.path, "r+b") as fh:
                    fh.truncate(end)
                    fh.flush()
                    os.fsync(fh.fileno())
                data = data[:end]
            from ..estimate import reviewed_rows

            for row in reviewed_rows(data, self.path, ReviewError):
                self._remember(row)
        self._fh = open(self.path, "a", encoding="utf-8")

    def _remember(self, row: dict[str, Any]) -> None:
        rid = str(row["id"])
        self.history.setdefault(rid, []).append(row)
        self.order.append(rid)

    def current(self, rid: str) -> dict[str, Any] | None:
        """The request's standing decision (the last line), or None when unreviewed or withdrawn."""
        h = self.history.get(rid)
        if not h or h[-1].get("retracted"):
            return None
        return h[-1]

    def append(self, row: dict[str, Any]) -> None:
        """Write one line, flush and fsync it."""
        line = json.dumps(row, ensure_ascii=False) + "\n"
        with self._lock:
            self._fh.write(line)
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._remember(row)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            if not self._fh.closed:
                self._fh.close()


# ---------------------------------------------------------------------------------------------
# The session: what the page shows and what a decision writes


def _local(ts: dt.datetime | None) -> dt.datetime | None:
    return ts.astimezone(HELSINKI) if ts else None


def _opening(text: str, limit: int = 220) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[:limit].rsplit(" ", 1)[0] + "…"


@dataclass
class ReviewSession:
    """Review state over a set of labelled rows.

    Parameters
    ----------
    rows : sequence of dict
        Labelled rows (:func:`classifier.report.read_labelled`); rows without a prediction
        are left out.
    out : path
        The reviewed file (appended to; resumed from when it exists).
    guidelines : list of Guideline
        The catalogue the reviewer picks from.
    taxonomy : Taxonomy
        Topics and the remit / misrouted flags of the avoidable rule.
    sample, seed : int
        Size and seed of the random sample.
    reviewer : str
        Written into every decision.
    assessor : Assessor, optional
        The model and matcher, for the words behind a topic and the runner-up guidelines;
        without one the page shows what the labelled file holds.
    lang : {"fi", "en"}
    """

    rows: Sequence[Mapping[str, Any]]
    out: str | os.PathLike
    guidelines: Sequence[Guideline]
    taxonomy: Taxonomy
    sample: int = 100
    seed: int = 0
    reviewer: str = "reviewer"
    assessor: Any = None
    lang: str = "fi"
    today: dt.date | None = None
    by_id: dict[str, Mapping[str, Any]] = field(init=False)
    queues: dict[str, list[str]] = field(init=False)
    log: ReviewLog = field(init=False)

    def __post_init__(self) -> None:
        self.by_id = {}
        for r in self.rows:
            if r.get("predicted") and r.get("id") is not None and str(r.get("status", "ok")) != "error":
                self.by_id[str(r["id"])] = r
        if not self.by_id:
            raise ReviewError("no labelled rows with a prediction to review")
        if self.sample < 0:
            raise ReviewError(f"sample must be 0 or more, got {self.sample}")
        rnd, unc = build_queues(list(self.by_id.values()), self.sample, self.seed)
        self.queues = {RANDOM_QUEUE: rnd, UNCERTAIN_QUEUE: unc}
        self.queue_of = {i: RANDOM_QUEUE for i in rnd}
        self.queue_of.update({i: UNCERTAIN_QUEUE for i in unc})
        self.gl = {g.id: g for g in self.guidelines}
        self.log = ReviewLog(self.out)
        self.skipped: dict[str, list[str]] = {q: [] for q in QUEUES}
        self._cards: dict[str, dict[str, Any]] = {}
        self._lock = threading.RLock()
        from ..report.texts import TEXT

        self._words = TEXT.get(self.lang, TEXT["fi"])

    # -- helpers
    def _row(self, rid: Any) -> Mapping[str, Any]:
        r = self.by_id.get(str(rid)) if isinstance(rid, str) else None
        if r is None:
            raise ReviewError(f"unknown request id {str(rid)[:80]!r}")
        return r

    def _day(self, row: Mapping[str, Any]) -> dt.date:
        try:
            ts = parse_datetime(row.get("sent_at"))
        except (TypeError, ValueError):
            ts = None
        return _local(ts).date() if ts else (self.today or dt.date.today())

    def _topic(self, t: Any) -> str:
        if not isinstance(t, str) or t not in self.taxonomy:
            raise ReviewError(f"unknown topic {str(t)[:80]!r}")
        return t

    def _guideline(self, gid: Any) -> Guideline | None:
        if gid is None or gid == "":
            return None
        if not isinstance(gid, str) or gid not in self.gl:
            raise ReviewError(f"unknown guideline {str(gid)[:80]!r}")
        return self.gl[gid]

    def _gl_view(self, g: Guideline, day: dt.date, score: float | None = None) -> dict[str, Any]:
        return {"id": g.id, "title": g.title, "opening": _opening(g.body), "published": g.published.isoformat(),
                "retired": g.retired.isoformat() if g.retired else None, "in_force": g.in_force(day),
                "topics": list(g.topics), "score": None if score is None else round(float(score), 3)}

    def topic_label(self, t: str | None) -> str:
        """Topic name in the page's language."""
        if not t:
            return "–"
        return self.taxonomy.label(t, self.lang) if t in self.taxonomy else self._words.get(t, t)

    # -- API
    def state(self) -> dict[str, Any]:
        """Queue sizes, progress and the topic list."""
        with self._lock:
            prog = {}
            for q, ids in self.queues.items():
                prog[q] = {"total": len(ids), "done": sum(1 for i in ids if self.log.current(i) is not None)}
            return {"progress": prog, "reviewer": self.reviewer, "seed": self.seed, "sample": self.sample,
                    "lang": self.lang, "out": Path(self.out).name,
                    "topics": [{"id": t, "label": self.topic_label(t)} for t in self.taxonomy.ids]}

    def next_id(self, queue: str, after: str | None = None) -> str | None:
        """The next unreviewed request of a queue (skipped ones come last); None when it is done."""
        if queue not in self.queues:
            raise ReviewError(f"unknown queue {str(queue)[:40]!r}; queues: {', '.join(QUEUES)}")
        with self._lock:
            skipped = set(self.skipped[queue])
            for i in self.queues[queue]:
                if i not in skipped and self.log.current(i) is None:
                    return i
            for i in self.skipped[queue]:
                if self.log.current(i) is None:
                    return i
        return None

    def skip(self, rid: str) -> None:
        """Move a request to the end of its queue for this session (nothing is written)."""
        self._row(rid)
        q = self.queue_of[rid]
        with self._lock:
            if rid in self.skipped[q]:
                self.skipped[q].remove(rid)
            self.skipped[q].append(rid)

    def card(self, rid: str) -> dict[str, Any]:
        """Everything the page shows for one request."""
        row = self._row(rid)
        with self._lock:
            base = self._cards.get(rid)
        if base is None:
            base = self._build_card(rid, row)
            with self._lock:
                self._cards[rid] = base
        out = dict(base)
        cur = self.log.current(rid)
        out["decision"] = None if cur is None else {k: cur.get(k) for k in ("topic", "guideline_id", "avoidable",
                                                                            "reason", "reviewer", "reviewed_at")}
        out["queue"] = self.queue_of[rid]
        q = self.queues[out["queue"]]
        out["position"] = q.index(rid) + 1
        return out

    def _build_card(self, rid: str, row: Mapping[str, Any]) -> dict[str, Any]:
        pred = row["predicted"]
        try:
            ts = parse_datetime(row.get("sent_at"))
        except (TypeError, ValueError):
            ts = None
        loc = _local(ts)
        day = self._day(row)
        text = row.get("text")
        card: dict[str, Any] = {
            "id": rid, "subject": row.get("subject") or "", "channel": row.get("channel") or "",
            "channel_label": self._words.get(str(row.get("channel")), str(row.get("channel") or "")),
            "local": loc.strftime("%Y-%m-%d %H:%M") if loc else None, "day": day.isoformat(),
            "weekday": loc.strftime("%a") if loc else None,
            "text": text if isinstance(text, str) and text.strip() else None,
        }
        cands = [(str(c[0]), _float(c[1]) or 0.0) for c in (pred.get("candidates") or [])
                 if isinstance(c, (list, tuple)) and len(c) == 2]
        card["predicted"] = {
            "topic": pred.get("topic"), "label": self.topic_label(pred.get("topic")),
            "confidence": _float(pred.get("confidence")),
            "candidates": [{"id": t, "label": self.topic_label(t), "p": p} for t, p in cands[:3]],
            "guideline_id": pred.get("guideline_id"), "avoidable": pred.get("avoidable"),
            "reason": pred.get("reason"), "reason_label": self._words.get(str(pred.get("reason")), pred.get("reason")),
            "avoidable_probability": _float(pred.get("avoidable_probability")),
            "coverage_probability": _float(pred.get("coverage_probability")),
            "certainty": round(certainty(pred), 4),
        }
        words: list[str] = []
        top_gl: list[tuple[str, float]] = []
        if self.assessor is not None and card["text"]:
            req = Request(id=rid, text=card["text"], subject=row.get("subject"), sent_at=ts,
                          channel=row.get("channel"))
            try:
                ex = self.assessor.model.classifier.explain(req.model_input, k=8)
                words = [w.split(":", 1)[-1] for w, _ in ex.get("toward", [])]
                a = self.assessor.assess([req], today=day)[0]
                top_gl = list(a.top_guidelines)
            except Exception:  # an explanation is a help, never a reason to lose the card
                words, top_gl = [], []
        card["predicted"]["words"] = words
        gls: list[dict[str, Any]] = []
        seen: set[str] = set()
        gid = pred.get("guideline_id")
        if gid in self.gl:
            gls.append(self._gl_view(self.gl[gid], day, _float(pred.get("guideline_score"))))
            seen.add(gid)
        for g, s in top_gl:
            if g in self.gl and g not in seen and len(gls) < 4:
                gls.append(self._gl_view(self.gl[g], day, s))
                seen.add(g)
        card["guidelines"] = gls
        later = pred.get("later_guideline_id")
        card["later_guideline"] = self._gl_view(self.gl[later], day) if later in self.gl else None
        return card

    def preview(self, rid: str, topic: Any, guideline_id: Any) -> dict[str, Any]:
        """The avoidable decision that follows from a topic and a covering guideline (or none)."""
        row = self._row(rid)
        day = self._day(row)
        g = self._guideline(guideline_id)
        avoidable, reason = decide_avoidable(self._topic(topic), g, day, self.taxonomy)
        return {"avoidable": avoidable, "reason": reason, "reason_label": self._words.get(reason, reason),
                "day": day.isoformat(), "guideline": self._gl_view(g, day) if g else None}

    def decide(self, rid: str, topic: Any, guideline_id: Any, queue: Any = None) -> dict[str, Any]:
        """Write a decision: the spec's labelled-request format plus reviewer, reviewed_at and queue."""
        row = self._row(rid)
        topic = self._topic(topic)
        g = self._guideline(guideline_id)
        day = self._day(row)
        avoidable, reason = decide_avoidable(topic, g, day, self.taxonomy)
        q = self.queue_of[rid]
        if queue is not None and queue != q:
            raise ReviewError(f"request {rid[:80]} is in the {q} queue, not {str(queue)[:40]!r}")
        out = {"id": rid, "source": row.get("source"), "channel": row.get("channel"), "sent_at": row.get("sent_at"),
               "subject": row.get("subject"), "text": row.get("text"), "topic": topic,
               "guideline_id": g.id if g else None, "avoidable": avoidable, "reason": reason,
               "predicted": dict(row["predicted"]), "reviewer": self.reviewer,
               "reviewed_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "queue": q}
        if q == RANDOM_QUEUE:
            out["sample_seed"] = self.seed
        self.log.append(out)
        with self._lock:
            if rid in self.skipped[q]:
                self.skipped[q].remove(rid)
        return {k: out[k] for k in ("id", "topic", "guideline_id", "avoidable", "reason", "queue", "reviewed_at")}

    def undo(self, rid: str) -> dict[str, Any]:
        """Withdraw the request's latest decision: the one before it stands again (or none)."""
        self._row(rid)
        hist = self.log.history.get(rid) or []
        if not hist or hist[-1].get("retracted"):
            raise ReviewError(f"request {rid[:80]} has no decision to undo")
        # replay: a decision pushes, an undo line (a restored copy or a withdrawal) pops the one it undid
        stack: list[dict[str, Any]] = []
        for h in hist:
            if h.get("retracted") or h.get("restored_by_undo"):
                if stack:
                    stack.pop()
            else:
                stack.append(h)
        if stack:
            stack.pop()
        standing = stack
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        if standing:
            prev = dict(standing[-1])
            prev["restored_by_undo"] = True
            prev["undone_at"] = now
            self.log.append(prev)
        else:
            self.log.append({"id": rid, "retracted": True, "reviewer": self.reviewer, "reviewed_at": now,
                             "queue": self.queue_of[rid]})
        return {"id": rid, "decision": None if not standing else {"topic": standing[-1].get("topic")}}

    def search(self, query: Any, rid: str | None = None, limit: int = 10) -> list[dict[str, Any]]:
        """Catalogue search by words in id, title and body (title words count double)."""
        if not isinstance(query, str):
            raise ReviewError("search needs a query")
        words = [w for w in query.lower().split() if w][:20]
        day = self._day(self._row(rid)) if rid else (self.today or dt.date.today())
        scored = []
        for g in self.guidelines:
            head = f"{g.id} {g.title}".lower()
            body = g.body.lower()
            s = sum(2 * (w in head) + (w in body) for w in words) if words else 0
            if s or not words:
                scored.append((-s, g.id, g))
        scored.sort(key=lambda x: (x[0], x[1]))
        return [self._gl_view(g, day) for _, _, g in scored[:limit]]

    def close(self) -> None:
        """Close the reviewed file."""
        self.log.close()


def load_session(labelled: Iterable[str | os.PathLike], out: str | os.PathLike, guidelines: str | None = None,
                 taxonomy: str | None = None, model_dir: str | None = None, sample: int = 100, seed: int = 0,
                 reviewer: str = "reviewer", lang: str = "fi", use_model: bool = True,
                 rows: Iterable[dict[str, Any]] | None = None) -> ReviewSession:
    """Read labelled files (or take ``rows`` already read, e.g. a store's), the catalogue, the taxonomy and (optionally) the model into a session."""
    from ..io import read_guidelines, read_taxonomy
    from ..report import normalise_labelled, read_labelled

    rows = normalise_labelled(rows) if rows is not None else read_labelled(list(labelled))
    assessor = None
    tax = read_taxonomy(taxonomy) if taxonomy else None
    if use_model:
        from ..guidelines import Assessor
        from ..model import load

        model = load(model_dir)
        tax = tax or model.taxonomy
        assessor = Assessor(model, catalogue=guidelines)
        if assessor.catalogue is None:
            assessor = None
    tax = tax or read_taxonomy()
    gl = read_guidelines(guidelines, tax)
    return ReviewSession(rows=rows, out=out, guidelines=gl, taxonomy=tax, sample=sample, seed=seed,
                         reviewer=reviewer, assessor=assessor, lang=lang)
