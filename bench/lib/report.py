# SPDX-License-Identifier: Apache-2.0
"""The run's record: the machine's description, the table of figures and ratios (printed and
as Markdown), and the JSON document with every round."""
import json
import os
import platform
import re
import subprocess


def _cmd(argv, pattern=None):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout + out.stderr).strip()
    if pattern:
        m = re.search(pattern, text)
        return m.group(1) if m else None
    return text.splitlines()[0] if text else None


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _mem_total_mib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    return None


def machine(source_dir, build_dir):
    """Cores, memory, CPU, kernel, distribution and the versions of what took part."""
    pg_bin = sorted(d for d in os.listdir("/usr/lib/postgresql"))[-1] if os.path.isdir(
        "/usr/lib/postgresql") else None
    os_release = {}
    if os.path.exists("/etc/os-release"):
        with open("/etc/os-release") as f:
            os_release = dict(re.findall(r'^(\w+)="?([^"\n]*)"?$', f.read(), re.M))
    return {
        "cores": os.cpu_count(),
        "memory_mib": _mem_total_mib(),
        "cpu_model": _cpu_model(),
        "kernel": platform.release(),
        "os": os_release.get("PRETTY_NAME"),
        "load_average_at_start": list(os.getloadavg()),
        "versions": {
            "mse": _cmd(["git", "-C", source_dir, "describe", "--always", "--dirty"]),
            "mse_server": _cmd([os.path.join(build_dir, "server", "mse-server"), "--version"]),
            "postgresql": _cmd([f"/usr/lib/postgresql/{pg_bin}/bin/postgres", "--version"],
                               r"(\d+\.\d+)") if pg_bin else None,
            "pgbench": _cmd(["pgbench", "--version"], r"(\d+\.\d+)"),
            "wrk": _cmd(["wrk", "-v"], r"wrk (\S+)"),
            "node": _cmd(["node", "--version"]),
            "python": platform.python_version(),
            "exchangelib": _cmd(["/usr/bin/python3", "-c",
                                 "import exchangelib; print(exchangelib.__version__)"]),
            "libmicrohttpd": _cmd(["pkg-config", "--modversion", "libmicrohttpd"]),
            "libcurl": _cmd(["pkg-config", "--modversion", "libcurl"]),
            "libxml2": _cmd(["pkg-config", "--modversion", "libxml-2.0"]),
            "libpq": _cmd(["pkg-config", "--modversion", "libpq"]),
            "cc": _cmd(["cc", "--version"]),
        },
    }


def _fmt(v, unit=""):
    if v is None:
        return "—"
    if isinstance(v, float) and v < 100:
        return f"{v:,.2f}{unit}"
    return f"{v:,.0f}{unit}"


def _ratio(r, target, higher_is_better=True):
    if r is None:
        return "—", "—"
    met = r >= target if higher_is_better else r <= target
    return f"{r:.2f}×", ("yes" if met else "**no**")


def rows(results):
    """The table: (measurement, MSE, peer or limit, ratio, target, met)."""
    out = []
    r = results.get("api_read")
    if r:
        ratio, met = _ratio(r["ratio"], r["target"])
        out.append(("API read, GET task (64 conn.)",
                    f"{_fmt(r['rps'])} req/s, p50 {_fmt(r['p50_ms'])} ms, "
                    f"p99 {_fmt(r['p99_ms'])} ms",
                    f"pgbench -S {_fmt(r['peer_tps'])} tps", ratio, "≥ 0.6×", met))
    r = results.get("api_list")
    if r:
        out.append((f"API list, limit=100 ({r['tasks_stored']:,} tasks)",
                    f"{_fmt(r['rps'])} req/s, p99 {_fmt(r['p99_ms'])} ms", "—", "—", "—", "—"))
    r = results.get("progress")
    if r:
        ratio, met = _ratio(r["ratio"], r["target"])
        out.append(("Progress posts (64 conn.)",
                    f"{_fmt(r['rps'])} posts/s, p99 {_fmt(r['p99_ms'])} ms",
                    f"pgbench 1-row UPDATE {_fmt(r['peer_tps'])} tps", ratio, "≥ 0.5×", met))
    r = results.get("status_poll")
    if r:
        ratio, met = _ratio(r["headroom"], 1.0)
        out.append((f"Continuity status polls, 304 ({r['users']} users)",
                    f"{_fmt(r['rps'])} 304/s, p99 {_fmt(r['p99_ms'])} ms "
                    f"(pgbench -S {_fmt(r['peer_tps'])} tps, {r['ratio']:.2f}×)",
                    f"100,000 clients / 180 s = {_fmt(r['limit_rps'])} req/s", ratio, "≥ 1×",
                    met))
    r = results.get("claims")
    if r:
        ratio, met = _ratio(r["ratio"], r["target"])
        out.append((f"Claims → completes ({r['claimers']} claimers)", f"{_fmt(r['per_s'])}/s",
                    f"graphile-worker {_fmt(r['peer_per_s'])} jobs/s", ratio, "≥ 1×", met))
    r = results.get("replication")
    if r:
        labels = {"cli": "engine, --sync-once", "service": "service mode, into mse-server"}
        for mode in ("cli", "service"):
            m = r.get(mode)
            if not m:
                continue
            ratio, met = _ratio(m["ratio_exchangelib"], r["target_exchangelib"])
            out.append((f"Full sync, {r['items']:,} items ({labels[mode]})",
                        f"{_fmt(m['items_per_s'])} items/s ({_fmt(m['seconds'])} s)",
                        f"exchangelib {_fmt(r['exchangelib_items_per_s'])} items/s",
                        ratio, "≥ 20×", met))
        if r.get("skipped"):
            out.append(("Full sync (worker)", f"skipped: {r['skipped']}",
                        f"exchangelib {_fmt(r['exchangelib_items_per_s'])} items/s", "—", "≥ 20×",
                        "—"))
        best = max((r[m]["ratio_bare"] for m in ("cli", "service") if r.get(m)), default=None)
        out.append(("… limit: the sim serving the same pages", "—",
                    f"bare client {_fmt(r['bare_items_per_s'])} items/s",
                    f"{best:.2f}× of it" if best else "—", "—", "—"))
    r = results.get("incremental")
    if r and not r.get("skipped"):
        for mode, label in (("cli", "--sync-once, process start incl."),
                            ("service", "service mode, one execution")):
            if r.get(mode):
                ratio, met = _ratio(r[mode]["ms_per_mailbox"], r["target_ms"],
                                    higher_is_better=False)
                out.append((f"Incremental no-change pass ({label})",
                            f"{_fmt(r[mode]['ms_per_mailbox'])} ms/mailbox", "—", "—",
                            "≤ 20 ms", met))
        sw = r.get("sweep")
        if sw:
            ratio, met = _ratio(sw["ms_per_mailbox"], r["target_ms"], higher_is_better=False)
            out.append((f"Incremental sweep, {sw['mailboxes']:,} mailboxes (one execution)",
                        f"{_fmt(sw['sweep_s'])} s ({_fmt(sw['ms_per_mailbox'])} ms/mailbox)",
                        "—", "—", "≤ 20 ms", met))
    r = results.get("memory")
    if r and not r.get("skipped"):
        met = "yes" if r["worker_big_rss_mib"] < r["target_mib"] else "**no**"
        modes = ", ".join(f"{k} {_fmt(v['rss_kib'] / 1024)}"
                          for k, v in r["big"].items() if isinstance(v, dict))
        out.append((f"Peak RSS, worker, {r['big_items']:,}-item mailbox",
                    f"{_fmt(r['worker_big_rss_mib'])} MiB ({modes})", "—", "—", "< 64 MiB", met))
        out.append(("Peak RSS during the full syncs above",
                    f"worker {_fmt(r.get('worker_cli_rss_mib'))} MiB (engine), "
                    f"{_fmt(r.get('worker_service_rss_mib'))} MiB (service); mse-server "
                    f"{_fmt(r.get('server_rss_mib'))} MiB", "—", "—", "—", "—"))
    r = results.get("content")
    if r:
        ratio, met = _ratio(r["ratio_exchangelib"], r["target_exchangelib"])
        out.append((f"Sync & Recover content pass, {r['items']:,} messages (MIME read, hashed, "
                    "stored)",
                    f"{_fmt(r['items_per_s'])} items/s, {_fmt(r['mb_per_s'])} MB/s, "
                    f"{r['requests']:.0f} requests",
                    f"exchangelib {_fmt(r['exchangelib_items_per_s'])} items/s, "
                    f"{_fmt(r['exchangelib_mb_per_s'])} MB/s", ratio,
                    f"≥ {r['target_exchangelib']:g}×", met))
        out.append(("… the same against the sim's bare limit", f"{_fmt(r['items_per_s'])} items/s",
                    f"bare client {_fmt(r['bare_items_per_s'])} items/s",
                    f"{r['ratio_bare']:.2f}×", "—", "—"))
    r = results.get("directory")
    if r:
        met = "yes" if r["group_s"] <= r["group_limit_s"] else "**no**"
        out.append((f"AD group of {r['members']:,} members resolved (one read per member)",
                    f"{_fmt(r['group_s'])} s", "—", "—", f"≤ {r['group_limit_s']:g} s", met))
        ratio, met = _ratio(r["ratio_ou"], r["target_ou"])
        out.append((f"OU of the same {r['members']:,} users resolved (paged)",
                    f"{_fmt(r['ou_s'])} s", f"ldapsearch, paged, {_fmt(r['peer_s'])} s",
                    ratio, f"≥ {r['target_ou']:g}×", met))
    r = results.get("latency")
    if r:
        for f in r["full"]:
            ratio, met = _ratio(f["ratio_exchangelib"], r["target_exchangelib"])
            seed_ratio, seed_met = _ratio(f["ratio_seed"], r["target_seed"])
            out.append((f"Full sync, {r['items']:,} items at {f['latency_ms']} ms/request",
                        f"{_fmt(f['seconds'])} s, {_fmt(f['items_per_s'])} items/s, "
                        f"{f['requests']:.0f} requests",
                        f"exchangelib {_fmt(f['exchangelib_seconds'])} s, "
                        f"{f['exchangelib_requests']:.0f} requests", ratio, "≥ 20×", met))
            out.append(("… the same against seed 004's 15 minutes", f"{_fmt(f['seconds'])} s",
                        "seed baseline 900 s", seed_ratio, "≥ 100×", seed_met))
            if "graph_seconds" in f:
                out.append(("… the same through Microsoft Graph (the engine, both sides)",
                            f"Graph {_fmt(f['graph_seconds'])} s, "
                            f"{f['graph_requests']:.0f} requests",
                            f"EWS {_fmt(f['seconds'])} s, {f['requests']:.0f} requests",
                            f"{f['ratio_graph_ews']:.2f}×", "—", "—"))
        sw = r["sweep"]
        for key, label in (("one_task", "one task, sequential"),
                           ("split", f"{sw['split']['tasks']} tasks")):
            v = sw[key]
            met = "yes" if v["requests_per_mailbox"] <= r["target_requests"] else "**no**"
            out.append((f"No-change sweep, {sw['mailboxes']:,} mailboxes at 20 ms ({label})",
                        f"{_fmt(v['seconds'] / 60)} min, {_fmt(v['requests_per_mailbox'])} "
                        "requests/mailbox", "—", "—",
                        f"≤ {r['target_requests']} requests/mailbox", met))
        c = sw["changes"]
        out.append((f"Sweep, 5% of mailboxes with 10 new messages ({c['tasks']} tasks)",
                    f"{_fmt(c['seconds'] / 60)} min, {c['items']:,} items", "—", "—", "—", "—"))
        met = "yes" if r["sweep_5000_minutes"] < r["target_5000_minutes"] else "**no**"
        out.append(("… 5,000 mailboxes at that rate, one worker",
                    f"{_fmt(r['sweep_5000_minutes'])} min", "seed: 7 days on one task", "—",
                    "< 10 min", met))
    if results.get("server_rss_mib") is not None:
        out.append(("Peak RSS, mse-server (API and claims)", f"{_fmt(results['server_rss_mib'])} MiB",
                    "—", "—", "—", "—"))
    return out


HEAD = ("measurement", "MSE", "peer / limit", "ratio", "target", "met")


def table_text(results):
    data = [HEAD] + [tuple(s.replace("**", "") for s in row) for row in rows(results)]
    widths = [max(len(row[i]) for row in data) for i in range(len(HEAD))]
    lines = []
    for k, row in enumerate(data):
        lines.append("  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def table_markdown(results):
    lines = ["| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
    for row in rows(results):
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def markdown(doc):
    m = doc["machine"]
    v = m["versions"]
    return "\n".join([
        f"# MSE benchmarks — {doc['finished_at']}",
        "",
        f"Machine: {m['cores']} cores, {m['memory_mib']:,} MiB, {m['cpu_model']}, "
        f"Linux {m['kernel']}, {m['os']}; load average at start "
        f"{', '.join(f'{x:.2f}' for x in m['load_average_at_start'])}.",
        f"Versions: MSE {v['mse']}, PostgreSQL {v['postgresql']}, wrk {v['wrk']}, "
        f"node {v['node']}, graphile-worker {doc.get('graphile_worker') or '—'}, "
        f"exchangelib {v['exchangelib']}, libmicrohttpd {v['libmicrohttpd']}, "
        f"libcurl {v['libcurl']}, libxml2 {v['libxml2']}.",
        f"Sizes: {'smoke run' if doc['smoke'] else 'full run'}; "
        f"{doc['sizes']['rounds']} alternating rounds of {doc['sizes']['duration_s']} s "
        "per ratio (medians shown).",
        "",
        table_markdown(doc["results"]),
        "",
    ])


def write(out_dir, doc, stamp):
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for name in (stamp, "latest"):
        j = os.path.join(out_dir, f"{name}.json")
        with open(j, "w") as f:
            json.dump(doc, f, indent=2, sort_keys=False)
            f.write("\n")
        md = os.path.join(out_dir, f"{name}.md")
        with open(md, "w") as f:
            f.write(markdown(doc))
        paths += [j, md]
    return paths
