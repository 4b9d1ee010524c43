"""
Unit tests of L{h2site.http.h2.connection}: our HTTP/2 connection and graceful shutdown,
driven in memory by a real C{h2} client through h2site's real C{Site} and
protocol switch, with a fake clock (the end-to-end tests in
L{tests.test_http2_end_to_end} do the same over real TLS to the real server).
"""

from __future__ import annotations

from typing import Any

from h2.config import H2Configuration
from h2.connection import H2Connection as H2Client
from h2.errors import ErrorCodes
from h2.events import (
    DataReceived,
    InformationalResponseReceived,
    ResponseReceived,
    StreamEnded,
    StreamReset,
)
from h2.exceptions import ProtocolError
from h2.settings import SettingCodes
from h2.utilities import HeaderValidationFlags, validate_headers
from hpack import Decoder
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
from hypothesis import given
from hypothesis import strategies as st
from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import IPushProducer
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from twisted.web import http
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request
from zope.interface import implementer

from h2site.http.h2.frames import FieldEncoder
from h2site.http.h2.validation import checkRequestHeaders
from h2site.http.limits import ConnectionLimits, TokenBucket
from h2site.web.site import H2Site
from tests.h2client import FrameReader, requestHeaders


class Transport(StringTransport):
    """
    A TLS transport in memory: it says which protocol ALPN chose, counts
    writes, and records an abort.
    """

    def __init__(self, protocol: bytes | None) -> None:
        super().__init__(peerAddress=IPv4Address("TCP", "127.0.0.1", 50000))
        self.negotiatedProtocol = protocol
        self.writes = 0
        self.largestWrite = 0
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes += 1
        self.largestWrite = max(self.largestWrite, len(data))
        super().write(data)

    def abortConnection(self) -> None:
        self.aborted = True
        self.disconnecting = True


@implementer(IPushProducer)
class Producer:
    """
    A push producer that writes C{total} bytes as fast as it is let.
    """

    def __init__(self, request: Request, total: int, chunk: int = 16384) -> None:
        self.request = request
        self.total = total
        self.chunk = chunk
        self.written = 0
        self.paused = False
        self.stopped = False
        self.resumed = 0

    def resumeProducing(self) -> None:
        self.resumed += 1
        self.paused = False
        while not self.paused and not self.stopped and self.written < self.total:
            size = min(self.chunk, self.total - self.written)
            self.written += size
            self.request.write(b"x" * size)
        if self.written >= self.total and not self.stopped:
            self.stopped = True
            self.request.unregisterProducer()
            self.request.finish()

    def pauseProducing(self) -> None:
        self.paused = True

    def stopProducing(self) -> None:
        self.stopped = True


class Page(Resource):
    isLeaf = True
    body = b"<!doctype html><title>t</title>" + b"x" * 1000

    def render_GET(self, request: Request) -> bytes:
        request.setHeader(b"content-type", b"text/html")
        return self.body

    render_HEAD = render_GET

    def render_POST(self, request: Request) -> bytes:
        assert request.content is not None
        body: bytes = request.content.read()
        return b"posted:" + body


class Big(Resource):
    """
    A large response written at once, as the file store does.
    """

    isLeaf = True
    body = bytes(range(256)) * 640

    def render_GET(self, request: Request) -> bytes:
        return self.body


class Slow(Resource):
    """
    Answers only when the test says so.
    """

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.waiting: list[Request] = []

    def render_GET(self, request: Request) -> int:
        self.waiting.append(request)
        return NOT_DONE_YET


class Stream(Resource):
    """
    A large body from a push producer.
    """

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.producers: list[Producer] = []

    def render_GET(self, request: Request) -> int:
        producer = Producer(request, 4 * 1024 * 1024)
        self.producers.append(producer)
        request.registerProducer(producer, True)
        producer.resumeProducing()
        return NOT_DONE_YET


class Harness:
    """
    h2site's C{Site} with one connection to it, and an C{h2} client.
    """

    def __init__(
        self,
        limits: ConnectionLimits | None = None,
        protocol: bytes | None = b"h2",
        settings: dict[int, int] | None = None,
        start: bool = True,
        transport: Transport | None = None,
    ) -> None:
        """
        @param start: send the client's connection preface.
        @param transport: the connection's transport (by default a
            L{Transport} that says ALPN chose C{protocol}).
        """
        self.limits = limits or ConnectionLimits()
        self.clock = Clock()
        root = Resource()
        self.page = Page()
        self.slow = Slow()
        self.stream = Stream()
        root.putChild(b"page", self.page)
        root.putChild(b"slow", self.slow)
        root.putChild(b"stream", self.stream)
        root.putChild(b"big", Big())
        self.logged: list[http.Request] = []
        self.site = H2Site(
            root, self.logged.append, limits=self.limits, reactor=self.clock
        )
        self.protocol = self.site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1))
        self.transport = transport or Transport(protocol)
        assert self.protocol is not None
        self.protocol.makeConnection(self.transport)
        self.client = H2Client(H2Configuration(client_side=True, header_encoding=None))
        self.reader = FrameReader()
        self.frames: list[Frame] = []
        if protocol == b"h2" and start:
            self.client.initiate_connection()
            if settings:
                self.client.update_settings(settings)
            self.send()
            self.receive()

    def send(self, data: bytes | None = None) -> None:
        """
        Deliver C{data} (by default, what the client has to send).
        """
        if data is None:
            data = self.client.data_to_send()
        assert self.protocol is not None
        self.protocol.dataReceived(data)

    def sendFrames(self, *frames: Frame) -> None:
        self.send(b"".join(f.serialize() for f in frames))

    def receive(self) -> list[Any]:
        """
        Hand what the server wrote to the client: its frames go to
        C{self.frames}, and the client's events are returned.
        """
        data = self.transport.value()
        self.transport.clear()
        self.frames.extend(self.reader.feed(data))
        if self.client.state_machine.state.name == "CLOSED":
            return []
        return self.client.receive_data(data)

    def request(self, path: str, method: str = "GET", end: bool = True) -> int:
        streamID = self.client.get_next_available_stream_id()
        self.client.send_headers(streamID, requestHeaders(path, method), end_stream=end)
        self.send()
        return streamID

    def goAway(self) -> GoAwayFrame:
        self.receive()
        frames = [f for f in self.frames if isinstance(f, GoAwayFrame)]
        assert frames, f"no GOAWAY in {self.frames}"
        return frames[0]

    def lose(self) -> None:
        assert self.protocol is not None
        self.protocol.connectionLost(Failure(ConnectionResetError()))


def channelOf(request: Request) -> Any:
    """
    A request's channel, as the untyped object it is (an HTTP/2 stream or
    our HTTP/1.1 channel).
    """
    return request.channel


def headerEvents(h: Harness) -> list[Any]:
    """
    The interim and final response headers the client has received since
    it last looked, in order.
    """
    return [
        e
        for e in h.receive()
        if isinstance(e, InformationalResponseReceived | ResponseReceived)
    ]


def responses(events: list[Any]) -> dict[int, dict[str, Any]]:
    """
    The responses in C{events}, by stream: status, headers, body, ended.
    """
    result: dict[int, dict[str, Any]] = {}
    for event in events:
        if isinstance(event, ResponseReceived):
            entry = result.setdefault(event.stream_id, {"body": b"", "ended": False})
            entry["headers"] = dict(event.headers)
            entry["status"] = int(dict(event.headers)[b":status"])
        elif isinstance(event, DataReceived):
            entry = result.setdefault(event.stream_id, {"body": b"", "ended": False})
            entry["body"] += event.data
        elif isinstance(event, StreamEnded):
            result.setdefault(event.stream_id, {"body": b""})["ended"] = True
    return result


class TokenBucketTests(SynchronousTestCase):
    """
    L{TokenBucket} is a budget that refills with time.
    """

    def test_spendsUntilEmpty(self) -> None:
        """
        A full bucket allows C{capacity} spends, then refuses.
        """
        bucket = TokenBucket(3, 1.0, now=100.0)
        self.assertEqual([bucket.spend(100.0) for _ in range(4)], [True] * 3 + [False])

    def test_refills(self) -> None:
        """
        Time refills the bucket at C{rate} per second, up to its capacity.
        """
        bucket = TokenBucket(2, 4.0, now=0.0)
        bucket.spend(0.0)
        bucket.spend(0.0)
        self.assertFalse(bucket.spend(0.0))
        self.assertTrue(bucket.spend(0.25))
        self.assertFalse(bucket.spend(0.25))
        self.assertEqual([bucket.spend(100.0) for _ in range(3)], [True, True, False])

    def test_clockGoingBack(self) -> None:
        """
        A clock that steps back neither refills nor drains the bucket.
        """
        bucket = TokenBucket(1, 1.0, now=50.0)
        self.assertTrue(bucket.spend(50.0))
        self.assertFalse(bucket.spend(10.0))
        self.assertTrue(bucket.spend(51.0))


_PLAIN = requestHeaders("/")
_FLAGS = HeaderValidationFlags(
    is_client=False, is_trailer=False, is_response_header=False, is_push_promise=False
)
_TRAILER_FLAGS = _FLAGS._replace(is_trailer=True)


def _h2Accepts(
    headers: list[tuple[bytes, bytes]], flags: HeaderValidationFlags
) -> bool:
    try:
        list(validate_headers(headers, flags))
    except ProtocolError:
        return False
    return True


def _weAccept(headers: list[tuple[bytes, bytes]], trailers: bool = False) -> bool:
    try:
        checkRequestHeaders(headers, trailers=trailers)
    except ProtocolError:
        return False
    return True


_names = st.sampled_from(
    [
        b":method",
        b":path",
        b":scheme",
        b":authority",
        b":status",
        b":protocol",
        b":other",
        b":",
        b"host",
        b"te",
        b"connection",
        b"keep-alive",
        b"accept",
        b"Accept",
        b"x-a:b",
        b"",
        b"a b",
        b"\xff",
        b"content-length",
    ]
)
_values = st.sampled_from(
    [
        b"GET",
        b"CONNECT",
        b"/",
        b"",
        b"https",
        b"localhost",
        b"other",
        b"trailers",
        b"gzip",
        b" lead",
        b"trail\t",
        b"a\x00b",
        b"a\rb",
        b"a\nb",
        b"1",
    ]
)


class CheckRequestHeadersTests(SynchronousTestCase):
    """
    L{checkRequestHeaders} makes the checks of C{h2}'s
    C{validate_inbound_headers}, which h2site turns off for speed.
    """

    def test_plainRequest(self) -> None:
        """
        An ordinary request passes.
        """
        checkRequestHeaders([*_PLAIN, (b"accept", b"*/*"), (b"te", b"trailers")])

    def test_malformed(self) -> None:
        """
        Each kind of malformed request is refused.
        """
        cases = [
            [*_PLAIN, (b"Accept", b"x")],
            [*_PLAIN, (b"connection", b"close")],
            [*_PLAIN, (b"te", b"gzip")],
            [*_PLAIN, (b"", b"x")],
            [*_PLAIN, (b"x", b" padded")],
            [*_PLAIN, (b"x", b"new\nline")],
            [(b"accept", b"x"), *_PLAIN],
            [*_PLAIN, (b":path", b"/again")],
            [*_PLAIN[:3]],
            [(b":method", b"GET"), (b":scheme", b"https"), (b":authority", b"a")],
            [(b":method", b"GET"), (b":path", b""), (b":scheme", b"https")],
            [*_PLAIN, (b"host", b"elsewhere")],
            [*_PLAIN, (b"host", b"localhost"), (b"host", b"localhost")],
            [*_PLAIN, (b":status", b"200")],
        ]
        for headers in cases:
            self.assertFalse(_weAccept(headers), headers)
            self.assertFalse(_h2Accepts(headers, _FLAGS), headers)

    def test_trailers(self) -> None:
        """
        Trailers may hold no pseudo-header field.
        """
        self.assertTrue(_weAccept([(b"x-checksum", b"1")], trailers=True))
        self.assertFalse(_weAccept([(b":path", b"/")], trailers=True))

    @given(st.lists(st.tuples(_names, _values), max_size=8))
    def test_agreesWithH2(self, headers: list[tuple[bytes, bytes]]) -> None:
        """
        For any header list, ours and C{h2}'s checks give the same verdict,
        for requests and for trailers.
        """
        self.assertEqual(_weAccept(headers), _h2Accepts(headers, _FLAGS))
        self.assertEqual(
            _weAccept(headers, trailers=True), _h2Accepts(headers, _TRAILER_FLAGS)
        )


_fieldNames = st.one_of(
    st.sampled_from([b":status", b"content-type", b"date", b"etag", b"link", b"vary"]),
    st.binary(min_size=1, max_size=40).map(lambda b: b.lower()),
)


class FieldEncoderTests(SynchronousTestCase):
    """
    L{FieldEncoder} produces HPACK that any decoder reads back, without
    touching the dynamic table.
    """

    @given(st.lists(st.tuples(_fieldNames, st.binary(max_size=300)), max_size=12))
    def test_roundTrip(self, fields: list[tuple[bytes, bytes]]) -> None:
        """
        A decoder reads the fields back in order, and its dynamic table stays
        empty (so blocks can be reused whatever was sent before).
        """
        encoder = FieldEncoder(maxCached=5)
        decoder = Decoder()
        for _ in range(2):
            block = encoder.encode(fields)
            self.assertEqual(decoder.decode(block, raw=True), fields)
        self.assertEqual(len(decoder.header_table.dynamic_entries), 0)

    def test_compact(self) -> None:
        """
        A field in the static table is one byte; a known name costs one byte
        plus its value (Huffman-coded when shorter).
        """
        encoder = FieldEncoder()
        self.assertEqual(encoder.encode([(b":status", b"200")]), b"\x88")
        # Name index 28 takes two bytes in a 4-bit prefix, then one byte of
        # length and six digits in five Huffman-coded bytes.
        self.assertEqual(len(encoder.encode([(b"content-length", b"165888")])), 8)
        self.assertEqual(encoder.encode([(b"x-a", b"\x00")]), b"\x00\x03x-a\x01\x00")


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


_SMALL = ConnectionLimits(
    frameBudget=20,
    frameBudgetRate=1.0,
    resetBudget=10,
    resetBudgetRate=1.0,
    maxHeaderListSize=4096,
)


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


def statusOf(h: Harness, streamID: int) -> int:
    """
    The status of the response headers on C{streamID} among the frames the
    server wrote, read without the client's state machine (which cannot
    follow a connection the server ended on a broken HPACK state).
    """
    h.frames.extend(h.reader.feed(h.transport.value()))
    h.transport.clear()
    for frame in h.frames:
        if isinstance(frame, HeadersFrame) and frame.stream_id == streamID:
            return int(dict(Decoder().decode(frame.data, raw=True))[b":status"])
    raise AssertionError(f"no response on stream {streamID} in {h.frames}")


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


class ShutdownTests(SynchronousTestCase):
    """
    L{H2Site.closeConnections}: GOAWAY, finish what is in flight, close.
    """

    def test_http2InFlight(self) -> None:
        """
        An HTTP/2 connection gets GOAWAY naming the last stream processed;
        a newer stream is refused; the stream in flight finishes; then the
        connection closes and the shutdown completes.
        """
        h = Harness()
        streamID = h.request("/slow")
        done: list[object] = []
        h.site.closeConnections(10).addCallback(done.append)
        goAway = h.goAway()
        self.assertEqual((goAway.error_code, goAway.last_stream_id), (0, streamID))
        # The client's h2 refuses to send after a GOAWAY: encode by hand.
        late = streamID + 2
        headers = HeadersFrame(late)
        headers.data = h.client.encoder.encode(requestHeaders("/page"))
        headers.flags.add("END_HEADERS")
        headers.flags.add("END_STREAM")
        h.sendFrames(headers)
        h.receive()
        resets = [f for f in h.frames if isinstance(f, RstStreamFrame)]
        self.assertEqual(
            [(f.stream_id, f.error_code) for f in resets],
            [(late, ErrorCodes.REFUSED_STREAM)],
        )
        self.assertFalse(h.transport.disconnecting)
        request = h.slow.waiting[0]
        request.write(b"done")
        request.finish()
        h.clock.advance(0)
        h.receive()
        body = b"".join(
            f.data
            for f in h.frames
            if isinstance(f, DataFrame) and f.stream_id == streamID
        )
        last = [f for f in h.frames if f.stream_id == streamID][-1]
        self.assertEqual((body, "END_STREAM" in last.flags), (b"done", True))
        self.assertTrue(h.transport.disconnecting)
        self.assertEqual(done, [])
        h.lose()
        self.assertEqual(done, [None])

    def test_timeout(self) -> None:
        """
        What is still open when the timeout expires is aborted.
        """
        h = Harness()
        h.request("/slow")
        done: list[object] = []
        h.site.closeConnections(5).addCallback(done.append)
        h.clock.advance(4.9)
        self.assertFalse(h.transport.aborted)
        h.clock.advance(0.1)
        self.assertTrue(h.transport.aborted)
        h.lose()
        self.assertEqual(done, [None])

    def test_noConnections(self) -> None:
        """
        With nothing open, the shutdown completes at once.
        """
        site = H2Site(Resource(), lambda request: None, reactor=Clock())
        done: list[object] = []
        site.closeConnections(5).addCallback(done.append)
        self.assertEqual(done, [None])

    def test_http11Idle(self) -> None:
        """
        An idle HTTP/1.1 keep-alive connection is closed at once.
        """
        h = Harness(protocol=None)
        h.send(b"GET /page HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertIn(b"200 OK", h.transport.value())
        h.site.closeConnections(10)
        self.assertTrue(h.transport.disconnecting)

    def test_http11InFlight(self) -> None:
        """
        An HTTP/1.1 response in progress is finished, with
        C{Connection: close}, and then the connection closes.
        """
        h = Harness(protocol=None)
        h.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        h.site.closeConnections(10)
        self.assertFalse(h.transport.disconnecting)
        request = h.slow.waiting[0]
        request.write(b"done")
        request.finish()
        response = h.transport.value()
        self.assertIn(b"Connection: close\r\n", response)
        self.assertTrue(response.endswith(b"done\r\n0\r\n\r\n"))
        self.assertTrue(h.transport.disconnecting)


class EarlyHintsChannelTests(SynchronousTestCase):
    """
    The channels' C{writeInformational}, which L{h2site.http.earlyhints} uses.
    """

    def test_http2(self) -> None:
        """
        Over HTTP/2 a 103 is a HEADERS frame before the response's.
        """
        h = Harness()
        streamID = h.request("/slow")
        request = h.slow.waiting[0]
        self.assertTrue(
            channelOf(request).writeInformational(103, [(b"link", b"</a>")])
        )
        request.write(b"x")
        request.finish()
        h.clock.advance(0)
        events = headerEvents(h)
        self.assertEqual(
            [(type(e), dict(e.headers).get(b"link")) for e in events],
            [(InformationalResponseReceived, b"</a>"), (ResponseReceived, None)],
        )
        self.assertEqual(events[0].stream_id, streamID)

    def test_http2SameTurn(self) -> None:
        """
        A 103 and a final response written in the same turn go out in that
        order, in one write; so do a 103 too large for one frame (framed by
        C{h2}, with CONTINUATION) and its response.
        """
        for link in (b"</a>", b"</" + b"a" * 40000 + b">"):
            h = Harness(settings={SettingCodes.MAX_HEADER_LIST_SIZE: 1 << 20})
            streamID = h.request("/slow")
            request = h.slow.waiting[0]
            before = h.transport.writes
            self.assertTrue(
                channelOf(request).writeInformational(103, [(b"link", link)])
            )
            request.write(b"x")
            request.finish()
            h.clock.advance(0)
            self.assertEqual(h.transport.writes - before, 1)
            events = headerEvents(h)
            self.assertEqual(
                [(type(e), e.stream_id, dict(e.headers).get(b"link")) for e in events],
                [
                    (InformationalResponseReceived, streamID, link),
                    (ResponseReceived, streamID, None),
                ],
            )

    def test_http2TooLate(self) -> None:
        """
        Once the final headers are written, no 103 can be sent.
        """
        h = Harness()
        h.request("/slow")
        request = h.slow.waiting[0]
        request.write(b"x")
        self.assertFalse(
            channelOf(request).writeInformational(103, [(b"link", b"<a>")])
        )

    def test_http11(self) -> None:
        """
        Over HTTP/1.1 a 103 is written before the response.
        """
        h = Harness(protocol=None)
        h.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        request = h.slow.waiting[0]
        self.assertTrue(
            channelOf(request).writeInformational(103, [(b"link", b"</a>")])
        )
        request.finish()
        self.assertTrue(
            h.transport.value().startswith(
                b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\n"
            )
        )

    def test_http10(self) -> None:
        """
        HTTP/1.0 has no informational responses.
        """
        h = Harness(protocol=None)
        h.send(b"GET /slow HTTP/1.0\r\nHost: x\r\n\r\n")
        request = h.slow.waiting[0]
        self.assertFalse(
            channelOf(request).writeInformational(103, [(b"link", b"<a>")])
        )
        self.assertEqual(h.transport.value(), b"")
