# -*- test-case-name: tests.test_earlyhints -*-
"""
Send a C{103 Early Hints} response ahead of the final one.

Kept to one public function so that it can be swapped for the HTTP/2
connection's own helper.
"""

from __future__ import annotations

from collections.abc import Sequence

from twisted.web.server import Request

__all__ = ["sendEarlyHints"]


def sendEarlyHints(request: Request, links: Sequence[bytes]) -> None:
    """
    Send C{103 Early Hints} with C{links} as C{Link} header lines, if the
    response has not started and the request's protocol has 1xx responses.
    """
    if request.startedWriting or not links:
        return
    if request.clientproto == b"HTTP/1.1" and request.transport is not None:
        request.transport.write(
            b"HTTP/1.1 103 Early Hints\r\n"
            + b"".join(b"Link: " + link + b"\r\n" for link in links)
            + b"\r\n"
        )
