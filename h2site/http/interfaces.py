# -*- test-case-name: tests.unit.http.test_earlyhints -*-
"""
What h2site's channels can do beyond Twisted's channel API, declared so that
code above the protocol layer asks a channel whether it can
(C{providedBy}) instead of probing for a method; and what a site offers the
HTTP/2 connection for the requests it answers without C{twisted.web}'s
request machinery (L{HotResponder}).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from twisted.internet.interfaces import IAddress
from zope.interface import Interface

__all__ = ["HotRequest", "HotResponder", "HotResponse", "IInformationalChannel"]


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


@dataclass(slots=True)
class HotRequest:
    """
    A request that may need nothing but a cached response: a C{GET} or
    C{HEAD} with no body, read from its header fields.

    @ivar method: C{GET} or C{HEAD}.
    @ivar path: the request-target, query included.
    @ivar headers: its regular header fields by name (lowercase), each with
        its field lines in order, as a C{twisted.web} request would hold
        them (C{Host} from C{:authority} when absent, C{Cookie} joined).
    @ivar secure: whether it came over TLS.
    @ivar peer: the client's address.
    @ivar protocol: as C{twisted.web} names it, e.g. C{b"HTTP/2"}.
    @ivar started: when it arrived (C{time.monotonic}), for the log.
    """

    method: bytes
    path: bytes
    headers: Mapping[bytes, list[bytes]]
    secure: bool
    peer: IAddress
    protocol: bytes
    started: float


@dataclass(slots=True)
class HotResponse:
    """
    A complete response, ready to send as it is.

    @ivar fields: the final response's header fields, C{:status} first,
        names in lowercase, in the order they are sent.
    @ivar body: its body (empty for none, as for C{HEAD} or a 304).
    @ivar informational: the header fields of a C{103 Early Hints} to send
        first, or L{None} for none.
    """

    fields: list[tuple[bytes, bytes]]
    body: bytes | memoryview
    informational: Sequence[tuple[bytes, bytes]] | None = None


@runtime_checkable
class HotResponder(Protocol):
    """
    What a site offers a connection for requests that need nothing but a
    cached response: the connection asks before building a C{twisted.web}
    request, and builds one only when the answer is L{None}.

    A responder that answers has done everything the site does for the
    request besides sending the response (it is logged, for instance): the
    connection must send it.
    """

    def hotResponse(self, request: HotRequest) -> HotResponse | None:
        """
        The response to C{request}, or L{None} if it must take the general
        path (anything but the plainest requests).
        """
