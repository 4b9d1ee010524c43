# -*- test-case-name: tests.unit.tls.test_context -*-
"""
Certificates and TLS policy: one place decides what h2site offers on the wire.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from OpenSSL import SSL, crypto
from OpenSSL import _util as _openssl
from OpenSSL.SSL import Connection
from twisted.internet.interfaces import (
    IAcceptableCiphers,
    IOpenSSLServerConnectionCreator,
)
from twisted.internet.ssl import AcceptableCiphers, CertificateOptions, TLSVersion
from twisted.protocols.tls import TLSMemoryBIOProtocol
from zope.interface import implementer

from h2site.errors import ConfigError

__all__ = [
    "ACME_TLS_ALPN",
    "ALPN_PROTOCOLS",
    "ENDPOINT_OPTIONS",
    "GROUPS",
    "TLS12_CIPHERS",
    "TLS_OPTIONS",
    "ChallengeCertificates",
    "FileOptions",
    "KeyAndChain",
    "ReloadableTLS",
    "certificateOptions",
    "fingerprint",
    "isExpired",
    "loadKeyAndChain",
    "utcNow",
]

#: Chosen in this order: a browser that speaks HTTP/2 gets it.  A client
#: that offers only C{http/1.0} (C{curl --http1.0}) would otherwise get a
#: handshake failure; the HTTP/1.1 channel serves HTTP/1.0 requests.
ALPN_PROTOCOLS = [b"h2", b"http/1.1", b"http/1.0"]

#: The ALPN protocol of ACME's TLS-ALPN-01 challenge (RFC 8737): a CA
#: offering it alone, with a name as SNI, gets that name's challenge
#: certificate instead of the site's.
ACME_TLS_ALPN = b"acme-tls/1"

#: TLS 1.2 suites: forward-secret AEAD only.  These are also the only TLS 1.2
#: suites RFC 9113 (HTTP/2) does not forbid.  TLS 1.3 suites are all fine and
#: are not affected by this string.
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"

#: Key-exchange groups, in preference order: Mozilla's "intermediate" list.
#: OpenSSL's default also offers X448 and P-521, which no browser needs and
#: which cost several times more per handshake.
GROUPS = b"X25519:P-256:P-384"


_SigningKey = (
    rsa.RSAPrivateKey
    | ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
)
_SIGNING_KEYS = (
    rsa.RSAPrivateKey,
    ec.EllipticCurvePrivateKey,
    ed25519.Ed25519PrivateKey,
    ed448.Ed448PrivateKey,
)


@dataclass(frozen=True)
class KeyAndChain:
    """
    A private key with its certificate and the intermediates that follow it.
    """

    key: _SigningKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]


@dataclass(frozen=True)
class FileOptions:
    """
    How the operator named each PEM file (C{privateKey=} inside an C{ssl:}
    endpoint, C{--tls-key} on the command line), so that a message about a
    file names what to change.
    """

    key: str
    cert: str
    chain: str


#: The files of an C{ssl:} endpoint string.
ENDPOINT_OPTIONS = FileOptions("privateKey=", "certKey=", "extraCertChain=")

#: The files of C{--tls-cert}, C{--tls-key} and C{--tls-chain}.
TLS_OPTIONS = FileOptions("--tls-key", "--tls-cert", "--tls-chain")


def _label(what: str, path: str, option: str | None) -> str:
    return f"{what} {path!r}" + (f" ({option})" if option else "")


def _readPEM(path: str, what: str, option: str | None) -> bytes:
    label = _label(what, path, option)
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise ConfigError(f"{label} does not exist") from None
    except PermissionError:
        raise ConfigError(
            f"{label} is not readable by this user; fix its permissions"
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"{label} is a directory, not a file") from None
    except OSError as e:
        raise ConfigError(f"cannot read {label}: {e.strerror}") from None


def _loadCertificates(path: str, option: str | None) -> list[x509.Certificate]:
    pem = _readPEM(path, "certificate file", option)
    try:
        return x509.load_pem_x509_certificates(pem)
    except ValueError:
        raise ConfigError(
            f"{_label('certificate file', path, option)} holds no PEM "
            f"certificate (expected '-----BEGIN CERTIFICATE-----')"
        ) from None


def loadKeyAndChain(
    keyPath: str,
    certPath: str,
    chainPath: str | None = None,
    options: FileOptions | None = None,
) -> KeyAndChain:
    """
    Load and check a key and its certificate(s) from PEM files.

    The certificate file may be a full chain (leaf first, as certbot writes
    C{fullchain.pem}); C{chainPath} adds more intermediates.  Everything that
    can be wrong with these files is caught here, at start-up, with a sentence
    that names the file, rather than as an OpenSSL error on the first
    handshake.

    @param options: how the operator named the files, for the messages
        (L{ENDPOINT_OPTIONS}, L{TLS_OPTIONS}); L{None} for files h2site
        made itself.
    @raise ConfigError: if a file is missing, unreadable, not PEM, encrypted,
        or the key does not belong to the certificate.
    """
    keyOption = options.key if options else None
    certOption = options.cert if options else None
    keyLabel = _label("private key", keyPath, keyOption)
    keyPEM = _readPEM(keyPath, "private key file", keyOption)
    try:
        key = serialization.load_pem_private_key(keyPEM, password=None)
    except TypeError:
        raise ConfigError(
            f"{keyLabel} is encrypted with a passphrase; "
            f"h2site needs an unencrypted key readable only by its user"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigError(
            f"{_label('private key file', keyPath, keyOption)} holds no PEM "
            f"private key (expected '-----BEGIN ... PRIVATE KEY-----')"
        ) from None
    certificates = _loadCertificates(certPath, certOption)
    if chainPath is not None:
        certificates += _loadCertificates(chainPath, options.chain if options else None)
    leaf = certificates[0]
    if not isinstance(key, _SIGNING_KEYS):
        raise ConfigError(f"{keyLabel} cannot sign; TLS needs RSA or EC")
    publicBytes = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    leafBytes = leaf.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if publicBytes != leafBytes:
        raise ConfigError(
            f"{keyLabel} does not match "
            f"{_label('certificate', certPath, certOption)}; "
            f"give the key the certificate was issued for"
        )
    return KeyAndChain(key=key, certificate=leaf, chain=tuple(certificates[1:]))


def isExpired(certificate: x509.Certificate, now: datetime) -> bool:
    """
    Whether C{now} is outside the certificate's validity period.
    """
    return not (
        certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc
    )


def fingerprint(certificate: x509.Certificate) -> str:
    """
    The SHA-256 fingerprint as browsers show it: colon-separated hex pairs.
    """
    return certificate.fingerprint(hashes.SHA256()).hex(":").upper()


#: TLS-ALPN-01 challenge certificates by (lower-case) name.
ChallengeCertificates = Mapping[str, KeyAndChain]


class _PolicyOptions(CertificateOptions):
    """
    C{CertificateOptions} that also limits the key-exchange groups.

    pyOpenSSL has no public call for this (only C{set_tmp_ecdh}, which
    allows a single curve and so would drop X25519), so the OpenSSL
    function is called through pyOpenSSL's bindings; if a pyOpenSSL release
    stops exposing it, the context keeps OpenSSL's defaults, which are
    still all forward-secret.
    """

    _groupsSet = False
    #: The TLS-ALPN-01 challenge certificates by name, or L{None} when
    #: ACME does not answer on this listener.
    challenges: ChallengeCertificates | None = None

    def getContext(self) -> SSL.Context:
        ctx: SSL.Context = super().getContext()
        if not self._groupsSet:
            self._groupsSet = True
            setGroups = getattr(_openssl.lib, "SSL_CTX_set1_curves_list", None)
            raw = getattr(ctx, "_context", None)
            if setGroups is not None and raw is not None:
                setGroups(raw, GROUPS)
            if self.challenges is not None:
                ctx.set_alpn_select_callback(self._selectProtocol)
        return ctx

    def _selectProtocol(self, conn: Connection, offered: list[bytes]) -> bytes:
        """
        Twisted's choice (the first of L{ALPN_PROTOCOLS} offered), except
        for a CA validating a name with TLS-ALPN-01: then the challenge
        certificate is put on this one connection, before OpenSSL sends
        any (the ALPN choice comes first in the handshake).
        """
        if ACME_TLS_ALPN in offered and self.challenges:
            name = (conn.get_servername() or b"").decode("ascii", "replace").lower()
            material = self.challenges.get(name)
            if material is not None:
                conn.use_certificate(material.certificate)
                conn.use_privatekey(material.key)
                return ACME_TLS_ALPN
        return next((p for p in ALPN_PROTOCOLS if p in offered), b"")


def certificateOptions(
    material: KeyAndChain, challenges: ChallengeCertificates | None = None
) -> CertificateOptions:
    """
    The server side of h2site's TLS policy: TLS 1.2 and 1.3 only, ECDHE with
    AEAD ciphers on TLS 1.2 over the groups in L{GROUPS}, and ALPN offering
    C{h2} before C{http/1.1}.

    @param challenges: TLS-ALPN-01 certificates by name, which the ACME
        service fills while a CA validates (L{ACME_TLS_ALPN}).
    """
    options = _PolicyOptions(
        privateKey=crypto.PKey.from_cryptography_key(material.key),
        certificate=crypto.X509.from_cryptography(material.certificate),
        extraCertChain=[crypto.X509.from_cryptography(c) for c in material.chain],
        raiseMinimumTo=TLSVersion.TLSv1_2,
        acceptableCiphers=_ciphers(),
        acceptableProtocols=ALPN_PROTOCOLS,
        # A server-side session cache lets a returning client skip the full
        # handshake (as Mozilla's configurations do).  Session tickets stay
        # off (Twisted's default): their key would live as long as the
        # process, undoing forward secrecy for every resumed session.
        enableSessions=True,
    )
    options.challenges = challenges
    return options


def utcNow() -> datetime:
    """
    The current time, timezone-aware, for certificate validity checks.
    """
    return datetime.now(UTC)


def _ciphers() -> IAcceptableCiphers:
    return AcceptableCiphers.fromOpenSSLCipherString(  # type: ignore[no-any-return]
        TLS12_CIPHERS
    )


@implementer(IOpenSSLServerConnectionCreator)
class ReloadableTLS:
    """
    The TLS settings of one listener, replaceable while it serves.

    A reload (or a renewed certificate) swaps C{options}; connections
    already open keep the context they were made with, and every new
    handshake gets the new certificate.
    """

    def __init__(
        self, material: KeyAndChain, challenges: ChallengeCertificates | None = None
    ) -> None:
        self.material = material
        self._challenges = challenges
        self.options = certificateOptions(material, challenges)

    def replace(self, material: KeyAndChain) -> None:
        """
        Use C{material} for every new connection from now on.
        """
        options = certificateOptions(material, self._challenges)
        self.material, self.options = material, options

    def serverConnectionForTLS(self, tlsProtocol: TLSMemoryBIOProtocol) -> Connection:
        return self.options.serverConnectionForTLS(tlsProtocol)
