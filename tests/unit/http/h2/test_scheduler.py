"""
Tests for L{h2site.http.h2.scheduler}: what a write pass sends, decided from
plain values (streams, windows, budget, frame size), without a clock, a
transport or C{h2}.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from h2site.http.h2.scheduler import (
    BLOCKED,
    CLOSED,
    DONE,
    IDLE,
    READY,
    SMALL_FRAME,
    Pass,
    Turn,
    schedulePass,
)

FRAME = 16384


@dataclass(eq=False)
class Waiting:
    """
    A stream as the scheduler sees it (L{h2site.http.h2.scheduler.Pending}).
    """

    streamID: int
    buffered: int = 0
    finished: bool = False
    headers: object = None
    headersSent: bool = False
    closed: bool = False


def plan(
    streams: list[Waiting],
    windows: dict[int, int] | None = None,
    connectionWindow: int = 2**31 - 1,
    budget: int = 120 * 1024,
    frameSize: int = FRAME,
) -> Pass[Waiting]:
    """
    Schedule a pass; each stream's window is 2**31 - 1 unless C{windows}
    says otherwise.
    """
    known = windows or {}
    return schedulePass(
        streams,
        lambda streamID: known.get(streamID, 2**31 - 1),
        connectionWindow,
        budget,
        frameSize,
    )


def apply(queue: deque[Waiting], sent: Pass[Waiting]) -> None:
    """
    Carry a pass out on the streams, as the connection does: what was sent
    leaves their buffers, and a stream with data left and its window open
    goes to the back of the queue.
    """
    for stream, headers, size, end, after in sent.turns:
        assert queue.popleft() is stream
        if headers:
            stream.headers = None
            stream.headersSent = True
        stream.buffered -= size
        if end:
            stream.closed = True
        if after == READY:
            queue.append(stream)


class ExamplesTests(SynchronousTestCase):
    """
    The turns of the usual responses.
    """

    def test_page(self) -> None:
        """
        A page written at once (headers, a body smaller than a frame,
        finished) is one turn: headers, the body, END_STREAM.
        """
        page = Waiting(1, buffered=1200, finished=True, headers=[])
        self.assertEqual(
            plan([page]), Pass([Turn(page, True, 1200, True, DONE)], 0, True)
        )

    def test_bodiless(self) -> None:
        """
        A response with no body (HEAD, 304) is its headers with END_STREAM.
        """
        head = Waiting(1, finished=True, headers=[])
        self.assertEqual(plan([head]).turns, [Turn(head, True, 0, True, DONE)])

    def test_endAfterBody(self) -> None:
        """
        A response whose body went out in earlier passes and then finished
        ends with END_STREAM alone (an empty DATA frame).
        """
        ended = Waiting(1, finished=True, headersSent=True)
        self.assertEqual(plan([ended]).turns, [Turn(ended, False, 0, True, DONE)])

    def test_headersFirst(self) -> None:
        """
        Headers written before any body go out alone; the stream leaves the
        queue until it writes again.
        """
        started = Waiting(1, headers=[])
        self.assertEqual(
            plan([started]), Pass([Turn(started, True, 0, False, IDLE)], 0, True)
        )

    def test_budgetRoundRobin(self) -> None:
        """
        Large responses share the passes in turn: the budget runs out in
        the first one's turn, which goes to the back of the queue; the next
        pass begins with the second.
        """
        first = Waiting(1, buffered=160 * 1024, finished=True, headersSent=True)
        second = Waiting(3, buffered=160 * 1024, finished=True, headersSent=True)
        queue = deque([first, second])
        sent = plan(list(queue))
        self.assertEqual(sent.turns, [Turn(first, False, 120 * 1024, False, READY)])
        apply(queue, sent)
        self.assertEqual(list(queue), [second, first])
        sent = plan(list(queue))
        self.assertEqual(sent.turns, [Turn(second, False, 120 * 1024, False, READY)])
        apply(queue, sent)
        sent = plan(list(queue))
        self.assertEqual(
            sent.turns,
            [
                Turn(first, False, 40 * 1024, True, DONE),
                Turn(second, False, 40 * 1024, True, DONE),
            ],
        )

    def test_connectionWindow(self) -> None:
        """
        The connection's window is shared: once the first stream used it
        up, the others wait for a WINDOW_UPDATE, and cost no budget.
        """
        streams = [Waiting(i, buffered=50000, headersSent=True) for i in (1, 3, 5)]
        sent = plan(streams, connectionWindow=65535)
        self.assertEqual(
            sent.turns,
            [
                Turn(streams[0], False, 50000, False, IDLE),
                Turn(streams[1], False, 15535, False, BLOCKED),
                Turn(streams[2], False, 0, False, BLOCKED),
            ],
        )

    def test_stalled(self) -> None:
        """
        A stream whose window is shut still sends its headers, then waits
        outside the queue; it does not keep the others from their turn.
        """
        stalled = Waiting(1, buffered=1000, headers=[], finished=True)
        other = Waiting(3, buffered=1000, headers=[], finished=True)
        sent = plan([stalled, other], windows={1: 0})
        self.assertEqual(
            sent.turns,
            [
                Turn(stalled, True, 0, False, BLOCKED),
                Turn(other, True, 1000, True, DONE),
            ],
        )

    def test_closed(self) -> None:
        """
        A stream reset while it waited sends nothing, and its window is not
        even asked for.
        """
        asked: list[int] = []
        gone = Waiting(1, buffered=1000, headers=[], finished=True, closed=True)

        def window(streamID: int) -> int:
            asked.append(streamID)
            return 65535

        sent = schedulePass([gone], window, 65535, 1000, FRAME)
        self.assertEqual(sent, Pass([Turn(gone, False, 0, False, CLOSED)], 0, False))
        self.assertEqual(asked, [])

    def test_noBudget(self) -> None:
        """
        A pass without budget sends nothing at all, not even headers.
        """
        self.assertEqual(plan([Waiting(1, headers=[])], budget=0), Pass([], 0, False))

    def test_cutShort(self) -> None:
        """
        A window that lets only a few bytes through while more wait costs a
        frame for those bytes: the pass counts such frames.  A window that
        lets a whole frame or the end of the response through does not.
        """
        tiny = Waiting(1, buffered=5000, headersSent=True)
        self.assertEqual(plan([tiny], windows={1: 10}).cutShort, 1)
        # The last of several frames is the small one.
        tiny = Waiting(1, buffered=50000, headersSent=True)
        self.assertEqual(plan([tiny], windows={1: FRAME + 10}).cutShort, 1)
        whole = Waiting(1, buffered=50000, headersSent=True)
        self.assertEqual(plan([whole], windows={1: FRAME}).cutShort, 0)
        ending = Waiting(1, buffered=10, finished=True, headersSent=True)
        self.assertEqual(plan([ending], windows={1: 10}).cutShort, 0)
        budget = Waiting(1, buffered=5000, headersSent=True)
        self.assertEqual(plan([budget], budget=10).cutShort, 0)
        self.assertLess(10, SMALL_FRAME)


_streams = st.lists(
    st.builds(
        Waiting,
        streamID=st.just(0),
        buffered=st.one_of(st.just(0), st.integers(1, 300_000)),
        finished=st.booleans(),
        headers=st.sampled_from([None, []]),
        headersSent=st.booleans(),
        closed=st.booleans(),
    ),
    max_size=12,
)

_windows = st.integers(-1000, 300_000)


class PropertiesTests(SynchronousTestCase):
    """
    What holds of every pass.
    """

    @given(
        _streams,
        st.lists(_windows, min_size=12, max_size=12),
        _windows,
        st.integers(0, 300_000),
        st.sampled_from([FRAME, 1, 100, 1024, 20000]),
    )
    def test_limits(
        self,
        streams: list[Waiting],
        windows: list[int],
        connectionWindow: int,
        budget: int,
        frameSize: int,
    ) -> None:
        """
        A pass never sends more than a stream has, its window allows, the
        connection's window allows or the budget allows; its turns are the
        first streams of the queue, in order, and it stops early only when
        the budget is spent.  A stream whose window is shut sends no data
        and waits outside the queue; one with data left and its window open
        has a turn only when the budget ran out in it.  END_STREAM goes out
        exactly when the last byte of a finished response does (or after
        it, alone), and a closed stream sends nothing.
        """
        for number, stream in enumerate(streams):
            stream.streamID = 2 * number + 1
        byID = {s.streamID: w for s, w in zip(streams, windows, strict=False)}
        asked: list[int] = []

        def window(streamID: int) -> int:
            asked.append(streamID)
            return byID[streamID]

        sent = schedulePass(streams, window, connectionWindow, budget, frameSize)
        turns = sent.turns
        self.assertEqual([t.stream for t in turns], streams[: len(turns)])
        total = sum(t.size for t in turns)
        self.assertLessEqual(total, budget)
        self.assertLessEqual(total, max(connectionWindow, 0))
        if len(turns) < len(streams):
            self.assertEqual(total, budget)
        self.assertEqual(len(asked), len(set(asked)))
        for stream, headers, size, end, after in turns:
            self.assertGreaterEqual(size, 0)
            self.assertLessEqual(size, stream.buffered)
            self.assertLessEqual(size, max(byID[stream.streamID], 0))
            if stream.closed:
                self.assertEqual((headers, size, end, after), (False, 0, False, CLOSED))
                continue
            self.assertEqual(headers, stream.headers is not None)
            if size:
                self.assertIn(stream.streamID, asked)
            if after == BLOCKED:
                self.assertLess(size, stream.buffered)
            if after == READY:
                self.assertLess(size, stream.buffered)
                self.assertIs(stream, turns[-1].stream)
                self.assertEqual(total, budget)
            left = stream.buffered - size
            ends = bool(
                stream.finished and not left and (size or headers or stream.headersSent)
            )
            self.assertEqual(end, ends)
            self.assertEqual(after == DONE, ends)
            if after == IDLE:
                self.assertEqual(left, 0)
        self.assertEqual(sent.progress, any(t.headers or t.size for t in turns))

    @given(
        st.lists(st.integers(1, 100_000), min_size=1, max_size=12),
        st.integers(4096, 300_000),
    )
    def test_everyStreamFinishes(self, sizes: list[int], budget: int) -> None:
        """
        With the windows open, passes that take turns round robin finish
        every response, each in as few passes as the budget allows, and
        every pass sends the whole budget until little is left: no stream
        is starved, none is served twice before the others had a turn.
        """
        streams = [
            Waiting(2 * i + 1, buffered=size, headers=[], finished=True)
            for i, size in enumerate(sizes)
        ]
        queue = deque(streams)
        passes = 0
        while queue:
            front = queue[0]
            sent = plan(list(queue), budget=budget)
            self.assertIs(sent.turns[0].stream, front)
            if queue and sum(s.buffered for s in queue) >= budget:
                self.assertEqual(sum(t.size for t in sent.turns), budget)
            apply(queue, sent)
            passes += 1
        self.assertEqual(passes, -(-sum(sizes) // budget))
        self.assertTrue(all(s.closed and s.buffered == 0 for s in streams))

    @given(st.integers(1, 300_000), st.integers(1, 300_000), st.booleans())
    def test_cutShortCount(self, buffered: int, window: int, finished: bool) -> None:
        """
        A frame is counted as cut short when the turn used up the window and
        its last frame is under L{SMALL_FRAME} bytes, unless it finished
        the response.
        """
        stream = Waiting(1, buffered=buffered, finished=finished, headersSent=True)
        sent = plan([stream], windows={1: window}, budget=10**9)
        size = min(buffered, window)
        last = (size - 1) % FRAME + 1
        ending = finished and size == buffered
        cut = size == window and not ending and last < SMALL_FRAME
        self.assertEqual(sent.cutShort, int(cut))
