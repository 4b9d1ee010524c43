"""
Tests for L{h2site.accesslog}.
"""

from __future__ import annotations

import io

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from h2site.accesslog import AccessLog, formatCombined


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
