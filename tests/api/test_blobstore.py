# SPDX-License-Identifier: Apache-2.0
"""The blob store's one suite (tests/unit/test_server_blobstore.c) run against both backends:
`fs` in a fresh directory, and `s3` against a real S3-protocol server started here."""
import os
import subprocess

import pytest

import harness

SUITE = os.path.join(harness.BUILD_DIR, "tests", "test_server_blobstore")


@pytest.fixture(scope="module")
def s3():
    srv = harness.S3Server()
    yield srv
    srv.close()


def run_suite(env, passes=True):
    """Runs the suite; returns its output after checking that it passed (or failed)."""
    full = dict(os.environ, **harness.sanitizer_env(), **env)
    r = subprocess.run([SUITE], env=full, capture_output=True, text=True, timeout=600)
    assert (r.returncode == 0) == passes, r.stdout + r.stderr
    return r.stdout + r.stderr


def test_suite_on_fs():
    out = run_suite({"MSE_TEST_BLOB_BACKEND": "fs"})
    assert "SKIPPED" not in out


def test_suite_on_s3(s3):
    env = s3.env()
    env["MSE_TEST_BLOB_BACKEND"] = env.pop("MSE_BLOB_BACKEND")
    out = run_suite(env)
    # Only the on-disk corruption test is fs-specific.
    assert "1 test(s), listed below" in out and "test_corruption_detected" in out


def test_s3_unknown_credentials_refused_and_never_shown(s3):
    """Requests carry the configured credentials: an access key the object store does not know
    is refused (403), and the secret appears in no message. (s3rver checks the access key id of
    a SigV4 request but does not recompute its signature.)"""
    env = s3.env()
    env["MSE_TEST_BLOB_BACKEND"] = env.pop("MSE_BLOB_BACKEND")
    env["MSE_S3_ACCESS_KEY_ID"] = "NOSUCHKEY"
    env["MSE_S3_SECRET_ACCESS_KEY"] = "a-secret-that-must-not-leak"
    out = run_suite(env, passes=False)
    assert "answered 403" in out
    assert "a-secret-that-must-not-leak" not in out
