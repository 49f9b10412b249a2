"""Tests for flightsw.store.kv: a durable name -> integer store on a real sqlite file."""

from __future__ import annotations

import sqlite3

import pytest

from flightsw.store.kv import CounterStore


@pytest.fixture
def path(tmp_path):
    return tmp_path / "store" / "supervisor.sqlite"


@pytest.fixture
def store(path):
    s = CounterStore(path)
    yield s
    s.close()


def test_a_new_store_is_empty(store):
    assert store.load() == {}


def test_saved_counters_load_back(store):
    store.save({"executor": 2, "_escalated": 0})
    assert store.load() == {"executor": 2, "_escalated": 0}


def test_saving_a_counter_again_overwrites_it(store):
    store.save({"executor": 1})
    store.save({"executor": 2})
    assert store.load() == {"executor": 2}


def test_saving_some_counters_keeps_the_others(store):
    store.save({"executor": 1, "power": 4})
    store.save({"executor": 2})
    assert store.load() == {"executor": 2, "power": 4}


def test_counters_survive_reopening_the_file(path):
    first = CounterStore(path)
    first.save({"executor": 3, "_escalated": 1})
    first.close()
    second = CounterStore(path)
    try:
        assert second.load() == {"executor": 3, "_escalated": 1}, "counters lost across a restart"
    finally:
        second.close()


def test_a_save_is_applied_whole_or_not_at_all(store):
    store.save({"aaa": 1})
    store.db.execute(  # a seeded fault in the database itself: one row cannot be written
        "CREATE TRIGGER injected_fault BEFORE INSERT ON counters WHEN NEW.name = 'zzz' "
        "BEGIN SELECT RAISE(ABORT, 'injected'); END"
    )
    with pytest.raises(sqlite3.DatabaseError):
        store.save({"aaa": 2, "zzz": 1})
    assert store.load() == {"aaa": 1}, "a failed save left part of its counters written"


def test_saves_are_synced_to_disk_unless_asked_otherwise(tmp_path):
    full, normal = CounterStore(tmp_path / "a.sqlite"), CounterStore(tmp_path / "b.sqlite", "NORMAL")
    try:  # sqlite's codes: 1 NORMAL, 2 FULL
        assert full.db.execute("PRAGMA synchronous").fetchone()[0] == 2
        assert normal.db.execute("PRAGMA synchronous").fetchone()[0] == 1
    finally:
        full.close()
        normal.close()
    with pytest.raises(ValueError, match="synchronous: expected 'FULL' or 'NORMAL', got 'OFF'"):
        CounterStore(tmp_path / "c.sqlite", "OFF")
