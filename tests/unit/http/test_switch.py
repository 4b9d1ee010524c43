"""
Tests for L{h2site.http.switch}: graceful shutdown of every connection,
and the TLS handshake deadline.
"""

from __future__ import annotations

from h2.errors import ErrorCodes
from hyperframe.frame import (
    DataFrame,
    HeadersFrame,
    RstStreamFrame,
)
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource

from h2site.http.limits import ConnectionLimits
from h2site.web.site import H2Site
from tests.h2client import requestHeaders
from tests.harness import Harness, TLSTransport


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


class HandshakeDeadlineTests(SynchronousTestCase):
    """
    A TLS connection must complete its handshake within the header timeout:
    handshake bytes never reach the HTTP channel, so no other timer would
    close it.
    """

    def connect(self) -> Harness:
        return Harness(
            ConnectionLimits(headerTimeout=20),
            protocol=None,
            transport=TLSTransport(None),
        )

    def test_unfinishedHandshake(self) -> None:
        """
        Cut off at 20 s.
        """
        h = self.connect()
        h.clock.advance(19)
        self.assertFalse(h.transport.aborted)
        h.clock.advance(1)
        self.assertTrue(h.transport.aborted)

    def test_finishedHandshake(self) -> None:
        """
        Once the handshake is done, the deadline is gone.
        """
        h = self.connect()
        h.clock.advance(10)
        h.protocol.handshakeCompleted()
        h.clock.advance(30)
        self.assertFalse(h.transport.aborted)
