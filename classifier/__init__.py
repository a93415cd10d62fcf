"""tukipyynto: classify Finnish support requests, match guidelines, measure avoidable contacts.

The stages, one module each, in the order the data flows::

    ingest -> redact -> text -> classify -> guidelines -> label -> report

Quick start::

    import classifier
    model = classifier.load()                      # the shipped default model
    model.predict(["Asiakas muuttaa 1.10., miten teen uuden sopimuksen?"])
"""

from __future__ import annotations

from .version import __version__
from .errors import CatalogueError, CorpusError, IngestError, ModelError, TaxonomyError, TukipyyntoError
from .records import Category, Guideline, Request, Taxonomy, expected_avoidable
from .model import Model, load, save_model
from .text import TextProcessor, make_tokenizer, tokenize

__all__ = [
    "__version__", "load", "save_model", "Model", "Request", "Guideline", "Category", "Taxonomy",
    "expected_avoidable", "TukipyyntoError", "CorpusError", "TaxonomyError", "CatalogueError", "ModelError",
    "IngestError", "TextProcessor", "make_tokenizer", "tokenize", "assess",
]


def assess(requests, model=None, guidelines=None, **kwargs):
    """Topic, guideline match and avoidable decision for request records or texts.

    Parameters
    ----------
    requests : iterable of Request or str
        Records (with ``sent_at``) or bare texts (assessed against today's catalogue).
    model : Model or path, optional
        A loaded model or a model directory; the shipped default model when omitted.
    guidelines : path, Catalogue or False, optional
        The catalogue; the shipped one when omitted.

    Returns
    -------
    list of Assessment
    """
    from .guidelines import Assessor

    if not isinstance(model, Model):
        model = load(model)
    return Assessor(model, catalogue=guidelines, **kwargs).assess(requests)
