"""Text repair shared by every input: markup remnants, mojibake, control characters, shouting, missing spaces.

Ticket systems export request text with HTML left in (``<br>``, ``&nbsp;``, ``&auml;``),
UTF-8 read as Latin-1 somewhere on the way (``Ã¤`` for ``ä``), all-caps messages and
sentences run together (``kiitos.Asiakas``). :func:`repair_text` undoes these and says
which repairs it made, as flags a labelled row carries.
"""

from __future__ import annotations

import html
import re
from typing import Any

__all__ = ["REPAIR_FLAGS", "html_to_text", "repair_text"]

REPAIR_FLAGS = ("html_removed", "mojibake_fixed", "caps_normalised", "spacing_fixed", "control_chars_removed")

_TAG_RE = re.compile(
    r"(?i)<\s*/?\s*(?:br|p|div|span|b|i|u|em|strong|font|table|tr|td|th|tbody|ul|ol|li|a|img|h[1-6]|hr|"
    r"blockquote|pre|html|body|head|center|section|article|o:p)\b[^<>]{0,500}?/?\s*>"
)
# A "<" followed by a tag name but no ">" before the next "<" or the end: the parser would read the words after it
# as the tag's attributes and drop them, so it is text.
_OPEN_ENDED_TAG_RE = re.compile(r"<(?=[A-Za-z!/][^<>]*(?:<|$))")
# Elements whose content the converter drops; opened and never closed in a fragment, they would drop the rest of it.
_SKIPPED_OPEN_RE = re.compile(r"(?i)<\s*(script|style|svg|noscript|template|title|object|xml|head|textarea|iframe|math)\b[^<>]*>")
_ENTITY_RE = re.compile(r"&(?:[a-zA-Z][a-zA-Z0-9]{1,31}|#\d{1,7}|#[xX][0-9a-fA-F]{1,6});")
# Sequences UTF-8 text shows when read as Latin-1 / cp1252 (Ã¤ Ã¶ Ã… â‚¬ â€“ ...).
_MOJIBAKE_RE = re.compile("[\u00c2\u00c3\u00c5][\u0080-\u00bf\u2018-\u203a\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc]|\u00e2\u20ac")
_CTRL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2060\ufeff\ufffc]")
_LETTER_RE = re.compile(r"[^\W\d_]")
_WORD_RE = re.compile(r"\S+")
_SENTENCE_GAP_RE = re.compile(r"(?<=[^\W\d_]{2})([.!?])(?=[A-ZÅÄÖ][a-zåäö])")
_LOOSE_GAP_RE = re.compile(r"(?<=[^\W\d_]{2})([.!?])(?=[^\W\d_]{2})")  # in a text that was all caps
_ALPHA_RUN_RE = re.compile(r"(?<![\d])[^\W\d_]{2,}(?![\d])")
_COMMA_GAP_RE = re.compile(r"(?<=[^\W\d_]{2})([,;])(?=[^\W\d_]{2})")
_GAP_HINT_RE = re.compile(r"[^\W\d_][.!?,;][^\W\d_]")  # cheap test before the per-word pass
_SHOUT_HINT_RE = re.compile(r"[A-ZÅÄÖ]{4}")
_SENTENCE_START_RE = re.compile(r"(^|[.!?]\s+|\n\s*)([a-zåäö])")


# --------------------------------------------------------------------------- HTML to text

_BLOCK_TAGS = frozenset(
    "p div li ul ol tr table tbody thead tfoot h1 h2 h3 h4 h5 h6 pre address section article header "
    "footer center dl dt dd form fieldset figure main nav aside blockquote body".split()
)
_SKIP_TAGS = frozenset("head style script title noscript template meta link xml object svg -comment".split())
_WS_RE = re.compile(r"[ \t\r\n\f\v]+")


def html_to_text(html: str) -> str:
    """Convert HTML to text, keeping the layout a reader sees.

    Parameters
    ----------
    html : str
        An HTML document or fragment (a mail body, a ticket export's field).

    Returns
    -------
    str
        The text: a line break for ``<br>`` and around block elements, a line of underscores
        for ``<hr>``, ``> `` before each line inside ``<blockquote>`` (as a quoted reply), the
        lines of ``<pre>`` kept; scripts, styles and the head left out; runs of white space
        folded to one space.
    """
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    root = tree.body or tree.root
    if root is None:
        return ""
    lines: list[str] = []
    cur: list[str] = []
    has_content = False
    depth = 0
    pre = 0

    def flush(force: bool = False) -> None:
        """End the current line (an empty one too when ``force``)."""
        nonlocal cur, has_content
        if has_content or force:
            line = "".join(cur).replace("\xa0", " ").strip()
            lines.append(("> " * depth + line) if depth and line else line)
        cur, has_content = [], False

    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        tag = node.tag
        if leaving:
            if tag == "pre":
                pre -= 1
            if tag in _BLOCK_TAGS:
                flush()
                if tag == "blockquote":
                    depth -= 1
            elif tag in ("td", "th"):
                cur.append(" ")
            continue
        if tag == "-text":
            t = node.text_content or ""
            if pre:
                parts = t.split("\n")
                for k, piece in enumerate(parts):
                    if k:
                        flush(force=True)
                    if piece:
                        cur.append(piece)
                        has_content = True
                continue
            if t.strip(" \t\r\n\f\v"):
                has_content = True
            cur.append(_WS_RE.sub(" ", t))
            continue
        if tag == "br":
            flush(force=True)
            continue
        if tag == "hr":
            flush()
            lines.append("_" * 32)
            continue
        if tag in _SKIP_TAGS or tag is None or tag.startswith("-"):
            continue
        if tag in _BLOCK_TAGS:
            flush()
            if tag == "blockquote":
                depth += 1
        if tag == "pre":
            pre += 1
        stack.append((node, True))
        children = []
        child = node.child
        while child is not None:
            children.append(child)
            child = child.next
        for child in reversed(children):
            stack.append((child, False))
    flush()
    return "\n".join(lines)


def _unclosed_as_text(text: str) -> str:
    """Escape a ``<`` the HTML converter would let swallow words: a tag never ended by ``>``, or a skipped element never closed."""
    text = _OPEN_ENDED_TAG_RE.sub("&lt;", text)

    def keep(m: re.Match) -> str:
        closed = re.search(rf"(?i)</\s*{m.group(1)}\b", text[m.end():])
        return m.group(0) if closed else "&lt;" + m.group(0)[1:]

    return _SKIPPED_OPEN_RE.sub(keep, text)


def _fix_markup(text: str) -> str:
    """HTML fragments to text with :func:`html_to_text`; lone entities unescaped."""
    if _TAG_RE.search(text):
        # keep the export's own line breaks: they are not markup
        marked = _unclosed_as_text(text.replace("\r\n", "\n")).replace("\n", "<br>")
        return html_to_text(marked)
    return html.unescape(text)


def _fix_mojibake(text: str) -> str:
    """Undo UTF-8 read as Latin-1 / cp1252 with ftfy's encoding fixer (nothing else of ftfy's)."""
    import ftfy

    return ftfy.fix_encoding(text)


def _is_shouting(text: str) -> bool:
    """True when at least 20 letters and over 70 % of them are capitals."""
    if not _SHOUT_HINT_RE.search(text):
        return False
    letters = _LETTER_RE.findall(text)
    if len(letters) < 20:
        return False
    upper = sum(1 for c in letters if c.isupper())
    return upper / len(letters) > 0.7


def _normalise_caps(text: str) -> str:
    """Sentence case for an all-caps text; letters next to digits (IBANs, identity codes, codes) are kept."""
    low = _ALPHA_RUN_RE.sub(lambda m: m.group(0).lower(), text)
    low = _fix_spacing(low, loose=True)
    return _SENTENCE_START_RE.sub(lambda m: m.group(1) + m.group(2).upper(), low)


def _fix_spacing(text: str, loose: bool = False) -> str:
    """A space after ``.!?`` before a capitalised word (any word when ``loose``) and after ``,;`` between words.

    Email addresses and web addresses are left alone.
    """
    if not _GAP_HINT_RE.search(text):
        return text
    gap = _LOOSE_GAP_RE if loose else _SENTENCE_GAP_RE

    def word(m: re.Match) -> str:
        w = m.group(0)
        if "@" in w or "://" in w or "www." in w.lower():
            return w
        w = gap.sub(r"\1 ", w)
        return _COMMA_GAP_RE.sub(r"\1 ", w)

    return _WORD_RE.sub(word, text)


def repair_text(text: str) -> tuple[str, tuple[str, ...]]:
    """Clean a request text the same way whatever its source, and say what was repaired.

    Parameters
    ----------
    text : str
        Request text as read (mail bodies after MIME decoding, table cells as they are).

    Returns
    -------
    text : str
        The repaired text.
    flags : tuple of str
        The repairs made, from :data:`REPAIR_FLAGS`: ``html_removed`` (tags or entities),
        ``mojibake_fixed`` (UTF-8 read as Latin-1), ``caps_normalised`` (an all-caps text put
        in sentence case; words with digits kept), ``spacing_fixed`` (a space added after
        punctuation) and ``control_chars_removed`` (NUL and other control characters).

    Examples
    --------
    >>> repair_text("Asiakas muuttaa&nbsp;1.10.<br>Kiitos.Jonna")
    ('Asiakas muuttaa 1.10.\\nKiitos. Jonna', ('html_removed', 'spacing_fixed'))
    """
    if not text:
        return text, ()
    flags: list[str] = []
    new = _CTRL_RE.sub("", text)
    if new != text:
        flags.append("control_chars_removed")
        text = new
    if _MOJIBAKE_RE.search(text):
        new = _fix_mojibake(text)
        if new != text:
            flags.append("mojibake_fixed")
            text = new
    if "<" in text or "&" in text:
        new = _fix_markup(text)
        if new != text:
            flags.append("html_removed")
            text = new.replace("\xa0", " ")
            if _MOJIBAKE_RE.search(text):  # an entity-encoded mojibake (&Atilde;&curren;)
                new = _fix_mojibake(text)
                if new != text and "mojibake_fixed" not in flags:
                    flags.append("mojibake_fixed")
                text = new
    if _is_shouting(text):
        new = _normalise_caps(text)
        if new != text:
            flags.append("caps_normalised")
            if _fix_spacing(text.lower(), loose=True) != text.lower():
                flags.append("spacing_fixed")
            text = new
    new = _fix_spacing(text)
    if new != text:
        flags.append("spacing_fixed")
        text = new
    return text, tuple(sorted(set(flags)))
