"""
Tests for L{h2site.accesslog}.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from h2site.accesslog import formatCombined


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
