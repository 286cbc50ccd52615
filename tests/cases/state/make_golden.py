#!/usr/bin/env python3
"""Writes the state-database golden files the state store must refuse, each with its own
clear error (tests/unit/state/state_store_test.cpp). Run from this folder; the files are
committed, this script documents how they were made.

- zero-length.db       an empty file
- not-sqlite.db        a text file
- foreign.db           a valid SQLite database of another application
- newer-version.db     a weir database with a schema version from the future (999)
- truncated.db         the first half of a valid multi-page weir database
- corrupt.db           a valid weir database with one of its b-tree pages overwritten
"""
import os
import sqlite3

WEIR_APP_ID = 0x57454952


def weir_db(path, version=1, rows=400):
    if os.path.exists(path):
        os.remove(path)
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE weir_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
        "CREATE TABLE weir_state (pipeline TEXT NOT NULL, stage INTEGER NOT NULL, key BLOB NOT NULL,"
        " value BLOB NOT NULL, PRIMARY KEY (pipeline, stage, key)) WITHOUT ROWID;")
    db.execute("INSERT INTO weir_meta VALUES ('created_by', 'weir golden'), ('created_at', '2026-11-21T00:00:00Z')")
    db.executemany("INSERT INTO weir_state VALUES ('p', 1, ?, ?)",
                   [(b"key-%06d" % i, os.urandom(0) + (b"v" * 200)) for i in range(rows)])
    db.execute("PRAGMA application_id=%d" % WEIR_APP_ID)
    db.execute("PRAGMA user_version=%d" % version)
    db.commit()
    db.close()


open("zero-length.db", "wb").close()
with open("not-sqlite.db", "w") as f:
    f.write("this is not a database\n")
if os.path.exists("foreign.db"):
    os.remove("foreign.db")
db = sqlite3.connect("foreign.db")
db.execute("CREATE TABLE t (x)")
db.commit()
db.close()
weir_db("newer-version.db", version=999, rows=1)
weir_db("truncated.db")
size = os.path.getsize("truncated.db")
with open("truncated.db", "r+b") as f:
    f.truncate((size // 2 // 4096) * 4096)
weir_db("corrupt.db")
with open("corrupt.db", "r+b") as f:
    f.seek(4096 * 3)          # page 4: a b-tree page of weir_state
    f.write(b"\xff" * 4096)
