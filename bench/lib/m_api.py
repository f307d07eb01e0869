# SPDX-License-Identifier: Apache-2.0
"""Measurements 1–3 of issue #8: API read vs pgbench -S, API list with many tasks stored,
progress posts vs a pgbench single-row UPDATE. Peer and MSE run in alternating rounds."""
import os
import threading

import loadgen
from api import SiteWorker
from context import alternate, conninfo_kv, median

WRK_THREADS = 2  # the machine's cores are shared with the server and PostgreSQL anyway


def setup_pgbench(ctx):
    """A pgbench database on the same PostgreSQL (pgbench -i at the configured scale)."""
    if getattr(ctx, "pgbench", None):
        return ctx.pgbench
    kv = conninfo_kv(ctx.create_database("pgbench"))
    ctx.pgbench = loadgen.PgBench(kv)
    ctx.log(f"pgbench -i -s {ctx.sizes['pgbench_scale']}")
    ctx.pgbench.init(ctx.sizes["pgbench_scale"])
    return ctx.pgbench


def seed_tasks(ctx):
    """The list's tasks: one created through the API, the rest copies of it made in SQL (what
    is measured is reading them, not creating them). Returns the API-created task."""
    site = ctx.admin.site("bench-list-site")
    schedule = ctx.admin.schedule("bench-never")
    definition = ctx.admin.definition()
    task = ctx.admin.task("bench-task", site, schedule, definition,
                          {"kind": "mailbox", "value": "user0001@example.com"})
    n = ctx.sizes["list_tasks"]
    ctx.log(f"storing {n:,} tasks")
    ctx.sql("INSERT INTO exchange_tasks (name, site_id, type, definition_id, schedule_id,"
            " group_kind, group_value, enabled, next_run_at, created_by, updated_by)"
            " SELECT t.name || ' #' || g, t.site_id, t.type, t.definition_id, t.schedule_id,"
            " t.group_kind, t.group_value, t.enabled, t.next_run_at, t.created_by, t.updated_by"
            " FROM exchange_tasks t, generate_series(2, %s) g WHERE t.id = %s", n, task["id"])
    ctx.sql("ANALYZE exchange_tasks")
    ctx.tasks_stored = ctx.sql("SELECT count(*) FROM exchange_tasks WHERE deleted_at IS NULL")[0][0]
    return task


def _wrk_checked(ctx, what, **kw):
    s = loadgen.wrk(ctx.url, threads=WRK_THREADS, **kw)
    if s["error_count"] > 0:
        raise RuntimeError(f"{what}: wrk saw errors {s['errors']} (see the server log)")
    return s


def _lat(s):
    return {"rps": s["rps"], "p50_ms": s["p50_us"] / 1000, "p99_ms": s["p99_us"] / 1000,
            "requests": s["requests"]}


def api_read(ctx, task):
    """GET /api/v1/exchange-tasks/{id} with wrk vs pgbench -S, same connections, rounds."""
    sz = ctx.sizes
    pgb = setup_pgbench(ctx)
    env = {"BENCH_TOKEN": ctx.admin.token, "BENCH_PATH": f"/api/v1/exchange-tasks/{task['id']}"}
    mse, peer = alternate(
        sz["rounds"],
        lambda: _lat(_wrk_checked(ctx, "API read", script="get.lua",
                                  connections=sz["connections"], duration_s=sz["duration_s"],
                                  env=env)),
        lambda: pgb.run(sz["connections"], WRK_THREADS, sz["duration_s"], select_only=True),
        lambda r, m, p: ctx.log(f"API read round {r + 1}: {m['rps']:,.0f} req/s vs pgbench -S "
                                f"{p['tps']:,.0f} tps"))
    return {
        "what": "GET /api/v1/exchange-tasks/{id}, bearer token, wrk",
        "connections": sz["connections"],
        "rounds": {"mse": mse, "pgbench_S": peer},
        "rps": median([m["rps"] for m in mse]),
        "p50_ms": median([m["p50_ms"] for m in mse]),
        "p99_ms": median([m["p99_ms"] for m in mse]),
        "peer_tps": median([p["tps"] for p in peer]),
        "ratio": median([m["rps"] / p["tps"] for m, p in zip(mse, peer)]),
        "target": 0.6,
    }


def api_list(ctx):
    """GET /api/v1/exchange-tasks?limit=100 with all the stored tasks."""
    sz = ctx.sizes
    env = {"BENCH_TOKEN": ctx.admin.token, "BENCH_PATH": "/api/v1/exchange-tasks?limit=100"}
    runs = []
    for r in range(sz["rounds"]):
        runs.append(_lat(_wrk_checked(ctx, "API list", script="get.lua",
                                      connections=sz["connections"],
                                      duration_s=sz["duration_s"], env=env)))
        ctx.log(f"API list round {r + 1}: {runs[-1]['rps']:,.0f} req/s, "
                f"p99 {runs[-1]['p99_ms']:.1f} ms")
    return {
        "what": "GET /api/v1/exchange-tasks?limit=100, wrk",
        "tasks_stored": ctx.tasks_stored,
        "connections": sz["connections"],
        "rounds": runs,
        "rps": median([m["rps"] for m in runs]),
        "p50_ms": median([m["p50_ms"] for m in runs]),
        "p99_ms": median([m["p99_ms"] for m in runs]),
    }


def claim_many(ctx, name, count):
    """A site with `count` tasks, each with a claimed execution; returns (worker, claims)."""
    site = ctx.admin.site(name)
    schedule = ctx.admin.schedule(name + "-never")
    definition = ctx.admin.definition()
    for i in range(count):
        t = ctx.admin.task(f"{name}-{i}", site, schedule, definition,
                           {"kind": "mailbox", "value": f"user{i:04d}@example.com"})
        ctx.admin.run(t["id"])
    worker = SiteWorker(ctx.url, site)
    claims = [worker.claim() for _ in range(count)]
    return worker, claims


class Heartbeats:
    """Renews the claims' leases every few seconds while progress is measured, as a worker's
    heartbeat does (docs/worker-protocol.md): the rounds outlast a lease."""

    def __init__(self, worker, claims, every_s=5):
        self.body = {"worker_id": "bench", "executions": [
            {"id": c["id"], "fencing_token": c["fencing_token"]} for c in claims]}
        self.worker = worker
        self.every_s = every_s
        self.stop = threading.Event()
        self.error = None
        self.beat()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def beat(self):
        doc = self.worker.api.call("POST", "/api/v1/worker/heartbeat", 200, json=self.body)
        lost = [e["id"] for e in doc["executions"] if e["lease"] != "renewed"]
        if lost:
            raise RuntimeError(f"heartbeat: {len(lost)} leases lost")

    def loop(self):
        while not self.stop.wait(self.every_s):
            try:
                self.beat()
            except Exception as e:  # reported by close()
                self.error = e
                return

    def close(self):
        self.stop.set()
        self.thread.join()
        if self.error:
            raise self.error


def progress(ctx):
    """Progress posts of one claimed execution per connection vs pgbench's one-row UPDATE."""
    sz = ctx.sizes
    pgb = setup_pgbench(ctx)
    worker, claims = claim_many(ctx, "bench-progress", sz["connections"])
    env = {"BENCH_TOKEN": worker.api.token,
           "BENCH_TARGETS": ";".join(f"{c['id']}:{c['fencing_token']}" for c in claims)}
    script = os.path.join(loadgen.BENCH_DIR, "pgbench", "update.sql")
    beats = Heartbeats(worker, claims)
    try:
        mse, peer = alternate(
            sz["rounds"],
            lambda: _lat(_wrk_checked(ctx, "progress", script="progress.lua",
                                      connections=sz["connections"],
                                      duration_s=sz["duration_s"], env=env)),
            lambda: pgb.run(sz["connections"], WRK_THREADS, sz["duration_s"], script=script),
            lambda r, m, p: ctx.log(f"progress round {r + 1}: {m['rps']:,.0f} posts/s vs "
                                    f"pgbench UPDATE {p['tps']:,.0f} tps"))
    finally:
        beats.close()
        for c in claims:  # ended, so that no lease runs out and re-queues them later
            worker.api.call("POST", f"/api/v1/worker/executions/{c['id']}/complete", 200,
                            headers={"MSE-Fencing-Token": str(c["fencing_token"])})
    return {
        "what": "POST /api/v1/worker/executions/{id}/progress, one execution per connection",
        "connections": sz["connections"],
        "rounds": {"mse": mse, "pgbench_update": peer},
        "rps": median([m["rps"] for m in mse]),
        "p50_ms": median([m["p50_ms"] for m in mse]),
        "p99_ms": median([m["p99_ms"] for m in mse]),
        "peer_tps": median([p["tps"] for p in peer]),
        "ratio": median([m["rps"] / p["tps"] for m, p in zip(mse, peer)]),
        "target": 0.5,
    }
