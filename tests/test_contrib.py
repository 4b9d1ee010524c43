"""
Tests for C{contrib/}: the systemd unit is valid as shipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from .helpers import REPO

UNIT = REPO / "contrib" / "systemd" / "h2site.service"


def requireTool(name: str) -> str:
    """
    The path of a command-line tool; a missing tool skips the test on a
    developer's machine but fails under CI, which must install it.
    """
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            raise AssertionError(f"{name} is not installed; .ci/run must install it")
        raise SkipTest(f"{name} is not installed")
    return path


class SystemdUnitTests(SynchronousTestCase):
    """
    C{contrib/systemd/h2site.service}.
    """

    def test_verify(self) -> None:
        """
        C{systemd-analyze verify} accepts the unit (with C{ExecStart} pointed
        at this environment's twistd, since verify checks it exists).
        """
        analyze = requireTool("systemd-analyze")
        twistd = Path(sys.executable).parent / "twistd"
        unit = Path(self.mktemp()).absolute() / "h2site.service"
        unit.parent.mkdir()
        unit.write_text(UNIT.read_text().replace("/opt/h2site/bin/twistd", str(twistd)))
        result = subprocess.run(
            [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60
        )
        self.assertEqual((result.returncode, result.stderr), (0, ""))

    def test_runsTwistdInForeground(self) -> None:
        """
        The unit runs h2site in the foreground without a PID file, and keeps
        its capabilities to binding low ports.
        """
        text = UNIT.read_text()
        self.assertIn("twistd --nodaemon --pidfile= --logfile=- h2site", text)
        self.assertIn("CapabilityBoundingSet=CAP_NET_BIND_SERVICE\n", text)
        self.assertIn("NoNewPrivileges=yes\n", text)
        self.assertIn("ProtectSystem=strict\n", text)
