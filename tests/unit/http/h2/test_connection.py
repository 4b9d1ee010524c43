"""
Unit tests of L{h2site.http.h2.connection}: our HTTP/2 connection and graceful shutdown,
driven in memory by a real C{h2} client through h2site's real C{Site} and
protocol switch, with a fake clock (the end-to-end tests in
L{tests.integration.test_http2} do the same over real TLS to the real server).
"""

from __future__ import annotations

from h2.errors import ErrorCodes
from h2.events import (
    StreamReset,
)
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
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from h2site.http.limits import ConnectionLimits
from tests.h2client import requestHeaders
from tests.harness import _SMALL, Big, Harness, Page, responses, statusOf


class ServingTests(SynchronousTestCase):
    """
    Requests are served as ordinary C{twisted.web} requests, efficiently.
    """

    def test_servesRequest(self) -> None:
        """
        A GET is answered with the resource's status, headers and body, and
        logged.
        """
        h = Harness()
        streamID = h.request("/page")
        got = responses(h.receive())[streamID]
        self.assertEqual(got["status"], 200)
        self.assertEqual(got["headers"][b"content-type"], b"text/html")
        self.assertEqual(got["body"], Page.body)
        self.assertTrue(got["ended"])
        self.assertEqual(len(h.logged), 1)
        self.assertEqual(h.logged[0].clientproto, b"HTTP/2")

    def test_onePassOneWrite(self) -> None:
        """
        Ten requests arriving together are answered in one write, one HEADERS
        and one DATA frame each (END_STREAM on the DATA frame).
        """
        h = Harness()
        ids = []
        for _ in range(10):
            streamID = h.client.get_next_available_stream_id()
            h.client.send_headers(streamID, requestHeaders("/page"), end_stream=True)
            ids.append(streamID)
        before = h.transport.writes
        h.send()
        self.assertEqual(h.transport.writes - before, 1)
        got = responses(h.receive())
        self.assertEqual(sorted(got), ids)
        self.assertTrue(
            all(r["body"] == Page.body and r["ended"] for r in got.values())
        )
        for streamID in ids:
            kinds = [type(f) for f in h.frames if f.stream_id == streamID]
            self.assertEqual(kinds, [HeadersFrame, DataFrame])

    def test_largeResponsesInBoundedPieces(self) -> None:
        """
        Large responses go out in DATA frames of at most 16 KiB (one TLS
        record), even when the client allows larger frames, and a pass's
        output reaches the transport in pieces under 128 KiB, the size from
        which each buffer would be a fresh C{mmap} to fault in.
        """
        h = Harness(
            settings={
                SettingCodes.MAX_FRAME_SIZE: 1 << 20,
                SettingCodes.INITIAL_WINDOW_SIZE: (1 << 31) - 1,
            }
        )
        h.client.increment_flow_control_window((1 << 30) - 65535)
        h.send()
        ids = [h.request("/big") for _ in range(4)]
        events = h.receive()
        for _ in range(10):
            # The passes after the first, each within the write batch size.
            h.clock.advance(0)
            events += h.receive()
        got = responses(events)
        for streamID in ids:
            self.assertEqual(got[streamID]["body"], Big.body)
            sizes = [
                len(f.data)
                for f in h.frames
                if isinstance(f, DataFrame) and f.stream_id == streamID
            ]
            self.assertEqual(max(sizes), 16384)
        self.assertLess(h.transport.largestWrite, 128 * 1024)
        self.assertGreater(h.transport.largestWrite, 64 * 1024)

    def test_largePassInPieces(self) -> None:
        """
        A pass larger than one piece (here with a 512 KiB write batch) is
        handed over in pieces of 64 to 128 KiB, in order.
        """
        h = Harness(
            limits=ConnectionLimits(writeBatchSize=512 * 1024),
            settings={SettingCodes.INITIAL_WINDOW_SIZE: (1 << 31) - 1},
        )
        h.client.increment_flow_control_window((1 << 30) - 65535)
        h.send()
        ids = []
        for _ in range(3):
            streamID = h.client.get_next_available_stream_id()
            h.client.send_headers(streamID, requestHeaders("/big"), end_stream=True)
            ids.append(streamID)
        before = h.transport.writes
        h.send()
        # 480 KiB in one pass: at least four pieces.
        self.assertGreaterEqual(h.transport.writes - before, 4)
        self.assertLess(h.transport.largestWrite, 128 * 1024)
        got = responses(h.receive())
        for streamID in ids:
            self.assertEqual(got[streamID]["body"], Big.body)

    def test_bodilessResponse(self) -> None:
        """
        A response with no body (HEAD) is one HEADERS frame with END_STREAM.
        """
        h = Harness()
        streamID = h.request("/page", "HEAD")
        h.receive()
        frames = [f for f in h.frames if f.stream_id == streamID]
        self.assertEqual([type(f) for f in frames], [HeadersFrame])
        self.assertIn("END_STREAM", frames[0].flags)

    def test_requestBody(self) -> None:
        """
        A request body reaches the resource.
        """
        h = Harness()
        streamID = h.request("/page", "POST", end=False)
        h.client.send_data(streamID, b"hello", end_stream=True)
        h.send()
        self.assertEqual(responses(h.receive())[streamID]["body"], b"posted:hello")

    def test_cookieCrumbs(self) -> None:
        """
        Cookie fields split into crumbs (RFC 9113 section 8.2.3) reach the
        request as one C{Cookie} header.
        """
        h = Harness()
        streamID = h.client.get_next_available_stream_id()
        h.client.send_headers(
            streamID,
            [*requestHeaders("/slow"), (b"cookie", b"a=1"), (b"cookie", b"b=2")],
            end_stream=True,
        )
        h.send()
        request = h.slow.waiting[0]
        self.assertEqual(request.requestHeaders.getRawHeaders(b"cookie"), [b"a=1; b=2"])
        self.assertEqual(request.received_cookies, {b"a": b"1", b"b": b"2"})

    def test_requestBodyTooLarge(self) -> None:
        """
        A body over the limit, announced or not, gets 413 and the stream is
        reset with NO_ERROR; the connection goes on.
        """
        h = Harness(ConnectionLimits(maxRequestBodySize=100))
        streamID = h.client.get_next_available_stream_id()
        h.client.send_headers(
            streamID, [*requestHeaders("/page", "POST"), (b"content-length", b"1000")]
        )
        h.send()
        events = h.receive()
        self.assertEqual(responses(events)[streamID]["status"], 413)
        resets = [e for e in events if isinstance(e, StreamReset)]
        self.assertEqual([(e.stream_id, e.error_code) for e in resets], [(streamID, 0)])
        other = h.request("/page", "POST", end=False)
        h.client.send_data(other, b"y" * 150)
        h.send()
        self.assertEqual(responses(h.receive())[other]["status"], 413)
        third = h.request("/page")
        self.assertEqual(responses(h.receive())[third]["status"], 200)

    def test_connect(self) -> None:
        """
        CONNECT, a proxy's method, is answered 405.
        """
        h = Harness()
        streamID = h.client.get_next_available_stream_id()
        h.client.send_headers(
            streamID, [(b":method", b"CONNECT"), (b":authority", b"example.org:443")]
        )
        h.send()
        self.assertEqual(responses(h.receive())[streamID]["status"], 405)

    def test_clientResetStopsProducer(self) -> None:
        """
        When the client resets a stream, its producer is stopped and the
        request learns that the client went away.
        """
        h = Harness()
        streamID = h.request("/stream")
        request = h.stream.producers[0].request
        finished = request.notifyFinish()
        failures: list[Failure] = []
        finished.addErrback(failures.append)
        h.client.reset_stream(streamID, ErrorCodes.CANCEL)
        h.send()
        self.assertTrue(h.stream.producers[0].stopped)
        self.assertEqual(len(failures), 1)

    def test_peerGoAway(self) -> None:
        """
        The client's GOAWAY closes the connection.
        """
        h = Harness()
        h.client.close_connection()
        h.send()
        self.assertTrue(h.transport.disconnecting)


class FlowControlTests(SynchronousTestCase):
    """
    Flow control and backpressure: data waits without costing anything, and
    producers pause when data cannot leave.
    """

    def test_stalledStreamCostsNothing(self) -> None:
        """
        A stream whose window is used up sends nothing more, schedules
        nothing, and does not resume its producer, however long the client
        waits; a WINDOW_UPDATE brings exactly that much more data.
        """
        h = Harness(settings={SettingCodes.INITIAL_WINDOW_SIZE: 1000})
        streamID = h.request("/stream")
        h.clock.advance(0)
        h.receive()
        from tests.h2client import dataBytes

        self.assertEqual(dataBytes(h.frames, streamID), 1000)
        producer = h.stream.producers[0]
        self.assertTrue(producer.paused)
        resumed, writes = producer.resumed, h.transport.writes
        for _ in range(20):
            h.clock.advance(1)
        self.assertEqual((producer.resumed, h.transport.writes), (resumed, writes))
        self.assertEqual(
            [c for c in h.clock.getDelayedCalls() if c.getTime() <= h.clock.seconds()],
            [],
        )
        h.client.increment_flow_control_window(5000, streamID)
        h.send()
        h.receive()
        self.assertEqual(dataBytes(h.frames, streamID), 6000)

    def test_socketBackpressure(self) -> None:
        """
        While the transport is full, producers are paused and their data is
        held, within the connection's buffer limit; when it drains, the data
        flows again.
        """
        limits = ConnectionLimits(connectionBufferSize=256 * 1024)
        h = Harness(
            limits,
            settings={SettingCodes.INITIAL_WINDOW_SIZE: 2**31 - 1},
        )
        h.client.increment_flow_control_window(2**31 - 1 - 65535)
        h.send()
        connection = h.transport.producer
        assert connection is not None
        connection.pauseProducing()
        for _ in range(10):
            h.request("/stream")
        h.clock.advance(0)
        producers = h.stream.producers
        self.assertTrue(all(p.paused for p in producers))
        produced = sum(p.written for p in producers)
        self.assertLessEqual(produced, 256 * 1024 + 10 * 16384)
        connection.resumeProducing()
        for _ in range(10):
            h.clock.advance(0)
        self.assertGreater(len(h.transport.value()), 256 * 1024)


class ClosingTests(SynchronousTestCase):
    """
    Errors end with one GOAWAY and a closed connection; timeouts count
    useful progress only.
    """

    def assertClosedWith(self, h: Harness, code: int) -> None:
        self.assertEqual(h.goAway().error_code, code)
        self.assertTrue(h.transport.disconnecting)
        self.assertIsNone(h.transport.producer)
        self.assertEqual(len([f for f in h.frames if isinstance(f, GoAwayFrame)]), 1)
        self.assertFalse(h.transport.aborted)
        h.clock.advance(h.limits.closeTimeout)
        self.assertTrue(h.transport.aborted)

    def test_protocolError(self) -> None:
        """
        An invalid frame (DATA on stream 0) gets GOAWAY PROTOCOL_ERROR, TLS
        close, and an abort if the peer does not close in time; later frames
        are ignored.
        """
        h = Harness()
        h.send(b"\x00\x00\x00\x00\x00\x00\x00\x00\x00")
        self.assertClosedWith(h, ErrorCodes.PROTOCOL_ERROR)
        h.sendFrames(PingFrame(0, opaque_data=b"12345678"))
        self.assertEqual(h.transport.value(), b"")

    def test_compressionError(self) -> None:
        """
        A header block that does not decode is a COMPRESSION_ERROR.
        """
        h = Harness()
        frame = HeadersFrame(1)
        frame.data = b"\xff\xff\xff\xff\x0f"
        frame.flags.add("END_HEADERS")
        frame.flags.add("END_STREAM")
        h.sendFrames(frame)
        self.assertClosedWith(h, ErrorCodes.COMPRESSION_ERROR)

    def test_oversizedFrameRefusedAtOnce(self) -> None:
        """
        A frame longer than the maximum frame size is refused as soon as its
        header arrives, before its body is buffered.
        """
        h = Harness()
        h.send(b"\xff\xff\xff\x00\x00\x00\x00\x00\x01")
        self.assertClosedWith(h, ErrorCodes.FRAME_SIZE_ERROR)

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
        h = Harness(_SMALL)
        h.sendFrames(*[frame] * count)
        return h

    def test_withinBudget(self) -> None:
        """
        A few such frames are fine, and the budget refills with time.
        """
        h = Harness(_SMALL)
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
        h = Harness(_SMALL)
        h.sendFrames(*[PriorityFrame(2 * i + 1, depends_on=0) for i in range(25)])
        self.assertCalm(h)

    def test_emptyData(self) -> None:
        """
        Empty DATA frames on an open stream.
        """
        h = Harness(_SMALL)
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
        h = Harness(_SMALL)
        # Type 0xEE, one byte of payload (hyperframe cannot serialise one).
        h.send(b"\x00\x00\x01\xee\x00\x00\x00\x00\x00x" * 25)
        self.assertCalm(h)

    def test_rapidReset(self) -> None:
        """
        Streams opened and reset at once (CVE-2023-44487).
        """
        h = Harness(_SMALL)
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
        h = Harness(_SMALL, settings={SettingCodes.INITIAL_WINDOW_SIZE: 1})
        streamID = h.request("/stream")
        h.sendFrames(*[WindowUpdateFrame(streamID, window_increment=1)] * 25)
        self.assertCalm(h)

    def test_resetWithinBudget(self) -> None:
        """
        Ordinary cancellations (a browser leaving a page) are fine.
        """
        h = Harness(_SMALL)
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
        h = Harness(_SMALL)
        streamID = self.completed(h)
        h.sendFrames(*[DataFrame(streamID, data=b"x")] * 1000)
        self.assertCalm(h, _SMALL.frameBudget + 8)

    def test_windowUpdateFlood(self) -> None:
        """
        Large WINDOW_UPDATEs on a finished stream (which h2 drops silently).
        """
        h = Harness(_SMALL)
        streamID = self.completed(h)
        h.sendFrames(*[WindowUpdateFrame(streamID, window_increment=65536)] * 1000)
        self.assertCalm(h, 0)

    def test_resetFlood(self) -> None:
        """
        RST_STREAM after RST_STREAM on a stream the client already reset.
        """
        h = Harness(_SMALL)
        streamID = h.request("/slow")
        h.sendFrames(*[RstStreamFrame(streamID, error_code=ErrorCodes.CANCEL)] * 1000)
        self.assertCalm(h, _SMALL.frameBudget + 8)

    def test_framesInFlightAreFree(self) -> None:
        """
        A WINDOW_UPDATE and a few DATA frames that were in flight when each
        of many streams closed (more in all than the budget) do not end the
        connection.
        """
        h = Harness(_SMALL)
        done = [self.completed(h) for _ in range(20)]
        late: list[Frame] = []
        for streamID in done:
            late.append(WindowUpdateFrame(streamID, window_increment=65536))
            late.extend([DataFrame(streamID, data=b"x" * 100)] * 3)
        h.sendFrames(*late)
        self.assertFalse(h.transport.disconnecting)
        self.completed(h)
        self.assertFalse(any(isinstance(f, GoAwayFrame) for f in h.frames))


class OversizedHeadTests(SynchronousTestCase):
    """
    A request head over a limit is answered with its status: 431 for a
    header block too large (then GOAWAY ENHANCE_YOUR_CALM: the block was
    not decoded, so the connection cannot go on), 414 for a long C{:path},
    400 for an unusable authority.
    """

    def assertRefused(self, h: Harness, status: int) -> None:
        self.assertEqual(statusOf(h, 1), status)
        (goAway,) = [f for f in h.frames if isinstance(f, GoAwayFrame)]
        self.assertEqual(goAway.error_code, ErrorCodes.ENHANCE_YOUR_CALM)
        self.assertEqual(goAway.last_stream_id, 1)
        self.assertTrue(h.transport.disconnecting)
        self.assertEqual([r.code for r in h.logged], [status])

    def test_continuation(self) -> None:
        """
        A header block spread over CONTINUATION frames past the limit gets a
        431 on its stream as soon as it passes the limit.
        """
        h = Harness(_SMALL)
        headers = HeadersFrame(1)
        headers.data = b"\x82"
        more = [ContinuationFrame(1, data=b"\x00" * 2000) for _ in range(3)]
        h.sendFrames(headers, *more)
        self.assertRefused(h, 431)

    def test_decodedTooLarge(self) -> None:
        """
        A header block under the limit that decodes to more than it (Huffman
        coding shrinks a long run of one letter) gets a 431 too.
        """
        h = Harness(_SMALL)
        fields = [*requestHeaders("/page"), (b"x-big", b"a" * 6000)]
        frame = HeadersFrame(1)
        frame.data = h.client.encoder.encode(fields)
        self.assertLess(len(frame.data), _SMALL.maxHeaderListSize)
        frame.flags.add("END_HEADERS")
        frame.flags.add("END_STREAM")
        h.sendFrames(frame)
        self.assertRefused(h, 431)

    def test_longPath(self) -> None:
        """
        A C{:path} over the line limit gets 414, and the connection goes on.
        """
        h = Harness()
        long = h.request("/" + "a" * h.limits.maxLineLength)
        events = h.receive()
        self.assertEqual(responses(events)[long]["status"], 414)
        self.assertEqual([r.code for r in h.logged], [414])
        fine = h.request("/page")
        self.assertEqual(responses(h.receive())[fine]["status"], 200)

    def test_badAuthority(self) -> None:
        """
        An authority that is no host (a space, a slash) gets 400.
        """
        h = Harness()
        for authority in ("exa mple.org", "example.org/x", "a@b"):
            streamID = h.client.get_next_available_stream_id()
            h.client.send_headers(
                streamID, requestHeaders("/page", authority=authority), end_stream=True
            )
            h.send()
            self.assertEqual(responses(h.receive())[streamID]["status"], 400)


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
