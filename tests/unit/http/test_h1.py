"""
Unit tests of h2site's HTTP/1.1 channel (L{h2site.http.h2.connection.HTTP11Channel}) and
the TLS handshake deadline of its protocol switch: the limits a public
server needs, driven in memory through h2site's real C{Site} with a fake
clock.  L{tests.integration.test_hardening} does the same against the real server.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from h2site.http.limits import ConnectionLimits
from h2site.http.messages import validHost
from tests.harness import FullTransport, Harness, pipelineHarness, statuses


class PipeliningTests(SynchronousTestCase):
    """
    A connection holds one response in progress: the next pipelined request
    waits until the client has read the previous response.
    """

    def test_oneResponseAtATime(self) -> None:
        """
        Fifty pipelined requests for a 160 KiB response, from a client that
        does not read: one response is written; each time the client reads,
        one more; all fifty in the end, in order.
        """
        h = pipelineHarness()
        h.send(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n" * 50)
        transport = h.transport
        assert isinstance(transport, FullTransport)
        self.assertEqual(statuses(transport.value()), [200])
        self.assertEqual(len(h.logged), 1)
        served = 0
        for _ in range(50):
            served += len(statuses(transport.drain()))
        served += len(statuses(transport.drain()))
        self.assertEqual(served, 50)
        self.assertEqual(len(h.logged), 50)

    def test_stopsReading(self) -> None:
        """
        Past 16 KiB of waiting requests, the channel stops reading from the
        socket; it reads again once the client has read the responses.
        """
        h = pipelineHarness()
        h.send(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n" * 1000)
        self.assertEqual(h.transport.producerState, "paused")
        transport = h.transport
        assert isinstance(transport, FullTransport)
        while len(h.logged) < 1000:
            before = len(h.logged)
            transport.drain()
            self.assertGreater(len(h.logged), before)
        self.assertEqual(h.transport.producerState, "producing")

    def test_smallResponsesFlow(self) -> None:
        """
        Responses that leave the buffer room are not held back.
        """
        h = pipelineHarness()
        h.send(b"GET /page HTTP/1.1\r\nHost: x\r\n\r\n" * 20)
        self.assertEqual(statuses(h.transport.value()), [200] * 20)

    def test_clientThatNeverReads(self) -> None:
        """
        A client that stops reading is closed after the idle timeout, whether
        a response waits in the buffer or a producer is paused mid-body.
        """
        for path in (b"/big", b"/stream"):
            h = pipelineHarness(ConnectionLimits(idleTimeout=30))
            h.send(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path * 2)
            h.clock.advance(29)
            self.assertFalse(h.transport.aborted, path)
            h.clock.advance(1)
            self.assertTrue(h.transport.aborted, path)


class HostTests(SynchronousTestCase):
    """
    RFC 9112 section 3.2: an HTTP/1.1 request needs exactly one valid
    C{Host}; HTTP/1.0 may go without.
    """

    def answer(self, head: bytes) -> Harness:
        h = Harness(protocol=None)
        h.send(head + b"\r\n")
        return h

    def test_missing(self) -> None:
        """
        HTTP/1.1 without Host: 400, C{Connection: close}, closed, logged.
        """
        h = self.answer(b"GET /page HTTP/1.1\r\n")
        self.assertEqual(statuses(h.transport.value()), [400])
        self.assertIn(b"connection: close\r\n", h.transport.value())
        self.assertTrue(h.transport.disconnecting)
        self.assertEqual([(r.code, r.uri) for r in h.logged], [(400, b"/page")])

    def test_http10(self) -> None:
        """
        HTTP/1.0 without Host is served.
        """
        h = self.answer(b"GET /page HTTP/1.0\r\n")
        self.assertEqual(statuses(h.transport.value()), [200])
        self.assertEqual([r.getHeader(b"host") for r in h.logged], [None])

    def test_repeatedOrInvalid(self) -> None:
        """
        Two Host fields, or one that is no host, get 400.
        """
        for head in (
            b"GET /page HTTP/1.1\r\nHost: a\r\nHost: b\r\n",
            b"GET /page HTTP/1.1\r\nHost: a b\r\n",
            b"GET /page HTTP/1.1\r\nHost: evil.example/x\r\n",
        ):
            self.assertEqual(statuses(self.answer(head).transport.value()), [400])

    def test_empty(self) -> None:
        """
        An empty Host (a target without authority) is allowed.
        """
        h = self.answer(b"GET /page HTTP/1.1\r\nHost:\r\n")
        self.assertEqual(statuses(h.transport.value()), [200])

    def test_validHost(self) -> None:
        """
        Names, addresses, bracketed IPv6 and ports are hosts; what could
        smuggle another URL or header is not.
        """
        for good in (b"example.org", b"example.org:8443", b"[::1]:443", b"", b"a_b"):
            self.assertTrue(validHost(good), good)
        for bad in (b"a b", b"a/b", b"a@b", b"a\\b", b"[::1", b"a:b:c", b"\xff"):
            self.assertFalse(validHost(bad), bad)


class OversizedTests(SynchronousTestCase):
    """
    Requests over a limit get the status that says which: 414, 431, 413.
    """

    def answer(self, data: bytes) -> Harness:
        h = Harness(protocol=None)
        h.send(data)
        return h

    def assertRejected(self, h: Harness, status: int) -> None:
        self.assertEqual(statuses(h.transport.value()), [status])
        self.assertTrue(h.transport.disconnecting)
        self.assertEqual([r.code for r in h.logged], [status])

    def test_requestLine(self) -> None:
        """
        A request line over 8 KiB gets 414, even before its end arrives.
        """
        for ending in (b" HTTP/1.1\r\nHost: x\r\n\r\n", b""):
            h = self.answer(b"GET /" + b"a" * 9000 + ending)
            self.assertRejected(h, 414)

    def test_headerLine(self) -> None:
        """
        A header field line over 8 KiB gets 431, even before its end arrives.
        """
        for ending in (b"\r\n\r\n", b""):
            h = self.answer(b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 9000 + ending)
            self.assertRejected(h, 431)

    def test_wholeHead(self) -> None:
        """
        More than 32 KiB of header fields in all, or more than 100 fields,
        get 431.
        """
        many = b"".join(b"X-%d: %s\r\n" % (i, b"a" * 4000) for i in range(9))
        self.assertRejected(self.answer(b"GET / HTTP/1.1\r\n" + many + b"\r\n"), 431)
        fields = b"".join(b"X-%d: a\r\n" % i for i in range(101))
        self.assertRejected(
            self.answer(b"GET / HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n"), 431
        )

    def test_body(self) -> None:
        """
        A body over 1 MiB gets 413: at once when Content-Length says so,
        as soon as it passes the limit when chunked.
        """
        h = self.answer(
            b"POST /page HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n"
        )
        self.assertRejected(h, 413)
        h = Harness(protocol=None)
        h.send(b"POST /page HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
        for _ in range(16):
            h.send(chunk)
        self.assertEqual(h.transport.value(), b"")
        h.send(chunk)
        self.assertRejected(h, 413)

    def test_withinLimits(self) -> None:
        """
        Long but allowed requests are served.
        """
        h = self.answer(
            b"POST /page HTTP/1.1\r\nHost: x\r\nX-Long: "
            + b"a" * 8000
            + b"\r\nContent-Length: 5\r\n\r\nhello"
        )
        self.assertEqual(statuses(h.transport.value()), [200])
        self.assertTrue(h.transport.value().endswith(b"posted:hello"))


class HeadDeadlineTests(SynchronousTestCase):
    """
    A request head must be complete within the header timeout of its first
    byte, however the bytes trickle.
    """

    limits = ConnectionLimits(headerTimeout=20, idleTimeout=60)

    def test_trickle(self) -> None:
        """
        A head trickled a byte every 5 s gets 408 at 20 s, is logged, and
        the connection closes (aborted if the client does not take the 408).
        """
        h = Harness(self.limits, protocol=None)
        for byte in b"GET /page HTTP/1.1\r\nHost: x\r\n":
            if h.transport.disconnecting:
                break
            h.send(bytes([byte]))
            h.clock.advance(5)
        self.assertEqual(h.clock.seconds(), 20)
        self.assertEqual(statuses(h.transport.value()), [408])
        self.assertEqual([r.code for r in h.logged], [408])
        self.assertTrue(h.transport.disconnecting)
        self.assertFalse(h.transport.aborted)
        h.clock.advance(h.limits.closeTimeout)
        self.assertTrue(h.transport.aborted)

    def test_eachHeadItsOwnClock(self) -> None:
        """
        The time between requests does not count (the idle timeout rules
        there); each head gets the whole timeout.
        """
        h = Harness(self.limits, protocol=None)
        for _ in range(3):
            h.send(b"GET /page HTTP/1.1\r\n")
            h.clock.advance(19)
            h.send(b"Host: x\r\n\r\n")
            h.clock.advance(40)
        self.assertEqual(statuses(h.transport.value()), [200] * 3)
        self.assertFalse(h.transport.disconnecting)

    def test_pipelinedHead(self) -> None:
        """
        A head that arrived in part behind a slow response has its clock
        start when its turn comes.
        """
        h = Harness(self.limits, protocol=None)
        h.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /page HTTP/1.1\r\n")
        h.clock.advance(30)
        h.slow.waiting[0].finish()
        h.clock.advance(19)
        self.assertFalse(h.transport.disconnecting)
        h.clock.advance(1)
        self.assertEqual(statuses(h.transport.value()), [200, 408])
