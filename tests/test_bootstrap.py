import numpy as np
import pytest

from classifier.bootstrap import _platt_batch, estimate_share, estimate_shares


def test_platt_batch_recovers_known_parameters():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(2, 20000))
    y = (rng.random(z.shape) < 1 / (1 + np.exp(-(2.0 * z - 0.5)))).astype(float)
    a, b = _platt_batch(z, y)
    assert a == pytest.approx([2.0, 2.0], abs=0.1) and b == pytest.approx([-0.5, -0.5], abs=0.1)


def test_estimate_is_the_mean_probability_and_the_interval_covers_it():
    p = np.linspace(0.05, 0.95, 200)
    e = estimate_share(p)
    assert e.estimate == pytest.approx(p.mean()) and e.ci_low < e.estimate < e.ci_high and e.n == 200


def test_calibration_uncertainty_widens_the_interval():
    rng = np.random.default_rng(1)
    p = rng.uniform(0.1, 0.9, 2000)
    small = {"p": rng.uniform(0, 1, 60).tolist()}
    small["y"] = (rng.random(60) < np.asarray(small["p"])).astype(int).tolist()
    plain = estimate_share(p)
    with_cal = estimate_share(p, small)
    assert (with_cal.ci_high - with_cal.ci_low) > 1.5 * (plain.ci_high - plain.ci_low)


def test_interval_covers_the_truth_when_probabilities_are_calibrated():
    rng = np.random.default_rng(2)
    covered = 0
    for k in range(40):
        p = rng.beta(1, 2, 400)
        y = rng.random(400) < p
        cal_p = rng.beta(1, 2, 800)
        cal = {"p": cal_p.tolist(), "y": (rng.random(800) < cal_p).astype(int).tolist()}
        e = estimate_share(p, cal, n_boot=400, seed=k)
        covered += e.ci_low <= y.mean() <= e.ci_high
    assert covered >= 35


def test_groups_and_empty_groups():
    out = estimate_shares({"a": [0.2, 0.4], "b": []})
    assert out["a"].estimate == pytest.approx(0.3) and out["b"].estimate is None and out["b"].n == 0


def test_a_large_group_is_drawn_from_the_normal_limit_of_the_same_resampling(monkeypatch):
    import classifier.bootstrap as bootstrap

    rng = np.random.default_rng(3)
    p = np.round(rng.beta(2, 3, 30000), 4)
    cal_p = rng.beta(2, 3, 300)
    cal = {"p": cal_p.tolist(), "y": (rng.random(300) < cal_p).astype(int).tolist()}
    limit = estimate_share(p, cal)  # 30,000 > RESAMPLE_ROWS_UP_TO: the normal limit
    monkeypatch.setattr(bootstrap, "RESAMPLE_ROWS_UP_TO", 10**6)
    rows = estimate_share(p, cal)  # every row drawn, n_boot x n
    assert limit.estimate == rows.estimate
    width = rows.ci_high - rows.ci_low
    assert abs(limit.ci_low - rows.ci_low) < 0.1 * width and abs(limit.ci_high - rows.ci_high) < 0.1 * width
