
from classifier.text import make_tokenizer


def test_component_sets_cats(tiny_model_dir):
    import classifier.spacy_component  # noqa: F401  (registers the factory)

    nlp = make_tokenizer()
    nlp.add_pipe("tukipyynto_topic", config={"model": str(tiny_model_dir)})
    doc = nlp("Lähettäkää sopimusvahvistus uudelleen asiakkaalle")
    assert set(doc.cats) == {"uusi", "vahvistus", "vaara"}
    assert max(doc.cats, key=doc.cats.get) == "vahvistus"
    assert abs(sum(doc.cats.values()) - 1) < 1e-6
    assert doc._.topic == "vahvistus"
    docs = list(nlp.pipe(["Asiakkaan laskun maksuaika pitäisi siirtää", "Uusi sopimus muuttajalle nyt"]))
    assert [d._.topic for d in docs] == ["vaara", "uusi"]
