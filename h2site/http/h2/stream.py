# -*- test-case-name: tests.unit.http.h2.test_stream,tests.unit.http.test_internals -*-
"""
One HTTP/2 stream as a request sees it: the request's channel.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from h2.errors import ErrorCodes
from twisted.internet._producer_helpers import _PullToPush
from twisted.internet.interfaces import (
    IAddress,
    IPushProducer,
)
from twisted.python.failure import Failure
from twisted.web import http
from twisted.web.http_headers import Headers
from zope.interface import implementer

from h2site.http.interfaces import IInformationalChannel
from h2site.http.producers import ProducerSlot

if TYPE_CHECKING:
    from h2site.http.h2.connection import H2Connection
    from h2site.http.h2.output import Output

__all__ = ["Stream"]


@implementer(IPushProducer, IInformationalChannel)
class Stream(ProducerSlot):
    """
    One HTTP/2 stream, as its L{twisted.web.server.Request} sees it: the
    request's C{channel}.

    The connection does all the work; this object holds the stream's state
    and forwards the calls a request makes to its channel.

    @ivar headers: the final response headers, waiting for the next pass
        (which can then merge END_STREAM into them when there is no body).
    @ivar chunks: response bytes not sent yet; C{buffered} is their length.
    @ivar finished: the request has finished writing its response.
    @ivar requestEnded: the client has sent all of its request.
    @ivar closed: the stream is done on our side (sent, reset, or lost).
    @ivar ready: the stream is in the connection's queue for the next pass.
    @ivar blocked: the stream waits for the peer to open its window.
    """

    #: A request copies its channel's transport; a stream has none of its own.
    transport = None

    # One per request: slots make them smaller and quicker to set up.
    __slots__ = (
        "_conn",
        "_out",
        "blocked",
        "buffered",
        "chunks",
        "closed",
        "command",
        "factory",
        "finished",
        "headers",
        "headersSent",
        "path",
        "ready",
        "received",
        "request",
        "requestEnded",
        "site",
        "streamID",
    )

    def __init__(
        self,
        connection: H2Connection,
        streamID: int,
        requestFactory: Callable[..., http.Request],
        site: Any,
    ) -> None:
        self.streamID = streamID
        self.site = site
        self.factory = site
        self._conn = connection
        self._out: Output = connection.output
        self.command = b""
        self.path = b""
        self.headers: list[tuple[bytes, bytes]] | None = None
        self.headersSent = False
        self.chunks: deque[bytes | memoryview] = deque()
        self.buffered = 0
        self.received = 0
        self.finished = False
        self.requestEnded = False
        self.closed = False
        self.ready = False
        self.blocked = False
        self.producer: IPushProducer | None = None
        self.producerPaused = False
        self._pullProducer: _PullToPush | None = None
        self.request = requestFactory(self, queued=False)

    def take(self, size: int) -> bytes | memoryview:
        """
        Remove and return the first C{size} buffered bytes.
        """
        chunks = self.chunks
        first = chunks[0]
        if len(first) == size:
            chunks.popleft()
            self.buffered -= size
            return first
        if len(first) > size:
            view = first if isinstance(first, memoryview) else memoryview(first)
            chunks[0] = view[size:]
            self.buffered -= size
            return view[:size]
        parts = []
        left = size
        while left:
            chunk = chunks[0]
            if len(chunk) <= left:
                parts.append(chunks.popleft())
                left -= len(chunk)
            else:
                view = chunk if isinstance(chunk, memoryview) else memoryview(chunk)
                parts.append(view[:left])
                chunks[0] = view[left:]
                left = 0
        self.buffered -= size
        return b"".join(parts)

    # What twisted.web.http.Request calls on its channel.

    def getPeer(self) -> IAddress:
        return self._conn.peer

    def getHost(self) -> IAddress:
        return self._conn.host

    def isSecure(self) -> bool:
        return self._conn.secure

    def writeHeaders(
        self, version: bytes, code: bytes, reason: bytes, headers: Headers
    ) -> None:
        self._out.writeHeaders(self, code, headers)

    def write(self, data: bytes) -> None:
        self._out.writeData(self, data)

    def writeSequence(self, iovec: Iterable[bytes]) -> None:
        for data in iovec:
            self._out.writeData(self, data)

    def writeInformational(
        self, code: int, headers: Sequence[tuple[bytes, bytes]]
    ) -> bool:
        """
        Send an informational (1xx) response before the final one.

        @return: L{False} if it is too late (the final headers are written).
        """
        return self._out.writeInformational(self, code, headers)

    def requestDone(self, request: http.Request) -> None:
        self._out.requestDone(self)

    def loseConnection(self) -> None:
        # A request "closing its connection" ends its own response only.
        self._out.requestDone(self)

    def abortConnection(self) -> None:
        self._conn.resetStream(self, ErrorCodes.CANCEL)

    def _respondToBadRequestAndDisconnect(self) -> None:
        self._conn.refuseStream(self, b"400")

    # The request body is never paused: it is small and bounded.

    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        self._conn.resetStream(self, ErrorCodes.CANCEL)

    def lost(self, reason: Failure) -> None:
        """
        The stream ended without its response: reset, or connection lost.
        """
        if self.closed:
            return
        self.closed = True
        # The access log reports the bytes that really left: what is still
        # buffered here never will.
        self.request.sentLength -= self.buffered
        self.chunks.clear()
        self.buffered = 0
        producer = self.producer
        if producer is not None:
            self.unregisterProducer()
            producer.stopProducing()
        if not self.finished:
            self.request.connectionLost(reason)
