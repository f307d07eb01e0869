# SPDX-License-Identifier: Apache-2.0
"""Active Directory groups against a real directory: Debian's slapd with an AD-like schema
(tests/lib/slapd.py), the worker's directory module run alone (directory_probe), then the whole
chain — mse-server, PostgreSQL, mse-worker, ews-sim and slapd — for ad_group tasks, the
membership cache and its refresh, the site's directory test and the group look-up."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import FAST, admin_server
from admin_helpers import make_definition, make_site, make_task, ok
from e2e import harness, simlib
from test_service import run_and_wait, start_worker

import slapd

PROBE = os.path.join(harness.BUILD_DIR, "worker", "directory_probe")


@pytest.fixture(scope="module")
def directory():
    d = slapd.Slapd()
    yield d
    d.stop()


@pytest.fixture(scope="module")
def server(database):
    yield from admin_server(database, FAST)


@pytest.fixture(scope="module")
def sim():
    s = simlib.EwsSim(fixture=simlib.DEMO_FIXTURE)
    yield s
    s.stop_clean()


def probe(directory, *args, url=None, password=slapd.ROOT_PW, verify=False, page=200):
    """Runs the worker's directory module once; returns its JSON answer."""
    r = subprocess.run([PROBE, url or directory.url, slapd.ROOT_DN, password, slapd.SUFFIX,
                        "1" if verify else "0", str(page), *args], capture_output=True,
                       text=True, env={**os.environ, **harness.sanitizer_env()}, timeout=300)
    assert r.returncode in (0, 1), r.stderr
    assert not any(p in r.stderr for p in harness.SANITIZER_PATTERNS), r.stderr
    return json.loads(r.stdout)


def resolve(directory, key, **kw):
    return probe(directory, "resolve", slapd.GROUPS[key], **kw)


@pytest.mark.parametrize("key", ["eng", "sales", "all", "cycle", "staff"])
def test_each_kind_resolves_to_exactly_its_mailboxes(directory, key):
    """Security and distribution groups, nesting, a cycle, an OU (below it, recursively)."""
    out = resolve(directory, key)
    assert "error" not in out, out
    assert sorted(set(out["addresses"])) == sorted(slapd.EXPECTED[key])
    assert len(out["addresses"]) == len(set(out["addresses"])), "each user read once"


def test_left_out_members_are_listed_with_why(directory):
    out = resolve(directory, "all")
    assert sorted(out["excluded"]) == sorted([
        f"cn=Kira Sato,ou=Staff,{slapd.SUFFIX} (disabled)",
        f"cn=Liam OBrien,ou=Staff,{slapd.SUFFIX} (no mailbox)",
        f"cn=Partner Contact,ou=Other,{slapd.SUFFIX} (no mailbox)"])
    # Maya has no mail attribute: her address is the primary SMTP: proxy address.
    assert "maya.patel@contoso.example" in out["addresses"]
    assert "maya.alias@contoso.example" not in out["addresses"]


def test_errors_name_the_group_and_drop_nobody(directory):
    out = resolve(directory, "broken")
    assert out["reason"] == "group_not_found" and "addresses" not in out
    assert out["error"] == (f"group {slapd.GROUPS['broken']}: member cn=Gone Away,ou=Other,"
                            f"{slapd.SUFFIX} does not exist in the directory")
    out = resolve(directory, "missing")
    assert out == {"ms": out["ms"], "reason": "group_not_found",
                   "error": f"group {slapd.GROUPS['missing']} does not exist in the directory"}
    out = resolve(directory, "eng", password="wrong")
    assert out["reason"] == "directory_bind_failed"
    assert out["error"] == f"group {slapd.GROUPS['eng']}: bind failed: Invalid credentials"
    out = resolve(directory, "eng", url=f"ldap://127.0.0.1:{slapd.free_port()}")
    assert out["reason"] == "directory_unavailable"
    assert out["error"] == f"group {slapd.GROUPS['eng']}: cannot connect: Can't contact LDAP server"
    # A self-signed certificate is refused when verification is on.
    out = resolve(directory, "eng", verify=True)
    assert out["reason"] == "directory_unavailable" and "StartTLS failed" in out["error"], out


def test_ldaps_and_starttls_both_reach_the_directory(directory):
    assert resolve(directory, "eng", url=directory.ldaps_url)["addresses"]
    assert "error" not in probe(directory, "check")
    assert "error" not in probe(directory, "check", url=directory.ldaps_url)


def test_paged_results_see_past_the_size_limit(directory):
    """slapd answers at most 500 entries per search: the 10,000 users of an OU need paging."""
    out = resolve(directory, "bulk_ou", page=300)
    assert len(out["addresses"]) == slapd.BULK == len(set(out["addresses"]))


def test_the_10000_member_group(directory):
    out = resolve(directory, "bulk")
    assert sorted(out["addresses"]) == [f"bulk{i:05d}@bulk.contoso.example"
                                        for i in range(slapd.BULK)]
    # The figure for docs/directory.md (sanitized build here; make bench measures release).
    print(f"resolved {slapd.BULK} members in {out['ms']} ms")


def test_catalogue_lists_groups_and_ous(directory):
    groups = {g["dn"]: g for g in probe(directory, "catalogue")["groups"]}
    eng, sales = groups[slapd.GROUPS["eng"]], groups[slapd.GROUPS["sales"]]
    assert (eng["kind"], eng["member_count"]) == ("security_group", 3)
    assert (sales["kind"], sales["mail"], sales["member_count"]) == (
        "distribution_group", "sales@contoso.example", 4)
    assert groups[slapd.GROUPS["staff"]]["kind"] == "ou"
    assert groups[slapd.GROUPS["bulk"]]["member_count"] == slapd.BULK


# ---- the whole chain ----

def execution_mailboxes(database, execution):
    return sorted(r[0] for r in database.query(
        "SELECT address FROM execution_mailboxes WHERE execution_id = %s", execution["id"]))


def wait_for(check, what, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.3)


def test_ad_group_tasks_through_server_worker_and_directory(api, database, server, sim,
                                                            directory):
    site = make_site(api)
    ok(api.put(f"/api/v1/sites/{site['id']}/directory", json=directory.config()))
    eng = make_task(api, site=site, definition=make_definition(api),
                    group={"kind": "ad_group", "value": slapd.GROUPS["eng"]})
    missing = make_task(api, site=site, definition=make_definition(api),
                        group={"kind": "ad_group", "value": slapd.GROUPS["missing"]})
    worker = start_worker(server, sim, site)
    try:
        done = run_and_wait(api, eng)
        assert done["result"] == "ok", done
        assert execution_mailboxes(database, done) == slapd.EXPECTED["eng"]
        assert done["membership_from_cache"] is False
        assert done["skipped_members"] == {"total": 0, "listed": []}

        # A member added in the directory: the cached membership holds until a refresh.
        ines = f"cn=Ines Costa,ou=Other,{slapd.SUFFIX}"
        directory.modify(f"dn: {slapd.GROUPS['eng']}\nchangetype: modify\nadd: member\n"
                         f"member: {ines}\n")
        again = run_and_wait(api, eng)
        assert execution_mailboxes(database, again) == slapd.EXPECTED["eng"]
        assert again["membership_from_cache"] is True
        assert again["membership_resolved_at"] == done["membership_resolved_at"]
        ok(api.post(f"/api/v1/exchange-tasks/{eng['id']}/membership/refresh"), 202)
        wait_for(lambda: "refresh requested" in worker.output(), "refresh at the worker")
        fresh = run_and_wait(api, eng)
        assert execution_mailboxes(database, fresh) == sorted(
            slapd.EXPECTED["eng"] + ["ines.costa@contoso.example"])

        # Whoever the directory left out is listed on the execution, with why.
        sales = make_task(api, site=site, definition=make_definition(api),
                          group={"kind": "ad_group", "value": slapd.GROUPS["sales"]})
        done = run_and_wait(api, sales)
        left_out = resolve(directory, "sales")["excluded"]
        listed = [f"{x['dn']} ({x['reason'].replace('_', ' ')})"
                  for x in done["skipped_members"]["listed"]]
        assert left_out and sorted(listed) == sorted(left_out), done["skipped_members"]
        assert done["skipped_members"]["total"] == len(left_out)

        failed = run_and_wait(api, missing)
        assert failed["result"] == "failed"
        assert failed["error"] == {"code": "group_not_found", "text": (
            f"group {slapd.GROUPS['missing']} does not exist in the directory")}

        # The look-up finds what the worker reported.
        path = f"/api/v1/sites/{site['id']}/directory/groups"
        found = wait_for(lambda: ok(api.get(path, params={"q": "sales"}))["items"], "catalogue")
        assert sorted((g["dn"], g["kind"]) for g in found) == [
            (slapd.GROUPS["sales"], "distribution_group"), (f"{slapd.SALES},{slapd.SUFFIX}", "ou")]

        # The site's test, run by its worker: fine, then with a wrong password.
        def test_outcome():
            t = ok(api.post(f"/api/v1/sites/{site['id']}/directory/test"), 202)
            tpath = f"/api/v1/sites/{site['id']}/directory/tests/{t['id']}"
            return wait_for(lambda: (lambda x: x if x["state"] != "pending" else None)(
                ok(api.get(tpath))), "test outcome")
        assert test_outcome()["state"] == "succeeded"
        ok(api.put(f"/api/v1/sites/{site['id']}/directory",
                   json=directory.config(password="wrong-password")))
        bad = test_outcome()
        assert (bad["state"], bad["reason_code"], bad["detail"]) == (
            "failed", "directory_bind_failed", "bind failed: Invalid credentials")
        # The changed configuration also dropped the cache: the task now fails clearly.
        failed = run_and_wait(api, eng)
        assert failed["error"] == {"code": "directory_bind_failed", "text": (
            f"group {slapd.GROUPS['eng']}: bind failed: Invalid credentials")}
    finally:
        rc = worker.stop(signal.SIGTERM, timeout=60)
    worker.assert_clean_exit(rc)
    assert slapd.ROOT_PW not in worker.output() and "wrong-password" not in worker.output()
