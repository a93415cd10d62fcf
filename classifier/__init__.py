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
    "IngestError", "TextProcessor", "make_tokenizer", "tokenize", "assess", "adapt",
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


def adapt(reviewed, guidelines=None, model=None, inputs=None, folds: int = 5, seed: int = 0, id_key=None) -> Model:
    """Adapt a model to an organisation's guideline catalogue from its reviewed requests.

    Learns, each shrunk toward the model as it is by a prior whose strength cross-validation
    on the reviews chooses: the coverage calibration, the topic priors, and the ranking of
    the guidelines from the reviewer's choices (:mod:`classifier.guidelines.adapt`). The
    adaptation is kept only if, cross-validated on the reviews, it predicts their avoidable
    decisions better than the model as it is (otherwise the copy carries the model unchanged
    and its ``fit`` record says so).

    Parameters
    ----------
    reviewed : path, list of paths or mapping
        Reviewed files written by ``tukipyynto review`` (or request id -> reviewed row).
    guidelines : path, optional
        The catalogue the reviews were made against; the model's own when omitted.
    model : Model or path, optional
        The model to adapt; the shipped default model when omitted.
    inputs : paths, optional
        The labelled inputs, for reviews whose rows carry no request text (matched by row id,
        hashed with ``id_key`` as ``label`` hashed it).
    folds, seed : int
        Folds of the cross-validated figures, and the seed of folds and strength selection.

    Returns
    -------
    Model
        A copy carrying the adaptation (``meta["adaptation"]``, with the reviews used by
        queue, the prior strengths chosen and cross-validated before/after figures) and the
        catalogue; keep it with :func:`save_model`.

    Raises
    ------
    TukipyyntoError
        Too few usable reviews to adapt anything, or an unreadable reviewed file.
    """
    from .adaptation import adapt_model, model_with_adaptation
    from .estimate import read_reviewed
    from .guidelines import Assessor

    if not isinstance(model, Model):
        model = load(model)
    rows = dict(reviewed) if isinstance(reviewed, dict) else read_reviewed(reviewed)
    base = Assessor(model, catalogue=guidelines)
    texts = None
    if inputs:
        from .label import find_requests

        texts = find_requests(inputs, rows, id_key=id_key)
    adapted = adapt_model(rows, base, texts, folds=folds, seed=seed)
    return model_with_adaptation(adapted, str(guidelines) if guidelines else None)
