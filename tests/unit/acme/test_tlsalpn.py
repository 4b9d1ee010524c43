"""
Tests for L{h2site.acme.tlsalpn} and its use by the TLS listeners
(L{h2site.tls.context.ACME_TLS_ALPN}): a real handshake in memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import ssl
from typing import Any

from cryptography import x509
from OpenSSL import SSL
from twisted.trial.unittest import SynchronousTestCase

from h2site.acme.tlsalpn import ACME_IDENTIFIER, challengeCertificate
from h2site.tls.context import (
    ACME_TLS_ALPN,
    KeyAndChain,
    certificateOptions,
    loadKeyAndChain,
    utcNow,
)
from tests.helpers import sharedCertificates


def handshake(
    server: SSL.Connection, name: str, alpn: list[str]
) -> tuple[x509.Certificate, str | None]:
    """
    A TLS handshake between C{server} and Python's client in memory.

    @return: the certificate the server sent and the protocol chosen.
    """
    client = ssl.create_default_context()
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    client.set_alpn_protocols(alpn)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = client.wrap_bio(incoming, outgoing, server_hostname=name)
    server.set_accept_state()
    for _ in range(10):
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            pass
        server.bio_write(outgoing.read())
        with contextlib.suppress(SSL.WantReadError):
            server.do_handshake()
        incoming.write(server.bio_read(65536))
    der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der), tls.selected_alpn_protocol()


class ChallengeCertificateTests(SynchronousTestCase):
    def test_extension(self) -> None:
        """
        The certificate names the one domain and carries, in a critical
        acmeIdentifier extension, the DER OCTET STRING of the SHA-256 of
        the key authorization.
        """
        material = challengeCertificate("a.example", "tok.thumb", utcNow())
        cert = material.certificate
        extension = cert.extensions.get_extension_for_oid(ACME_IDENTIFIER)
        self.assertTrue(extension.critical)
        value: Any = extension.value
        digest = hashlib.sha256(b"tok.thumb").digest()
        self.assertEqual(value.value, b"\x04\x20" + digest)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        self.assertEqual(san.value.get_values_for_type(x509.DNSName), ["a.example"])


class ListenerTests(SynchronousTestCase):
    def setUp(self) -> None:
        certs = sharedCertificates()
        self.site = loadKeyAndChain(str(certs.key), str(certs.cert))
        self.challenges: dict[str, KeyAndChain] = {}
        self.options = certificateOptions(self.site, self.challenges)

    def connect(
        self, name: str, alpn: list[str]
    ) -> tuple[x509.Certificate, str | None]:
        server = SSL.Connection(self.options.getContext(), None)
        return handshake(server, name, alpn)

    def test_challengeOnlyForAcmeAlpn(self) -> None:
        """
        While a challenge is out, a client offering acme-tls/1 for its name
        gets the challenge certificate; browsers (h2) and other names get
        the site's.
        """
        challenge = challengeCertificate("a.example", "tok.thumb", utcNow())
        self.challenges["a.example"] = challenge
        acme = ACME_TLS_ALPN.decode()
        self.assertEqual(
            self.connect("a.example", [acme]), (challenge.certificate, acme)
        )
        self.assertEqual(
            self.connect("a.example", ["h2"]), (self.site.certificate, "h2")
        )
        self.assertEqual(
            self.connect("b.example", [acme, "http/1.1"]),
            (self.site.certificate, "http/1.1"),
        )
