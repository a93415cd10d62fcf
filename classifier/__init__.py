"""tukipyynto: classify Finnish support requests, match guidelines, measure avoidable contacts.

The stages, one module each, in the order the data flows::

    ingest -> redact -> text -> classify -> guidelines -> label -> report

Quick start::

    import classifier
    model = classifier.load()                      # the shipped default model
    model.predict(["Asiakas muuttaa 1.10., miten teen uuden sopimuksen?"])
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import CatalogueError, CorpusError, IngestError, ModelError, TaxonomyError, TukipyyntoError
from .records import Category, Guideline, Request, Taxonomy, expected_avoidable
from .model import Model, load, save_model

__all__ = [
    "__version__", "load", "save_model", "Model", "Request", "Guideline", "Category", "Taxonomy",
    "expected_avoidable", "TukipyyntoError", "CorpusError", "TaxonomyError", "CatalogueError", "ModelError",
    "IngestError",
]
