"""
End-to-end tests of h2site against hostile and broken clients, over real TLS
to the real C{twistd h2site} process: pipelining without reading, requests
without C{Host}, heads and handshakes trickled a byte at a time, oversized
requests, and floods of frames on closed HTTP/2 streams.  Each ends the
offending connection with the right answer, at a bounded cost, while a
well-behaved client keeps being served.  The resource figures (memory, CPU,
time to close) are measured in C{benchmarks/abuse_bench.py}; these tests
count instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import ssl
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from h2.errors import ErrorCodes
from hyperframe.frame import DataFrame, GoAwayFrame, RstStreamFrame

from tests.helpers import TIMEOUT, readToEnd, requireTool, waitIdle
from tests.integration.test_http2 import ServerTestCase

#: A static file held in memory (under --static-memory-file), so a response
#: is written whole the moment its request is processed.
_MEDIUM = 200_000

#: What every trickling client waits for an answer between two bytes.
_TRICKLE = 0.25


def accessLines(path: Path, needle: str) -> list[str]:
    """
    The access-log lines (so far) that contain C{needle}.
    """
    if not path.exists():
        return []
    return [line for line in path.read_text().splitlines() if needle in line]


def tlsSocket(
    port: int, context: ssl.SSLContext, receiveBuffer: int | None = None
) -> ssl.SSLSocket:
    """
    A TLS connection to the server, its receive buffer set before it
    connects (so the kernel cannot hold much of what the server sends).
    """
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receiveBuffer is not None:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receiveBuffer)
    raw.settimeout(TIMEOUT)
    raw.connect(("127.0.0.1", port))
    return context.wrap_socket(raw, server_hostname="localhost")


def curl(*args: str) -> tuple[int, str]:
    """
    Run curl against the test server; its status code and stderr.
    """
    done = subprocess.run(
        [
            requireTool("curl"),
            "--silent",
            "--show-error",
            "--output",
            "/dev/null",
            "--write-out",
            "%{http_code}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    return int(done.stdout or "0"), done.stderr


class HardeningTestCase(ServerTestCase):
    """
    The end-to-end server, with a file held in memory, a short header
    timeout and the access log as JSON (so a missing field is visible).
    """

    serverArgs = ("--header-timeout", "2", "--access-log-format", "json")

    def setUp(self) -> None:
        super().setUp()
        site = self.tmp / "site" / "static"
        (site / "medium.bin").write_bytes(os.urandom(_MEDIUM))
        self.accessLog = self.tmp / "access.log"

    def curl(self, *args: str) -> int:
        return curl("--cacert", str(self.certs.caCert), *args)[0]

    def entries(self, needle: str) -> list[dict[str, object]]:
        """
        The access-log records whose line contains C{needle}, waiting (within
        the deadline) until there is at least one.
        """
        deadline = time.monotonic() + TIMEOUT
        while True:
            lines = accessLines(self.accessLog, needle)
            if lines or time.monotonic() > deadline:
                return [json.loads(line) for line in lines]
            waitIdle(self.pid, quiet=0.2)


class PipeliningTests(HardeningTestCase):
    """
    Defect 1: one TLS connection that pipelines 300 requests for a 200 KB
    file and reads nothing had every response buffered (RSS grew by the
    sum); now a connection holds one response in progress.
    """

    def test_unreadResponsesAreNotBuffered(self) -> None:
        """
        300 pipelined requests from a client that reads nothing: the server
        processes only what the socket buffers can hold, then waits; after
        the client goes, the server serves others as before.
        """
        client = tlsSocket(
            self.server.port, self.certs.sslContext(["http/1.1"]), 32 * 1024
        )
        request = b"GET /static/medium.bin HTTP/1.1\r\nHost: localhost\r\n\r\n"
        client.sendall(request * 300)
        waitIdle(self.pid)
        self.assertServesOthers()
        served = len(accessLines(self.accessLog, "medium.bin"))
        # What the kernel's socket buffers hold on both sides (a few MB on
        # loopback), not 300 responses (60 MB).
        self.assertGreaterEqual(served, 1)
        self.assertLess(served, 40)
        client.close()
        waitIdle(self.pid)
        self.assertServesOthers()

    def test_pipelinedResponsesAllArrive(self) -> None:
        """
        A client that pipelines and reads gets every response, in order.
        """
        client = tlsSocket(self.server.port, self.certs.sslContext(["http/1.1"]))
        self.addCleanup(client.close)
        request = b"GET /static/medium.bin HTTP/1.1\r\nHost: localhost\r\n\r\n"
        client.sendall(
            request * 20
            + request.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
        )
        data = readToEnd(client)
        self.assertEqual(data.count(b"HTTP/1.1 200 OK\r\n"), 21)
        self.assertGreater(len(data), 21 * _MEDIUM)


class HostTests(HardeningTestCase):
    """
    Defect 2: a request without C{Host} got no response and a traceback.
    """

    def test_http11WithoutHost(self) -> None:
        """
        HTTP/1.1 without Host: 400, logged, no traceback.
        """
        url = self.server.url + "/"
        self.assertEqual(self.curl("--http1.1", "-H", "Host:", url), 400)
        (entry,) = self.entries('"status":400')
        self.assertEqual((entry["protocol"], entry["host"]), ("http/1.1", None))
        self.assertNotIn("Traceback", self.server.output())

    def test_http10WithoutHost(self) -> None:
        """
        HTTP/1.0 without Host is served; the log names no host.
        """
        url = self.server.url + "/"
        self.assertEqual(self.curl("--http1.0", "-H", "Host:", url), 200)
        (entry,) = self.entries('"http/1.0"')
        self.assertEqual((entry["status"], entry["host"]), (200, None))
        self.assertNotIn("Traceback", self.server.output())

    def test_badHost(self) -> None:
        """
        A Host that is no host gets 400 over both protocols.
        """
        url = self.server.url + "/"
        for version in ("--http1.1", "--http2"):
            self.assertEqual(self.curl(version, "-H", "Host: a b", url), 400)


class SlowClientTests(HardeningTestCase):
    """
    Defect 5: connections that trickle a request head, a TLS handshake or an
    HTTP/2 preface a byte at a time were never closed, since every byte
    reset the idle timer.  With --header-timeout 2 each is closed within
    about 2 s of its first byte, while bytes keep coming and others are
    served.
    """

    def trickle(
        self, sockets: Sequence[socket.socket], data: bytes
    ) -> dict[int, bytes]:
        """
        Send C{data} a byte at a time on every socket, waiting up to
        L{_TRICKLE} seconds between bytes for the server to answer; stop a
        socket at the server's end of connection.  The well-behaved client
        is served between bytes.

        @return: what each socket received, by index, for those the server
            closed; the test fails if any is still open at the deadline.
        """
        received: dict[int, bytes] = {}
        buffers = {i: b"" for i in range(len(sockets))}
        position = 0
        deadline = time.monotonic() + 20
        while len(received) < len(sockets):
            self.assertLess(
                time.monotonic(), deadline, f"open: {len(sockets) - len(received)}"
            )
            for i, sock in enumerate(sockets):
                if i in received or position >= len(data):
                    continue
                with contextlib.suppress(OSError):
                    sock.send(data[position : position + 1])
            position += 1
            readable, _, _ = select.select(
                [s for i, s in enumerate(sockets) if i not in received],
                [],
                [],
                _TRICKLE,
            )
            for sock in readable:
                i = sockets.index(sock)
                try:
                    chunk = sock.recv(65536)
                except (ssl.SSLWantReadError, BlockingIOError):
                    continue
                except OSError:
                    chunk = b""
                if chunk:
                    buffers[i] += chunk
                else:
                    received[i] = buffers[i]
            self.assertServesOthers()
        return received

    def test_headTrickle(self) -> None:
        """
        Ten HTTP/1.1 heads trickled a byte every 0.25 s each get 408 and
        are closed by the header timeout (the server says so for each), not
        at the idle timeout.  That the timeout runs from the first byte
        however the bytes come is tested on a fake clock by
        L{tests.unit.http.test_h1.HeadDeadlineTests}; when the connections
        are closed is measured by C{benchmarks/abuse_bench.py}.
        """
        sockets = []
        for _ in range(10):
            sock = tlsSocket(self.server.port, self.certs.sslContext(["http/1.1"]))
            sock.setblocking(False)
            self.addCleanup(sock.close)
            sockets.append(sock)
        head = b"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: " + b"x" * 100
        answers = self.trickle(sockets, head)
        for answer in answers.values():
            self.assertTrue(
                answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer
            )
        self.assertEqual(len(self.entries('"status":408')), 10)
        self.assertEqual(
            self.server.output().count("request head not complete within 2 s"), 10
        )

    def test_handshakeTrickle(self) -> None:
        """
        A TLS ClientHello trickled a byte at a time is cut off.
        """
        hello = _clientHello(self.server.port)
        sockets = []
        for _ in range(5):
            sock = socket.create_connection(("127.0.0.1", self.server.port), TIMEOUT)
            sock.setblocking(False)
            self.addCleanup(sock.close)
            sockets.append(sock)
        answers = self.trickle(sockets, hello[:-1])
        self.assertEqual(set(answers.values()), {b""})
        self.assertIn("TLS handshake not complete within 2 s", self.server.output())

    def test_prefaceTrickle(self) -> None:
        """
        An HTTP/2 connection preface trickled a byte at a time is cut off.
        """
        sock = tlsSocket(self.server.port, self.certs.sslContext(["h2"]))
        self.assertEqual(sock.selected_alpn_protocol(), "h2")
        sock.setblocking(False)
        self.addCleanup(sock.close)
        self.trickle([sock], b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00" * 100)
        self.assertIn("HTTP/2 connection from", self.server.output())
        self.assertIn("request head not complete within 2 s", self.server.output())


def _clientHello(port: int) -> bytes:
    """
    The first bytes a TLS client sends (its ClientHello), captured from a
    real handshake attempt through a memory BIO.
    """
    context = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with contextlib.suppress(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


class OversizedTests(HardeningTestCase):
    """
    Defect 6: a 64 KiB request line was closed without a response, a
    100 KiB header field got no reply at all.
    """

    def test_http11(self) -> None:
        """
        414 for a 64 KiB request line, 431 for a 100 KiB header field, both
        logged.
        """
        url = self.server.url + "/"
        self.assertEqual(self.curl("--http1.1", url + "a" * 65536), 414)
        self.assertEqual(
            self.curl("--http1.1", "-H", "X-Big: " + "b" * 102400, url), 431
        )
        self.assertEqual(len(self.entries('"status":414')), 1)
        self.assertEqual(len(self.entries('"status":431')), 1)

    def test_http2(self) -> None:
        """
        Over HTTP/2 (curl itself refuses to send a header block over 64 KiB):
        431 for a 40 KB header field, 414 for a 10 KB path.
        """
        url = self.server.url + "/"
        self.assertEqual(self.curl("--http2", "-H", "X-Big: " + "b" * 40000, url), 431)
        self.assertEqual(self.curl("--http2", url + "a" * 10000), 414)
        self.assertServesOthers()


class ClosedStreamFloodTests(HardeningTestCase):
    """
    Defect 4: DATA frames on a closed stream were each answered with a
    RST_STREAM, without end.
    """

    def test_dataFlood(self) -> None:
        """
        100,000 one-byte DATA frames on a finished stream: GOAWAY
        ENHANCE_YOUR_CALM after at most the frame budget (1000, refilled at
        100 a second) and the stream's allowance (8) were answered; others
        are served throughout.
        """
        client = self.connect()
        client.start()
        streamID = client.request("/")
        client.readUntil(
            lambda frames: any(
                isinstance(f, DataFrame) and "END_STREAM" in f.flags for f in frames
            )
        )
        frame = DataFrame(streamID, data=b"x").serialize()
        for _ in range(100):
            client.send(frame * 1000)
            if client.closed:
                break
        goAway = client.goAway(TIMEOUT)
        assert goAway is not None
        self.assertEqual(goAway.error_code, ErrorCodes.ENHANCE_YOUR_CALM)
        resets = [f for f in client.frames if isinstance(f, RstStreamFrame)]
        # The budget also refills (100 frames a second) while the flood runs.
        self.assertLessEqual(len(resets), 1000 + 8 + 100)
        self.assertTrue(client.waitClosed(TIMEOUT))
        self.assertServesOthers()
        self.assertEqual(
            [type(f) for f in client.frames if isinstance(f, GoAwayFrame)],
            [GoAwayFrame],
        )
