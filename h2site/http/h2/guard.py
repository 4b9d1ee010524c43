# -*- test-case-name: tests.unit.http.h2.test_guard -*-
"""
What a client may make an HTTP/2 connection spend, and when it has spent
too much: time (each request head has a deadline, an idle connection is
closed) and frames that do no useful work (a budget that refills with time,
another for stream resets, and an allowance for frames on streams already
closed).

A peer can keep a connection busy without asking for anything: PING,
SETTINGS or PRIORITY frames in a loop, resets of the streams it just opened
(Rapid Reset), DATA on streams long closed, a request head sent a byte at a
time.  Each costs little, and C{h2} answers most of them without a word, so
the connection asks the L{Guard} before it does the work.
"""

from __future__ import annotations

from collections.abc import Callable

from h2.connection import H2Connection as H2StateMachine
from hyperframe.frame import Frame
from twisted.internet.interfaces import IDelayedCall, IReactorTime

from h2site.http.h2.frames import (
    DATA,
    RST_STREAM,
    WINDOW_UPDATE,
    Calm,
    LimitedFrameBuffer,
)
from h2site.http.limits import ConnectionLimits, TokenBucket, recheckIdle

__all__ = [
    "LATE_FRAMES_PER_STREAM",
    "LATE_FRAME_TYPES",
    "SMALL_WINDOW_UPDATE",
    "Guard",
]

#: Frames a client may send on a stream that is already closed, which C{h2}
#: answers (RST_STREAM) or drops without telling us.
LATE_FRAME_TYPES = frozenset([DATA, WINDOW_UPDATE, RST_STREAM])


#: Frames on a closed stream that cost nothing, per stream closed: what was
#: in flight when it closed (DATA within the stream window, a
#: WINDOW_UPDATE).  Past that they spend the frame budget.
LATE_FRAMES_PER_STREAM = 8


#: A WINDOW_UPDATE smaller than this opens too little to be worth a frame.
SMALL_WINDOW_UPDATE = 1024


class Guard:
    """
    The budgets and deadlines of one HTTP/2 connection.

    @ivar frameBudget: frames that do no useful work (see
        L{ConnectionLimits.frameBudget}).
    @ivar resetBudget: streams the client resets (see
        L{ConnectionLimits.resetBudget}).
    @ivar lastProgress: when the connection last made useful progress (a
        request, request body, or response bytes leaving); the idle timeout
        counts from it.
    @ivar framesArrived: frames read so far.
    """

    def __init__(
        self,
        limits: ConnectionLimits,
        reactor: IReactorTime,
        h2: H2StateMachine,
        headTimedOut: Callable[[], None],
        idleTimedOut: Callable[[], None],
    ) -> None:
        """
        @param h2: the connection's state machine, which knows which streams
            are closed.
        @param headTimedOut: called when a request head is not complete in
            time.
        @param idleTimedOut: called when the connection made no progress for
            L{ConnectionLimits.idleTimeout}.
        """
        self._limits = limits
        self._reactor = reactor
        self._h2 = h2
        self._headTimedOut = headTimedOut
        self._idleTimedOut = idleTimedOut
        now = reactor.seconds()
        self.lastProgress = now
        self.frameBudget = TokenBucket(limits.frameBudget, limits.frameBudgetRate, now)
        self.resetBudget = TokenBucket(limits.resetBudget, limits.resetBudgetRate, now)
        self.framesArrived = 0
        #: Frames on closed streams still free (see L{LATE_FRAMES_PER_STREAM}).
        self._lateFrames = 0
        self._frames: LimitedFrameBuffer | None = None
        #: When the request head being read began (the connection preface, a
        #: header block, or a frame), or L{None}; see L{trackHead}.
        self._headSince: float | None = None
        self._headCall: IDelayedCall | None = None
        self._idleCall: IDelayedCall | None = None
        self._stopped = False

    def start(self, frames: LimitedFrameBuffer) -> None:
        """
        The connection is made: the idle timeout and the deadline of the
        connection preface start.

        @param frames: the buffer the connection reads frames from, which
            tells how far a request head is read.
        """
        self._frames = frames
        reactor = self._reactor
        limits = self._limits
        self._idleCall = reactor.callLater(limits.idleTimeout, self._checkIdle)
        self._headSince = reactor.seconds()
        self._headCall = reactor.callLater(limits.headerTimeout, self._checkHead)

    def stop(self) -> None:
        """
        The connection is closing: no deadline applies any more.
        """
        self._stopped = True
        for call in (self._headCall, self._idleCall):
            if call is not None and call.active():
                call.cancel()
        self._headCall = self._idleCall = None

    def frameArrived(self, frame: Frame) -> None:
        """
        See each frame before C{h2} does: C{h2} answers DATA on a closed
        stream with RST_STREAM, and drops WINDOW_UPDATE and RST_STREAM there,
        without an event, so such frames would cost a flooding client
        nothing.  Beyond what may have been in flight when the stream closed,
        they spend the frame budget.

        @raise Calm: if the budget is empty.
        """
        self.framesArrived += 1
        streamID = frame.stream_id
        if not streamID or frame.type not in LATE_FRAME_TYPES:
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
        elif not self.frameBudget.spend(self._reactor.seconds()):
            raise Calm("frames on closed streams")

    def streamClosed(self) -> None:
        """
        A stream closed: frames the client had in flight on it are free.
        """
        self._lateFrames = min(
            self._lateFrames + LATE_FRAMES_PER_STREAM,
            LATE_FRAMES_PER_STREAM * self._limits.maxConcurrentStreams,
        )

    def requestArrived(self) -> None:
        """
        A HEADERS frame that opens a stream was read past the frame buffer
        (L{h2site.http.h2.intake}): counted, as L{frameArrived} would.
        """
        self.framesArrived += 1

    def trackHead(self, framesArrived: bool) -> None:
        """
        Note whether part of a request head is waiting: the preface, a
        header block (HEADERS without END_HEADERS, then CONTINUATION), or
        any frame begun and not complete.  Each must be complete within
        L{ConnectionLimits.headerTimeout}; a frame's clock restarts when the
        frame before it completed, a header block's and the preface's do not.

        @param framesArrived: frames were read since the last call.
        """
        frames = self._frames
        assert frames is not None
        if not (frames.prefaceMissing or frames.incomplete or not self.framesArrived):
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
        if since is None or self._stopped:
            return
        left = since + self._limits.headerTimeout - self._reactor.seconds()
        if left > 0:
            self._headCall = self._reactor.callLater(left, self._checkHead)
            return
        self._headTimedOut()

    def _checkIdle(self) -> None:
        self._idleCall = None
        self._idleCall = recheckIdle(
            self._reactor,
            self._limits.idleTimeout,
            self.lastProgress,
            self._checkIdle,
            self._idleTimedOut,
        )
