"""
Tests for L{h2site.http.h2.connection}: requests served as C{twisted.web}
requests, refused ones, and how connections end; driven in memory by a real
C{h2} client through h2site's real C{Site} and protocol switch, with a fake
clock (the end-to-end tests in L{tests.integration.test_http2} do the same
over real TLS to the real server).  The send half and the budgets and
deadlines have their own tests (L{tests.unit.http.h2.test_output},
L{tests.unit.http.h2.test_guard}).
"""

from __future__ import annotations

from h2.errors import ErrorCodes
from h2.events import (
    StreamReset,
)
from hyperframe.frame import (
    ContinuationFrame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
)
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from h2site.http.limits import ConnectionLimits
from tests.h2client import requestHeaders
from tests.harness import SMALL_LIMITS, Harness, Page, responses, statusOf


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


class ClosingTests(SynchronousTestCase):
    """
    Errors end with one GOAWAY and a closed connection.
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
        h = Harness(SMALL_LIMITS)
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
        h = Harness(SMALL_LIMITS)
        fields = [*requestHeaders("/page"), (b"x-big", b"a" * 6000)]
        frame = HeadersFrame(1)
        frame.data = h.client.encoder.encode(fields)
        self.assertLess(len(frame.data), SMALL_LIMITS.maxHeaderListSize)
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
