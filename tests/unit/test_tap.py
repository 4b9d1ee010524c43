"""
Tests for L{h2site.tap}: options, every start-up error message, and the
wiring done by C{makeService} (L{h2site.server}).
"""

from __future__ import annotations

import io
import os
import re
import sys
from pathlib import Path

from twisted.application.service import MultiService
from twisted.trial.unittest import SynchronousTestCase

from h2site import __version__
from h2site.config import OPTIONS, DevCertificate, Flag
from h2site.errors import StartupError
from h2site.ops.control import ControlService
from h2site.ops.listening import ListeningService
from h2site.ops.redirecting import RedirectService
from h2site.preload.graph import PreloadLimits
from h2site.preload.policy import PreloadSettings
from h2site.server import listenSpecs
from h2site.tap import Options, makeService
from h2site.tls.endpoints import escape
from h2site.web.redirect import RedirectResource
from h2site.web.root import SiteRoot
from h2site.web.site import H2Site
from tests.helpers import (
    makeSite,
    noWorkerProcesses,
    readsEverything,
    sharedCertificates,
)


class OptionsTests(SynchronousTestCase):
    """
    C{twistd h2site} options, parsed in-process.
    """

    def setUp(self) -> None:
        self.tmp = Path(self.mktemp()).absolute()
        self.site = makeSite(
            self.tmp / "site", {"index.html": "<h1>hi</h1>"}, {"a.css": b"a{}"}
        )
        self.certs = sharedCertificates()
        self.patch(
            os, "environ", {**os.environ, "XDG_STATE_HOME": str(self.tmp / "st")}
        )

    def parse(self, *args: str) -> Options:
        options = Options()
        options.parseOptions(list(args))
        return options

    def error(self, *args: str) -> str:
        """
        Parse C{args} expecting a one-line start-up error; return it.
        """
        with self.assertRaises(StartupError) as caught:
            self.parse(*args)
        message = str(caught.exception.code)
        self.assertNotIn("\n", message)
        self.assertTrue(message.startswith("h2site: error: "), message)
        return message

    def test_repeatablePort(self) -> None:
        """
        C{--port} and C{-p} may be given several times; each is kept in order.
        """
        options = self.parse(
            "--site", str(self.site), "-p", "tcp:0", "--port", self.certs.endpoint()
        )
        self.assertEqual(options["port"], ["tcp:0", self.certs.endpoint()])
        self.assertEqual(
            [spec.tls is not None for spec in options.config.listen], [False, True]
        )

    def test_siteDefaultsToCurrentFolder(self) -> None:
        """
        Without C{--site}, h2site serves C{./site}, as an absolute path.
        """
        self.addCleanup(os.chdir, os.getcwd())
        os.chdir(self.tmp)
        options = self.parse("-p", "tcp:0")
        self.assertEqual(options.config.siteDir, str(self.site))

    def test_defaultPortUsesDevelopmentCertificate(self) -> None:
        """
        Without C{--port}, the configuration says to listen on
        127.0.0.1:8443 with the development certificate kept in
        C{$XDG_STATE_HOME/h2site}, and parsing writes nothing: creating it
        is left to start-up.
        """
        options = self.parse("--site", str(self.site))
        self.assertEqual(
            options.config.devCertificate,
            DevCertificate(str(self.tmp / "st" / "h2site")),
        )
        [spec] = options.config.listen
        self.assertEqual(
            (spec.description, spec.plain, spec.tls, spec.devCertificate),
            (
                "ssl:port=8443:interface=127.0.0.1",
                "tcp:port=8443:backlog=50:interface=127.0.0.1",
                None,
                True,
            ),
        )
        self.assertEqual(options.config.devListeners, (spec,))
        self.assertFalse((self.tmp / "st").exists())

    def test_version(self) -> None:
        """
        C{--version} prints h2site's version (not Twisted's) and exits 0,
        whatever else is on the command line.
        """
        out = io.StringIO()
        self.patch(sys, "stdout", out)
        with self.assertRaises(SystemExit) as caught:
            self.parse("--site", str(self.tmp / "nope"), "--version")
        self.assertEqual(caught.exception.code, 0)
        self.assertEqual(out.getvalue(), f"h2site {__version__}\n")

    def test_helpListsEveryOption(self) -> None:
        """
        C{--help} lists every option of the table once, under its name, with
        its short alias, and flags with their C{--no-} spelling; and the
        commands that run at once: C{--version}, C{--trust-local-ca},
        C{--untrust-local-ca}.
        """
        usage = str(Options())
        listed = re.findall(r"^ +(?:-(\w), )?--([\w-]+)(=?) ", usage, re.MULTILINE)
        expected = {
            ("", "help", ""),
            ("", "version", ""),
            ("", "trust-local-ca", ""),
            ("", "untrust-local-ca", ""),
        }
        for option in OPTIONS:
            if isinstance(option, Flag):
                expected |= {("", option.name, ""), ("", "no-" + option.name, "")}
            else:
                expected.add((option.short or "", option.name, "="))
        self.assertEqual(sorted(listed), sorted(expected))

    def test_missingSite(self) -> None:
        """
        A site folder that does not exist is named in the error.
        """
        missing = str(self.tmp / "nope")
        message = self.error("--site", missing)
        self.assertIn(f"site folder {missing!r} does not exist", message)

    def test_emptySite(self) -> None:
        """
        An empty site folder is reported as empty.
        """
        (self.tmp / "empty").mkdir()
        self.assertIn("is empty", self.error("--site", str(self.tmp / "empty")))

    def test_noIndexTemplate(self) -> None:
        """
        A site without C{templates/index.html} is refused, saying so.
        """
        (self.site / "templates" / "index.html").unlink()
        self.assertIn(
            "has no templates/index.html", self.error("--site", str(self.site))
        )

    def test_unknownOption(self) -> None:
        """
        An unknown option is one line pointing to C{--help}.
        """
        message = self.error("--bogus")
        self.assertIn("--bogus", message)
        self.assertIn("twistd h2site --help", message)

    def test_missingKey(self) -> None:
        """
        An C{ssl:} endpoint naming a missing key file says which file.
        """
        message = self.error(
            "--site",
            str(self.site),
            "-p",
            f"ssl:0:privateKey={self.tmp}/none.pem:certKey={self.certs.cert}",
        )
        self.assertIn(
            f"private key file '{self.tmp}/none.pem' (privateKey=) does not exist",
            message,
        )

    def test_unreadableKey(self) -> None:
        """
        A key file this user cannot read is reported as unreadable.
        """
        if readsEverything(self.tmp):
            raise self.skipTest("this process reads every file (root)") from None
        key = self.tmp / "key.pem"
        key.write_bytes(self.certs.key.read_bytes())
        key.chmod(0)
        message = self.error(
            "--site",
            str(self.site),
            "-p",
            f"ssl:0:privateKey={key}:certKey={self.certs.cert}",
        )
        self.assertIn("not readable", message)

    def test_keyIsFolder(self) -> None:
        """
        A key path that is a folder is reported as one.
        """
        message = self.error(
            "--site", str(self.site), "-p", f"ssl:0:privateKey={self.tmp}:certKey=x"
        )
        self.assertIn(
            f"private key file '{self.tmp}' (privateKey=) is a directory", message
        )

    def test_notPEM(self) -> None:
        """
        A key or certificate file that is not PEM is named.
        """
        junk = self.tmp / "junk.pem"
        junk.write_text("hello")
        message = self.error(
            "--site",
            str(self.site),
            "-p",
            f"ssl:0:privateKey={junk}:certKey={self.certs.cert}",
        )
        self.assertIn("holds no PEM private key", message)
        message = self.error(
            "--site",
            str(self.site),
            "-p",
            f"ssl:0:privateKey={self.certs.key}:certKey={junk}",
        )
        self.assertIn("holds no PEM certificate", message)

    def test_mismatchedKey(self) -> None:
        """
        A key that does not belong to the certificate is refused at start-up.
        """
        message = self.error(
            "--site",
            str(self.site),
            "-p",
            f"ssl:0:privateKey={self.certs.otherKey}:certKey={self.certs.cert}",
        )
        self.assertIn("does not match certificate", message)

    def test_badPortNumber(self) -> None:
        """
        A port that is not a number is named.
        """
        message = self.error(
            "--site",
            str(self.site),
            "-p",
            f"ssl:port=http:privateKey={self.certs.key}:certKey={self.certs.cert}",
        )
        self.assertIn("port 'http' is not a number", message)

    def test_emptyEndpoint(self) -> None:
        """
        An empty C{--port} is refused with an example of a good one.
        """
        self.assertIn(
            "has no endpoint type", self.error("--site", str(self.site), "-p", "")
        )

    def test_unsupportedSSLArgument(self) -> None:
        """
        C{sslmethod=} would weaken h2site's TLS policy, so it is refused.
        """
        message = self.error(
            "--site",
            str(self.site),
            "-p",
            f"ssl:0:privateKey={self.certs.key}:sslmethod=TLSv1_METHOD",
        )
        self.assertIn("sslmethod= is not supported", message)

    def test_haproxyWithTLSOptions(self) -> None:
        """
        C{--tls-cert}/C{--tls-key} put TLS on a C{haproxy:tcp:} listener,
        inside its PROXY layer; C{--redirect haproxy:tcp:} stays plain.
        """
        options = self.parse(
            "--site",
            str(self.site),
            "-p",
            "haproxy:tcp:0",
            "--tls-cert",
            str(self.certs.cert),
            "--tls-key",
            str(self.certs.key),
            "--redirect",
            "haproxy:tcp:0",
        )
        [spec] = options.config.listen
        self.assertEqual((spec.plain, spec.proxy), ("tcp:0", True))
        self.assertIsNotNone(spec.tls)
        [redirect] = options.config.redirect
        self.assertEqual(
            (redirect.plain, redirect.proxy, redirect.tls), ("tcp:0", True, None)
        )

    def test_haproxySSL(self) -> None:
        """
        C{haproxy:ssl:} gets h2site's TLS (so HTTP/2), with a PROXY layer.
        """
        options = self.parse(
            "--site", str(self.site), "-p", "haproxy:" + self.certs.endpoint()
        )
        [spec] = options.config.listen
        self.assertEqual(
            (spec.plain, spec.proxy, spec.tls is not None),
            ("tcp:port=0:backlog=50:interface=127.0.0.1", True, True),
        )

    def test_haproxyMistakes(self) -> None:
        """
        A TLS C{--redirect}, or C{haproxy:} with nothing inside, is one
        line.
        """
        message = self.error(
            "--site",
            str(self.site),
            "-p",
            self.certs.endpoint(),
            "--redirect",
            "haproxy:" + self.certs.endpoint(),
        )
        self.assertIn("speaks plain HTTP; give e.g. haproxy:tcp:80", message)
        message = self.error("--site", str(self.site), "-p", "haproxy:")
        self.assertIn("use e.g. haproxy:tcp:443", message)

    def test_accessLogFolderMissing(self) -> None:
        """
        An access log in a folder that does not exist is refused.
        """
        message = self.error(
            "--site",
            str(self.site),
            "-p",
            "tcp:0",
            "--access-log",
            "/nonexistent/a.log",
        )
        self.assertIn("folder '/nonexistent' does not exist", message)

    def test_preloadDefaults(self) -> None:
        """
        By default pages announce their assets, with 103 over HTTP/2, within
        the default limits.
        """
        options = self.parse("--site", str(self.site), "-p", "tcp:0")
        self.assertEqual(options.config.preload, PreloadSettings())

    def test_preloadOptions(self) -> None:
        """
        C{--no-preload}, C{--early-hints} and the limits reach the config;
        C{--preload} after C{--no-preload} turns it back on.
        """
        options = self.parse(
            "--site",
            str(self.site),
            "-p",
            "tcp:0",
            "--no-preload",
            "--early-hints",
            "all",
            "--preload-depth",
            "2",
            "--preload-max-links",
            "5",
            "--preload-max-header-bytes",
            "1000",
        )
        self.assertEqual(
            options.config.preload,
            PreloadSettings(
                False,
                "all",
                PreloadLimits(maxLinks=5, maxHeaderBytes=1000, maxDepth=2),
            ),
        )
        options = self.parse(
            "--site", str(self.site), "-p", "tcp:0", "--no-preload", "--preload"
        )
        self.assertTrue(options.config.preload.enabled)

    def test_badPreloadOptions(self) -> None:
        """
        A bad preload option is one line naming it.
        """
        for option, value, expected in [
            ("--early-hints", "maybe", "--early-hints 'maybe' is not one of"),
            ("--preload-depth", "99", "--preload-depth '99' is not a whole"),
            ("--preload-max-links", "x", "--preload-max-links 'x'"),
            ("--preload-max-header-bytes", "1", "--preload-max-header-bytes '1'"),
        ]:
            message = self.error("--site", str(self.site), "-p", "tcp:0", option, value)
            self.assertIn(expected, message)

    def test_shutdownTimeout(self) -> None:
        """
        C{--shutdown-timeout} is 10 seconds unless given; it must be a number
        of seconds, 0 or more.
        """
        self.assertEqual(
            self.parse("--site", str(self.site), "-p", "tcp:0").config.shutdownTimeout,
            10.0,
        )
        options = self.parse(
            "--site", str(self.site), "-p", "tcp:0", "--shutdown-timeout", "2.5"
        )
        self.assertEqual(options.config.shutdownTimeout, 2.5)
        for bad in ["soon", "-1", "inf", "nan"]:
            message = self.error(
                "--site", str(self.site), "-p", "tcp:0", "--shutdown-timeout", bad
            )
            self.assertIn(
                f"--shutdown-timeout {bad!r} is not a number of seconds", message
            )


class MakeServiceTests(SynchronousTestCase):
    """
    C{makeService} wires the resource tree and listeners without starting.
    """

    def setUp(self) -> None:
        self.tmp = Path(self.mktemp()).absolute()
        self.certs = sharedCertificates()
        noWorkerProcesses(self)

    def options(self, templates: dict[str, str], *args: str) -> Options:
        site = makeSite(self.tmp / "site", templates, {"app.css": b"a{}"})
        options = Options()
        options.parseOptions(["--site", str(site), *args])
        return options

    def test_wiring(self) -> None:
        """
        The service listens on each endpoint with an H2Site whose root is
        the site's resource tree.
        """
        service = makeService(
            self.options(
                {"index.html": "x"}, "-p", "tcp:0", "-p", self.certs.endpoint()
            )
        )
        assert isinstance(service, MultiService)
        control, listening = service.services
        assert isinstance(listening, ListeningService)
        self.assertIsInstance(control, ControlService)
        self.assertIsInstance(listening._site, H2Site)
        self.assertIsInstance(listening._site.resource, SiteRoot)
        self.assertEqual(len(listening._listen), 2)
        self.assertEqual(listening._shutdownTimeout, 10.0)

    def test_templateTypo(self) -> None:
        """
        An undefined name in a template stops start-up with the template's
        name, instead of failing a visitor later.
        """
        options = self.options({"index.html": "{{ tilte }}"}, "-p", "tcp:0")
        with self.assertRaises(StartupError) as caught:
            makeService(options)
        self.assertEqual(
            caught.exception.code,
            "h2site: error: template 'index.html' line 1: 'tilte' is undefined",
        )

    def test_templateSyntaxError(self) -> None:
        """
        A syntax error names the template and line.
        """
        options = self.options({"index.html": "ok\n{% if %}"}, "-p", "tcp:0")
        with self.assertRaises(StartupError) as caught:
            makeService(options)
        self.assertIn("template 'index.html' line 2:", str(caught.exception.code))

    def test_unknownEndpointType(self) -> None:
        """
        An endpoint type Twisted does not know is one clear line.
        """
        options = self.options({"index.html": "x"}, "-p", "nope:80")
        with self.assertRaises(StartupError) as caught:
            makeService(options)
        self.assertEqual(
            caught.exception.code,
            "h2site: error: --port 'nope:80' is not an endpoint Twisted knows: "
            "Unknown endpoint type: 'nope'",
        )

    def test_pathWithColon(self) -> None:
        """
        Certificate paths containing C{:} work when escaped in the endpoint.
        """
        folder = self.tmp / "a:b"
        folder.mkdir(parents=True)
        (folder / "k.pem").write_bytes(self.certs.key.read_bytes())
        (folder / "c.pem").write_bytes(self.certs.cert.read_bytes())
        key, cert = escape(str(folder / "k.pem")), escape(str(folder / "c.pem"))
        options = self.options(
            {"index.html": "x"}, "-p", f"ssl:0:privateKey={key}:certKey={cert}"
        )
        self.assertIsNotNone(options.config.listen[0].tls)


class DevCertificateStartupTests(SynchronousTestCase):
    """
    With no C{--port}, the development certificate is created by
    C{makeService}, before anything listens, and never while the options
    are read; workers use the one their supervisor made.
    """

    def setUp(self) -> None:
        self.tmp = Path(self.mktemp()).absolute()
        self.site = makeSite(self.tmp / "site", {"index.html": "x"}, {})
        self.state = self.tmp / "st" / "h2site"
        noWorkerProcesses(self)
        self.patch(
            os, "environ", {**os.environ, "XDG_STATE_HOME": str(self.tmp / "st")}
        )

    def options(self, *args: str) -> Options:
        options = Options()
        options.parseOptions(["--site", str(self.site), *args])
        return options

    def listening(self, service: object) -> ListeningService:
        assert isinstance(service, MultiService)
        [listening] = [s for s in service if isinstance(s, ListeningService)]
        return listening

    def test_createdOnceAtStartup(self) -> None:
        """
        C{makeService} creates the certificate and listens with it on
        127.0.0.1:8443; a second start reuses it, unchanged.
        """
        options = self.options()
        self.assertFalse(self.state.exists())
        service = makeService(options)
        cert = self.state / "dev-cert.pem"
        [(spec, _)] = self.listening(service)._listen
        self.assertEqual(spec.plain, "tcp:port=8443:backlog=50:interface=127.0.0.1")
        assert spec.tlsFiles is not None
        self.assertEqual(spec.tlsFiles.cert, str(cert))
        self.assertIsNotNone(spec.tls)
        before = cert.stat()
        makeService(self.options())
        after = cert.stat()
        self.assertEqual(
            (after.st_ino, after.st_mtime_ns), (before.st_ino, before.st_mtime_ns)
        )

    def test_workerReuses(self) -> None:
        """
        A worker's listeners (C{create=False}) carry the certificate the
        supervisor made; without one, a worker fails in one line and writes
        nothing.
        """
        config = self.options("--workers", "2").config
        with self.assertRaises(StartupError) as caught:
            listenSpecs(config, create=False)
        self.assertIn("does not exist", str(caught.exception.code))
        self.assertNotIn("\n", str(caught.exception.code))
        self.assertFalse(self.state.exists())
        [supervisorSpec] = listenSpecs(config)
        written = (self.state / "dev-cert.pem").read_bytes()
        [workerSpec] = listenSpecs(config, create=False)
        self.assertEqual(
            (workerSpec.description, workerSpec.tlsFiles, workerSpec.tlsSignature),
            (
                supervisorSpec.description,
                supervisorSpec.tlsFiles,
                supervisorSpec.tlsSignature,
            ),
        )
        assert workerSpec.tls is not None and supervisorSpec.tls is not None
        self.assertEqual(workerSpec.tls.certificate, supervisorSpec.tls.certificate)
        self.assertEqual((self.state / "dev-cert.pem").read_bytes(), written)

    def test_unwritable(self) -> None:
        """
        A state folder that cannot be written is reported by C{makeService}
        in one line; reading the options did not need it.
        """
        blocker = self.tmp / "blocker"
        blocker.write_text("a file, not a folder")
        self.patch(os, "environ", {**os.environ, "XDG_STATE_HOME": str(blocker)})
        options = self.options()
        with self.assertRaises(StartupError) as caught:
            makeService(options)
        self.assertIn(
            "cannot write the development certificate", str(caught.exception.code)
        )

    def test_redirectToDevelopmentPort(self) -> None:
        """
        C{--redirect} alone is accepted with the development certificate,
        and sends clients to its port.
        """
        service = makeService(self.options("--redirect", "tcp:0"))
        assert isinstance(service, MultiService)
        [redirect] = [s for s in service if isinstance(s, RedirectService)]
        resource = redirect._site.resource
        assert isinstance(resource, RedirectResource)
        self.assertEqual(resource._httpsPort(), 8443)
