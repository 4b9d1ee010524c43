"""
Tests for L{h2site.semantics.mediatypes}.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from h2site.semantics.mediatypes import mediaType


class MediaTypeTests(SynchronousTestCase):
    """
    The type table answers the same on every machine.
    """

    def test_webTypes(self) -> None:
        """
        Modern web formats get their registered types; text has a charset.
        """
        expected = {
            "a.mjs": "text/javascript; charset=utf-8",
            "a.js": "text/javascript; charset=utf-8",
            "a.css": "text/css; charset=utf-8",
            "a.html": "text/html; charset=utf-8",
            "a.txt": "text/plain; charset=utf-8",
            "a.woff2": "font/woff2",
            "a.webp": "image/webp",
            "a.avif": "image/avif",
            "a.wasm": "application/wasm",
            "a.webmanifest": "application/manifest+json",
            "a.svg": "image/svg+xml",
            "A.PNG": "image/png",
            "x.tar.gz": "application/gzip",
        }
        for name, mediaTypeValue in expected.items():
            self.assertEqual(mediaType(name), mediaTypeValue, name)

    def test_unknownIsDownload(self) -> None:
        """
        Unknown or script-like extensions are never HTML or script.
        """
        for name in ["a.rpy", "a.epy", "a.cgi", "a", "a.unknown", ".htaccess"]:
            self.assertEqual(mediaType(name), "application/octet-stream", name)
