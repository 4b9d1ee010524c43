# -*- test-case-name: tests.unit.preload.test_policy -*-
"""
When a page response announces its assets: the C{Link} header always (with
preload on), and a C{103 Early Hints} response first for navigations over
the protocols the operator allows.

Pure decisions on header values, so every rule is tested directly; the
settings they depend on come from the command line as one frozen value
(read and checked in L{h2site.config}).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

from h2site.preload.graph import PreloadLimits

__all__ = [
    "EARLY_HINTS_MODES",
    "EarlyHintsMode",
    "PreloadSettings",
    "bypassesCache",
    "earlyHintsAllowed",
    "isNavigation",
]

#: C{off}: never; C{h2}: over HTTP/2 and HTTP/3 only (the default: some
#: HTTP/1.1 clients and proxies mishandle a 1xx response before the final
#: one); C{all}: over HTTP/2, HTTP/3 and HTTP/1.1.  Never over HTTP/1.0,
#: which has no 1xx.
EarlyHintsMode = Literal["off", "h2", "all"]
EARLY_HINTS_MODES: tuple[EarlyHintsMode, ...] = get_args(EarlyHintsMode)


@dataclass(frozen=True)
class PreloadSettings:
    """
    How pages announce their assets.

    @ivar enabled: Whether pages announce anything (C{--no-preload}).
    @ivar earlyHints: When a C{103 Early Hints} precedes a page.
    @ivar limits: How far discovery goes and how much is announced.
    """

    enabled: bool = True
    earlyHints: EarlyHintsMode = "h2"
    limits: PreloadLimits = field(default_factory=PreloadLimits)


def _firstToken(value: bytes) -> bytes:
    """
    A header value trimmed and lowercased, for comparing tokens.
    """
    return value.strip(b" \t").lower()


def _namesHTML(accept: bytes) -> bool:
    """
    Whether an C{Accept} value lists C{text/html} with a non-zero quality;
    C{*/*} does not count, since every kind of fetch sends it.
    """
    for item in accept.split(b","):
        mediaRange, _, parameters = item.partition(b";")
        if _firstToken(mediaRange) != b"text/html":
            continue
        quality = b"1"
        for parameter in parameters.split(b";"):
            name, _, value = parameter.partition(b"=")
            if _firstToken(name) == b"q":
                quality = _firstToken(value)
        try:
            if float(quality) > 0:
                return True
        except ValueError:
            continue
    return False


def isNavigation(secFetchMode: bytes | None, accept: bytes | None) -> bool:
    """
    Whether a request is a browser navigating to the page (the only request
    a browser acts on an Early Hints response for).

    @param secFetchMode: The C{Sec-Fetch-Mode} header, which every current
        browser sends: a navigation is C{navigate}.
    @param accept: The C{Accept} header, consulted only without
        C{Sec-Fetch-Mode} (older browsers): a navigation names
        C{text/html}.
    """
    if secFetchMode is not None:
        return _firstToken(secFetchMode) == b"navigate"
    return accept is not None and _namesHTML(accept)


def bypassesCache(cacheControl: bytes | None, pragma: bytes | None) -> bool:
    """
    Whether a navigation asks for a load that bypasses the browser's cache
    (a hard reload, or DevTools' "Disable cache"): C{Cache-Control} with
    C{no-cache} or C{no-store}, or, without C{Cache-Control}, C{Pragma:
    no-cache}.

    A browser keeps what a 103 preloads in its HTTP cache, which such a load
    does not read: it would fetch every hinted asset twice.  The C{Link}
    header of the final response still preloads them, once.
    """
    if cacheControl is not None:
        directives = {
            _firstToken(item.partition(b"=")[0]) for item in cacheControl.split(b",")
        }
        return bool(directives & {b"no-cache", b"no-store"})
    return pragma is not None and _firstToken(pragma) == b"no-cache"


def earlyHintsAllowed(mode: EarlyHintsMode, clientproto: bytes) -> bool:
    """
    Whether C{mode} allows a C{103} on a request made with C{clientproto}
    (C{b"HTTP/3"}, C{b"HTTP/2"}, C{b"HTTP/1.1"}, C{b"HTTP/1.0"}, as Twisted
    and h2site's HTTP/3 report it).
    """
    if mode == "off":
        return False
    if clientproto in (b"HTTP/2", b"HTTP/3"):
        return True
    return mode == "all" and clientproto == b"HTTP/1.1"
