"""The report's words: titles, notes, column headers and category names in Finnish and English.

They live as plain data in ``lang/<lang>.toml`` (one file per language, the same keys in each)
so that a translator edits text, not code; the stop words of the gap clusters are in
``lang/stopwords.txt``.
"""

from __future__ import annotations

import tomllib
from importlib.resources import files
from types import MappingProxyType

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


def text(lang: str, key: str) -> str:
    """The text ``key`` in ``lang``; the key itself when there is none."""
    return TEXT[lang].get(key, key)
