"""Fixtures of the store tests: a stand-in assessor that remembers what it was asked to assess."""

from __future__ import annotations

import pytest


class _Assessment:
    def __init__(self, topic: str, avoidable: bool) -> None:
        self.topic, self.avoidable = topic, avoidable

    def to_dict(self) -> dict:
        return {"topic": self.topic, "confidence": 0.9, "guideline_id": "G-1" if self.avoidable else None,
                "avoidable": self.avoidable, "reason": "guideline_existed" if self.avoidable else "no_guideline",
                "avoidable_probability": 0.8 if self.avoidable else 0.2, "flags": []}


class CountingAssessor:
    """Assesses by a word of the text (deterministic) and remembers every request it was given."""

    warnings: list[str] = []

    def __init__(self) -> None:
        self.assessed: list[str] = []

    def assess(self, reqs):
        self.assessed += [r.id for r in reqs]
        return [_Assessment("sopimuksen_tekeminen" if "sopimu" in r.text.lower() else "ohjeistus",
                            "sopimu" in r.text.lower()) for r in reqs]


@pytest.fixture
def assessor() -> CountingAssessor:
    return CountingAssessor()
