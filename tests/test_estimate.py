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


# ---------------------------------------------------------------------------------------------
# the report's estimates: small samples, constant values, what is not used, the tilted design

from classifier.estimate import (MIN_REVIEWS, corrected_mean, corrected_ratio, reviews_for_margin,  # noqa: E402
                                 selection_probabilities)


def _reviewed(rows, k, topic=lambda r: r["predicted"]["topic"], **kw):
    return {r["id"]: {"id": r["id"], "topic": topic(r), "avoidable": topic(r) == "a", "guideline_id": None,
                      "queue": "random", **kw} for r in rows[:k]}


def test_two_reviews_give_no_corrected_estimate_and_say_how_many_are_needed(tmp_path):
    rows = _rows(300)
    est = review_estimates(rows, _reviewed(rows, 2, topic=lambda r: "b"), ["a", "b"])
    assert est["avoidable"] is None and not est["review_topics"]
    assert est["needed"] == MIN_REVIEWS - 2 == 8
    overall = est["review_avoidable"][0]
    assert overall["estimate"] is None and overall["needed"] == 8
    # and the report says so instead of a 0.0 % [0.0, 0.0] row
    rep = build_report(rows, Taxonomy.from_labels(["a", "b"]), reviewed=_reviewed(rows, 2, topic=lambda r: "b"),
                       lang="en")
    assert len(rep.avoidable_overall) == 1 and rep.review["needed"] == 8
    from classifier.report import write_report

    md = write_report(rep, tmp_path)["md"].read_text(encoding="utf-8")
    assert "2 requests of the sample reviewed so far: a corrected estimate needs at least 10 (8 more)" in md


def test_intervals_never_collapse_while_requests_are_unreviewed():
    rows = _rows(300)
    # every reviewed value is equal: all 30 reviewed requests are "b" and not avoidable
    est = review_estimates(rows, _reviewed(rows, 30, topic=lambda r: "b"), ["a", "b"])
    assert est["avoidable"].width > 0.02 and est["avoidable"].ci_low == 0.0
    for r in est["review_topics"]:
        assert r["ci_high"] - r["ci_low"] > 0.02
    # a topic no reviewed request has: its share is not 0.0 % [0.0, 0.0]
    a = next(r for r in est["review_topics"] if r["topic"] == "a")
    assert a["reviewed_n"] == 0 and a["ci_high"] > 0.05
    # hard 0/1 predictions that agree with every review: still not zero width
    e = corrected_mean(np.zeros(30), np.zeros(30), np.r_[np.zeros(200), np.ones(100)])
    assert e.width > 0
    # everything reviewed: the share is known
    y = np.r_[np.zeros(20), np.ones(10)]
    assert corrected_mean(y, y, y).width == 0 and corrected_mean(y, y, y).estimate == pytest.approx(1 / 3)


def test_groups_below_the_minimum_show_how_many_more_they_need():
    rows = _rows(300)
    rev = _reviewed(rows, 40)
    est = review_estimates(rows, rev, ["a", "b"], months={r["id"]: ("syyskuu" if k < 250 else "lokakuu")
                                                          for k, r in enumerate(rows)})
    for r in est["review_avoidable"]:
        if r["n_reviewed"] < MIN_REVIEWS:
            assert r["estimate"] is None and r["needed"] == MIN_REVIEWS - r["n_reviewed"]
        else:
            assert r["estimate"] is not None and r["needed"] == 0
    assert any(r["group"] == "topic" and r["estimate"] is not None for r in est["review_avoidable"])


def test_rows_of_other_tools_other_queues_and_other_ids_are_named_not_used():
    rows = _rows(200)
    rev = _reviewed(rows, 30)
    rev.update({r["id"]: {"id": r["id"], "topic": "a", "avoidable": True} for r in rows[30:35]})   # another tool
    rev.update({r["id"]: {"id": r["id"], "topic": "a", "avoidable": True, "queue": "uncertain"} for r in rows[35:37]})
    rev["elsewhere"] = {"id": "elsewhere", "topic": "a", "avoidable": True, "queue": "random"}
    est = review_estimates(rows, rev, ["a", "b"])
    assert est["n_reviewed"] == 30
    assert est["n_reviewed_no_queue"] == 5 and est["n_reviewed_other_queue"] == 2 and est["n_reviewed_unknown"] == 1
    note = " ".join(est["notes"])
    assert "5 written by another tool (no queue" in note and "2 from the uncertainty queue" in note
    assert "1 for requests not in the labelled rows (elsewhere)" in note


def test_a_reviewed_topic_outside_the_topics_never_becomes_a_class():
    rows = _rows(100)
    rev = _reviewed(rows, 20)
    rev[rows[3]["id"]]["topic"] = "no_such_topic"
    with pytest.raises(EstimateError, match="no_such_topic.*not one of the report's topics"):
        review_estimates(rows, rev, ["a", "b"])


def test_kylla_means_yes_in_reviews_too():
    rows = _rows(200)
    plain = _reviewed(rows, 30)
    finnish = {k: {**v, "avoidable": "kyllä" if v["avoidable"] else "ei"} for k, v in plain.items()}
    a, b = review_estimates(rows, plain, ["a", "b"]), review_estimates(rows, finnish, ["a", "b"])
    assert a["avoidable"].estimate == b["avoidable"].estimate


def test_small_samples_cover_rare_shares():
    """1,000 random samples of 10 and 30 from a population with a 4 % topic the model mostly misses."""
    rng = np.random.default_rng(5)
    N = 300
    y = (rng.random(N) < 0.04).astype(float)
    f = np.clip(np.where(y > 0, 0.3, 0.02) + rng.normal(0, 0.01, N), 0, 1)   # the model sees a third of it
    for n in (10, 30):
        cover = 0
        for _ in range(1000):
            d = rng.choice(N, n, replace=False)
            e = corrected_mean(y[d], f[d], f)
            cover += e.ci_low <= y.mean() <= e.ci_high
        assert cover >= 930, (n, cover)


def test_tilted_draws_are_unbiased_and_narrower():
    """Weighted draws toward uncertain requests: the interval covers and is narrower than a random sample's.

    (A population large enough that the random sample's finite-population correction, which the
    draws with replacement do not get, does not decide the comparison.)
    """
    rng = np.random.default_rng(2)
    N = 2000
    p = rng.beta(0.4, 0.4, N)                                 # calibrated probabilities, many near 0 or 1
    y = (rng.random(N) < p).astype(float)
    q = selection_probabilities(p)
    assert q.sum() == pytest.approx(1.0) and q.min() >= 0.2 / N - 1e-12
    cover_t = cover_r = 0
    w_t, w_r = [], []
    for _ in range(500):
        d = rng.choice(N, 60, replace=True, p=q)
        e = corrected_mean(y[d], p[d], p, weights=1 / q[d])
        cover_t += e.ci_low <= y.mean() <= e.ci_high
        w_t.append(e.width)
        r = rng.choice(N, 60, replace=False)
        e = corrected_mean(y[r], p[r], p)
        cover_r += e.ci_low <= y.mean() <= e.ci_high
        w_r.append(e.width)
    assert cover_t >= 465 and cover_r >= 465
    assert np.mean(w_t) < 0.92 * np.mean(w_r)
    # the number of reviews for ±5 points: fewer with the tilted queue
    assert reviews_for_margin(p, selection=q) < reviews_for_margin(p) <= N


def test_ratio_matches_the_mean_when_the_group_is_everything():
    rng = np.random.default_rng(1)
    y, f = (rng.random(300) < 0.4).astype(float), rng.random(300)
    d = rng.choice(300, 50, replace=False)
    one = np.ones(300)
    r = corrected_ratio(y[d], f[d], f, one[d], one[d], one)
    m = corrected_mean(y[d], f[d], f)
    assert r.estimate == pytest.approx(m.estimate) and r.width == pytest.approx(m.width)


def test_tilted_reviews_count_once_per_draw_and_report_skipped_draws(tmp_path):
    from classifier.estimate import select_sample

    rows = _rows(200)
    ids = [r["id"] for r in rows]
    rev = {}
    # draws 1..30: request k drawn at position k, and x0 also at position 5 (drawn twice); position 7 skipped
    for k in range(1, 31):
        if k in (5, 7):
            continue
        rid = ids[k] if k != 1 else ids[0]
        pos = [1, 5] if k == 1 else [k]
        rev[rid] = {"id": rid, "topic": rows[ids.index(rid)]["predicted"]["topic"], "avoidable": True, "guideline_id": None,
                    "queue": "tilted", "sample_seed": 0, "sample_size": 40, "sample_positions": pos,
                    "selection_probability": 0.01 if k % 2 else 0.004}
    s = select_sample(ids, rev)
    assert s.design == "tilted" and s.n_reviews == 28 and len(s.index) == 29      # x0 counts for two draws
    assert s.skipped == 1 and any("1 draw of the tilted sample before the last reviewed one is not" in n for n in s.notes())
    assert sorted(set(np.round(s.weights, 6))) == [100.0, 250.0]
    est = review_estimates(rows, rev, ["a", "b"])
    assert est["design"] == "tilted" and est["avoidable"].method == "ppi_weighted" and est["n_reviewed"] == 28
    rep = build_report(rows, Taxonomy.from_labels(["a", "b"]), reviewed=rev, lang="en")
    from classifier.report import write_report

    md = write_report(rep, tmp_path)["md"].read_text(encoding="utf-8")
    assert "tilted sample (uncertain requests are drawn more often" in md
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
