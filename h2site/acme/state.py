# -*- test-case-name: tests.unit.acme.test_state -*-
"""
What ACME keeps in the state folder (C{$XDG_STATE_HOME/h2site/acme/<CA>/}):
the account key (C{account-key.pem}, mode 0600) and the account's URL
(C{account.json}), and per certificate one file holding its key and full
chain (C{<first name>.pem}, mode 0600), which the TLS listeners are given.
Every file is written atomically (L{writeAtomically}): a crash leaves the
previous file or the new one, never half of either.

Until the CA issues the first certificate, that file holds a temporary
self-signed one (L{ensureCertificate}), so that the listeners start and
the ACME exchange can happen while the site is up.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from h2site.acme.settings import AcmeSettings
from h2site.errors import ConfigError
from h2site.tls.context import loadKeyAndChain
from h2site.tls.devcert import writeAtomically
from h2site.tls.localca import pemKey

__all__ = [
    "TEMPORARY_ORGANIZATION",
    "CertificateInfo",
    "ensureCertificate",
    "loadAccount",
    "makeTemporary",
    "readCertificate",
    "saveAccountURL",
    "writeCertificate",
]

#: The organization of the temporary certificate, which says what it is
#: to whoever looks at it in a browser.
TEMPORARY_ORGANIZATION = "h2site temporary certificate, until the ACME CA issues one"

#: How long the temporary certificate is valid: never long enough to matter.
_TEMPORARY_LIFETIME = timedelta(days=7)

_ACCOUNT_KEY = "account-key.pem"
_ACCOUNT = "account.json"


@dataclass(frozen=True)
class CertificateInfo:
    """
    What the renewal decision needs of the certificate being served.

    @ivar temporary: whether it is h2site's self-signed stand-in.
    """

    notBefore: datetime
    notAfter: datetime
    names: frozenset[str]
    temporary: bool
    #: The leaf as PEM: what the CA's renewal information is asked about.
    leaf: bytes = field(default=b"", compare=False, repr=False)

    def covers(self, domains: tuple[str, ...]) -> bool:
        return self.names >= set(domains)


def _unwritable(folder: Path, error: OSError) -> ConfigError:
    return ConfigError(
        f"cannot write ACME state to {str(folder)!r} ({error.strerror}); set "
        f"XDG_STATE_HOME (or systemd's StateDirectory=) to a writable folder"
    )


def _folder(settings: AcmeSettings) -> Path:
    folder = Path(settings.folder)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as e:
        raise _unwritable(folder, e) from None
    return folder


def readCertificate(settings: AcmeSettings) -> CertificateInfo | None:
    """
    The certificate file's leaf, or L{None} if it is missing or does not
    load (key and certificate not matching, not PEM).
    """
    path = str(settings.certificatePath)
    try:
        cert = loadKeyAndChain(path, path).certificate
    except ConfigError:
        return None
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = frozenset(san.value.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        names = frozenset()
    organization = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return CertificateInfo(
        notBefore=cert.not_valid_before_utc,
        notAfter=cert.not_valid_after_utc,
        names=names,
        temporary=any(a.value == TEMPORARY_ORGANIZATION for a in organization),
        leaf=cert.public_bytes(serialization.Encoding.PEM),
    )


def makeTemporary(domains: tuple[str, ...], now: datetime) -> bytes:
    """
    A new key and a self-signed certificate for C{domains}, as one PEM.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, TEMPORARY_ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, domains[0]),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + _TEMPORARY_LIFETIME)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(d) for d in domains]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    return pemKey(key) + cert.public_bytes(serialization.Encoding.PEM)


def writeCertificate(settings: AcmeSettings, keyPEM: bytes, chainPEM: bytes) -> None:
    """
    Replace the certificate file, key and full chain together, atomically.

    @raise ConfigError: if the state folder cannot be written.
    """
    folder = _folder(settings)
    try:
        writeAtomically(settings.certificatePath, keyPEM + chainPEM, 0o600)
    except OSError as e:
        raise _unwritable(folder, e) from None


def ensureCertificate(settings: AcmeSettings, now: datetime) -> str | None:
    """
    Make sure the certificate file loads, for C{settings.domains}: if it
    is missing, does not load, or lacks a name, write a temporary one.

    @return: why a temporary one was written, or L{None} if the file was
        usable as it was.
    @raise ConfigError: if the state folder cannot be written.
    """
    _folder(settings)
    info = readCertificate(settings)
    if info is not None and info.covers(settings.domains):
        return None
    if info is None and settings.certificatePath.exists():
        why = "the stored certificate does not load"
    elif info is None:
        why = "no certificate has been issued yet"
    else:
        why = "the stored certificate lacks some of the --acme-domain names"
    temporary = makeTemporary(settings.domains, now)
    try:
        writeAtomically(settings.certificatePath, temporary, 0o600)
    except OSError as e:
        raise _unwritable(Path(settings.folder), e) from None
    return why


def loadAccount(settings: AcmeSettings) -> tuple[bytes, str | None]:
    """
    The account key (made and written, mode 0600, the first time) and the
    account's URL at the CA, if it was registered.

    @raise ConfigError: if the state folder cannot be written.
    """
    folder = _folder(settings)
    keyPath = folder / _ACCOUNT_KEY
    try:
        keyPEM = keyPath.read_bytes()
    except FileNotFoundError:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        keyPEM = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            writeAtomically(keyPath, keyPEM, 0o600)
        except OSError as e:
            raise _unwritable(folder, e) from None
    try:
        account = json.loads((folder / _ACCOUNT).read_text("utf-8"))
        url = (
            account.get("url")
            if account.get("directory") == settings.directory
            else None
        )
    except (OSError, ValueError, AttributeError):
        url = None
    return keyPEM, url if isinstance(url, str) else None


def saveAccountURL(settings: AcmeSettings, url: str) -> None:
    """
    Remember the account's URL, so that a restart does not register again.
    """
    folder = _folder(settings)
    data = json.dumps({"directory": settings.directory, "url": url}).encode()
    try:
        writeAtomically(folder / _ACCOUNT, data + b"\n", 0o600)
    except OSError as e:
        raise _unwritable(folder, e) from None
