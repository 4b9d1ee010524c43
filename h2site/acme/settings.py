# -*- test-case-name: tests.unit.acme.test_settings -*-
"""
What the C{--acme-*} options say: the names, the CA, the contact and the
agreement to the CA's terms, checked into one frozen L{AcmeSettings}.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from h2site.errors import ConfigError

__all__ = [
    "DIRECTORIES",
    "LETS_ENCRYPT",
    "AcmeSettings",
    "parseDirectory",
    "parseDomain",
    "parseEmail",
    "stateFolderName",
]

#: Let's Encrypt's production directory: the default CA.
LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"

#: Shorthands accepted by C{--acme-directory}.
DIRECTORIES = {
    "letsencrypt": LETS_ENCRYPT,
    "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
}

_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def parseDomain(value: str) -> str:
    """
    Read one C{--acme-domain}: a DNS name of at least two labels, lower
    case (international names in their C{xn--} form).

    @raise ConfigError: for a wildcard (only DNS-01 proves those), an IP
        address, or anything that is not a host name.
    """
    name = value.strip().lower().rstrip(".")
    if name.startswith("*."):
        raise ConfigError(
            f"--acme-domain {value!r}: wildcard names need the DNS-01 "
            f"challenge, which h2site does not answer; name each host"
        )
    labels = name.split(".")
    if (
        len(name) > 253
        or len(labels) < 2
        or not all(_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ConfigError(
            f"--acme-domain {value!r} is not a host name such as example.org"
        )
    return name


def parseEmail(value: str) -> str:
    """
    Read C{--acme-email}: the address the CA writes to about the account.

    @raise ConfigError: if it is not C{name@host}.
    """
    email = value.strip()
    local, at, host = email.rpartition("@")
    if not at or not local or "." not in host or re.search(r"[\s,<>]", email):
        raise ConfigError(
            f"--acme-email {value!r} is not an address like ops@example.org"
        )
    return email


def parseDirectory(value: str) -> str:
    """
    Read C{--acme-directory}: an C{https://} URL of an ACME directory, or a
    shorthand of L{DIRECTORIES}.

    @raise ConfigError: for anything else.
    """
    given = value.strip()
    if given.lower() in DIRECTORIES:
        return DIRECTORIES[given.lower()]
    parts = urlsplit(given)
    if parts.scheme != "https" or not parts.hostname:
        names = ", ".join(DIRECTORIES)
        raise ConfigError(
            f"--acme-directory {value!r} is not an https:// URL of an ACME "
            f"directory (or one of {names})"
        )
    return given


def stateFolderName(directory: str) -> str:
    """
    The folder of the state folder's C{acme/} that keeps one CA's account
    and certificates: its host and path, readable
    (C{acme-v02.api.letsencrypt.org-directory}).
    """
    parts = urlsplit(directory)
    name = f"{parts.netloc}{parts.path}".strip("/")
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name) or "acme"


@dataclass(frozen=True)
class AcmeSettings:
    """
    Automatic HTTPS, when C{domains} is not empty.

    @ivar domains: the names of the one certificate (all in it, the first
        as its file name), in the order given.
    @ivar email: the contact address the account is registered with.
    @ivar directory: the CA's directory URL.
    @ivar caBundle: PEM file of the CAs to trust for talking to the CA
        (a private one), or L{None} for the system's.
    @ivar agreed: whether the operator agreed to the CA's terms.
    @ivar folder: where this CA's account and certificates are kept
        (set from the state folder by L{h2site.config.build}).
    @ivar challenges: the kinds of challenge answered, in the order tried:
        C{http-01} on the C{--redirect} listeners, C{tls-alpn-01} on the
        TLS listeners (set by L{h2site.config.build}).
    """

    domains: tuple[str, ...] = ()
    email: str | None = None
    directory: str = LETS_ENCRYPT
    caBundle: str | None = None
    agreed: bool = False
    folder: str = ""
    challenges: tuple[str, ...] = ("http-01", "tls-alpn-01")

    @property
    def enabled(self) -> bool:
        return bool(self.domains)

    @property
    def certificatePath(self) -> Path:
        """
        The one file holding the key and the full chain: one file, so that
        replacing it is a single atomic rename and a reader never sees a
        new certificate with an old key.
        """
        return Path(self.folder) / f"{self.domains[0]}.pem"
