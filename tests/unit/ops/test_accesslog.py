"""
Tests for L{h2site.ops.accesslog}.
"""

from __future__ import annotations

import io

from h2.config import H2Configuration
from h2.connection import H2Connection as H2Client
from h2.events import DataReceived
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from twisted.web import http
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from h2site.ops.accesslog import CLIENT_CLOSED, AccessLog, entryFor, formatCombined
from h2site.web.site import H2Site
from tests.h2client import requestHeaders


class CombinedTests(SynchronousTestCase):
    """
    L{formatCombined} writes the Combined Log Format.
    """

    def test_line(self) -> None:
        """
        The fields come in the standard order, time in UTC.
        """
        self.assertEqual(
            formatCombined(
                client="127.0.0.1",
                when=0.0,
                method=b"GET",
                uri=b"/a?b=c",
                protocol=b"HTTP/2",
                status=200,
                size=1234,
                referer=None,
                userAgent=b"curl/8",
            ),
            '127.0.0.1 - - [01/Jan/1970:00:00:00 +0000] "GET /a?b=c HTTP/2" 200 1234 '
            '"-" "curl/8"',
        )

    def test_noInjection(self) -> None:
        """
        Quotes, backslashes, newlines and non-ASCII bytes from the client are
        escaped, so one request is always one line.
        """
        line = formatCombined(
            client="::1",
            when=0.0,
            method=b"GET",
            uri=b'/"\n\\',
            protocol=b"HTTP/1.1",
            status=404,
            size=0,
            referer=b"\xff",
            userAgent=b'a" "b',
        )
        self.assertNotIn("\n", line)
        self.assertIn('"GET /\\"\\x0a\\\\ HTTP/1.1"', line)
        self.assertIn('"\\xff" "a\\" \\"b"', line)


class _Request:
    """
    Just what L{entryFor} reads of a request.
    """

    def __init__(self, path: bytes) -> None:
        from twisted.internet.address import IPv4Address
        from twisted.web.http_headers import Headers

        self.uri = path
        self.method = b"GET"
        self.clientproto = b"HTTP/2"
        self.code = 200
        self.startedWriting = 1
        self.sentLength = 10
        self.requestHeaders = Headers()
        self.client = IPv4Address("TCP", "127.0.0.1", 1)
        self.startTime = 0.0

    def getClientAddress(self) -> object:
        return self.client

    def getHeader(self, name: bytes) -> bytes | None:
        return None


class _CountingFile(io.StringIO):
    """
    A file in memory that counts writes and keeps its text once closed.
    """

    writes = 0
    isClosed = False

    def write(self, text: str) -> int:
        assert not self.isClosed
        self.writes += 1
        return super().write(text)

    def close(self) -> None:
        self.isClosed = True


class BufferedLogTests(SynchronousTestCase):
    """
    With a clock, L{AccessLog} writes each reactor turn's lines at once.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.path = self.mktemp()
        self.log = AccessLog(self.path, "combined", self.clock)
        self.log.open()
        self.addCleanup(self.log.close)
        self.file = _CountingFile()
        real = self.log._file
        assert real is not None
        real.close()
        self.log._file = self.file

    def test_oneWritePerTurn(self) -> None:
        """
        Lines logged in one turn reach the file together when the clock
        moves on, in one write, in order.
        """
        for path in (b"/a", b"/b", b"/c"):
            self.log.write(_Request(path))  # type: ignore[arg-type]
        self.assertEqual(self.file.getvalue(), "")
        self.clock.advance(0)
        self.assertEqual(self.file.writes, 1)
        lines = self.file.getvalue().splitlines()
        self.assertEqual(
            [line.split('"')[1] for line in lines],
            [
                "GET /a HTTP/2",
                "GET /b HTTP/2",
                "GET /c HTTP/2",
            ],
        )

    def test_flushNow(self) -> None:
        """
        L{AccessLog.flush} (which closing and reopening call) writes what is
        pending at once, and cancels the scheduled write.
        """
        self.log.write(_Request(b"/a"))  # type: ignore[arg-type]
        self.log.flush()
        self.assertIn("GET /a", self.file.getvalue())
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_reopenFlushesToOldFile(self) -> None:
        """
        Lines logged before a reopen go to the file they were logged for.
        """
        self.log.write(_Request(b"/old"))  # type: ignore[arg-type]
        self.log.reopen()
        self.log.write(_Request(b"/new"))  # type: ignore[arg-type]
        self.clock.advance(0)
        self.assertTrue(self.file.isClosed)
        self.assertIn("GET /old", self.file.getvalue())
        self.assertNotIn("GET /new", self.file.getvalue())
        with open(self.path) as f:
            self.assertIn("GET /new", f.read())


class Partial(Resource):
    """
    Starts a response of 1000 bytes, sends the first 100, and waits.
    """

    isLeaf = True

    def render_GET(self, request: Request) -> int:
        request.setHeader(b"content-length", b"1000")
        request.write(b"x" * 100)
        return NOT_DONE_YET


class Pending(Resource):
    """
    Never starts its response.
    """

    isLeaf = True

    def render_GET(self, request: Request) -> int:
        return NOT_DONE_YET


class Whole(Resource):
    isLeaf = True

    def render_GET(self, request: Request) -> bytes:
        return b"whole"


class Transport(StringTransport):
    """
    A TLS transport in memory, with the protocol ALPN chose.
    """

    def __init__(self, protocol: bytes | None) -> None:
        super().__init__(peerAddress=IPv4Address("TCP", "127.0.0.1", 50000))
        self.negotiatedProtocol = protocol


class CutShortTests(SynchronousTestCase):
    """
    A request whose connection or stream is lost before it finished is
    logged then, once, with the bytes sent; with status 499 if its response
    had not begun.  Requests not fully received are not logged.
    """

    def setUp(self) -> None:
        root = Resource()
        root.putChild(b"partial", Partial())
        root.putChild(b"pending", Pending())
        root.putChild(b"whole", Whole())
        self.logged: list[http.Request] = []
        self.clock = Clock()
        self.site = H2Site(root, self.logged.append, reactor=self.clock)

    def connect(self, protocol: bytes | None) -> Transport:
        self.protocol = self.site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1))
        assert self.protocol is not None
        transport = Transport(protocol)
        self.protocol.makeConnection(transport)
        return transport

    def lose(self) -> None:
        assert self.protocol is not None
        self.protocol.connectionLost(Failure(ConnectionDone()))

    def logLines(self) -> list[tuple[bytes, int, int]]:
        """
        What was logged: the path, status and size of each entry.
        """
        entries = [entryFor(r, 0.0) for r in self.logged]
        return [(e.uri, e.status, e.size) for e in entries]

    def http11(self, data: bytes) -> None:
        self.connect(None)
        assert self.protocol is not None
        self.protocol.dataReceived(data)
        self.lose()

    def test_http11CutShort(self) -> None:
        """
        An HTTP/1.1 response cut short is logged with its status and the
        bytes sent.
        """
        self.http11(b"GET /partial HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(self.logLines(), [(b"/partial", 200, 100)])

    def test_http11NotStarted(self) -> None:
        """
        A client that left before the response began is logged as 499,
        with no bytes.
        """
        self.http11(b"GET /pending HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(self.logLines(), [(b"/pending", CLIENT_CLOSED, 0)])

    def test_http11FinishedOnce(self) -> None:
        """
        A finished request is logged when it finishes, and not again when
        its connection closes; a request whose head was still arriving is
        not logged at all.
        """
        self.http11(b"GET /whole HTTP/1.1\r\nHost: x\r\n\r\nGET /pending HTTP/1.1\r\n")
        self.assertEqual(self.logLines(), [(b"/whole", 200, 5)])

    def h2(self, path: str, reset: bool) -> None:
        """
        Request C{path} over HTTP/2, take what the server sends, then reset
        the stream or lose the connection.
        """
        transport = self.connect(b"h2")
        assert self.protocol is not None
        client = H2Client(H2Configuration(client_side=True, header_encoding=None))
        client.initiate_connection()
        streamID = client.get_next_available_stream_id()
        client.send_headers(streamID, requestHeaders(path), end_stream=True)
        self.protocol.dataReceived(client.data_to_send())
        self.clock.advance(0)
        events = client.receive_data(transport.value())
        received = sum(len(e.data) for e in events if isinstance(e, DataReceived))
        self.assertEqual(received, 100 if path == "/partial" else 0)
        if reset:
            client.reset_stream(streamID)
            self.protocol.dataReceived(client.data_to_send())
        self.lose()

    def test_h2StreamReset(self) -> None:
        """
        A stream the client resets mid-response is logged with the bytes
        sent, once (not again as the connection closes).
        """
        self.h2("/partial", reset=True)
        self.assertEqual(self.logLines(), [(b"/partial", 200, 100)])

    def test_h2ConnectionLost(self) -> None:
        """
        Streams in progress when an HTTP/2 connection is lost are logged.
        """
        self.h2("/partial", reset=False)
        self.assertEqual(self.logLines(), [(b"/partial", 200, 100)])

    def test_h2NotStarted(self) -> None:
        """
        A stream reset before its response began is logged as 499.
        """
        self.h2("/pending", reset=True)
        self.assertEqual(self.logLines(), [(b"/pending", CLIENT_CLOSED, 0)])

    def test_healthPathStillUnlogged(self) -> None:
        """
        The health path is left out of the log however its request ends.
        """
        self.site = H2Site(
            self.site.resource, self.logged.append, "/pending", reactor=self.clock
        )
        self.http11(b"GET /pending HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(self.logLines(), [])
