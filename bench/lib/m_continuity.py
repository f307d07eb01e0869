# SPDX-License-Identifier: Apache-2.0
"""Continuity status polling (issue 15, docs/continuity.md): many end users' clients asking
GET /api/v1/me/continuity with the ETag they hold (304s), beside pgbench -S in alternating
rounds on the same connections, and against the limit the issue sets: 100,000 clients each
polling every 180 s (seed 003)."""
import concurrent.futures

import requests

import loadgen
from context import alternate, median
from m_api import WRK_THREADS, _lat, _wrk_checked, setup_pgbench

CLIENTS = 100_000
INTERVAL_S = 180


def _users(ctx, n):
    """n mailbox_user clients (every fourth with a delegate), their tokens and ETags."""
    def one(i):
        body = {"name": f"bench-user-{i}", "role": "mailbox_user",
                "mailbox": f"user{i:05d}@example.com",
                "delegates": [f"shared{i % 50:03d}@example.com"] if i % 4 == 0 else []}
        c = ctx.admin.call("POST", "/api/v1/api-clients", 201, json=body)
        token = ctx.admin.token_for(c["client_id"], c["client_secret"])
        r = requests.get(ctx.url + "/api/v1/me/continuity", timeout=60,
                         headers={"Authorization": "Bearer " + token})
        r.raise_for_status()
        return token, r.headers["ETag"].strip('"')

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(n)))


def _events(ctx, n):
    """Events the status statement has to weigh: one all-mailboxes event scheduled far ahead,
    and n mailbox-list events of 20 users each, half active, half scheduled."""
    ctx.admin.call("POST", "/api/v1/continuity-events", 201,
                   json={"name": "bench-all", "scope": {"kind": "all"},
                         "start": "2099-01-01T00:00:00Z"})
    for e in range(n):
        users = ";".join(f"user{(e * 20 + k) % 100_000:05d}@example.com" for k in range(20))
        body = {"name": f"bench-{e}", "scope": {"kind": "mailbox_list", "value": users}}
        if e % 2:
            body["start"] = "2099-01-01T00:00:00Z"
        ctx.admin.call("POST", "/api/v1/continuity-events", 201, json=body)


def status_poll(ctx):
    sz = ctx.sizes
    pgb = setup_pgbench(ctx)
    _events(ctx, sz["continuity_events"])
    ctx.log(f"{sz['continuity_users']} end users, {sz['continuity_events']} events")
    targets = _users(ctx, sz["continuity_users"])
    env = {"BENCH_TARGETS": ";".join(f"{t}:{e}" for t, e in targets)}

    def mse_round():
        s = _wrk_checked(ctx, "status polls", script="status.lua",
                         connections=sz["connections"], duration_s=sz["duration_s"], env=env)
        if s["counters"]["changed"]:
            raise RuntimeError(f"status polls: {s['counters']['changed']} answers were not 304")
        return _lat(s)

    mse, peer = alternate(
        sz["rounds"], mse_round,
        lambda: pgb.run(sz["connections"], WRK_THREADS, sz["duration_s"], select_only=True),
        lambda r, m, p: ctx.log(f"status polls round {r + 1}: {m['rps']:,.0f} 304/s vs "
                                f"pgbench -S {p['tps']:,.0f} tps"))
    rps = median([m["rps"] for m in mse])
    return {
        "what": "GET /api/v1/me/continuity with If-None-Match (304), one user per request, wrk",
        "connections": sz["connections"],
        "users": sz["continuity_users"],
        "events": sz["continuity_events"] + 1,
        "rounds": {"mse": mse, "pgbench_S": peer},
        "rps": rps,
        "p50_ms": median([m["p50_ms"] for m in mse]),
        "p99_ms": median([m["p99_ms"] for m in mse]),
        "peer_tps": median([p["tps"] for p in peer]),
        "ratio": median([m["rps"] / p["tps"] for m, p in zip(mse, peer)]),
        "limit_rps": CLIENTS / INTERVAL_S,
        "headroom": rps / (CLIENTS / INTERVAL_S),
    }
