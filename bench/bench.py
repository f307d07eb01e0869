# SPDX-License-Identifier: Apache-2.0
"""`make bench` (issue #8): every measurement with its peer or limit, side by side in one run.

Run by scripts/bench.sh, which builds, starts a throwaway PostgreSQL and passes its conninfo.
Prints a table of figures and ratios and writes JSON + Markdown under --out. Stops every
process it started when it ends, also on Ctrl-C. --smoke runs every script with tiny sizes
(make test does, to keep them from rotting): its figures mean nothing.
"""
import argparse
import datetime
import os
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))

import context  # noqa: E402
import m_api  # noqa: E402
import m_claims  # noqa: E402
import m_content  # noqa: E402
import m_continuity  # noqa: E402
import m_directory  # noqa: E402
import m_latency  # noqa: E402
import m_replication  # noqa: E402
import procs  # noqa: E402
import report  # noqa: E402

MEASUREMENTS = ("api", "claims", "replication", "content", "directory", "latency",
                "continuity")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pg", required=True, help="libpq conninfo of a PostgreSQL to use")
    p.add_argument("--build", required=True, help="build directory with the binaries")
    p.add_argument("--out", required=True, help="where results are written")
    p.add_argument("--workdir", help="logs and data of this run (default: a temporary one)")
    p.add_argument("--smoke", action="store_true", help="tiny sizes: proves the scripts run")
    p.add_argument("--only", default=",".join(MEASUREMENTS),
                   help="comma-separated subset of " + ", ".join(MEASUREMENTS))
    p.add_argument("--duration", type=int, help="seconds per round (overrides the size)")
    p.add_argument("--rounds", type=int, help="rounds per ratio (overrides the size)")
    p.add_argument("--db-prefix", default="bench",
                   help="prefix of the databases this run creates (and drops first)")
    return p.parse_args()


def run_all(ctx, only):
    if "api" in only or "claims" in only or "continuity" in only:
        ctx.start_server()
    if "api" in only:
        task = m_api.seed_tasks(ctx)
        ctx.results["api_read"] = m_api.api_read(ctx, task)
        ctx.results["api_list"] = m_api.api_list(ctx)
        ctx.results["progress"] = m_api.progress(ctx)
    if "claims" in only:
        ctx.results["claims"] = m_claims.claims(ctx)
    if "continuity" in only:
        ctx.results["status_poll"] = m_continuity.status_poll(ctx)
    if "replication" in only:
        m_replication.run(ctx)
    if "content" in only:
        m_content.run(ctx)
    if "directory" in only:
        m_directory.run(ctx)
    if "latency" in only:
        m_latency.run(ctx)
    if ctx.server:
        rss = ctx.server.peak_rss_kib()
        ctx.results["server_rss_mib"] = rss / 1024 if rss else None


def main():
    args = parse_args()
    only = [m for m in args.only.split(",") if m]
    unknown = set(only) - set(MEASUREMENTS)
    if unknown:
        sys.exit(f"bench: unknown measurement(s) {', '.join(sorted(unknown))}")
    source_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sizes = dict(context.SMOKE if args.smoke else context.FULL)
    if args.duration:
        sizes["duration_s"] = args.duration
    if args.rounds:
        sizes["rounds"] = args.rounds
    workdir = args.workdir or tempfile.mkdtemp(prefix="mse-bench-")
    os.makedirs(workdir, exist_ok=True)
    ctx = context.Context(source_dir, os.path.abspath(args.build), workdir, args.pg, sizes,
                          args.smoke, args.db_prefix)
    started = datetime.datetime.now(datetime.timezone.utc)
    doc = {"started_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"), "smoke": args.smoke,
           "sizes": sizes, "machine": report.machine(source_dir, ctx.build_dir)}
    ctx.log(f"logs in {workdir}")
    t0 = time.monotonic()
    status = 0
    try:
        run_all(ctx, only)
    except KeyboardInterrupt:
        ctx.log("interrupted")
        status = 130
    except Exception:
        traceback.print_exc()
        ctx.log(f"failed; logs in {workdir}")
        status = 1
    finally:
        procs.stop_all()
    if status:
        return status
    finished = datetime.datetime.now(datetime.timezone.utc)
    doc.update({"finished_at": finished.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "elapsed_s": round(time.monotonic() - t0, 1),
                "graphile_worker": getattr(ctx, "graphile_version", None),
                "results": ctx.results})
    print()
    print(report.table_text(ctx.results))
    print()
    for p in report.write(args.out, doc, finished.strftime("%Y%m%dT%H%M%SZ")):
        ctx.log(f"wrote {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
