# SPDX-License-Identifier: Apache-2.0
"""Migrations: applied in order on an empty database, once, even with servers racing."""
import glob
import os
import threading

import harness

SCHEMA = sorted(os.path.basename(p)[:-4] for p in
                glob.glob(os.path.join(harness.SOURCE_DIR, "schema", "[0-9][0-9][0-9]_*.sql")))


def applied(db):
    return [r[0] for r in db.query("SELECT version FROM schema_migrations ORDER BY version")]


def migrate_only(db):
    p = harness.Process([harness.binary("mse-server"), "--migrate-only"],
                        {"MSE_DATABASE_URL": db.conninfo}, None, "mse-server --migrate-only")
    rc = p.wait(120)
    p.assert_clean_exit(rc)
    return p.output()


def test_empty_database_gets_every_migration_then_second_start_is_noop():
    db = harness.Database()
    try:
        out = migrate_only(db)
        assert applied(db) == SCHEMA
        assert f"({len(SCHEMA)} applied now)" in out
        out = migrate_only(db)
        assert "(0 applied now)" in out
        assert applied(db) == SCHEMA
    finally:
        db.drop()


def test_two_servers_starting_together_apply_once():
    db = harness.Database()
    try:
        servers = [None, None]

        def start(i):
            servers[i] = harness.Server(db.conninfo)

        threads = [threading.Thread(target=start, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        try:
            assert all(servers), "a server failed to start"
            counts = [int(s.wait_for(r"\((\d+) applied now\)").group(1)) for s in servers]
            assert sorted(counts) == [0, len(SCHEMA)]
            assert applied(db) == SCHEMA
        finally:
            for s in servers:
                if s:
                    s.stop_clean()
    finally:
        db.drop()


def test_edited_migration_is_refused():
    db = harness.Database()
    try:
        migrate_only(db)
        db.query("UPDATE schema_migrations SET checksum = 'tampered' WHERE version = %s",
                 SCHEMA[0])
        p = harness.Process([harness.binary("mse-server"), "--migrate-only"],
                            {"MSE_DATABASE_URL": db.conninfo}, None, "mse-server")
        assert p.wait(60) == 1
        assert "changed after it was applied" in p.output()
    finally:
        db.drop()
