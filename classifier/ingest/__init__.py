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
message the fast parser rejects); either way this package decodes charsets and header
words itself and converts HTML with :func:`classifier.repair.html_to_text`, so both give
the same text.

One module per stage; the package offers the public names below (its ``__all__``). The
modules share private helpers among themselves; nothing private leaves the package:

- :mod:`.sources`: :func:`iter_contacts`, input planning (:func:`plan_inputs`: files, folders, globs) and sniffing
- :mod:`.mbox`: mbox splitting into byte ranges (offsets), both passes over an mbox
- :mod:`.files`: both passes over a set of ``.eml`` / ``.msg`` files
- :mod:`.msg`: Outlook ``.msg`` files
- :mod:`.headers`: header-block scan, threading fields, subject normalisation
- :mod:`.charset`: charsets, RFC 2047 words, Message-IDs and dates
- :mod:`.mime`: MIME bodies (fast-mail-parser or compat32)
- :mod:`.clean`: quoted history, signatures, disclaimers, footers
- :mod:`.threads`: threading (union-find, subject fallback, the request of each thread)
- :mod:`.mail`: contact assembly per thread (pass 2)
- :mod:`.tables`: JSONL / CSV / Parquet records
- :mod:`.parallel`: :func:`iter_contacts_parallel`, the same contacts with mbox files parsed in worker processes
- :mod:`.contact`: :class:`Contact`, :class:`ThreadMessage`, summaries, shared helpers
"""

from __future__ import annotations

from .clean import clean_email_text
from .contact import QUOTE_MARKER, Contact, IngestSummary, IngestTally, ThreadMessage, summarise
from .headers import normalise_subject
from .parallel import iter_contacts_parallel
from .sources import is_answer_key, iter_contacts, plan_inputs

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
