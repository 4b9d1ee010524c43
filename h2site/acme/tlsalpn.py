# -*- test-case-name: tests.unit.acme.test_tlsalpn -*-
"""
The certificate that answers a TLS-ALPN-01 challenge (RFC 8737): self-signed,
for the one name validated, carrying the SHA-256 of the key authorization
in the critical C{id-pe-acmeIdentifier} extension.  The TLS listener shows
it only to a client offering ALPN C{acme-tls/1}
(L{h2site.tls.context.ACME_TLS_ALPN}).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ObjectIdentifier

from h2site.tls.context import KeyAndChain

__all__ = ["ACME_IDENTIFIER", "challengeCertificate"]

#: id-pe-acmeIdentifier (RFC 8737, section 6.1).
ACME_IDENTIFIER = ObjectIdentifier("1.3.6.1.5.5.7.1.31")


def challengeCertificate(
    domain: str, keyAuthorization: str, now: datetime
) -> KeyAndChain:
    """
    A new key and the challenge certificate for C{domain}.
    """
    digest = hashlib.sha256(keyAuthorization.encode("ascii")).digest()
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), False)
        # The extension's value is the DER of an OCTET STRING of the digest.
        .add_extension(
            x509.UnrecognizedExtension(ACME_IDENTIFIER, b"\x04\x20" + digest), True
        )
        .sign(key, hashes.SHA256())
    )
    return KeyAndChain(key=key, certificate=cert, chain=())
