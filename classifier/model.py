"""Model directories: save, verify and load a trained topic model and its guideline-matcher settings.

A model directory holds

- ``weights.npz``: the linear model's arrays (weights, intercepts, idf), read with
  ``allow_pickle=False``;
- ``vocab.json``: vocabularies, topics, calibration, the text processor's lemma table and
  compound heads;
- ``model.json``: label set, taxonomy, settings, thresholds, matcher weights, versions,
  training-data hash, evaluation figures and the sha256 of every file;
- ``taxonomy.json`` and, when the matcher was trained, ``guidelines.jsonl``: the taxonomy and
  catalogue the model was built with (its defaults at prediction time);
- ``README.md``: the model card;
- with a semantic head (``tukipyynto train --semantic``): ``semantic.npz`` (its arrays) and
  ``semantic.json`` (the blend, thresholds and the embedder it was trained with), hashed like
  the rest; ``load(..., semantic=True)`` uses it (:mod:`classifier.semantic`).

Nothing in a model directory is unpickled, so loading a model from anywhere cannot run code.
Directories in the old pickle format (``classifier.joblib``, format 1) load only with
``trust_pickle=True``.

The default model ships inside the package (``classifier.default_model``, built into
``models/default`` in the repository) and is found through :mod:`importlib.resources`.
"""

from __future__ import annotations

import hashlib
import json
import platform
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ModelError

__all__ = ["Model", "save_model", "load", "verify", "default_model_dir", "FORMAT_VERSION", "CATALOGUE", "TAXONOMY",
           "SEMANTIC_WEIGHTS", "SEMANTIC_SETTINGS"]

FORMAT_VERSION = 2
# the files of a model directory: its weights and vocabulary, the catalogue and taxonomy it was trained with
WEIGHTS, VOCAB, CATALOGUE, TAXONOMY = "weights.npz", "vocab.json", "guidelines.jsonl", "taxonomy.json"
# the semantic head's files (classifier.semantic.HEAD_WEIGHTS / HEAD_SETTINGS: the same names, kept here so
# that saving and verifying a model never imports the semantic module)
SEMANTIC_WEIGHTS, SEMANTIC_SETTINGS = "semantic.npz", "semantic.json"
LEGACY_ARTEFACT = "classifier.joblib"
_ALLOWED_PREFIXES = ("sklearn.", "numpy", "scipy.", "classifier.", "collections", "copyreg", "_codecs",
                     "joblib.", "re", "datetime", "zoneinfo", "functools")
_ALLOWED_BUILTINS = {"dict", "list", "set", "frozenset", "tuple", "slice", "range", "complex", "bytearray",
                     "object", "str", "int", "float", "bool", "bytes", "getattr"}


def default_model_dir() -> Path:
    """The directory of the default model shipped with the package."""
    from importlib.resources import files

    return Path(str(files("classifier.default_model")))


def _versions() -> dict[str, str]:
    """Versions of the library and of what trained the model."""
    import numpy

    from .version import __version__

    out = {"tukipyynto": __version__, "numpy": numpy.__version__, "python": platform.python_version()}
    try:
        import sklearn

        out["scikit-learn"] = sklearn.__version__
    except ImportError:  # pragma: no cover - sklearn is a dependency
        pass
    return out


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
    classifier : TopicClassifier or LinearTopicModel
        A fitted estimator (after training) or its exported arrays (after :func:`load`).
    meta : dict
        The contents of ``model.json``.
    path : Path or None
        Where it was loaded from.
    catalogue : list of Guideline, optional
        The catalogue the matcher was trained with; :func:`save_model` stores it.
    semantic : SemanticHead, optional
        The semantic head, when the model has one (:mod:`classifier.semantic`).
    semantic_mode : {"cascade", "all"} or None
        Whether predictions use the semantic head (``None``: the lexical model alone).
    """

    classifier: Any
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    catalogue: list | None = None
    semantic: Any = None
    semantic_mode: str | None = None
    _view: Any = field(default=None, init=False, repr=False, compare=False)

    @property
    def lexical(self):
        """The :class:`~classifier.predictor.LinearTopicModel`: the lexical model's arrays."""
        return getattr(self.classifier, "predictor_", self.classifier)

    @property
    def predictor(self):
        """What makes the predictions: the lexical model, or with ``semantic_mode`` the lexical model and the semantic head."""
        if self.semantic_mode is None or self.semantic is None:
            return self.lexical
        view = self._view
        if view is None or view.mode != self.semantic_mode or view.lexical is not self.lexical:
            from .semantic import SemanticTopicModel

            view = self._view = SemanticTopicModel(self.lexical, self.semantic, self.semantic_mode)
        return view

    def with_semantic(self, mode: bool | str | None) -> "Model":
        """The same model predicting with the semantic head (``True``/``"cascade"``, ``"all"``) or without (``None``).

        Raises
        ------
        ModelError
            A semantic mode is asked for and the model has no semantic head.
        """
        from dataclasses import replace

        from .semantic import resolve_mode

        m = resolve_mode(mode)
        if m is not None and self.semantic is None:
            where = self.path or "this model"
            raise ModelError(f"{where}: has no semantic head; train one with `tukipyynto train ... --semantic`, "
                             "or run without --semantic")
        return replace(self, semantic_mode=m)

    @property
    def catalogue_path(self) -> Path | None:
        """The catalogue stored with the model (its default), or None when it was trained without one."""
        if self.path is not None and (self.path / CATALOGUE).exists():
            return self.path / CATALOGUE
        return None

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
        """Shortcut for ``predictor.predict_detailed``."""
        return self.predictor.predict_detailed(texts, **kwargs)


def save_model(model: Model, out_dir: str | Path, card: bool = True) -> Path:
    """Write a model directory: arrays, vocabularies, taxonomy, catalogue, ``model.json`` with hashes, model card.

    Returns the directory path.
    """
    import numpy as np

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / LEGACY_ARTEFACT).unlink(missing_ok=True)
    pred = model.lexical
    arrays, data = pred.to_files()
    np.savez_compressed(out / WEIGHTS, **arrays)
    (out / VOCAB).write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    meta = dict(model.meta)
    meta["format_version"] = FORMAT_VERSION
    meta["versions"] = _versions()
    meta["labels"] = model.labels
    meta["threshold"] = float(pred.threshold_)
    meta["temperature"] = pred.temperature_
    meta["calibration"] = pred.calibration["method"]
    meta["processing"] = pred.processor_.settings()
    meta["params"] = pred.get_params()
    tax = {"name": meta.get("taxonomy_name", ""), "categories": meta.get("taxonomy")
           or [{"id": c, "label_fi": c} for c in model.labels]}
    (out / TAXONOMY).write_text(json.dumps(tax, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    files = [WEIGHTS, VOCAB, TAXONOMY]
    if model.catalogue is not None:
        with open(out / CATALOGUE, "w", encoding="utf-8") as fh:
            for g in model.catalogue:
                fh.write(json.dumps(g.to_dict(), ensure_ascii=False) + "\n")
        files.append(CATALOGUE)
    else:
        (out / CATALOGUE).unlink(missing_ok=True)
    if model.semantic is not None:
        sem_arrays, sem_data = model.semantic.to_files()
        np.savez_compressed(out / SEMANTIC_WEIGHTS, **sem_arrays)
        (out / SEMANTIC_SETTINGS).write_text(json.dumps(sem_data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        files += [SEMANTIC_WEIGHTS, SEMANTIC_SETTINGS]
        meta["semantic"] = {k: sem_data[k] for k in ("embedder", "blend", "cascade_threshold", "thresholds", "max_chars",
                                                     "report")}
    else:
        (out / SEMANTIC_WEIGHTS).unlink(missing_ok=True)
        (out / SEMANTIC_SETTINGS).unlink(missing_ok=True)
        meta.pop("semantic", None)
    meta["artefacts"] = {name: sha256_file(out / name) for name in files}
    model.meta = meta
    model.path = out
    if card:
        from .card import model_card

        (out / "README.md").write_text(model_card(model), encoding="utf-8")
        meta["artefacts"]["README.md"] = sha256_file(out / "README.md")
    (out / "model.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return out


def verify(path: str | Path | None = None, check_versions: bool = True,
           trust_pickle: bool = False) -> tuple[Path, dict[str, Any]]:
    """Check a model directory without reading the model itself; return its path and ``model.json``.

    Parameters
    ----------
    path : path, optional
        The model directory; the shipped default model when omitted.
    check_versions : bool
        Refuse a model written by an incompatible library version.
    trust_pickle : bool
        Accept a directory in the old pickle format (format 1).

    Raises
    ------
    ModelError
        The directory or a file is missing, a file's sha256 differs from ``model.json`` (it was
        damaged or changed after it was written), or the format is not one this library reads.
    """
    d = Path(path) if path else default_model_dir()
    meta_file = d / "model.json"
    if not meta_file.exists():
        hint = (" The installed package is missing its default model; reinstall tukipyynto."
                if path is None else " Expected a model directory written by `tukipyynto train`.")
        raise ModelError(f"{d}: no model.json found.{hint}")
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ModelError(f"{meta_file}: not valid JSON ({e.msg}); the model directory is damaged") from None
    fmt = meta.get("format_version")
    if fmt == 1:
        if not trust_pickle:
            raise ModelError(f"{d}: a model in the old pickle format (classifier.joblib); loading it can run "
                             "arbitrary code if the files were changed. Retrain it with `tukipyynto train`, or, "
                             "only if you trust where it came from, load it with --trust-pickle "
                             "(load(..., trust_pickle=True)) and save it again in the safe format")
        need = LEGACY_ARTEFACT
    elif fmt == FORMAT_VERSION:
        need = WEIGHTS
    else:
        raise ModelError(f"{meta_file}: model format {fmt!r}, this library reads {FORMAT_VERSION}; retrain the model")
    arts = meta.get("artefacts") or {}
    if need not in arts:
        raise ModelError(f"{meta_file}: no sha256 recorded for {need}; refusing an unchecked model file")
    for name, want in arts.items():
        f = d / name
        if not f.exists():
            raise ModelError(f"{f}: missing; the model directory is incomplete")
        got = sha256_file(f)
        if got != want:
            raise ModelError(f"{f}: sha256 {got[:12]}… does not match {want[:12]}… recorded in model.json; "
                             "the file was changed after training, so it is not loaded")
    if check_versions and fmt == 1:
        import sklearn

        a, b = str(meta.get("versions", {}).get("scikit-learn", "")), sklearn.__version__
        if a.split(".")[:2] != b.split(".")[:2]:
            raise ModelError(f"{d}: pickled with scikit-learn {a}, this environment has {b}; pickles are not "
                             "portable across minor versions: retrain the model")
    return d, meta


def load(path: str | Path | None = None, check_versions: bool = True, trust_pickle: bool = False,
         semantic: bool | str | None = False) -> Model:
    """Load and verify a model directory; with no argument, the default model shipped with the package.

    Parameters
    ----------
    path : path, optional
        A directory written by :func:`save_model` (``tukipyynto train``).
    check_versions : bool
        For old pickle-format models: refuse a different scikit-learn minor version.
    trust_pickle : bool
        Allow the old pickle format (format 1), with a warning. Never needed for models this
        version writes: they hold only arrays and JSON.
    semantic : bool or {"cascade", "all"}
        Predict with the model's semantic head as well (needs the ``semantic`` extra):
        ``True`` or ``"cascade"`` embeds only the requests the lexical model is not confident
        about, ``"all"`` every request. Default: the lexical model alone.

    Returns
    -------
    Model

    Raises
    ------
    ModelError
        Anything :func:`verify` refuses, files that do not hold a model, a semantic mode asked
        of a model without a semantic head, or an installed embedder other than the head's.
    ExtraMissingError
        A semantic mode is asked for and the ``semantic`` extra is not installed.
    """
    import numpy as np

    from .predictor import LinearTopicModel

    d, meta = verify(path, check_versions, trust_pickle)
    if meta.get("format_version") == 1:
        warnings.warn(f"{d}: loading a pickle-format model because trust_pickle=True; save it again with "
                      "save_model() to get the safe format", UserWarning, stacklevel=2)
        clf = _legacy_load(d / LEGACY_ARTEFACT)
        return Model(classifier=clf, meta=meta, path=d).with_semantic(semantic)
    head = None
    try:
        with np.load(d / WEIGHTS, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        data = json.loads((d / VOCAB).read_text(encoding="utf-8"))
        pred = LinearTopicModel.from_files(arrays, data)
        if SEMANTIC_SETTINGS in (meta.get("artefacts") or {}):
            from .semantic import SemanticHead

            with np.load(d / SEMANTIC_WEIGHTS, allow_pickle=False) as z:
                sem_arrays = {k: z[k] for k in z.files}
            head = SemanticHead.from_files(sem_arrays, json.loads((d / SEMANTIC_SETTINGS).read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError, OSError) as e:
        raise ModelError(f"{d}: the model files do not hold a model this library wrote ({type(e).__name__}: {e})") from None
    model = Model(classifier=pred, meta=meta, path=d, semantic=head).with_semantic(semantic)
    if model.semantic_mode is not None:
        from .semantic import check_embedder

        check_embedder(head.embedder, str(d))
    return model


def _legacy_load(path: Path):
    """Unpickle an old ``classifier.joblib`` through an allow-list of modules; export its predictor."""
    import pickle

    import joblib

    class _RestrictedUnpickler(joblib.numpy_pickle.NumpyUnpickler):
        def find_class(self, module: str, name: str):
            if module == "builtins" and name in _ALLOWED_BUILTINS:
                return super().find_class(module, name)
            if any(module == p.rstrip(".") or module.startswith(p) for p in _ALLOWED_PREFIXES):
                return super().find_class(module, name)
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: not a class this library writes")

    with open(path, "rb") as fh:
        try:
            obj = _RestrictedUnpickler(str(path), fh, ensure_native_byte_order=True).load()
        except TypeError:  # older joblib without ensure_native_byte_order
            fh.seek(0)
            obj = _RestrictedUnpickler(str(path), fh).load()
        except (pickle.UnpicklingError, AttributeError, ImportError) as e:
            raise ModelError(f"{path}: {e}") from None
    if not hasattr(obj, "predictor_"):  # pickled before predictions went through the exported arrays
        obj.predictor_ = obj._export()
        if getattr(obj, "temperature_", None) is not None:
            obj.predictor_.calibration = {"method": "temperature", "temperature": float(obj.temperature_)}
    return obj.predictor_
