"""Compare this library's classifier with fastText, spaCy textcat and a char n-gram SVM on the same splits.

    python benchmarks/compare.py [--quick] [--datasets corpus,sib200,eduskunta] [--out benchmarks/results]

Systems (all trained from raw text on the training split and scored on the test split;
nothing is tuned on test):

- ``tukipyynto``: ``TopicClassifier()`` with its default parameters;
- ``fasttext-default`` and ``fasttext-tuned``: fastText supervised with default settings, and with
  wordNgrams=2, minn=2, maxn=5, epoch=25, lr=0.5 (fixed before looking at any test figure), on
  lower-cased text of whitespace-joined spaCy tokens (``classifier.text.tokenize``);
- ``spacy-bow`` and ``spacy-ensemble``: spaCy ``textcat`` (exclusive classes) with
  ``spacy.TextCatBOW.v3`` and with ``spacy.TextCatEnsemble.v2`` (small tok2vec: MultiHashEmbed
  width 64, MaxoutWindowEncoder depth 2, no pretrained vectors), added to
  ``classifier.text.make_tokenizer()`` and trained with ``nlp.initialize`` / ``nlp.update``;
- ``char-svm``: char_wb 2-5 TF-IDF (sublinear) + LinearSVC(C=1), the strong simple baseline.

Datasets: ``corpus`` (corpus/train.jsonl + corpus/generated.jsonl at weight 0.3 when it exists,
scored on corpus/test.jsonl), ``sib200`` and ``eduskunta`` (train.jsonl -> test.jsonl from the
external data folder, skipped with a note when it is absent).

Every (dataset, system) pair runs in a fresh process started with multiprocessing's ``spawn``,
one after another, with OMP/MKL/OpenBLAS threads set to 1 (one core for training and
prediction). Writes ``compare.md`` and ``compare.json`` to ``--out`` (``--quick`` writes to
``benchmarks/results/quick/`` unless ``--out`` is given, so a smoke test never overwrites the
real figures).
"""

from __future__ import annotations

# Only the standard library at module level: every benchmark child process imports this file
# (multiprocessing 'spawn'), and its memory figure should hold only what its system needs.
import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "results"
DEFAULT_EXTERNAL = ROOT.parent / "shared" / "external"
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
               "NUMEXPR_NUM_THREADS", "BLIS_NUM_THREADS")
SEED = 0

SYSTEMS = {
    "tukipyynto": "tukipyynto TopicClassifier() (defaults)",
    "fasttext-default": "fastText supervised, defaults",
    "fasttext-tuned": "fastText supervised, wordNgrams 2, char 2-5, 25 epochs, lr 0.5",
    "spacy-bow": "spaCy textcat, TextCatBOW.v3",
    "spacy-ensemble": "spaCy textcat, TextCatEnsemble.v2 (tok2vec w64 d2)",
    "char-svm": "char_wb 2-5 TF-IDF + LinearSVC(C=1)",
}
REFERENCE = "tukipyynto"
DATASETS = ("corpus", "sib200", "eduskunta")
EXTERNAL_FOLDERS = {"sib200": "sib200-fin", "eduskunta": "eduskunta-vkk"}

FASTTEXT_TUNED = dict(wordNgrams=2, minn=2, maxn=5, epoch=25, lr=0.5)
SPACY_EPOCHS = {"full": {"spacy-bow": 10, "spacy-ensemble": 5}, "quick": {"spacy-bow": 2, "spacy-ensemble": 1}}
# Cap on the ensemble's training documents (None = all). It is only needed if a full
# epoch schedule would take more than ~15 minutes; the run below reports whether it applied.
SPACY_ENSEMBLE_MAX_TRAIN: int | None = None
QUICK_MAX_TRAIN, QUICK_MAX_TEST = 1000, 300
FIT_CHECK_DOCS = 1000  # training documents re-predicted to flag a system that underfits

BOW_MODEL = {"@architectures": "spacy.TextCatBOW.v3", "exclusive_classes": True, "ngram_size": 1,
             "no_output_layer": False, "length": 262144}
ENSEMBLE_MODEL = {
    "@architectures": "spacy.TextCatEnsemble.v2",
    "nO": None,
    "tok2vec": {
        "@architectures": "spacy.Tok2Vec.v2",
        "embed": {"@architectures": "spacy.MultiHashEmbed.v2", "width": 64, "rows": [2000, 2000, 500, 1000, 500],
                  "attrs": ["NORM", "LOWER", "PREFIX", "SUFFIX", "SHAPE"], "include_static_vectors": False},
        "encode": {"@architectures": "spacy.MaxoutWindowEncoder.v2", "width": 64, "window_size": 1,
                   "maxout_pieces": 3, "depth": 2},
    },
    "linear_model": dict(BOW_MODEL),
}

MEMORY_NOTE = ("peak RSS = VmHWM (peak resident set size) of the fresh spawned process that ran the system, read "
               "after training and the timed predictions (before saving the model); it includes the Python "
               "interpreter, the system's libraries and the dataset's texts; the 'RSS after set-up' note under each "
               "table shows how much was there before training (for the library mostly simplemma's Finnish "
               "dictionary, which training loads)")
SPEED_NOTE = ("docs/s = test documents / median wall time of {runs} runs predicting the whole test set from raw "
              "text (tokenisation included), after a warm-up, with one thread (OMP/MKL/OpenBLAS threads 1, fastText "
              "thread=1); each run of the library uses a fresh copy of the fitted model made through its pickle, as "
              "classifier.model.load gives, so its per-process caches (lemmas, features, whole documents) start "
              "empty and repeating the same texts does not flatter it (spaCy's tokenizer cache, used by the library, "
              "fastText and spaCy alike, stays warm); the first prediction, which gives the scores, is the warm-up")
TRAIN_NOTE = ("train s = wall time of fitting from raw text (tokenisation, features, training; for fastText also "
              "writing its input file), one thread, after the system's imports (and, for the library, loading "
              "simplemma's Finnish dictionary, about 4 s) were done; that set-up time is prepare_seconds in the JSON")
SIZE_NOTE = ("size = bytes on disk of the saved model: the library via classifier.model.save_model (classifier.joblib, "
             "model.json, model card), fastText .bin (not quantised), spaCy nlp.to_disk without the tokenizer (it "
             "is code: make_tokenizer(), as for the library), scikit-learn joblib.dump of the pipeline")
WEIGHT_NOTE = ("sample weights (corpus/generated.jsonl at {w}): passed to the library and to LinearSVC; fastText and "
               "spaCy take no per-document weights, so they train on a fixed-seed random {pct}% of the generated "
               "documents instead (the same expected weight)")


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------
def _texts_labels(path: Path, label_field: str) -> tuple[list[str], list[str]]:
    """Model input (``Request.model_input``, as the library trains on) and labels of a JSONL file."""
    from classifier.io import read_requests

    reqs = read_requests(path, label_field=label_field)
    X = [r.model_input for r in reqs]
    return X, [str(r.topic) for r in reqs]


def load_dataset(name: str, external: Path, generated_weight: float) -> dict:
    """Train and test texts, labels and weights of a dataset, or ``{"skipped": reason}``."""
    if name == "corpus":
        c = ROOT / "corpus"
        for f in ("train.jsonl", "test.jsonl"):
            if not (c / f).exists():
                return {"skipped": f"corpus/{f} not found (build the corpus first)"}
        Xtr, ytr = _texts_labels(c / "train.jsonl", "topic")
        wtr = [1.0] * len(Xtr)
        notes = []
        gen = c / "generated.jsonl"
        if gen.exists():
            Xg, yg = _texts_labels(gen, "topic")
            Xtr, ytr, wtr = Xtr + Xg, ytr + yg, wtr + [generated_weight] * len(Xg)
            notes.append(f"train = corpus/train.jsonl ({len(Xtr) - len(Xg)}) + corpus/generated.jsonl ({len(Xg)}, "
                         f"weight {generated_weight})")
        else:
            notes.append("train = corpus/train.jsonl only (corpus/generated.jsonl does not exist yet)")
        Xte, yte = _texts_labels(c / "test.jsonl", "topic")
        notes.append("test = corpus/test.jsonl; model input = subject + newline + text")
        return {"Xtr": Xtr, "ytr": ytr, "wtr": wtr, "Xte": Xte, "yte": yte, "notes": notes,
                "has_fractional_weights": gen.exists() and generated_weight != 1.0}
    folder = external / EXTERNAL_FOLDERS[name]
    for f in ("train.jsonl", "test.jsonl"):
        if not (folder / f).exists():
            return {"skipped": f"{folder / f} not found: the external data folder is not part of the project; "
                               "pass --external DIR if it lives elsewhere"}
    Xtr, ytr = _texts_labels(folder / "train.jsonl", "label")
    Xte, yte = _texts_labels(folder / "test.jsonl", "label")
    return {"Xtr": Xtr, "ytr": ytr, "wtr": [1.0] * len(Xtr), "Xte": Xte, "yte": yte,
            "notes": [f"train = {folder.name}/train.jsonl, test = {folder.name}/test.jsonl"],
            "has_fractional_weights": False}


def subsample(data: dict, max_train: int, max_test: int) -> dict:
    """Fixed-seed random subsets (original order kept) for --quick."""
    out = dict(data)
    rng = random.Random(SEED)
    for X, y, w, cap in (("Xtr", "ytr", "wtr", max_train), ("Xte", "yte", None, max_test)):
        n = len(data[X])
        if n > cap:
            keep = sorted(rng.sample(range(n), cap))
            out[X] = [data[X][i] for i in keep]
            out[y] = [data[y][i] for i in keep]
            if w:
                out[w] = [data[w][i] for i in keep]
    return out


def expand_weights(X: list[str], y: list[str], w: list[float]) -> tuple[list[str], list[str]]:
    """For systems without sample weights: keep a document of weight w with probability w (fixed seed)."""
    rng = random.Random(SEED)
    Xo, yo = [], []
    for x, lab, wt in zip(X, y, w):
        k = int(wt) + (1 if rng.random() < wt - int(wt) else 0)
        Xo.extend([x] * k)
        yo.extend([lab] * k)
    return Xo, yo


# ---------------------------------------------------------------------------------------------
# systems (each function runs inside a benchmark child process)
# ---------------------------------------------------------------------------------------------
class Library:
    """This library's default configuration."""

    def prepare(self):
        import simplemma

        from classifier.classify import TopicClassifier  # noqa: F401
        from classifier.text import tokenize

        tokenize("Hei")
        simplemma.lemmatize("sopimuksen", lang="fi")  # loads the Finnish dictionary

    def train(self, X, y, w, opts):
        import numpy as np

        from classifier.classify import TopicClassifier

        np.random.seed(SEED)
        weights = None if all(v == 1.0 for v in w) else w
        clf = TopicClassifier()
        self.params_used = {k: v for k, v in clf.get_params().items()}
        return clf.fit(X, y, sample_weight=weights)

    def predict(self, model, X):
        return [str(p) for p in model.predict(X)]

    def reset(self, model):
        """A fresh copy through the model's pickle, as classifier.model.load gives: its per-process caches
        (lemmas, features, documents) are dropped there, so repeated runs over the same texts are not flattered."""
        import pickle

        try:  # simplemma's own lemma cache (private: best effort), in case prediction still uses it
            from simplemma.lemmatizer import _legacy_lemmatizer_for

            _legacy_lemmatizer_for(False, False)._cached_lemmatize.cache_clear()
        except (ImportError, AttributeError):
            pass
        return pickle.loads(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))

    def save(self, model, d: Path):
        from classifier.model import Model, save_model

        save_model(Model(model, {}), d)


def _ft_line(text: str) -> str:
    """fastText input: lower-cased spaCy tokens joined by single spaces (no newlines)."""
    from classifier.text import tokenize

    return " ".join(t.lower() for t in tokenize(text) if t.strip())


class FastText:
    """fastText supervised; labels become __label__<index> (labels may contain spaces)."""

    def __init__(self, params: dict):
        self.params = params

    def prepare(self):
        import fasttext  # noqa: F401

        from classifier.text import tokenize

        tokenize("Hei")

    def train(self, X, y, w, opts):
        import fasttext

        X, y = expand_weights(X, y, w)
        # fastText reads its input file in order, and with linearly decaying lr the last documents
        # weigh most: shuffle once (fixed seed), since a file may be sorted by label (corpus/train.jsonl is)
        order = list(range(len(X)))
        random.Random(SEED).shuffle(order)
        X, y = [X[i] for i in order], [y[i] for i in order]
        labels = sorted(set(y))
        self.labels = labels
        self.majority = max(labels, key=y.count)
        index = {lab: i for i, lab in enumerate(labels)}
        with tempfile.TemporaryDirectory(prefix="bench-ft-") as tmp:
            path = Path(tmp) / "train.txt"
            with open(path, "w", encoding="utf-8") as fh:
                for x, lab in zip(X, y):
                    fh.write(f"__label__{index[lab]} {_ft_line(x)}\n")
            # thread=1: one core, and reproducible (it is also fastText's default on a 2-core machine)
            return fasttext.train_supervised(input=str(path), thread=1, seed=SEED, verbose=0, **self.params)

    def predict(self, model, X):
        # a list, never a single string: fasttext-wheel 0.9.2's single-text path fails under NumPy 2
        lines = [_ft_line(x) for x in X]
        labels, _ = model.predict(lines, k=1)
        return [self.labels[int(lab[0][len("__label__"):])] if len(lab) else self.majority for lab in labels]

    def reset(self, model):
        return model

    def save(self, model, d: Path):
        model.save_model(str(d / "model.bin"))


class SpacyTextcat:
    """spaCy textcat (exclusive classes) on the library's tokenizer, trained with spaCy's own API."""

    def __init__(self, key: str, model_cfg: dict):
        self.key = key
        self.model_cfg = model_cfg

    def prepare(self):
        import spacy.training  # noqa: F401

        from classifier.text import make_tokenizer

        make_tokenizer()

    def train(self, X, y, w, opts):
        from spacy.training import Example
        from spacy.training.batchers import minibatch_by_words
        from spacy.util import compounding, fix_random_seed

        from classifier.text import make_tokenizer

        fix_random_seed(SEED)
        X, y = expand_weights(X, y, w)
        cap = opts.get("spacy_max_train")
        if cap and len(X) > cap:
            keep = sorted(random.Random(SEED).sample(range(len(X)), cap))
            X, y = [X[i] for i in keep], [y[i] for i in keep]
        labels = sorted(set(y))
        nlp = make_tokenizer()
        textcat = nlp.add_pipe("textcat", config={"model": self.model_cfg})
        for lab in labels:
            textcat.add_label(lab)
        examples = [Example.from_dict(nlp.make_doc(x), {"cats": {lab: float(lab == t) for lab in labels}})
                    for x, t in zip(X, y)]
        optimizer = nlp.initialize(lambda: examples)  # spaCy's default Adam (lr 0.001, L2 0.01, clip 1.0)
        rng = random.Random(SEED)
        # spaCy's default training batcher: batches of 100 words growing to 1,000 (one schedule across epochs),
        # and its default dropout 0.1
        sizes = compounding(100.0, 1000.0, 1.001)
        self.n_updates, self.epoch_seconds = 0, []
        for _ in range(opts["epochs"]):
            t = time.perf_counter()
            rng.shuffle(examples)
            losses: dict = {}
            for batch in minibatch_by_words(examples, size=sizes, tolerance=0.2, discard_oversize=False):
                nlp.update(batch, sgd=optimizer, drop=0.1, losses=losses)
                self.n_updates += 1
            self.epoch_seconds.append(round(time.perf_counter() - t, 1))
        return nlp

    def predict(self, model, X):
        return [max(doc.cats, key=doc.cats.get) for doc in model.pipe(X)]

    def reset(self, model):
        return model

    def save(self, model, d: Path):
        model.to_disk(d, exclude=["tokenizer"])


class CharSVM:
    """char_wb 2-5 TF-IDF (sublinear) + LinearSVC(C=1)."""

    def prepare(self):
        import sklearn.feature_extraction.text  # noqa: F401
        import sklearn.pipeline  # noqa: F401
        import sklearn.svm  # noqa: F401

    def train(self, X, y, w, opts):
        import numpy as np
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import Pipeline
        from sklearn.svm import LinearSVC

        np.random.seed(SEED)
        pipe = Pipeline([("tfidf", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
                         ("svm", LinearSVC(C=1.0))])
        if all(v == 1.0 for v in w):
            return pipe.fit(X, y)
        return pipe.fit(X, y, svm__sample_weight=np.asarray(w, dtype=float))

    def predict(self, model, X):
        return [str(p) for p in model.predict(X)]

    def reset(self, model):
        return model

    def save(self, model, d: Path):
        import joblib

        joblib.dump(model, d / "model.joblib")


def make_system(key: str):
    if key == "tukipyynto":
        return Library()
    if key == "fasttext-default":
        return FastText({})
    if key == "fasttext-tuned":
        return FastText(dict(FASTTEXT_TUNED))
    if key == "spacy-bow":
        return SpacyTextcat(key, BOW_MODEL)
    if key == "spacy-ensemble":
        return SpacyTextcat(key, ENSEMBLE_MODEL)
    if key == "char-svm":
        return CharSVM()
    raise ValueError(key)


def _proc_status(field: str) -> float | None:
    """A memory figure from /proc/self/status in MiB (None where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _peak_rss_mib() -> float:
    """Peak resident set size of this process in MiB (VmHWM; ru_maxrss where /proc is missing)."""
    got = _proc_status("VmHWM")
    if got is None:
        import resource

        r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        got = r / (1024 * 1024) if sys.platform == "darwin" else r / 1024
    return got


def _dir_bytes(d: Path) -> int:
    return sum(f.stat().st_size for f in d.rglob("*") if f.is_file())


def run_one(key: str, data: dict, opts: dict) -> dict:
    """Train, time and save one system on one dataset. Runs in a fresh spawned process."""
    for v in THREAD_VARS:
        os.environ[v] = "1"
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:
        pass
    system = make_system(key)
    t = time.perf_counter()
    system.prepare()  # imports, dictionaries: not counted as training
    prepare_s = time.perf_counter() - t
    base_rss = _proc_status("VmRSS")
    Xtr, ytr, wtr, Xte = data["Xtr"], data["ytr"], data["wtr"], data["Xte"]
    t = time.perf_counter()
    model = system.train(Xtr, ytr, wtr, opts)
    train_s = time.perf_counter() - t
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    pred = system.predict(model, Xte)  # also the warm-up of the timed runs
    times = []
    for _ in range(opts["runs"]):
        fresh = system.reset(model)
        t = time.perf_counter()
        system.predict(fresh, Xte)
        times.append(time.perf_counter() - t)
    peak = _peak_rss_mib()
    # a fit diagnostic (not a score): accuracy on up to FIT_CHECK_DOCS of the training documents
    idx = sorted(random.Random(SEED).sample(range(len(Xtr)), min(FIT_CHECK_DOCS, len(Xtr))))
    fit_pred = system.predict(model, [Xtr[i] for i in idx])
    train_acc = sum(fit_pred[j] == ytr[i] for j, i in enumerate(idx)) / len(idx)
    d = Path(tempfile.mkdtemp(prefix=f"bench-{key}-"))
    try:
        system.save(model, d)
        size = _dir_bytes(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return {"pred": pred, "train_seconds": train_s, "predict_seconds": times,
            "docs_per_second": len(Xte) / statistics.median(times), "model_bytes": size,
            "peak_rss_mib": peak, "rss_before_training_mib": base_rss, "prepare_seconds": prepare_s,
            "train_accuracy": train_acc, "epoch_seconds": getattr(system, "epoch_seconds", None),
            "n_updates": getattr(system, "n_updates", None), "params": getattr(system, "params_used", None)}


def _child(key: str, data: dict, opts: dict) -> dict:
    """run_one, with an exception turned into a message (so the parent can report it and go on)."""
    try:
        return run_one(key, data, opts)
    except Exception:  # noqa: BLE001 - reported in the table
        return {"error": traceback.format_exc(limit=6)}


def run_in_child(key: str, data: dict, opts: dict, timeout: float | None) -> dict:
    """Run one system in a fresh 'spawn' process and wait for it."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures import TimeoutError as FutTimeout
    from concurrent.futures.process import BrokenProcessPool

    ex = ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"))
    try:
        return ex.submit(_child, key, data, opts).result(timeout=timeout)
    except FutTimeout:
        for p in list(getattr(ex, "_processes", {}).values()):
            p.terminate()
        return {"error": f"did not finish within {timeout:.0f} s (--timeout)"}
    except BrokenProcessPool as e:
        return {"error": f"the benchmark process died: {e}"}
    finally:
        ex.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------------------------------------
# reporting
# ---------------------------------------------------------------------------------------------
def machine_info() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor()
    try:
        env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_THREAD_LIMIT")}
        nproc = int(subprocess.run(["nproc"], capture_output=True, text=True, check=True, env=env).stdout.strip())
    except (OSError, ValueError, subprocess.CalledProcessError):
        nproc = os.cpu_count()
    return {"nproc": nproc, "cpu": cpu or "unknown", "python": platform.python_version(),
            "platform": platform.platform(), "load_average_start": _loadavg()}


def _loadavg() -> list[float] | None:
    """1, 5 and 15 minute load averages (other jobs on the machine slow every timing)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def git_commit() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--"], cwd=ROOT, capture_output=True).returncode
    return sha + (" (with uncommitted changes)" if dirty == 1 else "")


def versions() -> dict:
    from importlib import metadata

    out = {}
    for pkg in ("tukipyynto", "scikit-learn", "spacy", "thinc", "numpy", "simplemma", "fasttext-wheel", "fasttext"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def fasttext_available() -> str | None:
    """None if fastText imports, else the reason."""
    import importlib.util

    if importlib.util.find_spec("fasttext") is None:
        return "fastText is not installed (pip install fasttext-wheel, or fasttext): row skipped"
    return None


METRICS = (  # key, header, format, higher is better
    ("accuracy", "accuracy", "{:.3f}", True),
    ("macro_f1", "macro-F1", "{:.3f}", True),
    ("train_seconds", "train s", "{:.1f}", False),
    ("docs_per_second", "predict docs/s", "{:,.0f}", True),
    ("model_mb", "size MB", "{:.2f}", False),
    ("peak_rss_mib", "peak RSS MiB", "{:.0f}", False),
)


def add_ratios(rows: list[dict]) -> None:
    ref = next((r for r in rows if r["system"] == REFERENCE and r["status"] == "ok"), None)
    for r in rows:
        r["ratio_to_tukipyynto"] = {}
        if ref is None or r["status"] != "ok":
            continue
        for key, *_ in METRICS:
            a, b = r.get(key), ref.get(key)
            r["ratio_to_tukipyynto"][key] = round(a / b, 3) if a is not None and b else None


def _cell(r: dict, key: str, fmt: str) -> str:
    v = r.get(key)
    if v is None:
        return "–"
    ratio = r.get("ratio_to_tukipyynto", {}).get(key)
    return fmt.format(v) + (f" ({ratio:.2f}×)" if ratio is not None else "")


def table_lines(ds: dict) -> list[str]:
    head = "| system | " + " | ".join(h for _, h, _, _ in METRICS) + " |"
    lines = [head, "|---|" + "---:|" * len(METRICS)]
    for r in ds["rows"]:
        if r["status"] != "ok":
            lines.append(f"| {r['name']} | " + " | ".join("–" for _ in METRICS) + " |")
        else:
            lines.append(f"| {r['name']} | " + " | ".join(_cell(r, k, f) for k, _, f, _ in METRICS) + " |")
    return lines


def print_table(name: str, ds: dict) -> None:
    print(f"\n== {name}: {ds['n_train']} train / {ds['n_test']} test documents, {ds['n_classes']} classes ==")
    w = max(len(r["name"]) for r in ds["rows"]) + 2
    print(f"{'system':{w}s}" + "".join(f"{h:>22s}" for _, h, _, _ in METRICS))
    for r in ds["rows"]:
        if r["status"] != "ok":
            print(f"{r['name']:{w}s}  {r['status']}: {r['note'].splitlines()[-1] if r['note'] else ''}")
            continue
        print(f"{r['name']:{w}s}" + "".join(f"{_cell(r, k, f):>22s}" for k, _, f, _ in METRICS))
    for n in ds["notes"]:
        print(f"  note: {n}")


def write_markdown(path: Path, report: dict) -> None:
    m = report["machine"]
    L = ["# Classifier comparison", ""]
    if report["quick"]:
        L += ["**QUICK SMOKE RUN: small subsets and fewer spaCy epochs. These are not the real numbers; run "
              "`python benchmarks/compare.py` without --quick for them.**", ""]
    L += [f"- date: {report['date']}",
          f"- machine: {m['nproc']} CPUs (nproc), {m['cpu']}, Python {m['python']}, {m['platform']}",
          f"- load average (1, 5, 15 min) at start {m.get('load_average_start')}, at end "
          f"{m.get('load_average_end')}: other jobs running on the machine slow the timings",
          f"- git commit: {report['git_commit']}",
          "- versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()),
          f"- command: `{report['command']}`",
          "",
          "Each figure is followed by its ratio to this library's (tukipyynto TopicClassifier() = 1.00×). "
          "Higher is better for accuracy, macro-F1 and docs/s; lower is better for train s, size and "
          "peak RSS.", ""]
    for name, ds in report["datasets"].items():
        L.append(f"## {name}")
        L.append("")
        if ds.get("skipped"):
            L += [f"Skipped: {ds['skipped']}", ""]
            continue
        L.append(f"{ds['n_train']} training and {ds['n_test']} test documents, {ds['n_classes']} classes.")
        L.append("")
        L += table_lines(ds)
        L.append("")
        for n in ds["notes"]:
            L.append(f"- {n}")
        for r in ds["rows"]:
            if r["status"] != "ok":
                L.append(f"- {r['name']}: {r['status']}: {r['note'].strip().splitlines()[-1] if r['note'] else ''}")
        L.append("")
    L += ["## What the columns measure", ""] + [f"- {n}" for n in report["notes"]] + [""]
    L += ["## Systems", ""] + [f"- `{k}`: {v}" for k, v in report["systems"].items()]
    if report.get("library_params"):
        L.append("- the library's default parameters at this commit: "
                 + ", ".join(f"{k}={v!r}" for k, v in report["library_params"].items()))
    L.append("")
    path.write_text("\n".join(L), encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help=f"smoke test: at most {QUICK_MAX_TRAIN} training and {QUICK_MAX_TEST} test documents per "
                         "dataset and fewer spaCy epochs (NOT the real numbers)")
    ap.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated subset of " + ",".join(DATASETS))
    ap.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated subset of " + ",".join(SYSTEMS))
    ap.add_argument("--out", type=Path, default=None,
                    help=f"output folder (default {DEFAULT_OUT.relative_to(ROOT)}, or .../quick with --quick)")
    ap.add_argument("--external", type=Path, default=DEFAULT_EXTERNAL,
                    help="folder with sib200-fin/ and eduskunta-vkk/ (default: %(default)s)")
    ap.add_argument("--generated-weight", type=float, default=0.3, help="weight of corpus/generated.jsonl")
    ap.add_argument("--runs", type=int, default=3, help="timed prediction runs (the median is reported)")
    ap.add_argument("--timeout", type=float, default=None, help="seconds allowed per system and dataset")
    args = ap.parse_args(argv)

    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    for d in datasets:
        if d not in DATASETS:
            ap.error(f"unknown dataset {d!r}; choose from {', '.join(DATASETS)}")
    for s in systems:
        if s not in SYSTEMS:
            ap.error(f"unknown system {s!r}; choose from {', '.join(SYSTEMS)}")
    if args.runs < 3:
        ap.error("--runs must be at least 3")
    out = args.out or (DEFAULT_OUT / "quick" if args.quick else DEFAULT_OUT)
    for v in THREAD_VARS:  # inherited by the spawned children
        os.environ[v] = "1"
    sys.path.insert(0, str(ROOT))
    from sklearn.metrics import accuracy_score, f1_score

    mode = "quick" if args.quick else "full"
    ft_missing = fasttext_available()
    report = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "quick": args.quick,
        "command": " ".join(["python benchmarks/compare.py", *(sys.argv[1:] if argv is None else argv)]),
        "machine": machine_info(), "git_commit": git_commit(), "versions": versions(),
        "systems": {k: v for k, v in SYSTEMS.items() if k in systems},
        "settings": {"fasttext_tuned": FASTTEXT_TUNED, "spacy_epochs": SPACY_EPOCHS[mode],
                     "spacy_bow_model": BOW_MODEL, "spacy_ensemble_model": ENSEMBLE_MODEL,
                     "spacy_ensemble_max_train": SPACY_ENSEMBLE_MAX_TRAIN, "generated_weight": args.generated_weight,
                     "runs": args.runs, "seed": SEED,
                     "quick_max_train": QUICK_MAX_TRAIN if args.quick else None,
                     "quick_max_test": QUICK_MAX_TEST if args.quick else None},
        "notes": [TRAIN_NOTE, SPEED_NOTE.format(runs=args.runs), SIZE_NOTE,
                  MEMORY_NOTE,
                  "systems run one after another, each in a fresh process (multiprocessing 'spawn'), on the same "
                  "splits; nothing is tuned on test data; seeds fixed at 0"],
        "datasets": {},
    }
    if args.quick:
        report["notes"].insert(0, "QUICK SMOKE RUN: subsets and fewer spaCy epochs; not the real numbers")
    t_all = time.perf_counter()
    for name in datasets:
        data = load_dataset(name, args.external, args.generated_weight)
        if "skipped" in data:
            print(f"\n== {name}: skipped: {data['skipped']}", flush=True)
            report["datasets"][name] = {"skipped": data["skipped"], "rows": []}
            continue
        notes = list(data["notes"])
        if args.quick:
            n0, m0 = len(data["Xtr"]), len(data["Xte"])
            data = subsample(data, QUICK_MAX_TRAIN, QUICK_MAX_TEST)
            notes.append(f"quick: random subsets of {len(data['Xtr'])}/{n0} training and {len(data['Xte'])}/{m0} "
                         "test documents (seed 0)")
        if data["has_fractional_weights"]:
            w = args.generated_weight
            notes.append(WEIGHT_NOTE.format(w=w, pct=round(100 * w)))
        ep = SPACY_EPOCHS[mode]
        notes.append(f"spaCy epochs: BOW {ep['spacy-bow']}, ensemble {ep['spacy-ensemble']}; otherwise spaCy's "
                     "training defaults (Adam from nlp.initialize, batches of 100 words growing to 1,000, dropout 0.1, "
                     "shuffled every epoch)")
        ds = {"n_train": len(data["Xtr"]), "n_test": len(data["Xte"]), "n_classes": len(set(data["ytr"])),
              "notes": notes, "rows": []}
        payload = {k: data[k] for k in ("Xtr", "ytr", "wtr", "Xte")}
        for key in systems:
            row = {"system": key, "name": SYSTEMS[key], "status": "ok", "note": ""}
            if key.startswith("fasttext") and ft_missing:
                row.update(status="skipped", note=ft_missing)
                ds["rows"].append(row)
                print(f"[{name}] {key}: skipped ({ft_missing})", flush=True)
                continue
            opts = {"runs": args.runs}
            if key.startswith("spacy"):
                opts["epochs"] = ep[key]
                if key == "spacy-ensemble" and SPACY_ENSEMBLE_MAX_TRAIN:
                    opts["spacy_max_train"] = SPACY_ENSEMBLE_MAX_TRAIN
                    if len(data["Xtr"]) > SPACY_ENSEMBLE_MAX_TRAIN:
                        notes.append(f"spaCy ensemble trained on a random {SPACY_ENSEMBLE_MAX_TRAIN} of the "
                                     f"{len(data['Xtr'])} training documents (time cap)")
            print(f"[{name}] {key}: training on {len(data['Xtr'])} documents ...", flush=True)
            t = time.perf_counter()
            res = run_in_child(key, payload, opts, args.timeout)
            if "error" in res:
                row.update(status="error", note=res["error"])
                print(f"[{name}] {key}: ERROR\n{res['error']}", flush=True)
            else:
                pred = res.pop("pred")
                row.update(accuracy=accuracy_score(data["yte"], pred),
                           macro_f1=f1_score(data["yte"], pred, average="macro", zero_division=0),
                           train_seconds=res["train_seconds"], docs_per_second=res["docs_per_second"],
                           predict_seconds=res["predict_seconds"], model_bytes=res["model_bytes"],
                           model_mb=res["model_bytes"] / 1e6, peak_rss_mib=res["peak_rss_mib"],
                           rss_before_training_mib=res["rss_before_training_mib"],
                           train_accuracy=res["train_accuracy"], prepare_seconds=res["prepare_seconds"])
                if res.get("params"):
                    row["params"] = res["params"]
                    report["library_params"] = res["params"]
                if res.get("epoch_seconds"):
                    row.update(epoch_seconds=res["epoch_seconds"], n_updates=res["n_updates"])
                    notes.append(f"{SYSTEMS[key]}: epochs {len(res['epoch_seconds'])}, {res['n_updates']:,} updates, "
                                 f"seconds per epoch {res['epoch_seconds']}")
                if res["train_accuracy"] < 0.5:
                    notes.append(f"{SYSTEMS[key]} underfits here: its accuracy on (up to {FIT_CHECK_DOCS:,} of) "
                                 f"its own training documents is only {res['train_accuracy']:.2f}")
                print(f"[{name}] {key}: accuracy {row['accuracy']:.3f}, macro-F1 {row['macro_f1']:.3f}, "
                      f"train {row['train_seconds']:.1f} s, {row['docs_per_second']:,.0f} docs/s "
                      f"({time.perf_counter() - t:.0f} s in all)", flush=True)
            ds["rows"].append(row)
        ok = [r for r in ds["rows"] if r["status"] == "ok" and r.get("rss_before_training_mib")]
        if ok:
            notes.append("RSS after set-up (interpreter, imports, dictionaries, data), before training, in MiB: "
                         + ", ".join(f"{r['system']} {r['rss_before_training_mib']:.0f}" for r in ok))
        add_ratios(ds["rows"])
        report["datasets"][name] = ds
        print_table(name, ds)
    report["total_seconds"] = round(time.perf_counter() - t_all, 1)
    report["machine"]["load_average_end"] = _loadavg()
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.json").write_text(json.dumps(report, indent=2, ensure_ascii=False, default=_json_default),
                                      encoding="utf-8")
    write_markdown(out / "compare.md", report)
    print(f"\nwrote {out / 'compare.md'} and {out / 'compare.json'} ({report['total_seconds']:.0f} s in all)")
    print("\n".join(f"note: {n}" for n in report["notes"]))
    return 0


def _json_default(o):
    try:
        return float(o)
    except (TypeError, ValueError):
        return str(o)


if __name__ == "__main__":
    sys.exit(main())
