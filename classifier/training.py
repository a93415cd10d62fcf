"""Training and evaluation: corpus files in, a verified model directory and figures out."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Sequence

import numpy as np

from .classify import TopicClassifier
from .errors import CorpusError
from .guidelines import REASONS, Assessor, Catalogue, fit_matcher
from .io import expand_paths, read_guidelines, read_requests, read_taxonomy
from .model import Model
from .records import Request, Taxonomy

__all__ = ["discover_corpus", "train_model", "evaluate_model", "classification_metrics", "expected_calibration_error",
           "TrainingConfig", "train_from_corpus"]

Progress = Callable[[str], None]


def _noop(msg: str) -> None:
    """Default progress callback: silent (a library never prints)."""


def discover_corpus(paths: Sequence[str | Path]) -> dict[str, list[Path]]:
    """Sort corpus files into ``train``, ``dev`` and ``test`` by file name.

    A directory contributes its top-level JSONL/CSV/Parquet files: names containing
    ``dev`` are dev data, ``test`` are held out (never trained on), catalogue and
    taxonomy files are skipped, everything else is training data. Files given directly
    are training data.
    """
    out: dict[str, list[Path]] = {"train": [], "dev": [], "test": []}
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
        Labelled JSONL / CSV / Parquet. Without dev files a stratified ``dev_fraction`` of
        the training data is held out for the abstention threshold and the matcher.
    taxonomy : Taxonomy or path, optional
        The label set; without one, the labels found in the data (any strings).
    guidelines : path, optional
        A catalogue in the same taxonomy; with ``guideline_id`` labels on the dev data
        the matcher's weights and coverage threshold are learned.
    file_weights : dict, optional
        Sample weight per training file name (e.g. down-weight generated data).
    target_accuracy : float
        Dev accuracy the abstention threshold aims for.
    recalibrate_on_dev : bool
        Fit the probability temperature on the dev data (held out from the SVM).
    matcher_oof_folds : int
        Also learn the guideline matcher on full-weight training records, with topic
        probabilities from this many out-of-fold models (0: dev data only).
    semantic : bool
        Also learn a semantic head (:mod:`classifier.semantic`; needs the ``semantic`` extra):
        a logistic regression on sentence embeddings of the full-weight training records,
        blended with the lexical model on out-of-fold predictions of the same records.

    Returns
    -------
    Model
        Fitted, with ``meta`` holding the dev figures; save it with :func:`save_model`.
    """
    params = dict(params or {})
    if semantic:
        from .semantic import embedder_identity

        embedder_identity()  # fail now, not after the lexical model is trained, when the extra is missing
    train_files = [Path(f) for f in train_files]
    dev_files = [Path(f) for f in dev_files]
    if not train_files:
        raise CorpusError("no training files given; expected labelled JSONL, CSV or Parquet files")
    progress(f"reading {len(train_files)} training file(s)")
    train, weights = [], []
    for f in train_files:
        rs = read_requests([f], text_field=text_field, label_field=label_field)
        w = (file_weights or {}).get(f.name, 1.0)
        train.extend(rs)
        weights.extend([w] * len(rs))
    missing = [r.id for r in train if r.topic is None]
    if missing:
        raise CorpusError(f"{len(missing)} training records have no {label_field!r} label (first: {missing[0]}); "
                          "every training record needs one")
    if isinstance(taxonomy, (str, Path)):
        taxonomy = read_taxonomy(taxonomy)
    labels = sorted({r.topic for r in train})
    if taxonomy is None:
        taxonomy = Taxonomy.from_labels(labels)
    else:
        bad = [t for t in labels if t not in taxonomy]
        if bad:
            raise CorpusError(f"training label {bad[0]!r} is not in the taxonomy; valid: {', '.join(taxonomy.ids)}")
    dev = [r for f in dev_files for r in read_requests([f], text_field=text_field, label_field=label_field)]
    if not dev:
        from sklearn.model_selection import train_test_split

        idx = np.arange(len(train))
        tr, dv = train_test_split(idx, test_size=dev_fraction, random_state=0, stratify=[r.topic for r in train])
        dev = [train[i] for i in dv]
        train = [train[i] for i in tr]
        weights = [weights[i] for i in tr]
        progress(f"no dev file: held out {len(dev)} records ({dev_fraction:.0%}) as dev data")
    clf = TopicClassifier(**params)
    progress(f"fitting on {len(train)} records, {len(labels)} labels")
    sw = None if all(w == 1.0 for w in weights) else weights
    clf.fit(_texts(train), [r.topic for r in train], sample_weight=sw)
    dev_x, dev_y = _texts(dev), [r.topic for r in dev]
    if recalibrate_on_dev and len(dev) >= 30:
        temp = clf.recalibrate(dev_x, dev_y)
        progress(f"temperature {temp:.3f} fitted on {len(dev)} dev records")
    elif recalibrate_on_dev:
        progress(f"only {len(dev)} dev records: keeping the cross-validated calibration")
    thr = clf.choose_threshold(dev_x, dev_y, target_accuracy=target_accuracy)
    progress(f"abstention threshold {thr:.3f} (dev accuracy target {target_accuracy:.2f})")
    meta: dict[str, Any] = {
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "training_data": {"files": [f.name for f in train_files], "dev_files": [f.name for f in dev_files],
                          "sha256": _hash_files(train_files + dev_files), "n_train": len(train), "n_dev": len(dev),
                          "file_weights": file_weights or {}},
        "taxonomy": [c.__dict__ for c in taxonomy.categories],
        "taxonomy_name": taxonomy.name,
        "text_field": text_field, "label_field": label_field, "target_accuracy": target_accuracy,
        "temperature": getattr(clf, "temperature_", None),
    }
    model = Model(classifier=clf, meta=meta)
    # full-weight training records, with topic margins and probabilities from models that did not
    # see them (out-of-fold): for the matcher and for the semantic head's blend
    extra = [i for i, (r, w) in enumerate(zip(train, weights)) if w >= 1.0 and r.topic is not None]
    folds = matcher_oof_folds or 5
    oof_cache: list = []

    def oof() -> tuple[np.ndarray, np.ndarray]:
        if not oof_cache:
            progress(f"out-of-fold topic probabilities for {len(extra)} training records ({folds} folds)")
            oof_cache.append(_oof_proba(train, weights, extra, params, folds, list(clf.classes_), margins=True))
        return oof_cache[0]

    if semantic:
        if len(extra) < 5 * folds:
            raise CorpusError(f"--semantic needs at least {5 * folds} full-weight training records to fit its blend "
                              f"on out-of-fold predictions; found {len(extra)}")
        from .semantic import Embedder, fit_semantic_head

        emb = Embedder(redactor=clf.processor_.redactor)
        progress(f"semantic view: embedding {len(extra)} full-weight training records")
        all_texts = _texts(train)
        E = emb.embed([all_texts[i] for i in extra])
        progress(f"semantic view: {emb.stats['embedded']} embedded, {emb.stats['disk_hits']} from the cache; "
                 "fitting the head and its blend on out-of-fold predictions")
        oof_margins = oof()[1]
        model.semantic = fit_semantic_head(E, [train[i].topic for i in extra], [str(c) for c in clf.classes_],
                                           np.arange(len(extra)), oof_margins, clf.predictor_.calibrate(oof_margins),
                                           target_accuracy=target_accuracy, embedder=emb.identity,
                                           max_chars=emb.max_chars)
        rep = model.semantic.report
        progress(f"semantic view: C {rep['C']}, blend {model.semantic.blend['method']} "
                 f"(cross-validated log-loss {rep['blend_cv_log_loss']}), cascade below lexical confidence "
                 f"{model.semantic.cascade_threshold:.2f} ({rep['oof_embedded_share_cascade']:.0%} of out-of-fold "
                 f"records), out-of-fold accuracy {rep['oof_accuracy']}")
    if guidelines is not None:
        gl = read_guidelines(guidelines, taxonomy)
        model.catalogue = gl
        match = [r for r in dev if r.topic is not None]
        proba = clf.predict_proba(_texts(match)) if match else None
        # More labelled requests for the matcher: full-weight training records, with topic
        # probabilities from models that did not see them (out-of-fold), so the matcher does
        # not learn to trust in-sample confidence.
        if matcher_oof_folds and len(extra) >= 5 * matcher_oof_folds and any(train[i].guideline_id for i in extra):
            match = match + [train[i] for i in extra]
            proba = oof()[0] if proba is None else np.vstack([proba, oof()[0]])
        if any(r.guideline_id for r in match):
            progress(f"learning guideline matcher on {len(match)} records")
            cat = Catalogue(gl, clf.processor_, taxonomy, term_weights=clf.term_weights())
            agent = [r.topic in taxonomy and taxonomy[r.topic].agents_own for r in match]
            meta["matcher"] = fit_matcher(cat, _texts(match), [r.guideline_id for r in match], proba,
                                          [str(c) for c in clf.classes_], days=[r.local_date for r in match],
                                          agent_topic=agent, taxonomy=taxonomy,
                                          gold_avoidable=[_gold_avoidable(r, gl, taxonomy) for r in match])
            meta["matcher"]["catalogue"] = Path(guidelines).name
    progress("evaluating on dev data")
    meta["dev_metrics"] = classification_metrics(clf, dev_x, dev_y)
    if model.semantic is not None:
        meta["semantic_metrics"] = {"dev": {m: classification_metrics(model.with_semantic(m).predictor, dev_x, dev_y)
                                            for m in ("cascade", "all")}}
    return model


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
    """Accuracy, macro-F1, per-class figures, confusion matrix, calibration and abstention."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    y = np.asarray(y, dtype=object)
    embedded = None
    if hasattr(clf, "predict_proba_info"):  # the semantic view: which requests went through its head
        proba, embedded = clf.predict_proba_info(texts)
    else:
        proba = clf.predict_proba(texts)
    pred = clf.classes_[proba.argmax(axis=1)]
    labels = sorted(set(clf.classes_) | set(y))
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    conf = proba.max(axis=1)
    correct = pred == y
    ece, table = expected_calibration_error(conf, correct)
    kept = conf >= clf.threshold_
    extra = {} if embedded is None else {"semantic_mode": clf.mode,
                                         "embedded_share": round(float(np.mean(embedded)) if len(y) else 0.0, 4)}
    return {**extra,
        "n": int(len(y)),
        "accuracy": round(float(accuracy_score(y, pred)), 4),
        "macro_f1": round(float(f1_score(y, pred, average="macro", labels=labels, zero_division=0)), 4),
        "per_class": {lab: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4),
                            "f1": round(float(f[i]), 4), "support": int(s[i])} for i, lab in enumerate(labels)},
        "confusion": {"labels": labels, "matrix": confusion_matrix(y, pred, labels=labels).tolist()},
        "ece": round(ece, 4), "reliability": table,
        "threshold": round(float(clf.threshold_), 4),
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
        Sample weight per training file name.
    target_accuracy : float
        Dev accuracy the review threshold aims for.
    search : bool
        Pick ``C`` and character n-grams by dev macro-F1 first.
    cv_folds : int
        Also report k-fold cross-validation on the training files (0: no).
    text_field, label_field : str
        Field names in the corpus files.
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
    semantic: bool = False

    SEARCH_GRID: ClassVar[tuple[dict, ...]] = tuple({"C": c, "char_ngrams": ch} for c in (0.25, 0.5, 1.0)
                                                    for ch in (False, True))


def train_from_corpus(corpus: Sequence[str | Path], config: TrainingConfig = TrainingConfig(), *,
                      dev_files: Sequence[str | Path] = (), taxonomy: str | Path | None = None,
                      guidelines: str | Path | None = None, transfer_dir: str | Path | None = None,
                      reviewed: Sequence[str | Path] = (), reviewed_weight: float = 1.0,
                      progress: Progress = _noop) -> Model:
    """Train from corpus files or folders the way ``tukipyynto train`` does, and score what is held out.

    Files in a folder are sorted by name (``*dev*`` dev, ``*test*`` held out, the rest training
    data; ``taxonomy.json`` and ``guidelines.jsonl`` of the first folder are used unless given).
    With ``config.search`` the grid ``TrainingConfig.SEARCH_GRID`` is scored on the dev data
    first. The test split and the transfer set are scored only, never trained or tuned on.

    Returns
    -------
    Model
        Fitted, with ``meta`` holding dev, test, transfer and cross-validation figures.
    """
    import tempfile

    found = discover_corpus(corpus)
    dev = [Path(p) for p in dev_files] or found["dev"]
    file_weights = dict(config.file_weights)
    added = []
    tmp = tempfile.TemporaryDirectory(prefix="tukipyynto-reviewed-")
    if reviewed:
        from .estimate import read_reviewed
        from .io import write_jsonl

        keep = ("id", "channel", "sent_at", "subject", "text", "topic", "guideline_id", "avoidable")
        for k, rf in enumerate(reviewed):
            rev = [r for r in read_reviewed(rf).values() if r.get("topic") and isinstance(r.get("text"), str)]
            name = f"reviewed{k}-{Path(rf).stem}.jsonl"
            write_jsonl(({f: r.get(f) for f in keep} for r in rev), Path(tmp.name) / name)
            found["train"].append(Path(tmp.name) / name)
            queues: dict[str, int] = {}
            for r in rev:
                queues[r.get("queue") or "?"] = queues.get(r.get("queue") or "?", 0) + 1
            added.append({"file": Path(rf).name, "trained_as": name, "n": len(rev), "weight": reviewed_weight,
                          "queues": queues})
            file_weights[name] = reviewed_weight
            progress(f"reviewed: {len(rev)} requests from {rf} (weight {reviewed_weight})")
    folders = [Path(c) for c in corpus if Path(c).is_dir()]
    if taxonomy is None:
        taxonomy = next((f / "taxonomy.json" for f in folders if (f / "taxonomy.json").exists()), None)
        if taxonomy:
            progress(f"taxonomy: {taxonomy}")
    if guidelines is None:
        guidelines = next((f / "guidelines.jsonl" for f in folders if (f / "guidelines.jsonl").exists()), None)
    params = dict(config.params)
    progress(f"training files: {', '.join(p.name for p in found['train'])}; "
             f"dev: {', '.join(p.name for p in dev) or '(hold-out)'}")
    tf, lf = config.text_field, config.label_field
    if config.search:
        best: tuple[float, dict] | None = None
        for cand in config.SEARCH_GRID:
            m = train_model(found["train"], dev, taxonomy, None, text_field=tf, label_field=lf,
                            params={**params, **cand}, file_weights=file_weights,
                            target_accuracy=config.target_accuracy)
            f1 = m.meta["dev_metrics"]["macro_f1"]
            progress(f"search: {cand}: dev macro-F1 {f1:.4f}")
            if best is None or f1 > best[0]:
                best = (f1, cand)
        params.update(best[1])
        progress(f"search: best {best[1]} (dev macro-F1 {best[0]:.4f})")
    model = train_model(found["train"], dev, taxonomy, guidelines, text_field=tf, label_field=lf, params=params,
                        file_weights=file_weights, target_accuracy=config.target_accuracy, semantic=config.semantic,
                        progress=progress)
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
        model.meta["cross_validation"] = cross_validate(found["train"], params, config.cv_folds, tf, lf, progress)
        progress(f"{config.cv_folds}-fold CV macro-F1 {model.meta['cross_validation']['macro_f1_mean']:.4f}")
    model.meta["training_config"] = {"params": params, "file_weights": dict(config.file_weights),
                                     "target_accuracy": config.target_accuracy, "search": config.search,
                                     "cv_folds": config.cv_folds, "semantic": config.semantic}
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
