# SPDX-License-Identifier: Apache-2.0
"""Measurements 5 and 6 of issue #8 against ews-sim's generated organisations:

- full replication of one mailbox by mse-worker (`--sync-once`, checkpoints in a state file)
  vs python3-exchangelib's sync_items loop (peer) vs a bare client that asks the simulator for
  the same pages (limit), in alternating rounds;
- the incremental pass over the unchanged mailbox, and an incremental sweep over many;
- the worker's peak RSS during the full passes and on a mailbox ten times larger.
"""
import json
import os
import re
import subprocess

import procs
from context import median

PEERS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "peers")
MFR = "mailbox_folder_replication"
# Every message counts: private items are part of the mailbox a replica must hold.
DEFINITION = json.dumps({"include_private_items": True})


def worker_binary(ctx):
    return os.path.join(ctx.build_dir, "worker", "mse-worker")


def worker_ready(ctx):
    """Whether this build's mse-worker has the command-line pass (`--sync-once`)."""
    try:
        out = subprocess.run([worker_binary(ctx), "--help"], capture_output=True, text=True,
                             timeout=30)
    except OSError:
        return False
    return "--sync-once" in out.stdout + out.stderr


class Sim:
    def __init__(self, ctx, generate, name):
        self.proc, self.url = procs.start_sim(ctx.build_dir, ctx.source_dir, ctx.workdir,
                                              generate, name=name)
        self.ews = self.url + "/EWS/Exchange.asmx"

    def control(self, method, path):
        import urllib.request
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

    def stop(self):
        self.proc.stop()


def worker_env(sim):
    user, password = procs.SIM_ACCOUNT
    return {"MSE_WORKER_EWS_URL": sim.ews, "MSE_WORKER_EWS_USERNAME": user,
            "MSE_WORKER_EWS_PASSWORD": password, "MSE_WORKER_LOG_LEVEL": "warn"}


def sync_once(ctx, sim, mailbox, state_path):
    """One `mse-worker --sync-once` pass; returns (outcome, wall s, peak RSS KiB)."""
    out_path = state_path + ".out"
    argv = [worker_binary(ctx), "--sync-once", mailbox, "--type", MFR, "--definition",
            DEFINITION, "--state", state_path]
    with open(out_path, "wb") as out:
        rc, wall, rss, err = procs.run_timed(argv, env=worker_env(sim), stdout=out)
    with open(out_path, "rb") as f:
        last = f.read().decode().strip().splitlines()[-1:]
    outcome = json.loads(last[0]).get("outcome") if last else None
    if rc != 0 or not outcome or outcome["health"] == "error":
        raise RuntimeError(f"mse-worker --sync-once {mailbox} exited {rc}: {outcome}\n{err[-2000:]}")
    return outcome, wall, rss


def peer(script, sim, mailbox):
    user, password = procs.SIM_ACCOUNT
    out = subprocess.run(["/usr/bin/python3", os.path.join(PEERS, script), sim.ews, user,
                          password, mailbox], capture_output=True, text=True, timeout=3600)
    m = re.search(r"^BENCH (\{.*\})$", out.stdout, re.M)
    if out.returncode != 0 or not m:
        raise RuntimeError(f"{script} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return json.loads(m.group(1))


def full_sync(ctx, has_worker):
    """Alternating rounds of bare client, worker and exchangelib on one generated mailbox."""
    sz = ctx.sizes
    sim = Sim(ctx, sz["repl_generate"], "ews-sim-replication")
    try:
        mailbox = sim.mailboxes()[0]
        sim.requests()
        rounds = {"bare": [], "worker": [], "exchangelib": []}
        order = ["bare", "worker", "exchangelib"]
        state = None
        for r in range(sz["repl_rounds"]):
            for who in (order if r % 2 == 0 else order[::-1]):
                if who == "worker" and not has_worker:
                    continue
                if who == "worker":
                    state = os.path.join(ctx.workdir, f"replication-state-{r}.json")
                    outcome, wall, rss = sync_once(ctx, sim, mailbox, state)
                    rec = {"items": outcome["items_replicated"], "seconds": wall,
                           "engine_ms": outcome["duration_ms"], "rss_kib": rss}
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
        incremental = incremental_passes(ctx, sim, mailbox, state) if has_worker else None
    finally:
        sim.stop()
    return rounds, incremental


def incremental_passes(ctx, sim, mailbox, state, passes=5):
    """Passes over the unchanged mailbox from the last full pass's checkpoints."""
    walls, engine = [], []
    for _ in range(passes):
        outcome, wall, _ = sync_once(ctx, sim, mailbox, state)
        if outcome["full"] or outcome["batches"]:
            raise RuntimeError(f"the incremental pass was not a quiet one: {outcome}")
        walls.append(wall * 1000)
        engine.append(outcome["duration_ms"])
    return {"ms_per_mailbox": median(walls), "engine_ms": median(engine),
            "ews_requests": {k: v / passes for k, v in sim.requests().items()}}


def sweep(ctx):
    """A full pass over every mailbox of a large organisation, then the timed incremental one."""
    sim = Sim(ctx, ctx.sizes["sweep_generate"], "ews-sim-sweep")
    try:
        boxes = sim.mailboxes()
        states = {b: os.path.join(ctx.workdir, "sweep", b + ".json") for b in boxes}
        os.makedirs(os.path.join(ctx.workdir, "sweep"), exist_ok=True)
        full = 0.0
        for b in boxes:
            full += sync_once(ctx, sim, b, states[b])[1]
        sim.requests()
        total, rss = 0.0, 0
        for b in boxes:
            outcome, wall, r = sync_once(ctx, sim, b, states[b])
            if outcome["batches"]:
                raise RuntimeError(f"incremental sweep: {b} changed: {outcome}")
            total += wall
            rss = max(rss, r)
        return {"mailboxes": len(boxes), "full_s": full, "sweep_s": total,
                "ms_per_mailbox": total * 1000 / len(boxes), "ews_requests": sim.requests()}
    finally:
        sim.stop()


def big_mailbox(ctx):
    """The worker's peak RSS over a full pass of the large mailbox."""
    sim = Sim(ctx, ctx.sizes["big_generate"], "ews-sim-big")
    try:
        mailbox = sim.mailboxes()[0]
        outcome, wall, rss = sync_once(ctx, sim, mailbox,
                                       os.path.join(ctx.workdir, "big-state.json"))
        if outcome["items_replicated"] != ctx.sizes["big_items"]:
            raise RuntimeError(f"big mailbox: {outcome['items_replicated']} items replicated")
        return {"items": outcome["items_replicated"], "seconds": wall, "rss_kib": rss,
                "sim_rss_kib": sim.proc.peak_rss_kib()}
    finally:
        sim.stop()


def run(ctx):
    has_worker = worker_ready(ctx)
    rounds, incremental = full_sync(ctx, has_worker)
    bare = median([r["items_per_s"] for r in rounds["bare"]])
    exl = median([r["items_per_s"] for r in rounds["exchangelib"]])
    res = {"what": f"full mailbox folder replication of {ctx.sizes['repl_items']:,} messages",
           "generate": ctx.sizes["repl_generate"], "items": ctx.sizes["repl_items"],
           "rounds": rounds, "bare_items_per_s": bare, "exchangelib_items_per_s": exl}
    if not has_worker:
        res["skipped"] = "this build's mse-worker has no --sync-once (issue #6 not merged)"
        ctx.results["replication"] = res
        ctx.results["incremental"] = {"skipped": res["skipped"]}
        ctx.results["memory"] = {"skipped": res["skipped"]}
        return
    w = rounds["worker"]
    res.update({
        "worker_items_per_s": median([r["items_per_s"] for r in w]),
        "worker_s": median([r["seconds"] for r in w]),
        "ratio_exchangelib": median([a["items_per_s"] / b["items_per_s"]
                                     for a, b in zip(w, rounds["exchangelib"])]),
        "ratio_bare": median([a["items_per_s"] / b["items_per_s"]
                              for a, b in zip(w, rounds["bare"])]),
        "target_exchangelib": 20.0,
    })
    ctx.results["replication"] = res
    sw = sweep(ctx)
    ctx.log(f"incremental sweep: {sw['mailboxes']:,} mailboxes in {sw['sweep_s']:.1f} s")
    ctx.results["incremental"] = {
        "ms_per_mailbox": incremental["ms_per_mailbox"],
        "engine_ms": incremental["engine_ms"],
        "ews_requests_per_pass": incremental["ews_requests"],
        "target_ms": 20.0,
        "sweep_mailboxes": sw["mailboxes"],
        "sweep_s": sw["sweep_s"],
        "sweep_ms_per_mailbox": sw["ms_per_mailbox"],
        "sweep_full_s": sw["full_s"],
        "sweep_generate": ctx.sizes["sweep_generate"],
        "mode": "mse-worker --sync-once per mailbox (process start included)",
    }
    big = big_mailbox(ctx)
    ctx.log(f"big mailbox: {big['items']:,} items in {big['seconds']:.1f} s, "
            f"worker peak RSS {big['rss_kib'] / 1024:.1f} MiB")
    ctx.results["memory"] = {
        "worker_rss_mib": max(r["rss_kib"] for r in w) / 1024,
        "worker_big_rss_mib": big["rss_kib"] / 1024,
        "big_items": big["items"],
        "big_seconds": big["seconds"],
        "big_generate": ctx.sizes["big_generate"],
        "target_mib": 64,
    }
