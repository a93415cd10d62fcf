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
from ..records import HELSINKI, Guideline, Request, Taxonomy, parse_datetime
from ..rules import avoidable_reason
from ..reviewed import (RANDOM_QUEUE, TILTED_QUEUE, UNCERTAIN_QUEUE, ReviewedFileError, check_reviewed_bytes,
                        sample_key)
from .queues import DESIGNS, _float, certainty, plan_queues

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


def _lock_file(path: Path):
    """Take the review lock of a reviewed file (``FILE.lock``); refuse, naming the holder, when another session has it."""
    lock_path = path.with_name(path.name + ".lock")
    try:
        fh = open(lock_path, "a+", encoding="utf-8")
    except OSError as e:
        raise ReviewError(f"cannot write beside {path} ({e.strerror or e}): choose an --out in a folder you can "
                          "write to") from None
    try:
        try:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # Windows
            import msvcrt

            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
    except OSError:
        fh.seek(0)
        try:
            holder = json.loads(fh.read() or "{}")
        except json.JSONDecodeError:
            holder = {}
        fh.close()
        where = f"its page is {holder['url']}, " if holder.get("url") else ""
        raise ReviewError(f"{path} is open in another review session ({where}process {holder.get('pid', '?')}): "
                          "go on in that page, or stop that session (Ctrl+C) before starting another; two sessions "
                          "on one file would undo each other's decisions") from None
    _write_lock(fh, None)
    return fh


def _write_lock(fh, url: str | None) -> None:
    """Say who holds the lock (process id and page address; never the access token)."""
    fh.seek(0)
    fh.truncate()
    fh.write(json.dumps({"pid": os.getpid(), "url": url}))
    fh.flush()


class ReviewLog:
    """Append-only reviewed file: one JSON line per decision, flushed and fsynced before returning.

    Opening checks the whole file first (:func:`classifier.reviewed.check_reviewed_bytes`):
    a file that is not a reviewed file is refused and left as it is. Then, and only then, a
    torn last line (a crash while writing) is cut, and a complete last line without a
    newline gets one, each said in :attr:`notes`. The file is locked (``FILE.lock``) while
    it is open: a second log on it is refused with the first one's page address.

    Parameters
    ----------
    path : path
        The reviewed JSONL file; created when missing.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.notes: list[str] = []
        self.history: dict[str, list[dict[str, Any]]] = {}
        self.order: list[str] = []
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ReviewError(f"cannot create the folder of {self.path} ({e.strerror or e})") from None
        if self.path.is_dir():
            raise ReviewError(f"{self.path} is a folder; --out needs a reviewed file (for example reviewed.jsonl)")
        self._lockfh = _lock_file(self.path)
        try:
            self._open()
        except BaseException:
            self._release()
            raise

    def _open(self) -> None:
        data = b""
        if self.path.exists():
            try:
                data = self.path.read_bytes()
            except OSError as e:
                raise ReviewError(f"cannot read {self.path} ({e.strerror or e})") from None
        try:
            rows, torn = check_reviewed_bytes(data, self.path)
        except ReviewedFileError as e:
            raise ReviewError(str(e)) from None
        try:
            if torn is not None:
                keep = data.rfind(b"\n") + 1
                with open(self.path, "r+b") as fh:
                    fh.truncate(keep)
                    fh.flush()
                    os.fsync(fh.fileno())
                self.notes.append(f"{self.path}:{torn}: cut a torn last line ({len(data) - keep} bytes of a write a "
                                  "crash interrupted); every complete decision is kept")
            elif data and not data.endswith(b"\n"):
                with open(self.path, "ab") as fh:
                    fh.write(b"\n")
                    fh.flush()
                    os.fsync(fh.fileno())
                self.notes.append(f"{self.path}: the last decision had no newline; added one before appending")
            if not self.path.exists():  # decisions hold redacted request texts: readable by their owner only
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
            self._fh = open(self.path, "a", encoding="utf-8")
        except OSError as e:
            raise ReviewError(f"cannot write {self.path} ({e.strerror or e}): choose an --out you can write to") from None
        for _, row in rows:
            self._remember(row)

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

    def announce(self, url: str) -> None:
        """Record the page address in the lock, so a second session can point the reviewer to this one."""
        with self._lock:
            if self._lockfh is not None and not self._lockfh.closed:
                _write_lock(self._lockfh, url)

    def _release(self) -> None:
        fh, self._lockfh = self._lockfh, None
        if fh is not None and not fh.closed:
            try:
                fh.seek(0)
                fh.truncate()
            except OSError:
                pass
            fh.close()  # closing releases the lock

    def close(self) -> None:
        """Close the file and release its lock."""
        with self._lock:
            if getattr(self, "_fh", None) is not None and not self._fh.closed:
                self._fh.close()
            self._release()


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
        Size (the number of draws in the tilted queue) and seed of the sample. The file
        records both with every decision; a restart that asks for another sample than the
        file's latest is refused unless ``new_sample``.
    reviewer : str
        Written into every decision.
    assessor : Assessor, optional
        The model and matcher, for the words behind a topic and the runner-up guidelines;
        without one the page shows what the labelled file holds.
    lang : {"fi", "en"}
    today : date, optional
        The date of requests without a send time (default: today).
    design : {"random", "tilted"}
        How the sample queue is drawn (:func:`classifier.review.queues.plan_queues`).
    new_sample : bool
        Start a new sample in a file that holds decisions of another one (the report then
        uses the new sample only).
    embedder : Embedder, optional
        Sentence embeddings (:class:`classifier.semantic.Embedder`, the ``semantic`` extra):
        with one, each card lists the most similar requests already reviewed, with their
        decisions (:meth:`similar`).

    Attributes
    ----------
    notes : list of str
        What opening the file changed or found (a torn last line cut, a newline added).
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
    design: str = RANDOM_QUEUE
    new_sample: bool = False
    embedder: Any = None
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
        if self.design not in DESIGNS:
            raise ReviewError(f"unknown sample design {str(self.design)[:40]!r}; expected one of {', '.join(DESIGNS)}")
        self.plan = plan_queues(list(self.by_id.values()), self.sample, self.seed, self.design)
        self.sample_queue = self.design
        self.queues = {self.design: list(self.plan.sample), UNCERTAIN_QUEUE: list(self.plan.uncertain)}
        self.queue_of = {i: self.design for i in self.plan.sample}
        self.queue_of.update({i: UNCERTAIN_QUEUE for i in self.plan.uncertain})
        self._index = {q: {i: k for k, i in enumerate(ids)} for q, ids in self.queues.items()}
        self.gl = {g.id: g for g in self.guidelines}
        self.log = ReviewLog(self.out)
        try:
            self._check_sample()
        except BaseException:
            self.log.close()
            raise
        self.notes = list(self.log.notes)
        no_text = sum(1 for r in self.by_id.values() if not (isinstance(r.get("text"), str) and r["text"].strip()))
        if no_text:
            self.notes.append(f"{no_text} of {len(self.by_id)} requests have no text on this machine: the page shows "
                              "the texts `label` and `analyse` keep where they ran (or the rows of a file labelled "
                              "with --with-text)")
        self.skipped: dict[str, list[str]] = {q: [] for q in self.queues}
        self._cards: dict[str, dict[str, Any]] = {}
        self._vectors: dict[str, Any] = {}  # request id -> its text's embedding (review --semantic)
        self._lock = threading.RLock()
        from ..report.texts import TEXT

        self._words = TEXT.get(self.lang, TEXT["fi"])

    # -- helpers
    @property
    def key(self) -> tuple[str, int, int]:
        """The sample this session reviews: ``(queue, seed, size)`` as the reviewed file records it."""
        return self.design, self.seed, self.sample

    def _same_sample(self, key: tuple[str, Any, Any] | None) -> bool:
        """Whether a recorded sample is this session's (files from before sizes were recorded match on the seed)."""
        return key is not None and key[0] == self.design and key[1] == self.seed and key[2] in (None, self.sample)

    def _check_sample(self) -> None:
        """Refuse to go on in a file whose latest sample is another one, unless a new sample was asked for."""
        latest = None
        for rid in self.log.order:
            for row in self.log.history[rid]:
                k = sample_key(row)
                if k is not None:
                    latest = k
        if latest is None or self._same_sample(latest) or self.new_sample:
            return
        q, seed, size = latest
        raise ReviewError(
            f"{self.out} holds decisions of another sample ({q} queue, seed {seed}" + (f", size {size}" if size is not None
                                                                                        else "")
            + f"); this session asks for the {self.design} queue, seed {self.seed}, size {self.sample}. To go on with "
            f"that review, start with --seed {seed}" + (f" --sample {size}" if size is not None else "")
            + (" --tilted" if q == "tilted" else "") + "; to start a new sample in the same file, add --new-sample "
            "(the report then uses the new sample only); or choose another --out")

    def done(self, rid: str) -> bool:
        """Whether the request has a standing decision that counts for its queue in this session's sample."""
        cur = self.log.current(rid)
        if cur is None:
            return False
        if self.queue_of.get(rid) == self.sample_queue:
            return cur.get("queue") == self.sample_queue and self._same_sample(sample_key(cur))
        return True

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
                prog[q] = {"total": len(ids), "done": sum(1 for i in ids if self.done(i))}
            return {"progress": prog, "reviewer": self.reviewer, "seed": self.seed, "sample": self.sample,
                    "sample_queue": self.sample_queue, "design": self.design,
                    "lang": self.lang, "out": Path(self.out).name,
                    "topics": [{"id": t, "label": self.topic_label(t)} for t in self.taxonomy.ids]}

    def next_id(self, queue: str, after: str | None = None) -> str | None:
        """The next unreviewed request of a queue (skipped ones come last); None when it is done."""
        if queue not in self.queues:
            raise ReviewError(f"unknown queue {str(queue)[:40]!r}; queues: {', '.join(self.queues)}")
        with self._lock:
            skipped = set(self.skipped[queue])
            for i in self.queues[queue]:
                if i not in skipped and not self.done(i):
                    return i
            for i in self.skipped[queue]:
                if not self.done(i):
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
        cur = self.log.current(rid) if self.done(rid) else None
        out["decision"] = None if cur is None else {k: cur.get(k) for k in ("topic", "guideline_id", "avoidable",
                                                                            "reason", "reviewer", "reviewed_at")}
        out["queue"] = self.queue_of[rid]
        q = self.queues[out["queue"]]
        out["position"] = self._index[out["queue"]][rid] + 1
        out["similar"] = self.similar(rid)
        return out

    def similar(self, rid: str, k: int = 3) -> list[dict[str, Any]]:
        """The ``k`` requests already reviewed whose texts are nearest to this one's, with their decisions.

        Nearest by cosine similarity of sentence embeddings (empty without an ``embedder``, or
        when this request has no text). Each text is embedded once (the embedder's caches), so
        a card costs one embedding the first time and a matrix product after that.

        Parameters
        ----------
        rid : str
            The request shown.
        k : int
            How many neighbours at most.

        Returns
        -------
        list of dict
            ``id``, ``similarity`` (cosine, 3 decimals), ``subject``, ``opening`` (the first
            characters of the text) and the reviewer's ``topic``, ``topic_label``,
            ``guideline_id``, ``guideline_title`` and ``avoidable``, nearest first.
        """
        if self.embedder is None:
            return []
        text = self._row(rid).get("text")
        if not (isinstance(text, str) and text.strip()):
            return []
        done: list[tuple[str, str, dict[str, Any]]] = []
        for other, row in self.by_id.items():
            if other == rid or not self.done(other):
                continue
            t = row.get("text")
            cur = self.log.current(other)
            if isinstance(t, str) and t.strip() and cur is not None:
                done.append((other, t, cur))
        if not done:
            return []
        import numpy as np

        with self._lock:  # the page's requests come in on several threads; the embedder is not shared safely
            need = [i for i in [rid] + [o for o, _, _ in done] if i not in self._vectors]
            if need:  # each text embedded (and redacted for its cache key) once per session
                vecs = np.asarray(self.embedder.embed([self.by_id[i]["text"] for i in need]), dtype=np.float32)
                self._vectors.update(zip(need, vecs))
            sims = np.stack([self._vectors[o] for o, _, _ in done]) @ self._vectors[rid]
        out = []
        for j in np.argsort(-sims, kind="stable")[:k]:
            other, t, cur = done[int(j)]
            g = self.gl.get(cur.get("guideline_id"))
            out.append({"id": other, "similarity": round(float(sims[j]), 3),
                        "subject": self.by_id[other].get("subject") or "", "opening": _opening(t, 160),
                        "topic": cur.get("topic"), "topic_label": self.topic_label(cur.get("topic")),
                        "guideline_id": cur.get("guideline_id"), "guideline_title": g.title if g else None,
                        "avoidable": cur.get("avoidable")})
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
               "reviewed_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "queue": q,
               "sample_seed": self.seed, "sample_size": self.sample}
        for k in ("key", "text_ref"):  # where the text is, for adapting to the catalogue later (no personal data)
            if row.get(k):
                out[k] = row[k]
        if q == self.sample_queue:
            out["sample_positions"] = list(self.plan.positions[rid])
            if q == TILTED_QUEUE:
                out["selection_probability"] = self.plan.selection[rid]
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


def _with_texts(rows: list[dict[str, Any]], labelled: Sequence[str | os.PathLike]) -> list[dict[str, Any]]:
    """Rows with their redacted text: from the row itself, else from the private text store (by the row's key)."""
    from ..io import expand_paths
    from ..textstore import read_texts, store_ref

    missing = [r for r in rows if not (isinstance(r.get("text"), str) and r["text"].strip()) and r.get("key")]
    if not missing:
        return rows
    refs = [str(r["text_ref"]) for r in missing if r.get("text_ref")]
    try:
        refs += [store_ref(p) for p in expand_paths(labelled)]  # rows written before text_ref existed
    except TukipyyntoError:
        pass
    texts = read_texts(refs)
    gaps = {id(r) for r in missing}
    return [{**r, "text": texts[r["key"]]} if id(r) in gaps and r.get("key") in texts else r for r in rows]


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def load_session(labelled: Iterable[str | os.PathLike], out: str | os.PathLike, guidelines: str | None = None,
                 taxonomy: str | None = None, model_dir: str | None = None, sample: int = 100, seed: int = 0,
                 reviewer: str = "reviewer", lang: str = "fi", use_model: bool = True, design: str = RANDOM_QUEUE,
                 new_sample: bool = False, rows: Iterable[dict[str, Any]] | None = None,
                 semantic: bool = False) -> ReviewSession:
    """Read labelled files (or take ``rows`` already read, e.g. a store's), the catalogue, the taxonomy and (optionally) the model into a session.

    ``out`` may not be one of the inputs (decisions would be appended to the labelled rows):
    that is refused before any file is opened for writing. With ``semantic`` each card lists
    the most similar requests already reviewed (it needs the ``semantic`` extra).
    """
    from ..io import expand_paths, read_guidelines, read_taxonomy
    from ..report import normalise_labelled, read_labelled

    labelled = list(labelled)
    target = Path(out)
    inputs = [Path(p) for p in (guidelines, taxonomy) if p]
    try:
        inputs += expand_paths(labelled)
    except TukipyyntoError:
        inputs += [Path(p) for p in labelled]
    for p in inputs:
        if _same_file(target, p) or target.resolve() == p.resolve():
            raise ReviewError(f"--out {out} is one of the inputs ({p}); the review writes its decisions to a file of "
                              "its own: give --out a new name such as reviewed.jsonl")
    if rows is not None:
        rows = _with_texts(normalise_labelled(rows), [])
    else:
        rows = _with_texts(read_labelled(labelled), labelled)
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
    embedder = None
    if semantic:
        from ..semantic import Embedder

        embedder = Embedder()  # raises ExtraMissingError, naming the install command, without the extra
    return ReviewSession(rows=rows, out=out, guidelines=gl, taxonomy=tax, sample=sample, seed=seed,
                         reviewer=reviewer, assessor=assessor, lang=lang, design=design, new_sample=new_sample,
                         embedder=embedder)
