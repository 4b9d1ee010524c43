# -*- test-case-name: tests.unit.http.h3.test_listener -*-
"""
One QUIC connection and the HTTP/3 requests on it (L{QuicSession}): each
datagram the listener routes to it, and each of its timers, is one pass
that hands the datagram to C{aioquic}, turns the QUIC and HTTP/3 events
into C{twisted.web} requests (L{h2site.http.h3.stream.H3Stream}), and sends
what the connection has to send.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aioquic.buffer import encode_uint_var
from aioquic.h3.connection import (
    H3_ALPN,
    ErrorCode,
    FrameType,
    H3Connection,
    encode_frame,
)
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.connection import QuicConnection
from aioquic.quic.events import (
    ConnectionIdIssued,
    ConnectionIdRetired,
    ConnectionTerminated,
    HandshakeCompleted,
    ProtocolNegotiated,
    StopSendingReceived,
    StreamReset,
)
from h2.exceptions import ProtocolError
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IAddress, IDelayedCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from h2site.http.h2.validation import checkRequestHeaders, readRequestFields
from h2site.http.h3.guard import SessionGuard
from h2site.http.h3.stream import H3Stream
from h2site.http.messages import logRefused

if TYPE_CHECKING:
    from h2site.http.h3.listener import H3Listener

__all__ = ["QuicSession"]

_log = Logger(namespace="h2site.http")


class QuicSession:
    """
    One QUIC connection and the HTTP/3 requests on it.
    """

    def __init__(self, listener: H3Listener, quic: QuicConnection, addr: Any) -> None:
        self._listener = listener
        self.quic = quic
        self.addr = addr
        self.h3: H3Connection | None = None
        self.cids: set[bytes] = set()
        self.streams: dict[int, H3Stream] = {}
        self.handshaking = True
        self.closed = False
        #: The first request stream not served, once GOAWAY is sent.
        self.goneAway: int | None = None
        self._nextStreamID = 0
        self._timer: IDelayedCall | None = None
        self._flushing: IDelayedCall | None = None
        # A handshake holds one of MAX_HANDSHAKES places: it gets as long
        # as a TLS handshake over TCP, not the whole idle timeout.
        self._handshakeDeadline: IDelayedCall | None = listener.reactor.callLater(
            listener.limits.headerTimeout, self.close, "handshake not complete"
        )
        host, port = addr[0], addr[1]
        kind = IPv6Address if ":" in host else IPv4Address
        self.peer: IAddress = kind("UDP", host, port)
        self.host: IAddress = listener.host()
        # A stricter start than aioquic's 128: the HTTP/2 layer's limit.
        # aioquic raises it as streams close, by what it first announced.
        bidi = quic._local_max_streams_bidi
        bidi.value = bidi.sent = listener.limits.maxConcurrentStreams
        self.guard = SessionGuard(
            quic, listener.limits, listener.reactor, self._idleTimedOut
        )

    # Driving the connection

    def receive(self, data: bytes, addr: Any) -> None:
        self.addr = addr
        self.quic.receive_datagram(data, addr, self._listener.now())
        self._pass()

    def _timerFired(self) -> None:
        self._timer = None
        self.quic.handle_timer(self._listener.now())
        self._pass()

    def _pass(self) -> None:
        """
        Handle every pending event, then send.
        """
        quic = self.quic
        event = quic.next_event()
        while event is not None:
            self._quicEvent(event)
            event = quic.next_event()
        self.flush()

    def flushSoon(self) -> None:
        """
        Send what the streams wrote at the end of this reactor turn, in one
        pass for all their writes.
        """
        if self._flushing is None and not self.closed:
            self._flushing = self._listener.reactor.callLater(0, self._flushNow)

    def _flushNow(self) -> None:
        self._flushing = None
        self.flush()

    def flush(self) -> None:
        listener = self._listener
        now = listener.now()
        for data, addr in self.quic.datagrams_to_send(now):
            listener.send(data, addr)
        self.guard.measure(self.streams.values())
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        deadline = self.quic.get_timer()
        if deadline is not None and not self.closed:
            self._timer = listener.reactor.callLater(
                max(0.0, deadline - now), self._timerFired
            )

    def _idleTimedOut(self) -> None:
        _log.info("closing idle HTTP/3 connection from {peer}", peer=self.addr)
        self.close("idle timeout")

    def _quicEvent(self, event: Any) -> None:
        if self.closed:
            return
        listener = self._listener
        if isinstance(event, ProtocolNegotiated):
            if event.alpn_protocol in H3_ALPN:
                self.h3 = H3Connection(self.quic)
        elif isinstance(event, HandshakeCompleted):
            self._handshakeOver()
        elif isinstance(event, ConnectionIdIssued):
            self.cids.add(event.connection_id)
            listener.route(event.connection_id, self)
        elif isinstance(event, ConnectionIdRetired):
            self.cids.discard(event.connection_id)
            listener.unroute(event.connection_id)
        elif isinstance(event, ConnectionTerminated):
            self._terminated(event.reason_phrase or "connection closed")
            return
        elif isinstance(event, StreamReset | StopSendingReceived):
            # Either way (often both) the client cancels the request.
            if not self.guard.streamReset(event.stream_id):
                self.close("too many stream resets", ErrorCode.H3_EXCESSIVE_LOAD)
                return
            stream = self.streams.pop(event.stream_id, None)
            if stream is not None:
                # Our half too, or the stream would never close and never
                # give the client its place back (MAX_STREAMS).
                self.quic.reset_stream(event.stream_id, ErrorCode.H3_REQUEST_CANCELLED)
                stream.lost(Failure(ConnectionError("stream reset by the client")))
                listener.streamEnded(self)
        if self.h3 is None:
            return
        for h3event in self.h3.handle_event(event):
            if isinstance(h3event, HeadersReceived):
                self._headersReceived(h3event)
            elif isinstance(h3event, DataReceived):
                self._dataReceived(h3event)

    def _handshakeOver(self) -> None:
        if self.handshaking:
            self.handshaking = False
            self._listener.handshakes -= 1
            deadline, self._handshakeDeadline = self._handshakeDeadline, None
            if deadline is not None and deadline.active():
                deadline.cancel()

    def _terminated(self, why: str) -> None:
        if self.closed:
            return
        self.closed = True
        self._handshakeOver()
        self.guard.stop()
        for call in (self._timer, self._flushing):
            if call is not None and call.active():
                call.cancel()
        self._timer = self._flushing = None
        self._listener.forget(self)
        streams, self.streams = self.streams, {}
        for stream in streams.values():
            stream.lost(Failure(ConnectionError(why)))

    # Requests

    def _headersReceived(self, event: HeadersReceived) -> None:
        self.guard.progress()
        streamID = event.stream_id
        stream = self.streams.get(streamID)
        if stream is not None:
            # Trailers: read and ignored, as over HTTP/2.
            if event.stream_ended:
                self._requestEnded(stream)
            return
        if streamID % 4 != 0:
            return
        if self.goneAway is not None and streamID >= self.goneAway:
            self.quic.reset_stream(streamID, ErrorCode.H3_REQUEST_REJECTED)
            return
        self._nextStreamID = max(self._nextStreamID, streamID + 4)
        listener = self._listener
        stream = H3Stream(self, streamID, listener.site.requestFactory, listener.site)
        self.streams[streamID] = stream
        limits = listener.limits
        size = sum(len(n) + len(v) + 32 for n, v in event.headers)
        if (
            size > limits.maxHeaderListSize
            or len(event.headers) > limits.maxHeaderFields
        ):
            self.refuseStream(stream, b"431")
            return
        try:
            checkRequestHeaders(event.headers)
        except ProtocolError:
            self.refuseStream(stream, b"400")
            return
        request = stream.request
        stream.command, stream.path, length, status = readRequestFields(
            event.headers, request.requestHeaders.addRawHeader, limits
        )
        if status is not None:
            self.refuseStream(stream, status)
            return
        request.gotLength(length or 0)
        request.parseCookies()
        if event.stream_ended:
            self._requestEnded(stream)

    def _dataReceived(self, event: DataReceived) -> None:
        stream = self.streams.get(event.stream_id)
        if stream is None or stream.requestEnded:
            return
        if event.data:
            self.guard.progress()
            stream.received += len(event.data)
            if stream.received > self._listener.limits.maxRequestBodySize:
                self.refuseStream(stream, b"413")
                return
            stream.request.handleContentChunk(event.data)
        if event.stream_ended:
            self._requestEnded(stream)

    def _requestEnded(self, stream: H3Stream) -> None:
        if stream.requestEnded or stream.closed:
            return
        stream.requestEnded = True
        stream.request.requestReceived(stream.command, stream.path, b"HTTP/3")

    # What streams call

    def sendHeaders(
        self, stream: H3Stream, fields: list[tuple[bytes, bytes]], end: bool
    ) -> None:
        if self.h3 is not None and not self.closed:
            self.h3.send_headers(stream.streamID, fields, end_stream=end)
            self.flushSoon()

    def sendData(self, stream: H3Stream, data: bytes, end: bool) -> None:
        if self.h3 is not None and not self.closed:
            self.h3.send_data(stream.streamID, data, end_stream=end)
            self.guard.wrote(stream, len(data), self.streams.values())
            self.flushSoon()

    def streamDone(self, stream: H3Stream) -> None:
        self.streams.pop(stream.streamID, None)
        stream.closed = True
        self._listener.streamEnded(self)

    def resetStream(self, stream: H3Stream) -> None:
        if stream.closed:
            return
        self.streams.pop(stream.streamID, None)
        if not self.closed:
            self.quic.reset_stream(stream.streamID, ErrorCode.H3_REQUEST_CANCELLED)
            self.flushSoon()
        stream.lost(Failure(ConnectionError("stream reset by the server")))
        self._listener.streamEnded(self)

    def refuseStream(self, stream: H3Stream, status: bytes) -> None:
        """
        Answer a request we will not process with an empty response.
        """
        if stream.closed:
            return
        self.sendHeaders(
            stream, [(b":status", status), (b"content-length", b"0")], True
        )
        if not stream.requestEnded:
            self.quic.stop_stream(stream.streamID, ErrorCode.H3_NO_ERROR)
        logRefused(
            self._listener.site,
            stream.request,
            stream.command or b"-",
            stream.path or b"-",
            b"HTTP/3",
            int(status),
        )
        self.streams.pop(stream.streamID, None)
        stream.lost(Failure(ConnectionError(f"refused with {status.decode()}")))
        self._listener.streamEnded(self)

    def goAway(self) -> None:
        """
        Send HTTP/3 GOAWAY: the requests already begun are served, no new
        one is.  (C{H3Connection} cannot send one itself: the frame is
        written on its control stream.)
        """
        control = self.h3._local_control_stream_id if self.h3 is not None else None
        if self.goneAway is not None or control is None or self.closed:
            return
        self.goneAway = self._nextStreamID
        frame = encode_frame(FrameType.GOAWAY, encode_uint_var(self.goneAway))
        self.quic.send_stream_data(control, frame)
        self.flushSoon()

    def close(self, why: str, error: ErrorCode = ErrorCode.H3_NO_ERROR) -> None:
        """
        Close the connection (CONNECTION_CLOSE with C{error}).
        """
        if self.closed:
            return
        self.quic.close(error_code=error, reason_phrase=why)
        self.flush()
        self._terminated(why)
