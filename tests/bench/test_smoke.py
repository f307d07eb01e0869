# SPDX-License-Identifier: Apache-2.0
"""make bench's scripts with tiny sizes (bench/bench.py --smoke), so that they cannot rot: every
measurement runs against the real processes and writes its results. Nothing about speed is
asserted — only that each part ran, produced its figures, and that no process reported a
sanitizer error."""
import json
import os
import subprocess
import sys
import tempfile
import uuid

import harness

BENCH = os.path.join(harness.SOURCE_DIR, "bench", "bench.py")


def test_every_benchmark_runs_with_tiny_sizes():
    work = tempfile.mkdtemp(prefix="mse-bench-smoke-")
    out = os.path.join(work, "results")
    prefix = "bsmoke_" + uuid.uuid4().hex[:8]
    env = dict(os.environ, **harness.sanitizer_env())
    run = subprocess.run([sys.executable, BENCH, "--smoke", "--pg", harness.base_conninfo(),
                          "--build", harness.BUILD_DIR, "--out", out, "--workdir", work,
                          "--db-prefix", prefix],
                         capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-5000:]

    with open(os.path.join(out, "latest.json")) as f:
        doc = json.load(f)
    assert doc["smoke"] is True
    assert doc["machine"]["cores"] >= 1 and doc["machine"]["versions"]["postgresql"]
    r = doc["results"]
    for name in ("api_read", "progress"):
        assert r[name]["rps"] > 0 and r[name]["peer_tps"] > 0 and r[name]["ratio"] > 0
    assert r["api_list"]["rps"] > 0 and r["api_list"]["tasks_stored"] == doc["sizes"]["list_tasks"]
    assert r["claims"]["per_s"] > 0 and r["claims"]["peer_per_s"] > 0
    poll = r["status_poll"]
    assert poll["rps"] > 0 and poll["peer_tps"] > 0
    assert poll["users"] == doc["sizes"]["continuity_users"]
    rep = r["replication"]
    assert rep["bare_items_per_s"] > 0 and rep["exchangelib_items_per_s"] > 0
    for mode in ("cli", "service"):
        assert rep[mode]["items_per_s"] > 0 and rep[mode]["ratio_exchangelib"] > 0
        assert r["incremental"][mode]["ms_per_mailbox"] >= 0
    sweep = r["incremental"]["sweep"]
    assert sweep["mailboxes"] == doc["sizes"]["sweep_mailboxes"] and sweep["full_items"] > 0
    mem = r["memory"]
    assert mem["worker_big_rss_mib"] > 0 and mem["server_rss_mib"] > 0
    assert mem["big"]["cli"]["rss_kib"] > 0 and mem["big"]["service"]["rss_kib"] > 0
    ad = r["directory"]
    assert ad["members"] == 10000 and ad["group_s"] > 0 and ad["ou_s"] > 0 and ad["peer_s"] > 0
    c = r["content"]
    assert c["items"] > 0 and c["mb_per_s"] > 0 and c["exchangelib_items_per_s"] > 0
    assert c["bare_items_per_s"] > 0 and c["ratio_exchangelib"] > 0
    lat = r["latency"]
    assert [f["latency_ms"] for f in lat["full"]] == list(doc["sizes"]["latency_ms"])
    for f in lat["full"]:
        assert f["seconds"] > 0 and f["exchangelib_seconds"] > 0 and f["requests"] > 0
        assert f["graph_seconds"] > 0 and f["graph_requests"] > 0
    assert lat["sweep"]["one_task"]["requests_per_mailbox"] > 0
    assert lat["sweep"]["changes"]["items"] == 10 * lat["sweep"]["changes"]["changed_mailboxes"]
    with open(os.path.join(out, "latest.md")) as f:
        md = f.read()
    assert "| measurement |" in md and "API read" in md and "AD group of 10,000" in md

    for name in os.listdir(work):
        if name.endswith(".log"):
            with open(os.path.join(work, name), errors="replace") as f:
                text = f.read()
            reports = [p for p in harness.SANITIZER_PATTERNS if p in text]
            assert not reports, f"{name}: {reports}"
