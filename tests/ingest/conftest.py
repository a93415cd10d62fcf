"""Fixtures of the ingest tests."""

import pytest

from classifier.ingest import mime


@pytest.fixture(params=["fast", "stdlib"])
def parser(request, monkeypatch):
    """Run a test with fast-mail-parser and again with the stdlib compat32 fallback."""
    if request.param == "stdlib":
        monkeypatch.setattr(mime, "_FMP", None)
    elif mime._fast_parser() is None:
        pytest.skip("fast-mail-parser not installed")
    return request.param
