"""Monthly trends and alerts: shares with intervals, Fisher's test, Holm's correction."""

from __future__ import annotations

from collections import Counter

import pytest

from classifier.report.tables.trends import MonthCounts, alerts, fisher_p, holm, months_between, topic_trends


def _m(**topics) -> MonthCounts:
    c = MonthCounts(topics=Counter(topics))
    c.n = sum(topics.values())
    return c


def test_months_between_crosses_years():
    assert months_between("2016-11", "2017-02") == ["2016-11", "2016-12", "2017-01", "2017-02"]


def test_topic_trends_list_every_month_and_topic_with_wilson_intervals():
    rows = topic_trends({"2016-08": _m(a=30, b=10), "2016-10": _m(a=5, b=15)}, ["a", "b", "c"])
    assert [r["period"] for r in rows] == ["2016-08"] * 3 + ["2016-09"] * 3 + ["2016-10"] * 3
    aug_a = rows[0]
    assert aug_a["share"] == pytest.approx(0.75) and aug_a["total"] == 40
    assert aug_a["ci_low"] < 0.75 < aug_a["ci_high"]
    sep = rows[3:6]
    assert all(r["share"] is None and r["ci_low"] is None for r in sep)  # no contacts that month
    assert rows[8]["topic"] == "c" and rows[8]["share"] == 0.0


def test_holm_is_step_down_and_monotone():
    assert holm([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert holm([]) == []


def test_fisher_matches_a_known_value():
    # the tea-tasting table: one-sided 0.2429, two-sided 0.4857
    assert fisher_p(3, 4, 1, 4) == pytest.approx(0.4857, abs=1e-4)


def test_a_jump_in_one_topic_is_an_alert_and_noise_is_not():
    base = dict(a=100, b=100, c=100, d=100)
    counts = {"2016-06": _m(**base), "2016-07": _m(**base), "2016-08": _m(**base),
              "2016-09": _m(a=100, b=104, c=96, d=180)}  # d jumps; b and c wobble
    got = alerts(counts, ["a", "b", "c", "d"])
    assert {(r["topic"], r["comparison"]) for r in got} == {("d", "month"), ("d", "quarter")}
    d = got[0]
    assert d["direction"] == "up" and d["k"] == 180 and d["p_adjusted"] < 0.05
    assert d["p_adjusted"] >= d["p_value"]


def test_the_correction_counts_every_topic_compared():
    # the same change, significant alone, is not once it is one of many comparisons
    one = {"2016-08": _m(a=40, z=60), "2016-09": _m(a=55, z=45)}
    raw = fisher_p(55, 100, 40, 100)
    assert raw < 0.05
    many_topics = {f"t{i}": 50 for i in range(20)}
    many = {"2016-08": _m(a=40, z=60, **many_topics), "2016-09": _m(a=55, z=45, **many_topics)}
    assert not alerts(many, ["a", "z"])
    assert alerts(one, ["a", "z"], include_all=True)[0]["p_adjusted"] >= raw


def test_the_avoidable_share_is_compared_too():
    def m(k, n):
        c = _m(a=n)
        c.decided, c.avoidable = n, k
        return c

    got = alerts({"2016-08": m(20, 200), "2016-09": m(60, 200)}, ["a"], avoidable_label="vältettävissä")
    # the quarter before is August alone here: both comparisons see the rise
    assert {(r["measure"], r["label"], r["direction"], r["comparison"]) for r in got} == {
        ("avoidable", "vältettävissä", "up", "month"), ("avoidable", "vältettävissä", "up", "quarter")}


def test_no_base_no_comparison():
    assert alerts({"2016-09": _m(a=10)}, ["a"], include_all=True) == []
    assert alerts({}, ["a"]) == []
