"""A history store: labelled contacts accumulated run after run in one embedded database file.

``tukipyynto label INPUT... --store history.sqlite`` adds to the store only what is new: a
message or record already there (the same Message-ID and content, the same table record) is
recognised from its bytes before it is parsed and is not counted again, within one run (two
overlapping exports) and across runs. A reply that arrives in a later export joins its stored
thread, whose service fields are brought up to date. Each batch is one transaction, so a
killed run leaves the store as it was before that batch and a rerun finishes the job; one
process writes at a time (the others get a clear error, or wait with ``--wait``).

The engine is SQLite from Python's standard library: a run's work is many small keyed
lookups (is this message stored?) and appends of a thousand rows per transaction, the
workload of a B-tree with a write-ahead log; the report reads the rows back into the same
Python code that reports on JSONL files, and the trends aggregate a few indexed columns.

Modules:

``schema``
    The file: marked as a store (SQLite ``application_id``), versioned schema, migrations.
``lock``
    One writer at a time.
``keys``
    Keyed hashes kept instead of identifiers (message identity, Message-IDs, subjects, addresses).
``core``
    :class:`Store`: runs, lookups, batch writes, reading rows back.
``dedupe``
    :class:`StoreReader`: the new contacts of an input and the stored threads they grow.
``run``
    :class:`StoreRun`: the store's side of a ``label --store`` run.
``trends``
    Monthly topic and avoidable shares with intervals; alerts on changes unlikely to be chance.
"""

from __future__ import annotations

from .core import Store, open_store
from .schema import SCHEMA_VERSION, StoreError, StoreLockedError

__all__ = ["SCHEMA_VERSION", "Store", "StoreError", "StoreLockedError", "open_store"]
