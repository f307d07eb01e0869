# SPDX-License-Identifier: Apache-2.0
"""Measurement 4 of issue #8: executions claimed → completed per second by several concurrent
claimers (wrk, one connection each, bench/wrk/claims.lua) vs graphile-worker working off the
same number of no-op jobs with the same concurrency on the same PostgreSQL."""
import concurrent.futures
import json
import os
import re
import subprocess

import loadgen
from context import alternate, conninfo_kv, median
from api import Api, SiteWorker


def _seed(ctx):
    """A site with claim_jobs tasks (one through the API, the rest SQL copies); their ids."""
    site = ctx.admin.site("bench-claims")
    schedule = ctx.admin.schedule("bench-claims-never")
    definition = ctx.admin.definition()
    task = ctx.admin.task("bench-claims", site, schedule, definition,
                          {"kind": "mailbox", "value": "user0001@example.com"})
    n = ctx.sizes["claim_jobs"]
    ctx.sql("INSERT INTO exchange_tasks (name, site_id, type, definition_id, schedule_id,"
            " group_kind, group_value, enabled, next_run_at, created_by, updated_by)"
            " SELECT t.name || ' #' || g, t.site_id, t.type, t.definition_id, t.schedule_id,"
            " t.group_kind, t.group_value, t.enabled, t.next_run_at, t.created_by, t.updated_by"
            " FROM exchange_tasks t, generate_series(2, %s) g WHERE t.id = %s", n, task["id"])
    ids = [r[0] for r in ctx.sql("SELECT id FROM exchange_tasks WHERE site_id = %s ORDER BY seq",
                                 site["id"])]
    return site, ids, len(ids)


def _queue(ctx, site, ids, n):
    """Run-now for every task (admin API, a few parallel clients): n queued executions."""
    clients = [Api(ctx.url) for _ in range(4)]

    def run_slice(k):
        for task_id in ids[k::len(clients)]:
            clients[k].run(task_id)

    with concurrent.futures.ThreadPoolExecutor(len(clients)) as pool:
        list(pool.map(run_slice, range(len(clients))))
    queued = ctx.sql("SELECT count(*) FROM executions WHERE state = 'queued' AND site_id = %s",
                     site["id"])[0][0]
    if queued != n:
        raise RuntimeError(f"run-now queued {queued} of {n} executions")


def _mse_round(ctx, site, worker_token, n):
    c = ctx.sizes["claimers"]

    def drained():
        return ctx.sql("SELECT count(*) FROM executions WHERE site_id = %s"
                       " AND state IN ('queued', 'running', 'waiting')", site["id"])[0][0] == 0

    s = loadgen.wrk(ctx.url, "claims.lua", c, c, 600, env={"BENCH_TOKEN": worker_token},
                    until=drained)
    k = s["counters"]
    if k["completes"] != n or k["failures"]:
        raise RuntimeError(f"claims: {k['completes']} of {n} completed, "
                           f"{k['failures']} failures (see the server log)")
    seconds = k["busy_us"] / 1e6
    return {"completed": k["completes"], "seconds": seconds, "per_s": k["completes"] / seconds,
            "p50_ms": s["p50_us"] / 1000, "p99_ms": s["p99_us"] / 1000}


def _peer_round(ctx, kv, n):
    env = dict(os.environ, BENCH_PG_HOST=kv["host"], BENCH_PG_PORT=kv["port"],
               BENCH_PG_USER=kv["user"], BENCH_PG_DB=kv["dbname"], BENCH_JOBS=str(n),
               BENCH_CONCURRENCY=str(ctx.sizes["claimers"]))
    log = os.path.join(ctx.workdir, "graphile-worker.log")
    with open(log, "a") as f:
        out = subprocess.run(["node", os.path.join(loadgen.BENCH_DIR, "peers", "graphile.js")],
                             env=env, stdout=subprocess.PIPE, stderr=f, text=True,
                             cwd=ctx.source_dir, timeout=900)
        f.write(out.stdout)
    m = re.search(r"^BENCH (\{.*\})$", out.stdout, re.M)
    if out.returncode != 0 or not m:
        raise RuntimeError(f"graphile-worker peer failed ({out.returncode}); see {log}")
    doc = json.loads(m.group(1))
    if doc["completed"] != n:
        raise RuntimeError(f"graphile-worker completed {doc['completed']} of {n} jobs")
    ctx.graphile_version = doc["version"]
    return {"completed": doc["completed"], "seconds": doc["seconds"], "per_s": doc["jobs_per_s"]}


def claims(ctx):
    site, ids, n = _seed(ctx)
    worker = SiteWorker(ctx.url, site)
    kv = conninfo_kv(ctx.create_database("graphile_worker"))

    def mse_round():
        _queue(ctx, site, ids, n)
        return _mse_round(ctx, site, worker.api.token, n)

    mse, peer = alternate(
        ctx.sizes["rounds"], mse_round, lambda: _peer_round(ctx, kv, n),
        lambda r, m, p: ctx.log(f"claims round {r + 1}: {m['per_s']:,.0f}/s vs graphile-worker "
                                f"{p['per_s']:,.0f}/s"))
    return {
        "what": "claim → complete cycles of queued executions, concurrent claimers",
        "claimers": ctx.sizes["claimers"],
        "jobs_per_round": n,
        "rounds": {"mse": mse, "graphile_worker": peer},
        "per_s": median([m["per_s"] for m in mse]),
        "peer_per_s": median([p["per_s"] for p in peer]),
        "ratio": median([m["per_s"] / p["per_s"] for m, p in zip(mse, peer)]),
        "target": 1.0,
    }
