# SPDX-License-Identifier: Apache-2.0
"""Issue #19: replication at real Exchange latency (ews-sim's realism settings).

The simulator answers in microseconds; real Exchange in tens of milliseconds. There, round
trips and concurrency decide everything. Scenarios, each next to its peer or the seed's
baseline (seed 004: a 10,000-item mailbox takes 15–25 minutes the first time and 2 minutes
incrementally; 5,000 mailboxes need 20 tasks to finish in a day):

1. full MFR of a 10,000-item mailbox at 20 ms and at 50 ms per request: mse-worker (engine)
   vs python3-exchangelib's sync_items loop, against the same sim and settings;
2. incremental no-change sweep of many mailboxes at 20 ms: one task (sequential, as the seed
   describes) and the group split over as many tasks as the worker has slots;
3. the same sweep when 5% of the mailboxes have 10 new messages each.

Scenario 1 also runs the engine through Microsoft Graph (issue #20) on the same sim and
latency: delta pages carry every field, so there is no GetItem round.
"""
import json
import time
import urllib.request

import m_replication as repl
from context import median

SEED_FULL_S = 15 * 60  # seed 004: 15–25 minutes for a 10,000-item mailbox, the first time
SEED_INCREMENTAL_S = 2 * 60  # and 2 minutes afterwards
# The app the sim lets in through Graph for the bench (tenant, client id, secret).
GRAPH_APP = ("5f0c2b1a-0d4e-4c3b-9a8f-7e6d5c4b3a21", "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
             "bench~graph.secret")


def graph_env(sim):
    tenant, client, secret = GRAPH_APP
    return {"MSE_WORKER_BACKEND": "graph", "MSE_WORKER_GRAPH_URL": sim.url,
            "MSE_WORKER_GRAPH_LOGIN_URL": sim.url, "MSE_WORKER_GRAPH_TENANT": tenant,
            "MSE_WORKER_GRAPH_CLIENT_ID": client, "MSE_WORKER_GRAPH_CLIENT_SECRET": secret}


def realism(sim, **settings):
    req = urllib.request.Request(sim.url + "/_sim/realism", method="PUT",
                                 data=json.dumps(settings).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def add_message(sim, mailbox, n):
    body = json.dumps({"type": "message", "folder": "/Inbox", "subject": f"bench change {n}",
                       "from": "Bench <bench@example.com>",
                       "body": "a change for the incremental sweep"}).encode()
    req = urllib.request.Request(f"{sim.url}/_sim/mailboxes/{mailbox}/items", method="POST",
                                 data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        r.read()


def full_at(ctx, sim, mailbox, latency_ms):
    """Alternating rounds of the engine (through EWS and through Graph) and exchangelib over
    the mailbox at latency_ms."""
    realism(sim, latency_ms=latency_ms)
    rounds = {"worker": [], "exchangelib": [], "graph": []}
    order = ("worker", "exchangelib", "graph")
    try:
        for r in range(ctx.sizes["latency_rounds"]):
            for who in order[r % 3:] + order[:r % 3]:
                sim.requests()
                if who == "exchangelib":
                    doc = repl.peer("exchangelib_sync.py", sim, mailbox)
                    rec = {"items": doc["items"], "seconds": doc["seconds"]}
                else:
                    state = f"{ctx.workdir}/latency-{who}-{latency_ms}-{r}.json"
                    env = graph_env(sim) if who == "graph" else None
                    outcome, wall, _ = repl.sync_once(ctx, sim, mailbox, state, env=env)
                    rec = {"items": outcome["items_replicated"], "seconds": wall}
                # Graph's count includes its token request; EWS's, its operations.
                rec["requests"] = sim.http_requests() if who == "graph" else \
                    sum(sim.requests().values())
                if rec["items"] != ctx.sizes["repl_items"]:
                    raise RuntimeError(f"{who} at {latency_ms} ms replicated {rec['items']}")
                rec["items_per_s"] = rec["items"] / rec["seconds"]
                rounds[who].append(rec)
    finally:
        realism(sim, latency_ms=0)
    w, x, g = rounds["worker"], rounds["exchangelib"], rounds["graph"]
    res = {"latency_ms": latency_ms,
           "seconds": median([r["seconds"] for r in w]),
           "items_per_s": median([r["items_per_s"] for r in w]),
           "requests": median([r["requests"] for r in w]),
           "exchangelib_seconds": median([r["seconds"] for r in x]),
           "exchangelib_requests": median([r["requests"] for r in x]),
           "ratio_exchangelib": median([b["seconds"] / a["seconds"] for a, b in zip(w, x)]),
           "graph_seconds": median([r["seconds"] for r in g]),
           "graph_requests": median([r["requests"] for r in g]),
           "ratio_graph_ews": median([a["seconds"] / b["seconds"] for a, b in zip(w, g)])}
    res["ratio_seed"] = SEED_FULL_S / res["seconds"]
    ctx.log(f"full MFR at {latency_ms} ms: worker {res['seconds']:.1f} s "
            f"({res['requests']:.0f} requests), exchangelib {res['exchangelib_seconds']:.1f} s "
            f"({res['exchangelib_requests']:.0f} requests), through Graph "
            f"{res['graph_seconds']:.1f} s ({res['graph_requests']:.0f} requests)")
    return res


def group_task(service, sim, name, members):
    """A task over a distribution group of the sim holding members."""
    address = f"{name}@example.com"
    req = urllib.request.Request(sim.url + "/_sim/groups", method="POST",
                                 data=json.dumps({"address": address, "name": name,
                                                  "members": members}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        r.read()
    service.n += 1
    return service.admin.task(f"{service.site['name']}-{service.n}", service.site,
                              service.schedule, service.definition,
                              {"kind": "group_email", "value": address})


def execute_all(service, tasks, timeout=7200):
    """Run-now every task at once; returns (wall s of the whole, their documents)."""
    t0 = time.monotonic()
    runs = [(t, service.admin.run(t["id"])) for t in tasks]
    docs = []
    deadline = time.monotonic() + timeout
    for t, x in runs:
        path = f"/api/v1/exchange-tasks/{t['id']}/executions/{x['id']}"
        while True:
            doc = service.admin.call("GET", path, 200)
            if doc["state"] in ("completed", "cancelled"):
                if doc["result"] not in ("ok", "warning"):
                    raise RuntimeError(f"execution ended {doc['result']}: {doc}")
                docs.append(doc)
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution still {doc['state']}")
            time.sleep(0.2)
    return time.monotonic() - t0, docs


def sweeps(ctx):
    """Scenarios 2 and 3 over one organisation: a full pass without latency first (it only
    prepares the checkpoints), then the timed incremental sweeps at 20 ms."""
    sz = ctx.sizes
    sim = repl.Sim(ctx, sz["latency_sweep_generate"], "ews-sim-latency-sweep")
    service = None
    try:
        service = repl.Service(ctx, sim, "bench-latency")
        boxes = sim.mailboxes()
        slots = 2  # the worker's default (MSE_WORKER_SLOTS)
        # Distribution groups (one ExpandDL each): a mailbox list holds at most 1,000.
        one = group_task(service, sim, "sweep-all", boxes)
        split = [group_task(service, sim, f"sweep-{i}", boxes[i::slots]) for i in range(slots)]
        execute_all(service, [one])
        execute_all(service, split)
        folders = sim.control("GET", f"/mailboxes/{boxes[0]}/folders")
        nfolders = len(folders["items"] if isinstance(folders, dict) else folders)
        realism(sim, latency_ms=20)
        out = {"mailboxes": len(boxes), "latency_ms": 20, "folders_per_mailbox": nfolders}
        for name, tasks in (("one_task", [one]), ("split", split)):
            sim.requests()
            wall, docs = execute_all(service, tasks)
            if any(d["items"] or d["submissions"] for d in docs):
                raise RuntimeError(f"the no-change sweep was not a quiet one: {docs}")
            req = sum(sim.requests().values())
            out[name] = {"tasks": len(tasks), "seconds": wall,
                         "requests_per_mailbox": req / len(boxes)}
            ctx.log(f"no-change sweep at 20 ms, {len(tasks)} task(s): {wall:.1f} s, "
                    f"{req / len(boxes):.2f} requests/mailbox")
        changed = boxes[::20]  # 5%
        realism(sim, latency_ms=0)
        for m in changed:
            for n in range(10):
                add_message(sim, m, n)
        realism(sim, latency_ms=20)
        sim.requests()
        wall, docs = execute_all(service, split)
        items = sum(d["items"] for d in docs)
        if items != 10 * len(changed):
            raise RuntimeError(f"the changes sweep replicated {items} of {10 * len(changed)}")
        out["changes"] = {"tasks": len(split), "seconds": wall, "changed_mailboxes": len(changed),
                          "items": items,
                          "requests_per_mailbox": sum(sim.requests().values()) / len(boxes)}
        ctx.log(f"sweep with 5% changed at 20 ms: {wall:.1f} s")
        return out
    finally:
        if service:
            service.stop()
        sim.stop()


def run(ctx):
    server, ctx.repl_url = repl.procs.start_server(ctx.build_dir, ctx.workdir, ctx.database(),
                                                   name="mse-server-latency")
    ctx.repl_admin = repl.Api(ctx.repl_url)
    try:
        sim = repl.Sim(ctx, ctx.sizes["repl_generate"], "ews-sim-latency", graph_app=GRAPH_APP)
        try:
            mailbox = sim.mailboxes()[0]
            full = [full_at(ctx, sim, mailbox, ms) for ms in ctx.sizes["latency_ms"]]
        finally:
            sim.stop()
        sw = sweeps(ctx)
    finally:
        server.stop()
    # Seed 004's planning figure: a day for 5,000 mailboxes needs 20 tasks; here, the time the
    # measured sweep would take for 5,000 (it scales with mailboxes: one request chain each).
    per = sw["split"]["seconds"] / sw["mailboxes"]
    ctx.results["latency"] = {"full": full, "sweep": sw, "items": ctx.sizes["repl_items"],
                              "target_exchangelib": 20.0, "target_seed": 100.0,
                              "sweep_5000_minutes": per * 5000 / 60, "target_5000_minutes": 10.0,
                              "target_requests": sw["folders_per_mailbox"] + 2}
