"""
Tests for L{h2site.http.h3.listener} and L{h2site.http.h3.stream}, in
memory: an aioquic client connection and the listener exchange datagrams
through a list, on a L{Clock}.
"""

from __future__ import annotations

import os
import ssl
from typing import Any

from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from twisted.web import resource, server

from h2site.http.earlyhints import sendEarlyHints
from h2site.http.h3.guard import VERSION_NEGOTIATION_BUDGET
from h2site.http.h3.listener import (
    MAX_HANDSHAKES,
    RETRY_ABOVE,
    H3Listener,
    altSvcValue,
    quicConfiguration,
)
from h2site.http.limits import ConnectionLimits
from tests.helpers import sharedCertificates

_SERVER = ("127.0.0.1", 443)


class _Transport:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, Any]] = []

    def write(self, data: bytes, addr: Any) -> None:
        self.sent.append((data, addr))

    def getHost(self) -> IPv4Address:
        return IPv4Address("UDP", *_SERVER)


class _Page(resource.Resource):
    isLeaf = True

    def render_GET(self, request: server.Request) -> bytes:
        sendEarlyHints(request, ["</a.css>; rel=preload; as=style"])
        return b"hello " + request.clientproto


class _Slow(resource.Resource):
    """
    Answers when the test says so.
    """

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.waiting: list[server.Request] = []

    def render_GET(self, request: server.Request) -> int:
        self.waiting.append(request)
        return server.NOT_DONE_YET


#: What L{_Endless} writes at a time.
_CHUNK = 64 * 1024


class _Endless(resource.Resource):
    """
    An endless response from a push producer that writes whenever it is not
    paused (a request's whole response, as fast as it is let).
    """

    isLeaf = True

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.producers: list[_EndlessProducer] = []

    def render_GET(self, request: server.Request) -> int:
        self.producers.append(_EndlessProducer(request, self.clock))
        return server.NOT_DONE_YET


class _EndlessProducer:
    def __init__(self, request: server.Request, clock: Clock) -> None:
        self.request = request
        self.clock = clock
        self.paused = self.stopped = False
        self.written = 0
        request.registerProducer(self, True)
        clock.callLater(0, self._run)

    def _run(self) -> None:
        # Bounded, so that a producer never paused fails the test instead
        # of running forever.
        for _ in range(200):
            if self.paused or self.stopped:
                return
            self.request.write(b"x" * _CHUNK)
            self.written += _CHUNK
        raise AssertionError("never paused")

    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        self.paused = False
        self.clock.callLater(0, self._run)

    def stopProducing(self) -> None:
        self.stopped = True


class _Client:
    """
    An aioquic HTTP/3 client, its datagrams handed to the listener.
    """

    def __init__(
        self, test: ListenerTestCase, port: int = 5000, reads: bool = True
    ) -> None:
        """
        @param reads: if L{False}, the client never opens its flow-control
            windows past a few KiB (it reads nothing), yet acknowledges
            every packet.
        """
        self.test = test
        self.addr = ("127.0.0.1", port)
        configuration = QuicConfiguration(
            is_client=True, alpn_protocols=H3_ALPN, verify_mode=ssl.CERT_NONE
        )
        if not reads:
            configuration.max_data = 16 * 1024
            configuration.max_stream_data = 1024
        self.quic = QuicConnection(configuration=configuration)
        if not reads:
            self.quic._write_connection_limits = lambda *a, **k: None  # type: ignore[method-assign]
            self.quic._write_stream_limits = lambda *a, **k: None  # type: ignore[method-assign]
        self.h3 = H3Connection(self.quic)
        self.answers: dict[int, list[Any]] = {}
        self.quic.connect(_SERVER, now=test.clock.seconds())

    def pump(self, rounds: int = 20) -> None:
        test = self.test
        for _ in range(rounds):
            now = test.clock.seconds()
            for data, _addr in self.quic.datagrams_to_send(now):
                test.listener.datagramReceived(data, self.addr)
            # Past aioquic's pacing, which spaces packets by microseconds.
            test.clock.advance(0.001)
            sent, test.transport.sent = test.transport.sent, []
            for data, addr in sent:
                if addr == self.addr:
                    self.quic.receive_datagram(data, _SERVER, now)
            event = self.quic.next_event()
            while event is not None:
                for h3event in self.h3.handle_event(event):
                    if isinstance(h3event, HeadersReceived | DataReceived):
                        self.answers.setdefault(h3event.stream_id, []).append(h3event)
                event = self.quic.next_event()

    def get(self, path: bytes, extra: list[tuple[bytes, bytes]] | None = None) -> int:
        streamID = self.quic.get_next_available_stream_id()
        fields = [
            (b":method", b"GET"),
            (b":scheme", b"https"),
            (b":authority", b"localhost"),
            (b":path", path),
            *(extra or []),
        ]
        self.h3.send_headers(streamID, fields, end_stream=True)
        return streamID

    def statuses(self, streamID: int) -> list[bytes]:
        return [
            dict(e.headers)[b":status"]
            for e in self.answers.get(streamID, [])
            if isinstance(e, HeadersReceived)
        ]

    def body(self, streamID: int) -> bytes:
        return b"".join(
            e.data
            for e in self.answers.get(streamID, [])
            if isinstance(e, DataReceived)
        )


class ListenerTestCase(SynchronousTestCase):
    """
    A listener on a L{Clock}, for a site with a page, a slow and an endless
    response.
    """

    def setUp(self) -> None:
        certs = sharedCertificates()
        key = load_pem_private_key(certs.key.read_bytes(), None)
        cert = x509.load_pem_x509_certificate(certs.cert.read_bytes())
        self.clock = Clock()
        self.clock.advance(1000)
        self.limits = ConnectionLimits(maxRequestBodySize=1000)
        root = resource.Resource()
        root.putChild(b"", _Page())
        self.slow = _Slow()
        root.putChild(b"slow", self.slow)
        self.endless = _Endless(self.clock)
        root.putChild(b"endless", self.endless)
        self.site = server.Site(root)
        self.site.log = lambda request: None  # type: ignore[method-assign]
        self.listener = H3Listener(
            self.site,
            lambda: quicConfiguration(cert, [], key, self.limits),
            self.limits,
            self.clock,
        )
        self.transport = _Transport()
        self.listener.transport = self.transport  # type: ignore[assignment]


class ListenerTests(ListenerTestCase):
    def test_request(self) -> None:
        """
        A GET becomes a C{twisted.web} request with C{clientproto}
        C{HTTP/3}, answered on its stream.
        """
        client = _Client(self)
        client.pump()
        stream = client.get(b"/")
        client.pump()
        self.assertEqual(client.statuses(stream), [b"103", b"200"])
        self.assertEqual(client.body(stream), b"hello HTTP/3")
        self.assertEqual(len(self.listener.sessions), 1)
        self.assertEqual(self.listener.handshakes, 0)

    def test_bodyLimit(self) -> None:
        """
        A request body over C{maxRequestBodySize} is answered 413.
        """
        client = _Client(self)
        client.pump()
        streamID = client.quic.get_next_available_stream_id()
        client.h3.send_headers(
            streamID,
            [
                (b":method", b"POST"),
                (b":scheme", b"https"),
                (b":authority", b"localhost"),
                (b":path", b"/"),
            ],
        )
        client.h3.send_data(streamID, b"x" * 2000, end_stream=True)
        client.pump()
        self.assertEqual(client.statuses(streamID), [b"413"])

    def test_garbageCostsNothing(self) -> None:
        """
        Datagrams that are not QUIC, short-header packets naming unknown
        connections, and Initials below 1200 bytes create no state and
        send nothing.
        """
        for size in (0, 1, 20, 1200, 1500):
            # A long header of full size would be a version to negotiate.
            garbage = bytes([os.urandom(1)[0] & 0x7F]) + os.urandom(size)
            self.listener.datagramReceived(garbage, ("127.0.0.1", 9))
        self.listener.datagramReceived(b"\x40" + os.urandom(1300), ("127.0.0.1", 9))
        initial = (
            b"\xc0\x00\x00\x00\x01\x08" + os.urandom(8) + b"\x00" + os.urandom(300)
        )
        self.listener.datagramReceived(initial, ("127.0.0.1", 9))
        self.assertEqual(self.listener.sessions, set())
        self.assertEqual(self.transport.sent, [])

    def test_handshakeBound(self) -> None:
        """
        At most L{MAX_HANDSHAKES} connections are in their handshake at
        once; further Initials are dropped (here with Retry off).
        """
        self.listener._retryAbove = MAX_HANDSHAKES
        for port in range(MAX_HANDSHAKES + 20):
            client = _Client(self, 10000 + port)
            for data, _ in client.quic.datagrams_to_send(self.clock.seconds()):
                self.listener.datagramReceived(data, client.addr)
        self.assertEqual(len(self.listener.sessions), MAX_HANDSHAKES)
        self.assertEqual(self.listener.handshakes, MAX_HANDSHAKES)

    def test_handshakeTimeout(self) -> None:
        """
        A client that starts a handshake and goes silent gives its place
        back after C{headerTimeout}, not the idle timeout.
        """
        client = _Client(self)
        for data, _ in client.quic.datagrams_to_send(self.clock.seconds()):
            self.listener.datagramReceived(data, client.addr)
        self.assertEqual(self.listener.handshakes, 1)
        self.clock.advance(self.limits.headerTimeout + 0.1)
        self.assertEqual(self.listener.handshakes, 0)
        self.assertEqual(self.listener.sessions, set())

    def test_idleTimeout(self) -> None:
        """
        A connection with nothing to do is forgotten after the idle timeout.
        """
        client = _Client(self)
        client.pump()
        self.assertEqual(len(self.listener.sessions), 1)
        self.clock.advance(self.limits.idleTimeout * 3 + 1)
        self.assertEqual(self.listener.sessions, set())

    def test_shutdown(self) -> None:
        """
        A graceful shutdown closes idle connections at once and fires.
        """
        client = _Client(self)
        client.pump()
        done = self.listener.shutdown(5)
        self.assertEqual(self.successResultOf(done), None)
        self.assertEqual(self.listener.sessions, set())

    def test_retry(self) -> None:
        """
        Beyond C{retryAbove} handshakes at once, a new client is sent a
        Retry and no state is kept; it comes back with the token and is
        served.
        """
        self.listener._retryAbove = 0
        client = _Client(self)
        for data, _ in client.quic.datagrams_to_send(self.clock.seconds()):
            self.listener.datagramReceived(data, client.addr)
        self.assertEqual(self.listener.sessions, set())
        self.assertEqual(len(self.transport.sent), 1)
        client.pump()
        stream = client.get(b"/")
        client.pump()
        self.assertEqual(client.statuses(stream), [b"103", b"200"])
        self.assertEqual(len(self.listener.sessions), 1)

    def test_retryUnderLoad(self) -> None:
        """
        With the default threshold, the first L{RETRY_ABOVE} handshakes get
        a connection; the next clients get a Retry packet each and no
        state.
        """
        clients = 100
        for port in range(clients):
            client = _Client(self, 10000 + port)
            for data, _ in client.quic.datagrams_to_send(self.clock.seconds()):
                self.listener.datagramReceived(data, client.addr)
        self.assertEqual(len(self.listener.sessions), RETRY_ABOVE)
        retried = {addr for data, addr in self.transport.sent if data[0] & 0xF0 == 0xF0}
        self.assertEqual(len(retried), clients - RETRY_ABOVE)

    def test_badToken(self) -> None:
        """
        An Initial with a token this listener did not make is dropped.
        """
        self.listener._retryAbove = 0
        client = _Client(self)
        client.quic._peer_token = b"x" * 40
        for data, _ in client.quic.datagrams_to_send(self.clock.seconds()):
            self.listener.datagramReceived(data, client.addr)
        self.assertEqual(self.listener.sessions, set())
        self.assertEqual(self.transport.sent, [])

    def test_gracefulShutdown(self) -> None:
        """
        A shutdown with a request in flight sends GOAWAY: that request is
        still answered, a new one is rejected, and the connection closes
        once the first is done.
        """
        client = _Client(self)
        client.pump()
        first = client.get(b"/slow")
        client.pump()
        self.assertEqual(len(self.slow.waiting), 1)
        done = self.listener.shutdown(30)
        self.assertNoResult(done)
        client.pump()
        second = client.get(b"/")
        client.pump()
        self.assertEqual(client.statuses(second), [])
        request = self.slow.waiting[0]
        request.write(b"late")
        request.finish()
        client.pump()
        self.assertEqual(client.statuses(first), [b"200"])
        self.assertEqual(client.body(first), b"late")
        self.assertIsNone(self.successResultOf(done))
        self.assertEqual(self.listener.sessions, set())

    def test_clientResets(self) -> None:
        """
        A request the client cancels (STOP_SENDING, after its request is
        sent) is lost to its resource, and its stream closed on both sides:
        its place goes back to the client, which can open many more than
        C{maxConcurrentStreams} that way, and the server holds none.
        """
        client = _Client(self)
        client.pump()
        requests = self.limits.maxConcurrentStreams + 50
        for _ in range(requests):
            stream = client.get(b"/slow")
            client.pump(2)
            client.quic.stop_stream(stream, 0x10C)
            client.pump(2)
            self.clock.advance(1)
        self.assertEqual(len(self.slow.waiting), requests)
        self.assertTrue(all(r._disconnected for r in self.slow.waiting))
        (session,) = self.listener.sessions
        self.assertEqual(session.streams, {})
        self.assertLess(len(session.quic._streams), 10)

    def test_rapidReset(self) -> None:
        """
        A client that resets streams faster than C{resetBudget} allows is
        closed with H3_EXCESSIVE_LOAD (Rapid Reset, CVE-2023-44487).
        """
        client = _Client(self)
        client.pump()
        quic = client.quic
        cancelled = 0
        for _ in range(self.limits.resetBudget * 2):
            if not self.listener.sessions:
                break
            # Within the stream limit: only the resets are too many.
            if quic.get_next_available_stream_id() // 4 < quic._remote_max_streams_bidi:
                stream = client.get(b"/slow")
                client.pump(1)
                # The request is whole: the client cancels its response.
                quic.stop_stream(stream, 0x10C)
                cancelled += 1
            client.pump(2)
        self.assertEqual(self.listener.sessions, set())
        # The budget, and what it regained meanwhile (the clock moves).
        self.assertGreater(cancelled, self.limits.resetBudget)
        self.assertLess(cancelled, self.limits.resetBudget * 1.5)
        closed = client.quic._close_event
        assert closed is not None
        self.assertEqual(closed.error_code, 0x107)

    def test_altSvc(self) -> None:
        self.assertEqual(altSvcValue(8443), b'h3=":8443"; ma=86400')


class VersionNegotiationTests(ListenerTestCase):
    def unknownVersion(self, size: int, version: bytes = b"\x1a\x2a\x3a\x4a") -> bytes:
        header = b"\xc0" + version + b"\x08" + b"D" * 8 + b"\x05" + b"S" * 5
        return header + b"\x00" * (size - len(header))

    def test_answered(self) -> None:
        """
        A full-size datagram of an unknown QUIC version gets a Version
        Negotiation packet listing the versions served, with the
        connection IDs swapped, and leaves no state.
        """
        self.listener.datagramReceived(self.unknownVersion(1200), ("127.0.0.1", 9))
        [(packet, addr)] = self.transport.sent
        self.assertEqual(addr, ("127.0.0.1", 9))
        self.assertEqual(packet[1:5], b"\x00\x00\x00\x00")
        self.assertEqual(packet[5:20], b"\x05" + b"S" * 5 + b"\x08" + b"D" * 8)
        self.assertEqual(set(chunk(packet[20:])), {0x00000001, 0x6B3343CF})
        self.assertEqual(self.listener.sessions, set())

    def test_notAnswered(self) -> None:
        """
        A datagram under 1200 bytes, a Version Negotiation packet (version
        0), or a short-header packet gets no answer.
        """
        for datagram in [
            self.unknownVersion(1199),
            self.unknownVersion(1200, b"\x00\x00\x00\x00"),
            b"\x40" + b"\x1a" * 1300,
        ]:
            self.listener.datagramReceived(datagram, ("127.0.0.1", 9))
        self.assertEqual(self.transport.sent, [])

    def test_budget(self) -> None:
        """
        At most L{VERSION_NEGOTIATION_BUDGET} answers go out at once; the
        budget refills with time.
        """
        datagram = self.unknownVersion(1200)
        for port in range(VERSION_NEGOTIATION_BUDGET * 3):
            self.listener.datagramReceived(datagram, ("127.0.0.1", 1000 + port))
        self.assertEqual(len(self.transport.sent), VERSION_NEGOTIATION_BUDGET)
        self.clock.advance(1)
        for port in range(VERSION_NEGOTIATION_BUDGET * 3):
            self.listener.datagramReceived(datagram, ("127.0.0.1", 1000 + port))
        self.assertEqual(len(self.transport.sent), 2 * VERSION_NEGOTIATION_BUDGET)


def chunk(versions: bytes) -> list[int]:
    return [
        int.from_bytes(versions[i : i + 4], "big") for i in range(0, len(versions), 4)
    ]


class NeverReadingTests(ListenerTestCase):
    """
    A client that requests endless responses on many streams and never
    opens its flow-control windows, yet acknowledges every packet and
    keeps the connection alive with PINGs.
    """

    def neverReading(self, streams: int) -> _Client:
        client = _Client(self, reads=False)
        client.pump()
        for _ in range(streams):
            client.get(b"/endless")
        client.pump()
        return client

    def test_connectionBuffer(self) -> None:
        """
        What the connection holds for all its streams stops growing at
        C{connectionBufferSize} (and one write): every producer is paused,
        though no stream holds C{streamBufferSize}.
        """
        client = self.neverReading(20)
        self.assertEqual(len(self.endless.producers), 20)
        (session,) = self.listener.sessions
        limit = self.limits.connectionBufferSize
        written = sum(p.written for p in self.endless.producers)
        self.assertGreaterEqual(written, limit)
        self.assertLessEqual(written, limit + _CHUNK)
        self.assertLessEqual(session.guard.queued, limit + _CHUNK)
        self.assertTrue(all(p.paused for p in self.endless.producers))
        client.pump()
        self.assertLessEqual(session.guard.queued, limit + _CHUNK)
        self.assertTrue(all(p.paused for p in self.endless.producers))

    def test_idleWithoutProgress(self) -> None:
        """
        PINGs and ACKs are no progress: the connection is closed after
        C{idleTimeout}, and its responses' producers stopped.
        """
        client = self.neverReading(5)
        (session,) = self.listener.sessions
        started = self.clock.seconds()
        while self.listener.sessions:
            self.assertLess(self.clock.seconds() - started, self.limits.idleTimeout * 2)
            client.quic.send_ping(1)
            client.pump(2)
            self.clock.advance(5)
        self.assertGreaterEqual(self.clock.seconds() - started, self.limits.idleTimeout)
        self.assertTrue(session.closed)
        self.assertTrue(all(p.stopped for p in self.endless.producers))

    def test_requestsAreProgress(self) -> None:
        """
        A client that sends a request more often than C{idleTimeout} keeps
        its connection.
        """
        client = _Client(self)
        client.pump()
        for _ in range(10):
            self.clock.advance(self.limits.idleTimeout / 2)
            stream = client.get(b"/")
            client.pump()
            self.assertEqual(client.statuses(stream), [b"103", b"200"])
        self.assertEqual(len(self.listener.sessions), 1)
