# -*- test-case-name: tests.unit.tls.test_devcert -*-
"""
The self-signed development certificate that lets C{twistd -n h2site} serve
HTTPS on a fresh machine with no certificate of the user's own.

Creating it writes files, so it is a start-up step of the process that
listens (L{h2site.server.listenSpecs}), never part of reading the options;
worker processes only read the files it wrote (L{devCertificatePaths}).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from h2site.errors import ConfigError
from h2site.tls.context import KeyAndChain, loadKeyAndChain

__all__ = [
    "CERT_NAME",
    "DEV_NAMES",
    "KEY_NAME",
    "devCertificatePaths",
    "ensureDevCertificate",
    "stateDirectory",
]

#: What the development certificate is valid for: this machine only.
DEV_NAMES = ("localhost", "127.0.0.1", "::1")

#: Browsers reject leaf certificates valid for more than 398 days.
_LIFETIME = timedelta(days=397)
#: Renew this long before expiry, so a long-running server is not caught out.
_RENEW_BEFORE = timedelta(days=30)

KEY_NAME = "dev-key.pem"
CERT_NAME = "dev-cert.pem"


def stateDirectory(environ: Mapping[str, str]) -> Path:
    """
    Where h2site keeps state between runs, following the XDG base directory
    specification (C{$XDG_STATE_HOME/h2site}, else C{~/.local/state/h2site}).
    """
    base = environ.get("XDG_STATE_HOME", "")
    if not os.path.isabs(base):
        home = environ.get("HOME") or os.path.expanduser("~")
        base = os.path.join(home, ".local", "state")
    return Path(base) / "h2site"


def _usable(material: KeyAndChain, now: datetime) -> bool:
    cert = material.certificate
    if not (
        cert.not_valid_before_utc <= now <= cert.not_valid_after_utc - _RENEW_BEFORE
    ):
        return False
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return False
    names = {str(n) for n in san.value.get_values_for_type(x509.DNSName)}
    names |= {str(a) for a in san.value.get_values_for_type(x509.IPAddress)}
    return names >= set(DEV_NAMES)


def _generate(now: datetime) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "h2site"),
            x509.NameAttribute(NameOID.COMMON_NAME, "h2site development certificate"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + _LIFETIME)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost")]
                + [x509.IPAddress(ipaddress.ip_address(a)) for a in DEV_NAMES[1:]]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    keyPEM = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return keyPEM, cert.public_bytes(serialization.Encoding.PEM)


def _writePrivate(path: Path, data: bytes) -> None:
    """
    Write atomically with mode 0600, so a crash never leaves half a key and
    no other user ever reads it.
    """
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def devCertificatePaths(directory: Path) -> tuple[Path, Path]:
    """
    Where the development key and certificate are kept in C{directory},
    whether or not they exist yet: a worker process reads the ones its
    supervisor made, and must not make its own.

    @return: C{(keyPath, certPath)}.
    """
    return directory / KEY_NAME, directory / CERT_NAME


def ensureDevCertificate(directory: Path, now: datetime) -> tuple[Path, Path, bool]:
    """
    Return the paths of a usable development key and certificate in
    C{directory}, generating them when missing, unreadable, or within 30 days
    of expiry.

    @return: C{(keyPath, certPath, generated)}.
    @raise ConfigError: if the directory cannot be created or written.
    """
    keyPath, certPath = devCertificatePaths(directory)
    try:
        if _usable(loadKeyAndChain(str(keyPath), str(certPath)), now):
            return keyPath, certPath, False
    except ConfigError:
        pass
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        keyPEM, certPEM = _generate(now)
        _writePrivate(keyPath, keyPEM)
        _writePrivate(certPath, certPEM)
    except OSError as e:
        raise ConfigError(
            f"cannot write the development certificate to {str(directory)!r} "
            f"({e.strerror}); set XDG_STATE_HOME to a writable folder or pass "
            f"--port ssl:... with your own certificate"
        ) from None
    return keyPath, certPath, True
