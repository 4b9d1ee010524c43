"""
The h2spec conformance suite (summerwind/h2spec) against the real server.

The binary is C{$H2SPEC}, else C{h2spec} on C{PATH}, else the one built for
these machines beside the repository (C{../shared/tools/h2spec/h2spec}),
which CI uses.  Without one the test is skipped on a developer's machine and
fails under CI.  Debian does not package h2spec; it builds from its source
with Debian 12's Go packages, in GOPATH mode (no module downloads)::

    apt-get install golang-go golang-golang-x-net-dev golang-golang-x-sys-dev \\
        golang-github-spf13-cobra-dev golang-github-spf13-pflag-dev \\
        golang-github-fatih-color-dev golang-github-mattn-go-colorable-dev \\
        golang-github-mattn-go-isatty-dev
    git clone https://github.com/summerwind/h2spec \\
        /tmp/h2spec/src/github.com/summerwind/h2spec
    GO111MODULE=off GOPATH=/tmp/h2spec:/usr/share/gocode \\
        go build -o /tmp/h2spec/h2spec github.com/summerwind/h2spec/cmd/h2spec
    H2SPEC=/tmp/h2spec/h2spec python -m twisted.trial tests.integration.test_h2spec
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from tests.helpers import REPO, makeSite, sharedCertificates, startServer

#: Where the shared tools put the h2spec built for these machines.
SHARED_H2SPEC = REPO.parent / "shared" / "tools" / "h2spec" / "h2spec"


def findH2spec() -> str:
    """
    The h2spec binary to run.

    @raise SkipTest: if there is none, on a developer's machine.
    @raise AssertionError: if there is none under CI (C{CI=true}).
    """
    found = os.environ.get("H2SPEC") or shutil.which("h2spec")
    if not found and os.access(SHARED_H2SPEC, os.X_OK):
        found = str(SHARED_H2SPEC)
    if found:
        return found
    if os.environ.get("CI") == "true":
        raise AssertionError(f"no h2spec: set $H2SPEC, or provide {SHARED_H2SPEC}")
    raise SkipTest("no h2spec binary (set $H2SPEC or put h2spec on PATH)")


class H2SpecTests(SynchronousTestCase):
    """
    Every h2spec case passes, strict cases included.
    """

    def test_allCasesPass(self) -> None:
        """
        h2spec reports no failed case, generic, HTTP/2 and HPACK, with the
        strict cases.
        """
        h2spec = findH2spec()
        tmp = Path(self.mktemp()).absolute()
        tmp.mkdir()
        site = makeSite(tmp / "site", {"index.html": "<!doctype html><p>hello</p>"}, {})
        server = startServer(
            self,
            "--site",
            str(site),
            "--port",
            sharedCertificates().endpoint(),
            "--access-log",
            os.devnull,
            cwd=tmp,
        )
        done = subprocess.run(
            [h2spec, "--strict", "-t", "-k", "-h", "127.0.0.1", "-p", str(server.port)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        summary = re.search(
            r"(\d+) tests, (\d+) passed, (\d+) skipped, (\d+) failed", done.stdout
        )
        self.assertIsNotNone(summary, done.stdout + done.stderr)
        assert summary is not None
        total, passed, _, failed = (int(n) for n in summary.groups())
        self.assertEqual(failed, 0, done.stdout)
        self.assertGreaterEqual(total, 146)
        self.assertEqual(passed, total)
