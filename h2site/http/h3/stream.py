# -*- test-case-name: tests.unit.http.h3.test_listener -*-
"""
One HTTP/3 request stream as a request sees it: the request's channel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from twisted.internet._producer_helpers import _PullToPush
from twisted.internet.interfaces import IAddress, IPushProducer
from twisted.python.failure import Failure
from twisted.web import http
from twisted.web.http_headers import Headers
from zope.interface import implementer

from h2site.http.h2.validation import CONNECTION_HEADERS
from h2site.http.interfaces import IInformationalChannel
from h2site.http.producers import ProducerSlot

if TYPE_CHECKING:
    from h2site.http.h3.session import QuicSession

__all__ = ["H3Stream"]


@implementer(IPushProducer, IInformationalChannel)
class H3Stream(ProducerSlot):
    """
    One HTTP/3 request stream, as its L{twisted.web.server.Request} sees
    it: the request's C{channel}.  It hands what the request writes to the
    connection's C{H3Connection}; the session sends it in its next pass.

    @ivar received: request body bytes received so far.
    @ivar headersSent: the final response headers are written.
    @ivar finished: the request has finished writing its response.
    @ivar closed: the stream is done on our side (sent, reset, or lost).
    """

    #: A request copies its channel's transport; a stream has none of its own.
    transport = None

    def __init__(
        self,
        session: QuicSession,
        streamID: int,
        requestFactory: Callable[..., http.Request],
        site: Any,
    ) -> None:
        self.streamID = streamID
        self.site = site
        self.factory = site
        self._session = session
        self.command = b""
        self.path = b""
        self.received = 0
        self.requestEnded = False
        self.headersSent = False
        self.finished = False
        self.closed = False
        self.producer: IPushProducer | None = None
        self.producerPaused = False
        self._pullProducer: _PullToPush | None = None
        self.request = requestFactory(self, queued=False)

    # What twisted.web.http.Request calls on its channel.

    def getPeer(self) -> IAddress:
        return self._session.peer

    def getHost(self) -> IAddress:
        return self._session.host

    def isSecure(self) -> bool:
        return True

    def writeHeaders(
        self, version: bytes, code: bytes, reason: bytes, headers: Headers
    ) -> None:
        if self.closed:
            return
        fields = [(b":status", code)]
        for name, values in headers.getAllRawHeaders():
            name = name.lower()
            if name in CONNECTION_HEADERS:
                continue
            fields.extend((name, value) for value in values)
        self.headersSent = True
        self._session.sendHeaders(self, fields, False)

    def write(self, data: bytes) -> None:
        if data and not self.closed:
            self._session.sendData(self, data, False)

    def writeSequence(self, iovec: Iterable[bytes]) -> None:
        self.write(b"".join(iovec))

    def writeInformational(
        self, code: int, headers: Sequence[tuple[bytes, bytes]]
    ) -> bool:
        """
        Send an informational (1xx) response before the final one.

        @return: L{False} if it is too late (the final headers are written)
            or the stream is gone.
        """
        if self.headersSent or self.closed or not 100 <= code < 200:
            return False
        fields = [(b":status", str(code).encode("ascii"))]
        fields.extend((name.lower(), value) for name, value in headers)
        self._session.sendHeaders(self, fields, False)
        return True

    def requestDone(self, request: http.Request) -> None:
        if self.finished or self.closed:
            return
        self.finished = True
        self._session.sendData(self, b"", True)
        self._session.streamDone(self)

    def loseConnection(self) -> None:
        # A request "closing its connection" ends its own response only.
        self.requestDone(self.request)

    def abortConnection(self) -> None:
        self._session.resetStream(self)

    def _respondToBadRequestAndDisconnect(self) -> None:
        self._session.refuseStream(self, b"400")

    def pauseResponse(self) -> None:
        """
        The session holds too much of this response: stop its producer.
        """
        if self.producer is not None and not self.producerPaused:
            self.producerPaused = True
            self.producer.pauseProducing()

    def resumeResponse(self) -> None:
        if self.producer is not None and self.producerPaused:
            self.producerPaused = False
            self.producer.resumeProducing()

    # The request body is never paused: it is small and bounded.

    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        self._session.resetStream(self)

    def lost(self, reason: Failure) -> None:
        """
        The stream ended without its response: reset, or connection lost.
        """
        if self.closed:
            return
        self.closed = True
        producer = self.producer
        if producer is not None:
            self.unregisterProducer()
            producer.stopProducing()
        if not self.finished:
            self.request.connectionLost(reason)
