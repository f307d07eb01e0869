# SPDX-License-Identifier: Apache-2.0
"""What every measurement shares: sizes, directories, the run's PostgreSQL, the mse-server under
test and its admin client, and the collected results."""
import re
import statistics

import psycopg2

import procs
from api import Api

# Sizes of a full run (make bench) and of the smoke run inside make test (seconds, no figure
# asserted: it only proves that every script still works).
FULL = {
    "duration_s": 10,  # one wrk / pgbench round
    "rounds": 3,  # side-by-side rounds per ratio, peer and MSE alternating
    "connections": 64,  # API read and progress posts, and pgbench clients
    "list_tasks": 100_000,
    "continuity_users": 500,  # end users polling their status, each request another's
    "continuity_events": 100,
    "claim_jobs": 10_000,  # executions (and graphile-worker jobs) per claims round
    "claimers": 8,
    "pgbench_scale": 10,
    "repl_generate": "mailboxes=1,folders=9,items=1000,appointments=0,groups=0",
    "repl_items": 10_000,
    "repl_rounds": 3,
    "sweep_generate": "mailboxes=1000,folders=3,items=20,appointments=0,groups=0",
    "sweep_mailboxes": 1000,
    "big_generate": "mailboxes=1,folders=9,items=10000,appointments=0,groups=0",
    "big_items": 100_000,
    "content_generate": "mailboxes=1,folders=10,items=1000,appointments=0,groups=0",
    "content_rounds": 3,
    "latency_ms": (20, 50),  # issue #19's scenario 1
    "latency_rounds": 1,
    "latency_sweep_generate": "mailboxes=5000,folders=3,items=5,appointments=0,groups=0",
}
SMOKE = {
    "duration_s": 1,
    "rounds": 1,
    "connections": 8,
    "list_tasks": 300,
    "continuity_users": 8,
    "continuity_events": 4,
    "claim_jobs": 40,
    "claimers": 2,
    "pgbench_scale": 1,
    "repl_generate": "mailboxes=1,folders=1,items=30,appointments=0,groups=0",
    "repl_items": 60,
    "repl_rounds": 1,
    "sweep_generate": "mailboxes=3,folders=1,items=5,appointments=0,groups=0",
    "sweep_mailboxes": 3,
    "big_generate": "mailboxes=1,folders=1,items=50,appointments=0,groups=0",
    "big_items": 100,
    "content_generate": "mailboxes=1,folders=1,items=20,appointments=0,groups=0",
    "content_rounds": 1,
    "latency_ms": (20,),
    "latency_rounds": 1,
    "latency_sweep_generate": "mailboxes=4,folders=1,items=2,appointments=0,groups=0",
}


def conninfo_kv(conninfo):
    return dict(re.findall(r"(\w+)=(\S+)", conninfo))


def with_dbname(conninfo, dbname):
    return re.sub(r"dbname=\S+", f"dbname={dbname}", conninfo)


class Context:
    def __init__(self, source_dir, build_dir, workdir, pg_conninfo, sizes, smoke, db_prefix):
        self.source_dir = source_dir
        self.build_dir = build_dir
        self.workdir = workdir
        self.pg = pg_conninfo
        self.sizes = sizes
        self.smoke = smoke
        self.db_prefix = db_prefix
        self.results = {}  # measurement name -> dict
        self.server = None
        self.url = None
        self.admin = None

    def create_database(self, name):
        """A fresh database <prefix>_<name> on the run's PostgreSQL; returns its conninfo."""
        name = f"{self.db_prefix}_{name}"
        conn = psycopg2.connect(with_dbname(self.pg, "postgres"))
        conn.autocommit = True
        cur = conn.cursor()
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return with_dbname(self.pg, name)

    def database(self):
        """The conninfo of MSE's database (created on first use)."""
        if not getattr(self, "db", None):
            self.db = self.create_database("mse")
        return self.db

    def start_server(self):
        self.server, self.url = procs.start_server(self.build_dir, self.workdir, self.database())
        self.admin = Api(self.url)

    def sql(self, query, *params):
        """Runs SQL on the server's database (set-up only); returns the rows, if any."""
        conn = psycopg2.connect(self.db)
        conn.autocommit = True
        try:
            cur = conn.cursor()
            cur.execute(query, params)
            return cur.fetchall() if cur.description else None
        finally:
            conn.close()

    def log(self, msg):
        print(f"bench: {msg}", flush=True)


def median(values):
    return statistics.median(values) if values else None


def rounds_order(r):
    """Alternates who goes first: the peer in even rounds, MSE in odd ones."""
    return ("peer", "mse") if r % 2 == 0 else ("mse", "peer")


def alternate(rounds, run_mse, run_peer, report):
    """Runs MSE and its peer side by side for `rounds` rounds, alternating who goes first;
    report(r, mse_result, peer_result) after each round. Returns (mse results, peer results)."""
    mse, peer = [], []
    for r in range(rounds):
        for who in rounds_order(r):
            if who == "peer":
                peer.append(run_peer())
            else:
                mse.append(run_mse())
        report(r, mse[-1], peer[-1])
    return mse, peer
