"""
Tests for C{contrib/}: the systemd units are valid and well sandboxed as
shipped, and the certbot hook and logrotate file are usable.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import REPO, requireTool

SYSTEMD = REPO / "contrib" / "systemd"
UNITS = ["h2site.service", "h2site-https.socket", "h2site-http.socket"]


class SystemdUnitTests(SynchronousTestCase):
    """
    C{contrib/systemd/}.
    """

    def setUp(self) -> None:
        self.analyze = requireTool("systemd-analyze")
        # verify checks that ExecStart exists: point it at this twistd.
        twistd = Path(sys.executable).parent / "twistd"
        self.units = Path(self.mktemp()).absolute()
        self.units.mkdir()
        for name in UNITS:
            text = (SYSTEMD / name).read_text()
            (self.units / name).write_text(
                text.replace("/opt/h2site/bin/twistd", str(twistd))
            )

    def test_verify(self) -> None:
        """
        C{systemd-analyze verify} accepts the service and both sockets.
        """
        result = subprocess.run(
            [self.analyze, "verify", *UNITS],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=self.units,
        )
        self.assertEqual((result.returncode, result.stderr), (0, ""))

    def test_security(self) -> None:
        """
        C{systemd-analyze security} rates the service "OK" or better
        (exposure below 4.0 of 10).
        """
        result = subprocess.run(
            [self.analyze, "security", "--offline=true", "h2site.service"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=self.units,
        )
        match = re.search(
            r"Overall exposure level for h2site.service: ([\d.]+) (\w+)",
            result.stdout,
        )
        assert match is not None, result.stdout + result.stderr
        self.assertLess(float(match.group(1)), 4.0)
        self.assertIn(match.group(2), {"OK", "SAFE"})

    def test_socketActivatedNotifyService(self) -> None:
        """
        The service is Type=notify, reloads with SIGHUP, takes its sockets
        from systemd by name, and keeps no capabilities.
        """
        service = (SYSTEMD / "h2site.service").read_text()
        for line in [
            "Type=notify",
            "ExecReload=/bin/kill -HUP $MAINPID",
            "CapabilityBoundingSet=",
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "DynamicUser=yes",
        ]:
            self.assertIn(line + "\n", service)
        self.assertIn("--port systemd:domain=INET6:name=https", service)
        self.assertIn("--redirect systemd:domain=INET6:name=http", service)
        self.assertIn(
            "FileDescriptorName=https\n", (SYSTEMD / "h2site-https.socket").read_text()
        )
        self.assertIn(
            "FileDescriptorName=http\n", (SYSTEMD / "h2site-http.socket").read_text()
        )

    def test_http3OnThePassedUDPSocket(self) -> None:
        """
        The HTTPS socket unit passes UDP 443 beside TCP 443, and the service
        serves HTTP/3 on it (h2site takes the UDP socket bound where its TCP
        one is: tests.integration.test_http3_lifecycle), with one process,
        since workers would each bind UDP 443 themselves.
        """
        socketUnit = (SYSTEMD / "h2site-https.socket").read_text()
        self.assertIn("ListenStream=443\nListenDatagram=443\n", socketUnit)
        service = (SYSTEMD / "h2site.service").read_text()
        self.assertIn("    --http3 \\\n", service)
        self.assertNotRegex(service, r"\n    --workers")


class OtherContribTests(SynchronousTestCase):
    """
    The certbot hook and the logrotate configuration.
    """

    def test_deployHookSyntax(self) -> None:
        """
        The certbot deploy hook is a valid, executable shell script that
        renames files into place.
        """
        hook = REPO / "contrib" / "certbot" / "deploy-hook"
        self.assertTrue(os.access(hook, os.X_OK))
        result = subprocess.run(
            ["sh", "-n", str(hook)], capture_output=True, timeout=30
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(
            'mv "$target/privkey.pem.new" "$target/privkey.pem"', hook.read_text()
        )

    def test_logrotateSignalsReopen(self) -> None:
        """
        logrotate sends SIGUSR1, which h2site answers by reopening the log.
        """
        text = (REPO / "contrib" / "logrotate" / "h2site").read_text()
        self.assertIn("--signal=SIGUSR1", text)
