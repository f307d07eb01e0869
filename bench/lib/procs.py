# SPDX-License-Identifier: Apache-2.0
"""Processes a benchmark starts: mse-server, ews-sim, peers. Each logs to a file in the run's
directory, is found ready by a log line or an HTTP probe, and is stopped — by its own id only —
when the run ends, however it ends (normal exit, error, Ctrl-C)."""
import os
import re
import signal
import subprocess
import tempfile
import time
import urllib.request

_running = []  # every Proc started and not yet stopped, newest last


class Proc:
    """A child process whose stdout+stderr go to log_path."""

    def __init__(self, name, argv, env, log_path, stdout=None):
        self.name = name
        self.log_path = log_path
        full_env = dict(os.environ)
        full_env.update({k: str(v) for k, v in env.items()})
        self._log = open(log_path, "ab")
        self._log_start = self._log.tell()  # a log may hold earlier runs: read what follows
        self.proc = subprocess.Popen(argv, env=full_env, stdin=subprocess.DEVNULL,
                                     stdout=stdout if stdout is not None else self._log,
                                     stderr=self._log)
        self.pid = self.proc.pid
        _running.append(self)

    def log_text(self):
        with open(self.log_path, "rb") as f:
            f.seek(self._log_start)
            return f.read().decode("utf-8", "replace")

    def wait_log(self, pattern, timeout=60):
        """Waits for a line of the log matching pattern; returns the match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.log_text())
            if m:
                return m
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}); "
                                   f"log {self.log_path}:\n{self.log_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: no /{pattern}/ within {timeout} s; "
                                   f"log {self.log_path}")
            time.sleep(0.05)

    def peak_rss_kib(self):
        """Peak resident set size so far (VmHWM), in KiB; None when the process is gone."""
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None

    def stop(self, timeout=30):
        """SIGTERM, then SIGKILL after timeout; returns the exit code."""
        if self in _running:
            _running.remove(self)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()
        return self.proc.returncode


def stop_all():
    """Stops every process still running, newest first (clients before servers)."""
    while _running:
        p = _running[-1]
        try:
            p.stop(timeout=15)
        except Exception:  # keep stopping the others
            _running.remove(p) if p in _running else None


def http_ok(url, timeout=2):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status == 200
    except Exception:
        return False


def wait_http(proc, url, timeout=60):
    deadline = time.monotonic() + timeout
    while not http_ok(url):
        if proc.proc.poll() is not None:
            raise RuntimeError(f"{proc.name} exited ({proc.proc.returncode}); "
                               f"log {proc.log_path}:\n{proc.log_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{proc.name} not ready at {url} within {timeout} s")
        time.sleep(0.05)


def start_server(build_dir, workdir, conninfo, name="mse-server", env=None):
    """An mse-server on a kernel-chosen port, with a bootstrap admin; returns (proc, base_url).

    It logs at the default level (an access-log line per request, to a file) as in
    production: writing that line is part of what a request costs."""
    data_dir = os.path.join(workdir, name + "-data")
    os.makedirs(data_dir, mode=0o700, exist_ok=True)
    full = {"MSE_LISTEN": "127.0.0.1:0", "MSE_DATABASE_URL": conninfo, "MSE_DATA_DIR": data_dir,
            "MSE_BOOTSTRAP_CLIENT_ID": "bench-admin",
            "MSE_BOOTSTRAP_CLIENT_SECRET": "bench-admin-secret-0123456789"}
    full.update(env or {})
    proc = Proc(name, [os.path.join(build_dir, "server", "mse-server")], full,
                os.path.join(workdir, name + ".log"))
    m = proc.wait_log(r"listening on http://([0-9.]+):(\d+)")
    url = f"http://{m.group(1)}:{m.group(2)}"
    wait_http(proc, url + "/readyz")
    return proc, url


SIM_ACCOUNT = ("svc-bench@example.com", "bench-service-password")


def start_sim(build_dir, source_dir, workdir, generate, name="ews-sim", threads=None,
              graph_app=None):
    """An ews-sim generating an organisation (EWS_SIM_GENERATE); returns (proc, base_url).
    graph_app (tenant, client id, secret) also lets that app in through Microsoft Graph."""
    env = {"EWS_SIM_LISTEN": "127.0.0.1:0", "EWS_SIM_GENERATE": generate,
           "EWS_SIM_SERVICE_ACCOUNT": "%s:%s" % SIM_ACCOUNT, "EWS_SIM_SEED": "8",
           "EWS_SIM_SCHEMA_DIR": os.path.join(source_dir, "ewssim", "schema")}
    if graph_app:
        env["EWS_SIM_GRAPH_APPS"] = ":".join(graph_app)
    if threads:
        env["EWS_SIM_THREADS"] = threads
    proc = Proc(name, [os.path.join(build_dir, "ewssim", "ews-sim")], env,
                os.path.join(workdir, name + ".log"))
    m = proc.wait_log(r"listening on http://([0-9.]+):(\d+)", timeout=600)
    url = f"http://{m.group(1)}:{m.group(2)}"
    wait_http(proc, url + "/_sim/health")
    return proc, url


def run_timed(argv, env=None, stdout=subprocess.DEVNULL, cwd=None):
    """Runs a command to its end; returns (exit code, wall seconds, peak RSS KiB, stderr text).

    The peak RSS is GNU time's (%M): the kernel's ru_maxrss of a child forked from this
    Python process would include the parent's memory it started as."""
    full_env = dict(os.environ)
    full_env.update({k: str(v) for k, v in (env or {}).items()})
    with tempfile.NamedTemporaryFile("r", prefix="mse-bench-rss-") as rss_file:
        t0 = time.monotonic()
        p = subprocess.Popen(["/usr/bin/time", "-q", "-f", "%M", "-o", rss_file.name, *argv],
                             env=full_env, stdout=stdout, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, cwd=cwd)
        holder = Proc.__new__(Proc)  # registered so that Ctrl-C stops it too
        holder.name, holder.proc, holder.pid = argv[0], p, p.pid
        holder._log = open(os.devnull, "wb")
        holder.log_path = os.devnull
        _running.append(holder)
        try:
            err = p.stderr.read()
            p.wait()
        finally:
            if holder in _running:
                _running.remove(holder)
            holder._log.close()
        wall = time.monotonic() - t0
        text = rss_file.read().strip()
    rss = int(text.splitlines()[-1]) if text and text.splitlines()[-1].isdigit() else None
    return p.returncode, wall, rss, err.decode("utf-8", "replace")
