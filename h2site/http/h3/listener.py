# -*- test-case-name: tests.unit.http.h3.test_listener -*-
"""
HTTP/3 on the UDP port of a TLS listener: a C{DatagramProtocol} that routes
datagrams to QUIC connections (L{QuicSession}) by destination connection ID
and drives C{aioquic}'s sans-IO C{QuicConnection} and C{H3Connection} with
the reactor: each datagram received, and each timer, is one pass that
handles the events and sends what the connection has to send.

A datagram that names no known connection costs one header parse: only an
Initial packet of full size (which a client must pad to 1200 bytes) may
create a connection, and only while fewer than L{MAX_HANDSHAKES}
connections are in their handshake.  Beyond L{RETRY_ABOVE} handshakes at
once, a new client must first prove its address (a Retry packet, RFC 9000
section 8.1.2): a flood from spoofed addresses then costs one small packet
each, and creates no state.  Before its address is validated, a connection
sends at most three times what it received (aioquic's amplification limit).
Version Negotiation, and what one connection may hold and how long it may
stall, are L{h2site.http.h3.guard}'s.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from aioquic.buffer import Buffer, encode_uint_var
from aioquic.h3.connection import (
    H3_ALPN,
    ErrorCode,
    FrameType,
    H3Connection,
    encode_frame,
)
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
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
from aioquic.quic.packet import (
    QuicPacketType,
    QuicProtocolVersion,
    encode_quic_retry,
    pull_quic_header,
)
from aioquic.quic.retry import QuicRetryTokenHandler
from h2.exceptions import ProtocolError
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IAddress, IDelayedCall
from twisted.internet.protocol import DatagramProtocol
from twisted.logger import Logger
from twisted.python.failure import Failure

from h2site.http.h2.validation import checkRequestHeaders, readRequestFields
from h2site.http.h3.guard import SessionGuard, VersionNegotiator
from h2site.http.h3.stream import H3Stream
from h2site.http.limits import ConnectionLimits
from h2site.http.messages import logRefused

__all__ = [
    "MAX_HANDSHAKES",
    "RETRY_ABOVE",
    "H3Listener",
    "QuicSession",
    "altSvcValue",
    "quicConfiguration",
]

_log = Logger(namespace="h2site.http")

#: Connections in their handshake at once, per listener: beyond, new
#: Initial packets are dropped (the client retries), which bounds the CPU
#: and memory a flood of Initials can take.
MAX_HANDSHAKES = 256

#: Connections in their handshake at once beyond which a new client must
#: prove its address with a Retry first (one more round trip for it).
RETRY_ABOVE = 32

#: The QUIC versions served (aioquic's).
_VERSIONS = frozenset([QuicProtocolVersion.VERSION_1, QuicProtocolVersion.VERSION_2])

#: The length of the connection IDs this server issues (aioquic's).
_CID_LENGTH = 8

#: Clients must pad datagrams carrying Initial packets to this size (RFC
#: 9000 section 14.1).
_MIN_INITIAL_SIZE = 1200


def altSvcValue(port: int) -> bytes:
    """
    The C{Alt-Svc} value announcing HTTP/3 on C{port} for a day.
    """
    return b'h3=":%d"; ma=86400' % (port,)


def quicConfiguration(
    certificate: Any, chain: Any, key: Any, limits: ConnectionLimits
) -> QuicConfiguration:
    """
    A server's QUIC settings for one certificate, within C{limits}.
    """
    configuration = QuicConfiguration(
        is_client=False,
        alpn_protocols=H3_ALPN,
        idle_timeout=limits.idleTimeout,
        max_datagram_frame_size=None,
    )
    configuration.certificate = certificate
    configuration.certificate_chain = list(chain)
    configuration.private_key = key
    return configuration


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


class H3Listener(DatagramProtocol):
    """
    HTTP/3 on one UDP port, for the requests of C{site}.

    @ivar handshakes: connections still in their handshake.
    """

    noisy = False

    def __init__(
        self,
        site: Any,
        configuration: Callable[[], QuicConfiguration],
        limits: ConnectionLimits,
        reactor: Any,
        retryAbove: int = RETRY_ABOVE,
    ) -> None:
        """
        @param configuration: the QUIC settings for a new connection, read
            for each one so that a reload's certificate serves the next.
        @param retryAbove: see L{RETRY_ABOVE}.
        """
        self._retryAbove = retryAbove
        #: Tokens sealed with a key of this process (AES-GCM, cheap).
        self._retry = QuicRetryTokenHandler()
        self.site = site
        self.limits = limits
        self.reactor = reactor
        self._configuration = configuration
        self._routes: dict[bytes, QuicSession] = {}
        self.sessions: set[QuicSession] = set()
        self.handshakes = 0
        self._stopping: Deferred[None] | None = None
        self._deadline: IDelayedCall | None = None
        self._negotiator = VersionNegotiator(_VERSIONS, self.now())

    def now(self) -> float:
        return float(self.reactor.seconds())

    def host(self) -> IAddress:
        assert self.transport is not None
        address: IAddress = self.transport.getHost()
        return address

    def send(self, data: bytes, addr: Any) -> None:
        assert self.transport is not None
        # A full socket buffer or an unreachable peer: QUIC retransmits.
        with suppress(OSError):
            self.transport.write(data, addr)

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        try:
            header = pull_quic_header(Buffer(data=datagram), _CID_LENGTH)
        except ValueError:
            # Another version's packets may not parse as version 1's.
            self._negotiate(datagram, addr)
            return
        session = self._routes.get(header.destination_cid)
        if session is None:
            if header.version is not None and header.version not in _VERSIONS:
                self._negotiate(datagram, addr)
                return
            if (
                header.packet_type != QuicPacketType.INITIAL
                or len(datagram) < _MIN_INITIAL_SIZE
                or header.version not in _VERSIONS
                or self._stopping is not None
                or self.handshakes >= MAX_HANDSHAKES
            ):
                return
            original = header.destination_cid
            retrySource = None
            if header.token:
                try:
                    original = self._retry.validate_token(
                        address=addr,
                        destination_cid=header.destination_cid,
                        token=header.token,
                        now=self.now(),
                    )
                except ValueError:
                    return
                retrySource = header.destination_cid
            elif self.handshakes >= self._retryAbove:
                self._sendRetry(header, addr)
                return
            try:
                configuration = self._configuration()
            except Exception:
                _log.failure("cannot make a QUIC configuration")
                return
            quic = QuicConnection(
                configuration=configuration,
                original_destination_connection_id=original,
                retry_source_connection_id=retrySource,
            )
            session = QuicSession(self, quic, addr)
            self.sessions.add(session)
            self.handshakes += 1
            self.route(header.destination_cid, session)
            self.route(quic.host_cid, session)
        try:
            session.receive(datagram, addr)
        except Exception:
            _log.failure("HTTP/3 connection from {peer} failed", peer=addr)
            session.close("internal error")

    def _negotiate(self, datagram: bytes, addr: Any) -> None:
        answer = self._negotiator.answer(datagram, self.now())
        if answer is not None:
            self.send(answer, addr)

    def _sendRetry(self, header: Any, addr: Any) -> None:
        """
        Ask the client to come back with a token that proves its address.
        """
        source = os.urandom(_CID_LENGTH)
        token = self._retry.create_token(
            address=addr,
            original_destination_connection_id=header.destination_cid,
            retry_source_connection_id=source,
            now=self.now(),
        )
        retry = encode_quic_retry(
            version=header.version,
            source_cid=source,
            destination_cid=header.source_cid,
            original_destination_cid=header.destination_cid,
            retry_token=token,
        )
        self.send(retry, addr)

    def route(self, cid: bytes, session: QuicSession) -> None:
        session.cids.add(cid)
        self._routes[cid] = session

    def unroute(self, cid: bytes) -> None:
        self._routes.pop(cid, None)

    def forget(self, session: QuicSession) -> None:
        for cid in session.cids:
            if self._routes.get(cid) is session:
                del self._routes[cid]
        self.sessions.discard(session)
        self._checkStopped()

    def streamEnded(self, session: QuicSession) -> None:
        if self._stopping is not None and not session.streams:
            self.reactor.callLater(0, session.close, "graceful shutdown")

    # Shutdown

    def shutdown(self, timeout: float) -> Deferred[None]:
        """
        Take no new connection, close those without requests in flight at
        once and the others when their last response is sent, or after
        C{timeout} seconds.
        """
        if self._stopping is None:
            self._stopping = Deferred()
            for session in list(self.sessions):
                if session.streams:
                    session.goAway()
                else:
                    session.close("graceful shutdown")
            self._deadline = self.reactor.callLater(timeout, self._closeAll)
        if not self.sessions:
            return succeed(None)
        return self._stopping

    def _closeAll(self) -> None:
        for session in list(self.sessions):
            session.close("shutdown timeout")

    def _checkStopped(self) -> None:
        stopping = self._stopping
        if stopping is not None and not self.sessions and not stopping.called:
            if self._deadline is not None and self._deadline.active():
                self._deadline.cancel()
            stopping.callback(None)
