# SPDX-License-Identifier: Apache-2.0
"""Migrations: applied in order on an empty database, once, even with servers racing."""
import glob
import hashlib
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


def test_an_archive_from_before_partitions_is_kept_for_every_task_that_wrote_it():
    """Schema 027 on a database that holds an archive keyed by mailbox: each task that
    replicated a mailbox gets a partition with the converged copy, rows no task can be told
    for keep an owner-less partition, counts follow, and the view shows what it showed."""
    db = harness.Database()
    before = [v for v in SCHEMA if v < "027"]
    try:
        with db.connect() as conn:
            cur = conn.cursor()
            cur.execute("CREATE TABLE schema_migrations (version text PRIMARY KEY,"
                        " checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
            for v in before:
                sql = open(os.path.join(harness.SOURCE_DIR, "schema", v + ".sql"), "rb").read()
                cur.execute(sql.decode())  # no parameters: % stays as written
                cur.execute("INSERT INTO schema_migrations VALUES (%s, %s)",
                            (v, hashlib.sha256(sql).hexdigest()))
        site = "11111111-1111-4111-8111-111111111111"
        # Deleted tasks need no site, definition or schedule; their archive stays all the same.
        tasks = [db.scalar("INSERT INTO exchange_tasks (name, type, group_kind, group_value,"
                           " deleted_at) VALUES (%s, %s, 'mailbox', 'old@example.com', now())"
                           " RETURNING id::text",
                           name, kind)
                 for name, kind in (("mfr-1", "mailbox_folder_replication"),
                                    ("mfr-2", "mailbox_folder_replication"),
                                    ("cal", "calendar_replication"))]
        for t in tasks:
            db.query("INSERT INTO sync_checkpoints (site_id, task_id, mailbox, scope, state,"
                     " batch_id) VALUES (%s, %s, 'old@example.com', 'F1', 's', gen_random_uuid())",
                     site, t)
        for m in ("old@example.com", "orphan@example.com"):
            db.query("INSERT INTO archive_mailboxes (address) VALUES (%s)", m)
            db.query("INSERT INTO archive_folders (mailbox, source, folder_id, display_name, path)"
                     " VALUES (%s, 'mail', 'F1', 'Inbox', '/Inbox')", m)
            db.query("INSERT INTO archive_items (mailbox, item_id, folder_id, deleted_at)"
                     " VALUES (%s, 'I1', 'F1', NULL), (%s, 'I2', 'F1', now())", m, m)
        db.query("INSERT INTO archive_folders (mailbox, source, folder_id, display_name, path)"
                 " VALUES ('old@example.com', 'calendar', 'C1', 'Calendar', '/Calendar')")
        db.query("INSERT INTO archive_appointments (mailbox, item_id, folder_id)"
                 " VALUES ('old@example.com', 'E1', 'C1')")

        out = migrate_only(db)
        assert applied(db) == SCHEMA and f"({len(SCHEMA) - len(before)} applied now)" in out
        parts = db.query("SELECT mailbox, task_id::text, feature FROM archive_partitions"
                         " ORDER BY mailbox, feature, task_id")
        assert sorted(parts, key=str) == sorted(
            [("old@example.com", tasks[0], "mail"), ("old@example.com", tasks[1], "mail"),
             ("old@example.com", tasks[2], "calendar"), ("orphan@example.com", None, "mail")],
            key=str)
        # Every partition holds the whole converged copy of its feature.
        per_part = db.query(
            "SELECT p.task_id::text, p.feature, (SELECT count(*) FROM archive_items i"
            " WHERE i.partition_id = p.id), (SELECT count(*) FROM archive_folders f"
            " WHERE f.partition_id = p.id), (SELECT count(*) FROM archive_appointments a"
            " WHERE a.partition_id = p.id) FROM archive_partitions p ORDER BY p.id")
        for task, feature, items, folders, appointments in per_part:
            assert (items, folders, appointments) == (
                (2, 1, 0) if feature == "mail" else (0, 1, 1)), (task, feature)
        counts = db.query("SELECT sum(items), sum(deleted_items), sum(appointments)"
                          " FROM archive_folder_counts c JOIN archive_partitions p"
                          " ON p.id = c.partition_id WHERE p.mailbox = 'old@example.com'")
        assert counts == [(2, 2, 1)]
        assert db.scalar("SELECT cardinality(mse_view_partitions('old@example.com'))") == 2
        assert db.scalar("SELECT count(*) FROM archive_items WHERE partition_id ="
                         " ANY(mse_view_partitions('orphan@example.com'))") == 2
    finally:
        db.drop()
