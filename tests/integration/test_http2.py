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
import subprocess
from functools import cache
from pathlib import Path

import httpx
from h2.errors import ErrorCodes
from h2.settings import SettingCodes
from hyperframe.frame import (
    DataFrame,
    GoAwayFrame,
    RstStreamFrame,
    WindowUpdateFrame,
)
from twisted.trial.unittest import SynchronousTestCase

from tests.h2client import FLOODS, RawClient, answers, dataBytes
from tests.helpers import (
    TIMEOUT,
    Server,
    bytesRead,
    makeSite,
    readToEnd,
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
        try:
            while raw.recv(65536):
                pass
        except ConnectionResetError:
            pass
        except TimeoutError:
            self.fail(f"the server kept TCP open for {TIMEOUT:g} s")
        self.assertServesOthers()


class FlowControlTests(ServerTestCase):
    """
    A client that withholds WINDOW_UPDATE, or never reads at all, costs the
    server neither CPU nor unbounded memory.
    """

    def test_stallSendsNothing(self) -> None:
        """
        With the window used up, the server sends nothing at all until a
        WINDOW_UPDATE arrives (stock Twisted spun at 100% of a core), serves
        others meanwhile, and then sends exactly what the window allows.
        That the stalled stream also schedules nothing and resumes no
        producer is counted in memory by
        L{tests.unit.http.h2.test_connection.FlowControlTests}; the CPU a
        stall costs is measured by C{benchmarks/stall_bench.py}.
        """
        client = self.connect()
        client.start()
        streamID = client.request("/static/big.bin")
        client.readUntil(lambda frames: dataBytes(frames, streamID) >= 65535, TIMEOUT)
        self.assertEqual(dataBytes(client.frames, streamID), 65535)
        # Whatever was already on its way has arrived once the server is
        # idle; from then on, nothing more may come.
        waitIdle(self.pid)
        client.tls.settimeout(0.1)
        client.receive()
        received = len(client.frames)
        self.assertServesOthers()
        client.tls.settimeout(2.0)
        client.receive()
        self.assertFalse(client.closed)
        self.assertEqual(client.frames[received:], [])
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
        file and reads nothing makes the server read only what the socket
        buffers and its own bounded buffers hold, not the 1000 MiB asked
        for (stock Twisted read and held it all, growing by hundreds of
        MiB); others are served meanwhile.  What it then holds in memory
        is measured by C{benchmarks/stall_bench.py}.
        """
        self.assertServesOthers()
        waitIdle(self.pid)
        before = bytesRead(self.pid)
        client = self.connect()
        client.start({SettingCodes.INITIAL_WINDOW_SIZE: _MAX_WINDOW})
        client.sendFrames([WindowUpdateFrame(0, window_increment=_MAX_WINDOW - 65535)])
        client.send(
            b"".join(
                client.headersFrame(2 * i + 1, "/static/big.bin") for i in range(100)
            )
        )
        waitIdle(self.pid)
        read = bytesRead(self.pid) - before
        self.assertLess(read, 48 * 1024 * 1024)
        self.assertServesOthers()


class AbuseTests(ServerTestCase):
    """
    Floods of frames that do no useful work each end with GOAWAY
    ENHANCE_YOUR_CALM and a closed connection, cut short by the frame
    budget, while a well-behaved client is served before, during and after.
    What each flood costs in CPU is measured by
    C{benchmarks/abuse_bench.py}; here the server's answers are counted.
    """

    def test_floods(self) -> None:
        """
        PING, SETTINGS, PRIORITY, empty DATA, tiny WINDOW_UPDATE, unknown
        frames, rapid reset, oversized CONTINUATION and one-byte windows:
        the server stops long before it has answered half the frames of the
        flood (PING and SETTINGS are answered only until the budget is
        spent), so what a flood costs is bounded by the budget, not by the
        flood.
        """
        self.assertServesOthers()
        for name, attack in FLOODS:
            client = self.connect()
            client.start()
            sent = attack(client)
            self.assertGoAwayThenClosed(client, ErrorCodes.ENHANCE_YOUR_CALM, name)
            self.assertLess(answers(client.frames), sent // 2, name)
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
        self.assertEqual(readToEnd(idle), b"")
        idle.close()
        received.append(readToEnd(busy))
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
        expires (the server says so), and the server exits.  How long after
        SIGTERM is measured by C{benchmarks/stall_bench.py}.
        """
        client = self.connect()
        client.start()
        streamID = client.request("/static/big.bin")
        client.readUntil(lambda frames: dataBytes(frames, streamID) >= 65535)
        self.server.signal(signal.SIGTERM)
        assert self.server.process is not None
        self.assertExitedCleanly()
        self.assertIn(
            "shutdown timeout: aborting 1 connection(s)", self.server.output()
        )
        self.assertTrue(client.waitClosed(TIMEOUT))
