# -*- test-case-name: tests.unit.web.test_headers -*-
"""
The headers every response carries: the security headers browsers act on,
and the operator's own (C{--header}).

They are on by default because the safe choice should cost nothing: C{nosniff}
stops a browser from running a file as a type it was not served as,
C{Referrer-Policy} keeps full URLs from leaking to other sites, and HSTS
(only on TLS responses, where it means anything) keeps later visits on HTTPS.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from twisted.web.http_headers import Headers

__all__ = [
    "DEFAULT_HSTS_MAX_AGE",
    "MANAGED_HEADERS",
    "HeaderPolicy",
    "buildHeaderPolicy",
    "isFieldName",
    "isFieldValue",
]

#: Two years, as the HSTS preload list asks.
DEFAULT_HSTS_MAX_AGE = 63072000

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
#: Visible ASCII, spaces and tabs inside; nothing that could end the line.
_VALUE = re.compile(r"[\x21-\x7e]([\x20-\x7e\t]*[\x21-\x7e])?")

#: Headers h2site computes per response, in lower case: setting them for
#: every response would break framing, negotiation or caching.  C{Server}
#: too, which h2site never sends.
MANAGED_HEADERS = frozenset(
    {
        "accept-ranges",
        "cache-control",
        "connection",
        "content-encoding",
        "content-length",
        "content-range",
        "content-type",
        "date",
        "etag",
        "keep-alive",
        "last-modified",
        "link",
        "location",
        "proxy-connection",
        "server",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "vary",
    }
)


def isFieldName(name: str) -> bool:
    """
    Whether C{name} is a header field name (an RFC 9110 token).
    """
    return _TOKEN.fullmatch(name) is not None


def isFieldValue(value: str) -> bool:
    """
    Whether C{value} can be sent as a header field value as it is: printable
    ASCII, no line break that would end the field, no space at either end.
    """
    return _VALUE.fullmatch(value) is not None


@dataclass(frozen=True)
class HeaderPolicy:
    """
    Headers for every response.

    @ivar always: on every response.
    @ivar secure: only on responses over TLS.
    """

    always: tuple[tuple[bytes, tuple[bytes, ...]], ...]
    secure: tuple[tuple[bytes, tuple[bytes, ...]], ...]

    def apply(self, headers: Headers, isSecure: bool) -> None:
        """
        Set the policy's headers on a response.
        """
        for name, values in self.always:
            headers.setRawHeaders(name, list(values))
        if isSecure:
            for name, values in self.secure:
                headers.setRawHeaders(name, list(values))


def buildHeaderPolicy(
    hstsMaxAge: int, csp: str | None, extra: Sequence[tuple[str, str]]
) -> HeaderPolicy:
    """
    The policy from the options: the defaults, C{extra} replacing any
    default of the same name, and several C{extra} of one name kept in
    order as separate field lines.

    The names and values were checked when the options were read
    (L{h2site.config}), with L{isFieldName} and L{isFieldValue}.

    @param hstsMaxAge: seconds browsers should use only HTTPS; 0 sends no
        C{Strict-Transport-Security} at all.
    """
    defaults = {
        "x-content-type-options": ("X-Content-Type-Options", "nosniff"),
        "referrer-policy": ("Referrer-Policy", "strict-origin-when-cross-origin"),
    }
    if csp is not None:
        defaults["content-security-policy"] = ("Content-Security-Policy", csp)
    overridden = {name.lower() for name, _ in extra}
    pairs = [v for k, v in defaults.items() if k not in overridden] + list(extra)
    secure: tuple[tuple[bytes, tuple[bytes, ...]], ...] = ()
    if hstsMaxAge > 0:
        secure = ((b"Strict-Transport-Security", (b"max-age=%d" % hstsMaxAge,)),)
    grouped: dict[str, tuple[bytes, list[bytes]]] = {}
    for name, value in pairs:
        entry = grouped.setdefault(name.lower(), (name.encode("ascii"), []))
        entry[1].append(value.encode("ascii"))
    always = tuple((raw, tuple(values)) for raw, values in grouped.values())
    return HeaderPolicy(always, secure)
