"""
End-to-end tests of the TLS policy in L{h2site.tls.context}: what the real server
accepts and refuses on the wire, and certificate chains.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from twisted.trial.unittest import TestCase

from tests.helpers import (
    CA_KEY_USAGE,
    Server,
    makeSite,
    sharedCertificates,
    startServer,
)

SITE = {"index.html": "<!doctype html><title>t</title><p>tls"}


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: str,
    issuerKey: ec.EllipticCurvePrivateKey,
    ca: bool,
) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=10))
        .add_extension(
            x509.BasicConstraints(ca=ca, path_length=None if not ca else 1),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuerKey.public_key()),
            critical=False,
        )
    )
    if ca:
        builder = builder.add_extension(
            CA_KEY_USAGE,
            critical=True,
        )
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False
        )
    return builder.sign(issuerKey, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _chainFiles(directory: Path) -> dict[str, Path]:
    """
    A root CA, an intermediate it signed, and a localhost leaf signed by
    the intermediate, as PEM files (plus a full-chain file).
    """
    directory.mkdir(parents=True)
    rootKey, interKey, leafKey = (
        ec.generate_private_key(ec.SECP256R1()) for _ in "abc"
    )
    root = _certificate("test root", rootKey, "test root", rootKey, True)
    inter = _certificate("test intermediate", interKey, "test root", rootKey, True)
    leaf = _certificate("localhost", leafKey, "test intermediate", interKey, False)
    files = {
        name: directory / f"{name}.pem"
        for name in ("root", "inter", "leaf", "key", "fullchain")
    }
    files["root"].write_bytes(_pem(root))
    files["inter"].write_bytes(_pem(inter))
    files["leaf"].write_bytes(_pem(leaf))
    files["fullchain"].write_bytes(_pem(leaf) + _pem(inter))
    files["key"].write_bytes(
        leafKey.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


def _handshake(port: int, ctx: ssl.SSLContext) -> tuple[str | None, str | None]:
    """
    Connect and shake hands.

    @return: the negotiated version and ALPN protocol.
    @raise ssl.SSLError: if the server refuses.
    """
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as sock,
        ctx.wrap_socket(sock, server_hostname="localhost") as tls,
    ):
        return tls.version(), tls.selected_alpn_protocol()


def _client(
    minimum: ssl.TLSVersion, maximum: ssl.TLSVersion, ciphers: str | None = None
) -> ssl.SSLContext:
    ctx = sharedCertificates().sslContext()
    ctx.minimum_version = minimum
    ctx.maximum_version = maximum
    if ciphers is not None:
        # Security level 0 lets this client offer what the server must refuse.
        ctx.set_ciphers(ciphers + ":@SECLEVEL=0")
    return ctx


class PolicyTests(TestCase):
    def setUp(self) -> None:
        site = makeSite(Path(self.mktemp()).absolute(), SITE, {})
        self.server: Server = startServer(
            self,
            "--site",
            str(site),
            "--port",
            sharedCertificates().endpoint(),
            cwd=site,
        )

    def test_tls13WithH2(self) -> None:
        """
        TLS 1.3 is accepted and ALPN picks h2.
        """
        version, alpn = _handshake(
            self.server.port, _client(ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_3)
        )
        self.assertEqual((version, alpn), ("TLSv1.3", "h2"))

    def test_tls12AEAD(self) -> None:
        """
        On TLS 1.2, ECDHE with AES-GCM or ChaCha20-Poly1305 is accepted.
        """
        for suite in ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"):
            ctx = _client(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2, suite)
            self.assertEqual(_handshake(self.server.port, ctx)[0], "TLSv1.2")

    def test_tls12CBCRefused(self) -> None:
        """
        On TLS 1.2, CBC suites are refused, even with ECDHE.
        """
        for suite in ("ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384"):
            ctx = _client(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2, suite)
            self.assertRaises(ssl.SSLError, _handshake, self.server.port, ctx)

    def test_oldVersionsRefused(self) -> None:
        """
        TLS 1.0 and 1.1 are refused.
        """
        ctx = _client(ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1, "ALL")
        self.assertRaises(ssl.SSLError, _handshake, self.server.port, ctx)

    def test_sessionResumption(self) -> None:
        """
        A returning TLS 1.2 client resumes its session from the server's
        cache instead of a full handshake.
        """
        ctx = _client(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2)
        with (
            socket.create_connection(("127.0.0.1", self.server.port), 10) as sock,
            ctx.wrap_socket(sock, server_hostname="localhost") as first,
        ):
            session = first.session
            self.assertFalse(first.session_reused)
            # A session ended without close_notify is dropped from the cache.
            first.unwrap()
        with (
            socket.create_connection(("127.0.0.1", self.server.port), 10) as sock,
            ctx.wrap_socket(
                sock, server_hostname="localhost", session=session
            ) as again,
        ):
            self.assertTrue(again.session_reused)

    def test_groups(self) -> None:
        """
        X25519 and P-256 are accepted; X448 and P-521 are refused.
        """

        def connects(group: str) -> bool:
            done = subprocess.run(
                [
                    "openssl",
                    "s_client",
                    "-connect",
                    f"127.0.0.1:{self.server.port}",
                    "-groups",
                    group,
                    "-brief",
                ],
                input=b"",
                capture_output=True,
                timeout=30,
            )
            return done.returncode == 0

        self.assertTrue(connects("X25519"))
        self.assertTrue(connects("P-256"))
        self.assertFalse(connects("X448"))
        self.assertFalse(connects("P-521"))


class ChainTests(TestCase):
    """
    A client that trusts only the root verifies the server only if the
    server sends the intermediate too.
    """

    def setUp(self) -> None:
        self.files = _chainFiles(Path(self.mktemp()).absolute())
        self.site = makeSite(Path(self.mktemp()).absolute(), SITE, {})

    def verifies(self, endpoint: str) -> bool:
        server = startServer(
            self, "--site", str(self.site), "--port", endpoint, cwd=self.site
        )
        ctx = ssl.create_default_context(cafile=str(self.files["root"]))
        try:
            _handshake(server.port, ctx)
        except ssl.SSLCertVerificationError:
            return False
        return True

    def test_extraCertChain(self) -> None:
        """
        C{extraCertChain=} sends the intermediate after the leaf.
        """
        f = self.files
        self.assertTrue(
            self.verifies(
                f"ssl:port=0:interface=127.0.0.1:privateKey={f['key']}"
                f":certKey={f['leaf']}:extraCertChain={f['inter']}"
            )
        )

    def test_fullChainFile(self) -> None:
        """
        A certificate file holding the leaf and the intermediate (certbot's
        C{fullchain.pem}) sends both.
        """
        f = self.files
        self.assertTrue(
            self.verifies(
                f"ssl:port=0:interface=127.0.0.1:privateKey={f['key']}"
                f":certKey={f['fullchain']}"
            )
        )

    def test_leafAloneFails(self) -> None:
        """
        The control: with the leaf alone the client cannot verify.
        """
        f = self.files
        self.assertFalse(
            self.verifies(
                f"ssl:port=0:interface=127.0.0.1:privateKey={f['key']}"
                f":certKey={f['leaf']}"
            )
        )
