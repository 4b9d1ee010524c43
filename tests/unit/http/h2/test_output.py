"""
Tests for L{h2site.http.h2.output}, the send half of the HTTP/2 connection:
one write per pass, bounded frames and pieces, flow control and
backpressure; driven in memory by a real C{h2} client through h2site's real
C{Site} (see L{tests.harness}).  What a pass sends is unit-tested on its own
in L{tests.unit.http.h2.test_scheduler}.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

from h2.config import H2Configuration
from h2.connection import H2Connection as H2StateMachine
from h2.settings import SettingCodes
from hpack import Decoder
from hyperframe.frame import (
    DataFrame,
    HeadersFrame,
)
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from h2site.http.h2.frames import FieldEncoder, headersFrame
from h2site.http.h2.output import Output
from h2site.http.h2.stream import Stream
from h2site.http.limits import ConnectionLimits
from tests.h2client import dataBytes, requestHeaders
from tests.harness import Big, Harness, Page, responses


class PassTests(SynchronousTestCase):
    """
    A pass sends every ready frame of every ready stream in one write, in
    frames and pieces of bounded size.
    """

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


class InformationalTests(SynchronousTestCase):
    """
    L{Output.writeInformational} frames a 1xx response ahead of the final
    headers.
    """

    def test_blockKeptWhileHintsUnchanged(self) -> None:
        """
        The same hints (the hot path hands one list per page) give the same
        block, made once; hints changed in place give the new fields.
        """
        h2 = H2StateMachine(H2Configuration(client_side=False))
        output = Output(
            h2, {}, ConnectionLimits(), FieldEncoder(), Clock(), lambda: None, _nothing
        )
        stream = cast(
            Stream,
            SimpleNamespace(closed=False, headersSent=False, headers=None, streamID=1),
        )
        hints = [(b"Link", b"</a.css>; rel=preload; as=style")]
        self.assertTrue(output.writeInformational(stream, 103, hints))
        first = output._early.pop()
        output.writeInformational(stream, 103, hints)
        self.assertEqual(output._early.pop(), first)
        hints.append((b"Link", b"</b.mjs>; rel=modulepreload"))
        output.writeInformational(stream, 103, hints)
        frame = output._early.pop()
        self.assertEqual(
            Decoder().decode(frame[9:], raw=True),
            [
                (b":status", b"103"),
                (b"link", b"</a.css>; rel=preload; as=style"),
                (b"link", b"</b.mjs>; rel=modulepreload"),
            ],
        )

    def test_tupleFramedOnce(self) -> None:
        """
        Hints in a tuple (the hot path's) cannot change: their block is
        made once, and each stream's frame is that block framed for it.
        """
        h2 = H2StateMachine(H2Configuration(client_side=False))
        encoder = FieldEncoder()
        output = Output(
            h2, {}, ConnectionLimits(), encoder, Clock(), lambda: None, _nothing
        )
        hints = ((b"link", b"</a.css>; rel=preload; as=style"),)
        frames = []
        for streamID in (1, 3, 0x7FFFFFFF):
            stream = cast(
                Stream,
                SimpleNamespace(
                    closed=False, headersSent=False, headers=None, streamID=streamID
                ),
            )
            self.assertTrue(output.writeInformational(stream, 103, hints))
            frames.append(output._early.pop())
        block = encoder.encode([(b":status", b"103"), *hints])
        self.assertEqual(
            frames,
            [headersFrame(streamID, block) for streamID in (1, 3, 0x7FFFFFFF)],
        )
        self.assertEqual(len(output._informational), 1)
        # The same fields as another tuple are framed alike.
        stream = cast(
            Stream,
            SimpleNamespace(closed=False, headersSent=False, headers=None, streamID=5),
        )
        output.writeInformational(stream, 103, tuple(list(hints)))
        self.assertEqual(output._early.pop(), headersFrame(5, block))
        # Another code, the same tuple: framed anew.
        output.writeInformational(stream, 100, hints)
        self.assertEqual(
            next(iter(Decoder().decode(output._early.pop()[9:], raw=True))),
            (b":status", b"100"),
        )


def _nothing() -> None:
    pass
