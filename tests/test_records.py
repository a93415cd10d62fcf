import datetime as dt

import pytest

from classifier.io import read_taxonomy
from classifier.records import Guideline, Request, expected_avoidable, local_date, parse_datetime


def g(published, retired=None, gid="G-1"):
    return Guideline(gid, "t", "b", "koulutus", ("uusi",), dt.date.fromisoformat(published),
                     dt.date.fromisoformat(retired) if retired else None)


def test_in_force_edges():
    x = g("2016-03-01", "2016-06-30")
    assert x.in_force(dt.date(2016, 3, 1))  # published the same day counts
    assert not x.in_force(dt.date(2016, 2, 29))
    assert x.in_force(dt.date(2016, 6, 30))  # up to and including the retired day
    assert not x.in_force(dt.date(2016, 7, 1))


def test_rule_branches(tiny_dir):
    tax = read_taxonomy(tiny_dir / "taxonomy.json")
    day = dt.date(2016, 5, 1)
    assert expected_avoidable("vaara", None, day, tax) is True  # misrouted is always avoidable
    assert expected_avoidable("vahvistus", g("2016-01-01"), day, tax) is False  # remit never
    assert expected_avoidable("uusi", None, day, tax) is False  # no guideline
    assert expected_avoidable("uusi", g("2016-01-01"), day, tax) is True
    assert expected_avoidable("uusi", g("2016-05-02"), day, tax) is False  # came later
    assert expected_avoidable("uusi", g("2015-01-01", "2016-04-30"), day, tax) is False  # retired the day before


def test_local_date_uses_helsinki_time():
    # 22:30 UTC on 31 May is already 1 June in Helsinki (+03:00)
    ts = parse_datetime("2016-05-31T22:30:00+00:00")
    assert local_date(ts) == dt.date(2016, 6, 1)
    assert parse_datetime("2016-05-31T10:00:00").utcoffset() == dt.timedelta(hours=3)


def test_bad_timestamp_raises_valueerror():
    with pytest.raises(ValueError, match="31.5.2016 klo 10|timestamp"):
        parse_datetime("31.5.2016 klo 10")


def test_request_to_dict_roundtrip():
    r = Request("r1", "teksti", "email", parse_datetime("2016-09-05T10:12:00+03:00"), "aihe", "uusi", "G-1", True)
    d = r.to_dict()
    assert d["sent_at"] == "2016-09-05T10:12:00+03:00" and d["avoidable"] is True
