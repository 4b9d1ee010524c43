# -*- test-case-name: tests.unit.http.test_h1,tests.unit.http.test_internals -*-
"""
h2site's HTTP/1.1 channel: Twisted's, with the limits a public server
needs, graceful shutdown and informational responses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from twisted.internet.interfaces import (
    IAddress,
    IDelayedCall,
    IPushProducer,
    IReactorTime,
)
from twisted.internet.protocol import connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import http
from zope.interface import implementer

from h2site.http.interfaces import IInformationalChannel
from h2site.http.limits import ConnectionLimits
from h2site.http.messages import REASONS, describePeer, logRefused, validHost

__all__ = ["HTTP11Channel"]

_log = Logger(namespace="h2site.http")


@implementer(IPushProducer, IInformationalChannel)
class HTTP11Channel(http.HTTPChannel):
    """
    Twisted's HTTP/1.1 channel, with the limits a public server needs, plus
    graceful shutdown and informational responses.

    What it changes, and why:

     - B{Pipelining is bounded.}  Twisted answers the next pipelined request
       as soon as the previous response is handed to the transport, whether
       or not the client reads: a client that sends 300 requests and reads
       nothing had every response buffered.  Here the next request waits
       until the transport has drained, so a connection holds one response
       in progress, and reading stops once 16 KiB of requests are waiting.
     - B{A request head has a deadline} (L{ConnectionLimits.headerTimeout})
       from its first byte; every byte resets Twisted's idle timeout, so a
       client trickling a header byte at a time was never closed.  408 then.
     - B{Oversized requests get a status}: 414 for a request line over
       L{ConnectionLimits.maxLineLength}, 431 for a longer header field
       line, too many fields or a head over
       L{ConnectionLimits.maxHeaderListSize}, 413 for a body over
       L{ConnectionLimits.maxRequestBodySize} (Twisted would spool any size
       to a temporary file).
     - B{C{Host} is required} on HTTP/1.1 (RFC 9112 section 3.2): missing,
       repeated or invalid, it gets 400.
     - B{A stalled reader is closed}: while a response waits for the client
       to read, the idle timeout runs (Twisted switches it off for the whole
       response).

    Every such rejection is a complete response with C{Connection: close},
    written to the access log like any other, and the connection closes
    (aborted if the client does not take the response within
    L{ConnectionLimits.closeTimeout}).
    """

    _host: IAddress | None = None
    #: When the request head being read began, or L{None} between heads.
    _headSince: float | None = None
    _headCall: IDelayedCall | None = None
    _closeCall: IDelayedCall | None = None
    #: A response is done, and the next pipelined request waits for the
    #: transport to drain (C{_handlingRequest} stays set meanwhile, so what
    #: arrives is buffered).
    _held = False
    #: A rejection was sent; everything that follows is ignored.
    _rejected = False
    _bodyReceived = 0

    def __init__(self, limits: ConnectionLimits, clock: IReactorTime) -> None:
        super().__init__()
        self._limits = limits
        self._clock = clock
        self.MAX_LENGTH = limits.maxLineLength
        self.totalHeadersSize = limits.maxHeaderListSize
        self.maxHeaders = limits.maxHeaderFields

    def getHost(self) -> IAddress:
        # Every request asks; for TCP each answer was a getsockname() call.
        if self._host is None:
            assert self.transport is not None
            self._host = self.transport.getHost()
        return self._host

    # Reading requests.

    def dataReceived(self, data: bytes) -> None:
        if self._rejected:
            return
        if self._headSince is None and self.line_mode and not self._handlingRequest:
            self._headSince = self._clock.seconds()
            if self._headCall is None:
                self._headCall = self._clock.callLater(
                    self._limits.headerTimeout, self._checkHead
                )
        super().dataReceived(data)

    def lineLengthExceeded(self, line: bytes) -> None:
        # The request line still being read: no _command yet.
        self._reject(431 if hasattr(self, "_command") else 414)

    def allHeadersReceived(self) -> None:
        self._headSince = None
        if self._rejected:
            return
        request = self.requests[-1]
        if self._version == b"HTTP/1.1":
            hosts = request.requestHeaders.getRawHeaders(b"host")
            if hosts is None or len(hosts) != 1 or not validHost(hosts[0]):
                self._reject(400)
                return
        length = self.length
        if length is not None and length > self._limits.maxRequestBodySize:
            self._reject(413)
            return
        super().allHeadersReceived()
        if length is None and self._transferDecoder is not None:
            # Chunked: the size is known only as the body arrives.
            self._bodyReceived = 0
            self._transferDecoder.dataCallback = self._countBody(
                self._transferDecoder.dataCallback
            )

    def _countBody(self, deliver: Callable[[bytes], None]) -> Callable[[bytes], None]:
        limit = self._limits.maxRequestBodySize

        def count(data: bytes) -> None:
            self._bodyReceived += len(data)
            if self._bodyReceived > limit:
                self._reject(413)
            elif not self._rejected:
                deliver(data)

        return count

    def rawDataReceived(self, data: bytes) -> None:
        if self._rejected:
            return
        if self._handlingRequest:
            # Pipelined requests wait here.  Twisted stops reading past
            # 16 KiB only while the transport is not full itself, so a
            # client that sends requests and reads nothing could fill this
            # without end.
            self._dataBuffer.append(data)
            if sum(map(len, self._dataBuffer)) > self._optimisticEagerReadSize:
                self._networkProducer.pauseProducing()
            return
        super().rawDataReceived(data)

    def allContentReceived(self) -> None:
        if not self._rejected:
            super().allContentReceived()

    def _respondToBadRequestAndDisconnect(self) -> None:
        # Twisted's one answer to everything it refuses; the head's size and
        # field count say when the trouble is a limit.
        tooLarge = (
            self._receivedHeaderSize > self.totalHeadersSize
            or self._receivedHeaderCount > self.maxHeaders
        )
        self._reject(431 if tooLarge else 400)

    def _checkHead(self) -> None:
        self._headCall = None
        since = self._headSince
        if since is None or self._rejected:
            return
        left = since + self._limits.headerTimeout - self._clock.seconds()
        if left > 0:
            self._headCall = self._clock.callLater(left, self._checkHead)
            return
        _log.info(
            "closing HTTP/1.1 connection from {peer}: request head not "
            "complete within {timeout:g} s",
            peer=describePeer(self.getPeer()),
            timeout=self._limits.headerTimeout,
        )
        self._reject(408)

    def _reject(self, status: int) -> None:
        """
        Answer a request that will not be processed with C{status}, log it,
        and close the connection.
        """
        if self._rejected:
            return
        self._rejected = True
        self._headSince = None
        self.persistent = False
        self.setTimeout(None)
        reason = REASONS[status]
        body = b"%d %s\n" % (status, reason)
        assert self.transport is not None
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s"
            % (status, reason, len(body), body)
        )
        self._logRejected(status, len(body))
        self.loseConnection()
        self._closeCall = self._clock.callLater(
            self._limits.closeTimeout, self.abortConnection
        )

    def _logRejected(self, status: int, size: int) -> None:
        """
        Write the access-log line of a rejected request, with what is known
        of it: its request line once read, and the header fields so far.
        """
        if self.factory is None:
            return
        logRefused(
            self.factory,
            self.requests[-1] if self.requests else self.requestFactory(self),
            getattr(self, "_command", b"-"),
            getattr(self, "_path", b"-"),
            getattr(self, "_version", b"-"),
            status,
            size,
        )

    # Writing responses.

    def requestDone(self, request: http.Request) -> None:
        if request is not self.requests[0]:
            raise TypeError(request)
        del self.requests[0]
        if not self.persistent:
            self.loseConnection()
            return
        if self._savedTimeOut:
            self.setTimeout(self._savedTimeOut)
        if self._waitingForTransport:
            # The response is still in the transport's buffer: the next one
            # waits until the client has read it.
            self._held = True
            return
        self._nextRequest()

    def _nextRequest(self) -> None:
        self._held = False
        self._handlingRequest = False
        self._networkProducer.resumeProducing()
        data = b"".join(self._dataBuffer)
        self._dataBuffer = []
        self.setLineMode(data)

    def pauseProducing(self) -> None:
        super().pauseProducing()
        if self._handlingRequest and not self._held and self.timeOut is None:
            # The client stopped reading the response: it has the idle
            # timeout to read again.
            self.setTimeout(self._limits.idleTimeout)

    def resumeProducing(self) -> None:
        super().resumeProducing()
        if self._held:
            self._nextRequest()
        elif self._handlingRequest:
            self.setTimeout(None)

    def timeoutConnection(self) -> None:
        if self._handlingRequest:
            # Nothing the client would read can close it cleanly.
            _log.info(
                "closing HTTP/1.1 connection from {peer}: the client read "
                "nothing for {timeout:g} s",
                peer=describePeer(self.getPeer()),
                timeout=self._limits.idleTimeout,
            )
            self.abortConnection()
            return
        super().timeoutConnection()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        for call in (self._headCall, self._closeCall):
            if call is not None and call.active():
                call.cancel()
        self._headCall = self._closeCall = None
        super().connectionLost(reason)

    def abortConnection(self) -> None:
        """
        End the response in progress abruptly, as a request may on its
        channel (an HTTP/2 stream resets itself): over HTTP/1.1 only
        closing the connection tells the client the body is incomplete.
        """
        self._closeCall = None
        transport: Any = self.transport
        if transport is not None:
            transport.abortConnection()

    def shutdownGracefully(self) -> None:
        """
        Close once the response in progress is written (with
        C{Connection: close} if its headers are not out yet), or now if the
        connection is idle between requests.
        """
        if self._handlingRequest and self.requests:
            self.persistent = False
            request = self.requests[0]
            if not request.startedWriting:
                request.responseHeaders.setRawHeaders(b"connection", [b"close"])
        else:
            self.loseConnection()

    def writeInformational(
        self, code: int, headers: Sequence[tuple[bytes, bytes]]
    ) -> bool:
        """
        Write an informational (1xx) response before the final one, to an
        HTTP/1.1 client only (HTTP/1.0 has no 1xx).

        @return: L{False} if it cannot be sent.
        """
        if not self._handlingRequest or not self.requests:
            return False
        request = self.requests[0]
        if request.startedWriting or request.clientproto != b"HTTP/1.1":
            return False
        reason = http.RESPONSES.get(code, b"Early Hints" if code == 103 else b"")
        lines = [b"HTTP/1.1 %d %s\r\n" % (code, reason)]
        for name, value in headers:
            lines += [name.title(), b": ", value, b"\r\n"]
        lines.append(b"\r\n")
        assert self.transport is not None
        self.transport.writeSequence(lines)
        return True
