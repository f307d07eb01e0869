# SPDX-License-Identifier: Apache-2.0
"""Starts and stops what API and end-to-end tests need: PostgreSQL databases and MSE processes.

Every test talks to real processes over real sockets. Ports are chosen by the kernel (port 0)
and read back from the process's log, so concurrent runs never collide.
"""
import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid

import psycopg2

SOURCE_DIR = os.environ.get("MSE_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD_DIR = os.environ.get("MSE_BUILD_DIR") or os.path.join(SOURCE_DIR, "build-test")
PG_SCRIPT = os.path.join(SOURCE_DIR, "scripts", "pg.sh")

# Base URLs of the mse-servers this process started (for checking their responses).
_server_urls = set()
_server_urls_lock = threading.Lock()


def is_server_url(url):
    """True when url points at an mse-server started by this harness."""
    with _server_urls_lock:
        return any(url.startswith(base + "/") or url == base for base in _server_urls)


# Reports that make a run fail even when the process exits 0.
SANITIZER_PATTERNS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                      "WARNING: ThreadSanitizer", "SUMMARY: UndefinedBehaviorSanitizer")


def binary(name):
    """Path of a built binary (mse-server, mse-worker, ews-sim)."""
    sub = {"mse-server": "server", "mse-worker": "worker", "ews-sim": "ewssim",
           "mse-journal": "journal"}[name]
    path = os.path.join(BUILD_DIR, sub, name)
    if not os.path.exists(path):
        raise RuntimeError(f"{path} is not built; run make test or cmake --build {BUILD_DIR}")
    return path


def sanitizer_env():
    env = {}
    env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:halt_on_error=1:" \
        "detect_stack_use_after_return=1:strict_string_checks=1"
    env["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1"
    supp = os.path.join(SOURCE_DIR, "tests", "lsan.supp")
    if os.path.exists(supp):
        env["LSAN_OPTIONS"] = f"suppressions={supp}:print_suppressions=0"
    return env


class PgCluster:
    """A private PostgreSQL cluster in a temporary directory (scripts/pg.sh)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="mse-pg-")
        os.chmod(self.dir, 0o755)  # the postgres user must reach it when we are root
        self.conninfo = None

    def start(self):
        out = subprocess.run([PG_SCRIPT, "start", os.path.join(self.dir, "pg"), "--fast"],
                             check=True, capture_output=True, text=True)
        self.conninfo = out.stdout.strip().splitlines()[-1]
        return self

    def stop(self):
        subprocess.run([PG_SCRIPT, "stop", os.path.join(self.dir, "pg")],
                       capture_output=True, text=True)

    def destroy(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


_shared_cluster = None


def base_conninfo():
    """Conninfo of the run's PostgreSQL: the one `make test` started, or a private one."""
    global _shared_cluster
    env = os.environ.get("MSE_TEST_PG")
    if env:
        return env
    if _shared_cluster is None:
        _shared_cluster = PgCluster().start()
        atexit.register(_shared_cluster.destroy)
    return _shared_cluster.conninfo


def with_dbname(conninfo, dbname):
    return re.sub(r"dbname=\S+", f"dbname={dbname}", conninfo)


class Database:
    """A fresh, uniquely named database, dropped by drop()."""

    def __init__(self, conninfo=None):
        self.admin_conninfo = conninfo or base_conninfo()
        self.name = "mse_t_" + uuid.uuid4().hex[:12]
        with self._admin() as conn:
            conn.cursor().execute(f'CREATE DATABASE "{self.name}"')
        self.conninfo = with_dbname(self.admin_conninfo, self.name)

    def _admin(self):
        conn = psycopg2.connect(with_dbname(self.admin_conninfo, "postgres"))
        conn.autocommit = True
        return _Closing(conn)

    def connect(self):
        conn = psycopg2.connect(self.conninfo)
        conn.autocommit = True
        return conn

    def query(self, sql, *params):
        with _Closing(self.connect()) as conn:
            cur = conn.cursor()
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else None

    def scalar(self, sql, *params):
        return self.query(sql, *params)[0][0]

    def counts(self, *tables):
        """Row counts of the given tables: compare before and after a refused request."""
        return {t: self.scalar(f'SELECT count(*) FROM "{t}"') for t in tables}

    def drop(self):
        with self._admin() as conn:
            conn.cursor().execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class _Closing:
    def __init__(self, conn):
        self.conn = conn

    def __enter__(self):
        return self.conn

    def __exit__(self, *exc):
        self.conn.close()


class Process:
    """A child process whose stderr is collected; readiness is a line matching a pattern."""

    def __init__(self, argv, env, ready_pattern, name, timeout=60):
        self.name = name
        self.lines = []
        self._cond = threading.Condition()
        full_env = dict(os.environ)
        full_env.update(sanitizer_env())
        full_env.update({k: str(v) for k, v in env.items() if v is not None})
        for k, v in env.items():
            if v is None:
                full_env.pop(k, None)
        self.proc = subprocess.Popen(argv, env=full_env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     errors="replace")
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.match = None
        if ready_pattern:
            self.match = self.wait_for(ready_pattern, timeout)

    def _read(self):
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, pattern, timeout=30, start=0):
        """Waits for a log line matching pattern (from line index start); returns the match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = start
        with self._cond:
            while True:
                for line in self.lines[seen:]:
                    m = rx.search(line)
                    if m:
                        return m
                seen = len(self.lines)
                if self.proc.poll() is not None and not self._reader.is_alive():
                    raise RuntimeError(f"{self.name} exited ({self.proc.returncode}) before "
                                       f"/{pattern}/:\n" + self.output())
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.name}: no /{pattern}/ in {timeout}s:\n" +
                                       self.output())
                self._cond.wait(min(left, 0.5))

    def output(self):
        with self._cond:
            return "\n".join(self.lines)

    def send_signal(self, sig):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait(self, timeout=60):
        rc = self.proc.wait(timeout)
        self._reader.join(10)
        return rc

    def stop(self, sig=signal.SIGTERM, timeout=60):
        """Stops the process; returns its exit code. Kills it if it outlives timeout."""
        self.send_signal(sig)
        try:
            return self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.wait(10)
            raise

    def sanitizer_reports(self):
        text = self.output()
        return [p for p in SANITIZER_PATTERNS if p in text]

    def assert_clean_exit(self, rc):
        reports = self.sanitizer_reports()
        assert not reports, f"{self.name} sanitizer reports {reports}:\n{self.output()}"
        assert rc == 0, f"{self.name} exited {rc}:\n{self.output()[-20000:]}"


class Server(Process):
    """An mse-server on a kernel-chosen port over the given database."""

    def __init__(self, db_conninfo, env=None, threads=2, timeout=60, args=()):
        self.data_dir = tempfile.mkdtemp(prefix="mse-data-")
        full = {
            "MSE_LISTEN": "127.0.0.1:0",
            "MSE_DATABASE_URL": db_conninfo,
            "MSE_THREADS": threads,
            "MSE_LOG_LEVEL": "info",
            "MSE_DATA_DIR": self.data_dir,
        }
        full.update(env or {})
        super().__init__([binary("mse-server"), *args], full,
                         r"listening on http://([0-9.]+):(\d+)", "mse-server", timeout)
        self.host, self.port = self.match.group(1), int(self.match.group(2))
        self.url = f"http://{self.host}:{self.port}"
        with _server_urls_lock:
            _server_urls.add(self.url)

    def stop_clean(self, timeout=60):
        """SIGTERM, then asserts exit code 0 and no sanitizer report."""
        rc = self.stop(timeout=timeout)
        self.assert_clean_exit(rc)
        shutil.rmtree(self.data_dir, ignore_errors=True)


def list_routes():
    """The server's route table (mse-server --list-routes) as dicts {method, pattern, role}."""
    out = subprocess.run([binary("mse-server"), "--list-routes"], check=True,
                         capture_output=True, text=True, env={**os.environ, **sanitizer_env()})
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


class S3Server(Process):
    """A real S3-protocol server (s3rver from npm, pinned in package-lock.json) with one bucket,
    on a kernel-chosen port. It checks SigV4 signatures with its fixed credentials."""

    ACCESS_KEY = "S3RVER"
    SECRET_KEY = "S3RVER"
    REGION = "us-east-1"

    def __init__(self, bucket="mse-blobs"):
        self.dir = tempfile.mkdtemp(prefix="mse-s3-")
        self.bucket = bucket
        argv = [os.path.join(SOURCE_DIR, "node_modules", ".bin", "s3rver"), "-d", self.dir,
                "-a", "127.0.0.1", "-p", "0", "--configure-bucket", bucket]
        super().__init__(argv, {}, r"S3rver listening on ([0-9.]+):(\d+)", "s3rver")
        self.url = f"http://{self.match.group(1)}:{self.match.group(2)}"

    def env(self):
        """The mse-server (and blob-store suite) settings that point at this bucket."""
        return {"MSE_BLOB_BACKEND": "s3", "MSE_S3_ENDPOINT": self.url,
                "MSE_S3_BUCKET": self.bucket, "MSE_S3_REGION": self.REGION,
                "MSE_S3_ACCESS_KEY_ID": self.ACCESS_KEY, "MSE_S3_SECRET_ACCESS_KEY": self.SECRET_KEY}

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
