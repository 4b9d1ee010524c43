"""
End-to-end tests of responses cut short: a static file that shrinks or is
overwritten while it streams, and clients that leave mid-download.  The real
C{twistd h2site} over real TLS, with httpx over HTTP/2, a raw HTTP/2 client
(L{tests.h2client}) and a raw TLS socket for HTTP/1.1.

To change a file mid-stream deterministically the client reads the start of
a file far larger than anything that can be in flight, then stops reading
(the server pauses once the windows and socket buffers are full), changes
the file, and reads the rest.
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path

import httpx
from h2.errors import ErrorCodes
from twisted.trial.unittest import SynchronousTestCase

from tests.h2client import RawClient, dataBytes
from tests.helpers import Server, makeSite, sharedCertificates, startServer

#: httpx (httpcore) opens each HTTP/2 stream's window to 16 MiB, so that
#: much may leave after a client stopped reading.
_HTTPX_WINDOW = 2**24

#: The HTTP/2 stream window of the raw client (the protocol's default).
_DEFAULT_WINDOW = 65535

#: Every wait on the server has this deadline.
TIMEOUT = 30.0


@cache
def _bigFile() -> bytes:
    """
    A file larger than all that can be in flight when a client stops
    reading: httpx's stream window over HTTP/2; over HTTP/1.1 (whose client
    keeps a small receive buffer), the kernel's largest send buffer; plus
    h2site's own buffers and room to spare.
    """
    try:
        sendBuffer = int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    except (OSError, ValueError, IndexError):
        sendBuffer = 4 * 1024 * 1024
    return os.urandom(max(_HTTPX_WINDOW, 2 * sendBuffer) + 8 * 1024 * 1024)


def _overwrite(path: Path, offset: int, data: bytes) -> None:
    """
    Write C{data} into C{path} at C{offset}, in place: same inode, same
    size, only the time changes (and even that is made sure of, in case the
    file system's clock is coarse).
    """
    before = path.stat().st_mtime_ns
    with path.open("r+b") as f:
        f.seek(offset)
        f.write(data)
    if path.stat().st_mtime_ns == before:
        os.utime(path, ns=(before + 1, before + 1))


def _truncate(path: Path) -> None:
    os.truncate(path, len(_bigFile()) // 2)


def _overwriteEnd(path: Path) -> None:
    """
    Overwrite the last MiB, which no client can have been sent before it
    stopped reading.
    """
    size = len(_bigFile())
    _overwrite(path, size - 2**20, bytes(b ^ 0xFF for b in _bigFile()[-(2**20) :]))


class _HTTP11:
    """
    One HTTP/1.1 request over TLS from a raw socket, whose receive buffer is
    kept small so the server pauses soon after the client stops reading.
    """

    def __init__(self, port: int) -> None:
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Before connecting, so the window it advertises stays small.
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        raw.settimeout(TIMEOUT)
        raw.connect(("127.0.0.1", port))
        context = sharedCertificates().sslContext(("http/1.1",))
        # An EOF without close_notify raises, so an abort shows as one.
        self.tls = context.wrap_socket(
            raw, server_hostname="localhost", suppress_ragged_eofs=False
        )
        self.head = b""
        self.body = bytearray()
        self.ending: str | None = None

    def close(self) -> None:
        self.tls.close()

    def get(self, path: str, atLeast: int = 1) -> None:
        """
        Send a GET and read its head and at least C{atLeast} body bytes.
        """
        self.tls.sendall(
            f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode("ascii")
        )
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < atLeast:
            chunk = self.tls.recv(65536)
            if not chunk:
                raise AssertionError(f"connection closed after {data[:200]!r}")
            data += chunk
        self.head, rest = data.split(b"\r\n\r\n", 1)
        self.body += rest

    def readRest(self) -> None:
        """
        Read until the server ends the connection; C{ending} says how: with
        TLS close_notify (C{"closed"}) or abruptly (the exception's name).
        """
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                chunk = self.tls.recv(1 << 20)
            except OSError as e:
                self.ending = type(e).__name__
                return
            if not chunk:
                self.ending = "closed"
                return
            self.body += chunk
        raise AssertionError("the server never ended the response")


class CutShortTests(SynchronousTestCase):
    """
    A real server with a large file on disk and an access log file.
    """

    def setUp(self) -> None:
        self.tmp = Path(self.mktemp()).absolute()
        self.tmp.mkdir()
        site = makeSite(
            self.tmp / "site",
            {"index.html": "<!doctype html><title>home</title>\n"},
            {"big.bin": _bigFile()},
        )
        self.file = site / "static" / "big.bin"
        self.accessLog = self.tmp / "access.log"
        self.server: Server = startServer(
            self,
            "--site",
            str(site),
            "--port",
            sharedCertificates().endpoint(),
            "--access-log",
            str(self.accessLog),
            cwd=self.tmp,
        )

    def accessLines(self, protocol: str) -> list[tuple[int, int]]:
        """
        The status and size of each access line for the large file.
        """
        request = f"GET /static/big.bin {protocol}"
        pattern = re.compile(rf'"{re.escape(request)}" (\d+) (\d+) ')
        text = self.accessLog.read_text() if self.accessLog.exists() else ""
        return [(int(s), int(n)) for s, n in pattern.findall(text)]

    def waitForAccessLine(self, protocol: str) -> tuple[int, int]:
        """
        Wait (while the server runs and the client's connection may still
        be open) for the access line of the large file; then stop the server
        and check that it was the only one.
        """
        deadline = time.monotonic() + TIMEOUT
        while not self.accessLines(protocol):
            if time.monotonic() > deadline:
                raise AssertionError(
                    "no access line for the large file:\n" + self.server.output()
                )
            # Polling a file: the server flushes it within a reactor turn.
            time.sleep(0.02)
        self.server.stop()
        lines = self.accessLines(protocol)
        self.assertEqual(len(lines), 1, lines)
        return lines[0]

    def assertWarned(self, fault: str) -> int:
        """
        The server log has one warning naming the file, what happened to
        it, and the full length.

        @return: how many bytes the warning says were sent.
        """
        path = re.escape(repr(os.path.realpath(self.file)))
        match = self.server.waitForOutput(
            rf"static file {path} {fault} while being sent to 127\.0\.0\.1; "
            rf"response cut short after (\d+) of {len(_bigFile())} bytes",
            timeout=TIMEOUT,
        )
        self.assertEqual(self.server.output().count("response cut short"), 1)
        return int(match.group(1))

    def assertPrefix(self, got: bytes | bytearray) -> None:
        """
        What the client got is a true beginning of the file as it was: short,
        and without one byte of the new content.
        """
        self.assertLess(len(got), len(_bigFile()))
        self.assertTrue(got == _bigFile()[: len(got)], "new bytes were sent")

    def changeDuringH2(self, change: Callable[[Path], None], fault: str) -> None:
        """
        Over HTTP/2, the stream is reset after the change: httpx raises
        rather than return a body, the access line has the bytes that left,
        and a warning names the file.
        """
        got = bytearray()
        client = httpx.Client(
            http2=True, verify=sharedCertificates().sslContext(), timeout=TIMEOUT
        )
        self.addCleanup(client.close)
        with client.stream("GET", self.server.url + "/static/big.bin") as r:
            self.assertEqual((r.http_version, r.status_code), ("HTTP/2", 200))
            self.assertEqual(r.headers["content-length"], str(len(_bigFile())))
            chunks = r.iter_raw()
            got += next(chunks)
            change(self.file)
            with self.assertRaises(httpx.RemoteProtocolError) as raised:
                for chunk in chunks:
                    got += chunk
        self.assertIn("StreamReset", str(raised.exception))
        self.assertPrefix(got)
        sent = self.assertWarned(fault)
        status, size = self.waitForAccessLine("HTTP/2")
        self.assertEqual(status, 200)
        self.assertEqual(size, len(got))
        self.assertLessEqual(size, sent)

    def changeDuringHTTP11(self, change: Callable[[Path], None], fault: str) -> None:
        """
        Over HTTP/1.1, the connection is aborted (no TLS close_notify) after
        the change; the access line has the bytes sent, and a warning names
        the file.
        """
        client = _HTTP11(self.server.port)
        self.addCleanup(client.close)
        client.get("/static/big.bin", atLeast=65536)
        self.assertTrue(client.head.startswith(b"HTTP/1.1 200 "), client.head)
        change(self.file)
        client.readRest()
        self.assertNotEqual(client.ending, "closed")
        self.assertPrefix(client.body)
        self.assertWarned(fault)
        status, size = self.waitForAccessLine("HTTP/1.1")
        self.assertEqual(status, 200)
        self.assertLess(size, len(_bigFile()))
        self.assertGreaterEqual(size, len(client.body))

    def test_h2Truncated(self) -> None:
        """
        A file truncated while it streams over HTTP/2 resets the stream, is
        logged with the bytes sent, and is named in a warning.
        """
        self.changeDuringH2(_truncate, "shrank")

    def test_h2OverwrittenInPlace(self) -> None:
        """
        A file overwritten in place (same size) while it streams over HTTP/2
        is never completed with a mix of old and new bytes under the old
        ETag: the stream is reset, logged and warned about.
        """
        self.changeDuringH2(_overwriteEnd, "changed")

    def test_http11Truncated(self) -> None:
        """
        A file truncated while it streams over HTTP/1.1 aborts the
        connection, is logged with the bytes sent, and is named in a
        warning.
        """
        self.changeDuringHTTP11(_truncate, "shrank")

    def test_http11OverwrittenInPlace(self) -> None:
        """
        A file overwritten in place while it streams over HTTP/1.1 aborts the
        connection before any new byte is sent.
        """
        self.changeDuringHTTP11(_overwriteEnd, "changed")

    def test_h2ClientResets(self) -> None:
        """
        A client that resets its HTTP/2 stream mid-download is logged, once,
        with exactly the bytes it was sent; nothing is wrong with the file,
        so there is no warning.
        """
        client = RawClient(self.server.port, sharedCertificates().sslContext())
        self.addCleanup(client.close)
        client.start()
        streamID = client.request("/static/big.bin")
        # The server sends no more than the stream's window, then waits.
        client.readUntil(lambda f: dataBytes(f, streamID) >= _DEFAULT_WINDOW)
        client.h2.reset_stream(streamID, ErrorCodes.CANCEL)
        client.flush()
        status, size = self.waitForAccessLine("HTTP/2")
        self.assertEqual((status, size), (200, dataBytes(client.frames, streamID)))
        self.assertNotIn("response cut short", self.server.output())

    def test_http11ClientCloses(self) -> None:
        """
        A client that closes its HTTP/1.1 connection mid-download is logged,
        once, with the bytes sent.
        """
        client = _HTTP11(self.server.port)
        client.get("/static/big.bin", atLeast=65536)
        received = len(client.body)
        client.close()
        status, size = self.waitForAccessLine("HTTP/1.1")
        self.assertEqual(status, 200)
        self.assertGreaterEqual(size, received)
        self.assertLess(size, len(_bigFile()))
        self.assertNotIn("response cut short", self.server.output())
