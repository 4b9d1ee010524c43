"""
Tests for L{h2site.config}: the option table, L{buildConfig}, and each
option's parsing and one-line error, parsed in-process (mostly through
C{twistd h2site}'s command line, as an operator gives them).
"""

from __future__ import annotations

import os
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from h2site.config import (
    OPTIONS,
    Config,
    DevCertificate,
    Flag,
    Option,
    buildConfig,
    parseHeader,
    parseSize,
)
from h2site.errors import ConfigError, StartupError
from h2site.files.store import MemoryLimits
from h2site.preload.graph import PreloadLimits
from h2site.preload.policy import PreloadSettings
from h2site.tap import Options
from h2site.web.headers import DEFAULT_HSTS_MAX_AGE
from tests.helpers import makeSite, sharedCertificates


class OptionsTestCase(SynchronousTestCase):
    """
    Parse C{twistd h2site} options in-process, with a site and a state
    folder of the test's own.
    """

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


class StaticOptionsTests(OptionsTestCase):
    """
    The static-delivery options (security headers, redirects, memory
    limits).
    """

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
        self.assertEqual(config.staticLimits, MemoryLimits())

    def test_devCertificateNoHSTS(self) -> None:
        """
        With the development certificate HSTS is off, even if asked for
        (which one warning says), so a developer's browser is not pinned to
        HTTPS on localhost.
        """
        self.assertEqual(self.parse().config.hstsMaxAge, 0)
        self.assertEqual(self.parse().config.warnings, ())
        config = self.parse("--hsts-max-age", "60").config
        self.assertEqual(config.hstsMaxAge, 0)
        [warning] = config.warnings
        self.assertTrue(warning.startswith("--hsts-max-age is ignored: "), warning)

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
        self.assertEqual(config.staticLimits, MemoryLimits(1024**2, 2 * 1024**3))

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


class SiteOptionsTests(OptionsTestCase):
    """
    C{--site} takes a site of either kind; C{--follow-symlinks} is off
    unless asked for.
    """

    def test_plainFolder(self) -> None:
        """
        Any folder of files is a site (a plain one), even without an
        C{index.html}.
        """
        for files in [["index.html", "css/a.css"], ["docs/index.html"]]:
            folder = self.tmp / files[0].replace("/", "-")
            for name in files:
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                (folder / name).write_text("x")
            config = self.parse("--site", str(folder)).config
            self.assertEqual(config.siteDir, str(folder))

    def test_halfTemplateSite(self) -> None:
        """
        A C{templates/} folder without its index is refused in one line,
        saying what a template site needs and what is served as it is.
        """
        (self.site / "templates" / "index.html").unlink()
        message = self.error("--site", str(self.site))
        self.assertIn("has no templates/index.html", message)
        self.assertIn("is served as it is", message)

    def test_followSymlinks(self) -> None:
        """
        C{--follow-symlinks} turns following on, C{--no-follow-symlinks}
        off again; the last one given wins.
        """
        self.assertFalse(self.parse().config.followSymlinks)
        self.assertTrue(self.parse("--follow-symlinks").config.followSymlinks)
        self.assertFalse(
            self.parse(
                "--follow-symlinks", "--no-follow-symlinks"
            ).config.followSymlinks
        )


class PreloadOptionsTests(OptionsTestCase):
    """
    The preload options: C{--preload}/C{--no-preload}, C{--early-hints} and
    the limits of discovery.
    """

    def test_defaults(self) -> None:
        """
        With nothing given: preload on, early hints over h2, default limits.
        """
        self.assertEqual(self.parse("-p", "tcp:0").config.preload, PreloadSettings())

    def test_values(self) -> None:
        """
        Given values are used; C{--early-hints} in any case, with spaces.
        """
        config = self.parse(
            "-p",
            "tcp:0",
            "--no-preload",
            "--early-hints",
            "ALL ",
            "--preload-depth",
            "3",
            "--preload-max-links",
            "10",
            "--preload-max-header-bytes",
            "1024",
        ).config
        self.assertEqual(
            config.preload,
            PreloadSettings(
                False,
                "all",
                PreloadLimits(maxLinks=10, maxHeaderBytes=1024, maxDepth=3),
            ),
        )
        config = self.parse("-p", "tcp:0", "--early-hints", "off").config
        self.assertEqual(config.preload.earlyHints, "off")
        config = self.parse("-p", "tcp:0", "--preload-depth", "0").config
        self.assertEqual(config.preload.limits.maxDepth, 0)

    def test_errors(self) -> None:
        """
        A bad value is one line naming the option, the value and what is
        allowed.
        """
        cases = [
            ("--early-hints", "h3", "--early-hints 'h3' is not one of off, h2, all"),
            (
                "--preload-depth",
                "-1",
                "--preload-depth '-1' is not a whole number from 0 to 32",
            ),
            ("--preload-depth", "33", "--preload-depth '33'"),
            ("--preload-depth", "x", "--preload-depth 'x'"),
            (
                "--preload-max-links",
                "0",
                "--preload-max-links '0' is not a whole number from 1",
            ),
            ("--preload-max-links", "1.5", "--preload-max-links '1.5'"),
            (
                "--preload-max-header-bytes",
                "100",
                "--preload-max-header-bytes '100' is not",
            ),
            ("--preload-max-header-bytes", "65537", "from 128 to 65536"),
        ]
        for option, value, message in cases:
            self.assertIn(message, self.error("-p", "tcp:0", option, value))


class HeaderOptionTests(SynchronousTestCase):
    """
    L{parseHeader} reads one C{--header}.
    """

    def test_valid(self) -> None:
        """
        C{Name: value}, spaces around the value trimmed.
        """
        self.assertEqual(
            parseHeader("Permissions-Policy:  camera=() "),
            ("Permissions-Policy", "camera=()"),
        )

    def test_invalid(self) -> None:
        """
        No colon, an empty part, a non-token name, or a value that could end
        the header line is refused with a message naming the option.
        """
        for option in [
            "X-Test",
            ": v",
            "X-Test:",
            "X Test: v",
            "X-Test: a\r\nSet-Cookie: x",
            "X-Test: caf\u00e9",
        ]:
            e = self.assertRaises(ConfigError, parseHeader, option)
            self.assertIn("--header", str(e))

    def test_managed(self) -> None:
        """
        Headers h2site computes per response cannot be set, and the two with
        their own options point to them.
        """
        for name in ["Content-Length", "etag", "Cache-Control", "Server", "Vary"]:
            e = self.assertRaises(ConfigError, parseHeader, f"{name}: x")
            self.assertIn(f"h2site sets {name} itself for each response", str(e))
        e = self.assertRaises(
            ConfigError, parseHeader, "Strict-Transport-Security: max-age=1"
        )
        self.assertIn("--hsts-max-age", str(e))
        e = self.assertRaises(ConfigError, parseHeader, "content-security-policy: x")
        self.assertIn("--csp", str(e))


class CSPOptionTests(OptionsTestCase):
    """
    C{--csp} is one printable line.
    """

    def test_badCSP(self) -> None:
        """
        A CSP with a line break is refused, saying why.
        """
        self.assertIn(
            "--csp value 'a\\nb' must be printable ASCII (no line breaks",
            self.error("-p", "tcp:0", "--csp", "a\nb"),
        )


class OptionTableTests(SynchronousTestCase):
    """
    L{OPTIONS} declares each option once; the rest is derived from it, so
    the table must hold together.
    """

    def test_namesUnique(self) -> None:
        """
        No two options share a name or a short alias.
        """
        names = [o.name for o in OPTIONS]
        names += ["no-" + o.name for o in OPTIONS if isinstance(o, Flag)]
        shorts = [o.short for o in OPTIONS if isinstance(o, Option) and o.short]
        self.assertEqual(len(names), len(set(names)))
        self.assertEqual(len(shorts), len(set(shorts)))

    def test_fieldsExist(self) -> None:
        """
        Every field an option fills, dotted or not, is a field of L{Config};
        an option fills one exactly when it has a parser.
        """
        config = Config(siteDir="/")
        for option in OPTIONS:
            if isinstance(option, Option):
                self.assertEqual(
                    option.parse is None, option.field is None, option.name
                )
            if option.field is None:
                continue
            value: object = config
            for name in option.field.split("."):
                self.assertTrue(hasattr(value, name), option.field)
                value = getattr(value, name)

    def test_defaultsAgree(self) -> None:
        """
        A default shown by C{--help} parses to the default of the field it
        fills, so the table and L{Config} cannot disagree.
        """
        config = Config(siteDir="/")
        checked = []
        for option in OPTIONS:
            if not isinstance(option, Option) or option.default is None:
                continue
            if option.name == "site":
                continue  # a folder, checked on disk
            assert option.parse is not None and option.field is not None
            expected: object = config
            for name in option.field.split("."):
                expected = getattr(expected, name)
            parsed = option.parse(option.default, "--" + option.name)
            self.assertEqual(parsed, expected, option.name)
            checked.append(option.name)
        self.assertIn("shutdown-timeout", checked)


class BuildConfigTests(SynchronousTestCase):
    """
    L{buildConfig} reads the options by name, without the command line.
    """

    def setUp(self) -> None:
        self.tmp = Path(self.mktemp()).absolute()
        self.site = makeSite(self.tmp / "site", {"index.html": "<p>hi"}, {})
        self.environ = {"XDG_STATE_HOME": str(self.tmp / "st"), "HOME": "/nonexistent"}

    def test_onlyWhatIsGiven(self) -> None:
        """
        Options not given (missing, or L{None}) take their defaults; the
        compression cache is in the state folder, one per site.
        """
        config = buildConfig(
            {"site": str(self.site), "port": ["tcp:0"], "csp": None}, self.environ
        )
        self.assertEqual(config.siteDir, str(self.site))
        self.assertEqual([s.description for s in config.listen], ["tcp:0"])
        self.assertEqual(config.workers, 1)
        self.assertEqual(config.shutdownTimeout, 10.0)
        self.assertIsNone(config.csp)
        self.assertIsNone(config.devCertificate)
        assert config.compressionCache is not None
        self.assertEqual(
            Path(config.compressionCache).parent,
            self.tmp / "st" / "h2site" / "compressed",
        )

    def test_developmentCertificateWritesNothing(self) -> None:
        """
        With no C{--port} and no C{--tls-cert} the configuration names the
        development certificate and where to listen with it, and no HSTS;
        nothing is written: creating it is a start-up step.
        """
        config = buildConfig({"site": str(self.site)}, self.environ)
        self.assertEqual(
            config.devCertificate, DevCertificate(str(self.tmp / "st" / "h2site"))
        )
        self.assertEqual(
            [(s.plain, s.devCertificate, s.tls) for s in config.listen],
            [("tcp:port=8443:backlog=50:interface=127.0.0.1", True, None)],
        )
        self.assertEqual(config.hstsMaxAge, 0)
        self.assertFalse((self.tmp / "st").exists())

    def test_tlsFilesOnDefaultPort(self) -> None:
        """
        C{--tls-cert} and C{--tls-key} with no C{--port} listen on
        127.0.0.1:8443 with that certificate, not the development one.
        """
        certs = sharedCertificates()
        config = buildConfig(
            {
                "site": str(self.site),
                "tls-cert": str(certs.cert),
                "tls-key": str(certs.key),
            },
            self.environ,
        )
        self.assertIsNone(config.devCertificate)
        [spec] = config.listen
        self.assertEqual(spec.plain, "tcp:port=8443:interface=127.0.0.1")
        assert spec.tlsFiles is not None
        self.assertEqual(spec.tlsFiles.cert, str(certs.cert))
        self.assertEqual(config.hstsMaxAge, DEFAULT_HSTS_MAX_AGE)

    def test_tlsFilesGoTogether(self) -> None:
        """
        C{--tls-key} without C{--tls-cert}, or C{--tls-chain} alone, is one
        line.
        """
        for given, message in [
            ({"tls-key": "k.pem"}, "--tls-cert and --tls-key go together; give both"),
            ({"tls-chain": "c.pem"}, "--tls-chain needs --tls-cert and --tls-key"),
        ]:
            e = self.assertRaises(
                ConfigError,
                buildConfig,
                {"site": str(self.site), **given},
                self.environ,
            )
            self.assertEqual(str(e), message)


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
