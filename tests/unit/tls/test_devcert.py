"""
Tests for L{h2site.tls.devcert}.
"""

from __future__ import annotations

import ipaddress
import os
import stat
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import PolicyBuilder, Store
from twisted.trial.unittest import SynchronousTestCase

from h2site.errors import ConfigError
from h2site.tls.context import loadKeyAndChain, utcNow
from h2site.tls.devcert import (
    devCertificatePaths,
    ensureDevCertificate,
    ensureLocalCA,
    stateDirectory,
)
from h2site.tls.localca import CA_LIFETIME, localCAPaths


def _selfSigned(keyPath: Path, certPath: Path, now: datetime) -> None:
    """
    Write a self-signed certificate for localhost, as h2site made its
    development certificate before it had a local CA.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "h2site development certificate")]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=397))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                ]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    keyPath.parent.mkdir(parents=True, exist_ok=True)
    keyPath.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    certPath.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


class DevCertificateTests(SynchronousTestCase):
    """
    The development certificate is issued once by the local CA and reused.
    """

    def setUp(self) -> None:
        self.directory = Path(self.mktemp()).absolute() / "h2site"

    def leaf(self) -> x509.Certificate:
        _, cert = devCertificatePaths(self.directory)
        return x509.load_pem_x509_certificate(cert.read_bytes())

    def authority(self) -> x509.Certificate:
        _, cert = localCAPaths(self.directory)
        return x509.load_pem_x509_certificate(cert.read_bytes())

    def assertVerifies(self, now: datetime) -> None:
        """
        The certificate on disk verifies for localhost with the CA on disk
        as the only root.
        """
        verifier = (
            PolicyBuilder()
            .store(Store([self.authority()]))
            .time(now)
            .build_server_verifier(x509.DNSName("localhost"))
        )
        verifier.verify(self.leaf(), [])

    def test_stateDirectory(self) -> None:
        """
        C{$XDG_STATE_HOME/h2site} when set (absolute), else
        C{~/.local/state/h2site}.
        """
        self.assertEqual(
            stateDirectory({"XDG_STATE_HOME": "/s", "HOME": "/h"}), Path("/s/h2site")
        )
        self.assertEqual(
            stateDirectory({"XDG_STATE_HOME": "rel", "HOME": "/h"}),
            Path("/h/.local/state/h2site"),
        )
        self.assertEqual(stateDirectory({"HOME": "/h"}), Path("/h/.local/state/h2site"))

    def test_generatedOnceAndReused(self) -> None:
        """
        The first call makes the CA and issues a certificate for localhost,
        127.0.0.1 and ::1 from it; the second reuses both.
        """
        now = utcNow()
        key, cert, generated = ensureDevCertificate(self.directory, now)
        self.assertTrue(generated)
        material = loadKeyAndChain(str(key), str(cert))
        san = material.certificate.extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        ).value
        self.assertEqual(san.get_values_for_type(x509.DNSName), ["localhost"])
        self.assertEqual(
            [str(a) for a in san.get_values_for_type(x509.IPAddress)],
            ["127.0.0.1", "::1"],
        )
        self.assertVerifies(now)
        before = cert.read_bytes()
        caBefore = localCAPaths(self.directory)[1].read_bytes()
        self.assertEqual(ensureDevCertificate(self.directory, now)[2], False)
        self.assertEqual(cert.read_bytes(), before)
        self.assertEqual(localCAPaths(self.directory)[1].read_bytes(), caBefore)

    def test_modes(self) -> None:
        """
        The folder is the user's alone (0700), and so are both private keys
        (0600); no temporary file is left behind.
        """
        ensureDevCertificate(self.directory, utcNow())
        caKey, caCert = localCAPaths(self.directory)
        key, _ = devCertificatePaths(self.directory)
        self.assertEqual(_mode(self.directory), 0o700)
        self.assertEqual(_mode(caKey), 0o600)
        self.assertEqual(_mode(key), 0o600)
        self.assertEqual(_mode(caCert), 0o644)
        self.assertEqual(
            sorted(p.name for p in self.directory.iterdir()),
            [
                "dev-cert.pem",
                "dev-key.pem",
                "local-ca-key.pem",
                "local-ca.lock",
                "local-ca.pem",
            ],
        )

    def test_authorityReused(self) -> None:
        """
        L{ensureLocalCA} makes the CA once; later calls, and the
        development certificate, use that one.
        """
        now = utcNow()
        first, created = ensureLocalCA(self.directory, now)
        self.assertTrue(created)
        second, created = ensureLocalCA(self.directory, now + timedelta(days=1))
        self.assertFalse(created)
        self.assertEqual(second.certificate, first.certificate)
        self.assertEqual(second.path, localCAPaths(self.directory)[1])
        ensureDevCertificate(self.directory, now)
        self.assertEqual(self.authority(), first.certificate)
        self.assertEqual(self.leaf().issuer, first.certificate.subject)

    def test_selfSignedReplaced(self) -> None:
        """
        A self-signed certificate left by an earlier version, still valid
        for every name, is replaced by one the CA issued on the first start.
        """
        now = utcNow()
        _selfSigned(*devCertificatePaths(self.directory), now)
        old = self.leaf()
        self.assertTrue(ensureDevCertificate(self.directory, now)[2])
        self.assertNotEqual(self.leaf(), old)
        self.assertVerifies(now)

    def test_reissuedForNewAuthority(self) -> None:
        """
        When the CA is made again (its files removed), the certificate of
        the old one is re-issued by the new one.
        """
        now = utcNow()
        ensureDevCertificate(self.directory, now)
        for path in localCAPaths(self.directory):
            path.unlink()
        self.assertTrue(ensureDevCertificate(self.directory, now)[2])
        self.assertVerifies(now)

    def test_pathsWithoutWriting(self) -> None:
        """
        L{devCertificatePaths} names the files L{ensureDevCertificate}
        writes, without writing anything: what a worker process reads.
        """
        paths = devCertificatePaths(self.directory)
        self.assertFalse(self.directory.exists())
        self.assertEqual(ensureDevCertificate(self.directory, utcNow())[:2], paths)

    def test_renewedBeforeExpiry(self) -> None:
        """
        Within 30 days of expiry the certificate is replaced, by the same
        CA; a day earlier it is kept.
        """
        now = utcNow()
        ensureDevCertificate(self.directory, now)
        ca = self.authority()
        self.assertFalse(
            ensureDevCertificate(self.directory, now + timedelta(days=397 - 31))[2]
        )
        later = now + timedelta(days=397 - 29)
        self.assertTrue(ensureDevCertificate(self.directory, later)[2])
        self.assertEqual(self.authority(), ca)
        self.assertVerifies(later)

    def test_authorityRenewedBeforeExpiry(self) -> None:
        """
        Within 30 days of the CA's own end, a new CA is made and the
        certificate issued again from it.
        """
        now = utcNow()
        ensureDevCertificate(self.directory, now)
        ca = self.authority()
        later = now + CA_LIFETIME - timedelta(days=29)
        self.assertTrue(ensureDevCertificate(self.directory, later)[2])
        self.assertNotEqual(self.authority(), ca)
        self.assertVerifies(later)

    def test_unwritable(self) -> None:
        """
        A state folder that cannot be created is one clear error.
        """
        blocker = Path(self.mktemp())
        blocker.write_text("a file, not a folder")
        with self.assertRaises(ConfigError) as caught:
            ensureDevCertificate(blocker / "h2site", utcNow())
        self.assertIn("cannot write the development certificate", str(caught.exception))
