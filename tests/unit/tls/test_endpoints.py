"""
Tests for L{h2site.tls.endpoints}: reading C{--port} strings.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from h2site.errors import ConfigError
from h2site.tls.context import TLS_OPTIONS
from h2site.tls.endpoints import (
    TLSFiles,
    escape,
    parseListen,
    splitDescription,
    withTLS,
    wrapInTLS,
)
from tests.helpers import sharedCertificates


class SplitTests(SynchronousTestCase):
    """
    L{splitDescription} follows Twisted's endpoint string grammar.
    """

    def test_positionalAndKeyword(self) -> None:
        """
        C{:} separates arguments; the first C{=} makes a keyword argument.
        """
        self.assertEqual(
            splitDescription("ssl:443:privateKey=k.pem:interface=::"),
            (["ssl", "443", "", ""], {"privateKey": "k.pem", "interface": ""}),
        )
        self.assertEqual(
            splitDescription(r"ssl:443:interface=\:\:1:a=b=c"),
            (["ssl", "443"], {"interface": "::1", "a": "b=c"}),
        )

    def test_escapedEquals(self) -> None:
        """
        An escaped C{=} does not make a keyword argument.
        """
        self.assertEqual(splitDescription(r"unix:a\=b"), (["unix", "a=b"], {}))

    @given(st.text())
    def test_escapeRoundTrip(self, value: str) -> None:
        """
        Any value survives L{escape} and splitting.
        """
        self.assertEqual(
            splitDescription("x:k=" + escape(value)), (["x"], {"k": value})
        )


class ParseListenTests(SynchronousTestCase):
    """
    L{parseListen} turns C{ssl:} into C{tcp:} plus h2site's TLS.
    """

    def test_sslBecomesTCP(self) -> None:
        """
        Positional and keyword C{ssl:} arguments map onto a C{tcp:} endpoint,
        and the certificate is loaded.
        """
        certs = sharedCertificates()
        spec = parseListen(f"ssl:8443:{certs.key}:{certs.cert}:interface=\\:\\:1")
        self.assertEqual(spec.plain, r"tcp:port=8443:backlog=50:interface=\:\:1")
        assert spec.tls is not None
        self.assertEqual(spec.tls.chain, ())

    def test_fullChain(self) -> None:
        """
        A certificate file holding the chain keeps the intermediates.
        """
        certs = sharedCertificates()
        full = certs.directory / "fullchain.pem"
        full.write_bytes(certs.cert.read_bytes() + certs.caCert.read_bytes())
        spec = parseListen(f"ssl:0:privateKey={certs.key}:certKey={full}")
        assert spec.tls is not None
        self.assertEqual(len(spec.tls.chain), 1)

    def test_otherTypesUntouched(self) -> None:
        """
        Non-TLS endpoint strings are passed to Twisted as they are.
        """
        for description in ["tcp:8080", "systemd:domain=INET6:index=0", "unix:/x"]:
            spec = parseListen(description)
            self.assertEqual((spec.plain, spec.tls), (description, None))

    def test_errors(self) -> None:
        """
        Unknown or duplicated C{ssl:} arguments are refused.
        """
        certs = sharedCertificates()
        for description, fragment in [
            (
                f"ssl:0:privateKey={certs.key}:colour=red",
                "unknown ssl: argument 'colour'",
            ),
            (f"ssl:0:port=1:privateKey={certs.key}", "gives port twice"),
            ("ssl:0:a:b:c:d:e:f:g:h", "too many"),
            (f"ssl:0:privateKey={certs.key}:backlog=x", "backlog 'x' is not a number"),
            (f"ssl:99999:privateKey={certs.key}", "port '99999' is not a number"),
        ]:
            with self.assertRaises(ConfigError) as caught:
                parseListen(description)
            self.assertIn(fragment, str(caught.exception))


class ProxyProtocolTests(SynchronousTestCase):
    """
    C{haproxy:} listeners: the endpoint inside is read as if it stood alone,
    and the spec remembers that each connection starts with a PROXY header.
    """

    def test_haproxyTCP(self) -> None:
        """
        C{haproxy:tcp:} listens on the C{tcp:} endpoint inside, behind a
        PROXY layer, in plain text.
        """
        spec = parseListen("haproxy:tcp:8080:interface=127.0.0.1")
        self.assertEqual(
            (spec.description, spec.plain, spec.kind, spec.proxy, spec.tls),
            (
                "haproxy:tcp:8080:interface=127.0.0.1",
                "tcp:8080:interface=127.0.0.1",
                "tcp",
                True,
                None,
            ),
        )

    def test_haproxySSL(self) -> None:
        """
        C{haproxy:ssl:} is read by h2site like C{ssl:} (so it gets ALPN
        C{h2}), never by Twisted's own C{ssl:} parser.
        """
        certs = sharedCertificates()
        spec = parseListen(
            f"haproxy:ssl:port=8443:privateKey={certs.key}:certKey={certs.cert}"
            r":interface=\:\:1"
        )
        self.assertEqual(spec.plain, r"tcp:port=8443:backlog=50:interface=\:\:1")
        self.assertTrue(spec.proxy)
        self.assertIsNotNone(spec.tls)
        self.assertEqual(spec.tlsFiles, TLSFiles(str(certs.key), str(certs.cert)))

    def test_othersNotProxied(self) -> None:
        """
        Only C{haproxy:} listeners expect a PROXY header.
        """
        certs = sharedCertificates()
        for description in ["tcp:80", certs.endpoint(), "unix:/x"]:
            self.assertFalse(parseListen(description).proxy)

    def test_haproxyErrors(self) -> None:
        """
        A C{haproxy:} with nothing inside, or another C{haproxy:} inside, is
        one sentence; errors of the C{ssl:} inside name the whole value.
        """
        certs = sharedCertificates()
        for description, fragment in [
            ("haproxy", "use e.g. haproxy:tcp:443 or haproxy:ssl:port=443"),
            ("haproxy:", "use e.g. haproxy:tcp:443"),
            ("haproxy:haproxy:tcp:80", "carries one PROXY header; write haproxy:"),
            (
                f"haproxy:ssl:0:privateKey={certs.key}:colour=red",
                f"--port 'haproxy:ssl:0:privateKey={certs.key}:colour=red': "
                f"unknown ssl: argument 'colour'",
            ),
        ]:
            with self.assertRaises(ConfigError) as caught:
                parseListen(description)
            self.assertIn(fragment, str(caught.exception))


class WrapInTLSTests(SynchronousTestCase):
    """
    L{wrapInTLS} puts C{--tls-cert}/C{--tls-key} on byte-stream listeners.
    """

    def setUp(self) -> None:
        certs = sharedCertificates()
        self.files = TLSFiles(str(certs.key), str(certs.cert))

    def test_haproxyWrapped(self) -> None:
        """
        A C{haproxy:tcp:} listener gets TLS inside its PROXY layer.
        """
        [spec] = wrapInTLS([parseListen("haproxy:tcp:443")], self.files)
        self.assertIsNotNone(spec.tls)
        self.assertEqual(spec.tlsFiles, self.files)
        self.assertEqual((spec.plain, spec.proxy), ("tcp:443", True))

    def test_nothingToWrap(self) -> None:
        """
        With only listeners that have TLS already, the options would do
        nothing: one sentence says so.
        """
        certs = sharedCertificates()
        with self.assertRaises(ConfigError) as caught:
            wrapInTLS(
                [parseListen("haproxy:" + certs.endpoint()), parseListen("nope:1")],
                self.files,
            )
        self.assertIn("also inside haproxy:", str(caught.exception))


class PortShorthandTests(SynchronousTestCase):
    """
    A port number alone, or C{ssl:} without a key, asks for TLS with a
    certificate h2site supplies (the development certificate, unless
    C{--tls-cert} gives one): on 127.0.0.1 unless C{interface=} says.
    """

    def assertWantsCertificate(
        self, description: str, plain: str, proxy: bool = False
    ) -> None:
        spec = parseListen(description)
        self.assertEqual(
            (
                spec.description,
                spec.plain,
                spec.kind,
                spec.tls,
                spec.tlsFiles,
                spec.devCertificate,
                spec.proxy,
            ),
            (description, plain, "tcp", None, None, True, proxy),
        )

    def test_portNumber(self) -> None:
        """
        C{9000} is HTTPS on 127.0.0.1:9000; C{0} lets the kernel pick.
        """
        self.assertWantsCertificate(
            "9000", "tcp:port=9000:backlog=50:interface=127.0.0.1"
        )
        self.assertWantsCertificate("0", "tcp:port=0:backlog=50:interface=127.0.0.1")

    def test_sslWithoutKey(self) -> None:
        """
        C{ssl:} without C{privateKey=} or C{certKey=} is the same, keeping
        any interface and backlog given (an empty interface: every one).
        """
        self.assertWantsCertificate(
            "ssl:port=9000", "tcp:port=9000:backlog=50:interface=127.0.0.1"
        )
        self.assertWantsCertificate(
            "ssl:9000:backlog=7", "tcp:port=9000:backlog=7:interface=127.0.0.1"
        )
        self.assertWantsCertificate(
            "ssl:port=9000:interface=0.0.0.0",
            "tcp:port=9000:backlog=50:interface=0.0.0.0",
        )
        self.assertWantsCertificate(
            r"ssl:port=9000:interface=\:\:1",
            r"tcp:port=9000:backlog=50:interface=\:\:1",
        )
        self.assertWantsCertificate(
            "ssl:port=9000:interface=", "tcp:port=9000:backlog=50"
        )

    def test_behindProxy(self) -> None:
        """
        Inside C{haproxy:} the shorthand reads the same, behind a PROXY
        layer.
        """
        self.assertWantsCertificate(
            "haproxy:9000", "tcp:port=9000:backlog=50:interface=127.0.0.1", True
        )
        self.assertWantsCertificate(
            "haproxy:ssl:port=443:interface=0.0.0.0",
            "tcp:port=443:backlog=50:interface=0.0.0.0",
            True,
        )

    def test_ownKeyUnchanged(self) -> None:
        """
        C{ssl:} with its own key listens on every interface unless told,
        as Twisted's C{ssl:} does, and is not the development certificate.
        """
        certs = sharedCertificates()
        spec = parseListen(f"ssl:port=9000:privateKey={certs.key}:certKey={certs.cert}")
        self.assertEqual(
            (spec.plain, spec.devCertificate), ("tcp:port=9000:backlog=50", False)
        )
        self.assertIsNotNone(spec.tls)

    def test_errors(self) -> None:
        """
        A bad port number, more after a port number, a certificate without
        its key, or a chain alone, is one sentence naming the value.
        """
        for description, message in [
            (
                "99999",
                "--port '99999': the port '99999' is not a number from 0 to 65535",
            ),
            (
                "9000:interface=::1",
                "--port '9000:interface=::1': a port number stands alone; to give "
                "more, write ssl:port=9000:... or tcp:port=9000:...",
            ),
            (
                "ssl:port=9000:certKey=c.pem",
                "--port 'ssl:port=9000:certKey=c.pem': certKey= needs privateKey=, "
                "the key of that certificate (or give neither, for h2site's "
                "certificate)",
            ),
            (
                "ssl:port=9000:extraCertChain=i.pem",
                "--port 'ssl:port=9000:extraCertChain=i.pem': extraCertChain= goes "
                "with privateKey= and certKey=; give those too",
            ),
            (
                "ssl:interface=::1",
                "--port 'ssl:interface=::1' names no port; give one, e.g. 8443, "
                "tcp:8080 or ssl:port=8443",
            ),
        ]:
            with self.assertRaises(ConfigError) as caught:
                parseListen(description)
            self.assertEqual(str(caught.exception), message)

    def test_optionNamed(self) -> None:
        """
        Messages name the option the value was given with.
        """
        with self.assertRaises(ConfigError) as caught:
            parseListen("tcp:http", "--redirect")
        self.assertEqual(
            str(caught.exception),
            "--redirect 'tcp:http': the port 'http' is not a number from 0 to 65535",
        )


class TCPTests(SynchronousTestCase):
    """
    C{tcp:} strings are passed to Twisted as they are, once checked, so a
    mistake is a sentence when the options are read.
    """

    def test_valid(self) -> None:
        """
        Twisted's forms: the port positional or named, the interface and
        backlog after it.
        """
        for description in [
            "tcp:0",
            "tcp:port=8080",
            "tcp:8080:interface=127.0.0.1",
            "tcp:8080:127.0.0.1:10",
            r"tcp6:port=8080:interface=\:\:1",
            "tcp:backlog=5:port=80",
        ]:
            spec = parseListen(description)
            self.assertEqual(
                (spec.plain, spec.tls, spec.devCertificate), (description, None, False)
            )

    def test_errors(self) -> None:
        """
        A port that is not a number from 0 to 65535, no port, a bad backlog,
        an unknown or doubled argument, too many arguments: one sentence.
        """
        for description, message in [
            (
                "tcp:abc",
                "--port 'tcp:abc': the port 'abc' is not a number from 0 to 65535",
            ),
            ("tcp:65536", "--port 'tcp:65536': the port '65536' is not a number"),
            ("tcp:-1", "--port 'tcp:-1': the port '-1' is not a number"),
            ("tcp:", "--port 'tcp:' names no port; give one, e.g. 8443"),
            (r"tcp:interface=\:\:1", "names no port"),
            ("tcp:80:backlog=lots", "--port 'tcp:80:backlog=lots': backlog 'lots'"),
            (
                "tcp:80:prot=1",
                "--port 'tcp:80:prot=1': unknown tcp: argument 'prot'; known: port, "
                "interface, backlog",
            ),
            ("tcp:80:port=81", "--port 'tcp:80:port=81' gives port twice"),
            ("tcp:80:a:5:b", "--port 'tcp:80:a:5:b' has too many ':' arguments"),
            ("haproxy:tcp:x", "--port 'haproxy:tcp:x': the port 'x' is not a number"),
        ]:
            with self.assertRaises(ConfigError) as caught:
                parseListen(description)
            self.assertIn(message, str(caught.exception))


class CertificateForShorthandTests(SynchronousTestCase):
    """
    How the listeners that asked for h2site's certificate get one:
    C{--tls-cert}'s files (L{wrapInTLS}), or the development certificate
    at start-up (L{withTLS}).
    """

    def setUp(self) -> None:
        certs = sharedCertificates()
        self.files = TLSFiles(str(certs.key), str(certs.cert))

    def test_tlsFilesTakeOver(self) -> None:
        """
        C{--tls-cert} goes on port numbers and C{ssl:} without a key, which
        then no longer want the development certificate; C{ssl:} with its
        own key keeps it.
        """
        own = parseListen(sharedCertificates().endpoint())
        specs = wrapInTLS(
            [parseListen("9000"), parseListen("ssl:port=9001"), own], self.files
        )
        self.assertEqual(
            [(s.plain, s.tlsFiles, s.devCertificate) for s in specs[:2]],
            [
                ("tcp:port=9000:backlog=50:interface=127.0.0.1", self.files, False),
                ("tcp:port=9001:backlog=50:interface=127.0.0.1", self.files, False),
            ],
        )
        self.assertTrue(all(s.tls is not None for s in specs))
        self.assertIs(specs[2], own)

    def test_withTLS(self) -> None:
        """
        L{withTLS} loads the files into the spec, taking their signature
        first, and keeps saying it serves the development certificate.
        """
        spec = withTLS(parseListen("9000"), self.files)
        assert spec.tls is not None
        self.assertEqual(
            (spec.tlsFiles, spec.tlsSignature, spec.devCertificate),
            (self.files, self.files.signature(), True),
        )
        self.assertEqual(spec.tls.certificate, self.files.load().certificate)

    def test_namedByOption(self) -> None:
        """
        A missing file of C{--tls-cert} is named with C{--tls-cert}, not
        with C{certKey=}, at start-up and on reload alike.
        """
        files = TLSFiles(self.files.key, "/nonexistent/cert.pem", options=TLS_OPTIONS)
        for load in [files.load, lambda: wrapInTLS([parseListen("9000")], files)]:
            with self.assertRaises(ConfigError) as caught:
                load()
            self.assertEqual(
                str(caught.exception),
                "certificate file '/nonexistent/cert.pem' (--tls-cert) does not exist",
            )
