"""
Tests for the C{--acme-*} options (L{h2site.config.build}) and the
listeners they give (L{h2site.server.listenSpecs}).
"""

from __future__ import annotations

from h2site.acme.settings import LETS_ENCRYPT
from h2site.acme.state import readCertificate
from h2site.server import listenSpecs
from tests.unit.config.test_listen import ListenTestCase

_ACME = ("--acme-domain", "example.org", "--acme-agree-tos")
_REDIRECT = ("--redirect", "tcp:port=8080")


class AcmeOptionTests(ListenTestCase):
    def test_listeners(self) -> None:
        """
        With ACME, a port number and ssl: without keys serve its certificate
        on every interface (where the user said, if they did), a tcp:
        listener too; Let's Encrypt is the CA and the state folder is its.
        """
        config = self.parse(
            *_ACME,
            *_REDIRECT,
            *("--port", "9000"),
            *("--port", "ssl:port=9001:interface=127.0.0.2"),
            *("--port", "tcp:port=9002"),
        )
        self.assertEqual(
            [(s.plain, s.acme, s.devCertificate) for s in config.listen],
            [
                ("tcp:port=9000:backlog=50", True, False),
                ("tcp:port=9001:backlog=50:interface=127.0.0.2", True, False),
                ("tcp:port=9002", True, False),
            ],
        )
        self.assertIsNone(config.devCertificate)
        self.assertEqual(config.acme.directory, LETS_ENCRYPT)
        self.assertEqual(config.acme.domains, ("example.org",))
        self.assertEqual(
            config.acme.folder,
            str(self.state / "acme" / "acme-v02.api.letsencrypt.org-directory"),
        )
        self.assertEqual(config.warnings, ())

    def test_defaultPort(self) -> None:
        """
        With no --port, ACME serves on port 443 on every interface.
        """
        [spec] = self.parse(*_ACME, *_REDIRECT).listen
        self.assertEqual((spec.plain, spec.acme), ("tcp:port=443:backlog=50", True))

    def test_startupWritesTemporary(self) -> None:
        """
        Start-up writes the temporary certificate and gives it to the
        listeners; a worker (create=False) only reads it.
        """
        config = self.parse(*_ACME, *_REDIRECT, "--port", "9000")
        [spec] = listenSpecs(config)
        assert spec.tls is not None and spec.tlsFiles is not None
        self.assertEqual(spec.tlsFiles.cert, str(config.acme.certificatePath))
        info = readCertificate(config.acme)
        assert info is not None
        self.assertTrue(info.temporary)
        [again] = listenSpecs(config, create=False)
        assert again.tls is not None
        self.assertEqual(again.tls.certificate, spec.tls.certificate)

    def test_challenges(self) -> None:
        """
        HTTP-01 is tried first when there is a --redirect listener, then
        TLS-ALPN-01; without one, TLS-ALPN-01 alone.
        """
        with_redirect = self.parse(*_ACME, *_REDIRECT).acme.challenges
        self.assertEqual(with_redirect, ("http-01", "tls-alpn-01"))
        self.assertEqual(self.parse(*_ACME).acme.challenges, ("tls-alpn-01",))

    def test_errors(self) -> None:
        """
        Each wrong combination is one line saying what to do.
        """
        certs = (*self.tlsOptions,)
        cases = [
            (_ACME[:2], "--acme-domain needs your agreement to the CA's terms"),
            (
                (*_ACME, "--port", "9000", "--workers", "2"),
                "--acme-domain with --workers needs --redirect",
            ),
            ((*_ACME, *_REDIRECT, *certs), "--acme-domain and --tls-cert both"),
            ((*_ACME, *_REDIRECT, "--dev"), "--acme-domain and --dev do not go"),
            (
                ("--acme-email", "ops@example.org"),
                "--acme-email goes with --acme-domain",
            ),
            (
                (*_ACME, *_REDIRECT, "--acme-directory", "http://ca.test/dir"),
                "--acme-directory 'http://ca.test/dir' is not an https:// URL",
            ),
            (
                (*_ACME, *_REDIRECT, "--acme-ca-bundle", "/nonexistent.pem"),
                "--acme-ca-bundle '/nonexistent.pem' is not a readable file",
            ),
            (
                (
                    *_ACME,
                    *_REDIRECT,
                    "--port",
                    f"ssl:port=9000:privateKey={self.certs.key}:certKey={self.certs.cert}",
                ),
                "--acme-domain: no --port serves its certificate",
            ),
            (
                ("--acme-domain", "*.example.org"),
                "--acme-domain '*.example.org': wildcard",
            ),
        ]
        for args, start in cases:
            self.assertTrue(
                self.error(*args).startswith(start), (args, self.error(*args))
            )
