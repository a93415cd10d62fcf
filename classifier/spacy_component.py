"""A spaCy pipeline component that sets topic probabilities on ``doc.cats``.

    import spacy, classifier.spacy_component  # registers the factory
    nlp = classifier.make_tokenizer()          # or spacy.blank("fi"), or any Finnish pipeline
    nlp.add_pipe("tukipyynto_topic")           # the shipped model; config={"model": "path/to/model"}
    doc = nlp("Asiakas muuttaa, tarvitaan uusi sopimus")
    doc.cats  # {"sopimuksen_tekeminen": 0.93, ...}
"""

from __future__ import annotations

from typing import Iterable

from spacy.language import Language
from spacy.tokens import Doc

if not Doc.has_extension("topic"):
    Doc.set_extension("topic", default=None)


class TopicComponent:
    """Classify each doc's text with a tukipyynto model; write ``doc.cats`` and ``doc._.topic``."""

    def __init__(self, nlp: Language, name: str, model: str | None = None, mode: str = "pre-select") -> None:
        from .model import load

        self.name = name
        self.model = load(model)
        self.mode = mode

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Doc], batch_size: int = 256):
        """Classify docs in batches."""
        batch: list[Doc] = []
        for d in docs:
            batch.append(d)
            if len(batch) >= batch_size:
                yield from self._process(batch)
                batch = []
        if batch:
            yield from self._process(batch)

    def _process(self, docs: list[Doc]) -> list[Doc]:
        """Set cats and the topic decision on a batch of docs."""
        clf = self.model.classifier
        texts = [d.text for d in docs]
        proba = clf.predict_proba(texts)
        preds = clf.predict_detailed(texts, mode=self.mode, proba=proba)
        for d, p, pr in zip(docs, proba, preds):
            d.cats = {str(c): float(v) for c, v in zip(clf.classes_, p)}
            d._.topic = pr.topic
        return docs


@Language.factory("tukipyynto_topic", default_config={"model": None, "mode": "pre-select"})
def make_topic_component(nlp: Language, name: str, model: str | None, mode: str) -> TopicComponent:
    """spaCy factory: ``nlp.add_pipe("tukipyynto_topic", config={"model": PATH})``."""
    return TopicComponent(nlp, name, model, mode)
