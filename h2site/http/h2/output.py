# -*- test-case-name: tests.unit.http.h2.test_output,tests.unit.http.test_internals -*-
"""
The send half of h2site's HTTP/2 connection: what the streams have written
and not sent yet, the queue of streams with something to send, the
producers paused until it leaves, and the framing of a write pass.

Which frames of which streams a pass sends is decided by
L{h2site.http.h2.scheduler.schedulePass}, a function of plain values; this
module carries the decision out: it frames headers and DATA, charges
C{h2}'s flow-control windows and closes the streams it finished.  The
connection (L{h2site.http.h2.connection}) decides when a pass runs, writes
its bytes to the transport and enforces the limits.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from h2.connection import ConnectionInputs
from h2.connection import H2Connection as H2StateMachine
from h2.errors import ErrorCodes
from h2.stream import StreamInputs
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.web.http_headers import Headers

from h2site.http.h2.frames import (
    DATA,
    END_HEADERS,
    END_STREAM,
    FRAME_HEADER,
    HEADERS,
    MAX_DATA_FRAME,
    FieldEncoder,
    headersFrame,
)
from h2site.http.h2.scheduler import BLOCKED, CLOSED, DONE, READY, Pass, schedulePass
from h2site.http.h2.validation import CONNECTION_HEADERS
from h2site.http.limits import ConnectionLimits

if TYPE_CHECKING:
    from h2site.http.h2.stream import Stream

__all__ = ["Output", "responseFields"]


#: Informational responses whose block a connection keeps, at most.
_INFORMATIONAL_KEPT = 16


class _Informational:
    """
    An informational response as a connection framed it, kept with the
    headers it came from and, unless they are a tuple (of tuples: they
    cannot change), a copy of them, to tell whether it still stands for
    them.
    """

    __slots__ = ("block", "code", "fields", "frameHead", "headers", "snapshot")

    def __init__(
        self,
        headers: Sequence[tuple[bytes, bytes]],
        code: int,
        fields: list[tuple[bytes, bytes]],
        block: bytes,
    ) -> None:
        #: Held, so that its id() stays its own while kept.
        self.headers = headers
        self.snapshot = None if type(headers) is tuple else list(headers)
        self.code = code
        self.fields = fields
        self.block = block
        #: The HEADERS frame's first five bytes (its stream's four follow),
        #: or None when the block needs more than one frame (h2 frames it
        #: with CONTINUATION).  A peer's frames are never smaller than
        #: MAX_DATA_FRAME (RFC 9113, 6.5.2), so this holds for any peer.
        self.frameHead = (
            None if len(block) > MAX_DATA_FRAME else headersFrame(0, block)[:5]
        )


def _takePending(h2: H2StateMachine, out: list[bytes | memoryview]) -> None:
    """
    Move what C{h2} framed and we have not taken yet to C{out}, so that it
    goes before what we frame next: C{data_to_send()}, but only when there
    is something (it makes two buffers even when empty, and a pass asks up
    to four times, usually for nothing).
    """
    if h2._data_to_send:
        out.append(h2.data_to_send())


def responseFields(code: bytes, headers: Headers) -> list[tuple[bytes, bytes]]:
    """
    The header fields of a final response with status C{code} and the
    headers a C{twisted.web} request set: names in lowercase, in their
    order, one field per value, connection-specific fields left out.
    """
    fields = [(b":status", code)]
    for name, values in headers.getAllRawHeaders():
        name = name.lower()
        if name not in CONNECTION_HEADERS:
            for value in values:
                fields.append((name, value))
    return fields


class Output:
    """
    What an HTTP/2 connection has to send, and the framing of it.

    Streams write here (their request's C{write}, C{finish} and 1xx
    responses); the connection frames a pass (L{frame}) at the end of each
    C{dataReceived}, when the transport asks for more, and (at most once per
    reactor turn, through C{runPass}) when a response is written from
    elsewhere.

    @ivar buffered: response bytes held for all streams.
    @ivar paused: the transport is full: producers are paused and no stream
        is framed until it drains.
    @ivar reading: the connection is handling what it read and runs a pass
        afterwards, so writes meanwhile schedule none.
    @ivar stopped: the connection is closing: no pass is scheduled.
    """

    def __init__(
        self,
        h2: H2StateMachine,
        streams: dict[int, Stream],
        limits: ConnectionLimits,
        fields: FieldEncoder,
        reactor: IReactorTime,
        runPass: Callable[[], None],
        streamClosed: Callable[[], None],
    ) -> None:
        """
        @param h2: the connection's state machine, whose windows a pass
            charges and which frames what this module does not.
        @param streams: the connection's open streams, by identifier; a
            stream whose response is sent leaves it.
        @param runPass: runs a pass (the connection's), scheduled when a
            stream writes outside C{dataReceived}.
        @param streamClosed: told when a response is sent, which closes its
            stream.
        """
        self._h2 = h2
        self._streams = streams
        self._limits = limits
        self._fields = fields
        self._reactor = reactor
        self._runPass = runPass
        self._streamClosed = streamClosed
        self._ready: deque[Stream] = deque()
        self._blocked: set[Stream] = set()
        self._pausedStreams: dict[Stream, None] = {}
        #: Informational responses framed but not sent yet: they go first in
        #: the next pass, before any final headers.
        self._early: list[bytes] = []
        #: Informational responses framed before, by their headers' identity
        #: (L{writeInformational}).
        self._informational: dict[int, _Informational] = {}
        self._passCall: IDelayedCall | None = None
        self._framing = False
        self.buffered = 0
        self.paused = False
        self.reading = False
        self.stopped = False

    # What streams (and so requests) call.

    def writeHeaders(self, stream: Stream, code: bytes, headers: Headers) -> None:
        if stream.closed:
            return
        stream.headers = responseFields(code, headers)
        self.markReady(stream)

    def writeFields(self, stream: Stream, fields: list[tuple[bytes, bytes]]) -> None:
        """
        Write a final response's header fields, C{:status} first, as
        L{responseFields} gives them.
        """
        if stream.closed:
            return
        stream.headers = fields
        self.markReady(stream)

    def writeData(self, stream: Stream, data: bytes | memoryview) -> None:
        if stream.closed or not data:
            return
        stream.chunks.append(data)
        stream.buffered += len(data)
        self.buffered += len(data)
        if (
            stream.producer is not None
            and not stream.producerPaused
            and self._mustPause(stream)
        ):
            self._pauseStream(stream)
        self.markReady(stream)

    def writeInformational(
        self, stream: Stream, code: int, headers: Sequence[tuple[bytes, bytes]]
    ) -> bool:
        if stream.closed or stream.headersSent or stream.headers is not None:
            return False
        # The hot path hands the same hints (one list per page) every time:
        # their frame is kept with them, and used while they are unchanged.
        kept = self._informational.get(id(headers))
        if (
            kept is None
            or kept.headers is not headers
            or kept.code != code
            or (kept.snapshot is not None and kept.snapshot != headers)
        ):
            kept = self._keepInformational(code, headers)
        if kept.frameHead is None:
            self._h2.send_headers(stream.streamID, kept.fields)
        else:
            self._early.append(
                kept.frameHead + stream.streamID.to_bytes(4, "big") + kept.block
            )
        self.schedule()
        return True

    def _keepInformational(
        self, code: int, headers: Sequence[tuple[bytes, bytes]]
    ) -> _Informational:
        """
        Encode an informational response, and keep it for its headers.
        """
        fields = [(b":status", b"%d" % code)]
        fields.extend((name.lower(), value) for name, value in headers)
        block = self._fields.encode(fields)
        if len(self._informational) >= _INFORMATIONAL_KEPT:
            self._informational.clear()
        kept = _Informational(headers, code, fields, block)
        self._informational[id(headers)] = kept
        return kept

    def requestDone(self, stream: Stream) -> None:
        if stream.closed:
            return
        stream.finished = True
        self.markReady(stream)

    # What the connection calls.

    def markReady(self, stream: Stream) -> None:
        """
        Queue C{stream} for the next pass, unless it waits for its window
        with nothing else to send.
        """
        if stream.ready or stream.closed:
            return
        if stream.blocked and stream.headers is None:
            return
        stream.ready = True
        self._ready.append(stream)
        self.schedule()

    def schedule(self) -> None:
        """
        Make sure a pass runs soon: in this reactor turn's C{dataReceived},
        or at the next turn.
        """
        if self.reading or self._framing or self._passCall is not None:
            return
        if self.stopped:
            return
        self._passCall = self._reactor.callLater(0, self._runPass)

    def passStarted(self) -> None:
        """
        A pass runs now: the one scheduled is not needed.
        """
        call, self._passCall = self._passCall, None
        if call is not None and call.active():
            call.cancel()

    def windowOpened(self, streamID: int) -> None:
        """
        The peer opened a stream's window, or the connection's (C{streamID}
        0): the streams that waited for it are queued again.
        """
        if streamID == 0:
            blocked = list(self._blocked)
            self._blocked.clear()
            for waiting in blocked:
                waiting.blocked = False
                self.markReady(waiting)
            return
        stream = self._streams.get(streamID)
        if stream is not None and stream.blocked:
            stream.blocked = False
            self._blocked.discard(stream)
            self.markReady(stream)

    def discard(self, stream: Stream) -> None:
        """
        Forget what C{stream} had to send: it was reset or refused.
        """
        self._blocked.discard(stream)
        self._pausedStreams.pop(stream, None)
        self.buffered -= stream.buffered

    def stop(self) -> None:
        """
        The connection is closing: no pass runs any more.
        """
        self.stopped = True
        self.passStarted()

    def clear(self) -> None:
        """
        Forget everything: the connection is lost.
        """
        self._ready.clear()
        self._blocked.clear()
        self._pausedStreams.clear()
        self.buffered = 0

    # Backpressure

    def _mustPause(self, stream: Stream) -> bool:
        return (
            self.paused
            or stream.buffered >= self._limits.streamBufferSize
            or self.buffered >= self._limits.connectionBufferSize
        )

    def _pauseStream(self, stream: Stream) -> None:
        assert stream.producer is not None
        stream.producerPaused = True
        self._pausedStreams[stream] = None
        stream.producer.pauseProducing()

    def pauseProducers(self) -> None:
        """
        The transport is full: hold every stream's data in its own buffer
        and pause every producer until it drains.
        """
        self.paused = True
        for stream in self._streams.values():
            if stream.producer is not None and not stream.producerPaused:
                self._pauseStream(stream)

    def _resumeProducers(self) -> None:
        limits = self._limits
        for stream in list(self._pausedStreams):
            if self.paused or self.buffered >= limits.connectionBufferSize:
                return
            if stream.buffered >= limits.streamBufferSize:
                continue
            del self._pausedStreams[stream]
            stream.producerPaused = False
            if stream.producer is not None and not stream.closed:
                stream.producer.resumeProducing()

    # A pass

    def frame(self, out: list[bytes | memoryview]) -> Pass[Stream] | None:
        """
        Frame into C{out} everything a pass sends: 1xx responses first, then
        what L{schedulePass} lets the ready streams send (unless the
        transport is full), then what C{h2} framed itself.

        @return: what the streams sent, if any took a turn.
        """
        self.passStarted()
        if self._early:
            out.extend(self._early)
            self._early.clear()
        sent = None
        if not self.paused and self._ready:
            self._framing = True
            try:
                sent = self._frameReady(out)
            finally:
                self._framing = False
        _takePending(self._h2, out)
        return sent

    def passEnded(self) -> None:
        """
        A pass was written: resume the producers it made room for, and
        schedule the next pass if streams still wait.
        """
        if self._pausedStreams and not self.paused:
            self._resumeProducers()
        if self._ready and not self.paused:
            self.schedule()

    def _frameReady(self, out: list[bytes | memoryview]) -> Pass[Stream]:
        """
        Frame the turns L{schedulePass} gives the ready streams.

        DATA frames are framed here rather than by C{h2.send_data}, which
        costs more than the rest of the pass per frame (state machine, a
        frame object, three copies); C{h2}'s state machines still take a
        response's last frame (L{_lastData}), and its flow-control windows
        are charged exactly as C{send_data} would.
        """
        h2 = self._h2
        ready = self._ready
        frameSize = min(h2.max_outbound_frame_size, MAX_DATA_FRAME)
        sent = schedulePass(
            ready,
            h2.local_flow_control_window,
            h2.outbound_flow_control_window,
            self._limits.writeBatchSize,
            frameSize,
        )
        for stream, headers, size, end, after in sent.turns:
            ready.popleft()
            stream.ready = False
            if after is CLOSED:
                continue
            streamID = stream.streamID
            if headers:
                fields = stream.headers
                assert fields is not None
                stream.headers = None
                stream.headersSent = True
                block = self._fields.encode(fields)
                if end and not size:
                    # No body (HEAD, 304, an empty file): HEADERS with
                    # END_STREAM, which closes the stream.
                    if len(block) > frameSize:
                        h2.send_headers(streamID, fields, end_stream=True)
                    else:
                        self._headersEnding(out, streamID, block)
                    self._sent(stream)
                    continue
                if len(block) > frameSize:
                    h2.send_headers(streamID, fields)
                else:
                    # h2's stream state needs no news of response headers:
                    # the DATA and END_STREAM that follow go through it.
                    # (As headersFrame frames them, without its copy.)
                    _takePending(h2, out)
                    length = len(block)
                    out.append(
                        FRAME_HEADER.pack(
                            length >> 16,
                            length & 0xFFFF,
                            HEADERS,
                            END_HEADERS,
                            streamID,
                        )
                    )
                    out.append(block)
            if size:
                self.buffered -= size
                # An ending response's last frame goes through h2's state
                # machines (_lastData), which then close the stream.
                last = size - (size - 1) // frameSize * frameSize if end else 0
                direct = size - last
                if direct:
                    _takePending(h2, out)
                    state = h2.streams[streamID]
                    h2.outbound_flow_control_window -= direct
                    state.outbound_flow_control_window -= direct
                    take = stream.take
                    pack = FRAME_HEADER.pack
                    while direct:
                        length = frameSize if direct > frameSize else direct
                        direct -= length
                        out.append(
                            pack(length >> 16, length & 0xFFFF, DATA, 0, streamID)
                        )
                        out.append(take(length))
                if last:
                    self._lastData(out, stream, last)
            elif end:
                h2.end_stream(streamID)
            if after is DONE:
                self._sent(stream)
            elif after is READY:
                stream.ready = True
                ready.append(stream)
            elif after is BLOCKED:
                stream.blocked = True
                self._blocked.add(stream)
        return sent

    def _lastData(
        self, out: list[bytes | memoryview], stream: Stream, size: int
    ) -> None:
        """
        Frame a response's last DATA frame (with END_STREAM) as
        C{h2.send_data} does, at a third of its cost: C{h2}'s state machines
        take the same inputs (and refuse a stream that cannot send), and
        the windows are charged alike, but the frame is packed here and its
        bytes are not copied.
        """
        h2 = self._h2
        streamID = stream.streamID
        _takePending(h2, out)
        h2.state_machine.process_input(ConnectionInputs.SEND_DATA)
        state = h2.streams[streamID]
        machine = state.state_machine
        machine.process_input(StreamInputs.SEND_DATA)
        machine.process_input(StreamInputs.SEND_END_STREAM)
        h2.outbound_flow_control_window -= size
        state.outbound_flow_control_window -= size
        out.append(
            FRAME_HEADER.pack(size >> 16, size & 0xFFFF, DATA, END_STREAM, streamID)
        )
        out.append(stream.take(size))

    def _headersEnding(
        self, out: list[bytes | memoryview], streamID: int, block: bytes
    ) -> None:
        """
        Frame a response's only HEADERS frame (with END_STREAM) as
        C{h2.send_headers} does, without its HPACK encoder: C{h2}'s state
        machines take the same inputs (and refuse a stream that cannot
        send), and the block is L{FieldEncoder}'s, from its cache.
        """
        h2 = self._h2
        _takePending(h2, out)
        h2.state_machine.process_input(ConnectionInputs.SEND_HEADERS)
        machine = h2.streams[streamID].state_machine
        machine.process_input(StreamInputs.SEND_HEADERS)
        machine.process_input(StreamInputs.SEND_END_STREAM)
        out.append(headersFrame(streamID, block, END_HEADERS | END_STREAM))

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
