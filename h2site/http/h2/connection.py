# -*- test-case-name: tests.unit.http.h2.test_connection -*-
"""
h2site's HTTP/2 connection: it reads frames through C{h2}'s state machine,
turns requests into ordinary C{twisted.web} requests (each stream is the
C{channel} of one), decides when a write pass runs and writes it, and
enforces every limit of the connection.

 - One I{pass} sends every ready frame of every ready stream in one
   C{transport.write}; a pass runs at the end of each C{dataReceived}, when
   the transport asks for more, and (at most once per reactor turn) when a
   response is written from elsewhere.  What it sends is decided by
   L{h2site.http.h2.scheduler} and framed by L{h2site.http.h2.output}.
 - A connection error sends one GOAWAY and closes (TLS close_notify, then an
   abort after L{ConnectionLimits.closeTimeout}).
 - Frames that do no useful work spend a per-connection budget; an empty
   budget ends the connection with GOAWAY C{ENHANCE_YOUR_CALM}.  Request
   heads have a deadline, and an idle connection is closed.

C{h2} keeps the connection's and streams' state, but where it costs most per
request this package does the work itself: request header blocks are
decoded in one pass (L{FieldDecoder}) and checked in one more
(L{checkRequestHeaders}), response headers are encoded without the
HPACK dynamic table (L{FieldEncoder}), and DATA frames are framed
without it (a response's last through its state machines).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from h2.connection import ConnectionState
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
from zope.interface import implementer

from h2site.http.h2.fielddecoder import FieldDecoder
from h2site.http.h2.frames import (
    END_HEADERS,
    END_STREAM,
    Calm,
    FieldEncoder,
    HeaderBlockTooLarge,
    LimitedFrameBuffer,
    goAway,
    headersFrame,
    writeInPieces,
)
from h2site.http.h2.guard import SMALL_WINDOW_UPDATE, Guard
from h2site.http.h2.hot import HotPath
from h2site.http.h2.intake import Intake
from h2site.http.h2.machine import stateMachine
from h2site.http.h2.output import Output
from h2site.http.h2.stream import Stream
from h2site.http.h2.validation import checkRequestHeaders, readRequestFields
from h2site.http.limits import ConnectionLimits
from h2site.http.messages import describePeer, logRefused

__all__ = ["H2Connection"]

_log = Logger(namespace="h2site.http")


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
    #: Answers cached responses without a request (L{HotPath}), if the site can.
    _hot: HotPath | None = None

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
        self._h2 = stateMachine()
        self._streams: dict[int, Stream] = {}
        self._guard = Guard(
            limits, reactor, self._h2, self._headTimedOut, self._idleTimedOut
        )
        #: The send half: what the streams wrote and not sent yet.
        self.output = Output(
            self._h2,
            self._streams,
            limits,
            self._fields,
            reactor,
            self._flush,
            self._guard.streamClosed,
        )
        self._closing = False
        self._closed = False
        self._goingAway = False
        self._lastStreamID = 0
        self._abortCall: IDelayedCall | None = None
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
        h2.decoder = FieldDecoder(limits.maxHeaderListSize)
        self._frames = LimitedFrameBuffer(
            limits.maxHeaderListSize, self._guard.frameArrived
        )
        h2.incoming_buffer = self._frames
        self._intake = Intake(h2, self._frames, self._guard.requestArrived)
        h2.initiate_connection()
        transport.write(h2.data_to_send())
        self._hot = HotPath.forSite(self, self._streams, limits)
        self._guard.start(self._frames)

    def dataReceived(self, data: bytes) -> None:
        if self._closing:
            # After our GOAWAY the peer's frames are of no interest.
            return
        guard = self._guard
        arrived = guard.framesArrived
        try:
            events = self._intake.receive(data)
        except ProtocolError as e:
            self._protocolError(e)
            return
        output = self.output
        output.reading = True
        try:
            self._handleEvents(events)
        finally:
            output.reading = False
        if self._closing:
            return
        guard.trackHead(arrived != guard.framesArrived)
        self._flush()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._closing = True
        self._closed = True
        self.output.stop()
        self._guard.stop()
        call, self._abortCall = self._abortCall, None
        if call is not None and call.active():
            call.cancel()
        self._loseStreams(reason)

    # Receiving

    def _handleEvents(self, events: list[Any]) -> None:
        now = self._reactor.seconds()
        guard = self._guard
        spend = guard.frameBudget.spend
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
                if event.delta < SMALL_WINDOW_UPDATE and not spend(now):
                    calm = "tiny WINDOW_UPDATE frames"
                    break
                self.output.windowOpened(event.stream_id)
            elif kind is StreamReset:
                if not guard.resetBudget.spend(now):
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
                    self.output.windowOpened(0)
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
            guard.lastProgress = now

    def _requestReceived(self, event: RequestReceived) -> None:
        streamID = event.stream_id
        checkRequestHeaders(event.headers)
        if self._goingAway and streamID > self._lastStreamID:
            # Opened after our GOAWAY: not processed, so safe to retry.
            self._h2.reset_stream(streamID, ErrorCodes.REFUSED_STREAM)
            self._guard.streamClosed()
            return
        hot = self._hot
        if hot and event.stream_ended and hot.respond(streamID, event.headers):
            return
        stream = Stream(self, streamID, self.requestFactory, self.site)
        self._streams[streamID] = stream
        request = stream.request
        stream.command, stream.path, length, status = readRequestFields(
            event.headers, request.requestHeaders.addRawHeader, self._limits
        )
        if status is not None:
            self.refuseStream(stream, status)
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
        if stream is None or stream.closed or stream.requestEnded:
            return
        stream.requestEnded = True
        stream.request.requestReceived(stream.command, stream.path, b"HTTP/2")

    # What streams call besides writing.

    def resetStream(self, stream: Stream, code: int) -> None:
        """
        End a stream abruptly, from our side.
        """
        if stream.closed:
            return
        self._h2.reset_stream(stream.streamID, code)
        self._forget(stream, "stream reset by the server")
        self.output.schedule()

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
        self.output.schedule()

    # Sending

    def _flush(self) -> None:
        """
        One write pass: frame what every ready stream may send, within the
        windows and L{ConnectionLimits.writeBatchSize} (L{Output.frame}), and
        write it all at once.
        """
        if self._closed:
            return
        output = self.output
        out: list[bytes | memoryview] = []
        sent = output.frame(out)
        calm = None
        if sent is not None:
            now = self._reactor.seconds()
            guard = self._guard
            if sent.progress:
                guard.lastProgress = now
            if sent.cutShort:
                spend = guard.frameBudget.spend
                for _ in range(sent.cutShort):
                    if not spend(now):
                        calm = "DATA frames cut short by tiny windows"
                        break
        if out:
            assert self.transport is not None
            writeInPieces(self.transport.write, out)
        if calm is not None:
            self._calm(calm)
            return
        output.passEnded()
        if self._goingAway and not self._streams:
            self._close(None, "graceful shutdown")

    def _forget(self, stream: Stream, why: str) -> None:
        self._streams.pop(stream.streamID, None)
        self.output.discard(stream)
        self._guard.streamClosed()
        stream.lost(Failure(ConnectionLost(why)))

    # IPushProducer, for the transport

    def pauseProducing(self) -> None:
        """
        The socket's buffer is full: hold every stream's data in its own
        buffer and pause every producer until it drains.
        """
        self.output.pauseProducers()

    def resumeProducing(self) -> None:
        self.output.paused = False
        if not self._closing:
            self._flush()

    def stopProducing(self) -> None:
        self._loseStreams(Failure(ConnectionLost("the transport stopped")))

    # Closing

    def _headTimedOut(self) -> None:
        _log.info(
            "closing HTTP/2 connection from {peer}: request head not complete "
            "within {timeout:g} s",
            peer=describePeer(self.peer),
            timeout=self._limits.headerTimeout,
        )
        if self._frames.inHeaderBlock:
            self._refuseHead(408, ErrorCodes.NO_ERROR, "request head timeout")
        else:
            self._close(ErrorCodes.NO_ERROR, "request head timeout")

    def _idleTimedOut(self) -> None:
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
            out.append(headersFrame(streamID, block, END_HEADERS | END_STREAM))
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
        self.output.stop()
        self._guard.stop()
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
        self.output.clear()
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
