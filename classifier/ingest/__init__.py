"""Ingest: mailboxes (mbox, .eml, Outlook .msg) and request tables (JSONL, CSV, Parquet) into contacts.

One :class:`Contact` is one contact in the study's sense: an email thread (however many
replies it grew), a phone note, or a table record. Every input message or record is
accounted for: it becomes a contact, is merged into one (counted in ``n_messages``), or
becomes an error contact whose ``error`` says which file, which message or line and
what is wrong. Nothing here raises on bad data; only arguments that name no input
(a missing file, a pattern that matches nothing) raise :class:`~classifier.errors.IngestError`.

Mail sources are read twice, streaming: pass 1 reads only header blocks to build the
thread map, pass 2 parses the full text of each thread's first message (the request).
An mbox is memory-mapped and split on its ``From`` lines here rather than by
:mod:`mailbox`, which builds a table of contents in memory first. MIME structure comes
from fast-mail-parser (Rust) when it is installed, else from the standard library's
``compat32`` parser (five times faster than ``policy.default``, and the fallback for any
message the fast parser rejects); either way this module decodes charsets, header
words and HTML itself, so both give the same text.

One module per stage; this package re-exports their names (the public ones in ``__all__``):

- :mod:`.sources`: :func:`iter_contacts`, input planning (:func:`plan_inputs`: files, folders, globs) and sniffing
- :mod:`.mbox`: mbox splitting into byte ranges (offsets), both passes over an mbox
- :mod:`.files`: both passes over a set of ``.eml`` / ``.msg`` files
- :mod:`.msg`: Outlook ``.msg`` files
- :mod:`.headers`: header-block scan, threading fields, subject normalisation
- :mod:`.charset`: charsets, RFC 2047 words, Message-IDs and dates
- :mod:`.mime`: MIME bodies (fast-mail-parser or compat32)
- :mod:`.html`: HTML to text
- :mod:`.clean`: quoted history, signatures, disclaimers, footers
- :mod:`.threads`: threading (union-find, subject fallback, the request of each thread)
- :mod:`.mail`: contact assembly per thread (pass 2)
- :mod:`.tables`: JSONL / CSV / Parquet records
- :mod:`.parallel`: :func:`iter_contacts_parallel`, the same contacts with mbox files parsed in worker processes
- :mod:`.contact`: :class:`Contact`, :class:`ThreadMessage`, summaries, shared helpers
"""

from __future__ import annotations

from .contact import (  # noqa: F401
    Contact,
    IngestSummary,
    IngestTally,
    QUOTE_MARKER,
    ThreadMessage,
    _brief,
    _error_contact,
    _json_ready,
    _replace,
    _stable_id,
    summarise,
)
from .charset import (  # noqa: F401
    _EW_RE,
    _ID_RE,
    _READ_AS,
    _SINGLE_BYTE,
    _UTF8_SEQ_RE,
    _decode_bytes,
    _decode_rfc2047,
    _fallback,
    _header_str,
    _mail_date,
    _message_ids,
    _unfold,
)
from .headers import (  # noqa: F401
    _BLANK_RE,
    _HEADER_LINE_RE,
    _Head,
    _HeaderBlock,
    _PREFIX_RE,
    _REPLY_PREFIXES,
    _VALID_BLOCK_RE,
    _WANTED,
    _WANTED_RE,
    _addresses,
    _head_from_fields,
    _head_of_raw,
    _is_reply_subject,
    _scan_header_block,
    _split_raw,
    normalise_subject,
)
from .html import (  # noqa: F401
    _BLOCK_TAGS,
    _SKIP_TAGS,
    _WS_RE,
    _html_to_text,
)
from .mime import (  # noqa: F401
    _Body,
    _ENCODING_DEFECTS,
    _FMP,
    _FastPart,
    _HTML_HINT_RE,
    _MULTIPART_RE,
    _PARAM_RES,
    _StdPart,
    _TRUNCATION_DEFECTS,
    _UNSET,
    _choose_alternative,
    _collect,
    _fast_parser,
    _param,
    _parse_mime,
    _parse_raw,
    _raw_body_fallback,
    _unclosed_multipart,
    _walk_part,
)
from .msg import (  # noqa: F401
    _META_CHARSET_RE,
    _OLE_MAGIC,
    _html_charset,
    _msg_codepage,
    _read_msg,
)
from .mbox import (  # noqa: F401
    _Lines,
    _MBOXRD_RE,
    _MboxPlace,
    _MboxReader,
    _SEP_TIME_RE,
    _SEP_YEAR_RE,
    _body_start,
    _is_separator,
    _mbox_chunks,
)
from .files import (  # noqa: F401
    _FileSetReader,
    _strip_from_line,
)
from .clean import (  # noqa: F401
    _ATTRIB_END_RE,
    _ATTRIB_START_RE,
    _BLANKS_RE,
    _CLOSER_RE,
    _CONDITIONAL_RE,
    _CONTACT_RE,
    _CTRL_RE,
    _Cleaned,
    _DISCLAIMER_RE,
    _DISCLAIMER_WORDS_RE,
    _FOOTER_RE,
    _FWD_INTRO_RE,
    _HDR_ANY_RE,
    _HDR_FROM_RE,
    _JUNK_RE,
    _NAME_RE,
    _NAME_TOKEN,
    _SEP_LINE_RE,
    _SHORT_NAME_RE,
    _SIGNED_RE,
    _STRONG_CLOSER,
    _TITLE_RE,
    _UNDERSCORES_RE,
    _WEAK_CLOSER,
    _WEAK_ONLY_RE,
    _boundary_at,
    _clean,
    _clean_quoted,
    _contact_block,
    _is_header_block,
    _join,
    _lone_name,
    _normalise_lines,
    _sign_off,
    _skip_quote_header,
    _split_quotes,
    _strip_footers,
    _strip_signature,
    _trim,
    clean_email_text,
)
from .threads import (  # noqa: F401
    _ThreadIndex,
    _ThreadPlan,
)
from .mail import (  # noqa: F401
    _contact_from_body,
    _mail_contacts,
    _with_replies,
)
from .tables import (  # noqa: F401
    REQUEST_FIELDS,
    _CHANNEL_ALIASES,
    _excerpt,
    _record_contact,
    _shown,
    _table_contacts,
)
from .sources import (  # noqa: F401
    MAIL_SUFFIXES,
    MBOX_SUFFIXES,
    _KNOWN_HEADERS,
    _Source,
    _is_mbox_file,
    _iter_sources,
    _plan_dir,
    _plan_sources,
    _sniff,
    is_answer_key,
    iter_contacts,
    plan_inputs,
)
from .parallel import iter_contacts_parallel  # noqa: F401
from ..records import HELSINKI  # noqa: F401  (tests and callers read it from here)

__all__ = [
    "Contact",
    "ThreadMessage",
    "IngestSummary",
    "IngestTally",
    "QUOTE_MARKER",
    "clean_email_text",
    "iter_contacts",
    "iter_contacts_parallel",
    "is_answer_key",
    "normalise_subject",
    "plan_inputs",
    "summarise",
]
