# -*- test-case-name: tests.unit.http.h2.test_scheduler -*-
"""
Which frames of which streams one write pass sends: a decision made from
the ready streams, their flow-control windows, the connection's window, the
pass's byte budget and the frame size, with no clock, no transport and no
C{h2} state, so that it can be tested with plain values (as C{h2} keeps
protocol logic apart from I/O).  L{h2site.http.h2.output} carries the
decision out (it frames, and charges C{h2}'s windows), and the connection
writes the frames.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final, Generic, Literal, NamedTuple, Protocol, TypeVar

__all__ = [
    "BLOCKED",
    "CLOSED",
    "DONE",
    "IDLE",
    "READY",
    "SMALL_FRAME",
    "After",
    "Pass",
    "Pending",
    "Turn",
    "schedulePass",
]

#: A DATA frame smaller than this that leaves data waiting was cut short by a
#: tiny flow-control window: the peer makes us pay a frame per few bytes.
SMALL_FRAME = 1024


class Pending(Protocol):
    """
    What the scheduler reads of a stream waiting for a pass (an
    L{h2site.http.h2.stream.Stream} is one).
    """

    @property
    def streamID(self) -> int:
        """
        The stream's identifier, as C{streamWindow} knows it.
        """

    @property
    def closed(self) -> bool:
        """
        The stream was reset or lost while it waited: it sends nothing.
        """

    @property
    def headers(self) -> object:
        """
        The final response headers, if they wait for this pass, else L{None}.
        """

    @property
    def headersSent(self) -> bool:
        """
        The final headers went out in an earlier pass.
        """

    @property
    def buffered(self) -> int:
        """
        Response bytes written and not sent yet.
        """

    @property
    def finished(self) -> bool:
        """
        The response is all written: its last byte must end the stream.
        """


#: What becomes of a stream after its turn in a pass.  Plain constants rather
#: than an enumeration: an enumeration member costs a dozen times a global
#: to look up, and the pass looks them up for every stream.
After = Literal["closed", "done", "ready", "blocked", "idle"]

#: It was closed before its turn: nothing was sent, nothing will be.
CLOSED: Final = "closed"

#: Its response is complete: END_STREAM went out with this turn.
DONE: Final = "done"

#: It has data left and its window is open, but the pass's budget is spent:
#: it goes to the back of the queue for the next pass.
READY: Final = "ready"

#: It has data left and its window is shut: it waits for a WINDOW_UPDATE, out
#: of the queue, costing nothing.
BLOCKED: Final = "blocked"

#: It has nothing more to send for now: it leaves the queue until it writes
#: again.
IDLE: Final = "idle"


P = TypeVar("P", bound=Pending)


class Turn(NamedTuple, Generic[P]):
    """
    One stream's part of a pass.

    @ivar stream: the stream.
    @ivar headers: its final headers go out (with END_STREAM when C{end} is
        set and C{size} is 0 and there was no body: a bodiless response).
    @ivar size: bytes of DATA that go out, in frames of the pass's frame
        size, all full but the last.
    @ivar end: END_STREAM goes out: on the last DATA frame, on the HEADERS
        frame of a bodiless response, or alone on an empty DATA frame when
        the body was sent in earlier passes.
    @ivar after: what becomes of the stream.
    """

    stream: P
    headers: bool
    size: int
    end: bool
    after: After


class Pass(NamedTuple, Generic[P]):
    """
    What one write pass sends.

    @ivar turns: the turns of the first streams of the queue, in its order;
        the streams after them wait for the next pass.
    @ivar cutShort: turns that used up their window and ended with a DATA
        frame of fewer than L{SMALL_FRAME} bytes, without finishing their
        response: a peer that keeps its windows tiny makes us pay a frame
        per few bytes, and each such frame spends the connection's frame
        budget.
    @ivar progress: headers or data go out: the connection is not idle.
    """

    turns: list[Turn[P]]
    cutShort: int
    progress: bool


def schedulePass(
    ready: Iterable[P],
    streamWindow: Callable[[int], int],
    connectionWindow: int,
    budget: int,
    frameSize: int,
) -> Pass[P]:
    """
    Decide what one write pass sends.

    Streams take their turns in queue order (round robin: a stream that
    still has data when the budget runs out goes to the back).  Headers cost
    no budget; DATA costs its size, and a turn sends as much as the stream
    has buffered, its window allows and the budget has left, so a pass never
    sends more than the windows or the budget allow.  A stream whose window
    is shut sends no DATA and waits outside the queue (L{BLOCKED}), so a
    stalled stream costs nothing until the peer opens its window.

    @param ready: the streams waiting, in queue order.
    @param streamWindow: a stream's flow-control window, by stream
        identifier, as it stood when the pass began (it may also be bounded
        by the connection's window: only the smaller of the two counts).
        Called once per turn that could send DATA.
    @param connectionWindow: the connection's flow-control window.
    @param budget: the most DATA bytes the pass may send
        (L{h2site.http.limits.ConnectionLimits.writeBatchSize}); a pass with
        no budget sends nothing at all.
    @param frameSize: the largest DATA frame payload.
    @return: the turns of the first streams of C{ready}.
    """
    turns: list[Turn[P]] = []
    append = turns.append
    # NamedTuple's own constructor is a Python function that costs three
    # times the tuple it makes.
    newTuple = tuple.__new__
    cutShort = 0
    progress = False
    for stream in ready:
        if budget <= 0:
            break
        if stream.closed:
            append(newTuple(Turn, (stream, False, 0, False, CLOSED)))
            continue
        headers = stream.headers is not None
        buffered = stream.buffered
        finished = stream.finished
        if headers:
            progress = True
            if finished and not buffered:
                append(newTuple(Turn, (stream, True, 0, True, DONE)))
                continue
        if not buffered:
            # With headers this turn the response is not finished (that was
            # the bodiless response above), so only earlier headers count.
            if finished and stream.headersSent:
                append(newTuple(Turn, (stream, headers, 0, True, DONE)))
            else:
                append(newTuple(Turn, (stream, headers, 0, False, IDLE)))
            continue
        window = min(connectionWindow, streamWindow(stream.streamID))
        if window <= 0:
            append(newTuple(Turn, (stream, headers, 0, False, BLOCKED)))
            continue
        size = min(window, buffered, budget)
        progress = True
        budget -= size
        connectionWindow -= size
        if finished and size == buffered:
            append(newTuple(Turn, (stream, headers, size, True, DONE)))
            continue
        if size == window and (size - 1) % frameSize + 1 < SMALL_FRAME:
            # The window let only a few bytes through in the last frame.
            cutShort += 1
        after: After
        if size == buffered:
            after = IDLE
        elif size < window:
            # Only the budget stopped it, so nothing else has a turn.
            after = READY
        else:
            after = BLOCKED
        append(newTuple(Turn, (stream, headers, size, False, after)))
    return newTuple(Pass, (turns, cutShort, progress))
