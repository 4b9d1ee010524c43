"""
End-to-end tests of HTTP/3 (C{--http3}) against abusive clients, on the
real C{twistd h2site} process: a flood of streams, clients that read
nothing, a flood of Initial packets from real addresses, and unknown QUIC
versions.  Each is bounded (refused, closed, or answered at a fixed cost)
while an HTTP/2 client of the same port is served throughout.
"""

from __future__ import annotations

import os
import select
import socket
import time

from aioquic.h3.connection import H3_ALPN, ErrorCode
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection
from aioquic.quic.packet import QuicErrorCode

from tests.h3client import SocketClient
from tests.helpers import TIMEOUT, rssBytes, waitIdle
from tests.integration.test_http3 import HTTP3TestCase

#: The most a server's resident memory may grow under one abuse.
_MEMORY_BOUND = 60 * 1024 * 1024

#: The idle timeout given to the server, in seconds.
_IDLE = 3


def _isRetry(datagram: bytes) -> bool:
    # A long header of type 3 (Retry) in QUIC version 1.
    return datagram[:1] != b"" and datagram[0] & 0xF0 == 0xF0


class AbuseTestCase(HTTP3TestCase):
    """
    The HTTP/3 server with a short idle timeout, and the process to watch.
    """

    serverArgs = ("--http3", "--idle-timeout", str(_IDLE))

    def setUp(self) -> None:
        super().setUp()
        assert self.server.process is not None
        self.pid = self.server.process.pid
        self.nextCheck = 0.0

    def servedOverH2(self, every: float = 0.5) -> None:
        """
        Check that HTTP/2 is served, at most every C{every} seconds.
        """
        now = time.monotonic()
        if now >= self.nextCheck:
            self.assertServedOverH2()
            self.nextCheck = time.monotonic() + every

    def client(self, reads: bool = True) -> SocketClient:
        client = SocketClient(self.server.port, str(self.certs.caCert), reads=reads)
        self.addCleanup(client.close)
        client.connected()
        return client

    def warmUp(self) -> int:
        """
        Serve the large file once over each protocol (so that what a first
        response loads is not counted), and return the server's RSS once
        it is idle.
        """
        self.assertEqual(self.h2.get("/static/big.bin").content, self.big)
        (response,) = self.fetch("/static/big.bin")
        self.assertEqual(response.body, self.big)
        waitIdle(self.pid, quiet=0.3)
        return rssBytes(self.pid)


class StreamFloodTests(AbuseTestCase):
    def test_overTheLimit(self) -> None:
        """
        A client that opens 1,000 request streams though the server allows
        100 is closed with STREAM_LIMIT_ERROR, and HTTP/2 (and a new HTTP/3
        connection) are served throughout.
        """
        client = self.client()
        # Lie to the client about what the server allows.
        client.quic._remote_max_streams_bidi = 10_000
        deadline = time.monotonic() + TIMEOUT
        opened = 0
        while client.terminated is None:
            self.assertLess(time.monotonic(), deadline)
            if opened < 1000:
                for _ in range(50):
                    client.get("/static/small.txt", streamID=opened * 4)
                    opened += 1
            client.step(0.01)
            self.servedOverH2()
        self.assertEqual(client.terminated.error_code, QuicErrorCode.STREAM_LIMIT_ERROR)
        self.assertServedOverH2()
        (after,) = self.fetch("/static/small.txt")
        self.assertEqual(after.status, 200)

    def test_rapidReset(self) -> None:
        """
        A client that opens streams and cancels them at once (Rapid Reset,
        CVE-2023-44487), within the stream limit, is closed with
        H3_EXCESSIVE_LOAD once past its budget of resets; HTTP/2 is served
        throughout.
        """
        client = self.client()
        deadline = time.monotonic() + TIMEOUT
        cancelled = 0
        while client.terminated is None:
            self.assertLess(time.monotonic(), deadline)
            streams = []
            for _ in range(20):
                if client.quic._remote_max_streams_bidi * 4 <= (
                    client.quic.get_next_available_stream_id()
                ):
                    break
                streams.append(client.get("/static/small.txt"))
            # The requests leave, then their cancellations right behind.
            client.transmit()
            for stream in streams:
                client.quic.stop_stream(stream, ErrorCode.H3_REQUEST_CANCELLED)
                client.quic.reset_stream(stream, ErrorCode.H3_REQUEST_CANCELLED)
                cancelled += 1
            client.step(0.01)
            self.servedOverH2()
        self.assertEqual(client.terminated.error_code, ErrorCode.H3_EXCESSIVE_LOAD)
        self.assertGreater(cancelled, 200)
        self.assertLess(cancelled, 2000)
        self.assertServedOverH2()


class NeverReadingTests(AbuseTestCase):
    def test_boundedAndClosed(self) -> None:
        """
        Three clients that each request the 2 MiB file on 100 streams and
        never open their flow-control windows (while acknowledging every
        packet and sending PINGs) cost the server a bounded amount of
        memory, and each is closed for want of progress within the idle
        timeout; HTTP/2 is served throughout.
        """
        before = self.warmUp()
        clients = [self.client(reads=False) for _ in range(3)]
        for client in clients:
            for _ in range(100):
                client.get("/static/big.bin")
            client.transmit()
        started = time.monotonic()
        deadline = started + _IDLE * 2 + TIMEOUT
        peak = before
        nextPing = 0.0
        while any(c.terminated is None for c in clients):
            self.assertLess(time.monotonic(), deadline, "not closed")
            for client in clients:
                client.step(0.01)
            if time.monotonic() >= nextPing:
                for client in clients:
                    client.quic.send_ping(0)
                    client.transmit()
                nextPing = time.monotonic() + 0.5
            peak = max(peak, rssBytes(self.pid))
            self.servedOverH2()
        grown = peak - before
        closedAfter = max(c.terminatedAt or 0.0 for c in clients) - started
        figures = (
            f"RSS {before / 2**20:.1f} MiB before, {peak / 2**20:.1f} MiB at "
            f"most; closed after {closedAfter:.1f} s"
        )
        self.assertLess(grown, _MEMORY_BOUND, figures)
        self.assertLess(closedAfter, _IDLE + 5, figures)
        for client in clients:
            assert client.terminated is not None
            self.assertEqual(client.terminated.reason_phrase, "idle timeout")
            self.assertLess(client.received, 256 * 1024)
        self.assertServedOverH2()


def _initial(port: int) -> bytes:
    """
    The first datagram of a new aioquic client connection: a real Initial
    packet of 1200 bytes, with a fresh connection ID.
    """
    configuration = QuicConfiguration(
        is_client=True, alpn_protocols=H3_ALPN, server_name="localhost"
    )
    quic = QuicConnection(configuration=configuration)
    quic.connect(("127.0.0.1", port), now=time.monotonic())
    ((datagram, _),) = quic.datagrams_to_send(time.monotonic())
    return datagram


class InitialFloodTests(AbuseTestCase):
    def test_fromRealAddresses(self) -> None:
        """
        2,000 real Initial packets from 200 sockets (each a new connection
        attempt that never goes further) are answered with Retry beyond
        the first few handshakes, cost bounded memory, and HTTP/2 and a
        well-behaved HTTP/3 client are served during and after.
        """
        port = self.server.port
        before = self.warmUp()
        sockets = []
        for _ in range(200):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.addCleanup(sock.close)
            sock.setblocking(False)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        initials = [_initial(port) for _ in range(2000)]
        received: list[bytes] = []

        def drain(timeout: float = 0.0) -> None:
            readable, _, _ = select.select(sockets, [], [], timeout)
            for sock in readable:
                while True:
                    try:
                        received.append(sock.recv(65536))
                    except BlockingIOError:
                        break

        peak = before
        sent = 0
        for i, datagram in enumerate(initials):
            try:
                sockets[i % len(sockets)].sendto(datagram, ("127.0.0.1", port))
                sent += 1
            except BlockingIOError:
                pass
            if i % 100 == 0:
                drain()
                peak = max(peak, rssBytes(self.pid))
                self.servedOverH2(every=0.2)
            if i == len(initials) // 2:
                (during,) = self.fetch("/static/small.txt")
                self.assertEqual(during.status, 200)
        # Until the answers stop coming (a bounded wait for each).
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            count = len(received)
            drain(0.5)
            peak = max(peak, rssBytes(self.pid))
            if len(received) == count:
                break
        retries = sum(1 for datagram in received if _isRetry(datagram))
        figures = (
            f"{sent} sent, {len(received)} answers, {retries} Retry; RSS "
            f"{before / 2**20:.1f} MiB before, {peak / 2**20:.1f} MiB at most"
        )
        self.assertGreater(sent, 1500, figures)
        # The kernel drops what the socket's buffer cannot hold while the
        # server works: not every Initial is answered.
        self.assertGreater(retries, 100, figures)
        self.assertLess(peak - before, _MEMORY_BOUND, figures)
        self.assertServedOverH2()
        (after,) = self.fetch("/static/small.txt")
        self.assertEqual(after.status, 200)
        self.assertEqual(after.body, b"small\n")


def _unknownVersion(size: int, source: bytes) -> bytes:
    header = b"\xc0\x1a\x2a\x3a\x4a\x08" + os.urandom(8) + bytes([len(source)]) + source
    return header + os.urandom(size - len(header))


class VersionNegotiationTests(AbuseTestCase):
    def test_answered(self) -> None:
        """
        A full-size datagram of an unknown QUIC version gets a Version
        Negotiation packet that lists versions 1 and 2 and echoes the
        client's connection ID; a datagram under 1200 bytes gets nothing
        (the first answer is for the full-size one sent after it).
        """
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(sock.close)
        sock.settimeout(TIMEOUT)
        sock.bind(("127.0.0.1", 0))
        server = ("127.0.0.1", self.server.port)
        sock.sendto(_unknownVersion(1000, b"small"), server)
        sock.sendto(_unknownVersion(1200, b"full"), server)
        answer = sock.recv(65536)
        self.assertEqual(answer[1:5], b"\x00\x00\x00\x00")
        self.assertEqual(answer[5:10], b"\x04full")
        versions = answer[10 + 1 + answer[10] :]
        self.assertEqual(
            {versions[i : i + 4] for i in range(0, len(versions), 4)},
            {b"\x00\x00\x00\x01", b"\x6b\x33\x43\xcf"},
        )
        self.assertServedOverH2()
