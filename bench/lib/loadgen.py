# SPDX-License-Identifier: Apache-2.0
"""Load generators: wrk with the scripts in bench/wrk (one JSON summary line each) and pgbench."""
import json
import os
import re
import signal
import subprocess
import time

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LUA_DIR = os.path.join(BENCH_DIR, "wrk")


def wrk(url, script, threads, connections, duration_s, env=None, timeout_s=30, until=None):
    """Runs wrk; returns the summary of bench/wrk/report.lua plus rps (requests per second).

    until: a function polled while wrk runs; when it returns true, wrk gets SIGINT (it then
    stops and reports) — for scripts whose threads stop on their own, which wrk does not
    notice before its duration is over."""
    full_env = dict(os.environ)
    full_env.update({k: str(v) for k, v in (env or {}).items()})
    full_env["BENCH_LUA_DIR"] = LUA_DIR
    argv = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration_s}s",
            "--timeout", f"{timeout_s}s", "-s", os.path.join(LUA_DIR, script), url]
    p = subprocess.Popen(argv, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        if until:
            deadline = time.monotonic() + duration_s
            while p.poll() is None and time.monotonic() < deadline:
                if until():
                    time.sleep(0.3)  # the claimers' last polls answer 204
                    p.send_signal(signal.SIGINT)
                    break
                time.sleep(0.1)
        stdout, stderr = p.communicate(timeout=duration_s + timeout_s + 60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    m = re.search(r"^BENCH (\{.*\})$", stdout, re.M)
    if p.returncode != 0 or not m:
        raise RuntimeError(f"wrk {script} failed ({p.returncode}):\n{stdout}\n{stderr}")
    s = json.loads(m.group(1))
    s["seconds"] = s["duration_us"] / 1e6
    s["rps"] = s["requests"] / s["seconds"] if s["seconds"] > 0 else 0.0
    s["error_count"] = sum(s["errors"].values())
    return s


class PgBench:
    """pgbench against one database of the run's PostgreSQL (libpq conninfo keywords)."""

    def __init__(self, conninfo_kv):
        self.kv = conninfo_kv  # {"host": …, "port": …, "user": …, "dbname": …}

    def _argv(self, *args):
        kv = self.kv
        return ["pgbench", "-h", kv["host"], "-p", kv["port"], "-U", kv["user"], *args,
                kv["dbname"]]

    def init(self, scale):
        subprocess.run(self._argv("-i", "-q", "-s", str(scale)), check=True,
                       capture_output=True, text=True)

    def run(self, clients, threads, duration_s, script=None, select_only=False):
        """Returns {"tps", "latency_ms", "transactions"}; tps excludes connection set-up."""
        args = ["-n", "-c", str(clients), "-j", str(threads), "-T", str(duration_s)]
        if select_only:
            args.append("-S")
        if script:
            args += ["-f", script]
        out = subprocess.run(self._argv(*args), capture_output=True, text=True,
                             timeout=duration_s + 120)
        tps = re.search(r"^tps = ([0-9.]+) \(without initial connection time\)", out.stdout,
                        re.M)
        if out.returncode != 0 or not tps:
            raise RuntimeError(f"pgbench failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
        lat = re.search(r"^latency average = ([0-9.]+) ms", out.stdout, re.M)
        done = re.search(r"^number of transactions actually processed: (\d+)", out.stdout, re.M)
        return {"tps": float(tps.group(1)), "latency_ms": float(lat.group(1)) if lat else None,
                "transactions": int(done.group(1)) if done else None}
