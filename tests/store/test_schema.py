"""The store file: marked as a store, versioned, migrated; foreign, damaged and newer files refused unchanged."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from classifier.store import SCHEMA_VERSION, StoreError, open_store
from classifier.store.schema import APPLICATION_ID, MIGRATIONS, TABLES, connect, migrate


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _siblings(p: Path) -> set[str]:
    return {q.name for q in p.parent.iterdir()}


def test_a_new_store_is_marked_and_at_the_current_schema(tmp_path):
    s = open_store(tmp_path / "h.sqlite", write=True, create=True)
    s.close()
    con = sqlite3.connect(tmp_path / "h.sqlite")
    assert con.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert set(TABLES) <= names


def test_a_missing_store_is_made_only_when_asked(tmp_path):
    with pytest.raises(StoreError, match="no such store"):
        open_store(tmp_path / "none.sqlite")
    with pytest.raises(StoreError, match="no such store"):
        open_store(tmp_path / "none.sqlite", write=True)
    assert not (tmp_path / "none.sqlite").exists()


@pytest.mark.parametrize("content, what", [
    (b'{"id": "x", "text": "moi"}\n', "JSON"),
    (b"From a@b Mon Sep  5 10:12:00 2016\nSubject: x\n\nmoi\n", "mbox"),
    (b"\x89PNG\r\n\x1a\n" + bytes(range(255, -1, -1)) * 4, "binary"),
], ids=["jsonl", "mbox", "png"])
def test_a_file_that_is_no_database_is_refused_unchanged(tmp_path, content, what):
    p = tmp_path / "h.sqlite"
    p.write_bytes(content)
    before, files = _digest(p), _siblings(p)
    for write in (False, True):
        with pytest.raises(StoreError, match=f"not a tukipyynto store.*{what}.*not changed"):
            open_store(p, write=write, create=True)
    assert _digest(p) == before and _siblings(p) == files  # not even a lock file beside it


def test_another_programs_database_is_refused_unchanged(tmp_path):
    p = tmp_path / "other.db"
    con = sqlite3.connect(p)
    con.execute("CREATE TABLE t (x)")
    con.execute("INSERT INTO t VALUES (1)")
    con.commit()
    con.close()
    before, files = _digest(p), _siblings(p)
    with pytest.raises(StoreError, match="another program"):
        open_store(p, write=True, create=True)
    with pytest.raises(StoreError, match="another program"):
        open_store(p)
    assert _digest(p) == before and _siblings(p) == files


def test_a_newer_schema_is_refused_unchanged(tmp_path):
    p = tmp_path / "h.sqlite"
    open_store(p, write=True, create=True).close()
    con = sqlite3.connect(p)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.commit()
    con.close()
    before = _digest(p)
    for write in (False, True):
        with pytest.raises(StoreError, match=f"newer tukipyynto \\(store schema {SCHEMA_VERSION + 1}"):
            open_store(p, write=write)
    assert _digest(p) == before


def test_a_store_cut_short_is_refused_unchanged(tmp_path):
    p = tmp_path / "h.sqlite"
    open_store(p, write=True, create=True).close()
    p.write_bytes(p.read_bytes()[:60])
    before = _digest(p)
    with pytest.raises(StoreError, match="damaged"):
        open_store(p, write=True)
    assert _digest(p) == before


def test_a_store_with_a_missing_table_is_refused(tmp_path):
    p = tmp_path / "h.sqlite"
    open_store(p, write=True, create=True).close()
    con = sqlite3.connect(p)
    con.execute("DROP TABLE refs")
    con.commit()
    con.close()
    before = _digest(p)
    with pytest.raises(StoreError, match="damaged.*'refs' is missing"):
        open_store(p, write=True)
    assert _digest(p) == before


def test_migrations_run_in_order_and_an_old_store_is_brought_up_to_date(tmp_path):
    assert SCHEMA_VERSION == len(MIGRATIONS) >= 2
    p = tmp_path / "old.sqlite"
    con = sqlite3.connect(p, isolation_level=None)
    con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    migrate(con, 0, to=1)
    con.execute("INSERT INTO meta VALUES ('created_at', 'then')")
    con.close()
    s = open_store(p, write=True)
    assert s.con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert s.meta("created_at") == "then"  # the data survives the migration
    assert s.query("SELECT count(*) FROM reviews") == [(0,)]  # schema 2 added the reviews
    s.close()


def test_a_failing_migration_leaves_the_schema_as_it_was(tmp_path, monkeypatch):
    p = tmp_path / "old.sqlite"
    con = sqlite3.connect(p, isolation_level=None)
    con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    migrate(con, 0, to=1)
    con.close()
    import classifier.store.schema as schema

    monkeypatch.setattr(schema, "MIGRATIONS", MIGRATIONS + [["CREATE TABLE later (x)", "THIS IS NOT SQL"]])
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(MIGRATIONS) + 1)
    with pytest.raises(StoreError):
        connect(p)
    con = sqlite3.connect(p)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 1  # not 2: the steps before the bad one are undone too
    assert not con.execute("SELECT name FROM sqlite_master WHERE name IN ('later', 'reviews')").fetchall()
