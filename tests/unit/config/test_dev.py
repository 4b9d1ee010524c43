"""
Tests for L{h2site.config.dev}: what C{--dev} accepts with it (loopback
listeners only, one process, no HSTS), parsed in-process as an operator
gives the options.
"""

from __future__ import annotations

import os
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from h2site.config import Config
from h2site.config.dev import loopbackOnly
from h2site.errors import StartupError
from h2site.tap import Options
from tests.helpers import makeSite, sharedCertificates


class LoopbackOnlyTests(SynchronousTestCase):
    """
    L{loopbackOnly} tells local endpoints from those other machines reach.
    """

    def test_local(self) -> None:
        """
        Loopback interfaces, C{localhost} and Unix sockets are local.
        """
        for endpoint in [
            "tcp:port=8443:interface=127.0.0.1",
            "tcp:8443:127.0.0.2",
            "tcp6:port=8443:interface=\\:\\:1",
            "ssl:port=8443:interface=localhost",
            "unix:/run/h2site.sock",
        ]:
            self.assertIsNone(loopbackOnly(endpoint), endpoint)

    def test_notLocal(self) -> None:
        """
        No interface means every one; another address, or an endpoint type
        that cannot be told, is not local.
        """
        self.assertEqual(loopbackOnly("tcp:8443"), "listens on every interface")
        self.assertEqual(loopbackOnly("tcp6:port=8443"), "listens on every interface")
        self.assertEqual(
            loopbackOnly("tcp:port=8443:interface=192.0.2.7"),
            "listens on 192.0.2.7",
        )
        self.assertIn("systemd:", loopbackOnly("systemd:domain=INET:index=0") or "")


class DevOptionsTests(SynchronousTestCase):
    """
    C{--dev} on the command line.
    """

    def setUp(self) -> None:
        self.tmp = Path(self.mktemp()).absolute()
        self.site = makeSite(self.tmp / "site", {"index.html": "<p>hi"}, {})
        self.patch(
            os, "environ", {**os.environ, "XDG_STATE_HOME": str(self.tmp / "st")}
        )
        self.certs = sharedCertificates()

    def parse(self, *args: str) -> Config:
        options = Options()
        options.parseOptions(["--site", str(self.site), *args])
        return options.config

    def error(self, *args: str) -> str:
        with self.assertRaises(StartupError) as caught:
            self.parse(*args)
        message = str(caught.exception.code)
        self.assertNotIn("\n", message)
        return message

    def test_offByDefault(self) -> None:
        """
        Without C{--dev}, development mode is off.
        """
        self.assertFalse(self.parse().dev)
        self.assertFalse(self.parse("--dev", "--no-dev").dev)

    def test_defaultPort(self) -> None:
        """
        C{--dev} alone listens where h2site does by default (127.0.0.1:8443,
        the development certificate), without HSTS.
        """
        config = self.parse("--dev")
        self.assertTrue(config.dev)
        self.assertEqual(config.hstsMaxAge, 0)
        self.assertTrue(config.listen)
        for spec in config.listen:
            self.assertIsNone(loopbackOnly(spec.plain))

    def test_ownCertificateNoHSTS(self) -> None:
        """
        Even with a certificate of the operator's own, which would send HSTS
        for two years, C{--dev} sends none.
        """
        config = self.parse("--dev", "--port", self.certs.endpoint())
        self.assertEqual(config.hstsMaxAge, 0)

    def test_hstsRefused(self) -> None:
        """
        Asking for HSTS with C{--dev} is refused in one line.
        """
        message = self.error(
            "--dev", "--port", self.certs.endpoint(), "--hsts-max-age", "60"
        )
        self.assertIn("--dev never sends HSTS", message)
        self.assertEqual(self.parse("--dev", "--hsts-max-age", "0").hstsMaxAge, 0)

    def test_everyInterfaceRefused(self) -> None:
        """
        A C{--port} on every interface is refused, saying how to listen
        locally.
        """
        message = self.error(
            "--dev", "--port", self.certs.endpoint(interface="0.0.0.0")
        )
        self.assertIn("--dev serves this machine only", message)
        self.assertIn("listens on every interface", message)
        self.assertIn("interface=127.0.0.1", message)

    def test_redirectRefused(self) -> None:
        """
        A C{--redirect} listener on every interface is refused too.
        """
        message = self.error(
            "--dev", "--port", self.certs.endpoint(), "--redirect", "tcp:8080"
        )
        self.assertIn("--redirect 'tcp:8080' listens on every interface", message)

    def test_workersRefused(self) -> None:
        """
        C{--dev} is one process: C{--workers} other than 1 is refused.
        """
        message = self.error("--dev", "--workers", "2")
        self.assertIn("--dev runs in one process", message)
        self.assertTrue(self.parse("--dev", "--workers", "1").dev)
