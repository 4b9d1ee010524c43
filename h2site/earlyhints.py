# -*- test-case-name: tests.test_earlyhints -*-
"""
Send a C{103 Early Hints} response ahead of the final one.

One public function, so that what does the sending can change without
touching the page resource: the connection classes of L{h2site.http2} offer
C{writeInformational} on each request's channel (HTTP/2 streams and HTTP/1.1
connections alike); without them (Twisted's own HTTP/2), only HTTP/1.1 can
carry a 1xx, written ahead of the response on the request's transport.
"""

from __future__ import annotations

from collections.abc import Sequence

from twisted.web.server import Request

__all__ = ["sendEarlyHints"]


def sendEarlyHints(request: Request, links: Sequence[bytes]) -> None:
    """
    Send C{103 Early Hints} with C{links} as C{Link} header lines, if the
    final response has not started and the connection can carry a 1xx.

    Whether to send one at all (navigations, C{--early-hints}) is decided
    by the caller; HTTP/1.0 never gets one here either, as it has no 1xx.
    """
    if request.startedWriting or not links:
        return
    writeInformational = getattr(request.channel, "writeInformational", None)
    if writeInformational is not None:
        writeInformational(103, [(b"link", link) for link in links])
    elif request.clientproto == b"HTTP/1.1" and request.transport is not None:
        request.transport.write(
            b"HTTP/1.1 103 Early Hints\r\n"
            + b"".join(b"Link: " + link + b"\r\n" for link in links)
            + b"\r\n"
        )
