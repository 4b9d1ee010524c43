# -*- test-case-name: tests.unit.acme.test_service -*-
"""
What an order hands from the ACME client (L{h2site.acme.client}, which
imports the C{acme} library) to the service: the challenges to answer, and
the one-line error.  Apart, so that starting h2site does not import that
library until a certificate is due.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["AcmeError", "Challenge", "PendingOrder"]


class AcmeError(Exception):
    """
    The CA could not be reached, or refused: the message is one line.
    """


@dataclass(frozen=True)
class Challenge:
    """
    One challenge to answer: for HTTP-01, C{keyAuthorization} is the body
    of C{/.well-known/acme-challenge/<token>}; for TLS-ALPN-01, its digest
    goes in the challenge certificate for C{domain}.
    """

    domain: str
    kind: str
    token: str
    keyAuthorization: str
    body: Any


@dataclass(frozen=True)
class PendingOrder:
    """
    An order whose challenges are to be answered, with the key its
    certificate will have.
    """

    order: Any
    keyPEM: bytes
    challenges: tuple[Challenge, ...]
