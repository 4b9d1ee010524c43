# -*- test-case-name: tests.unit.http.h2.test_connection -*-
"""
h2site's HTTP connection layer: its own HTTP/2 connection, and graceful
shutdown for every connection, HTTP/2 or HTTP/1.1.

Stock Twisted (C{twisted.web._http2}) is not fit to face the internet: it sends
one DATA frame per reactor turn, spins on C{callLater(0)} (and keeps resetting
its idle timeout) while a peer withholds WINDOW_UPDATE, pauses a response's
producer for flow control but never for a full socket, keeps the TCP
connection open after a connection error, and lets a peer send frames that do
no useful work (PING, PRIORITY, empty DATA, ...) without limit.

L{H2Connection} keeps the C{h2} state machine and replaces the plumbing:

 - one I{pass} writes every ready frame of every ready stream, then makes one
   C{transport.write}; a pass runs at the end of each C{dataReceived}, when the
   transport asks for more, and (at most once per reactor turn) when a
   response is written from elsewhere;
 - a stream blocked by flow control leaves the pass and costs nothing until a
   WINDOW_UPDATE arrives; producers pause when their stream, the connection
   or the socket holds too much;
 - a connection error sends one GOAWAY and closes (TLS close_notify, then an
   abort after L{ConnectionLimits.closeTimeout});
 - frames that do no useful work spend a per-connection budget; an empty
   budget ends the connection with GOAWAY C{ENHANCE_YOUR_CALM}.

Where C{h2} costs most per request, this module does the work itself, and C{h2}
still holds the connection's and streams' state: request headers are checked
in one pass (L{checkRequestHeaders}), response headers are encoded without
the HPACK dynamic table (L{FieldEncoder}), and DATA frames other than a
response's last are framed here, charging C{h2}'s flow-control windows.

Requests stay ordinary C{twisted.web} requests: each stream is the
C{channel} of one L{twisted.web.server.Request}.

This is the only h2site module that reaches into Twisted's private HTTP
machinery (the ALPN protocol switch, L{HTTPChannel}'s request queue and
persistence flag, and the pull-to-push producer adapter); everything else uses
public APIs.  It also extends C{h2}'s frame buffer, whose internals it relies
on (C{h2} 4.x).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from h2.config import H2Configuration
from h2.connection import ConnectionState
from h2.connection import H2Connection as H2StateMachine
from h2.errors import ErrorCodes
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    PingAckReceived,
    PingReceived,
    PriorityUpdated,
    RemoteSettingsChanged,
    RequestReceived,
    StreamEnded,
    StreamReset,
    TrailersReceived,
    UnknownFrameReceived,
    WindowUpdated,
)
from h2.exceptions import DenialOfServiceError, ProtocolError
from h2.settings import SettingCodes, Settings
from hpack.exceptions import HPACKError, OversizedHeaderListError
from hyperframe.frame import Frame
from twisted.internet.error import ConnectionLost
from twisted.internet.interfaces import (
    IAddress,
    IDelayedCall,
    IPushProducer,
    IReactorTime,
    ISSLTransport,
    ITCPTransport,
)
from twisted.internet.protocol import Protocol as TwistedProtocol
from twisted.internet.protocol import connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import http
from twisted.web.http_headers import Headers
from zope.interface import implementer

from h2site.http.h2.frames import (
    DATA,
    END_HEADERS,
    END_STREAM,
    FRAME_HEADER,
    HEADERS,
    MAX_DATA_FRAME,
    RST_STREAM,
    SMALL_FRAME,
    WINDOW_UPDATE,
    WRITE_PIECE,
    Calm,
    FieldEncoder,
    HeaderBlockTooLarge,
    LimitedFrameBuffer,
    goAway,
)
from h2site.http.h2.stream import Stream
from h2site.http.h2.validation import CONNECTION_HEADERS, checkRequestHeaders
from h2site.http.limits import ConnectionLimits, TokenBucket
from h2site.http.messages import describePeer, logRefused, validHost

__all__ = ["H2Connection"]

_log = Logger(namespace="h2site.http")


#: Frames a client may send on a stream that is already closed, which C{h2}
#: answers (RST_STREAM) or drops without telling us.
_LATE_FRAME_TYPES = frozenset([DATA, WINDOW_UPDATE, RST_STREAM])

#: Frames on a closed stream that cost nothing, per stream closed: what was
#: in flight when it closed (DATA within the stream window, a
#: WINDOW_UPDATE).  Past that they spend the frame budget.
_LATE_FRAMES_PER_STREAM = 8


#: A WINDOW_UPDATE smaller than this opens too little to be worth a frame.
_SMALL_WINDOW_UPDATE = 1024


@implementer(IPushProducer)
class H2Connection(TwistedProtocol):
    """
    An HTTP/2 connection (ALPN C{h2}) serving C{twisted.web} requests.

    Set C{requestFactory}, C{site} and C{factory} before C{makeConnection},
    as Twisted does for its own channels.
    """

    requestFactory: Callable[..., http.Request]
    site: Any = None
    factory: Any = None
    #: Ignored (Twisted's switch sets it); L{ConnectionLimits.idleTimeout} rules.
    timeOut: float | None = None
    callLater: Any = None

    def __init__(
        self,
        limits: ConnectionLimits,
        reactor: IReactorTime,
        fields: FieldEncoder | None = None,
    ) -> None:
        """
        @param fields: encodes response headers; shared by the connections
            of a site, so its cache serves them all.
        """
        self._limits = limits
        self._reactor = reactor
        self._fields = fields or FieldEncoder()
        self._h2 = H2StateMachine(
            H2Configuration(
                client_side=False,
                header_encoding=None,
                # We build response headers ourselves from Twisted's Headers
                # (which have no connection-specific fields left), so h2's
                # per-header checks would only repeat work on the hot path.
                validate_outbound_headers=False,
                normalize_outbound_headers=False,
                # Checked by checkRequestHeaders, in a third of the time.
                validate_inbound_headers=False,
                # Only joins Cookie crumbs, which _requestReceived does.
                normalize_inbound_headers=False,
            )
        )
        self._streams: dict[int, Stream] = {}
        self._ready: deque[Stream] = deque()
        self._blocked: set[Stream] = set()
        self._pausedStreams: dict[Stream, None] = {}
        self._buffered = 0
        self._paused = False
        self._inReceive = False
        self._flushing = False
        self._closing = False
        self._closed = False
        self._goingAway = False
        self._lastStreamID = 0
        self._flushCall: IDelayedCall | None = None
        #: Informational responses framed but not written yet: they go
        #: first in the next pass, before any final headers.
        self._early: list[bytes] = []
        self._idleCall: IDelayedCall | None = None
        self._abortCall: IDelayedCall | None = None
        #: When the request head being read began (the connection preface, a
        #: header block, or a frame), or L{None}; see L{_checkHead}.
        self._headSince: float | None = None
        self._headCall: IDelayedCall | None = None
        self._framesArrived = 0
        #: Frames on closed streams still free (see L{_LATE_FRAMES_PER_STREAM}).
        self._lateFrames = 0
        now = reactor.seconds()
        self._lastProgress = now
        self._frameBudget = TokenBucket(limits.frameBudget, limits.frameBudgetRate, now)
        self._resetBudget = TokenBucket(limits.resetBudget, limits.resetBudgetRate, now)
        self.peer: IAddress
        self.host: IAddress
        self.secure = False

    # IProtocol

    def connectionMade(self) -> None:
        transport = self.transport
        assert transport is not None
        if ITCPTransport.providedBy(transport):
            transport.setTcpNoDelay(True)
        self.peer = transport.getPeer()
        self.host = transport.getHost()
        self.secure = ISSLTransport.providedBy(transport)
        limits = self._limits
        h2 = self._h2
        h2.local_settings = Settings(
            client=False,
            initial_values={
                SettingCodes.MAX_CONCURRENT_STREAMS: limits.maxConcurrentStreams,
                SettingCodes.MAX_HEADER_LIST_SIZE: limits.maxHeaderListSize,
            },
        )
        h2.decoder.max_header_list_size = limits.maxHeaderListSize
        self._frames = LimitedFrameBuffer(limits.maxHeaderListSize, self._frameArrived)
        h2.incoming_buffer = self._frames
        h2.initiate_connection()
        transport.write(h2.data_to_send())
        self._idleCall = self._reactor.callLater(limits.idleTimeout, self._checkIdle)
        self._headSince = self._reactor.seconds()
        self._headCall = self._reactor.callLater(limits.headerTimeout, self._checkHead)

    def dataReceived(self, data: bytes) -> None:
        if self._closing:
            # After our GOAWAY the peer's frames are of no interest.
            return
        arrived = self._framesArrived
        try:
            events = self._h2.receive_data(data)
        except ProtocolError as e:
            self._protocolError(e)
            return
        self._inReceive = True
        try:
            self._handleEvents(events)
        finally:
            self._inReceive = False
        if self._closing:
            return
        self._trackHead(arrived != self._framesArrived)
        self._flush()

    def _frameArrived(self, frame: Frame) -> None:
        """
        See each frame before C{h2} does: C{h2} answers DATA on a closed
        stream with RST_STREAM, and drops WINDOW_UPDATE and RST_STREAM there,
        without an event, so such frames would cost a flooding client
        nothing.  Beyond what may have been in flight when the stream closed,
        they spend the frame budget.

        @raise Calm: if the budget is empty.
        """
        self._framesArrived += 1
        streamID = frame.stream_id
        if not streamID or frame.type not in _LATE_FRAME_TYPES:
            return
        h2 = self._h2
        state = h2.streams.get(streamID)
        if state is not None and not state.closed:
            return
        if streamID > h2.highest_inbound_stream_id:
            # Not a closed stream but an idle one: h2 makes it an error.
            return
        if self._lateFrames:
            self._lateFrames -= 1
        elif not self._frameBudget.spend(self._reactor.seconds()):
            raise Calm("frames on closed streams")

    def _streamClosed(self) -> None:
        self._lateFrames = min(
            self._lateFrames + _LATE_FRAMES_PER_STREAM,
            _LATE_FRAMES_PER_STREAM * self._limits.maxConcurrentStreams,
        )

    def _trackHead(self, framesArrived: bool) -> None:
        """
        Note whether part of a request head is waiting: the preface, a
        header block (HEADERS without END_HEADERS, then CONTINUATION), or
        any frame begun and not complete.  Each must be complete within
        L{ConnectionLimits.headerTimeout}; a frame's clock restarts when the
        frame before it completed, a header block's and the preface's do not.
        """
        frames = self._frames
        if not (frames.prefaceMissing or frames.incomplete or not self._framesArrived):
            self._headSince = None
            return
        if self._headSince is None or (
            framesArrived and not frames.inHeaderBlock and not frames.prefaceMissing
        ):
            self._headSince = self._reactor.seconds()
        if self._headCall is None:
            self._headCall = self._reactor.callLater(
                self._limits.headerTimeout, self._checkHead
            )

    def _checkHead(self) -> None:
        self._headCall = None
        since = self._headSince
        if since is None or self._closing:
            return
        timeout = self._limits.headerTimeout
        left = since + timeout - self._reactor.seconds()
        if left > 0:
            self._headCall = self._reactor.callLater(left, self._checkHead)
            return
        _log.info(
            "closing HTTP/2 connection from {peer}: request head not complete "
            "within {timeout:g} s",
            peer=describePeer(self.peer),
            timeout=timeout,
        )
        if self._frames.inHeaderBlock:
            self._refuseHead(408, ErrorCodes.NO_ERROR, "request head timeout")
        else:
            self._close(ErrorCodes.NO_ERROR, "request head timeout")

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._closing = True
        self._closed = True
        for call in (self._flushCall, self._idleCall, self._abortCall, self._headCall):
            if call is not None and call.active():
                call.cancel()
        self._flushCall = self._idleCall = self._abortCall = self._headCall = None
        self._loseStreams(reason)

    # Receiving

    def _handleEvents(self, events: list[Any]) -> None:
        now = self._reactor.seconds()
        spend = self._frameBudget.spend
        useful = False
        priorityOfRequest = None
        calm = None
        for event in events:
            if self._closing:
                return
            kind = type(event)
            if kind is RequestReceived:
                useful = True
                priorityOfRequest = event.priority_updated
                try:
                    self._requestReceived(event)
                except ProtocolError as e:
                    self._protocolError(e)
                    return
            elif kind is TrailersReceived:
                try:
                    checkRequestHeaders(event.headers, trailers=True)
                except ProtocolError as e:
                    self._protocolError(e)
                    return
            elif kind is StreamEnded:
                self._requestEnded(event.stream_id)
            elif kind is DataReceived:
                if event.data:
                    useful = True
                elif not event.stream_ended and not spend(now):
                    calm = "empty DATA frames"
                    break
                self._dataReceived(event)
            elif kind is WindowUpdated:
                if event.delta < _SMALL_WINDOW_UPDATE and not spend(now):
                    calm = "tiny WINDOW_UPDATE frames"
                    break
                self._windowUpdated(event.stream_id)
            elif kind is StreamReset:
                if not self._resetBudget.spend(now):
                    calm = "stream resets"
                    break
                stream = self._streams.get(event.stream_id)
                if stream is not None:
                    self._forget(
                        stream, f"stream reset by the client ({event.error_code})"
                    )
            elif kind is PriorityUpdated:
                # Priority is not used (RFC 9113 deprecates it): frames that
                # only reprioritise are noise, those inside HEADERS are not.
                if event is not priorityOfRequest and not spend(now):
                    calm = "PRIORITY frames"
                    break
            elif kind is RemoteSettingsChanged:
                if not spend(now):
                    calm = "SETTINGS frames"
                    break
                if SettingCodes.INITIAL_WINDOW_SIZE in event.changed_settings:
                    self._windowUpdated(0)
            elif kind in (PingReceived, PingAckReceived, UnknownFrameReceived):
                if not spend(now):
                    calm = "PING or unknown frames"
                    break
            elif kind is ConnectionTerminated:
                # The client is leaving; h2 will send nothing more (not even
                # response DATA) after a GOAWAY, so neither can we.
                self._close(None, "the client sent GOAWAY")
                return
        if calm is not None:
            self._calm(calm)
        elif useful:
            self._lastProgress = now

    def _requestReceived(self, event: RequestReceived) -> None:
        streamID = event.stream_id
        checkRequestHeaders(event.headers)
        if self._goingAway and streamID > self._lastStreamID:
            # Opened after our GOAWAY: not processed, so safe to retry.
            self._h2.reset_stream(streamID, ErrorCodes.REFUSED_STREAM)
            self._streamClosed()
            return
        stream = Stream(self, streamID, self.requestFactory, self.site)
        self._streams[streamID] = stream
        request = stream.request
        add = request.requestHeaders.addRawHeader
        authority = host = None
        length: int | None = None
        cookies = []
        for name, value in event.headers:
            if name[0] == 58:  # b":"
                if name == b":method":
                    stream.command = value
                elif name == b":path":
                    stream.path = value
                elif name == b":authority":
                    authority = value
            elif name == b"cookie":
                cookies.append(value)
            else:
                add(name, value)
                if name == b"content-length":
                    # 1*DIGIT (RFC 9110 section 8.6); anything else is a 400.
                    length = int(value) if value.isdigit() else -1
                elif name == b"host":
                    host = value
        if authority is not None and host is None:
            add(b"host", authority)
        if cookies:
            # RFC 9113 section 8.2.3: HTTP/2 may split Cookie into crumbs;
            # HTTP/1.1 semantics (a Twisted request) want one field.
            add(b"cookie", b"; ".join(cookies))
        if stream.command == b"CONNECT":
            # A proxy's method: an origin server has nothing to connect to.
            self.refuseStream(stream, b"405")
            return
        if len(stream.path) > self._limits.maxLineLength:
            self.refuseStream(stream, b"414")
            return
        if not validHost(authority if authority is not None else host or b""):
            self.refuseStream(stream, b"400")
            return
        if length is not None and length < 0:
            self.refuseStream(stream, b"400")
            return
        if length is not None and length > self._limits.maxRequestBodySize:
            self.refuseStream(stream, b"413")
            return
        # An unknown length is read into memory too: it is bounded by
        # maxRequestBodySize, and Twisted would otherwise make a temporary
        # file for every such request.
        request.gotLength(length or 0)
        request.parseCookies()

    def _dataReceived(self, event: DataReceived) -> None:
        streamID = event.stream_id
        if event.flow_controlled_length:
            self._h2.acknowledge_received_data(event.flow_controlled_length, streamID)
        stream = self._streams.get(streamID)
        if stream is None or stream.requestEnded or not event.data:
            return
        stream.received += len(event.data)
        if stream.received > self._limits.maxRequestBodySize:
            self.refuseStream(stream, b"413")
            return
        stream.request.handleContentChunk(event.data)

    def _requestEnded(self, streamID: int) -> None:
        stream = self._streams.get(streamID)
        if stream is None or stream.closed:
            return
        stream.requestEnded = True
        stream.request.requestReceived(stream.command, stream.path, b"HTTP/2")

    def _windowUpdated(self, streamID: int) -> None:
        if streamID == 0:
            blocked = list(self._blocked)
            self._blocked.clear()
            for waiting in blocked:
                waiting.blocked = False
                self._markReady(waiting)
            return
        stream = self._streams.get(streamID)
        if stream is not None and stream.blocked:
            stream.blocked = False
            self._blocked.discard(stream)
            self._markReady(stream)

    # What streams (and so requests) call.

    def writeHeaders(self, stream: Stream, code: bytes, headers: Headers) -> None:
        if stream.closed:
            return
        fields = [(b":status", code)]
        for name, values in headers.getAllRawHeaders():
            name = name.lower()
            if name not in CONNECTION_HEADERS:
                for value in values:
                    fields.append((name, value))
        stream.headers = fields
        self._markReady(stream)

    def writeData(self, stream: Stream, data: bytes) -> None:
        if stream.closed or not data:
            return
        stream.chunks.append(data)
        stream.buffered += len(data)
        self._buffered += len(data)
        if (
            stream.producer is not None
            and not stream.producerPaused
            and self._mustPause(stream)
        ):
            self._pauseStream(stream)
        self._markReady(stream)

    def writeInformational(
        self, stream: Stream, code: int, headers: Sequence[tuple[bytes, bytes]]
    ) -> bool:
        if stream.closed or stream.headersSent or stream.headers is not None:
            return False
        fields = [(b":status", b"%d" % code)]
        fields.extend((name.lower(), value) for name, value in headers)
        block = self._fields.encode(fields)
        size = len(block)
        if size > min(self._h2.max_outbound_frame_size, MAX_DATA_FRAME):
            self._h2.send_headers(stream.streamID, fields)
        else:
            # Framed here like final headers (h2's stream state takes no
            # notice of a 1xx), and from the shared encoder's cache: a page's
            # hints are the same block every time.
            self._early.append(
                FRAME_HEADER.pack(
                    size >> 16, size & 0xFFFF, HEADERS, END_HEADERS, stream.streamID
                )
                + block
            )
        self._scheduleFlush()
        return True

    def requestDone(self, stream: Stream) -> None:
        if stream.closed:
            return
        stream.finished = True
        self._markReady(stream)

    def resetStream(self, stream: Stream, code: int) -> None:
        """
        End a stream abruptly, from our side.
        """
        if stream.closed:
            return
        self._h2.reset_stream(stream.streamID, code)
        self._forget(stream, "stream reset by the server")
        self._scheduleFlush()

    def refuseStream(self, stream: Stream, status: bytes) -> None:
        """
        Answer a request we will not process (too large, malformed) with an
        empty response, and tell the client to stop sending its body.
        """
        if stream.closed:
            return
        h2 = self._h2
        streamID = stream.streamID
        h2.send_headers(
            streamID, [(b":status", status), (b"content-length", b"0")], end_stream=True
        )
        state = h2.streams.get(streamID)
        if state is not None and not state.closed:
            # The client is still sending (its END_STREAM, when it came with
            # the headers, is an event not yet handled: look at h2's state).
            h2.reset_stream(streamID, ErrorCodes.NO_ERROR)
        if self.factory is not None:
            logRefused(
                self.factory,
                stream.request,
                stream.command or b"-",
                stream.path or b"-",
                b"HTTP/2",
                int(status),
            )
        self._forget(stream, f"request refused with {status.decode()}")
        self._scheduleFlush()

    # Sending

    def _markReady(self, stream: Stream) -> None:
        if stream.ready or stream.closed:
            return
        if stream.blocked and stream.headers is None:
            return
        stream.ready = True
        self._ready.append(stream)
        self._scheduleFlush()

    def _scheduleFlush(self) -> None:
        if self._inReceive or self._flushing or self._flushCall is not None:
            return
        if self._closing:
            return
        self._flushCall = self._reactor.callLater(0, self._flush)

    def _flush(self) -> None:
        """
        One pass: frame what every ready stream may send, within the windows
        and L{ConnectionLimits.writeBatchSize}, and write it all at once.
        """
        call, self._flushCall = self._flushCall, None
        if call is not None and call.active():
            call.cancel()
        if self._closed:
            return
        out: list[bytes | memoryview] = []
        if self._early:
            out.extend(self._early)
            self._early.clear()
        calm = None
        if not self._paused and self._ready:
            self._flushing = True
            try:
                calm = self._sendReady(out)
            finally:
                self._flushing = False
        pending = self._h2.data_to_send()
        if pending:
            out.append(pending)
        if out:
            self._write(out)
        if calm is not None:
            self._calm(calm)
            return
        if self._pausedStreams and not self._paused:
            self._resumeProducers()
        if self._ready and not self._paused:
            self._scheduleFlush()
        if self._goingAway and not self._streams:
            self._close(None, "graceful shutdown")

    def _write(self, out: list[bytes | memoryview]) -> None:
        """
        Hand a pass's frames to the transport: at once, or in pieces of
        about half of L{WRITE_PIECE} when the pass is larger.
        """
        assert self.transport is not None
        write = self.transport.write
        total = sum(map(len, out))
        if total <= WRITE_PIECE:
            # One item (the usual small response) is not copied by join.
            write(b"".join(out))
            return
        piece: list[bytes | memoryview] = []
        size = 0
        for part in out:
            piece.append(part)
            size += len(part)
            total -= len(part)
            if size >= WRITE_PIECE // 2 and total >= WRITE_PIECE // 2:
                write(b"".join(piece))
                piece = []
                size = 0
        write(b"".join(piece))

    def _sendReady(self, out: list[bytes | memoryview]) -> str | None:
        """
        Frame the ready streams' headers and data into C{out}, in turn.

        DATA frames other than a response's last are framed here rather than
        by C{h2.send_data}, which costs more than the rest of the pass per
        frame (state machine, a frame object, three copies); C{h2} still
        checks the stream's state on its last frame, and its flow-control
        windows are charged exactly as C{send_data} would.

        @return: why the connection must be closed, if it must.
        """
        h2 = self._h2
        ready = self._ready
        budget = self._limits.writeBatchSize
        frameSize = min(h2.max_outbound_frame_size, MAX_DATA_FRAME)
        now = self._reactor.seconds()
        progress = False
        calm = None
        while ready and budget > 0:
            stream = ready.popleft()
            stream.ready = False
            if stream.closed:
                continue
            streamID = stream.streamID
            if stream.headers is not None:
                progress = True
                fields, stream.headers = stream.headers, None
                stream.headersSent = True
                if stream.finished and not stream.buffered:
                    # No body: h2 sends HEADERS with END_STREAM and closes
                    # the stream in its state machine.
                    h2.send_headers(streamID, fields, end_stream=True)
                    self._sent(stream)
                    continue
                block = self._fields.encode(fields)
                if len(block) > frameSize:
                    h2.send_headers(streamID, fields)
                else:
                    # h2's stream state needs no news of response headers:
                    # the DATA and END_STREAM that follow go through it.
                    pending = h2.data_to_send()
                    if pending:
                        out.append(pending)
                    size = len(block)
                    out.append(
                        FRAME_HEADER.pack(
                            size >> 16, size & 0xFFFF, HEADERS, END_HEADERS, streamID
                        )
                    )
                    out.append(block)
            if not stream.buffered:
                if stream.finished and stream.headersSent:
                    h2.end_stream(streamID)
                    self._sent(stream)
                continue
            window = h2.local_flow_control_window(streamID)
            if window <= 0:
                # Nothing to do until the peer opens the window: no timer,
                # no retry, so a stalled stream costs no CPU at all.
                stream.blocked = True
                self._blocked.add(stream)
                continue
            amount = min(window, stream.buffered, budget)
            progress = True
            budget -= amount
            self._buffered -= amount
            ending = stream.finished and amount == stream.buffered
            # Every frame but an ending response's last is framed here; that
            # one goes through h2, which then closes the stream.
            last = amount - (amount - 1) // frameSize * frameSize if ending else 0
            direct = amount - last
            if direct:
                pending = h2.data_to_send()
                if pending:
                    out.append(pending)
                state = h2.streams[streamID]
                h2.outbound_flow_control_window -= direct
                state.outbound_flow_control_window -= direct
                take = stream.take
                pack = FRAME_HEADER.pack
                while direct:
                    size = frameSize if direct > frameSize else direct
                    direct -= size
                    out.append(pack(size >> 16, size & 0xFFFF, DATA, 0, streamID))
                    out.append(take(size))
                if (
                    size < SMALL_FRAME
                    and amount == window
                    and not ending
                    and calm is None
                    and not self._frameBudget.spend(now)
                ):
                    # The window let only a few bytes through.
                    calm = "DATA frames cut short by tiny windows"
            if last:
                h2.send_data(streamID, stream.take(last), end_stream=True)
            if stream.finished and not stream.buffered:
                self._sent(stream)
            elif stream.buffered:
                if h2.local_flow_control_window(streamID) > 0:
                    stream.ready = True
                    ready.append(stream)
                else:
                    stream.blocked = True
                    self._blocked.add(stream)
        if progress:
            self._lastProgress = now
        return calm

    def _sent(self, stream: Stream) -> None:
        """
        The whole response is framed: the stream is done on our side.
        """
        stream.closed = True
        del self._streams[stream.streamID]
        self._blocked.discard(stream)
        self._pausedStreams.pop(stream, None)
        self._streamClosed()
        if not stream.requestEnded:
            # RFC 9113 section 8.1: the response is complete, so the rest of
            # the request body is not wanted.
            self._h2.reset_stream(stream.streamID, ErrorCodes.NO_ERROR)

    def _forget(self, stream: Stream, why: str) -> None:
        self._streams.pop(stream.streamID, None)
        self._blocked.discard(stream)
        self._pausedStreams.pop(stream, None)
        self._buffered -= stream.buffered
        self._streamClosed()
        stream.lost(Failure(ConnectionLost(why)))

    # Backpressure

    def _mustPause(self, stream: Stream) -> bool:
        return (
            self._paused
            or stream.buffered >= self._limits.streamBufferSize
            or self._buffered >= self._limits.connectionBufferSize
        )

    def _pauseStream(self, stream: Stream) -> None:
        assert stream.producer is not None
        stream.producerPaused = True
        self._pausedStreams[stream] = None
        stream.producer.pauseProducing()

    def _resumeProducers(self) -> None:
        limits = self._limits
        for stream in list(self._pausedStreams):
            if self._paused or self._buffered >= limits.connectionBufferSize:
                return
            if stream.buffered >= limits.streamBufferSize:
                continue
            del self._pausedStreams[stream]
            stream.producerPaused = False
            if stream.producer is not None and not stream.closed:
                stream.producer.resumeProducing()

    def pauseProducing(self) -> None:
        """
        The socket's buffer is full: hold every stream's data in its own
        buffer and pause every producer until it drains.
        """
        self._paused = True
        for stream in self._streams.values():
            if stream.producer is not None and not stream.producerPaused:
                self._pauseStream(stream)

    def resumeProducing(self) -> None:
        self._paused = False
        if not self._closing:
            self._flush()

    def stopProducing(self) -> None:
        self._loseStreams(Failure(ConnectionLost("the transport stopped")))

    # Closing

    def _checkIdle(self) -> None:
        self._idleCall = None
        timeout = self._limits.idleTimeout
        idle = self._reactor.seconds() - self._lastProgress
        if idle < timeout:
            self._idleCall = self._reactor.callLater(timeout - idle, self._checkIdle)
            return
        _log.info("closing idle HTTP/2 connection from {peer}", peer=self.peer)
        self._close(ErrorCodes.NO_ERROR, "idle timeout")

    def _calm(self, what: str) -> None:
        _log.info(
            "closing HTTP/2 connection from {peer}: too many {what}",
            peer=describePeer(self.peer),
            what=what,
        )
        self._close(ErrorCodes.ENHANCE_YOUR_CALM, f"too many {what}")

    def _protocolError(self, error: ProtocolError) -> None:
        if isinstance(error, Calm):
            self._calm(error.what)
            return
        if isinstance(error, HeaderBlockTooLarge) or isinstance(
            error.__cause__, OversizedHeaderListError
        ):
            _log.info(
                "closing HTTP/2 connection from {peer}: request header block "
                "over {limit} bytes",
                peer=describePeer(self.peer),
                limit=self._limits.maxHeaderListSize,
            )
            self._refuseHead(431, ErrorCodes.ENHANCE_YOUR_CALM, str(error))
            return
        code = getattr(error, "error_code", ErrorCodes.PROTOCOL_ERROR)
        if isinstance(error.__cause__, HPACKError) and not isinstance(
            error, DenialOfServiceError
        ):
            # RFC 9113 section 4.3: a field block that does not decode is a
            # COMPRESSION_ERROR; h2 reports it as a PROTOCOL_ERROR.
            self._h2.clear_outbound_data_buffer()
            assert self.transport is not None
            self.transport.write(
                goAway(self._h2.highest_inbound_stream_id, ErrorCodes.COMPRESSION_ERROR)
            )
            self._close(None, f"HTTP/2 compression error: {error}")
            return
        self._close(code, f"HTTP/2 protocol error: {error}")

    def _refuseHead(self, status: int, errorCode: int, why: str) -> None:
        """
        Answer the request whose header block could not be read (too large,
        or not complete in time) with C{status}, then close with GOAWAY
        C{errorCode}.

        The block was not decoded, so this connection's HPACK state is lost
        and the connection must end.  The response itself needs no HPACK
        state, since L{FieldEncoder} never uses the dynamic table, so the
        client still learns why.
        """
        streamID = self._frames.headerStream
        transport = self.transport
        assert transport is not None
        block = self._fields.encode(
            [(b":status", b"%d" % status), (b"content-length", b"0")]
        )
        # What h2 queued (its own GOAWAY, after an error) is replaced by ours.
        self._h2.clear_outbound_data_buffer()
        out = []
        if streamID:
            out.append(
                FRAME_HEADER.pack(
                    len(block) >> 16,
                    len(block) & 0xFFFF,
                    HEADERS,
                    END_HEADERS | END_STREAM,
                    streamID,
                )
                + block
            )
            if self.factory is not None:
                stream = Stream(self, streamID, self.requestFactory, self.site)
                request = stream.request
                logRefused(self.factory, request, b"-", b"-", b"HTTP/2", status)
        out.append(goAway(streamID, errorCode))
        transport.write(b"".join(out))
        self._close(None, why)

    def _close(self, errorCode: int | None, why: str) -> None:
        """
        Send GOAWAY (unless C{errorCode} is L{None}) and close: TLS
        close_notify, then abort if the peer does not answer in time.
        """
        if self._closing:
            return
        self._closing = True
        transport: Any = self.transport
        assert transport is not None
        h2 = self._h2
        if (
            errorCode is not None
            and not self._goingAway
            and h2.state_machine.state is not ConnectionState.CLOSED
        ):
            h2.close_connection(errorCode)
        data = h2.data_to_send()
        if data:
            transport.write(data)
        for name in ("_flushCall", "_idleCall"):
            call = getattr(self, name)
            if call is not None and call.active():
                call.cancel()
            setattr(self, name, None)
        self._loseStreams(Failure(ConnectionLost(why)))
        # A TLS transport only sends close_notify once no producer is
        # registered with it.
        transport.unregisterProducer()
        transport.loseConnection()
        self._abortCall = self._reactor.callLater(
            self._limits.closeTimeout, self._abort
        )

    def _abort(self) -> None:
        self._abortCall = None
        transport: Any = self.transport
        if transport is not None:
            transport.abortConnection()

    def _loseStreams(self, reason: Failure) -> None:
        streams = list(self._streams.values())
        self._streams.clear()
        self._ready.clear()
        self._blocked.clear()
        self._pausedStreams.clear()
        self._buffered = 0
        for stream in streams:
            stream.lost(reason)

    def shutdownGracefully(self) -> None:
        """
        Send GOAWAY naming the last stream we process, refuse newer streams,
        finish the others, then close.
        """
        if self._closing or self._goingAway:
            return
        self._goingAway = True
        h2 = self._h2
        self._lastStreamID = h2.highest_inbound_stream_id
        assert self.transport is not None
        self.transport.write(
            h2.data_to_send() + goAway(self._lastStreamID, ErrorCodes.NO_ERROR)
        )
        if not self._streams:
            self._close(None, "graceful shutdown")

    def abort(self) -> None:
        """
        Close now, whatever is in flight.
        """
        if not self._closing:
            self._close(ErrorCodes.NO_ERROR, "shutdown timeout")
        self._abort()
