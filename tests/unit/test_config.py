"""
Tests for the static-delivery options of C{twistd h2site} (security headers,
redirects, memory limits), parsed in-process.
"""

from __future__ import annotations

import os
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from h2site.config import parseSize
from h2site.errors import ConfigError, StartupError
from h2site.files.store import Limits
from h2site.tap import Options
from h2site.web.headers import DEFAULT_HSTS_MAX_AGE
from tests.helpers import makeSite, sharedCertificates


class StaticOptionsTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.tmp = Path(self.mktemp()).absolute()
        self.site = makeSite(self.tmp / "site", {"index.html": "<p>hi"}, {})
        self.patch(
            os, "environ", {**os.environ, "XDG_STATE_HOME": str(self.tmp / "st")}
        )
        self.tls = sharedCertificates().endpoint()

    def parse(self, *args: str) -> Options:
        options = Options()
        options.parseOptions(["--site", str(self.site), *args])
        return options

    def error(self, *args: str) -> str:
        with self.assertRaises(StartupError) as caught:
            self.parse(*args)
        message = str(caught.exception.code)
        self.assertNotIn("\n", message)
        return message

    def test_defaults(self) -> None:
        """
        With a certificate of the operator's own: HSTS for two years, no
        CSP, no extra headers, no redirect, the default memory limits.
        """
        config = self.parse("--port", self.tls).config
        self.assertEqual(config.hstsMaxAge, DEFAULT_HSTS_MAX_AGE)
        self.assertIsNone(config.csp)
        self.assertEqual(config.extraHeaders, ())
        self.assertEqual(config.redirect, ())
        self.assertEqual(config.staticLimits, Limits())

    def test_devCertificateNoHSTS(self) -> None:
        """
        With the development certificate HSTS is off unless asked for, so
        a developer's browser is not pinned to HTTPS on localhost.
        """
        self.assertEqual(self.parse().config.hstsMaxAge, 0)
        self.assertEqual(self.parse("--hsts-max-age", "60").config.hstsMaxAge, 60)

    def test_values(self) -> None:
        """
        Every option reaches the configuration.
        """
        config = self.parse(
            "--port",
            self.tls,
            "--hsts-max-age",
            "0",
            "--csp",
            " default-src 'self' ",
            "--header",
            "X-A: 1",
            "--header",
            "X-B: 2",
            "--redirect",
            "tcp:8080",
            "--redirect-port",
            "443",
            "--static-memory-file",
            "1M",
            "--static-memory",
            "2G",
        ).config
        self.assertEqual(config.hstsMaxAge, 0)
        self.assertEqual(config.csp, "default-src 'self'")
        self.assertEqual(config.extraHeaders, (("X-A", "1"), ("X-B", "2")))
        self.assertEqual([s.description for s in config.redirect], ["tcp:8080"])
        self.assertEqual(config.redirectPort, 443)
        self.assertEqual(config.staticLimits, Limits(1024**2, 2 * 1024**3))

    def test_errors(self) -> None:
        """
        Each bad value is one line naming the option.
        """
        cases = [
            (["--port", self.tls, "--hsts-max-age", "-1"], "--hsts-max-age"),
            (["--port", self.tls, "--csp", " "], "--csp"),
            (["--port", self.tls, "--csp", "a\nb"], "--csp"),
            (["--port", self.tls, "--header", "Vary: *"], "--header"),
            (["--port", self.tls, "--redirect", self.tls], "plain HTTP"),
            (["--port", "tcp:0", "--redirect", "tcp:0"], "--redirect-port"),
            (["--port", self.tls, "--redirect-port", "0"], "--redirect-port"),
            (["--port", self.tls, "--static-memory", "64 TB"], "--static-memory"),
        ]
        for args, expected in cases:
            self.assertIn(expected, self.error(*args), args)

    def test_redirectWithoutTLSNeedsPort(self) -> None:
        """
        A plain-HTTP site may still redirect if told the HTTPS port (TLS
        ended by a proxy in front).
        """
        config = self.parse(
            "--port", "tcp:0", "--redirect", "tcp:0", "--redirect-port", "8443"
        ).config
        self.assertEqual(config.redirectPort, 8443)


class ParseSizeTests(SynchronousTestCase):
    def test_units(self) -> None:
        """
        Bytes, or K, M, G in powers of 1024, in either case, with an
        optional B or iB.
        """
        self.assertEqual(parseSize("100", "x"), 100)
        self.assertEqual(parseSize("256K", "x"), 256 * 1024)
        self.assertEqual(parseSize("64m", "x"), 64 * 1024**2)
        self.assertEqual(parseSize("1GiB", "x"), 1024**3)
        self.assertEqual(parseSize("2 MB", "x"), 2 * 1024**2)

    def test_invalid(self) -> None:
        """
        Anything else names the option.
        """
        for value in ["", "K", "1.5M", "-1", "1T", "lots"]:
            e = self.assertRaises(ConfigError, parseSize, value, "--opt")
            self.assertIn("--opt", str(e))
