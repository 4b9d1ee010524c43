"""
Tests for L{h2site.tls.localca}: what the local CA is, and that it cannot
sign for anything but this machine.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError
from twisted.trial.unittest import SynchronousTestCase

from h2site.tls.context import utcNow
from h2site.tls.localca import (
    LEAF_LIFETIME,
    PERMITTED,
    LocalAuthority,
    isIssuedBy,
    issueLeaf,
    makeAuthority,
)

#: What the verifier says when a name is outside the CA's constraints.
_CONSTRAINED = "no permitted name constraints matched"


def _subject(name: str) -> x509.DNSName | x509.IPAddress:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


class LocalAuthorityTests(SynchronousTestCase):
    """
    L{makeAuthority} makes a CA that can issue server certificates for
    localhost and the loopback addresses, and for nothing else.
    """

    def setUp(self) -> None:
        self.now = utcNow()
        key, cert = makeAuthority(self.now, "alice@workstation")
        self.authority = LocalAuthority(key, cert, Path("/nowhere/local-ca.pem"))

    def verify(
        self,
        leaf: x509.Certificate,
        name: str,
        ca: x509.Certificate | None = None,
    ) -> None:
        """
        Verify C{leaf} for C{name} as a browser would (the Web PKI profile
        of C{cryptography.x509.verification}), with only the CA as root.

        @raise VerificationError: if it does not verify.
        """
        store = Store([ca or self.authority.certificate])
        verifier = (
            PolicyBuilder()
            .store(store)
            .time(self.now)
            .build_server_verifier(_subject(name))
        )
        verifier.verify(leaf, [])

    def assertRejected(self, leaf: x509.Certificate, name: str) -> None:
        with self.assertRaises(VerificationError) as caught:
            self.verify(leaf, name)
        self.assertIn(_CONSTRAINED, str(caught.exception))

    def test_extensions(self) -> None:
        """
        The CA certificate says C{CA:TRUE} with path length 0, may sign
        certificates and CRLs only, and carries critical name constraints
        permitting DNS C{localhost}, 127.0.0.0/8 and ::1/128, excluding
        nothing else.
        """
        cert = self.authority.certificate
        basic = cert.extensions.get_extension_for_class(x509.BasicConstraints)
        self.assertTrue(basic.critical)
        self.assertEqual((basic.value.ca, basic.value.path_length), (True, 0))
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
        self.assertTrue(usage.critical)
        self.assertTrue(usage.value.key_cert_sign)
        self.assertTrue(usage.value.crl_sign)
        self.assertFalse(usage.value.digital_signature)
        constraints = cert.extensions.get_extension_for_class(x509.NameConstraints)
        self.assertTrue(constraints.critical)
        self.assertEqual(
            constraints.value.permitted_subtrees,
            [
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_network("127.0.0.0/8")),
                x509.IPAddress(ipaddress.ip_network("::1/128")),
            ],
        )
        self.assertEqual(list(PERMITTED), constraints.value.permitted_subtrees)
        self.assertIsNone(constraints.value.excluded_subtrees)
        self.assertEqual(cert.issuer, cert.subject)

    def test_subjectNamesOwner(self) -> None:
        """
        The CA's name says it is h2site's and whose, on which machine, so a
        person finds it in a trust store.
        """
        subject = self.authority.certificate.subject
        self.assertEqual(
            subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value,
            "h2site local CA alice@workstation",
        )
        self.assertEqual(
            subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value,
            "alice@workstation",
        )

    def test_leafVerifies(self) -> None:
        """
        The development certificate verifies for localhost, 127.0.0.1 and
        ::1, is a server certificate, and lives no longer than browsers
        allow.
        """
        _, leaf = issueLeaf(self.authority, self.now)
        for name in ("localhost", "127.0.0.1", "::1"):
            self.verify(leaf, name)
        usage = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
        self.assertEqual(list(usage.value), [ExtendedKeyUsageOID.SERVER_AUTH])
        basic = leaf.extensions.get_extension_for_class(x509.BasicConstraints)
        self.assertFalse(basic.value.ca)
        lifetime = leaf.not_valid_after_utc - leaf.not_valid_before_utc
        self.assertLessEqual(lifetime, timedelta(days=398))
        self.assertTrue(isIssuedBy(leaf, self.authority.certificate))

    def test_subdomainsAndLoopback(self) -> None:
        """
        Names under C{localhost} (RFC 6761) and any 127.x address are inside
        the constraints too.
        """
        _, leaf = issueLeaf(self.authority, self.now, ("app.localhost", "127.0.0.2"))
        self.verify(leaf, "app.localhost")
        self.verify(leaf, "127.0.0.2")

    def test_otherNamesRejected(self) -> None:
        """
        A certificate the same CA key signs for another name is rejected by
        the verifier because of the name constraints: a DNS name, a name
        that only ends in or starts with C{localhost}, a private address,
        and a certificate that adds a foreign name to C{localhost}.
        """
        for names, asked in [
            (("example.com",), "example.com"),
            (("evillocalhost",), "evillocalhost"),
            (("localhost.example.com",), "localhost.example.com"),
            (("10.0.0.1",), "10.0.0.1"),
            (("::2",), "::2"),
            (("localhost", "example.com"), "localhost"),
        ]:
            _, leaf = issueLeaf(self.authority, self.now, names)
            self.assertRejected(leaf, asked)

    def test_unconstrainedWouldSign(self) -> None:
        """
        The rejection above is the constraints' doing: the same key in a CA
        certificate without them makes C{example.com} verify.
        """
        cert = self.authority.certificate
        builder = (
            x509.CertificateBuilder()
            .subject_name(cert.subject)
            .issuer_name(cert.subject)
            .public_key(cert.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(cert.not_valid_before_utc)
            .not_valid_after(cert.not_valid_after_utc)
        )
        for extension in cert.extensions:
            if not isinstance(extension.value, x509.NameConstraints):
                builder = builder.add_extension(extension.value, extension.critical)
        unconstrained = builder.sign(self.authority.key, hashes.SHA256())
        _, leaf = issueLeaf(self.authority, self.now, ("example.com",))
        self.verify(leaf, "example.com", ca=unconstrained)

    def test_leafWithinAuthority(self) -> None:
        """
        A leaf never outlives its CA: near the CA's end it is cut short.
        """
        late = self.authority.certificate.not_valid_after_utc - timedelta(days=100)
        _, leaf = issueLeaf(self.authority, late)
        self.assertEqual(
            leaf.not_valid_after_utc, self.authority.certificate.not_valid_after_utc
        )
        self.assertLess(leaf.not_valid_after_utc - late, LEAF_LIFETIME)

    def test_otherAuthorityNotIssuer(self) -> None:
        """
        L{isIssuedBy} tells a leaf of another CA, and a self-signed one,
        from the CA's own.
        """
        key, other = makeAuthority(self.now, "alice@workstation")
        _, leaf = issueLeaf(LocalAuthority(key, other, Path("/x")), self.now)
        self.assertFalse(isIssuedBy(leaf, self.authority.certificate))
        self.assertTrue(isIssuedBy(leaf, other))
        self.assertFalse(isIssuedBy(other, self.authority.certificate))
