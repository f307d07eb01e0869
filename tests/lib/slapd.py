# SPDX-License-Identifier: Apache-2.0
"""A private OpenLDAP slapd playing the site's Active Directory in tests: the demo
organisation's directory (scripts/demo_directory.py) in a temporary directory, on two
kernel-chosen loopback ports."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import harness

sys.path.insert(0, os.path.join(harness.SOURCE_DIR, "scripts"))

from demo_directory import *  # noqa: E402,F401,F403
from demo_directory import ROOT_DN, ROOT_PW, SUFFIX, prepare  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Slapd:
    """slapd on two loopback ports: ldap:// (StartTLS) at url, ldaps:// at ldaps_url."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="mse-slapd-")
        conf = prepare(self.dir)
        self.port, self.tls_port = free_port(), free_port()
        self.url = f"ldap://127.0.0.1:{self.port}"
        self.ldaps_url = f"ldaps://127.0.0.1:{self.tls_port}"
        self.proc = subprocess.Popen(
            ["slapd", "-f", conf, "-h", f"{self.url}/ {self.ldaps_url}/", "-d", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while not self._answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                err = self.proc.stderr.read().decode() if self.proc.poll() is not None else ""
                self.stop()
                raise RuntimeError(f"slapd did not start: {err}")
            time.sleep(0.1)

    def _answers(self):
        r = subprocess.run(["ldapsearch", "-x", "-H", self.url, "-b", SUFFIX, "-s", "base",
                            "1.1"], capture_output=True)
        return r.returncode == 0

    def config(self, **over):
        """A directory configuration (the PUT body) for this server."""
        c = {"urls": [self.url], "bind_dn": ROOT_DN, "password": ROOT_PW, "base_dn": SUFFIX,
             "tls_verify": False, "page_size": 200}
        c.update(over)
        return c

    def modify(self, ldif):
        """Applies an LDIF change (changetype records) as the directory's administrator."""
        subprocess.run(["ldapmodify", "-x", "-H", self.url, "-D", ROOT_DN, "-w", ROOT_PW],
                       input=ldif.encode(), check=True, capture_output=True)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
