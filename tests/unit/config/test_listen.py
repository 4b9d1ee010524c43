"""
Tests for where h2site listens (L{h2site.config.build} and
L{h2site.server.listenSpecs}): the port shorthand, which listeners serve the
development certificate, HSTS with it, and the warnings the options earn.
"""

from __future__ import annotations

import os
from pathlib import Path

from twisted.application.service import MultiService
from twisted.logger import LogLevel, capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from h2site.config import Config, DevCertificate
from h2site.errors import StartupError
from h2site.ops.listening import ListeningService
from h2site.ops.redirecting import RedirectService
from h2site.server import listenSpecs
from h2site.tap import Options, makeService
from h2site.web.headers import DEFAULT_HSTS_MAX_AGE
from h2site.web.redirect import RedirectResource
from tests.helpers import makeSite, noWorkerProcesses, sharedCertificates

#: What a port number listens on, with the development certificate.
LOCAL_9000 = "tcp:port=9000:backlog=50:interface=127.0.0.1"


class ListenTestCase(SynchronousTestCase):
    """
    Parse C{twistd h2site} options in-process, with a site and a state
    folder of the test's own.
    """

    def setUp(self) -> None:
        self.tmp = Path(self.mktemp()).absolute()
        self.site = makeSite(self.tmp / "site", {"index.html": "<p>hi"}, {})
        self.state = self.tmp / "st" / "h2site"
        self.patch(
            os, "environ", {**os.environ, "XDG_STATE_HOME": str(self.tmp / "st")}
        )
        noWorkerProcesses(self)
        self.certs = sharedCertificates()
        self.tlsOptions = (
            *("--tls-cert", str(self.certs.cert)),
            *("--tls-key", str(self.certs.key)),
        )

    def parse(self, *args: str) -> Config:
        options = Options()
        options.parseOptions(["--site", str(self.site), *args])
        return options.config

    def error(self, *args: str) -> str:
        """
        The one-line error C{args} give, without its fixed parts.
        """
        with self.assertRaises(StartupError) as caught:
            self.parse(*args)
        message = str(caught.exception.code)
        self.assertNotIn("\n", message)
        prefix, suffix = "h2site: error: ", " (see 'twistd h2site --help')"
        self.assertTrue(message.startswith(prefix) and message.endswith(suffix))
        return message[len(prefix) : -len(suffix)]


class PortShorthandTests(ListenTestCase):
    """
    C{--port 9000} and C{--port ssl:port=9000} mean HTTPS on this machine
    with the development certificate, or with C{--tls-cert}'s.
    """

    def test_portNumber(self) -> None:
        """
        A port number alone serves the development certificate on
        127.0.0.1, with no HSTS and nothing to warn about; reading the
        options writes nothing.
        """
        config = self.parse("--port", "9000")
        [spec] = config.listen
        self.assertEqual(
            (spec.description, spec.plain, spec.tls, spec.devCertificate),
            ("9000", LOCAL_9000, None, True),
        )
        self.assertEqual(config.devListeners, (spec,))
        self.assertEqual(config.devCertificate, DevCertificate(str(self.state)))
        self.assertEqual((config.hstsMaxAge, config.warnings), (0, ()))
        self.assertFalse(self.state.exists())

    def test_sslWithoutKey(self) -> None:
        """
        C{ssl:} without a key is the same, with the interface given kept.
        """
        config = self.parse(
            "--port", "ssl:port=9000", "--port", "ssl:port=9001:interface=0.0.0.0"
        )
        self.assertEqual(
            [(s.plain, s.devCertificate) for s in config.listen],
            [(LOCAL_9000, True), ("tcp:port=9001:backlog=50:interface=0.0.0.0", True)],
        )
        self.assertEqual(config.hstsMaxAge, 0)

    def test_mixed(self) -> None:
        """
        Port numbers, C{ssl:} with a key and C{tcp:} together: each as
        alone, in the order given; only the C{tcp:} one earns a warning.
        """
        config = self.parse(
            "--port",
            "tcp:8080",
            "--port",
            "9000",
            "--port",
            self.certs.endpoint(),
            "--port",
            "ssl:port=9001",
        )
        self.assertEqual(
            [(s.description, s.devCertificate, s.tls is None) for s in config.listen],
            [
                ("tcp:8080", False, True),
                ("9000", True, True),
                (self.certs.endpoint(), False, False),
                ("ssl:port=9001", True, True),
            ],
        )
        self.assertEqual(
            [s.description for s in config.devListeners], ["9000", "ssl:port=9001"]
        )
        cleartext, hsts = config.warnings
        self.assertTrue(cleartext.startswith("--port 'tcp:8080' serves cleartext"))
        self.assertEqual(
            hsts,
            "no Strict-Transport-Security is sent on any port: --port '9000' and "
            "--port 'ssl:port=9001' serve the development certificate, and "
            "Strict-Transport-Security would make the browser use only HTTPS for "
            "localhost, on every port; serve them with --tls-cert and --tls-key "
            "to send it",
        )
        self.assertEqual(config.hstsMaxAge, 0)

    def test_withTLSFiles(self) -> None:
        """
        With C{--tls-cert}, a port number, C{ssl:} without a key and
        C{tcp:} all serve that certificate: no development certificate,
        HSTS as usual, no warning.
        """
        config = self.parse(
            "--port",
            "9000",
            "--port",
            "ssl:port=9001",
            "--port",
            "tcp:9002",
            *self.tlsOptions,
        )
        self.assertEqual(
            [(s.plain, s.devCertificate) for s in config.listen],
            [
                (LOCAL_9000, False),
                ("tcp:port=9001:backlog=50:interface=127.0.0.1", False),
                ("tcp:9002", False),
            ],
        )
        for spec in config.listen:
            assert spec.tlsFiles is not None
            self.assertEqual(spec.tlsFiles.cert, str(self.certs.cert))
        self.assertIsNone(config.devCertificate)
        self.assertEqual(config.devListeners, ())
        self.assertEqual(
            (config.hstsMaxAge, config.warnings), (DEFAULT_HSTS_MAX_AGE, ())
        )

    def test_redirectIsPlain(self) -> None:
        """
        A port number for C{--redirect}, which speaks plain HTTP, is
        refused with the form to use.
        """
        self.assertEqual(
            self.error("--port", "9000", "--redirect", "80"),
            "--redirect '80': the redirect listener speaks plain HTTP; give e.g. "
            "tcp:80",
        )

    def test_redirectToPortNumber(self) -> None:
        """
        C{--redirect} sends clients to the first HTTPS listener's port, a
        port number's too.
        """
        service = makeService(
            _options(self.site, "-p", "tcp:0", "-p", "9000", "--redirect", "tcp:0")
        )
        assert isinstance(service, MultiService)
        [redirect] = [s for s in service if isinstance(s, RedirectService)]
        resource = redirect._site.resource
        assert isinstance(resource, RedirectResource)
        self.assertEqual(resource._httpsPort(), 9000)


def _options(site: Path, *args: str) -> Options:
    options = Options()
    options.parseOptions(["--site", str(site), *args])
    return options


class HSTSTests(ListenTestCase):
    """
    No HSTS is ever sent when a listener serves the development
    certificate: a browser notes it for the host name, so it would hold
    C{localhost} to HTTPS on every port.
    """

    def test_ignored(self) -> None:
        """
        C{--hsts-max-age} with a development-certificate listener is
        ignored, in one warning line that says why; 0 needs no warning.
        """
        config = self.parse("--port", "9000", "--hsts-max-age", "600")
        self.assertEqual(config.hstsMaxAge, 0)
        self.assertEqual(
            config.warnings,
            (
                "--hsts-max-age is ignored: --port '9000' serves the development "
                "certificate, and Strict-Transport-Security would make the browser "
                "use only HTTPS for localhost, on every port; serve them with "
                "--tls-cert and --tls-key to send it",
            ),
        )
        config = self.parse("--port", "9000", "--hsts-max-age", "0")
        self.assertEqual((config.hstsMaxAge, config.warnings), (0, ()))

    def test_defaultPort(self) -> None:
        """
        With no C{--port} the warning names the default port.
        """
        [warning] = self.parse("--hsts-max-age", "600").warnings
        self.assertIn("the default port (8443, with no --port) serves the", warning)

    def test_ownCertificate(self) -> None:
        """
        With certificates of the operator's own only, C{--hsts-max-age} is
        sent as given.
        """
        config = self.parse("--port", "9000", *self.tlsOptions, "--hsts-max-age", "60")
        self.assertEqual((config.hstsMaxAge, config.warnings), (60, ()))


class CleartextWarningTests(ListenTestCase):
    """
    A listener without TLS serves cleartext HTTP/1.1 only, which one
    warning line says, with how to get TLS.
    """

    def test_tcp(self) -> None:
        """
        C{tcp:8080} is named, with C{--port 8080} as the way to HTTPS.
        """
        self.assertEqual(
            self.parse("--port", "tcp:8080").warnings,
            (
                "--port 'tcp:8080' serves cleartext HTTP/1.1 only (no TLS, so no "
                "HTTP/2 for browsers): right behind a proxy that ends TLS; else, "
                "for HTTPS, give --port 8080 (the development certificate, on this "
                "machine) or add --tls-cert and --tls-key",
            ),
        )

    def test_several(self) -> None:
        """
        Several are named in the one line; a Unix socket, which only a
        proxy on this machine reaches, is not.
        """
        [warning] = self.parse(
            "--port",
            "tcp:port=8080:interface=127.0.0.1",
            "--port",
            "unix:" + str(self.tmp / "sock"),
            "--port",
            "haproxy:tcp6:8081",
        ).warnings
        self.assertTrue(
            warning.startswith(
                "--port 'tcp:port=8080:interface=127.0.0.1' and --port "
                "'haproxy:tcp6:8081' serve cleartext HTTP/1.1 only"
            ),
            warning,
        )
        self.assertIn("give --port 8080", warning)
        self.assertEqual(
            self.parse("--port", "unix:" + str(self.tmp / "s")).warnings, ()
        )

    def test_loggedOnce(self) -> None:
        """
        C{makeService} logs each warning once, as a warning: workers, which
        build the configuration again, do not.
        """
        options = _options(self.site, "--port", "tcp:0", "--hsts-max-age", "5")
        with capturedLogs() as events:
            makeService(options)
        warnings = [
            formatEvent(e)
            for e in events
            if e["log_level"] == LogLevel.warn and "cleartext" in formatEvent(e)
        ]
        self.assertEqual(len(warnings), 1)
        self.assertTrue(warnings[0].startswith("--port 'tcp:0' serves cleartext"))


class DevListenersStartupTests(ListenTestCase):
    """
    At start-up, L{listenSpecs} gives every listener that asked for it the
    development certificate, creating it once.
    """

    def test_eachGetsIt(self) -> None:
        """
        Each port number or C{ssl:} without a key gets the development key
        and certificate, in the order given; the others are left as they
        are; a worker (C{create=False}) gets the same files.
        """
        config = self.parse(
            "--port", "0", "--port", "tcp:0", "--port", r"ssl:port=0:interface=\:\:1"
        )
        specs = listenSpecs(config)
        self.assertEqual(
            [s.description for s in specs], ["0", "tcp:0", config.listen[2].description]
        )
        dev, plain, dev6 = specs
        self.assertIs(plain, config.listen[1])
        for spec in (dev, dev6):
            assert spec.tls is not None and spec.tlsFiles is not None
            self.assertEqual(spec.tlsFiles.cert, str(self.state / "dev-cert.pem"))
            self.assertTrue(spec.devCertificate)
        self.assertEqual(
            [s.tlsFiles for s in listenSpecs(config, create=False)],
            [s.tlsFiles for s in specs],
        )

    def test_listening(self) -> None:
        """
        C{makeService} listens with each.
        """
        service = makeService(_options(self.site, "--port", "0", "--port", "0"))
        assert isinstance(service, MultiService)
        [listening] = [s for s in service if isinstance(s, ListeningService)]
        self.assertEqual(
            [(s.plain, s.tls is not None) for s, _ in listening._listen],
            [("tcp:port=0:backlog=50:interface=127.0.0.1", True)] * 2,
        )
