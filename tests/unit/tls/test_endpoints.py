"""
Tests for L{h2site.tls.endpoints}: reading C{--port} strings.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from h2site.errors import ConfigError
from h2site.tls.endpoints import (
    TLSFiles,
    escape,
    parseListen,
    splitDescription,
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
