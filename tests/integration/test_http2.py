"""
End-to-end tests of h2site's HTTP/2 connection: the real C{twistd h2site}
process over real TLS on loopback, against hostile clients (frames built with
C{h2} and C{hyperframe}, see L{tests.h2client}) and through graceful
shutdown.  Every hostile connection must end with GOAWAY and a closed
connection, at a bounded cost, while a well-behaved client keeps being
served.
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path

import httpx
from h2.errors import ErrorCodes
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
from twisted.trial.unittest import SynchronousTestCase

from tests.h2client import RawClient, dataBytes, requestHeaders
from tests.helpers import (
    TIMEOUT,
    Server,
    cpuSeconds,
    makeSite,
    rssBytes,
    sharedCertificates,
    startServer,
    waitIdle,
)

#: The large file: 10 MiB that nothing can compress.
BIG = 10 * 1024 * 1024


_MAX_WINDOW = 2**31 - 1


@cache
def _bigFile() -> bytes:
    return os.urandom(BIG)


class ServerTestCase(SynchronousTestCase):
    """
    A real server with a small page and a 10 MiB file, and a well-behaved
    HTTP/2 client of it.
    """

    serverArgs: tuple[str, ...] = ()

    def setUp(self) -> None:
        self.certs = sharedCertificates()
        self.tmp = Path(self.mktemp()).absolute()
        self.tmp.mkdir()
        site = makeSite(
            self.tmp / "site",
            {"index.html": "<!doctype html><title>home</title><p>Hello</p>\n"},
            {"big.bin": _bigFile(), "small.txt": b"small\n"},
        )
        self.server: Server = startServer(
            self,
            "--site",
            str(site),
            "--port",
            self.certs.endpoint(),
            "--access-log",
            str(self.tmp / "access.log"),
            *self.serverArgs,
            cwd=self.tmp,
        )
        self.pid = self.server.process.pid  # type: ignore[union-attr]
        self.good = httpx.Client(
            http2=True, verify=self.certs.sslContext(), base_url=self.server.url
        )
        self.addCleanup(self.good.close)

    def connect(self) -> RawClient:
        client = RawClient(self.server.port, self.certs.sslContext())
        self.addCleanup(client.close)
        return client

    def assertServesOthers(self) -> None:
        """
        The well-behaved client still gets 200s over HTTP/2.
        """
        for path, body in [("/", b"Hello"), ("/static/small.txt", b"small\n")]:
            response = self.good.get(path)
            self.assertEqual(response.http_version, "HTTP/2")
            self.assertEqual(response.status_code, 200, path)
            self.assertIn(body, response.content)

    def assertExitedCleanly(self) -> None:
        """
        The server exits by itself, as twistd does once stopped by SIGTERM
        (it re-raises the signal once its shutdown is complete).
        """
        assert self.server.process is not None
        try:
            code = self.server.process.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.fail("the server did not exit")
        self.assertIn(code, (0, -signal.SIGTERM), self.server.output())
        self.assertNotIn("Traceback", self.server.output())

    def assertGoAwayThenClosed(self, client: RawClient, code: int, what: str) -> None:
        goAway = client.goAway(TIMEOUT)
        self.assertIsNotNone(goAway, f"{what}: no GOAWAY")
        assert goAway is not None
        self.assertEqual(goAway.error_code, code, what)
        self.assertTrue(client.waitClosed(TIMEOUT), f"{what}: still open")


class ConnectionErrorTests(ServerTestCase):
    """
    A connection error ends with one GOAWAY and a closed TCP connection.
    """

    def test_goAwayThenTCPClose(self) -> None:
        """
        DATA on stream 0 gets GOAWAY PROTOCOL_ERROR and TLS close_notify;
        even a client that never answers the close_notify has its TCP
        connection closed by the server within seconds (stock Twisted kept
        it open, answering every further byte with another GOAWAY).
        """
        client = self.connect()
        client.start()
        client.send(b"\x00\x00\x00\x00\x00\x00\x00\x00\x00")
        self.assertGoAwayThenClosed(client, ErrorCodes.PROTOCOL_ERROR, "DATA on 0")
        goAways = [f for f in client.frames if isinstance(f, GoAwayFrame)]
        self.assertEqual(len(goAways), 1)
        # Below TLS, on a copy of the descriptor: the server must close TCP.
        raw = socket.socket(fileno=os.dup(client.tls.fileno()))
        self.addCleanup(raw.close)
        raw.settimeout(TIMEOUT)
        started = time.monotonic()
        try:
            while raw.recv(65536):
                pass
        except ConnectionResetError:
            pass
        self.assertLess(time.monotonic() - started, 15)
        self.assertServesOthers()


class FlowControlTests(ServerTestCase):
    """
    A client that withholds WINDOW_UPDATE, or never reads at all, costs the
    server neither CPU nor unbounded memory.
    """

    def test_stallCostsNoCPU(self) -> None:
        """
        With the window used up, the server spends (next to) no CPU until a
        WINDOW_UPDATE arrives (stock Twisted spun at 100% of a core), and
        serves others meanwhile.
        """
        client = self.connect()
        client.start()
        streamID = client.request("/static/big.bin")
        client.readUntil(lambda frames: dataBytes(frames, streamID) >= 65535, TIMEOUT)
        self.assertEqual(dataBytes(client.frames, streamID), 65535)
        before = cpuSeconds(self.pid)
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            client.tls.settimeout(max(0.01, deadline - time.monotonic()))
            client.receive()
        spent = cpuSeconds(self.pid) - before
        self.assertLess(spent, 0.2)
        self.assertEqual(dataBytes(client.frames, streamID), 65535)
        self.assertServesOthers()
        client.sendFrames(
            [
                WindowUpdateFrame(0, window_increment=100000),
                WindowUpdateFrame(streamID, window_increment=100000),
            ]
        )
        client.readUntil(lambda frames: dataBytes(frames, streamID) >= 165535)
        self.assertEqual(dataBytes(client.frames, streamID), 165535)

    def test_neverReadingBoundsMemory(self) -> None:
        """
        A client that opens every window, asks for 100 copies of a 10 MiB
        file and reads nothing makes the server hold a bounded amount of
        memory (stock Twisted grew by hundreds of MiB), and others are
        served meanwhile.
        """
        self.assertServesOthers()
        waitIdle(self.pid)
        before = rssBytes(self.pid)
        client = self.connect()
        client.start({SettingCodes.INITIAL_WINDOW_SIZE: _MAX_WINDOW})
        client.sendFrames([WindowUpdateFrame(0, window_increment=_MAX_WINDOW - 65535)])
        client.send(
            b"".join(
                client.headersFrame(2 * i + 1, "/static/big.bin") for i in range(100)
            )
        )
        waitIdle(self.pid)
        grown = rssBytes(self.pid) - before
        self.assertLess(grown, 48 * 1024 * 1024)
        self.assertServesOthers()


_FLOODS: list[tuple[str, Callable[[RawClient], None]]] = []


def flood(
    name: str,
) -> Callable[[Callable[[RawClient], None]], Callable[[RawClient], None]]:
    def register(f: Callable[[RawClient], None]) -> Callable[[RawClient], None]:
        _FLOODS.append((name, f))
        return f

    return register


def _frames(client: RawClient, frames: list[Frame]) -> None:
    client.sendFrames(frames)


@flood("PING")
def _ping(client: RawClient) -> None:
    _frames(client, [PingFrame(0, opaque_data=b"12345678")] * 2000)


@flood("SETTINGS")
def _settings(client: RawClient) -> None:
    _frames(client, [SettingsFrame(0)] * 2000)


@flood("PRIORITY for idle streams")
def _priority(client: RawClient) -> None:
    _frames(client, [PriorityFrame(2 * i + 1, depends_on=0) for i in range(2000)])


@flood("empty DATA")
def _emptyData(client: RawClient) -> None:
    streamID = client.request("/", method="POST", endStream=False)
    _frames(client, [DataFrame(streamID)] * 2000)


@flood("tiny WINDOW_UPDATE")
def _tinyWindowUpdates(client: RawClient) -> None:
    _frames(client, [WindowUpdateFrame(0, window_increment=1)] * 2000)


@flood("unknown frame types")
def _unknown(client: RawClient) -> None:
    client.send(b"\x00\x00\x01\xee\x00\x00\x00\x00\x00x" * 2000)


@flood("rapid reset")
def _rapidReset(client: RawClient) -> None:
    data = []
    for i in range(400):
        streamID = 2 * i + 1
        data.append(client.headersFrame(streamID, "/"))
        data.append(RstStreamFrame(streamID, error_code=ErrorCodes.CANCEL).serialize())
    client.send(b"".join(data))


@flood("CONTINUATION past the header size limit")
def _continuation(client: RawClient) -> None:
    headers = HeadersFrame(1)
    headers.data = client.h2.encoder.encode(requestHeaders("/"))
    more = [ContinuationFrame(1, data=b"\x40\x01a\x01b" * 3000) for _ in range(4)]
    _frames(client, [headers, *more])


@flood("one-byte window dribble")
def _dribble(client: RawClient) -> None:
    client.h2.update_settings({SettingCodes.INITIAL_WINDOW_SIZE: 1})
    client.flush()
    streamID = client.request("/static/big.bin")
    _frames(client, [WindowUpdateFrame(streamID, window_increment=1)] * 1500)


class AbuseTests(ServerTestCase):
    """
    Floods of frames that do no useful work each end with GOAWAY
    ENHANCE_YOUR_CALM and a closed connection, after little CPU, while a
    well-behaved client is served before, during and after.
    """

    def test_floods(self) -> None:
        """
        PING, SETTINGS, PRIORITY, empty DATA, tiny WINDOW_UPDATE, unknown
        frames, rapid reset, oversized CONTINUATION and one-byte windows.
        """
        self.assertServesOthers()
        for name, attack in _FLOODS:
            client = self.connect()
            client.start()
            before = cpuSeconds(self.pid)
            attack(client)
            self.assertGoAwayThenClosed(client, ErrorCodes.ENHANCE_YOUR_CALM, name)
            self.assertLess(cpuSeconds(self.pid) - before, 1.0, name)
            self.assertServesOthers()


class GracefulShutdownTests(ServerTestCase):
    """
    SIGTERM: GOAWAY, in-flight responses finish, then the process exits.
    """

    def test_http2DownloadCompletes(self) -> None:
        """
        A 10 MiB HTTP/2 download in flight when SIGTERM arrives completes:
        the client gets GOAWAY (NO_ERROR, naming its stream), a new stream is
        refused, the whole file arrives, then the connection closes and the
        server exits cleanly.
        """
        client = self.connect()
        window = 1024 * 1024
        client.start({SettingCodes.INITIAL_WINDOW_SIZE: window})
        client.sendFrames([WindowUpdateFrame(0, window_increment=_MAX_WINDOW - 65535)])
        streamID = client.request("/static/big.bin")
        client.readUntil(lambda frames: dataBytes(frames, streamID) >= window)
        self.server.signal(signal.SIGTERM)
        goAway = client.goAway()
        assert goAway is not None
        self.assertEqual(
            (goAway.error_code, goAway.last_stream_id), (ErrorCodes.NO_ERROR, streamID)
        )
        late = streamID + 2
        client.send(client.headersFrame(late, "/"))
        client.readUntil(
            lambda frames: any(isinstance(f, RstStreamFrame) for f in frames)
        )
        resets = [f for f in client.frames if isinstance(f, RstStreamFrame)]
        self.assertEqual(
            [(f.stream_id, f.error_code) for f in resets],
            [(late, ErrorCodes.REFUSED_STREAM)],
        )
        client.sendFrames([WindowUpdateFrame(streamID, window_increment=BIG)])
        self.assertTrue(client.waitClosed(TIMEOUT, answer=True))
        self.assertEqual(dataBytes(client.frames, streamID), BIG)
        last = [f for f in client.frames if isinstance(f, DataFrame)][-1]
        self.assertIn("END_STREAM", last.flags)
        self.assertExitedCleanly()

    def test_http11(self) -> None:
        """
        An idle HTTP/1.1 keep-alive connection is closed at once; one with a
        download in flight gets the whole download, then is closed.
        """
        context = self.certs.sslContext(["http/1.1"])
        idle = context.wrap_socket(
            socket.create_connection(("127.0.0.1", self.server.port)),
            server_hostname="localhost",
        )
        self.addCleanup(idle.close)
        idle.settimeout(TIMEOUT)
        idle.sendall(b"GET /static/small.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
        first = b""
        for _ in range(100):
            first += idle.recv(65536)
            if first.endswith(b"small\n"):
                break
        self.assertTrue(first.endswith(b"small\n"), first)
        busy = context.wrap_socket(
            socket.create_connection(("127.0.0.1", self.server.port)),
            server_hostname="localhost",
        )
        self.addCleanup(busy.close)
        busy.settimeout(TIMEOUT)
        busy.sendall(b"GET /static/big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
        received = [busy.recv(65536)]
        self.server.signal(signal.SIGTERM)
        self.assertEqual(_readToEnd(idle), b"")
        idle.close()
        received.append(_readToEnd(busy))
        busy.close()
        response = b"".join(received)
        head, _, body = response.partition(b"\r\n\r\n")
        self.assertIn(b"HTTP/1.1 200 OK", head)
        self.assertEqual(body, _bigFile())
        self.assertExitedCleanly()


class ShutdownTimeoutTests(ServerTestCase):
    """
    C{--shutdown-timeout} bounds how long a stalled client delays exit.
    """

    serverArgs = ("--shutdown-timeout", "1")

    def test_stalledClientCut(self) -> None:
        """
        A client that stops reading mid-download is cut once the timeout
        expires, and the server exits.
        """
        client = self.connect()
        client.start()
        streamID = client.request("/static/big.bin")
        client.readUntil(lambda frames: dataBytes(frames, streamID) >= 65535)
        started = time.monotonic()
        self.server.signal(signal.SIGTERM)
        assert self.server.process is not None
        self.assertExitedCleanly()
        self.assertLess(time.monotonic() - started, 10)
        self.assertTrue(client.waitClosed(TIMEOUT))


def _readToEnd(tls: ssl.SSLSocket) -> bytes:
    chunks = []
    while True:
        try:
            chunk = tls.recv(1 << 20)
        except (ssl.SSLError, ConnectionResetError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)
