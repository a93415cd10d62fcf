"""Personal-data redaction: Finnish identity codes, phone numbers, emails, IBANs, customer numbers.

Every text written out by the library passes through :func:`redact`, and the classifier
sees the same typed placeholders at training and prediction time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["Redactor", "redact", "hetu_is_valid", "luhn_iban_ok", "PLACEHOLDERS", "HETU_CHECK", "HETU_CENTURY"]

HETU_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"
# 1800s '+', 1900s '-' and the 2023 additions 'YXWVU', 2000s 'A' and 'BCDEF'.
HETU_CENTURY = {"+": 1800, "-": 1900, "Y": 1900, "X": 1900, "W": 1900, "V": 1900, "U": 1900,
                "A": 2000, "B": 2000, "C": 2000, "D": 2000, "E": 2000, "F": 2000}

# ASCII boundaries: a code glued to a non-ASCII letter ("131052-308Tä", junk bytes read as "Ã") is still found.
_HETU_RE = re.compile(r"(?<![0-9A-Za-z-])(\d{2})(\d{2})(\d{2})([-+YXWVUABCDEFyxwvuabcdef])(\d{3})([0-9A-Ya-y])(?![0-9A-Za-z])")
_EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_IBAN_RE = re.compile(r"(?<![0-9A-Za-z])[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){3,7}(?:[ ]?[A-Z0-9]{1,3})?(?![0-9A-Za-z])")
# Finnish mobile (04x, 050) and landline (0 + area code) numbers, with or without +358. Not right after
# "digit-": there it continues a date ("2016-09-05 10:12" read "09-05 10" as a number) or a reference.
_PHONE_RE = re.compile(
    r"(?<![\w+])(?<!\d-)(?:\+358[\s-]?\(?0?\)?|00358[\s-]?|\(?0)(?:4\d|50|[1-35-9]\d?)\)?[\s-]?\d{2,4}(?:[\s-]?\d{2,4}){1,2}(?![\d])"
)
_DEFAULT_CUSTOMER = r"(?i)(?:asiakas(?:numero|nro|nr)|as\.?\s?nro|asnro|as\.?\s?nr|asiakas\s?nro|as\.?numero)\.?\s*:?\s*#?\s*(\d{4,10})"
_DEFAULT_CONTRACT = r"(?i)(?:sopimus(?:numero|nro)|sop\.?\s?nro|sopnro|sop\.?\s?nr|sopimus\s?nro)\.?\s*:?\s*#?\s*(\d{4,12})"
_METERING_RE = re.compile(r"(?<!\d)643\d{15}(?!\d)")
_ANY_DIGIT = re.compile(r"\d")

PLACEHOLDERS = ("[HETU]", "[PUHELIN]", "[EMAIL]", "[IBAN]", "[ASIAKASNRO]", "[SOPIMUSNRO]", "[KAYTTOPAIKKA]")


def hetu_is_valid(code: str) -> bool:
    """True when ``code`` is a Finnish personal identity code with a valid date and check character.

    Accepts the 2023 century signs (``-YXWVU`` for the 1900s, ``ABCDEF`` for the 2000s) and
    individual numbers 002–999 (900–999 are temporary codes).
    """
    m = _HETU_RE.fullmatch(code.strip())
    if not m:
        return False
    dd, mm, yy, sign, nnn, check = m.groups()
    sign = sign.upper()
    if int(nnn) < 2:
        return False
    import datetime as dt

    try:
        dt.date(HETU_CENTURY[sign] + int(yy), int(mm), int(dd))
    except ValueError:
        return False
    return HETU_CHECK[int(dd + mm + yy + nnn) % 31] == check.upper()


def luhn_iban_ok(iban: str) -> bool:
    """True when an IBAN's mod-97 check passes."""
    s = iban.replace(" ", "").upper()
    if len(s) < 15 or len(s) > 34:
        return False
    s = s[4:] + s[:4]
    digits = "".join(str(int(c, 36)) for c in s)
    return int(digits) % 97 == 1


@dataclass(frozen=True)
class Redactor:
    """Replace personal data with typed placeholders.

    Parameters
    ----------
    customer_pattern, contract_pattern : str
        Regular expressions whose first group is the customer / contract number; the
        number (not the keyword before it) is replaced. Configurable because every
        organisation writes its numbers differently.
    require_valid_hetu : bool
        Replace only identity codes whose check character is valid (default). Invalid
        ones are still replaced when ``False``.
    """

    customer_pattern: str = _DEFAULT_CUSTOMER
    contract_pattern: str = _DEFAULT_CONTRACT
    require_valid_hetu: bool = True
    _compiled: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._compiled["customer"] = re.compile(self.customer_pattern)
        self._compiled["contract"] = re.compile(self.contract_pattern)

    def settings(self) -> dict:
        """The patterns and options that define this redactor (stored with a model)."""
        return {"customer_pattern": self.customer_pattern, "contract_pattern": self.contract_pattern,
                "require_valid_hetu": self.require_valid_hetu}

    def counts(self, text: str) -> dict[str, int]:
        """Return how many items of each kind :meth:`redact` would replace."""
        out: dict[str, int] = {}
        self.redact(text, _counter=out)
        return out

    def redact(self, text: str, _counter: dict[str, int] | None = None) -> str:
        """Return ``text`` with personal data replaced by ``[HETU]``, ``[PUHELIN]``, ``[EMAIL]``, ..."""
        if not text:
            return text

        def sub(rx: re.Pattern, repl: str | Callable, s: str, kind: str) -> str:
            new, n = rx.subn(repl, s)
            if n and _counter is not None:
                _counter[kind] = _counter.get(kind, 0) + n
            return new

        if "@" in text:
            text = sub(_EMAIL_RE, "[EMAIL]", text, "email")
        if not _ANY_DIGIT.search(text):
            return text  # everything below needs a digit: most short requests skip five regexes

        def hetu(m: re.Match) -> str:
            if not self.require_valid_hetu or hetu_is_valid(m.group(0)):
                return "[HETU]"
            return m.group(0)

        text = sub(_HETU_RE, hetu, text, "hetu_candidate")
        if _counter is not None:
            _counter.pop("hetu_candidate", None)
            n = text.count("[HETU]")
            if n:
                _counter["hetu"] = n

        def iban(m: re.Match) -> str:
            return "[IBAN]" if luhn_iban_ok(m.group(0)) else m.group(0)

        text = sub(_IBAN_RE, iban, text, "iban")
        text = sub(_METERING_RE, "[KAYTTOPAIKKA]", text, "metering_point")

        def keep_keyword(placeholder: str):
            def f(m: re.Match) -> str:
                s, e = m.span(1)
                whole = m.group(0)
                return whole[: s - m.start()] + placeholder + whole[e - m.start():]
            return f

        text = sub(self._compiled["customer"], keep_keyword("[ASIAKASNRO]"), text, "customer")
        text = sub(self._compiled["contract"], keep_keyword("[SOPIMUSNRO]"), text, "contract")
        text = sub(_PHONE_RE, "[PUHELIN]", text, "phone")
        return text


_DEFAULT = Redactor()


def redact(text: str, redactor: Redactor | None = None) -> str:
    """Redact ``text`` with the default (or given) :class:`Redactor`."""
    return (redactor or _DEFAULT).redact(text)
