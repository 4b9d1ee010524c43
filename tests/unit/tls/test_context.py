"""
Tests for L{h2site.tls.context} and L{h2site.tls.devcert}.
"""

from __future__ import annotations

from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from h2site.errors import ConfigError
from h2site.tls.context import (
    ALPN_PROTOCOLS,
    certificateOptions,
    fingerprint,
    loadKeyAndChain,
)
from tests.helpers import sharedCertificates


class LoadTests(SynchronousTestCase):
    """
    L{loadKeyAndChain} checks the files at start-up.
    """

    def test_matchingPair(self) -> None:
        """
        A matching key and certificate load, and the fingerprint is the
        colon-separated SHA-256 browsers show.
        """
        certs = sharedCertificates()
        material = loadKeyAndChain(str(certs.key), str(certs.cert))
        self.assertRegex(
            fingerprint(material.certificate), r"^([0-9A-F]{2}:){31}[0-9A-F]{2}$"
        )

    def test_encryptedKey(self) -> None:
        """
        A passphrase-protected key is refused, saying so.
        """
        from cryptography.hazmat.primitives import serialization

        certs = sharedCertificates()
        key = serialization.load_pem_private_key(certs.key.read_bytes(), None)
        encrypted = Path(self.mktemp())
        encrypted.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(b"secret"),
            )
        )
        with self.assertRaises(ConfigError) as caught:
            loadKeyAndChain(str(encrypted), str(certs.cert))
        self.assertIn("encrypted with a passphrase", str(caught.exception))

    def test_optionsOfferH2(self) -> None:
        """
        The server context offers h2 before http/1.1.
        """
        certs = sharedCertificates()
        options = certificateOptions(loadKeyAndChain(str(certs.key), str(certs.cert)))
        self.assertEqual(ALPN_PROTOCOLS, [b"h2", b"http/1.1", b"http/1.0"])
        self.assertEqual(options._acceptableProtocols, ALPN_PROTOCOLS)
