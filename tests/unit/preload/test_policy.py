"""Tests for L{h2site.preload.policy}."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from h2site.preload.graph import PreloadLimits
from h2site.preload.policy import (
    PreloadSettings,
    bypassesCache,
    earlyHintsAllowed,
    isNavigation,
)

# What browsers send when navigating, and for subresources.
CHROME_NAVIGATE = (
    b"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
    b"image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
)
CHROME_IMAGE = b"image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"


class NavigationTests(SynchronousTestCase):
    """
    L{isNavigation} tells a browser navigating from every other request.
    """

    def test_secFetchMode(self) -> None:
        """
        C{Sec-Fetch-Mode: navigate} is a navigation, any other mode is not,
        whatever C{Accept} says.
        """
        self.assertTrue(isNavigation(b"navigate", None))
        self.assertTrue(isNavigation(b" Navigate ", b"*/*"))
        for mode in [b"cors", b"no-cors", b"same-origin", b"websocket", b""]:
            self.assertFalse(isNavigation(mode, CHROME_NAVIGATE), mode)

    def test_acceptWithoutSecFetchMode(self) -> None:
        """
        Without C{Sec-Fetch-Mode}, an C{Accept} naming C{text/html} with a
        non-zero quality is a navigation.
        """
        for accept in [
            CHROME_NAVIGATE,
            b"text/html",
            b"TEXT/HTML ; q=0.5",
            b"application/xml, text/html;level=1",
        ]:
            self.assertTrue(isNavigation(None, accept), accept)
        rejected: list[bytes | None] = [
            None,
            b"",
            b"*/*",
            b"text/*",
            CHROME_IMAGE,
            b"text/css,*/*;q=0.1",
            b"text/html;q=0",
            b"text/html;q=0.000",
            b"text/html;q=nope",
            b"text/htmlx",
            b"application/json",
        ]
        for refused in rejected:
            self.assertFalse(isNavigation(None, refused), refused)


class BypassesCacheTests(SynchronousTestCase):
    """
    L{bypassesCache} recognises loads that will not read the HTTP cache.
    """

    def test_hardReload(self) -> None:
        """
        C{no-cache} or C{no-store} among the directives (a hard reload,
        DevTools' "Disable cache"), or C{Pragma: no-cache} alone, bypass the
        cache.
        """
        for cacheControl, pragma in [
            (b"no-cache", b"no-cache"),
            (b"no-cache", None),
            (b"max-age=0, No-Store", None),
            (b' no-cache="set-cookie"', None),
            (None, b"no-cache"),
        ]:
            self.assertTrue(bypassesCache(cacheControl, pragma), cacheControl)

    def test_ordinaryLoads(self) -> None:
        """
        A first visit, a plain reload (C{max-age=0}) or other directives
        use the cache; C{Cache-Control} overrides C{Pragma}.
        """
        for cacheControl, pragma in [
            (None, None),
            (b"max-age=0", None),
            (b"max-age=0", b"no-cache"),
            (b"no-transform", None),
            (None, b"x-no-cache"),
        ]:
            self.assertFalse(bypassesCache(cacheControl, pragma), cacheControl)


class EarlyHintsAllowedTests(SynchronousTestCase):
    """
    L{earlyHintsAllowed} applies C{--early-hints} to the request's protocol.
    """

    def test_table(self) -> None:
        """
        C{off} never; C{h2} over HTTP/2 and HTTP/3 only; C{all} over
        those and HTTP/1.1; never over HTTP/1.0 or anything else.
        """
        protocols = [b"HTTP/2", b"HTTP/1.1", b"HTTP/1.0", b"HTTP/0.9", b"HTTP/3"]
        expected = {
            "off": [False, False, False, False, False],
            "h2": [True, False, False, False, True],
            "all": [True, True, False, False, True],
        }
        for mode, allowed in expected.items():
            self.assertEqual(
                [earlyHintsAllowed(mode, p) for p in protocols],  # type: ignore[arg-type]
                allowed,
                mode,
            )


class PreloadSettingsTests(SynchronousTestCase):
    """
    L{PreloadSettings} defaults to what h2site does with no option given
    (the options are read in L{h2site.config}, and tested there).
    """

    def test_defaults(self) -> None:
        """
        Preload on, early hints over h2, 32 links, 8 KiB of header, depth 8.
        """
        self.assertEqual(
            PreloadSettings(), PreloadSettings(True, "h2", PreloadLimits(32, 8192, 8))
        )
