"""Finnish text processing: spaCy tokenizer with fixes, placeholders, lemmas and compound heads.

The same :class:`TextProcessor` (with the same settings and the compound lexicon learned
at training time) runs at training and at prediction time; it is stored with the model.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable, Sequence

from .redact import PLACEHOLDERS, Redactor

__all__ = ["passthrough", "make_tokenizer", "tokenize", "TextProcessor", "detect_language", "NORMALISATION_PLACEHOLDERS",
           "bounded_get", "content_words"]

# Abbreviations agents write: spaCy's Finnish rules keep some lower-case ones but split the
# capitalised forms at the start of a sentence ("Ko." -> "Ko" "."), so add both.
ABBREVIATIONS = (
    "ko.", "esim.", "terv.", "t.", "yms.", "ym.", "tms.", "jne.", "ns.", "klo.", "pvm.", "nro.", "puh.",
    "kk.", "as.", "sop.", "os.", "mm.", "ks.", "vrt.", "huom.", "kts.", "n.", "ns.", "ma.", "ti.", "ke.",
    "to.", "pe.", "la.", "su.", "vs.", "lk.", "alv.", "oy.", "ry.", "tk.", "ap.", "ip.", "s.", "p.",
)
_DATE_TOKEN = re.compile(r"^\d{1,2}\.\d{1,2}\.(?:\d{2,4})?$")
NORMALISATION_PLACEHOLDERS = ("[URL]", "[PVM]", "[KLO]", "[SUMMA]", "[NUMERO]")

_URL_RE = re.compile(r"(?i)\b(?:https?://|www\.)\S+")
_DATE_RE = re.compile(r"(?<![\d.])\d{1,2}\.\s?\d{1,2}\.(?:\s?(?:19|20)?\d{2})?(?![\d])|\b(?:19|20)\d{2}-\d{2}-\d{2}\b")
_TIME_RE = re.compile(r"(?i)(?<=klo )\d{1,2}(?:[.:]\d{2})?|\b\d{1,2}:\d{2}\b")
_AMOUNT_RE = re.compile(r"(?i)\d+(?:[ .]\d{3})*(?:[,.]\d+)?\s?(?:€|e\b|eur\w*|euroa?\w*|snt|senttiä|c/kwh|snt/kwh)")
_NUMBER_RE = re.compile(r"(?<![\w\[])\d[\d ]*\d(?![\w\]])|(?<![\w\[])\d(?![\w\]])")
_WORD_RE = re.compile(r"\w", re.UNICODE)
_ANY_DIGIT = re.compile(r"\d")
_URL_HINT = re.compile(r"(?i)www|://")


def passthrough(tokens):
    """Identity analyzer for vectorizers fed pre-tokenised documents (module level, so it pickles)."""
    return tokens


def make_tokenizer():
    """Return a ``spacy.blank("fi")`` pipeline whose tokenizer keeps abbreviations, dates and placeholders whole.

    Examples
    --------
    >>> nlp = make_tokenizer()
    >>> [t.text for t in nlp("Ko. asiakas muuttaa 30.9. Terv. Mikko")]
    ['Ko.', 'asiakas', 'muuttaa', '30.9.', 'Terv.', 'Mikko']
    """
    import spacy
    from spacy.symbols import ORTH

    nlp = spacy.blank("fi")
    tok = nlp.tokenizer
    for abbr in set(ABBREVIATIONS):
        for form in {abbr, abbr.capitalize(), abbr.upper()}:
            tok.add_special_case(form, [{ORTH: form}])
    for ph in PLACEHOLDERS + NORMALISATION_PLACEHOLDERS:
        tok.add_special_case(ph, [{ORTH: ph}])
    base_match = tok.token_match

    def token_match(text: str):
        if _DATE_TOKEN.match(text):
            return True
        return base_match(text) if base_match else None

    tok.token_match = token_match
    return nlp


@lru_cache(maxsize=1)
def _shared_nlp():
    """One tokenizer pipeline per process (building it costs ~50 ms)."""
    return make_tokenizer()


def tokenize(text: str) -> list[str]:
    """Split Finnish text into token strings with the fixed spaCy tokenizer."""
    return [t.text for t in _shared_nlp().tokenizer(text)]


# Function words for a cheap language check: Finnish vs Swedish vs English.
_FI = frozenset("ja on ei se että mutta kun jos niin voi onko oli ole olla hän asiakas asiakkaan sopimus sopimuksen "
                "kanssa vai myös sitten mitä miten mikä kuin nyt vielä tai kiitos hei moi terveisin".split())
_SV = frozenset("och är inte det att men när om så kan har hade jag vi du kunden avtal avtalet med eller också "
                "vad hur som nu tack hej hälsningar för till på av den ett en".split())
_EN = frozenset("and is not the that but when if so can has have had i we you customer contract with or also "
                "what how which now thanks hello regards for to on of a an please this".split())


def detect_language(tokens: Sequence[str]) -> tuple[str, int]:
    """Return ``(language, n_word_tokens)`` where language is ``fi``, ``sv``, ``en`` or ``unknown``.

    A function-word vote: fast, offline and good enough to flag a Swedish or English
    request instead of forcing it into a confident Finnish topic.
    """
    words = [t.lower() for t in tokens if _WORD_RE.search(t) and not t.startswith("[")]
    if not words:
        return "unknown", 0
    fi = sum(w in _FI or "ä" in w or "ö" in w for w in words)
    sv = sum(w in _SV or "å" in w for w in words)
    en = sum(w in _EN for w in words)
    best = max(("fi", fi), ("sv", sv), ("en", en), key=lambda kv: kv[1])
    if best[1] == 0:
        return "unknown", len(words)
    return best[0], len(words)


# What is not the request itself: a trailing signature after a "--" delimiter ("-- Sanna V.
# Palveluneuvoja"), the labels of customer and contract numbers ("asnro", "sop.nro"), and
# placeholders. A request made only of these says nothing to classify.
_SIG_DELIM_RE = re.compile(r"(?:^|\s)(?:--|\u2014|\u2013)\s+(?=\S)")
_RAW_WORD_RE = re.compile(r"\[[A-ZÄÖ]+\]|[^\W\d_][^\W\d_'-]*\.?")
_REFERENCE_RE = re.compile(r"(?i)^(?:as|asiakas|asiakkuus|sop|sopimus|kp|käyttöpaikka|kayttopaikka|tiketti|tilaus|"
                           r"lasku|mittari|viite|tapaus)?[.-]?(?:nro|numero|no|n:o|id|tunnus|viite|viitenumero)\.?$"
                           r"|^(?:as|sop|kp|puh|p)\.?$")
_TITLE_RE = re.compile(r"(?i)(?:neuvoja|palvelija|palvelu|asiantuntija|myyjä|esimies|vastaava|tiimi|koordinaattori|"
                       r"agentti|päällikkö|sihteeri|harjoittelija|neuvonta)\.?$")


def _signature_like(words: Sequence[str]) -> bool:
    """True for a short sign-off: names, initials and job titles ("Sanna V. Palveluneuvoja"), nothing else."""
    return 0 < len(words) <= 6 and all(
        w.startswith("[") or _TITLE_RE.search(w) or w[0].isupper() or w in ("/", "&") for w in words)


def content_words(text: str, redactor: Redactor | None = None) -> list[str]:
    """The words of a request that are its content: without a trailing signature, reference labels or placeholders.

    A text that is only a customer number and a signature ("asnro 4410233 -- Sanna V.
    Palveluneuvoja") has none: there is nothing to classify.

    Parameters
    ----------
    text : str
        Raw or redacted request text.
    redactor : Redactor, optional
        Applied first, so that identifiers become placeholders (the default patterns when omitted).

    Returns
    -------
    list of str
        The content words, in their original case.
    """
    text = (redactor or Redactor()).redact(text or "")
    delims = list(_SIG_DELIM_RE.finditer(text))
    if delims:
        tail = _RAW_WORD_RE.findall(text[delims[-1].end():])
        if "?" not in text[delims[-1].end():] and _signature_like(tail):
            text = text[:delims[-1].start()]
    words = [w for w in _RAW_WORD_RE.findall(text) if not w.startswith("[") and not _REFERENCE_RE.match(w)]
    # no delimiter, only a name and a job title left: a signature all the same
    if words and len(words) <= 4 and any(_TITLE_RE.search(w) for w in words) and _signature_like(words):
        return []
    return words


LEMMATIZERS = ("simplemma", "prefix", "simplemma+prefix", "none")
_CACHE_MAX = 1_000_000


def bounded_get(cache: dict, key, compute):
    """``cache[key]``, computed and kept on a miss while the cache is below its bound."""
    got = cache.get(key)
    if got is None:
        got = compute(key)
        if len(cache) < _CACHE_MAX:
            cache[key] = got
    return got


def _lemma_table(lemmas: set[str], seen: dict[str, str]) -> dict[str, str]:
    """Word form -> lemma for every dictionary form of the given lemmas, plus the words already seen.

    A few megabytes instead of simplemma's whole Finnish dictionary: a fitted model then
    lemmatises without loading it, and identically for every word it was trained on.
    """
    table: dict[str, str] = {}
    try:
        try:  # the factory simplemma.lemmatize itself uses, so the dictionary is loaded once
            from simplemma.strategies.dictionaries.dictionary_factory import DEFAULT_DICTIONARY_FACTORY as factory
        except ImportError:
            from simplemma.strategies.dictionaries.dictionary_factory import DefaultDictionaryFactory

            factory = DefaultDictionaryFactory()
        d = factory.get_dictionary("fi")
        raw = getattr(d, "_dict", None)
        if isinstance(raw, dict):  # bytes -> bytes: filter before decoding, ten times faster
            want = {x.encode() for x in lemmas}
            table = {k.decode(): v.decode() for k, v in raw.items() if v in want and k != v}
        else:
            table = {form: lemma for form, lemma in d.items() if lemma in lemmas and form != lemma}
    except Exception:  # another simplemma layout: the words seen still make the table
        table = {}
    table.update(seen)  # identities too: a seen word must never go through the compound fallback
    return table


class TextProcessor:
    """Turn raw Finnish text into normalised feature tokens.

    Parameters
    ----------
    lemmatizer : {"simplemma", "prefix", "simplemma+prefix", "none"}
        ``simplemma``: base forms (pip-only, MIT); ``prefix``: cut words to their first
        ``prefix_len`` letters (a crude stemmer that also survives typos and colloquial
        endings); ``simplemma+prefix``: both features per word; ``none``: lower-cased
        surface forms.
    compounds : bool
        Also emit the head of a compound ("sähkösopimus" -> "sopimus") when the head is a
        word seen in the training texts (the lexicon is learned by :meth:`fit`).
    redactor : Redactor or None
        Personal data becomes typed placeholders before anything else, so the classifier
        sees the same placeholders as the redacted output.
    """

    def __init__(self, lemmatizer: str = "simplemma", compounds: bool = True, prefix_len: int = 6,
                 redactor: Redactor | None = None) -> None:
        if lemmatizer not in LEMMATIZERS:
            raise ValueError(f"lemmatizer must be one of {', '.join(LEMMATIZERS)}, not {lemmatizer!r}")
        self.lemmatizer = lemmatizer
        self.compounds = compounds
        self.prefix_len = prefix_len
        self.redactor = redactor or Redactor()
        self.heads_: dict[str, str] = {}
        self.lemma_table_: dict[str, str] | None = None
        self._lemma_cache: dict[str, str] = {}
        self._word_cache: dict[int, str] = {}
        self._feature_cache: dict[int, tuple[str, ...]] = {}
        self._char_cache: dict[int, tuple[str, ...]] = {}

    def settings(self) -> dict:
        """Settings that define the processing (stored in ``model.json``)."""
        return {"lemmatizer": self.lemmatizer, "compounds": self.compounds, "prefix_len": self.prefix_len,
                "tokenizer": "spacy.blank('fi') + special cases", "n_compound_heads": len(self.heads_)}

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_lemma_cache"] = {}
        state["_word_cache"] = {}
        state["_feature_cache"] = {}
        state["_char_cache"] = {}
        state.pop("_doc_cache", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_char_cache", {})
        self.__dict__.setdefault("lemma_table_", None)

    def normalise(self, text: str) -> str:
        """Redact, then replace URLs, dates, times, amounts and other numbers by placeholders."""
        text = self.redactor.redact(text)
        if _URL_HINT.search(text):
            text = _URL_RE.sub(" [URL] ", text)
        if not _ANY_DIGIT.search(text):
            return text
        text = _DATE_RE.sub(" [PVM] ", text)
        text = _TIME_RE.sub(" [KLO] ", text)
        text = _AMOUNT_RE.sub(" [SUMMA] ", text)
        text = _NUMBER_RE.sub(" [NUMERO] ", text)
        return text

    def _lemma(self, word: str) -> str:
        """Base form of a lower-cased word, cached."""
        got = self._lemma_cache.get(word)
        if got is not None:
            return got
        table = self.lemma_table_
        if table is not None:
            # fitted: the stored table answers without loading simplemma's 3.5-million-form
            # dictionary (5 s); words it lacks have no lemma the model knows anyway
            lemma = table.get(word)
            if lemma is None:
                lemma = word
                # an unseen compound: lemmatise its longest known tail ("sähkö|sopimuksen")
                for i in range(3, len(word) - 3):
                    tail = table.get(word[i:])
                    if tail is not None:
                        lemma = word[:i] + tail
                        break
        elif self.lemmatizer.startswith("simplemma"):
            import simplemma

            lemma = simplemma.lemmatize(word, lang="fi").lower()
        elif self.lemmatizer == "prefix":
            lemma = word[: self.prefix_len]
        else:
            lemma = word
        if len(self._lemma_cache) < 500_000:
            self._lemma_cache[word] = lemma
        return lemma

    def token_hashes(self, text: str) -> list[int]:
        """Lower-case string hashes of the tokens (no Token objects: they cost more than tokenising)."""
        from spacy.attrs import LOWER

        # features and the language check read the same texts one after the other: keep the
        # last few thousand tokenisations instead of tokenising twice
        cache = self.__dict__.setdefault("_doc_cache", {})
        got = cache.get(text)
        if got is not None:
            return got
        doc = _shared_nlp().tokenizer(self.normalise(text))
        out = doc.to_array(LOWER).tolist() if len(doc) else []
        if len(cache) >= 4096:
            cache.clear()
        cache[text] = out
        return out

    def _word_of(self, h: int) -> str:
        """The cleaned word (or placeholder) for a token hash; '' for punctuation."""
        s = _shared_nlp().vocab.strings[h]
        if s.startswith("[") and s.endswith("]") and len(s) > 2:
            return s
        if _WORD_RE.search(s):
            return s.strip(".-'")
        return ""

    def words(self, text: str) -> list[str]:
        """Lower-cased word and placeholder tokens of ``text`` (after :meth:`normalise`)."""
        cache, word_of = self._word_cache, self._word_of
        return [w for h in self.token_hashes(text) if (w := bounded_get(cache, h, word_of))]

    def _features_of(self, h: int) -> tuple[str, ...]:
        """Feature strings for one token hash: lemma and compound head, or the placeholder."""
        w = self._word_of(h)
        if not w:
            return ()
        if w.startswith("["):
            return (w,)
        lem = self._lemma(w)
        head = self.heads_.get(lem) if self.compounds else None
        feats = (lem, head) if head else (lem,)
        if self.lemmatizer == "simplemma+prefix" and len(w) > self.prefix_len:
            stem = "~" + w[: self.prefix_len]
            if stem[1:] != lem:
                feats = feats + (stem,)
        return feats

    def tokens(self, text: str) -> list[str]:
        """Feature tokens: lemmas (or stems) plus compound heads."""
        return self.analyse(text)[0]

    __call__ = tokens

    def hash_char_grams(self, h: int) -> tuple[str, ...]:
        """Character 3–5-grams of one word with boundary marks (placeholders stay whole)."""
        w = self._word_of(h)
        if not w:
            return ()
        if w.startswith("["):
            return (w,)
        b = f"<{w}>"
        return tuple(b[i: i + n] for n in (3, 4, 5) for i in range(len(b) - n + 1))

    def hash_features(self, h: int) -> tuple[str, ...]:
        """:meth:`_features_of` through the per-word cache."""
        return bounded_get(self._feature_cache, h, self._features_of)

    def analyse(self, text: str, chars: bool = False) -> tuple[list[str], list[str]]:
        """Feature tokens and (when ``chars``) word-bounded character n-grams, from one tokenisation.

        The n-grams of each distinct word are computed once and cached, so character features
        cost little more than word features at prediction time.
        """
        toks: list[str] = []
        grams: list[str] = []
        for h in self.token_hashes(text):
            toks.extend(self.hash_features(h))
            if chars:
                grams.extend(bounded_get(self._char_cache, h, self.hash_char_grams))
        return toks, grams

    def fit(self, texts: Iterable[str]) -> "TextProcessor":
        """Learn the compound-head lexicon and the lemma table from training texts; return self."""
        from collections import Counter

        self.lemma_table_ = None
        self._lemma_cache = {}
        counts: Counter[str] = Counter()
        for t in texts:
            counts.update(self._lemma(w) for w in self.words(t) if not w.startswith("["))
        heads: dict[str, str] = {}
        if self.compounds:
            vocab = {w for w, c in counts.items() if c >= 2 and len(w) >= 4 and w.isalpha()}
            for w in counts:
                if len(w) < 8 or not w.replace("-", "").isalpha():
                    continue
                # the longest known word that ends the compound, leaving a modifier of 3+ letters
                for i in range(3, len(w) - 3):
                    tail = w[i:].lstrip("-")
                    if tail in vocab and tail != w:
                        heads[w] = tail
                        break
        self.heads_ = heads
        if self.lemmatizer.startswith("simplemma"):
            self.lemma_table_ = _lemma_table(set(counts), self._lemma_cache)
        self._feature_cache = {}
        self._char_cache = {}
        return self
