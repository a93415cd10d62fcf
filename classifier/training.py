"""Training and evaluation: corpus files in, a verified model directory and figures out."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Sequence

import numpy as np

from .classify import TopicClassifier, fit_temperature, threshold_for_accuracy
from .errors import CorpusError
from .guidelines import REASONS, Assessor, Catalogue, fit_matcher
from .io import expand_paths, read_guidelines, read_requests, read_taxonomy
from .model import Model
from .records import Request, Taxonomy

__all__ = ["discover_corpus", "train_model", "evaluate_model", "classification_metrics", "expected_calibration_error",
           "TrainingConfig", "train_from_corpus", "guideline_labelled", "writer_cross_validation", "out_of_fold_margins",
           "read_labelled", "LabelledData", "CALIBRATION_DATA", "search_by_writers"]

Progress = Callable[[str], None]


def _noop(msg: str) -> None:
    """Default progress callback: silent (a library never prints)."""


GENERATED_HINTS = ("generated", "synthetic")
CALIBRATION_DATA = ("oof", "dev")


def discover_corpus(paths: Sequence[str | Path]) -> dict[str, list[Path]]:
    """Sort corpus files into ``train``, ``dev``, ``test`` and ``generated`` by file name.

    A directory contributes its top-level JSONL/CSV/Parquet files: names containing
    ``dev`` are dev data, ``test`` are held out (never trained on), ``generated`` or
    ``synthetic`` are generated data (trained on only when given a file weight), catalogue
    and taxonomy files are skipped, everything else is training data. Files given directly
    are training data.
    """
    out: dict[str, list[Path]] = {"train": [], "dev": [], "test": [], "generated": []}
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for f in sorted(p.iterdir()):
                if not f.is_file() or f.suffix.lower() not in {".jsonl", ".csv", ".parquet", ".json"}:
                    continue
                stem = f.stem.lower()
                if stem.startswith(("guidelines", "taxonomy")):
                    continue
                if "test" in stem:
                    out["test"].append(f)
                elif "dev" in stem or "valid" in stem:
                    out["dev"].append(f)
                elif any(h in stem for h in GENERATED_HINTS):
                    out["generated"].append(f)
                else:
                    out["train"].append(f)
        else:
            out["train"].extend(expand_paths([p]))
    return out


def _hash_files(files: Sequence[Path]) -> str:
    """sha256 over the training files' bytes, in order."""
    h = hashlib.sha256()
    for f in files:
        h.update(Path(f).name.encode())
        h.update(Path(f).read_bytes())
    return h.hexdigest()


def _texts(reqs: Sequence[Request]) -> list[str]:
    """Model input: subject and text."""
    return [r.model_input for r in reqs]


def guideline_labelled(reqs: Sequence[Request]) -> list[bool]:
    """Which records of one file are labelled against the catalogue.

    Only for those does a null ``guideline_id`` mean "no guideline covers this request". A
    record labelled against the catalogue names a guideline or carries an ``avoidable`` label
    (the spec's rule gives every such record one); a record with neither was labelled with a
    topic only. A file with ``guideline_id`` labels and no ``avoidable`` labels at all is read
    the older way: all of its records are labelled, null meaning uncovered.

    Parameters
    ----------
    reqs : sequence of Request
        The records of one file (the convention is decided per file).

    Returns
    -------
    list of bool
        One flag per record.
    """
    if any(r.avoidable is not None for r in reqs):
        return [r.guideline_id is not None or r.avoidable is not None for r in reqs]
    if any(r.guideline_id is not None for r in reqs):
        return [True] * len(reqs)
    return [False] * len(reqs)


@dataclass
class LabelledData:
    """Labelled training records with their sample weight, writer (group) and guideline-label flag."""

    reqs: list[Request] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    groups: list[str | None] = field(default_factory=list)
    labelled: list[bool] = field(default_factory=list)

    def add(self, other: "LabelledData") -> None:
        """Append another file's records."""
        self.reqs += other.reqs; self.weights += other.weights
        self.groups += other.groups; self.labelled += other.labelled

    def subset(self, idx: Sequence[int]) -> "LabelledData":
        """The records at ``idx``."""
        return LabelledData([self.reqs[i] for i in idx], [self.weights[i] for i in idx],
                         [self.groups[i] for i in idx], [self.labelled[i] for i in idx])


def read_labelled(files: Sequence[Path], text_field: str, label_field: str, weights: dict[str, float],
                   group_field: str | None) -> LabelledData:
    """Read labelled files: records, the file's weight, each record's group and guideline-label flag."""
    from .io import iter_rows, request_from_row

    out = LabelledData()
    for f in files:
        w = float(weights.get(f.name, 1.0))
        reqs, groups = [], []
        for no, row in iter_rows(f):
            reqs.append(request_from_row(row, f"{f}:{no}", text_field, label_field))
            g = row.get(group_field) if group_field else None
            groups.append(None if g in (None, "") else str(g))
        out.add(LabelledData(reqs, [w] * len(reqs), groups, guideline_labelled(reqs)))
    return out


def _softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax."""
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _folds(y: Sequence[str], groups: Sequence[str | None], k: int, max_groups: int = 20
           ) -> tuple[str, list[tuple[np.ndarray, np.ndarray]]]:
    """Cross-validation folds over the scored records: one per writer when they have writers, else stratified k-fold.

    Records without a writer (a reviewed file, say) join the folds as a group of their own
    only when at least three writers are named; with more than ``max_groups`` writers the
    writers are dealt into ``k`` folds instead of one fold each.
    """
    from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold

    n = len(y)
    idx = np.arange(n)
    named = sorted({g for g in groups if g is not None})
    if len(named) >= 3:
        g = np.array([x if x is not None else "(no writer)" for x in groups], dtype=object)
        names = sorted(set(g.tolist()))
        if len(names) <= max_groups:
            return "leave-one-writer-out", [(idx[g != w], idx[g == w]) for w in names]
        return f"{k}-fold by writer", list(GroupKFold(k).split(idx, groups=g))
    counts = np.unique(np.asarray(y, dtype=object), return_counts=True)[1]
    kk = max(2, min(k, int(counts.min())))
    if counts.min() >= 2:
        return f"{kk}-fold stratified", list(StratifiedKFold(kk, shuffle=True, random_state=0).split(idx, y))
    return f"{kk}-fold", list(KFold(kk, shuffle=True, random_state=0).split(idx))


def out_of_fold_margins(data: LabelledData, scored: Sequence[int], params: dict[str, Any], classes: Sequence[str],
                        folds: list[tuple[np.ndarray, np.ndarray]], progress: Progress = _noop,
                        fold_names: Sequence[str] | None = None) -> np.ndarray:
    """SVM margins for ``data.reqs[scored]``, each from a model trained without its fold.

    ``folds`` index into ``scored``; every record not scored (e.g. generated data at a
    lower weight) trains every fold's model. Columns follow ``classes``; a class a fold's
    model never saw gets a margin far below the others.
    """
    scored = np.asarray(scored)
    texts = _texts(data.reqs)
    out = np.full((len(scored), len(classes)), np.nan)
    for k, (_, te) in enumerate(folds, 1):
        held = set(scored[te].tolist())
        keep = [j for j in range(len(data.reqs)) if j not in held]
        sw = [data.weights[j] for j in keep]
        m = TopicClassifier(**params).fit([texts[j] for j in keep], [data.reqs[j].topic for j in keep],
                                          sample_weight=None if all(w == 1.0 for w in sw) else sw)
        d = m.predictor_.margins(m._features([texts[j] for j in scored[te]]))
        col = {c: i for i, c in enumerate(m.classes_)}
        for i, c in enumerate(classes):
            out[te, i] = d[:, col[c]] if c in col else np.nan
        name = f" ({fold_names[k - 1]})" if fold_names else ""
        progress(f"out-of-fold model {k}/{len(folds)}{name}: {len(keep)} training records, {len(te)} scored")
    low = np.nanmin(out) - 10.0 if np.isfinite(out).any() else -10.0
    return np.where(np.isnan(out), low, out)


def _group_figures(y: np.ndarray, pred: np.ndarray, groups: Sequence[str | None], labels: list[str]) -> dict[str, Any]:
    """Accuracy and macro-F1 per held-out writer, and their mean and minimum."""
    from sklearn.metrics import accuracy_score, f1_score

    g = np.array([x if x is not None else "(no writer)" for x in groups], dtype=object)
    per = {}
    for w in sorted(set(g.tolist())):
        m = g == w
        per[w] = {"n": int(m.sum()), "accuracy": round(float(accuracy_score(y[m], pred[m])), 4),
                  "macro_f1": round(float(f1_score(y[m], pred[m], average="macro", labels=sorted(set(y[m])),
                                                   zero_division=0)), 4)}
    f1s = [v["macro_f1"] for v in per.values()]
    worst = min(per, key=lambda w: per[w]["macro_f1"])
    return {"per_writer": per, "macro_f1_mean": round(float(np.mean(f1s)), 4),
            "macro_f1_min": per[worst]["macro_f1"], "worst_writer": worst}


def writer_cross_validation(data: LabelledData, params: dict[str, Any], *, folds: int = 5, target_accuracy: float = 0.95,
                            progress: Progress = _noop) -> dict[str, Any]:
    """Out-of-fold predictions for every full-weight record, the temperature and threshold fitted on them, and figures.

    Records at weight 1 or more are scored; records with a lower weight (generated data) only
    train. With writers on the records the folds leave one writer out.

    Returns
    -------
    dict
        ``scored`` (indices), ``classes``, ``margins``, ``temperature``, ``proba``,
        ``threshold``, ``scheme`` and ``metrics`` (the figures of :func:`classification_metrics`
        on the out-of-fold predictions, with per-writer figures under ``writers``).
    """
    scored = [i for i, w in enumerate(data.weights) if w >= 1.0]
    if len(scored) < 20:
        raise CorpusError(f"only {len(scored)} full-weight training records; out-of-fold calibration needs 20 or more "
                          "(or train with calibration_data='dev' and a dev file)")
    y = np.array([data.reqs[i].topic for i in scored], dtype=object)
    groups = [data.groups[i] for i in scored]
    classes = sorted({r.topic for r in data.reqs})
    scheme, fl = _folds(y, groups, folds)
    names = None
    if scheme == "leave-one-writer-out":
        names = [str(groups[te[0]] if groups[te[0]] is not None else "(no writer)") for _, te in fl]
    progress(f"out-of-fold predictions: {scheme}, {len(fl)} folds over {len(scored)} records")
    d = out_of_fold_margins(data, scored, params, classes, fl, progress, names)
    t_idx = np.array([classes.index(v) for v in y])
    temp = fit_temperature(d, t_idx)
    proba = _softmax(d / temp)
    thr = threshold_for_accuracy(proba.max(axis=1), np.array(classes, dtype=object)[proba.argmax(axis=1)] == y,
                                 target_accuracy)
    metrics = _metrics_from_proba(proba, np.array(classes, dtype=object), y, thr)
    metrics["scheme"] = scheme
    if any(g is not None for g in groups):
        metrics["writers"] = _group_figures(y, np.array(classes, dtype=object)[proba.argmax(axis=1)], groups, classes)
    return {"scored": scored, "classes": classes, "margins": d, "temperature": temp, "proba": proba,
            "threshold": thr, "scheme": scheme, "metrics": metrics}


def train_model(
    train_files: Sequence[str | Path],
    dev_files: Sequence[str | Path] = (),
    taxonomy: Taxonomy | str | Path | None = None,
    guidelines: str | Path | None = None,
    *,
    text_field: str = "text",
    label_field: str = "topic",
    params: dict[str, Any] | None = None,
    file_weights: dict[str, float] | None = None,
    target_accuracy: float = 0.95,
    calibration_data: str = "oof",
    group_field: str | None = "writer",
    oof_folds: int = 5,
    dev_fraction: float = 0.15,
    recalibrate_on_dev: bool = True,
    matcher_oof_folds: int = 5,
    semantic: bool = False,
    progress: Progress = _noop,
) -> Model:
    """Train a topic classifier (and a guideline matcher when labels allow) from corpus files.

    Parameters
    ----------
    train_files, dev_files : paths
        Labelled JSONL / CSV / Parquet.
    taxonomy : Taxonomy or path, optional
        The label set; without one, the labels found in the data (any strings).
    guidelines : path, optional
        A catalogue in the same taxonomy; with ``guideline_id`` labels the matcher's weights
        and coverage model are learned (only from records labelled against the catalogue,
        see :func:`guideline_labelled`).
    file_weights : dict, optional
        Sample weight per training file name (e.g. down-weight generated data); a file at
        weight 0 is left out.
    target_accuracy : float
        Held-out accuracy the review (abstention) threshold aims for.
    calibration_data : {"oof", "dev"}
        ``"oof"`` (default): the model trains on every file given, dev files included; the
        probability temperature and the review threshold are fitted on out-of-fold
        predictions of the full-weight records (one fold per writer when the records name
        one in ``group_field``, else ``oof_folds`` stratified folds), and the guideline
        matcher learns on the same out-of-fold predictions. ``"dev"``: the older way, the
        dev files (or a stratified ``dev_fraction`` of the training data) are held out of
        the model and the temperature, threshold and matcher are fitted on them.
    group_field : str or None
        Field naming who wrote each record (``writer``), for leave-one-writer-out folds.
    oof_folds : int
        Folds when the records name no writers.
    dev_fraction, recalibrate_on_dev, matcher_oof_folds
        ``calibration_data="dev"`` only: the hold-out share without dev files, whether to fit
        the temperature on the dev data, and out-of-fold folds for adding training records
        to the matcher (0: dev data only).
    semantic : bool
        Also learn a semantic head (:mod:`classifier.semantic`; needs the ``semantic`` extra):
        a logistic regression on sentence embeddings of the full-weight training records,
        blended with the lexical model on out-of-fold predictions of the same records (the
        same folds as the temperature's).

    Returns
    -------
    Model
        Fitted, with ``meta`` holding the out-of-fold (or dev) figures; save it with :func:`save_model`.
    """
    if calibration_data not in CALIBRATION_DATA:
        raise ValueError(f"calibration_data must be one of {', '.join(CALIBRATION_DATA)}, not {calibration_data!r}")
    params = dict(params or {})
    if semantic:
        from .semantic import embedder_identity

        embedder_identity()  # fail now, not after the lexical model is trained, when the extra is missing
    fw = dict(file_weights or {})
    train_files = [Path(f) for f in train_files]
    dev_files = [Path(f) for f in dev_files]
    oof = calibration_data == "oof"
    if oof:
        train_files, dev_files = train_files + dev_files, []
    dropped = [f.name for f in train_files if fw.get(f.name, 1.0) == 0]
    train_files = [f for f in train_files if fw.get(f.name, 1.0) != 0]
    if not train_files:
        raise CorpusError("no training files given; expected labelled JSONL, CSV or Parquet files")
    progress(f"reading {len(train_files)} training file(s)" + (f" (left out at weight 0: {', '.join(dropped)})" if dropped else ""))
    data = read_labelled(train_files, text_field, label_field, fw, group_field)
    missing = [r.id for r in data.reqs if r.topic is None]
    if missing:
        raise CorpusError(f"{len(missing)} training records have no {label_field!r} label (first: {missing[0]}); "
                          "every training record needs one")
    if isinstance(taxonomy, (str, Path)):
        taxonomy = read_taxonomy(taxonomy)
    labels = sorted({r.topic for r in data.reqs})
    if taxonomy is None:
        taxonomy = Taxonomy.from_labels(labels)
    else:
        bad = [t for t in labels if t not in taxonomy]
        if bad:
            raise CorpusError(f"training label {bad[0]!r} is not in the taxonomy; valid: {', '.join(taxonomy.ids)}")
    dev = read_labelled(dev_files, text_field, label_field, {}, group_field)
    if not oof and not dev.reqs:
        from sklearn.model_selection import train_test_split

        idx = np.arange(len(data.reqs))
        tr, dv = train_test_split(idx, test_size=dev_fraction, random_state=0, stratify=[r.topic for r in data.reqs])
        dev, data = data.subset(dv), data.subset(tr)
        progress(f"no dev file: held out {len(dev.reqs)} records ({dev_fraction:.0%}) as dev data")
    train, weights = data.reqs, data.weights
    cv_res = None
    if oof:
        cv_res = writer_cross_validation(data, params, folds=oof_folds, target_accuracy=target_accuracy,
                                         progress=progress)
    clf = TopicClassifier(**params)
    progress(f"fitting on {len(train)} records, {len(labels)} labels")
    sw = None if all(w == 1.0 for w in weights) else weights
    clf.fit(_texts(train), [r.topic for r in train], sample_weight=sw)
    dev_x, dev_y = _texts(dev.reqs), [r.topic for r in dev.reqs]
    if oof:
        clf.set_temperature(cv_res["temperature"])
        clf.set_threshold(cv_res["threshold"])
        progress(f"temperature {cv_res['temperature']:.3f} and review threshold {cv_res['threshold']:.3f} from "
                 f"out-of-fold predictions ({cv_res['scheme']}; accuracy target {target_accuracy:.2f})")
    else:
        if recalibrate_on_dev and len(dev.reqs) >= 30:
            temp = clf.recalibrate(dev_x, dev_y)
            progress(f"temperature {temp:.3f} fitted on {len(dev.reqs)} dev records")
        elif recalibrate_on_dev:
            progress(f"only {len(dev.reqs)} dev records: keeping the cross-validated calibration")
        thr = clf.choose_threshold(dev_x, dev_y, target_accuracy=target_accuracy)
        progress(f"abstention threshold {thr:.3f} (dev accuracy target {target_accuracy:.2f})")
    groups = Counter(g for g in data.groups if g is not None)
    meta: dict[str, Any] = {
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "training_data": {"files": [f.name for f in train_files], "dev_files": [f.name for f in dev_files],
                          "sha256": _hash_files(train_files + dev_files), "n_train": len(train), "n_dev": len(dev.reqs),
                          "file_weights": fw, "calibration_data": calibration_data,
                          "writers": dict(sorted(groups.items())),
                          "n_guideline_labelled": int(sum(data.labelled) + sum(dev.labelled))},
        "taxonomy": [c.__dict__ for c in taxonomy.categories],
        "taxonomy_name": taxonomy.name,
        "text_field": text_field, "label_field": label_field, "target_accuracy": target_accuracy,
        "temperature": getattr(clf, "temperature_", None),
    }
    model = Model(classifier=clf, meta=meta)
    if guidelines is not None:
        gl = read_guidelines(guidelines, taxonomy)
        model.catalogue = gl
        if oof:
            # every full-weight record labelled against the catalogue, with topic probabilities
            # from models that did not see its writer
            keep = [k for k, i in enumerate(cv_res["scored"]) if data.labelled[i]]
            match = [train[cv_res["scored"][k]] for k in keep]
            proba = _align(cv_res["proba"][keep], cv_res["classes"], list(clf.classes_))
        else:
            match = [r for r, ok in zip(dev.reqs, dev.labelled) if r.topic is not None and ok]
            proba = clf.predict_proba(_texts(match)) if match else None
            # More labelled requests for the matcher: full-weight training records, with topic
            # probabilities from models that did not see them (out-of-fold), so the matcher does
            # not learn to trust in-sample confidence.
            extra = [i for i, (r, w, ok) in enumerate(zip(train, weights, data.labelled))
                     if w >= 1.0 and r.topic is not None and ok]
            if matcher_oof_folds and len(extra) >= 5 * matcher_oof_folds and any(train[i].guideline_id for i in extra):
                progress(f"out-of-fold topic probabilities for {len(extra)} training records ({matcher_oof_folds} folds)")
                oof_p = _oof_proba(train, weights, extra, params, matcher_oof_folds, list(clf.classes_))
                match = match + [train[i] for i in extra]
                proba = oof_p if proba is None else np.vstack([proba, oof_p])
        if any(r.guideline_id for r in match):
            progress(f"learning guideline matcher on {len(match)} records labelled against the catalogue")
            cat = Catalogue(gl, clf.processor_, taxonomy, term_weights=clf.term_weights())
            agent = [r.topic in taxonomy and taxonomy[r.topic].agents_own for r in match]
            meta["matcher"] = fit_matcher(cat, _texts(match), [r.guideline_id for r in match], proba,
                                          [str(c) for c in clf.classes_], days=[r.local_date for r in match],
                                          agent_topic=agent, taxonomy=taxonomy,
                                          gold_avoidable=[_gold_avoidable(r, gl, taxonomy) for r in match])
            meta["matcher"]["catalogue"] = Path(guidelines).name
    if semantic:
        _fit_semantic(model, data, cv_res, params, oof_folds, target_accuracy, progress)
    if oof:
        meta["oof_metrics"] = cv_res["metrics"]
    else:
        progress("evaluating on dev data")
        meta["dev_metrics"] = classification_metrics(clf, dev_x, dev_y)
        if model.semantic is not None:
            meta["semantic_metrics"]["dev"] = {m: classification_metrics(model.with_semantic(m).predictor, dev_x, dev_y)
                                               for m in ("cascade", "all")}
    return model


def _fit_semantic(model: Model, data: LabelledData, cv_res: dict | None, params: dict[str, Any], folds: int,
                  target_accuracy: float, progress: Progress) -> None:
    """Learn the semantic head on the full-weight records, blended on their out-of-fold lexical margins.

    With out-of-fold calibration the margins and folds are the temperature's (one fold per
    writer); with a held-out dev split they come from ``folds`` models trained without them.
    Records at a lower weight (generated data) never train the head: cross-validated, they
    made its blend worse (``benchmarks/semantic.py`` notes the figures).
    """
    from .semantic import Embedder, fit_semantic_head

    clf = model.classifier
    classes = [str(c) for c in clf.classes_]
    if cv_res is not None:
        scored = list(cv_res["scored"])
        y = np.array([data.reqs[i].topic for i in scored], dtype=object)
        scheme, splits = _folds(y, [data.groups[i] for i in scored], folds)
        margins = _align(cv_res["margins"], cv_res["classes"], classes)
    else:
        scored = [i for i, (r, w) in enumerate(zip(data.reqs, data.weights)) if w >= 1.0 and r.topic is not None]
        if len(scored) < 5 * folds:
            raise CorpusError(f"--semantic needs at least {5 * folds} full-weight training records to fit its blend on "
                              f"out-of-fold predictions; found {len(scored)}")
        progress(f"out-of-fold topic margins for {len(scored)} training records ({folds} folds)")
        margins = _oof_proba(data.reqs, data.weights, scored, params, folds, classes, margins=True)[1]
        scheme, splits = f"{folds}-fold stratified", None
    texts = _texts(data.reqs)
    emb = Embedder(redactor=clf.predictor_.processor_.redactor)
    progress(f"semantic view: embedding {len(scored)} full-weight training records")
    E = emb.embed([texts[i] for i in scored])
    progress(f"semantic view: {emb.stats['embedded']} embedded, {emb.stats['disk_hits']} from the cache; fitting the "
             f"head and its blend on out-of-fold predictions ({scheme})")
    head = fit_semantic_head(E, [data.reqs[i].topic for i in scored], classes, np.arange(len(scored)), margins,
                             clf.predictor_.calibrate(margins), target_accuracy=target_accuracy, splits=splits,
                             embedder=emb.identity, max_chars=emb.max_chars)
    head.report["scheme"] = scheme
    model.semantic = head
    rep = head.report
    progress(f"semantic view: C {rep['C']}, blend {head.blend['method']} (cross-validated log-loss "
             f"{rep['blend_cv_log_loss']}), cascade below lexical confidence {head.cascade_threshold:.2f} "
             f"({rep['oof_embedded_share_cascade']:.0%} of out-of-fold records), out-of-fold accuracy "
             f"{rep['oof_accuracy']}")
    y = np.array([data.reqs[i].topic for i in scored], dtype=object)
    cls = np.array(classes, dtype=object)
    model.meta["semantic_metrics"] = {}
    if cv_res is not None:
        oof_m = {}
        for mode in ("cascade", "all"):
            oof_m[mode] = _metrics_from_proba(head.oof_[mode], cls, y, head.thresholds[mode])
            oof_m[mode].update({"semantic_mode": mode, "embedded_share": round(float(head.oof_["embedded"][mode].mean()), 4),
                                "scheme": scheme})
        model.meta["semantic_metrics"]["oof"] = oof_m


def _align(proba: np.ndarray, src: Sequence[str], dst: Sequence[str]) -> np.ndarray:
    """Reorder probability columns from class order ``src`` to ``dst``."""
    col = {c: i for i, c in enumerate(src)}
    return np.column_stack([proba[:, col[c]] if c in col else np.zeros(len(proba)) for c in dst])


def _gold_avoidable(r: Request, gl, taxonomy) -> bool | None:
    """The labelled avoidable value, or the spec's rule applied to the labels and dates."""
    if r.avoidable is not None:
        return r.avoidable
    if r.local_date is None or r.topic is None:
        return None
    from .records import expected_avoidable

    g = next((g for g in gl if g.id == r.guideline_id), None)
    return expected_avoidable(r.topic, g, r.local_date, taxonomy)


def _oof_proba(train: list[Request], weights: list[float], idx: list[int], params: dict[str, Any], folds: int,
               classes: list[str], margins: bool = False):
    """Topic probabilities for ``train[idx]`` from models trained without them (and, with ``margins``, their margins)."""
    from sklearn.model_selection import KFold

    out = np.zeros((len(idx), len(classes)))
    marg = np.zeros((len(idx), len(classes)))
    idx_arr = np.asarray(idx)
    texts = _texts(train)
    for tr_k, te_k in KFold(folds, shuffle=True, random_state=0).split(idx_arr):
        held = set(idx_arr[te_k].tolist())
        keep = [j for j in range(len(train)) if j not in held]
        m = TopicClassifier(**params).fit([texts[j] for j in keep], [train[j].topic for j in keep],
                                          sample_weight=[weights[j] for j in keep])
        d = m.predictor_.margins(m.predictor_.features([texts[j] for j in idx_arr[te_k]]))
        p = m.predictor_.calibrate(d)
        col = {c: k for k, c in enumerate(m.classes_)}
        for k, c in enumerate(classes):
            if c in col:
                out[te_k, k] = p[:, col[c]]
                marg[te_k, k] = d[:, col[c]]
            else:  # a topic the fold never saw: far below the others
                marg[te_k, k] = d.min() - 10.0
    return (out, marg) if margins else out


def expected_calibration_error(conf: np.ndarray, correct: np.ndarray, bins: int = 10) -> tuple[float, list[dict]]:
    """ECE over equal-width confidence bins, and the reliability table."""
    edges = np.linspace(0, 1, bins + 1)
    table, ece = [], 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        if not m.any():
            continue
        acc, c = float(correct[m].mean()), float(conf[m].mean())
        ece += m.mean() * abs(acc - c)
        table.append({"bin": f"{lo:.1f}-{hi:.1f}", "n": int(m.sum()), "confidence": round(c, 3), "accuracy": round(acc, 3)})
    return float(ece), table


def classification_metrics(clf: TopicClassifier, texts: Sequence[str], y: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class figures, confusion matrix, calibration and abstention.

    With the semantic view (:class:`~classifier.semantic.SemanticTopicModel`) also its mode and
    the share of the texts its head saw (``embedded_share``).
    """
    if hasattr(clf, "predict_proba_info"):
        proba, embedded = clf.predict_proba_info(texts)
        out = _metrics_from_proba(proba, clf.classes_, np.asarray(y, dtype=object), clf.threshold_)
        out.update({"semantic_mode": clf.mode, "embedded_share": round(float(np.mean(embedded)) if len(y) else 0.0, 4)})
        return out
    return _metrics_from_proba(clf.predict_proba(texts), clf.classes_, np.asarray(y, dtype=object), clf.threshold_)


def _metrics_from_proba(proba: np.ndarray, classes: np.ndarray, y: np.ndarray, threshold: float) -> dict[str, Any]:
    """:func:`classification_metrics` from probabilities (columns in ``classes`` order)."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    y = np.asarray(y, dtype=object)
    classes = np.asarray(classes, dtype=object)
    pred = classes[proba.argmax(axis=1)]
    labels = sorted(set(classes) | set(y))
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    conf = proba.max(axis=1)
    correct = pred == y
    ece, table = expected_calibration_error(conf, correct)
    kept = conf >= threshold
    return {
        "n": int(len(y)),
        "accuracy": round(float(accuracy_score(y, pred)), 4),
        "macro_f1": round(float(f1_score(y, pred, average="macro", labels=labels, zero_division=0)), 4),
        "per_class": {lab: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4),
                            "f1": round(float(f[i]), 4), "support": int(s[i])} for i, lab in enumerate(labels)},
        "confusion": {"labels": labels, "matrix": confusion_matrix(y, pred, labels=labels).tolist()},
        "ece": round(ece, 4), "reliability": table,
        "threshold": round(float(threshold), 4),
        "abstention_rate": round(float(1 - kept.mean()), 4),
        "accuracy_on_kept": round(float(correct[kept].mean()), 4) if kept.any() else None,
    }


def _prf(tp: int, fp: int, fn: int) -> dict[str, float | None]:
    """Precision, recall and F1 from counts."""
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    f = 2 * p * r / (p + r) if p and r else (0.0 if p is not None and r is not None else None)
    return {"precision": None if p is None else round(p, 4), "recall": None if r is None else round(r, 4),
            "f1": None if f is None else round(f, 4)}


def evaluate_model(model: Model, paths: Sequence[str | Path], guidelines: str | Path | None | bool = None, *,
                   text_field: str = "text", label_field: str = "topic") -> dict[str, Any]:
    """Evaluate a model on labelled files: topic figures, and guideline/avoidable figures when labelled.

    Parameters
    ----------
    guidelines : path, None or False
        Catalogue for the guideline and avoidable figures (``None``: the shipped one;
        ``False``: skip).
    """
    reqs = read_requests(paths, text_field=text_field, label_field=label_field)
    reqs = [r for r in reqs if r.topic is not None]
    if not reqs:
        raise CorpusError(f"{', '.join(map(str, paths))}: no record has a {label_field!r} label to evaluate against")
    out: dict[str, Any] = {"topic": classification_metrics(model.predictor, _texts(reqs), [r.topic for r in reqs])}
    has_g = [r for r in reqs if r.avoidable is not None or r.guideline_id is not None]
    if guidelines is False or not has_g:
        return out
    assessor = Assessor(model, catalogue=guidelines)
    if assessor.catalogue is None:
        out["guidelines_skipped"] = assessor.warnings
        return out
    res = assessor.assess(has_g)
    g_rows = [(r, a) for r, a in zip(has_g, res) if r.guideline_id]
    top1 = np.mean([a.top_guidelines[0][0] == r.guideline_id if a.top_guidelines else False for r, a in g_rows]) if g_rows else None
    chosen = np.mean([a.guideline_id == r.guideline_id for r, a in g_rows]) if g_rows else None
    top3 = np.mean([r.guideline_id in [g for g, _ in a.top_guidelines[:3]] for r, a in g_rows]) if g_rows else None
    # coverage, as the avoidable rule uses it: for requests whose (gold) topic the agent handles,
    # does a guideline in force on the request's day cover it?
    tax = assessor.taxonomy
    gmap = {g.id: g for g in assessor.catalogue.guidelines}
    cov = []
    for r, a in zip(has_g, res):
        ci = tax[r.topic] if r.topic in tax else None
        if ci is None or not ci.agents_own or r.local_date is None or a.coverage_probability is None:
            continue
        g = gmap.get(r.guideline_id) if r.guideline_id else None
        cov.append((a.coverage_probability >= 0.5, bool(g is not None and g.in_force(r.local_date))))
    ctp = sum(p and g for p, g in cov); cfp = sum(p and not g for p, g in cov); cfn = sum(g and not p for p, g in cov)
    av = [(a.avoidable, r.avoidable) for r, a in zip(has_g, res) if r.avoidable is not None]
    tp = sum(p and g for p, g in av); fp = sum(p and not g for p, g in av); fn = sum(g and not p for p, g in av)
    per_topic = {}
    for t in sorted({r.topic for r in has_g}):
        sub = [(a.avoidable, r.avoidable) for r, a in zip(has_g, res) if r.topic == t and r.avoidable is not None]
        if sub:
            per_topic[t] = {"n": len(sub), "accuracy": round(float(np.mean([p == g for p, g in sub])), 4),
                            **_prf(sum(p and g for p, g in sub), sum(p and not g for p, g in sub), sum(g and not p for p, g in sub))}
    reasons = {k: sum(a.reason == k for a in res) for k in REASONS}
    out["guidelines"] = {
        "n_with_guideline": len(g_rows),
        "top1_accuracy": None if top1 is None else round(float(top1), 4),
        "top3_accuracy": None if top3 is None else round(float(top3), 4),
        "decision_accuracy": None if chosen is None else round(float(chosen), 4),
        "coverage": {"n": len(cov), "accuracy": round(float(np.mean([p == g for p, g in cov])), 4) if cov else None,
                     **_prf(ctp, cfp, cfn)},
    }
    out["avoidable"] = {"n": len(av), "accuracy": round(float(np.mean([p == g for p, g in av])), 4) if av else None,
                        **_prf(tp, fp, fn), "per_topic": per_topic, "reasons": reasons}
    # the estimated share (mean calibrated probability, bootstrap interval) against the true share
    from .bootstrap import estimate_share
    from .guidelines import expected_calibration_error

    pairs = [(a.avoidable_probability, r.avoidable) for r, a in zip(has_g, res)
             if r.avoidable is not None and a.avoidable_probability is not None]
    if pairs:
        pp = np.array([p for p, _ in pairs])
        yy = np.array([bool(g) for _, g in pairs])
        est = estimate_share(pp, model.matcher_settings.get("avoidable_calibration"))
        truth = float(yy.mean())
        out["avoidable"].update({
            "probability_ece": round(expected_calibration_error(pp, yy), 4),
            "majority_baseline": round(max(truth, 1 - truth), 4),
            "share": {"true": round(truth, 4), "estimate": round(est.estimate, 4), "ci_low": round(est.ci_low, 4),
                      "ci_high": round(est.ci_high, 4), "error": round(est.estimate - truth, 4),
                      "covered": bool(est.ci_low <= truth <= est.ci_high), "method": est.method,
                      "hard_label_share": round(float(np.mean([bool(a.avoidable) for r, a in zip(has_g, res)
                                                               if r.avoidable is not None])), 4)},
        })
    return out


@dataclass(frozen=True)
class TrainingConfig:
    """Everything ``tukipyynto train`` decides besides the data: one record, stored in the model card.

    Parameters
    ----------
    params : dict
        :class:`TopicClassifier` parameters (e.g. ``{"C": 0.5, "char_ngrams": True}``).
    file_weights : dict
        Sample weight per training file name. Generated files (``*generated*``) are trained
        on only when named here with a weight above 0.
    target_accuracy : float
        Held-out accuracy the review threshold aims for.
    search : bool
        Select parameters first: with ``calibration_data="oof"`` ``C`` and the class weights
        (``WRITER_SEARCH_GRID``), then the generated data's weight (0 or
        ``GENERATED_WEIGHTS``, when there are generated files), each by leave-one-writer-out
        macro-F1 (mean over the held-out writers); with ``"dev"``, ``SEARCH_GRID`` by dev macro-F1.
    cv_folds : int
        Also report k-fold cross-validation on the training files (0: no).
    text_field, label_field : str
        Field names in the corpus files.
    calibration_data : {"oof", "dev"}
        Where the temperature, threshold and matcher are fitted (see :func:`train_model`).
    group_field : str or None
        Field naming each record's writer, for leave-one-writer-out folds.
    semantic : bool
        Also learn a semantic head (:mod:`classifier.semantic`).
    """

    params: dict = field(default_factory=dict)
    file_weights: dict = field(default_factory=dict)
    target_accuracy: float = 0.95
    search: bool = False
    cv_folds: int = 0
    text_field: str = "text"
    label_field: str = "topic"
    calibration_data: str = "oof"
    group_field: str | None = "writer"
    semantic: bool = False

    SEARCH_GRID: ClassVar[tuple[dict, ...]] = tuple({"C": c, "char_ngrams": ch} for c in (0.25, 0.5, 1.0)
                                                    for ch in (False, True))
    WRITER_SEARCH_GRID: ClassVar[tuple[dict, ...]] = tuple({"C": c, "class_weight": cw} for c in (0.25, 0.5, 1.0, 2.0)
                                                           for cw in ("balanced", None))
    GENERATED_WEIGHTS: ClassVar[tuple[float, ...]] = (0.1, 0.3)


def search_by_writers(files: Sequence[Path], candidates: Sequence[dict], *, text_field: str = "text",
                      label_field: str = "topic", group_field: str | None = "writer", target_accuracy: float = 0.95,
                      folds: int = 5, progress: Progress = _noop) -> list[dict[str, Any]]:
    """Score candidate settings by leave-one-writer-out cross-validation (k-fold without writers).

    Parameters
    ----------
    files : paths
        The training files (never a test split or a transfer set).
    candidates : list of dict
        Each ``{"params": {...}, "file_weights": {...}}``: classifier parameters and file weights.

    Returns
    -------
    list of dict
        Per candidate: its settings, ``scheme``, ``macro_f1`` (pooled out-of-fold),
        ``macro_f1_mean`` / ``macro_f1_min`` over held-out writers, ``accuracy``, ``ece``
        and ``per_writer`` macro-F1, in the order given.
    """
    rows = []
    cache: dict[tuple, LabelledData] = {}
    for cand in candidates:
        fw = dict(cand.get("file_weights", {}))
        use = [Path(f) for f in files if fw.get(Path(f).name, 1.0) != 0]
        key = tuple((f.name, fw.get(f.name, 1.0)) for f in use)
        if key not in cache:
            cache[key] = read_labelled(use, text_field, label_field, fw, group_field)
        res = writer_cross_validation(cache[key], dict(cand.get("params", {})), folds=folds,
                                      target_accuracy=target_accuracy)
        m = res["metrics"]
        w = m.get("writers", {})
        row = {"params": dict(cand.get("params", {})), "file_weights": fw, "scheme": res["scheme"],
               "n": m["n"], "macro_f1": m["macro_f1"], "accuracy": m["accuracy"], "ece": m["ece"],
               "macro_f1_mean": w.get("macro_f1_mean", m["macro_f1"]), "macro_f1_min": w.get("macro_f1_min"),
               "worst_writer": w.get("worst_writer"),
               "per_writer": {k: v["macro_f1"] for k, v in w.get("per_writer", {}).items()}}
        progress(f"search: {row['params']} {fw or ''}: {res['scheme']} macro-F1 mean over writers "
                 f"{row['macro_f1_mean']:.4f}, pooled {row['macro_f1']:.4f}")
        rows.append(row)
    return rows


def _add_reviewed(reviewed: Sequence[str | Path], train: list[Path], file_weights: dict[str, float], tmp: Path,
                  taxonomy: Any, guidelines: Any, label_field: str, weight: float, skip_invalid: bool,
                  progress: Progress) -> list[dict[str, Any]]:
    """Checked reviewed decisions with text as extra training files; what each file gave, for the model card.

    A decision's topic must be one of the taxonomy's (without a taxonomy: one of the training
    labels) and its guideline one of the catalogue's: an invalid value never becomes a class.
    """
    from .io import iter_rows, read_guidelines, read_taxonomy, write_jsonl
    from .reviewed import read_reviewed_files

    if isinstance(taxonomy, (str, Path)):
        topics: Any = read_taxonomy(taxonomy)
    elif taxonomy is not None:
        topics = taxonomy
    else:
        topics = sorted({str(row[label_field]) for f in train for _, row in iter_rows(f)
                         if isinstance(row.get(label_field), str) and row[label_field]})
    catalogue = read_guidelines(guidelines) if isinstance(guidelines, (str, Path)) else guidelines
    keep = ("id", "channel", "sent_at", "subject", "text", "topic", "guideline_id", "avoidable")
    added = []
    for k, rf in enumerate(reviewed):
        got = read_reviewed_files(rf, topics, catalogue, skip_invalid=skip_invalid)
        for note in got.notes():
            progress(f"reviewed: {note}")
        rev = [r for r in got.values() if isinstance(r.get("text"), str) and r["text"].strip()]
        name = f"reviewed{k}-{Path(rf).stem}.jsonl"
        write_jsonl(({**{f: r.get(f) for f in keep}, label_field: r["topic"]} for r in rev), tmp / name)
        train.append(tmp / name)
        queues: dict[str, int] = {}
        for r in rev:
            queues[r.get("queue") or "?"] = queues.get(r.get("queue") or "?", 0) + 1
        added.append({"file": Path(rf).name, "trained_as": name, "n": len(rev), "weight": weight, "queues": queues,
                      "without_text": len(got) - len(rev), "skipped_invalid": sum(len(f.invalid) for f in got.files)})
        file_weights[name] = weight
        progress(f"reviewed: {len(rev)} requests from {rf} (weight {weight})"
                 + (f"; {len(got) - len(rev)} decisions without text are not trained on" if len(got) > len(rev) else ""))
    return added


def train_from_corpus(corpus: Sequence[str | Path], config: TrainingConfig = TrainingConfig(), *,
                      dev_files: Sequence[str | Path] = (), taxonomy: str | Path | None = None,
                      guidelines: str | Path | None = None, transfer_dir: str | Path | None = None,
                      reviewed: Sequence[str | Path] = (), reviewed_weight: float = 1.0,
                      skip_invalid: bool = False, progress: Progress = _noop) -> Model:
    """Train from corpus files or folders the way ``tukipyynto train`` does, and score what is held out.

    Files in a folder are sorted by name (``*dev*`` dev, ``*test*`` held out, ``*generated*``
    trained on only with a file weight, the rest training data; ``taxonomy.json`` and
    ``guidelines.jsonl`` of the first folder are used unless given). With the default
    ``config.calibration_data="oof"`` the dev files are training data too and the temperature,
    threshold and matcher come from leave-one-writer-out predictions; with ``"dev"`` they are
    held out for that. With ``config.search`` settings are selected first (see
    :class:`TrainingConfig`). The test split and the transfer set are scored only, never
    trained or tuned on.
    ``reviewed`` files are read with :func:`classifier.reviewed.read_reviewed_files`: a
    decision whose topic is not in the taxonomy (or, without one, not among the training
    labels) or whose guideline is not in the catalogue refuses the run, or with
    ``skip_invalid`` is left out with a warning through ``progress``.

    Returns
    -------
    Model
        Fitted, with ``meta`` holding out-of-fold (or dev), test, transfer, search and
        cross-validation figures.
    """
    import tempfile

    found = discover_corpus(corpus)
    dev = [Path(p) for p in dev_files] or found["dev"]
    # generated files train only at a weight given for them (weight 0 leaves a file out)
    file_weights = {**{f.name: 0.0 for f in found["generated"]}, **config.file_weights}
    gen_left = [f.name for f in found["generated"] if file_weights[f.name] <= 0]
    if gen_left:
        progress(f"generated data left out (give it a --file-weight to train on it): {', '.join(gen_left)}")
    folders = [Path(c) for c in corpus if Path(c).is_dir()]
    if taxonomy is None:
        taxonomy = next((f / "taxonomy.json" for f in folders if (f / "taxonomy.json").exists()), None)
        if taxonomy:
            progress(f"taxonomy: {taxonomy}")
    if guidelines is None:
        guidelines = next((f / "guidelines.jsonl" for f in folders if (f / "guidelines.jsonl").exists()), None)
    added = []
    extra_files: list[Path] = []
    tmp = tempfile.TemporaryDirectory(prefix="tukipyynto-reviewed-")
    if reviewed:
        # _add_reviewed reads the training labels from the list it is given, then appends the reviewed files
        listed = list(found["train"])
        added = _add_reviewed(reviewed, listed, file_weights, Path(tmp.name), taxonomy, guidelines,
                              config.label_field, reviewed_weight, skip_invalid, progress)
        extra_files = listed[len(found["train"]):]
    params = dict(config.params)
    oof = config.calibration_data == "oof"
    # in the order discovery reads them (by name within a folder), as before generated files had their own key
    all_train = [f for c in corpus for d in [discover_corpus([c])]
                 for f in sorted(d["train"] + d["generated"], key=lambda f: f.name)] + extra_files
    progress(f"training files: {', '.join(p.name for p in all_train if file_weights.get(p.name, 1.0) != 0)}; "
             + (f"dev (trained on; out-of-fold calibration): {', '.join(p.name for p in dev) or '-'}" if oof
                else f"dev: {', '.join(p.name for p in dev) or '(hold-out)'}"))
    tf, lf = config.text_field, config.label_field
    search_rows: list[dict] = []
    if config.search and oof:
        kw = dict(text_field=tf, label_field=lf, group_field=config.group_field,
                  target_accuracy=config.target_accuracy, progress=progress)
        cands = [{"params": {**params, **c}, "file_weights": file_weights} for c in config.WRITER_SEARCH_GRID]
        search_rows = search_by_writers(all_train + dev, cands, **kw)
        best = max(search_rows, key=lambda r: r["macro_f1_mean"])
        if found["generated"]:
            gen_cands = [{"params": best["params"], "file_weights": {**file_weights, **{f.name: w for f in found["generated"]}}}
                         for w in config.GENERATED_WEIGHTS]
            search_rows += search_by_writers(all_train + dev, gen_cands, **kw)
            best = max(search_rows, key=lambda r: r["macro_f1_mean"])
        params, file_weights = dict(best["params"]), dict(best["file_weights"])
        progress(f"search: best {best['params']} {best['file_weights']} "
                 f"(leave-one-writer-out macro-F1 mean {best['macro_f1_mean']:.4f})")
    elif config.search:
        best_dev: tuple[float, dict] | None = None
        for cand in config.SEARCH_GRID:
            m = train_model(all_train, dev, taxonomy, None, text_field=tf, label_field=lf,
                            params={**params, **cand}, file_weights=file_weights,
                            target_accuracy=config.target_accuracy, calibration_data="dev")
            f1 = m.meta["dev_metrics"]["macro_f1"]
            search_rows.append({"params": {**params, **cand}, "file_weights": file_weights, "scheme": "dev split",
                                "macro_f1": f1})
            progress(f"search: {cand}: dev macro-F1 {f1:.4f}")
            if best_dev is None or f1 > best_dev[0]:
                best_dev = (f1, cand)
        params.update(best_dev[1])
        progress(f"search: best {best_dev[1]} (dev macro-F1 {best_dev[0]:.4f})")
    train_files = [f for f in all_train if file_weights.get(f.name, 1.0) != 0]
    model = train_model(all_train, dev, taxonomy, guidelines, text_field=tf, label_field=lf, params=params,
                        file_weights=file_weights, target_accuracy=config.target_accuracy,
                        calibration_data=config.calibration_data, group_field=config.group_field,
                        semantic=config.semantic, progress=progress)
    if added:
        model.meta["training_data"]["reviewed"] = added
    # the lexical model's figures, and with a semantic head the same figures with it (both modes)
    modes = ("cascade", "all") if model.semantic is not None else ()
    if found["test"]:
        progress(f"scoring the held-out test split: {', '.join(p.name for p in found['test'])}")
        model.meta["test_metrics"] = evaluate_model(model, found["test"], guidelines if guidelines else False,
                                                    text_field=tf, label_field=lf)
        for m in modes:
            model.meta["semantic_metrics"].setdefault("test", {})[m] = evaluate_model(
                model.with_semantic(m), found["test"], guidelines if guidelines else False, text_field=tf,
                label_field=lf)
    if transfer_dir:
        td = Path(transfer_dir)
        progress(f"scoring the transfer set {td} against its own catalogue (reported only)")
        model.meta["transfer_metrics"] = evaluate_model(model, [td / "requests.jsonl"], td / "guidelines.jsonl",
                                                        text_field=tf, label_field=lf)
        model.meta["transfer_metrics"]["source"] = td.name
        for m in modes:
            model.meta["semantic_metrics"].setdefault("transfer", {})[m] = evaluate_model(
                model.with_semantic(m), [td / "requests.jsonl"], td / "guidelines.jsonl", text_field=tf,
                label_field=lf)
    if config.cv_folds:
        model.meta["cross_validation"] = cross_validate(train_files, params, config.cv_folds, tf, lf, progress)
        progress(f"{config.cv_folds}-fold CV macro-F1 {model.meta['cross_validation']['macro_f1_mean']:.4f}")
    model.meta["training_config"] = {"params": params, "file_weights": file_weights,
                                     "target_accuracy": config.target_accuracy, "search": config.search,
                                     "cv_folds": config.cv_folds, "calibration_data": config.calibration_data,
                                     "group_field": config.group_field, "semantic": config.semantic}
    if search_rows:
        model.meta["search"] = search_rows
    tmp.cleanup()
    return model


def cross_validate(files: Sequence[str | Path], params: dict, k: int, text_field: str = "text",
                   label_field: str = "topic", progress: Progress = _noop) -> dict[str, Any]:
    """Stratified k-fold accuracy and macro-F1 of :class:`TopicClassifier` on labelled files."""
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import StratifiedKFold

    reqs = read_requests(files, text_field, label_field)
    X = [r.model_input for r in reqs]
    y = np.array([r.topic for r in reqs], dtype=object)
    accs, f1s = [], []
    for i, (tr, te) in enumerate(StratifiedKFold(k, shuffle=True, random_state=0).split(X, y), 1):
        clf = TopicClassifier(**params).fit([X[j] for j in tr], y[tr])
        p = clf.predict([X[j] for j in te])
        accs.append(accuracy_score(y[te], p))
        f1s.append(f1_score(y[te], p, average="macro"))
        progress(f"fold {i}/{k}: accuracy {accs[-1]:.4f}")
    return {"k": k, "accuracy_mean": float(np.mean(accs)), "macro_f1_mean": float(np.mean(f1s)),
            "macro_f1_std": float(np.std(f1s))}
