from classifier.text import TextProcessor, detect_language, make_tokenizer, tokenize


def test_tokenizer_keeps_abbreviations_dates_placeholders():
    nlp = make_tokenizer()
    toks = [t.text for t in nlp("Ko. asiakas muuttaa 30.9. Terv. Mikko [HETU] esim. 1.10.2016")]
    assert toks == ["Ko.", "asiakas", "muuttaa", "30.9.", "Terv.", "Mikko", "[HETU]", "esim.", "1.10.2016"]


def test_inflected_forms_meet_on_base_form():
    p = TextProcessor()
    forms = ["sopimuksen", "sopimusta", "sopimukseen", "sopimuksella", "sopimus"]
    assert {p.tokens(f)[0] for f in forms} == {"sopimus"}
    assert p.tokens("laskun")[0] == p.tokens("laskua")[0] == "lasku"
    assert p.tokens("asiakkaalle")[0] == "asiakas"


def test_compound_head_learned_from_training_texts():
    p = TextProcessor().fit(["sopimus on voimassa", "uusi sopimus", "sähkösopimus tehtiin"])
    assert p.tokens("sähkösopimuksen") == ["sähkösopimus", "sopimus"]


def test_numbers_become_typed_placeholders():
    p = TextProcessor()
    toks = p.tokens("asnro 1234567, muutto 1.10.2016 klo 12.30, 45,50 € ja 3 kpl, www.example.fi, puh 040 123 4567")
    for ph in ("[asiakasnro]", "[pvm]", "[klo]", "[summa]", "[numero]", "[url]", "[puhelin]"):
        assert ph in toks
    assert not any(ch.isdigit() for t in toks for ch in t if not t.startswith("["))


def test_prefix_and_none_lemmatizers():
    assert TextProcessor(lemmatizer="prefix", prefix_len=5).tokens("sopimuksen")[0] == "sopim"
    assert TextProcessor(lemmatizer="none").tokens("Sopimuksen")[0] == "sopimuksen"


def test_language_detection():
    assert detect_language(tokenize("Hej, kunden vill säga upp avtalet och flytta till Åbo"))[0] == "sv"
    assert detect_language(tokenize("Hello, the customer wants to end the contract, please help"))[0] == "en"
    assert detect_language(tokenize("Asiakas haluaa irtisanoa sopimuksen, mutta ei tiedä miten"))[0] == "fi"


def test_pickled_processor_lemmatises_like_the_fitted_one():
    import pickle

    texts = ["Asiakas lähetti sähköpostaa ja sähköpostin", "sopimus sähkösopimus", "postaa kirjeen"]
    p = TextProcessor().fit(texts)
    q = pickle.loads(pickle.dumps(p))
    probe = texts + ["sähköpostiin ja sähkösopimuksesta, uusi sana tuntematon"]
    assert [q.tokens(t) for t in probe] == [p.tokens(t) for t in probe]


def test_an_id_and_a_signature_are_no_content():
    from classifier.text import content_words

    for t in ("asnro 4410233 -- Sanna V. Palveluneuvoja", "asnro 4410233\n\n--\nSanna V.\nPalveluneuvoja",
              "Sop.nro 123456", "asnro 4410233 Sanna V. Palveluneuvoja"):
        assert content_words(t) == [], t
    assert content_words("Asiakas haluaa irtisanoa sopimuksen, asnro 4410233 -- Sanna V. Palveluneuvoja") == [
        "Asiakas", "haluaa", "irtisanoa", "sopimuksen"]
    # after the delimiter comes the request itself, not a signature: kept
    assert content_words("asnro 4410233 -- asiakas haluaa laskun uudelleen") == ["asiakas", "haluaa", "laskun", "uudelleen"]
    assert content_words("Laskutus Helsinki") == ["Laskutus", "Helsinki"]
