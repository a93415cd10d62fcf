"""HTML to text: line breaks for ``<br>`` and blocks, ``> `` before ``<blockquote>`` lines."""

from __future__ import annotations

import re
from typing import Any


# --------------------------------------------------------------------------- HTML to text

_BLOCK_TAGS = frozenset(
    "p div li ul ol tr table tbody thead tfoot h1 h2 h3 h4 h5 h6 pre address section article header "
    "footer center dl dt dd form fieldset figure main nav aside blockquote body".split()
)
_SKIP_TAGS = frozenset("head style script title noscript template meta link xml object svg -comment".split())
_WS_RE = re.compile(r"[ \t\r\n\f\v]+")


def _html_to_text(html: str) -> str:
    """Convert HTML to text: line breaks for ``<br>`` and blocks, ``> `` before ``<blockquote>`` lines."""
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
