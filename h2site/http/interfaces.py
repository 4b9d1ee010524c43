# -*- test-case-name: tests.unit.http.test_earlyhints -*-
"""
What h2site's channels can do beyond Twisted's channel API, declared so that
code above the protocol layer asks a channel whether it can
(C{providedBy}) instead of probing for a method.
"""

from __future__ import annotations

from collections.abc import Sequence

from zope.interface import Interface

__all__ = ["IInformationalChannel"]


class IInformationalChannel(Interface):
    """
    A request's channel that can send informational (1xx) responses, such
    as C{103 Early Hints}, before the final response: h2site's HTTP/2
    stream and HTTP/1.1 channel.  Twisted's own channels cannot.
    """

    def writeInformational(code: int, headers: Sequence[tuple[bytes, bytes]]) -> bool:
        """
        Send an informational response ahead of the final one.

        @param code: its status, 100 to 199.
        @param headers: its header fields, names in any case.
        @return: L{False} if it was not sent: the final headers are already
            written, the client has gone, or it cannot take one (HTTP/1.0).
        """
