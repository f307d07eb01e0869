# SPDX-License-Identifier: Apache-2.0
"""Measurements 5 and 6 of issue #8 against ews-sim's generated organisations:

- full replication of one mailbox by mse-worker — the engine alone (`--sync-once`, checkpoints
  in a state file, batches to /dev/null) and the service mode (claims an execution from
  mse-server and submits every batch to it, which stores it in PostgreSQL) — vs
  python3-exchangelib's sync_items loop (peer) vs a bare client asking the simulator for the
  same pages (limit), in alternating rounds;
- the incremental pass over the unchanged mailbox (both modes), and an incremental sweep over
  many mailboxes: one execution of a task whose group lists them all (service mode);
- peak RSS of the worker (both modes) and mse-server, also on a mailbox ten times larger.
"""
import json
import os
import re
import subprocess
import time
import urllib.request

import procs
from api import Api
from context import median

PEERS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "peers")
MFR = "mailbox_folder_replication"
# Every message counts: private items are part of the mailbox a replica must hold.
SETTINGS = {"include_private_items": True}


def worker_binary(ctx):
    return os.path.join(ctx.build_dir, "worker", "mse-worker")


def worker_modes(ctx):
    """(has --sync-once, has the service mode) for this build's mse-worker."""
    try:
        out = subprocess.run([worker_binary(ctx), "--help"], capture_output=True, text=True,
                             timeout=30)
    except OSError:
        return False, False
    text = out.stdout + out.stderr
    return "--sync-once" in text, "serve the site" in text


class Sim:
    def __init__(self, ctx, generate, name, graph_app=None):
        self.proc, self.url = procs.start_sim(ctx.build_dir, ctx.source_dir, ctx.workdir,
                                              generate, name=name, graph_app=graph_app)
        self.ews = self.url + "/EWS/Exchange.asmx"

    def control(self, method, path):
        req = urllib.request.Request(self.url + "/_sim" + path, method=method,
                                     data=b"" if method == "POST" else None)
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read() or b"null")

    def mailboxes(self):
        return [m["address"] for m in self.control("GET", "/mailboxes")["items"]]

    def requests(self):
        """EWS requests per operation since the last call (non-zero ones)."""
        stats = self.control("GET", "/stats")["requests"]
        self.control("POST", "/stats/reset")
        return {k: v for k, v in stats.items() if v}

    def http_requests(self):
        """EWS and Graph requests together since the last reset; resets."""
        n = self.control("GET", "/stats")["http_requests"]
        self.control("POST", "/stats/reset")
        return n

    def stop(self):
        self.proc.stop()


def worker_env(sim):
    user, password = procs.SIM_ACCOUNT
    return {"MSE_WORKER_EWS_URL": sim.ews, "MSE_WORKER_EWS_USERNAME": user,
            "MSE_WORKER_EWS_PASSWORD": password, "MSE_WORKER_LOG_LEVEL": "warn"}


def sync_once(ctx, sim, mailbox, state_path, env=None, kind=MFR, settings=SETTINGS,
              content_dir=None):
    """One `mse-worker --sync-once` pass (env on top of the EWS settings); returns (outcome,
    wall s, peak RSS KiB)."""
    out_path = state_path + ".out"
    argv = [worker_binary(ctx), "--sync-once", mailbox, "--type", kind, "--definition",
            json.dumps(settings), "--state", state_path]
    if content_dir:
        argv += ["--content-dir", content_dir]
    with open(out_path, "wb") as out:
        rc, wall, rss, err = procs.run_timed(argv, env=dict(worker_env(sim), **(env or {})),
                                             stdout=out)
    with open(out_path, "rb") as f:
        last = f.read().decode().strip().splitlines()[-1:]
    outcome = json.loads(last[0]).get("outcome") if last else None
    if rc != 0 or not outcome or outcome["health"] == "error":
        raise RuntimeError(f"mse-worker --sync-once {mailbox} exited {rc}: {outcome}\n{err[-2000:]}")
    return outcome, wall, rss


def peer(script, sim, mailbox, *args):
    user, password = procs.SIM_ACCOUNT
    out = subprocess.run(["/usr/bin/python3", os.path.join(PEERS, script), sim.ews, user,
                          password, mailbox, *args], capture_output=True, text=True,
                         timeout=3600)
    m = re.search(r"^BENCH (\{.*\})$", out.stdout, re.M)
    if out.returncode != 0 or not m:
        raise RuntimeError(f"{script} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return json.loads(m.group(1))


class Service:
    """A site on the run's mse-server with an mse-worker serving it against a sim; runs
    executions of tasks and reports them as the API shows them."""

    def __init__(self, ctx, sim, name):
        self.ctx = ctx
        self.admin = ctx.repl_admin
        self.site = self.admin.site(name)
        self.schedule = self.admin.schedule(name + "-never")
        self.definition = self.admin.definition(SETTINGS)
        creds = self.site["credentials"]
        env = dict(worker_env(sim), MSE_WORKER_SERVER_URL=ctx.repl_url,
                   MSE_WORKER_LOG_LEVEL="info",
                   MSE_WORKER_SITE_CLIENT_ID=creds["client_id"],
                   MSE_WORKER_SITE_CLIENT_SECRET=creds["client_secret"])
        self.worker = procs.Proc(name + "-worker", [worker_binary(ctx)], env,
                                 os.path.join(ctx.workdir, name + "-worker.log"))
        self.n = 0

    def task(self, mailboxes):
        self.n += 1
        kind = "mailbox" if len(mailboxes) == 1 else "mailbox_list"
        return self.admin.task(f"{self.site['name']}-{self.n}", self.site, self.schedule,
                               self.definition, {"kind": kind, "value": ";".join(mailboxes)})

    def execute(self, task, timeout=3600):
        """Run-now, then waits for the execution's end; returns its document."""
        x = self.admin.run(task["id"])
        path = f"/api/v1/exchange-tasks/{task['id']}/executions/{x['id']}"
        deadline = time.monotonic() + timeout
        while True:
            doc = self.admin.call("GET", path, 200)
            if doc["state"] in ("completed", "cancelled"):
                if doc["result"] not in ("ok", "warning"):
                    raise RuntimeError(f"execution ended {doc['result']}: {doc}; see "
                                       f"{self.worker.log_path}")
                return doc
            if self.worker.proc.poll() is not None:
                raise RuntimeError(f"mse-worker exited; see {self.worker.log_path}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution still {doc['state']} after {timeout} s")
            time.sleep(0.05)

    def stop(self):
        rss = self.worker.peak_rss_kib()
        self.worker.stop()
        return rss


def full_sync(ctx, modes):
    """Alternating rounds of bare client, worker (both modes) and exchangelib on one mailbox;
    then the incremental passes over it."""
    sz = ctx.sizes
    has_cli, has_service = modes
    sim = Sim(ctx, sz["repl_generate"], "ews-sim-replication")
    service = Service(ctx, sim, "bench-replication") if has_service else None
    try:
        mailbox = sim.mailboxes()[0]
        sim.requests()
        order = ["bare", "worker_cli", "worker_service", "exchangelib"]
        rounds = {k: [] for k in order}
        state, task = None, None
        for r in range(sz["repl_rounds"]):
            for who in (order if r % 2 == 0 else order[::-1]):
                if (who == "worker_cli" and not has_cli) or (
                        who == "worker_service" and not has_service):
                    continue
                if who == "worker_cli":
                    state = os.path.join(ctx.workdir, f"replication-state-{r}.json")
                    outcome, wall, rss = sync_once(ctx, sim, mailbox, state)
                    rec = {"items": outcome["items_replicated"], "seconds": wall,
                           "engine_ms": outcome["duration_ms"], "rss_kib": rss}
                elif who == "worker_service":
                    task = service.task([mailbox])  # a new task: no checkpoints, a full pass
                    doc = service.execute(task)
                    rec = {"items": doc["items"], "seconds": doc["duration_ms"] / 1000,
                           "submissions": doc["submissions"]}
                else:
                    doc = peer("bare_ews.py" if who == "bare" else "exchangelib_sync.py", sim,
                               mailbox)
                    rec = {"items": doc["items"], "seconds": doc["seconds"]}
                rec["items_per_s"] = rec["items"] / rec["seconds"]
                rec["ews_requests"] = sim.requests()
                if rec["items"] != sz["repl_items"]:
                    raise RuntimeError(f"{who} replicated {rec['items']} of {sz['repl_items']}")
                rounds[who].append(rec)
            ctx.log("replication round %d: %s" % (r + 1, ", ".join(
                f"{k} {v[-1]['items_per_s']:,.0f} items/s" for k, v in rounds.items() if v)))
        incremental = {}
        if has_cli:
            incremental["cli"] = incremental_cli(ctx, sim, mailbox, state)
        if has_service:
            incremental["service"] = incremental_service(ctx, sim, service, task)
    finally:
        rss = service.stop() if service else None
        sim.stop()
    return rounds, incremental, rss


def incremental_cli(ctx, sim, mailbox, state, passes=5):
    """`--sync-once` passes over the unchanged mailbox from the last full pass's checkpoints
    (process start included)."""
    walls, engine = [], []
    for _ in range(passes):
        outcome, wall, _ = sync_once(ctx, sim, mailbox, state)
        if outcome["full"] or outcome["batches"]:
            raise RuntimeError(f"the incremental pass was not a quiet one: {outcome}")
        walls.append(wall * 1000)
        engine.append(outcome["duration_ms"])
    return {"ms_per_mailbox": median(walls), "engine_ms": median(engine),
            "ews_requests": {k: v / passes for k, v in sim.requests().items()}}


def incremental_service(ctx, sim, service, task, passes=5):
    """Executions of the last fully replicated task over the unchanged mailbox."""
    ms = []
    for _ in range(passes):
        doc = service.execute(task)
        if doc["items"] or doc["submissions"]:
            raise RuntimeError(f"the incremental execution was not a quiet one: {doc}")
        ms.append(doc["duration_ms"])
    return {"ms_per_mailbox": median(ms),
            "ews_requests": {k: v / passes for k, v in sim.requests().items()}}


def sweep(ctx):
    """One execution over every mailbox of a large organisation (full), then the timed one
    over the unchanged mailboxes (incremental): a task whose group lists them all."""
    sim = Sim(ctx, ctx.sizes["sweep_generate"], "ews-sim-sweep")
    service = None
    try:
        service = Service(ctx, sim, "bench-sweep")
        boxes = sim.mailboxes()
        task = service.task(boxes)
        full = service.execute(task)
        sim.requests()
        inc = service.execute(task)
        if inc["items"] or inc["submissions"]:
            raise RuntimeError(f"the incremental sweep was not a quiet one: {inc}")
        n = inc["mailboxes"]["total"]
        return {"mailboxes": n, "full_s": full["duration_ms"] / 1000, "full_items": full["items"],
                "sweep_s": inc["duration_ms"] / 1000,
                "ms_per_mailbox": inc["duration_ms"] / n, "ews_requests": sim.requests()}
    finally:
        if service:
            service.stop()
        sim.stop()


def big_mailbox(ctx, modes):
    """Peak RSS of the worker over a full pass of the large mailbox, in each mode."""
    sim = Sim(ctx, ctx.sizes["big_generate"], "ews-sim-big")
    out = {}
    try:
        mailbox = sim.mailboxes()[0]
        if modes[0]:
            outcome, wall, rss = sync_once(ctx, sim, mailbox,
                                           os.path.join(ctx.workdir, "big-state.json"))
            if outcome["items_replicated"] != ctx.sizes["big_items"]:
                raise RuntimeError(f"big mailbox: {outcome['items_replicated']} items")
            out["cli"] = {"seconds": wall, "rss_kib": rss}
        if modes[1]:
            service = Service(ctx, sim, "bench-big")
            try:
                doc = service.execute(service.task([mailbox]))
            finally:
                rss = service.stop()
            if doc["items"] != ctx.sizes["big_items"]:
                raise RuntimeError(f"big mailbox (service): {doc['items']} items")
            out["service"] = {"seconds": doc["duration_ms"] / 1000, "rss_kib": rss}
        out["sim_rss_kib"] = sim.proc.peak_rss_kib()
        return out
    finally:
        sim.stop()


def _ratio(a, b):
    return median([x["items_per_s"] / y["items_per_s"] for x, y in zip(a, b)]) if a else None


def _mib(kib):
    return kib / 1024 if kib else None


def run(ctx):
    modes = worker_modes(ctx)
    # A server of its own, so that its peak RSS is that of replication.
    server, ctx.repl_url = procs.start_server(ctx.build_dir, ctx.workdir, ctx.database(),
                                              name="mse-server-replication")
    ctx.repl_admin = Api(ctx.repl_url)
    try:
        _run(ctx, modes)
    finally:
        rss = server.peak_rss_kib()
        server.stop()
    if "memory" in ctx.results and not ctx.results["memory"].get("skipped"):
        ctx.results["memory"]["server_rss_mib"] = _mib(rss)


def _run(ctx, modes):
    rounds, incremental, service_rss = full_sync(ctx, modes)
    res = {"what": f"full mailbox folder replication of {ctx.sizes['repl_items']:,} messages",
           "generate": ctx.sizes["repl_generate"], "items": ctx.sizes["repl_items"],
           "rounds": rounds,
           "bare_items_per_s": median([r["items_per_s"] for r in rounds["bare"]]),
           "exchangelib_items_per_s": median([r["items_per_s"] for r in rounds["exchangelib"]]),
           "target_exchangelib": 20.0}
    for mode in ("cli", "service"):
        w = rounds["worker_" + mode]
        if w:
            res[mode] = {"items_per_s": median([r["items_per_s"] for r in w]),
                         "seconds": median([r["seconds"] for r in w]),
                         "ratio_exchangelib": _ratio(w, rounds["exchangelib"]),
                         "ratio_bare": _ratio(w, rounds["bare"])}
    if not any(modes):
        res["skipped"] = "this build's mse-worker cannot replicate yet (issue #6)"
    ctx.results["replication"] = res
    if not any(modes):
        ctx.results["incremental"] = {"skipped": res["skipped"]}
        ctx.results["memory"] = {"skipped": res["skipped"]}
        return
    inc = {"target_ms": 20.0}
    for mode, v in incremental.items():
        inc[mode] = v
    if modes[1]:
        sw = sweep(ctx)
        ctx.log(f"incremental sweep: {sw['mailboxes']:,} mailboxes in {sw['sweep_s']:.1f} s")
        inc["sweep"] = dict(sw, generate=ctx.sizes["sweep_generate"])
    ctx.results["incremental"] = inc
    big = big_mailbox(ctx, modes)
    ctx.log("big mailbox: " + ", ".join(
        f"{k} {v['seconds']:.1f} s, peak RSS {v['rss_kib'] / 1024:.1f} MiB"
        for k, v in big.items() if isinstance(v, dict)))
    cli_rounds = rounds["worker_cli"]
    ctx.results["memory"] = {
        "worker_cli_rss_mib": _mib(max((r["rss_kib"] for r in cli_rounds), default=None)),
        "worker_service_rss_mib": _mib(service_rss),
        "big_items": ctx.sizes["big_items"],
        "big_generate": ctx.sizes["big_generate"],
        "big": big,
        "worker_big_rss_mib": max(_mib(v["rss_kib"]) for k, v in big.items()
                                  if isinstance(v, dict)),
        "target_mib": 64,
    }
