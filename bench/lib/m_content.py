# SPDX-License-Identifier: Apache-2.0
"""Issue #12's content figure: a Sync & Recover full pass over one mailbox's messages — every
message's MIME read, decoded, hashed and stored — in items/s and MB/s, next to exchangelib
fetching the same MIME from the same sim, and the sim's bare limit (a client that only asks
for the pages and the MIME and does nothing with them). Alternating rounds, medians.

The worker's figure includes storing each message durably (written, fsync'd, renamed into the
content directory) before the state that references it; exchangelib only hashes what it reads.
On a 2-core VM's disk the fsyncs, not the reading, are most of the worker's time: the same pass
into a tmpfs directory ran at about 8,900 messages/s against 800–2,000 on disk."""
import os
import shutil

import m_replication as repl
from context import median

# Mail only, every message class the generator makes, private items too: the same messages
# the peers read.
SETTINGS = {"mail": True, "calendars": False, "message_classes": ["IPM"],
            "include_sensitive": True}


def _dir_bytes(path):
    return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))


def run(ctx):
    sz = ctx.sizes
    sim = repl.Sim(ctx, sz["content_generate"], "ews-sim-content")
    rounds = {"worker": [], "exchangelib": [], "bare": []}
    order = ("worker", "exchangelib", "bare")
    try:
        mailbox = sim.mailboxes()[0]
        for r in range(sz["content_rounds"]):
            for who in order[r % 3:] + order[:r % 3]:
                sim.requests()
                if who == "worker":
                    store = os.path.join(ctx.workdir, f"content-{r}")
                    shutil.rmtree(store, ignore_errors=True)
                    os.makedirs(store)
                    outcome, wall, rss = repl.sync_once(
                        ctx, sim, mailbox, store + ".json", kind="sync_recover",
                        settings=SETTINGS, content_dir=store)
                    rec = {"items": outcome["items_replicated"], "seconds": wall,
                           "bytes": _dir_bytes(store), "rss_kib": rss}
                    shutil.rmtree(store, ignore_errors=True)
                else:
                    doc = repl.peer("exchangelib_mime.py", sim, mailbox) if who == "exchangelib" \
                        else repl.peer("bare_ews.py", sim, mailbox, "mime")
                    rec = {"items": doc["items"], "seconds": doc["seconds"], "bytes": doc["bytes"]}
                rec["requests"] = sum(sim.requests().values())
                rec["items_per_s"] = rec["items"] / rec["seconds"]
                rec["mb_per_s"] = rec["bytes"] / rec["seconds"] / 1e6
                rounds[who].append(rec)
            ctx.log("content round %d: %s" % (r + 1, ", ".join(
                f"{k} {v[-1]['items_per_s']:,.0f} items/s" for k, v in rounds.items() if v)))
    finally:
        sim.stop()
    w, x, b = rounds["worker"], rounds["exchangelib"], rounds["bare"]
    if {r["items"] for r in w} != {r["items"] for r in x}:
        raise RuntimeError(f"the worker archived {w[0]['items']} messages, exchangelib read "
                           f"{x[0]['items']}")
    ctx.results["content"] = {
        "generate": sz["content_generate"], "items": w[0]["items"], "rounds": rounds,
        "items_per_s": median([r["items_per_s"] for r in w]),
        "mb_per_s": median([r["mb_per_s"] for r in w]),
        "requests": median([r["requests"] for r in w]),
        "rss_mib": median([r["rss_kib"] for r in w if r["rss_kib"]] or [0]) / 1024,
        "exchangelib_items_per_s": median([r["items_per_s"] for r in x]),
        "exchangelib_mb_per_s": median([r["mb_per_s"] for r in x]),
        "bare_items_per_s": median([r["items_per_s"] for r in b]),
        "ratio_exchangelib": median([a["items_per_s"] / c["items_per_s"] for a, c in zip(w, x)]),
        "ratio_bare": median([a["items_per_s"] / c["items_per_s"] for a, c in zip(w, b)]),
        "target_exchangelib": 5.0}
