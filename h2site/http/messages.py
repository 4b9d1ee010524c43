# -*- test-case-name: tests.unit.http.test_messages -*-
"""
What both protocols share about requests they answer themselves: which
C{Host} values are hosts, the reasons of the statuses the protocol layer
sends, how a client is named in the log, and the access-log line of a
refused request.
"""

from __future__ import annotations

import re
from typing import Any

from twisted.web import http

__all__ = ["REASONS", "describePeer", "logRefused", "validHost"]

#: Reasons for the statuses the protocol layer answers by itself.
REASONS = {
    400: b"Bad Request",
    408: b"Request Timeout",
    413: b"Content Too Large",
    414: b"URI Too Long",
    431: b"Request Header Fields Too Large",
}


#: A valid C{Host} value (RFC 9112 section 3.2, RFC 3986 section 3.2.2): a
#: bracketed IP literal or a registered name (which covers IPv4), then an
#: optional port; empty is allowed (a target without authority).
_HOST_VALUE = re.compile(
    rb"(?:\[[0-9A-Za-z:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?"
)


def validHost(value: bytes) -> bool:
    """
    Whether C{value} may be the C{Host} of a request (or the C{:authority}
    of an HTTP/2 one): RFC 9112 requires a 400 for anything else, and a
    server that uses the value (in a redirect, in a log) must not take
    spaces, slashes or control bytes from it.
    """
    return _HOST_VALUE.fullmatch(value) is not None


def describePeer(address: object) -> str:
    """
    A client's address as a log line shows it: C{192.0.2.7:50122},
    C{[2001:db8::1]:50122}, or what a Unix socket has.
    """
    host = getattr(address, "host", None)
    if host is None:
        return str(address)
    port = getattr(address, "port", None)
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}" if port is not None else shown


def logRefused(
    site: Any,
    request: http.Request,
    method: bytes,
    uri: bytes,
    protocol: bytes,
    status: int,
    size: int = 0,
) -> None:
    """
    Write the access-log line of a request the protocol layer answered by
    itself (400, 408, 413, 414, 431), as the site logs any other: operators
    (and fail2ban) must see them.  The request is marked finished, so it is
    not logged again when its connection is lost.
    """
    request.method = method
    request.uri = uri
    request.path = uri.split(b"?", 1)[0]
    request.clientproto = protocol
    request.code = status
    request.startedWriting = 1
    request.sentLength = size
    request.finished = 1
    site.log(request)
