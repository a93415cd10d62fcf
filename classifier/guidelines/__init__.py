"""Guideline catalogue, Finnish-aware retrieval, the coverage decision and the avoidable decision.

Retrieval scores every guideline against a request with generic features (BM25 and TF-IDF
cosine over the classifier's lemma tokens, title overlap, agreement between the request's
topic probabilities and the guideline's topics). A small logistic model learned from
labelled requests turns the features into a match probability; a coverage model, calibrated
on labelled data, decides whether the best guideline actually answers the request. Nothing
depends on the shipped catalogue: a user's catalogue drops in.

The steps, one module each:

- :mod:`.catalogue`: the records indexed for retrieval, dates in force, the term index and
  the (request, guideline) feature tensor;
- :mod:`.matching`: ranking the guidelines, and learning the ranking (:func:`fit_matcher`);
- :mod:`.coverage`: does the best guideline in force cover the request (features, model,
  calibration), and the avoidable probability;
- :mod:`.assess`: :class:`Assessment` and :class:`Assessor`, one request or a batch;
- :mod:`.adapt`: adaptation to an organisation's catalogue from its reviewed requests, and the
  fold adaptations of cross-fitting.
"""

from __future__ import annotations

from ..rules import REASONS, UNDECIDED_REASONS
from .adapt import MIN_REVIEWS, STRENGTHS, Adaptation, CrossFit, ReviewLabel, cross_fit, fit_adaptation
from .assess import Assessment, Assessor
from .catalogue import (FEATURES, HANDOFF_TITLE_STEMS, NO_CATALOGUE_WARNING, Catalogue, catalogue_digest,
                        catalogue_mismatch, is_handoff_title)
from .coverage import (COVERAGE_FEATURES, avoidable_probability, coverage_features, expected_calibration_error,
                       fit_coverage)
from .matching import DEFAULT_MATCHER, MATCH_FEATURES, fit_matcher

__all__ = ["Catalogue", "Assessment", "Assessor", "REASONS", "UNDECIDED_REASONS", "FEATURES", "MATCH_FEATURES",
           "COVERAGE_FEATURES", "DEFAULT_MATCHER", "HANDOFF_TITLE_STEMS", "NO_CATALOGUE_WARNING", "fit_matcher",
           "fit_coverage", "coverage_features", "avoidable_probability", "expected_calibration_error",
           "catalogue_mismatch", "catalogue_digest", "is_handoff_title", "Adaptation", "CrossFit", "ReviewLabel",
           "fit_adaptation", "cross_fit", "MIN_REVIEWS", "STRENGTHS"]
