"""Prediction-powered estimates: the formula, ppi-python agreement, coverage, and the report's ppi row."""

from __future__ import annotations

import json

import numpy as np
import pytest

from classifier.estimate import EstimateError, classical_mean, ppi_mean, ppi_ratio, read_reviewed, review_estimates
from classifier.report import build_report
from classifier.records import Taxonomy


def _data(seed=0, n=60, N=600, acc=0.85):
    rng = np.random.default_rng(seed)
    y_all = (rng.random(N) < 0.4).astype(float)
    f_all = np.where(rng.random(N) < acc, y_all, 1 - y_all)
    idx = rng.choice(N, n, replace=False)
    return y_all, f_all, idx


def test_ppi_mean_is_the_formula():
    y_all, f_all, idx = _data()
    y, f = y_all[idx], f_all[idx]
    e = ppi_mean(y, f, f_all, lam=1.0, clip=False)
    theta = f_all.mean() + (y - f).mean()
    se = np.sqrt(f_all.var() / len(f_all) + (y - f).var() / len(y))
    assert e.estimate == pytest.approx(theta)
    assert (e.ci_low, e.ci_high) == pytest.approx((theta - 1.959964 * se, theta + 1.959964 * se), abs=1e-6)
    assert e.method == "ppi" and e.n_reviewed == 60 and e.n_total == 600


@pytest.mark.parametrize("lam", [None, 1.0, 0.4])
def test_ppi_mean_matches_ppi_python(lam):
    ppi_py = pytest.importorskip("ppi_py", reason="ppi-python is not installed")
    y_all, f_all, idx = _data(3)
    f_soft = np.clip(f_all * 0.8 + 0.1, 0, 1)
    e = ppi_mean(y_all[idx], f_soft[idx], f_soft, alpha=0.05, lam=lam, clip=False)
    lo, hi = ppi_py.ppi_mean_ci(y_all[idx], f_soft[idx], f_soft, alpha=0.05, lam=lam)
    pe = ppi_py.ppi_mean_pointestimate(y_all[idx], f_soft[idx], f_soft, lam=lam)
    assert e.estimate == pytest.approx(float(np.squeeze(pe)))
    assert (e.ci_low, e.ci_high) == pytest.approx((float(np.squeeze(lo)), float(np.squeeze(hi))))


def test_ppi_covers_and_beats_the_sample_alone_with_a_good_model():
    covered, widths, cwidths = 0, [], []
    for s in range(200):
        y_all, f_all, idx = _data(s, acc=0.9)
        e = ppi_mean(y_all[idx], f_all[idx], f_all)
        covered += e.ci_low <= y_all.mean() <= e.ci_high
        widths.append(e.width)
        cwidths.append(classical_mean(y_all[idx]).width)
    assert covered >= 180
    assert np.mean(widths) < np.mean(cwidths)


def test_ppi_stays_valid_with_a_useless_model():
    covered = 0
    for s in range(200):
        y_all, _, idx = _data(s)
        f_all = np.random.default_rng(s + 1000).random(len(y_all))  # noise
        e = ppi_mean(y_all[idx], f_all[idx], f_all)
        covered += e.ci_low <= y_all.mean() <= e.ci_high
    assert covered >= 180


def test_ratio_and_errors():
    y_all, f_all, idx = _data(1)
    b_all = np.ones_like(y_all)
    r = ppi_ratio(y_all[idx], f_all[idx], f_all, b_all[idx], b_all[idx], b_all)
    m = ppi_mean(y_all[idx], f_all[idx], f_all, lam=1.0)
    assert r.estimate == pytest.approx(m.estimate) and r.width == pytest.approx(m.width)
    with pytest.raises(EstimateError):
        ppi_mean([1.0], [1.0], [1.0, 0.0])
    with pytest.raises(ValueError):
        ppi_mean([1.0, 0.0], [1.0], [1.0, 0.0])


def _rows(n=200):
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        t = "a" if rng.random() < 0.5 else "b"
        rows.append({"id": f"x{i}", "channel": "email", "sent_at": "2016-09-05T10:00:00+03:00", "status": "ok",
                     "predicted": {"topic": t, "confidence": 0.9, "candidates": [[t, 0.9], ["b" if t == "a" else "a", 0.1]],
                                   "guideline_id": None, "avoidable": t == "a", "reason": "guideline_existed" if t == "a" else "no_guideline"}})
    return rows


def test_report_gets_a_ppi_row_and_review_tables(tmp_path):
    rows = _rows()
    p = tmp_path / "rev.jsonl"
    with open(p, "w", encoding="utf-8") as fh:
        for k, r in enumerate(rows[:40]):
            truth = "b" if k % 4 == 0 else r["predicted"]["topic"]
            fh.write(json.dumps({"id": r["id"], "topic": truth, "avoidable": truth == "a", "guideline_id": None,
                                 "queue": "random", "reviewer": "t", "reviewed_at": "x"}) + "\n")
        fh.write(json.dumps({"id": rows[50]["id"], "topic": "a", "avoidable": True, "queue": "uncertain"}) + "\n")
        fh.write(json.dumps({"id": rows[0]["id"], "retracted": True, "queue": "random"}) + "\n")
        fh.write('{"id": "torn')
    rev = read_reviewed(p)
    assert len(rev) == 40 and rows[0]["id"] not in rev
    tax = Taxonomy.from_labels(["a", "b"])
    rep = build_report(rows, tax, reviewed=rev)
    model_row, ppi_row = rep.avoidable_overall
    assert model_row["method"] in ("model_bootstrap", "wilson_labels") and model_row["n_reviewed"] == 0
    assert ppi_row["method"] == "ppi" and ppi_row["n_reviewed"] == 39
    assert ppi_row["estimate"] < model_row["estimate"]   # reviewers moved a quarter of "a" to "b"
    assert ppi_row["ci_low"] <= ppi_row["estimate"] <= ppi_row["ci_high"]
    for k in ("estimate", "ci_low", "ci_high", "method", "n_reviewed"):
        assert k in rep.columns["avoidable_overall"]
    assert rep.review["n_other"] == 1 and rep.review["n_reviewed"] == 39
    acc = {r["measure"]: r for r in rep.review_accuracy}
    assert acc["topic_accuracy"]["n"] == 39 and acc["topic_accuracy"]["correct"] < 39
    assert rep.review_confusion and rep.review_topics
    plain = build_report(rows, tax)
    assert len(plain.avoidable_overall) == 1 and not plain.review_topics and not plain.review


def test_review_estimates_use_probabilities_when_present():
    rows = _rows(100)
    for r in rows:
        r["predicted"]["avoidable_probability"] = 0.8 if r["predicted"]["avoidable"] else 0.2
    rev = {r["id"]: {"id": r["id"], "topic": r["predicted"]["topic"], "avoidable": r["predicted"]["avoidable"],
                     "queue": "random"} for r in rows[:30]}
    est = review_estimates(rows, rev, ["a", "b"])
    hard = review_estimates([{**r, "predicted": {k: v for k, v in r["predicted"].items() if k != "avoidable_probability"}}
                             for r in rows], rev, ["a", "b"])
    assert est["avoidable"].estimate == pytest.approx(hard["avoidable"].estimate, abs=0.1)
    assert est["review_avoidable"][0]["model_share"] != hard["review_avoidable"][0]["model_share"]


def test_reviewed_rows_count_with_their_out_of_fold_prediction():
    """Rows labelled with the reviews carry the reviewer's decision; the correction compares with out_of_fold."""
    rows = _rows(100)
    rev = {}
    adapted = []
    for k, r in enumerate(rows):
        p = dict(r["predicted"], avoidable_probability=0.7 if r["predicted"]["avoidable"] else 0.3)
        if k < 30:
            truth = k % 3 != 0  # the reviewer disagrees with the model now and then
            rev[r["id"]] = {"id": r["id"], "topic": p["topic"], "avoidable": truth, "queue": "random"}
            decided = {"topic": p["topic"], "status": "reviewed", "candidates": [[p["topic"], 1.0]],
                       "avoidable": truth, "avoidable_probability": float(truth), "out_of_fold": p}
            adapted.append({**r, "predicted": decided})
        else:
            adapted.append({**r, "predicted": p})
    plain = [{**r, "predicted": r["predicted"]["out_of_fold"] if "out_of_fold" in r["predicted"] else r["predicted"]}
             for r in adapted]
    est, ref = review_estimates(adapted, rev, ["a", "b"]), review_estimates(plain, rev, ["a", "b"])
    assert est["n_cross_fitted"] == 30 and ref["n_cross_fitted"] == 0
    assert est["avoidable"].estimate == pytest.approx(ref["avoidable"].estimate)
    assert (est["avoidable"].ci_low, est["avoidable"].ci_high) == pytest.approx((ref["avoidable"].ci_low, ref["avoidable"].ci_high))
    acc = {r["measure"]: r for r in est["review_accuracy"]}
    assert acc["avoidable_accuracy"]["correct"] < 30  # measured on the model's predictions, not the reviewer's own
    # a CSV cell holds the block as JSON text
    csv_like = [{**r, "predicted": {**r["predicted"], "out_of_fold": json.dumps(r["predicted"]["out_of_fold"])}}
                if "out_of_fold" in r["predicted"] else r for r in adapted]
    assert review_estimates(csv_like, rev, ["a", "b"])["avoidable"].estimate == pytest.approx(ref["avoidable"].estimate)
