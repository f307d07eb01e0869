# SPDX-License-Identifier: Apache-2.0
"""Issue #14's figure: resolving the demo directory's 10,000-member group with the worker's
directory module (directory_probe: the code mse-worker runs for an ad_group, in one process)
against Debian's slapd on loopback, next to ldapsearch reading the same 10,000 users (their
OU, paged) — the least any resolver must fetch — in the same run. The group takes one read
per member (a group lists DNs, each must be looked up for mail and userAccountControl); the
OU is paged searches, as ldapsearch does."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import procs
from context import median

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "scripts"))
import demo_directory as demo  # noqa: E402

# A 10,000-member group is resolved once per cache time (an hour): seconds are fine, minutes
# are not.
GROUP_LIMIT_S = 5.0
# The OU path is paged searches like ldapsearch's; it may cost what parsing and checking
# each entry costs on top, not more than four times the bare client.
OU_TARGET_RATIO = 0.25


def _port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _timed(argv, check):
    t0 = time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    seconds = time.monotonic() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({r.returncode}): {r.stderr[-2000:]}")
    check(r.stdout)
    return seconds


def run(ctx):
    d = tempfile.mkdtemp(prefix="mse-bench-ldap-", dir=ctx.workdir)
    conf = demo.prepare(d)
    url = f"ldap://127.0.0.1:{_port()}"
    slapd = procs.Proc("slapd", ["slapd", "-f", conf, "-h", f"{url}/", "-d", "0"], {},
                       os.path.join(ctx.workdir, "slapd.log"))
    deadline = time.monotonic() + 60
    while subprocess.run(["ldapsearch", "-x", "-H", url, "-b", demo.SUFFIX, "-s", "base", "1.1"],
                         capture_output=True).returncode != 0:
        if time.monotonic() > deadline:
            raise RuntimeError("slapd did not start; see slapd.log")
        time.sleep(0.1)
    probe = os.path.join(ctx.build_dir, "worker", "directory_probe")
    base = [probe, url, demo.ROOT_DN, demo.ROOT_PW, demo.SUFFIX, "0", "500", "resolve"]

    def members_ok(out):
        n = len(set(json.loads(out)["addresses"]))
        if n != demo.BULK:
            raise RuntimeError(f"resolved {n} members, not {demo.BULK}")

    def peer_ok(out):
        n = out.count("\nmail: ")
        if n != demo.BULK:
            raise RuntimeError(f"ldapsearch read {n} users, not {demo.BULK}")

    peer = ["ldapsearch", "-x", "-LLL", "-H", url, "-D", demo.ROOT_DN, "-w", demo.ROOT_PW,
            "-b", demo.GROUPS["bulk_ou"], "-E", "pr=500/noprompt", "(objectClass=user)", "mail",
            "userAccountControl"]
    group_s, ou_s, peer_s = [], [], []
    try:
        for r in range(ctx.sizes["rounds"]):
            # Alternate who goes first, as the other measurements do.
            order = [peer, "ou", "group"] if r % 2 == 0 else ["group", "ou", peer]
            for who in order:
                if who == "group":
                    group_s.append(_timed(base + [demo.GROUPS["bulk"]], members_ok))
                elif who == "ou":
                    ou_s.append(_timed(base + [demo.GROUPS["bulk_ou"]], members_ok))
                else:
                    peer_s.append(_timed(peer, lambda out: peer_ok("\n" + out)))
            ctx.log(f"directory round {r + 1}: group {group_s[-1]:.2f} s, OU {ou_s[-1]:.2f} s, "
                    f"ldapsearch {peer_s[-1]:.2f} s")
    finally:
        slapd.stop()
    g, o, p = median(group_s), median(ou_s), median(peer_s)
    ctx.results["directory"] = {
        "members": demo.BULK, "group_s": g, "ou_s": o, "peer_s": p,
        "ratio_ou": p / o if o else None, "target_ou": OU_TARGET_RATIO,
        "group_limit_s": GROUP_LIMIT_S}
