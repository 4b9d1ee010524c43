# -*- test-case-name: tests.unit.tls.test_devcert -*-
"""
The development certificate that lets C{twistd -n h2site} serve HTTPS on a
fresh machine with no certificate of the user's own, issued by h2site's
local CA (L{h2site.tls.localca}), which the user may trust once
(L{h2site.tls.trust}).

Creating them writes files, so it is a start-up step of the process that
listens (L{h2site.server.listenSpecs}), never part of reading the options;
worker processes only read the files it wrote (L{devCertificatePaths}).
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from h2site.errors import ConfigError
from h2site.tls.context import KeyAndChain, loadKeyAndChain
from h2site.tls.localca import (
    DEV_NAMES,
    RENEW_BEFORE,
    LocalAuthority,
    currentOwner,
    isIssuedBy,
    issueLeaf,
    loadAuthority,
    localCAPaths,
    makeAuthority,
    pemKey,
)

__all__ = [
    "CERT_NAME",
    "DEV_NAMES",
    "KEY_NAME",
    "devCertificatePaths",
    "ensureDevCertificate",
    "ensureLocalCA",
    "stateDirectory",
    "writeAtomically",
]

KEY_NAME = "dev-key.pem"
CERT_NAME = "dev-cert.pem"

#: Held while the CA and certificate are checked and written, so that two
#: servers starting at once do not make two CAs.
_LOCK_NAME = "local-ca.lock"


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


def _usable(material: KeyAndChain, authority: LocalAuthority, now: datetime) -> bool:
    """
    Whether the certificate on disk may be served on: issued by the current
    CA (not self-signed, as earlier versions made it), valid for
    L{DEV_NAMES}, and not near its end.
    """
    cert = material.certificate
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc - RENEW_BEFORE:
        return False
    if not isIssuedBy(cert, authority.certificate):
        return False
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return False
    names = {str(n) for n in san.value.get_values_for_type(x509.DNSName)}
    names |= {str(a) for a in san.value.get_values_for_type(x509.IPAddress)}
    return names >= set(DEV_NAMES)


def writeAtomically(path: Path, data: bytes, mode: int) -> None:
    """
    Write atomically (a uniquely named file renamed over C{path}), so a
    crash never leaves half a key, with C{mode} set before any byte is
    written, so no other user ever reads a private key.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """
    Create C{directory} (mode 0700) and hold its lock.

    @raise ConfigError: if the directory cannot be created or written.
    """
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(directory / _LOCK_NAME, os.O_WRONLY | os.O_CREAT, 0o600)
    except OSError as e:
        raise _unwritable(directory, e) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _unwritable(directory: Path, error: OSError) -> ConfigError:
    return ConfigError(
        f"cannot write the development certificate to {str(directory)!r} "
        f"({error.strerror}); set XDG_STATE_HOME to a writable folder or pass "
        f"--port ssl:... with your own certificate"
    )


def _ensureAuthority(directory: Path, now: datetime) -> tuple[LocalAuthority, bool]:
    """
    L{ensureLocalCA} with the lock held.
    """
    authority = loadAuthority(directory, now)
    if authority is not None:
        return authority, False
    keyPath, certPath = localCAPaths(directory)
    key, cert = makeAuthority(now, currentOwner())
    try:
        writeAtomically(keyPath, pemKey(key), 0o600)
        writeAtomically(certPath, _pem(cert), 0o644)
    except OSError as e:
        raise _unwritable(directory, e) from None
    return LocalAuthority(key=key, certificate=cert, path=certPath), True


def ensureLocalCA(directory: Path, now: datetime) -> tuple[LocalAuthority, bool]:
    """
    The local CA kept in C{directory}, made (key mode 0600) when missing,
    unreadable, or within 30 days of its end.

    @return: the CA, and whether it was made now (any certificate it did
        not sign is then re-issued, and the new CA must be trusted again).
    @raise ConfigError: if the directory cannot be created or written.
    """
    with _locked(directory):
        return _ensureAuthority(directory, now)


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
    C{directory}, issuing them from the local CA (made first if need be)
    when missing, unreadable, within 30 days of expiry, or not signed by
    that CA (a self-signed one from an earlier version, or one from a CA
    since replaced).

    @return: C{(keyPath, certPath, issued)}.
    @raise ConfigError: if the directory cannot be created or written.
    """
    keyPath, certPath = devCertificatePaths(directory)
    with _locked(directory):
        authority, _ = _ensureAuthority(directory, now)
        try:
            if _usable(loadKeyAndChain(str(keyPath), str(certPath)), authority, now):
                return keyPath, certPath, False
        except ConfigError:
            pass
        key, cert = issueLeaf(authority, now)
        try:
            writeAtomically(keyPath, pemKey(key), 0o600)
            writeAtomically(certPath, _pem(cert), 0o600)
        except OSError as e:
            raise _unwritable(directory, e) from None
    return keyPath, certPath, True
