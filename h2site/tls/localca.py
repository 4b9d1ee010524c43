# -*- test-case-name: tests.unit.tls.test_localca -*-
"""
h2site's local certificate authority: one per user, kept in the state
folder, that signs the development certificate.

A browser told to accept a self-signed certificate as an error caches
nothing from that connection (Chromium's rule), so every Early Hints fetch
would be wasted.  A CA the user installs once (L{h2site.tls.trust}) makes
C{https://localhost} simply trusted instead, as C{mkcert} and Caddy do.  Its
X.509 name constraints (critical) permit only C{localhost} (and, per RFC
5280, its subdomains) and the loopback addresses, so a CA key that leaked
could not be used to impersonate any other site to this user's browsers.

Only pure functions of a time and an owner make certificates here
(L{makeAuthority}, L{issueLeaf}); L{h2site.tls.devcert} writes them.
"""

from __future__ import annotations

import getpass
import ipaddress
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from h2site.errors import ConfigError
from h2site.tls.context import loadKeyAndChain

__all__ = [
    "CA_CERT_NAME",
    "CA_KEY_NAME",
    "DEV_NAMES",
    "LEAF_LIFETIME",
    "PERMITTED",
    "RENEW_BEFORE",
    "LocalAuthority",
    "authorityCommonName",
    "currentOwner",
    "isIssuedBy",
    "issueLeaf",
    "loadAuthority",
    "localCAPaths",
    "makeAuthority",
    "pemKey",
]

#: What the development certificate is valid for: this machine only.
DEV_NAMES = ("localhost", "127.0.0.1", "::1")

#: All the CA may sign for: C{localhost} and its subdomains (RFC 6761
#: reserves them for loopback), and the loopback networks.
PERMITTED: tuple[x509.GeneralName, ...] = (
    x509.DNSName("localhost"),
    x509.IPAddress(ipaddress.ip_network("127.0.0.0/8")),
    x509.IPAddress(ipaddress.ip_network("::1/128")),
)

#: Browsers reject leaf certificates valid for more than 398 days.
LEAF_LIFETIME = timedelta(days=397)
#: The CA's own lifetime, as mkcert's: trusting it again is a chore.
CA_LIFETIME = timedelta(days=3650)
#: Renew this long before expiry, so a long-running server is not caught out.
RENEW_BEFORE = timedelta(days=30)

#: Not C{dev-*}: the development certificate's two files keep that prefix.
CA_KEY_NAME = "local-ca-key.pem"
CA_CERT_NAME = "local-ca.pem"

#: X.509 caps an organizational unit at 64 characters.
_MAX_NAME = 64


@dataclass(frozen=True)
class LocalAuthority:
    """
    The local CA as read from its files.

    @ivar key: its private key.
    @ivar certificate: its self-signed certificate, the one to trust.
    @ivar path: where that certificate is, to name in messages.
    """

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    path: Path


def localCAPaths(directory: Path) -> tuple[Path, Path]:
    """
    Where the CA's key and certificate are kept in C{directory}.

    @return: C{(keyPath, certPath)}.
    """
    return directory / CA_KEY_NAME, directory / CA_CERT_NAME


def currentOwner() -> str:
    """
    C{user@host}, written into the CA's name so that a person who finds it
    in a trust store knows whose and which machine's it is.
    """
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def authorityCommonName(owner: str) -> str:
    """
    The CA's common name, what trust stores list it by.
    """
    return f"h2site local CA {owner}"[:_MAX_NAME]


def _authorityName(owner: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "h2site local CA"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, owner[:_MAX_NAME]),
            x509.NameAttribute(NameOID.COMMON_NAME, authorityCommonName(owner)),
        ]
    )


def pemKey(key: ec.EllipticCurvePrivateKey) -> bytes:
    """
    C{key} as unencrypted PKCS#8 PEM, what L{loadKeyAndChain} reads.
    """
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def makeAuthority(
    now: datetime, owner: str
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """
    A new CA key and certificate: C{CA:TRUE} with path length 0 (it signs
    leaves only), key usage certificate and CRL signing, and critical name
    constraints permitting only L{PERMITTED}.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = _authorityName(owner)
    publicKey = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(publicKey)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.NameConstraints(
                permitted_subtrees=list(PERMITTED), excluded_subtrees=None
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(publicKey), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


def issueLeaf(
    authority: LocalAuthority,
    now: datetime,
    names: tuple[str, ...] = DEV_NAMES,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """
    A new key and a server certificate for C{names} signed by C{authority},
    valid L{LEAF_LIFETIME} (never past the CA's own end).

    @param names: DNS names and IP addresses; the CA's name constraints,
        not this function, decide what a browser accepts.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for name in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    caCert = authority.certificate
    owner = caCert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    subject = [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "h2site development certificate")
    ] + [
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, str(attribute.value))
        for attribute in owner
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(subject))
        .issuer_name(caCert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(min(now + LEAF_LIFETIME, caCert.not_valid_after_utc))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(
                authority.key.public_key()
            ),
            critical=False,
        )
        .sign(authority.key, hashes.SHA256())
    )
    return key, cert


def isIssuedBy(certificate: x509.Certificate, authority: x509.Certificate) -> bool:
    """
    Whether C{authority} signed C{certificate}: false for the self-signed
    certificate earlier versions made, and for one from a CA since replaced.
    """
    try:
        certificate.verify_directly_issued_by(authority)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def loadAuthority(directory: Path, now: datetime) -> LocalAuthority | None:
    """
    The CA kept in C{directory}, if it is there, readable, a CA with these
    name constraints, and not within L{RENEW_BEFORE} of its end; else
    L{None}, for the caller to make a new one.
    """
    keyPath, certPath = localCAPaths(directory)
    try:
        material = loadKeyAndChain(str(keyPath), str(certPath))
    except ConfigError:
        return None
    cert, key = material.certificate, material.key
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc - RENEW_BEFORE:
        return None
    try:
        basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        limits = cert.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return None
    if not basic.ca or list(limits.permitted_subtrees or ()) != list(PERMITTED):
        return None
    return LocalAuthority(key=key, certificate=cert, path=certPath)
