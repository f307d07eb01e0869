# SPDX-License-Identifier: Apache-2.0
"""The worker killed (-9) at random points of a first full sync: before its first batch, while
GetItem is in flight, during a submission, at the mailbox's finish. Each kill costs one lease
period, after which another worker resumes from the last committed checkpoint; the archive
must end equal to Exchange, every batch applied once, and the baseline must count the whole
first pass once. make test runs a few kills on a small mailbox; make soak the full trial
(5,000 items, 20 kills)."""
import time

import pytest

from rig import KILLS, RNG, SOAK, Rig, wait_until


@pytest.fixture
def rig():
    # Many small folders: a batch per folder gives every kill a batch boundary to land near.
    r = Rig(folders=40 if SOAK else 12)
    yield r
    r.stop()


def state(rig, x):
    return rig.db.query("SELECT state, claims FROM executions WHERE id = %s", x["id"])[0]


def running(rig, x):
    return state(rig, x)[0] in ("running", "waiting")


def ended(rig, x):
    return state(rig, x)[0] not in ("queued", "running", "waiting")


def test_kill_9_at_random_points_of_a_first_full_sync(rig):
    # Slow enough that a quiet machine's first pass outlasts the kills (20 ms did not).
    rig.slow_exchange(150)
    worker = rig.start_worker()
    x = rig.run()
    killed = 0
    for _ in range(KILLS):
        # The current worker holds the execution: a claim for each kill so far, plus one.
        wait_until(lambda: state(rig, x) == ("running", killed + 1) or ended(rig, x), 120,
                   "the next claim")
        if ended(rig, x):
            break
        base = rig.sequence()
        # Where to kill: right after the claim, or after one or two more batches, at a random
        # moment of what follows (the next page's GetItem, a submission, the finish).
        ahead = RNG.choice([0, 1, 1, 2])
        wait_until(lambda: rig.sequence() >= base + ahead or ended(rig, x), 300,
                   f"{ahead} more batches")
        time.sleep(RNG.uniform(0, 0.5))
        if not running(rig, x):
            break
        rig.kill_worker(worker)
        killed += 1
        worker = rig.start_worker()
    e = rig.wait_for_end(x)
    assert killed >= (KILLS + 1) // 2, f"only {killed} of {KILLS} kills landed mid-sync"
    # Every kill cost one lease expiry and one claim, nothing more. A loaded machine can also
    # starve a live worker's heartbeats past its lease: that costs an expiry too, and the same
    # single re-claim; never a claim without an expiry before it.
    assert e["lease_expiries"] >= killed, (e, killed)
    assert e["claims"] == e["lease_expiries"] + 1, (e, killed)
    box = rig.assert_exactly_once(e)
    assert box["first_full_sync_duration_ms"] >= box["last_sync_duration_ms"] > 0
