# SPDX-License-Identifier: Apache-2.0
"""Serving cost of a full folder sync: CPU seconds of the simulator, measured from /proc.

DESIGN.md forbids wall-clock assertions; this compares the simulator with itself in the same
run (10,000 vs 1,000 items: linear work must stay near 10x) and prints the absolute numbers.
"""
import os

from ewsclient import Client


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def full_sync_cpu(items):
    import simlib
    sim = simlib.EwsSim(generate=f"mailboxes=1,folders=0,items={items},appointments=0,"
                                 f"attachment_bytes=0,groups=0",
                        env={"EWS_SIM_VALIDATE_RESPONSES": "0"})
    try:
        c = Client(sim, mailbox="user0001@example.com")
        inbox = c.folder_id("inbox")
        before = cpu_seconds(sim.proc.pid)
        changes, _, pages = c.sync_all(inbox, max_changes=512)
        used = cpu_seconds(sim.proc.pid) - before
        assert len(changes) == items and len({i for _, i, _ in changes}) == items
        assert pages == -(-items // 512)
        return used
    finally:
        sim.stop_clean()


def test_full_sync_cost_is_linear():
    small = full_sync_cpu(1000)
    large = full_sync_cpu(10000)
    print(f"\nfull sync CPU: 1,000 items {small:.3f} s, 10,000 items {large:.3f} s "
          f"(20 pages of 512; this build: {os.environ.get('MSE_BUILD_DIR', 'build-test')})")
    assert large < max(small, 0.05) * 25
