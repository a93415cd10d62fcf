"""Cleaning a message body: quoted history, signatures, disclaimers and mobile footers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from .contact import QUOTE_MARKER


# --------------------------------------------------------------------------- cleaning

_CTRL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2060\ufeff\ufffc]")
_JUNK_RE = re.compile(r"[\x00-\x08\x0e-\x1f]")
_BLANKS_RE = re.compile(r"\n{3,}")
_SEP_LINE_RE = re.compile(
    r"^\s*[-_=*>]{2,}\s*(?:alkuperäinen\s+(?:sähköposti)?viesti|original\s+message|välitetty\s+viesti|"
    r"edelleenlähetetty\s+viesti|forwarded\s+message|ursprungligt\s+meddelande|vidarebefordrat\s+meddelande|"
    r"ursprüngliche\s+nachricht|weitergeleitete\s+nachricht|original\s+e-?mail)\s*:?\s*[-_=*<]{2,}\s*$",
    re.I,
)
_FWD_INTRO_RE = re.compile(
    r"^\s*(?:begin\s+forwarded\s+message|välitetty\s+viesti\s+alkaa|alkuperäinen\s+viesti|"
    r"original\s+message|vidarebefordrat\s+brev|forwarded\s+message)\s*:\s*$",
    re.I,
)
_UNDERSCORES_RE = re.compile(r"^\s*[_\u2014\u2500-]{8,}\s*$")
_HDR_FROM_RE = re.compile(r"^\s*\**\s*(?:from|lähettäjä|lähettäjä|från|von|de)\s*\**\s*:", re.I)
_HDR_ANY_RE = re.compile(
    r"^\s*\**\s*(?:from|lähettäjä|från|von|sent|date|lähetetty|päivämäärä|päiväys|pvm|to|vastaanottaja|"
    r"vastaanottajat|cc|bcc|kopio|kopiot|subject|aihe|skickat|datum|till|ämne|kopia|gesendet|an|betreff|"
    r"reply-to|vastausosoite|importance|tärkeys|prioriteetti|attachments|liitteet|bilagor)\s*\**\s*:",
    re.I,
)
_ATTRIB_END_RE = re.compile(r"(?:kirjoitti|wrote|skrev|schrieb|a\s+écrit|kirjoittaa)(?:\s+seuraavaa)?\s*:\s*$", re.I)
_ATTRIB_START_RE = re.compile(
    r"^\s*(?:on\s|am\s|le\s|den\s|(?:ma|ti|ke|to|pe|la|su)\.?\s+\d|\d{1,2}\.\s?\d{1,2}\.|\d{4}-\d{2}-\d{2}|"
    r"(?:mon|tue|wed|thu|fri|sat|sun)\w*,?\s|(?:maanantai|tiistai|keskiviikko|torstai|perjantai|lauantai|sunnuntai)\w*\s)",
    re.I,
)
_FOOTER_RE = re.compile(
    r"^\s*(?:(?:lähetetty|sent|skickat|gesendet)(?!\s*:)\s.{0,40}?(?:iphone|ipad|android|mobiili|samsung|galaxy|"
    r"huawei|nokia|blackberry|outlook|windows|mail|mobile|laitteesta|puhelimesta|sovelluksesta|tabletista)"
    r".{0,30}|hanki\s+outlook.{0,40}|get\s+outlook\s+for\s+.{0,30}|\[cid:[^\]]*\]|<image\d*\.\w+>|"
    r"please\s+consider\s+the\s+environment.{0,80}|ajattele\s+ympäristöä.{0,80}|"
    r"(?:huom!?\s*)?tämä\s+viesti\s+on\s+tullut\s+organisaation\s+ulkopuolelta.{0,120}|"
    r"\[?(?:external|ulkoinen(?:\s+lähettäjä)?)\]?:?)\s*$",
    re.I,
)
_DISCLAIMER_RE = re.compile(
    r"^\s*(?:tämä\s+(?:sähköposti)?viesti\s+(?:ja\s+sen\s+liitteet\s+)?(?:voi|saattaa|on\s+tarkoitettu|sisältää|"
    r"on\s+luottamuksellinen|liitteineen)|tämän\s+(?:sähköposti)?viestin\s+(?:sisältö|tiedot)|"
    r"this\s+(?:e-?mail|message|communication|transmission)(?:\s+and\s+(?:any|its)\s+attachments?)?\s+"
    r"(?:may|is|contains|and|including|are)|the\s+information\s+(?:contained\s+)?in\s+this|disclaimer\b|"
    r"confidentiality\s+notice|luottamuksellisuus|jos\s+olet\s+saanut\s+tämän\s+viestin|"
    r"if\s+you\s+(?:are\s+not\s+the\s+intended|have\s+received\s+this)|denna\s+e-?post|"
    r"detta\s+(?:e-?post)?meddelande)",
    re.I,
)
_STRONG_CLOSER = (
    r"(?:[^\W\d_]+\s+)?terv(?:eisin|isin|eisn|esin|eisi)\b|(?:ystävällisin|parhain|lämpimin|aurinkoisin|hyvin)?\s*terv(?:ein|eiset|s)?\.?|"
    r"yst\.?\s*terv\.?|t\.|t:|t(?=\s+[^\W\d_]+\s*$)|br\b\.?|best(?=\s*,?\s*$)|b\.r\.|best\s+regards|kind\s+regards|"
    r"warm\s+regards|regards|rgds|cheers|sincerely|yours\s+sincerely|mvh|med\s+vänlig\s+hälsning|"
    r"vänliga\s+hälsningar|hälsningar|hälsning|parhain\s+terveisin"
)
_WEAK_CLOSER = (
    r"kiitos(?:\s+(?:paljon|avusta|vastauksesta|jo\s+etukäteen|etukäteen|ja\s+hyvää\s+\S+))?|kiitoksia|kiittäen|"
    r"kiitoksin|thanks(?:\s+in\s+advance)?|thank\s+you|hyvää\s+(?:päivänjatkoa|päivän\s+jatkoa|viikonloppua|"
    r"jatkoa|illanjatkoa)|mukavaa\s+(?:päivää|päivänjatkoa|viikonloppua)|ystävällisesti"
)
# "-pauliina", "mikko/AP", "Jonna / asiakaspalvelu": a name the agent signs with, whatever its case.
_SIGNED_RE = re.compile(r"^(?:[-–]\s?[^\W\d_]{2,20}|[^\W\d_]{2,20}\s?/\s?[^\W\d_]{1,20})$")
_CLOSER_RE = re.compile(
    rf"^\s*(?:(?P<strong>{_STRONG_CLOSER})|(?P<weak>{_WEAK_CLOSER}))(?:(?<=[.:])|\b)[\s,.!:;-]*(?P<rest>.*)$", re.I
)
_SHORT_NAME_RE = re.compile(r"^\s*[-–]?\s*[^\W\d_]{2,20}(?:\s+[^\W\d_]{2,20})?\s*$")
_CONDITIONAL_RE = re.compile(r"(?i)\b(?:jos|kun|että|mutta|koska|if|when|but)\b")
_WEAK_ONLY_RE = re.compile(rf"^\s*(?:{_WEAK_CLOSER})\b", re.I)
_DISCLAIMER_WORDS_RE = re.compile(
    r"(?i)luottamuksellis|confidential|tarkoitettu|intended|vastaanottaja|recipient|erehdyksessä|virheellisesti|"
    r"in\s+error|by\s+mistake|konfidentiell|mottagare"
)
_NAME_TOKEN = r"(?:[A-ZÅÄÖ][A-Za-zÅÄÖåäöÉéÜü'./-]*|[/&|–-])"
_NAME_RE = re.compile(rf"^\s*[-–]?\s*{_NAME_TOKEN}(?:\s+{_NAME_TOKEN}){{0,4}}\s*$")
_CONTACT_RE = re.compile(
    r"(?i)^\s*(?:(?:puh|puhelin|p|tel|tfn|gsm|mob|mobile|phone|fax|faksi|sähköposti|s-posti|email|e-mail|"
    r"www|web|osoite|address|y-tunnus|vaihde)\b\.?\s*:?\s*\S.{0,60}|"
    r"[+(]?\d[\d ()-]{6,}\d|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|(?:https?://|www\.)\S+|"
    r"[\w .&-]{1,40}\b(?:oy|oyj|ab|ltd|ky|ry|inc|gmbh)\.?|"
    r"[\w .-]{1,40}\s\d{1,4}\s?[a-z]?,?\s*\d{5}\s+[A-ZÅÄÖ][\w-]+|\d{5}\s+[A-ZÅÄÖ][\w-]+)\s*$"
)
_TITLE_RE = re.compile(
    r"(?i)^\s*[\w ,/&-]{0,40}(?:asiakaspalvelu|neuvoja|asiantuntija|esimies|esihenkilö|tiiminvetäjä|"
    r"päällikkö|koordinaattori|sihteeri|specialist|advisor|adviser|manager|agent|customer\s+service|"
    r"team\s+lead\w*|assistant|konsultti|myyjä|myyntineuvottelija)\w*[\w ,/&-]{0,40}$"
)


@dataclass
class _Cleaned:
    """A message body split into its parts."""

    own: str
    kept: str
    dropped: str
    signature: str

    def request_text(self) -> str:
        """The text the classifier reads: own words, then kept quoted text after the marker."""
        if self.kept:
            return f"{self.own}\n\n{QUOTE_MARKER}\n{self.kept}" if self.own else f"{QUOTE_MARKER}\n{self.kept}"
        return self.own


def _normalise_lines(text: str) -> list[str]:
    """Unify line breaks, drop control and zero-width characters, right-strip lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    text = text.replace("\xa0", " ").replace("\t", " ")
    text = _CTRL_RE.sub("", text)
    return [ln.rstrip() for ln in text.split("\n")]


def _join(lines: Sequence[str]) -> str:
    """Lines back to text, blank runs collapsed to one blank line."""
    return _BLANKS_RE.sub("\n\n", "\n".join(lines)).strip("\n").strip()


def _is_header_block(lines: Sequence[str], i: int) -> bool:
    """True when an Outlook-style quoted header block (From:/Lähettäjä: + Sent:/Aihe: ...) starts at line i."""
    if not _HDR_ANY_RE.match(lines[i]):
        return False
    from_seen = bool(_HDR_FROM_RE.match(lines[i]))
    labels = 1
    for j in range(i + 1, min(len(lines), i + 7)):
        s = lines[j]
        if not s.strip():
            if labels > 1:
                break
            continue
        if _HDR_FROM_RE.match(s):
            from_seen = True
            labels += 1
        elif _HDR_ANY_RE.match(s):
            labels += 1
        elif labels == 1:
            return False
    return from_seen and labels >= 2


def _boundary_at(lines: Sequence[str], i: int) -> str | None:
    """The kind of quote boundary starting at line i: ``sep``, ``header``, ``attrib`` or None."""
    s = lines[i]
    st = s.lstrip()
    if not st or (":" not in st and st[0] not in "-_=*>—─"):
        return None
    if len(st) > 400:
        return None
    if _SEP_LINE_RE.match(s) or _FWD_INTRO_RE.match(s):
        return "sep"
    if _UNDERSCORES_RE.match(s):
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        return "sep" if j < len(lines) and _is_header_block(lines, j) else None
    if ":" in st and _is_header_block(lines, i):
        return "header"
    if st.endswith(":") and _ATTRIB_END_RE.search(st):
        return "attrib"
    return None


def _split_quotes(lines: list[str]) -> tuple[list[str], list[str], list[str] | None, list[str]]:
    """Split lines into own lines, ``>``-quoted lines (one level removed), the rest after a boundary, and attribution lines."""
    own: list[str] = []
    quoted: list[str] = []
    attrib: list[str] = []
    n = len(lines)
    i = 0
    while i < n:
        ln = lines[i]
        if ln.startswith(">"):
            quoted.append(ln[2:] if ln.startswith("> ") else ln[1:])
            i += 1
            continue
        kind = _boundary_at(lines, i)
        if kind is None:
            own.append(ln)
            i += 1
            continue
        if kind == "attrib":
            # A wrapped attribution ("On Mon, 5 Sep 2016 ... Matti <" / "m@x> wrote:") starts a line or two up.
            if not _ATTRIB_START_RE.match(ln):
                for back in (1, 2):
                    if len(own) >= back and all(x.strip() for x in own[-back:]) and _ATTRIB_START_RE.match(own[-back]):
                        attrib.extend(own[-back:])
                        del own[-back:]
                        break
            j = i + 1
            while j < n and not lines[j].strip():
                j += 1
            if j < n and lines[j].startswith(">"):
                attrib.append(ln)
                i += 1
                continue
        return own, quoted, lines[i:], attrib
    return own, quoted, None, attrib


def _skip_quote_header(lines: list[str]) -> tuple[list[str], list[str]]:
    """Split a quoted message into its header lines (separator, attribution, From:/Sent:/...) and its body."""
    i, n = 0, len(lines)
    while i < n:
        s = lines[i]
        if not s.strip() or _SEP_LINE_RE.match(s) or _FWD_INTRO_RE.match(s) or _UNDERSCORES_RE.match(s):
            i += 1
        elif _ATTRIB_END_RE.search(s):
            i += 1
        elif i + 1 < n and _ATTRIB_START_RE.match(s) and _ATTRIB_END_RE.search(lines[i + 1]) and len(s) < 200:
            i += 2
        else:
            break
    in_header = False
    while i < n:
        s = lines[i]
        if _HDR_ANY_RE.match(s):
            in_header = True
            i += 1
            continue
        if in_header and s.strip() and (s[:1] == " " or ("@" in s and len(s) < 300) or s.rstrip().endswith((";", ","))):
            i += 1  # a wrapped recipient list
            continue
        break
    return lines[:i], lines[i:]


def _strip_footers(lines: list[str], removed: list[str]) -> list[str]:
    """Drop mobile-client footers, inline-image placeholders and external-sender banners."""
    out = []
    for ln in lines:
        if ln and len(ln) < 200 and _FOOTER_RE.match(ln):
            removed.append(ln)
        else:
            out.append(ln)
    return out


def _trim(lines: list[str]) -> list[str]:
    """Drop leading and trailing blank lines."""
    a, b = 0, len(lines)
    while a < b and not lines[a].strip():
        a += 1
    while b > a and not lines[b - 1].strip():
        b -= 1
    return lines[a:b]


def _strip_signature(lines: list[str], removed: list[str]) -> list[str]:
    """Remove disclaimers, the signature (``-- ``, a sign-off and what follows, a contact block) and a trailing name."""
    lines = _trim(lines)
    # Disclaimers: from the paragraph that opens one to the end.
    for i, ln in enumerate(lines):
        if _DISCLAIMER_RE.match(ln) and (i == 0 or not lines[i - 1].strip() or _UNDERSCORES_RE.match(lines[i - 1])
                                         or i >= len(lines) - 15):
            para = " ".join(lines[i:i + 8])
            if _DISCLAIMER_WORDS_RE.search(para):
                removed.extend(lines[i:])
                lines = _trim(lines[:i])
                while lines and _UNDERSCORES_RE.match(lines[-1]):
                    removed.append(lines.pop())
                lines = _trim(lines)
                break
    # The standard "-- " delimiter.
    n = len(lines)
    for i, ln in enumerate(lines):
        if ln.strip() in ("--", "\u2014") and i > 0 and n - i <= 25:
            removed.extend(lines[i:])
            lines = _trim(lines[:i])
            break
    # Then from the bottom up, until nothing more goes: a sign-off and what follows it, a contact
    # block, a lone name ("Kiitos jo etukäteen!" often sits above a contact block).
    for _ in range(4):
        before = len(lines)
        cut = _sign_off(lines)
        if cut is not None:
            removed.extend(lines[cut:])
            lines = _trim(lines[:cut])
        cut = _contact_block(lines)
        if cut is not None:
            removed.extend(lines[cut:])
            lines = _trim(lines[:cut])
        if _lone_name(lines):
            removed.append(lines[-1])
            lines = _trim(lines[:-1])
        if len(lines) == before:
            break
    return lines


def _contact_block(lines: list[str]) -> int | None:
    """Start of a contact block at the bottom (name, title, company, phone, email) without a sign-off."""
    k = len(lines)
    strong = 0
    while k > 0:
        s = lines[k - 1]
        if not s.strip():
            k -= 1
            continue
        if len(s) > 80:
            break
        if _CONTACT_RE.match(s):
            strong += 1
        elif not (_TITLE_RE.match(s) or _NAME_RE.match(s)):
            break
        k -= 1
    if strong and 0 < k and len(lines) - k <= 10 and not lines[k - 1].rstrip().endswith(":"):
        return k
    return None


def _lone_name(lines: list[str]) -> bool:
    """True when the last line is a name the agent signed with ("Jonna", "-Mikko", "Anssi/AP")."""
    # A name of two or three words counts only after a blank line or a finished sentence.
    if len(lines) < 2:
        return False
    last = lines[-1].strip()
    prev = lines[-2].strip()
    if _SIGNED_RE.match(last):
        return True
    return bool(len(last) <= 30 and len(last.split()) <= 3 and _NAME_RE.match(last) and not any(c.isdigit() for c in last)
                and (not prev or prev[-1] in ".!?:)" or (len(last.split()) == 1 and prev[-1].isdigit())))


def _sign_off(lines: list[str]) -> int | None:
    """Index of a sign-off line followed only by a short signature block, or None."""
    nonblank = [i for i, ln in enumerate(lines) if ln.strip()]
    for i in nonblank[-10:]:
        if i == 0 and len(nonblank) > 1 and _WEAK_ONLY_RE.match(lines[0]):
            continue  # "Kiitos" opening a message is not a sign-off
        m = _CLOSER_RE.match(lines[i])
        if m is None or len(lines[i].strip()) > 70:
            continue
        rest = m.group("rest").strip()
        after = [x for x in lines[i + 1:] if x.strip()]
        if len(after) > 8 or any(len(x) > 90 for x in after):
            continue
        if rest and ("?" in rest or len(rest) > 40):
            continue
        if rest and m.group("weak") and not _NAME_RE.match(rest) and not (
                not after and len(rest.split()) <= 3 and not _CONDITIONAL_RE.search(rest)):
            continue  # "Kiitos jos ehdit katsoa" is a request, "Kiitos paljon avusta." at the end is not
        if m.group("weak") and not all(_NAME_RE.match(x) or _CONTACT_RE.match(x) or _TITLE_RE.match(x)
                                       or _SHORT_NAME_RE.match(x) for x in after):
            continue
        return i
    return None


def _clean_quoted(lines: list[str], removed_sig: list[str]) -> tuple[str, str]:
    """A quoted message: its own words (cleaned) and the deeper history it quotes."""
    _, body = _skip_quote_header(lines)
    own, quoted, rest, attrib = _split_quotes(body)
    own = _strip_footers(own, removed_sig)
    own = _strip_signature(own, removed_sig)
    deeper = [*attrib, *(("> " + q) for q in quoted), *(rest or [])]
    return _join(own), _join(deeper)


def _clean(text: str, first: bool, forwarded: Sequence[str] = ()) -> _Cleaned:
    """Split a message body into its own words, the quoted message kept, what was dropped, the signature."""
    lines = _normalise_lines(text)
    own, quoted, rest, attrib = _split_quotes(lines)
    sig: list[str] = []
    own = _strip_footers(own, sig)
    own = _strip_signature(own, sig)
    kept_parts: list[str] = []
    dropped_parts: list[str] = [_join(attrib)] if attrib else []
    blocks: list[list[str]] = []
    if quoted:
        blocks.append(quoted)
    if rest:
        blocks.append(rest)
    blocks.extend(_normalise_lines(f) for f in forwarded)
    for block in blocks:
        if first:
            kept, deeper = _clean_quoted(block, sig)
            if kept:
                kept_parts.append(kept)
            if deeper:
                dropped_parts.append(deeper)
        else:
            dropped_parts.append(_join(block))
    return _Cleaned(
        own=_join(own),
        kept="\n\n".join(kept_parts),
        dropped="\n\n".join(p for p in dropped_parts if p),
        signature="\n".join(s for s in sig if s.strip()),
    )


def clean_email_text(text: str, first: bool = True) -> str:
    """Clean one email body the way :func:`iter_contacts` cleans a thread's first message.

    Parameters
    ----------
    text : str
        The plain-text body of one message.
    first : bool
        True for a thread's first message: a quoted or forwarded message in it is kept
        after a ``[LAINAUS]`` line. False for a reply: quoted text is dropped.

    Returns
    -------
    str
        The message's own words without quoted history, signatures, disclaimers or
        mobile footers, plus (when ``first``) the quoted message after ``[LAINAUS]``.

    Examples
    --------
    >>> clean_email_text("Moi,\\nasiakas kysyy alla.\\n\\nt. Jonna\\n\\nLähettäjä: Matti\\nLähetetty: 5.9.2016\\n\\nVoinko muuttaa?")
    'Moi,\\nasiakas kysyy alla.\\n\\n[LAINAUS]\\nVoinko muuttaa?'
    """
    return _clean(text, first).request_text()
