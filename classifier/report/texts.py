"""The report's words: titles, notes, column headers and category names in Finnish and English.

They live as plain data in ``lang/<lang>.toml`` (one file per language, the same keys in each)
so that a translator edits text, not code; the stop words of the gap clusters are in
``lang/stopwords.txt``.
"""

from __future__ import annotations

import tomllib
from importlib.resources import files
from types import MappingProxyType

__all__ = ["LANGS", "TEXT", "WEEKDAYS", "STOPWORDS", "CODE_TEXT", "code_text"]

LANGS = ("fi", "en")


def _load(lang: str) -> dict:
    """The parsed ``lang/<lang>.toml``."""
    return tomllib.loads(files(__package__).joinpath("lang", f"{lang}.toml").read_text(encoding="utf-8"))


_DATA = {lang: _load(lang) for lang in LANGS}

#: lang -> key -> text (read-only views).
TEXT = MappingProxyType({lang: MappingProxyType(d["text"]) for lang, d in _DATA.items()})
#: lang -> short weekday names, Monday first.
WEEKDAYS = MappingProxyType({lang: tuple(d["weekdays"]) for lang, d in _DATA.items()})
#: Words the gap clusters' TF-IDF leaves out.
STOPWORDS = frozenset(w for line in files(__package__).joinpath("lang", "stopwords.txt").read_text(encoding="utf-8")
                      .splitlines() for w in line.split("#", 1)[0].split())


#: lang -> kind (``status``, ``flag``) -> code -> text; reason codes are in :data:`TEXT`.
CODE_TEXT = MappingProxyType({lang: MappingProxyType({k: MappingProxyType(v) for k, v in d.get("codes", {}).items()})
                              for lang, d in _DATA.items()})


def code_text(code: str, lang: str, kind: str = "flag") -> str:
    """The words for a reason, status or flag code of a labelled row.

    Parameters
    ----------
    code : str
        A code from :data:`classifier.rules.CODES`; a flag with a detail (``other_language:sv``)
        gets its code's words and the detail in brackets.
    lang : {"fi", "en"}
    kind : {"reason", "status", "flag"}

    Returns
    -------
    str
        The text; the code itself when it has none (a code from a newer version).
    """
    from ..rules import code_base

    if kind == "reason":
        return TEXT[lang].get(code, code)
    words = CODE_TEXT[lang].get(kind, {})
    if code in words:
        return words[code]
    base = code_base(code)
    if base in words:
        return f"{words[base]} ({code[len(base) + 1:]})" if base != code else words[base]
    return code


def text(lang: str, key: str) -> str:
    """The text ``key`` in ``lang``; the key itself when there is none."""
    return TEXT[lang].get(key, key)
