"""Adaptation to a catalogue from reviewed requests (classifier.guidelines.adapt) and the Assessor's cross-fitting."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from classifier.guidelines import Adaptation, Assessor, ReviewLabel, cross_fit, fit_adaptation
from classifier.guidelines.adapt import STRENGTHS, _choose, _coverage_loss, _fit_coverage, _fit_rank, _fit_topic
from classifier.model import load
from classifier.records import Request, parse_datetime

MOVE = "asiakas muuttaa uuteen osoitteeseen uusi sopimus tuote aloituspäivä valitse tee".split()
OTHER = "kysyy myös asiasta tänään huomenna soitti viestissä tarkemmin kiitos hei terveisin paljon kuitenkin".split()


@pytest.fixture
def assessor(tiny_model_dir, tiny_dir):
    return Assessor(load(tiny_model_dir), catalogue=tiny_dir / "guidelines.jsonl")


def _requests(n: int, seed: int = 0) -> list[Request]:
    """Requests about a move with more or fewer of the guideline's words (coverage scores spread out)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        words = list(rng.choice(MOVE, rng.integers(1, 7))) + list(rng.choice(OTHER, rng.integers(2, 10)))
        out.append(Request(id=f"r{seed}-{i:03d}", text=" ".join(words),
                           sent_at=parse_datetime("2016-05-02T10:00:00+03:00")))
    return out


def _strict_reviewer(assessor, reqs, noise: float = 0.05, seed: int = 1) -> list[ReviewLabel]:
    """A catalogue whose guideline covers only the clearest requests: the shipped threshold (0.5) is wrong here.

    The reviewer finds G-1 covering a request when its coverage score is above the median,
    with a few decisions the other way.
    """
    cov = np.array([a.coverage_probability for a in assessor.assess_with(reqs, [None])])
    cut = np.median(cov)
    flip = np.random.default_rng(seed).random(len(reqs)) < noise
    return [ReviewLabel("uusi", "G-1" if (c > cut) != f else None) for c, f in zip(cov, flip)]


def test_adaptation_learns_a_catalogue_whose_coverage_threshold_is_wrong(assessor):
    reqs = _requests(200)
    labels = _strict_reviewer(assessor, reqs)
    fit, held = slice(0, 60), slice(60, None)
    a = fit_adaptation(assessor, reqs[fit], labels[fit])
    truth = [lb.guideline_id is not None for lb in labels[held]]  # covered: avoidable (guideline_existed)
    before = assessor.assess_with(reqs[held], [None])
    after = assessor.assess_with(reqs[held], [a])
    acc_before = np.mean([x.avoidable == t for x, t in zip(before, truth)])
    acc_after = np.mean([x.avoidable == t for x, t in zip(after, truth)])
    assert acc_before < 0.7  # the shipped threshold calls nearly everything covered
    assert acc_after >= acc_before + 0.2
    assert a.coverage_shift < 0  # the adapted threshold is stricter
    assert a.fit["coverage"]["cv_loss"] < a.fit["coverage"]["cv_loss_shipped"]


def test_prior_shrinks_toward_the_shipped_model():
    rng = np.random.default_rng(3)
    z = rng.normal(0, 2, 400)
    y = (rng.random(400) < 1 / (1 + np.exp(-(z - 2.0)))).astype(float)
    best = np.zeros(400, dtype=int)
    # a stronger prior, or fewer reviews, stays nearer to (scale 1, shift 0)
    weak, strong = _fit_coverage(z, best, y, 1, 0.3, 1e6), _fit_coverage(z, best, y, 1, 30.0, 1e6)
    few = _fit_coverage(z[:12], best[:12], y[:12], 1, 3.0, 1e6)
    many = _fit_coverage(z, best, y, 1, 3.0, 1e6)
    assert abs(strong[1]) < abs(weak[1]) and abs(few[1]) < abs(many[1])
    assert many[1] == pytest.approx(-2.0, abs=0.6)


def test_cross_validation_keeps_the_shipped_calibration_when_it_is_right():
    rng = np.random.default_rng(5)
    z = rng.normal(0, 2, 300)
    y = (rng.random(300) < 1 / (1 + np.exp(-z))).astype(float)  # the shipped calibration is the truth
    best = np.zeros(300, dtype=int)
    grid = [(s, 1e6) for s in STRENGTHS]
    lam, info = _choose(lambda r, lam: _fit_coverage(z[r], best[r], y[r], 1, *lam),
                        lambda p, r: _coverage_loss(z[r], best[r], y[r], p), 300, grid, 0)
    s, t, _ = _fit_coverage(z, best, y, 1, *lam)
    assert abs(s - 1) < 0.25 and abs(t) < 0.3
    shifted = (rng.random(300) < 1 / (1 + np.exp(-(z + 3)))).astype(float)
    lam2, _ = _choose(lambda r, lam: _fit_coverage(z[r], best[r], shifted[r], 1, *lam),
                      lambda p, r: _coverage_loss(z[r], best[r], shifted[r], p), 300, grid, 0)
    assert lam2[0] < STRENGTHS[-1]  # a real shift is adapted


def test_topic_and_ranking_fits_move_toward_the_reviews():
    rng = np.random.default_rng(7)
    L = np.log(np.full((50, 3), 1 / 3))
    y = np.array([0] * 35 + [1] * 10 + [2] * 5)
    w = _fit_topic(L, y, 1.0)
    assert w[0] > w[1] > w[2]
    Z = rng.normal(0, 1, (40, 6))
    X = rng.random((40, 6, 2))
    g = np.full(40, 4)  # reviewers keep choosing guideline 4
    delta, dw = _fit_rank(Z, X, g, 1.0)
    assert int(np.argmax(delta)) == 4


def test_adaptation_is_stored_and_read_back(assessor):
    reqs = _requests(40)
    a = fit_adaptation(assessor, reqs, _strict_reviewer(assessor, reqs))
    b = Adaptation.from_dict(a.to_dict())
    assert b.catalogue_sha256 == assessor.catalogue.digest
    assert b.coverage_scale == pytest.approx(a.coverage_scale, abs=1e-5)
    assert dict(b.match_bias).keys() == dict(a.match_bias).keys()
    with pytest.raises(ValueError, match="unknown matcher feature"):
        Adaptation.from_dict({**a.to_dict(), "match_coef": {"no_such_feature": 1.0}})


def test_composition_equals_applying_both(assessor):
    reqs = _requests(30, seed=2)
    digest = assessor.catalogue.digest
    a = Adaptation(digest, coverage_scale=0.5, coverage_shift=-1.0, coverage_bias=(("G-1", 0.3),),
                   match_bias=(("G-2", 0.4),))
    b = Adaptation(digest, coverage_scale=2.0, coverage_shift=0.5, match_bias=(("G-2", -0.1), ("G-1", 0.2)))
    ab = a.then(b)
    ctx = assessor._context(reqs)
    pab = assessor._probs(ctx, ab)
    # b on top of a: the coverage logit is 2 * (the logit under a) + 0.5
    zab = assessor._coverage_logits(pab.X_old, pab.best_old, ab)
    zb_on_a = 2.0 * assessor._coverage_logits(pab.X_old, pab.best_old, a) + 0.5
    assert np.allclose(zab, zb_on_a)


def test_too_few_reviews_fit_nothing(assessor):
    reqs = _requests(2)
    a = fit_adaptation(assessor, reqs, [ReviewLabel("uusi", "G-1")] * 2)
    assert a.is_identity
    assert any("at least 10" in n for n in a.fit["notes"])
    cf = cross_fit(assessor, reqs, [ReviewLabel("uusi", "G-1")] * 2)
    assert cf.folds == () and cf.full is None and "no adaptation" in cf.notes[0]
    out = Assessor(assessor.model, catalogue=assessor.catalogue, adaptation=cf).assess(reqs)
    assert [o.topic_status for o in out] == ["reviewed", "reviewed"]  # the reviewer's decision still counts


def test_reviewed_rows_carry_the_decision_and_an_out_of_fold_prediction(assessor):
    reqs = _requests(40, seed=4)
    labels = _strict_reviewer(assessor, reqs)
    labels[0] = ReviewLabel("vaara", "G-3")  # misrouted: avoidable whatever the guideline
    cf = cross_fit(assessor, reqs, labels)
    others = _requests(10, seed=9)
    out = Assessor(assessor.model, catalogue=assessor.catalogue, adaptation=cf).assess(reqs + others)
    first = out[0].to_dict()
    assert first["status"] == "reviewed" and first["topic"] == "vaara" and first["avoidable"] is True
    assert first["reason"] == "misrouted" and first["avoidable_probability"] == 1.0
    oof = first["out_of_fold"]
    assert {"topic", "candidates", "coverage_probability", "avoidable_probability", "avoidable"} <= set(oof)
    assert oof["status"] != "reviewed"
    for o, lb in zip(out[1:40], labels[1:]):
        d = o.to_dict()
        assert d["status"] == "reviewed" and d["guideline_id"] == lb.guideline_id
        assert d["avoidable"] is (lb.guideline_id is not None)
    assert all("out_of_fold" not in o.to_dict() for o in out[40:])


@pytest.mark.slow
def test_a_reviews_own_label_never_changes_its_out_of_fold_prediction(assessor):
    reqs = _requests(60, seed=6)
    labels = _strict_reviewer(assessor, reqs)
    base = cross_fit(assessor, reqs, labels, seed=1)
    for i in (0, 17, 42):
        flipped = list(labels)
        flipped[i] = ReviewLabel("uusi", None if labels[i].guideline_id else "G-1")
        cf = cross_fit(assessor, reqs, flipped, seed=1)
        assert cf.fold_of == base.fold_of
        k = cf.fold_of[reqs[i].id]
        same = Assessor(assessor.model, catalogue=assessor.catalogue, adaptation=cf).assess([reqs[i]])[0]
        before = Assessor(assessor.model, catalogue=assessor.catalogue, adaptation=base).assess([reqs[i]])[0]
        # the fold that predicts it was fitted without its review: identical whatever the label says
        assert same.out_of_fold == before.out_of_fold
        assert cf.folds[k] == base.folds[k]
        # ... while the folds that saw the review did change (the test can tell)
        assert any(cf.folds[j] != base.folds[j] for j in range(len(cf.folds)) if j != k)


def test_unreviewed_rows_average_the_fold_adaptations(assessor):
    reqs = _requests(40, seed=8)
    cf = cross_fit(assessor, reqs, _strict_reviewer(assessor, reqs))
    new = _requests(5, seed=11)
    out = Assessor(assessor.model, catalogue=assessor.catalogue, adaptation=cf).assess(new)
    each = [assessor.assess_with(new, [a]) for a in cf.folds]
    for i, o in enumerate(out):
        assert o.avoidable_probability == pytest.approx(np.mean([e[i].avoidable_probability for e in each]))


def test_an_adaptation_for_another_catalogue_is_not_applied(assessor, tiny_model_dir, tiny_dir):
    other = dataclasses.replace(Adaptation("0" * 64, coverage_shift=-5.0))
    with pytest.raises(ValueError, match="another guideline catalogue"):
        Assessor(assessor.model, catalogue=assessor.catalogue, adaptation=other)
    model = load(tiny_model_dir)
    model.meta["adaptation"] = other.to_dict()
    a = Assessor(model, catalogue=tiny_dir / "guidelines.jsonl")
    assert any("adapted to another guideline catalogue" in w for w in a.warnings)
    reqs = _requests(5)
    assert [x.avoidable for x in a.assess(reqs)] == [x.avoidable for x in assessor.assess(reqs)]


def test_the_gate_keeps_the_model_where_the_adaptation_predicts_held_out_reviews_worse(assessor, monkeypatch):
    from classifier.guidelines import adapt as adapt_module

    reqs = _requests(40, seed=12)
    labels = _strict_reviewer(assessor, reqs)
    # an adaptation that calls every request covered, whatever the reviews say
    harmful = Adaptation(assessor.catalogue.digest, coverage_shift=8.0)
    monkeypatch.setattr(adapt_module, "_fit", lambda *args, **kwargs: harmful)
    ungated = cross_fit(assessor, reqs, labels, gate=False)
    assert ungated.folds == (harmful,) * 5
    cf = cross_fit(assessor, reqs, labels)
    assert cf.folds == (None,) * 5 and cf.figures["folds_adapted"] == 0
    assert cf.full.is_identity and cf.full.fit["applied"] is False
    assert any("not applied" in n for n in cf.notes) and any("5 of 5 fold" in n for n in cf.notes)
    # the figures are the gated ones (no change), the ungated ones are kept beside them
    assert cf.figures["after"]["avoidable_brier"] == cf.figures["before"]["avoidable_brier"]
    assert cf.figures["ungated_after"]["avoidable_brier"] > cf.figures["before"]["avoidable_brier"]
    new = _requests(5, seed=13)
    out = Assessor(assessor.model, catalogue=assessor.catalogue, adaptation=cf).assess(new)
    own = assessor.assess_with(new, [None])
    assert [o.avoidable_probability for o in out] == pytest.approx([o.avoidable_probability for o in own])


def test_the_gate_keeps_an_adaptation_that_predicts_held_out_reviews_better(assessor):
    reqs = _requests(60, seed=14)
    labels = _strict_reviewer(assessor, reqs)
    cf, ungated = cross_fit(assessor, reqs, labels), cross_fit(assessor, reqs, labels, gate=False)
    assert cf.figures["folds_adapted"] == 5 and cf.folds == ungated.folds
    assert cf.full == ungated.full and "applied" not in cf.full.fit
    assert cf.figures["after"]["avoidable_brier"] < cf.figures["before"]["avoidable_brier"]


def test_components_can_be_left_out(assessor):
    reqs = _requests(40, seed=15)
    labels = _strict_reviewer(assessor, reqs)
    cf = cross_fit(assessor, reqs, labels, components=("coverage",), gate=False)
    assert not cf.full.changes_topics and not cf.full.match_bias and not cf.full.match_coef
    assert cf.full.coverage_shift != 0.0
    assert any(n.startswith("topic priors: not asked for") for n in cf.notes)
    assert any(n.startswith("guideline ranking: not asked for") for n in cf.notes)
    none = fit_adaptation(assessor, reqs, labels, components=())
    assert none.is_identity
    with pytest.raises(ValueError, match="unknown adaptation component"):
        cross_fit(assessor, reqs, labels, components=("coverage", "threshold"))
