"""
Tests for L{h2site.http.h2.guard}: what a client may make an HTTP/2
connection spend (frame and reset budgets, frames on closed streams, the
deadline of request heads, the idle timeout), driven in memory by a real
C{h2} client through h2site's real C{Site} (see L{tests.harness}), and the
guard's own bookkeeping with plain values.
"""

from __future__ import annotations

from h2.config import H2Configuration
from h2.connection import H2Connection as H2Client
from h2.connection import H2Connection as H2StateMachine
from h2.errors import ErrorCodes
from h2.settings import SettingCodes
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    Frame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    PriorityFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
)
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from h2site.http.h2.frames import Calm, LimitedFrameBuffer
from h2site.http.h2.guard import LATE_FRAMES_PER_STREAM, Guard
from h2site.http.limits import ConnectionLimits
from tests.h2client import requestHeaders
from tests.harness import SMALL_LIMITS, Harness, responses, statusOf


class IdleTimeoutTests(SynchronousTestCase):
    """
    The idle timeout counts useful progress only: requests, request bodies
    and response bytes leaving.
    """

    def test_idleTimeoutCountsProgressOnly(self) -> None:
        """
        PINGs do not keep a connection open; requests do.
        """
        h = Harness(ConnectionLimits(idleTimeout=30))
        h.clock.advance(20)
        h.request("/page")
        h.clock.advance(20)
        h.sendFrames(PingFrame(0, opaque_data=b"12345678"))
        h.clock.advance(9)
        self.assertFalse(h.transport.disconnecting)
        h.clock.advance(1)
        self.assertEqual(h.goAway().error_code, ErrorCodes.NO_ERROR)
        self.assertTrue(h.transport.disconnecting)

    def test_windowUpdatesThatSendNothing(self) -> None:
        """
        WINDOW_UPDATEs for a stream while the connection's window stays shut
        let nothing through, so they do not keep the connection open.
        """
        h = Harness(ConnectionLimits(idleTimeout=30))
        streamID = h.request("/stream")
        h.receive()
        for _ in range(3):
            h.clock.advance(14)
            h.sendFrames(WindowUpdateFrame(streamID, window_increment=100000))
        self.assertTrue(h.transport.disconnecting)
        self.assertEqual(h.goAway().error_code, ErrorCodes.NO_ERROR)

    def test_stalledStreamTimesOut(self) -> None:
        """
        A client that never opens its window is closed after the idle
        timeout: waiting is not progress.
        """
        h = Harness(
            ConnectionLimits(idleTimeout=30),
            settings={SettingCodes.INITIAL_WINDOW_SIZE: 10},
        )
        h.request("/stream")
        h.clock.advance(29)
        self.assertFalse(h.transport.disconnecting)
        h.clock.advance(1)
        self.assertTrue(h.transport.disconnecting)
        self.assertTrue(h.stream.producers[0].stopped)


class BudgetTests(SynchronousTestCase):
    """
    Frames that do no useful work spend a budget; an empty budget ends the
    connection with GOAWAY ENHANCE_YOUR_CALM.
    """

    def assertCalm(self, h: Harness) -> None:
        self.assertEqual(h.goAway().error_code, ErrorCodes.ENHANCE_YOUR_CALM)
        self.assertTrue(h.transport.disconnecting)

    def flood(self, frame: Frame, count: int = 25) -> Harness:
        h = Harness(SMALL_LIMITS)
        h.sendFrames(*[frame] * count)
        return h

    def test_withinBudget(self) -> None:
        """
        A few such frames are fine, and the budget refills with time.
        """
        h = Harness(SMALL_LIMITS)
        ping = PingFrame(0, opaque_data=b"12345678")
        h.sendFrames(*[ping] * 18)
        h.clock.advance(10)
        h.sendFrames(*[ping] * 10)
        self.assertFalse(h.transport.disconnecting)
        streamID = h.request("/page")
        self.assertEqual(responses(h.receive())[streamID]["status"], 200)

    def test_ping(self) -> None:
        """
        A PING flood.
        """
        self.assertCalm(self.flood(PingFrame(0, opaque_data=b"12345678")))

    def test_settings(self) -> None:
        """
        A SETTINGS flood.
        """
        self.assertCalm(self.flood(SettingsFrame(0)))

    def test_priority(self) -> None:
        """
        PRIORITY frames for idle streams (which made Twisted raise
        C{TooManyStreamsError} past 1000).
        """
        h = Harness(SMALL_LIMITS)
        h.sendFrames(*[PriorityFrame(2 * i + 1, depends_on=0) for i in range(25)])
        self.assertCalm(h)

    def test_emptyData(self) -> None:
        """
        Empty DATA frames on an open stream.
        """
        h = Harness(SMALL_LIMITS)
        streamID = h.request("/page", "POST", end=False)
        h.sendFrames(*[DataFrame(streamID)] * 25)
        self.assertCalm(h)

    def test_tinyWindowUpdates(self) -> None:
        """
        WINDOW_UPDATE frames that open a byte at a time.
        """
        self.assertCalm(self.flood(WindowUpdateFrame(0, window_increment=1)))

    def test_unknownFrames(self) -> None:
        """
        Frames of unknown types (which must be ignored) are ignored only so
        often.
        """
        h = Harness(SMALL_LIMITS)
        # Type 0xEE, one byte of payload (hyperframe cannot serialise one).
        h.send(b"\x00\x00\x01\xee\x00\x00\x00\x00\x00x" * 25)
        self.assertCalm(h)

    def test_rapidReset(self) -> None:
        """
        Streams opened and reset at once (CVE-2023-44487).
        """
        h = Harness(SMALL_LIMITS)
        for _ in range(11):
            streamID = h.client.get_next_available_stream_id()
            h.client.send_headers(streamID, requestHeaders("/page"), end_stream=True)
            h.client.reset_stream(streamID)
        h.send()
        self.assertCalm(h)

    def test_dribble(self) -> None:
        """
        A one-byte window, reopened a byte at a time, would cost a frame per
        byte.
        """
        h = Harness(SMALL_LIMITS, settings={SettingCodes.INITIAL_WINDOW_SIZE: 1})
        streamID = h.request("/stream")
        h.sendFrames(*[WindowUpdateFrame(streamID, window_increment=1)] * 25)
        self.assertCalm(h)

    def test_resetWithinBudget(self) -> None:
        """
        Ordinary cancellations (a browser leaving a page) are fine.
        """
        h = Harness(SMALL_LIMITS)
        streamID = h.request("/slow")
        h.sendFrames(RstStreamFrame(streamID, error_code=ErrorCodes.CANCEL))
        other = h.request("/page")
        self.assertEqual(responses(h.receive())[other]["status"], 200)


class ClosedStreamTests(SynchronousTestCase):
    """
    DATA, WINDOW_UPDATE and RST_STREAM frames on closed streams, which C{h2}
    answers or drops without telling the connection, spend the frame budget
    beyond what could have been in flight when the stream closed.
    """

    def assertCalm(self, h: Harness, answered: int) -> None:
        """
        The connection ended with ENHANCE_YOUR_CALM after the server answered
        at most C{answered} of the flood's frames with a RST_STREAM.
        """
        self.assertEqual(h.goAway().error_code, ErrorCodes.ENHANCE_YOUR_CALM)
        self.assertTrue(h.transport.disconnecting)
        resets = [f for f in h.frames if isinstance(f, RstStreamFrame)]
        self.assertLessEqual(len(resets), answered)

    def completed(self, h: Harness) -> int:
        streamID = h.request("/page")
        self.assertEqual(responses(h.receive())[streamID]["status"], 200)
        return streamID

    def test_dataFlood(self) -> None:
        """
        One-byte DATA frames on a finished stream, each of which h2 answers
        with RST_STREAM, end the connection once the budget is spent: at
        most the budget plus the closed stream's allowance are answered.
        """
        h = Harness(SMALL_LIMITS)
        streamID = self.completed(h)
        h.sendFrames(*[DataFrame(streamID, data=b"x")] * 1000)
        self.assertCalm(h, SMALL_LIMITS.frameBudget + 8)

    def test_windowUpdateFlood(self) -> None:
        """
        Large WINDOW_UPDATEs on a finished stream (which h2 drops silently).
        """
        h = Harness(SMALL_LIMITS)
        streamID = self.completed(h)
        h.sendFrames(*[WindowUpdateFrame(streamID, window_increment=65536)] * 1000)
        self.assertCalm(h, 0)

    def test_resetFlood(self) -> None:
        """
        RST_STREAM after RST_STREAM on a stream the client already reset.
        """
        h = Harness(SMALL_LIMITS)
        streamID = h.request("/slow")
        h.sendFrames(*[RstStreamFrame(streamID, error_code=ErrorCodes.CANCEL)] * 1000)
        self.assertCalm(h, SMALL_LIMITS.frameBudget + 8)

    def test_framesInFlightAreFree(self) -> None:
        """
        A WINDOW_UPDATE and a few DATA frames that were in flight when each
        of many streams closed (more in all than the budget) do not end the
        connection.
        """
        h = Harness(SMALL_LIMITS)
        done = [self.completed(h) for _ in range(20)]
        late: list[Frame] = []
        for streamID in done:
            late.append(WindowUpdateFrame(streamID, window_increment=65536))
            late.extend([DataFrame(streamID, data=b"x" * 100)] * 3)
        h.sendFrames(*late)
        self.assertFalse(h.transport.disconnecting)
        self.completed(h)
        self.assertFalse(any(isinstance(f, GoAwayFrame) for f in h.frames))


class HeadDeadlineTests(SynchronousTestCase):
    """
    The connection preface, a header block and each frame must be complete
    within the header timeout of their first byte, however the bytes trickle.
    """

    limits = ConnectionLimits(headerTimeout=20, idleTimeout=600)

    def trickle(self, h: Harness, data: bytes, every: float = 5) -> None:
        for byte in data:
            h.clock.advance(every)
            if h.transport.disconnecting:
                return
            h.send(bytes([byte]))

    def test_preface(self) -> None:
        """
        A preface trickled a byte every 5 s is cut at 20 s.
        """
        h = Harness(self.limits, start=False)
        h.send(b"P")
        self.trickle(h, b"RI * HTTP/2.0\r\n", every=5)
        self.assertTrue(h.transport.disconnecting)
        self.assertEqual(h.clock.seconds(), 20)

    def test_headerBlock(self) -> None:
        """
        A header block kept open with empty CONTINUATION frames gets 408 on
        its stream at 20 s, then the connection closes.
        """
        h = Harness(self.limits)
        headers = HeadersFrame(1)
        headers.data = h.client.encoder.encode(requestHeaders("/page"))
        h.sendFrames(headers)
        for _ in range(10):
            h.clock.advance(5)
            if h.transport.disconnecting:
                break
            h.sendFrames(ContinuationFrame(1, data=b""))
        self.assertEqual(h.clock.seconds(), 20)
        self.assertEqual(statusOf(h, 1), 408)
        self.assertTrue(h.transport.disconnecting)

    def test_frame(self) -> None:
        """
        A frame begun and never finished closes the connection at 20 s.
        """
        h = Harness(self.limits)
        h.send(PingFrame(0, opaque_data=b"12345678").serialize()[:10])
        h.clock.advance(19)
        self.assertFalse(h.transport.disconnecting)
        h.clock.advance(1)
        self.assertTrue(h.transport.disconnecting)
        self.assertEqual(h.goAway().error_code, ErrorCodes.NO_ERROR)

    def test_slowUploadGoesOn(self) -> None:
        """
        A request body whose frames each take 15 s to arrive is not cut: a
        frame's clock starts when the one before it completes.
        """
        h = Harness(self.limits)
        streamID = h.request("/page", method="POST", end=False)
        for _ in range(4):
            frame = DataFrame(streamID, data=b"x" * 100).serialize()
            h.send(frame[:20])
            h.clock.advance(15)
            h.send(frame[20:])
        self.assertFalse(h.transport.disconnecting)
        h.sendFrames(DataFrame(streamID, data=b"", flags=["END_STREAM"]))
        self.assertEqual(
            responses(h.receive())[streamID]["body"], b"posted:" + b"x" * 400
        )

    def test_idleBetweenRequests(self) -> None:
        """
        With nothing begun, only the idle timeout applies.
        """
        h = Harness(self.limits)
        h.request("/page")
        h.clock.advance(100)
        self.assertFalse(h.transport.disconnecting)


def _closedStreamOne() -> H2StateMachine:
    """
    A server state machine that has seen stream 1 opened and reset.
    """
    server = H2StateMachine(H2Configuration(client_side=False, header_encoding=None))
    server.initiate_connection()
    client = H2Client(H2Configuration(client_side=True, header_encoding=None))
    client.initiate_connection()
    client.send_headers(1, requestHeaders("/page"), end_stream=True)
    client.reset_stream(1)
    server.receive_data(client.data_to_send())
    return server


def _never() -> None:
    raise AssertionError("no deadline should pass")


class LateFrameTests(SynchronousTestCase):
    """
    L{Guard.frameArrived} charges frames on closed streams beyond what was
    in flight, with plain values: a state machine, a clock, limits.
    """

    def guard(self, budget: int = 2, streams: int = 3) -> Guard:
        limits = ConnectionLimits(
            frameBudget=budget, frameBudgetRate=1.0, maxConcurrentStreams=streams
        )
        return Guard(limits, Clock(), _closedStreamOne(), _never, _never)

    def flood(self, guard: Guard, frame: Frame) -> int:
        """
        How many C{frame}s pass before the guard refuses one.
        """
        for passed in range(1000):
            try:
                guard.frameArrived(frame)
            except Calm as e:
                self.assertEqual(e.what, "frames on closed streams")
                return passed
        return 1000

    def test_inFlightAllowance(self) -> None:
        """
        Each stream that closes lets L{LATE_FRAMES_PER_STREAM} such frames
        through for free; then they spend the frame budget.
        """
        guard = self.guard()
        guard.streamClosed()
        self.assertEqual(
            self.flood(guard, DataFrame(1, data=b"x")), LATE_FRAMES_PER_STREAM + 2
        )

    def test_allowanceIsCapped(self) -> None:
        """
        The allowance never exceeds what the most streams a client may have
        open could have in flight.
        """
        guard = self.guard()
        for _ in range(100):
            guard.streamClosed()
        frame = WindowUpdateFrame(1, window_increment=1)
        self.assertEqual(self.flood(guard, frame), 3 * LATE_FRAMES_PER_STREAM + 2)

    def test_otherFramesAreFree(self) -> None:
        """
        Frames on the connection, on streams not opened yet (which h2 makes
        an error of), and frames of other types cost nothing here, and every
        frame is counted.
        """
        guard = self.guard(budget=0)
        for frame in (
            PingFrame(0, opaque_data=b"12345678"),
            DataFrame(5, data=b"x"),
            PriorityFrame(1, depends_on=0),
        ):
            self.assertEqual(self.flood(guard, frame), 1000)
        self.assertEqual(guard.framesArrived, 3000)


class DeadlineTests(SynchronousTestCase):
    """
    The guard's own timers, with a fake clock.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.expired: list[str] = []
        limits = ConnectionLimits(headerTimeout=20, idleTimeout=30)
        server = H2StateMachine(H2Configuration(client_side=False))
        self.guard = Guard(
            limits,
            self.clock,
            server,
            lambda: self.expired.append("head"),
            lambda: self.expired.append("idle"),
        )
        self.frames = LimitedFrameBuffer(4096, self.guard.frameArrived)
        self.guard.start(self.frames)

    def test_preface(self) -> None:
        """
        The connection preface has the header timeout from the start.
        """
        self.clock.advance(19)
        self.assertEqual(self.expired, [])
        self.clock.advance(1)
        self.assertEqual(self.expired, ["head"])

    def test_idleFromLastProgress(self) -> None:
        """
        The idle timeout counts from the last progress noted, however often
        it is noted.
        """
        self.frames.add_data(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        self.frames.add_data(SettingsFrame(0).serialize())
        self.frames.max_frame_size = 16384
        self.assertEqual(len(list(self.frames)), 1)
        self.guard.trackHead(True)
        self.clock.advance(25)
        self.guard.lastProgress = self.clock.seconds()
        self.clock.advance(29)
        self.assertEqual(self.expired, [])
        self.clock.advance(1)
        self.assertEqual(self.expired, ["idle"])

    def test_stop(self) -> None:
        """
        Once stopped, no deadline is left running.
        """
        self.guard.stop()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(100)
        self.assertEqual(self.expired, [])
