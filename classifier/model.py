"""Model directories: save, verify and load a trained classifier (and its guideline matcher settings).

A model directory holds ``classifier.joblib`` (the fitted :class:`TopicClassifier`),
``model.json`` (label set, processing settings, thresholds, versions, training-data hash,
evaluation figures, sha256 of every artefact) and ``README.md`` (the model card).

Pickles are code when loaded, so :func:`load` checks the sha256 recorded in ``model.json``
and the library version first, and then unpickles with an allow-list of modules.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib

from .errors import ModelError

__all__ = ["Model", "save_model", "load", "verify", "DEFAULT_MODEL_DIR", "FORMAT_VERSION"]

FORMAT_VERSION = 1
PACKAGE_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_DIR = PACKAGE_ROOT / "models" / "default"
ARTEFACT = "classifier.joblib"
_ALLOWED_PREFIXES = ("sklearn.", "numpy", "scipy.", "classifier.", "collections", "copyreg", "_codecs",
                     "joblib.", "re", "datetime", "zoneinfo", "functools")
_ALLOWED_BUILTINS = {"dict", "list", "set", "frozenset", "tuple", "slice", "range", "complex", "bytearray",
                     "object", "str", "int", "float", "bool", "bytes", "getattr"}


def _versions() -> dict[str, str]:
    """Versions of the library and the dependencies a pickle depends on."""
    import numpy
    import scipy
    import sklearn

    from . import __version__

    return {"tukipyynto": __version__, "scikit-learn": sklearn.__version__, "numpy": numpy.__version__,
            "scipy": scipy.__version__, "joblib": joblib.__version__, "python": platform.python_version()}


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class Model:
    """A loaded model: the topic classifier plus its metadata and guideline-matcher settings.

    Attributes
    ----------
    classifier : TopicClassifier
    meta : dict
        The contents of ``model.json``.
    path : Path or None
        Where it was loaded from.
    """

    classifier: Any
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def labels(self) -> list[str]:
        """The label set the model predicts."""
        return [str(c) for c in self.classifier.classes_]

    @property
    def matcher_settings(self) -> dict[str, Any]:
        """Learned guideline-matching weights and coverage threshold (empty when none were trained)."""
        return dict(self.meta.get("matcher") or {})

    @property
    def taxonomy(self):
        """The taxonomy stored with the model (rebuilt from ``model.json``)."""
        from .records import Category, Taxonomy

        cats = self.meta.get("taxonomy") or [{"id": c, "label_fi": c} for c in self.labels]
        return Taxonomy(tuple(Category(**c) for c in cats), name=self.meta.get("taxonomy_name", ""))

    def predict(self, texts, **kwargs):
        """Shortcut for ``classifier.predict_detailed``."""
        return self.classifier.predict_detailed(texts, **kwargs)


def save_model(model: Model, out_dir: str | Path, card: bool = True) -> Path:
    """Write a model directory: artefact, ``model.json`` with hashes and versions, model card.

    Returns the directory path.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    art = out / ARTEFACT
    joblib.dump(model.classifier, art)
    meta = dict(model.meta)
    meta["format_version"] = FORMAT_VERSION
    meta["versions"] = _versions()
    meta["labels"] = model.labels
    meta["threshold"] = float(getattr(model.classifier, "threshold_", model.classifier.threshold))
    meta["processing"] = model.classifier.processor_.settings()
    meta["params"] = {k: v for k, v in model.classifier.get_params().items()}
    meta["artefacts"] = {ARTEFACT: sha256_file(art)}
    model.meta = meta
    if card:
        from .card import model_card

        (out / "README.md").write_text(model_card(model), encoding="utf-8")
        meta["artefacts"]["README.md"] = sha256_file(out / "README.md")
    (out / "model.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    model.meta = meta
    model.path = out
    return out


class _RestrictedUnpickler(joblib.numpy_pickle.NumpyUnpickler):
    """joblib's unpickler that only resolves classes from an allow-list of modules."""

    def find_class(self, module: str, name: str):
        if module == "builtins" and name in _ALLOWED_BUILTINS:
            return super().find_class(module, name)
        if any(module == p.rstrip(".") or module.startswith(p) for p in _ALLOWED_PREFIXES):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: not a class this library writes")


def _restricted_load(path: Path):
    """Unpickle a joblib file through :class:`_RestrictedUnpickler`."""
    with open(path, "rb") as fh:
        try:
            up = _RestrictedUnpickler(str(path), fh, ensure_native_byte_order=True)
        except TypeError:  # older joblib without ensure_native_byte_order
            up = _RestrictedUnpickler(str(path), fh)
        return up.load()


def verify(path: str | Path | None = None, check_versions: bool = True) -> tuple[Path, dict[str, Any]]:
    """Check a model directory without unpickling anything; return its path and ``model.json``.

    Raises
    ------
    ModelError
        The directory or a file is missing, an artefact's sha256 differs from ``model.json``
        (the file was changed after it was written), or the format or library versions are
        incompatible.
    """
    d = Path(path) if path else DEFAULT_MODEL_DIR
    meta_file = d / "model.json"
    if not meta_file.exists():
        hint = " Train one with `tukipyynto train corpus/ --out models/default`." if path is None else ""
        raise ModelError(f"{d}: no model.json found; expected a model directory written by `tukipyynto train`.{hint}")
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ModelError(f"{meta_file}: not valid JSON ({e.msg}); the model directory is damaged") from None
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelError(f"{meta_file}: model format {meta.get('format_version')!r}, this library reads {FORMAT_VERSION}; retrain the model")
    arts = meta.get("artefacts") or {}
    if ARTEFACT not in arts:
        raise ModelError(f"{meta_file}: no sha256 recorded for {ARTEFACT}; refusing to unpickle an unchecked file")
    for name, want in arts.items():
        f = d / name
        if not f.exists():
            raise ModelError(f"{f}: missing; the model directory is incomplete")
        got = sha256_file(f)
        if got != want:
            raise ModelError(f"{f}: sha256 {got[:12]}… does not match {want[:12]}… recorded in model.json; "
                             "the file was changed after training, so it is not loaded")
    if check_versions:
        now = _versions()
        then = meta.get("versions", {})
        for pkg in ("scikit-learn",):
            a, b = str(then.get(pkg, "")), now[pkg]
            if a.split(".")[:2] != b.split(".")[:2]:
                raise ModelError(f"{d}: trained with {pkg} {a}, this environment has {b}; pickles are not portable "
                                 f"across {pkg} minor versions: install {pkg}=={a} or retrain "
                                 "(or pass check_versions=False at your own risk)")
    return d, meta


def load(path: str | Path | None = None, check_versions: bool = True) -> Model:
    """Load and verify a model directory; with no argument, the default model shipped in ``models/``.

    Raises
    ------
    ModelError
        Anything :func:`verify` refuses, or a pickle that names a class outside the allow-list.
    """
    d, meta = verify(path, check_versions)
    try:
        clf = _restricted_load(d / ARTEFACT)
    except pickle.UnpicklingError as e:
        raise ModelError(f"{d / ARTEFACT}: {e}") from None
    return Model(classifier=clf, meta=meta, path=d)
