"""
The demo site in a real browser: Debian's headless Chromium, driven through
chromedriver, against the real C{twistd -n h2site} process.

What it proves is what preload is for: every asset the browser would
otherwise find one level at a time (the stylesheet's import, font and image;
each module of the import chain) starts loading before the stylesheet and
the entry module that name it have finished loading, so it was announced,
not discovered.  The Performance API (Resource Timing) gives the times.

The assertions compare times only with each other, never with a threshold,
and 100 ms of emulated latency per request makes the order they test
certain rather than likely: a discovered asset cannot start before its
parent's body has arrived, at least 100 ms after the parent started, while
the announced ones all start within the same few milliseconds as the
parent.  Without the latency, on loopback, a parent could finish in less
time than the browser takes to issue the preloads after it.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from tests.helpers import (
    Server,
    copySite,
    requireTool,
    sharedCertificates,
    startChromium,
    startServer,
)

#: Emulated latency (ms) added to each request.
LATENCY = 100

#: The demo home page's assets that only its stylesheet and entry module name.
DEEP = [
    "/static/css/base.css",
    "/static/fonts/h2display.woff2",
    "/static/img/hero.svg",
    "/static/js/lib/timing.mjs",
    "/static/js/lib/ui.mjs",
    "/static/js/lib/format.mjs",
]
STYLESHEET = "/static/css/app.css"
ENTRY_MODULE = "/static/js/main.mjs"

_ENTRIES = """
const nav = performance.getEntriesByType('navigation')[0];
return {
  protocol: nav.nextHopProtocol,
  interim: nav.firstInterimResponseStart || 0,
  resources: performance.getEntriesByType('resource').map((r) => ({
    url: new URL(r.name).pathname,
    initiator: r.initiatorType,
    protocol: r.nextHopProtocol,
    start: r.startTime,
    end: r.responseEnd,
  })),
};
"""


def _browser() -> tuple[str, str]:
    """
    The paths of Chromium and chromedriver (Debian: chromium and
    chromium-driver), skipping the test without them, or failing it under
    CI.
    """
    return requireTool("chromium"), requireTool("chromedriver")


class _Browser(SynchronousTestCase):
    """
    Loads the demo site in headless Chromium; no tests of its own.
    """

    server: Server

    def load(self, *options: str, cacheDisabled: bool = True) -> dict[str, Any]:
        """
        Serve the demo site with C{options}, load its home page in a fresh
        headless Chromium with emulated latency, and return the page's
        navigation protocol and resource timings.

        @param cacheDisabled: switch the HTTP cache off (DevTools), as a
            benchmark would; with it on, the fresh profile's cache is still
            empty, as on a first visit.  Chromium keeps what a 103 preloads
            in the HTTP cache, so only with it on can Early Hints be used.
        """
        chromium, driver = _browser()
        certs = sharedCertificates()
        tmp = Path(self.mktemp()).absolute()
        tmp.mkdir()
        site = copySite(tmp / "site")
        server = startServer(
            self, "--site", str(site), "--port", certs.endpoint(), *options, cwd=tmp
        )
        self.server = server
        browser = startChromium(
            chromium, driver, tmp / "profile", certs.cert, LATENCY, cacheDisabled
        )
        self.addCleanup(browser.quit)
        # get() returns after the load event, when every entry is complete.
        browser.get(server.url + "/")
        result: dict[str, Any] = browser.execute_script(_ENTRIES)
        return result

    def timings(self, result: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """
        The first resource timing entry of each asset URL, checking that
        every expected one is there.
        """
        byURL: dict[str, dict[str, Any]] = {}
        for entry in result["resources"]:
            byURL.setdefault(entry["url"], entry)
        for url in [STYLESHEET, ENTRY_MODULE, *DEEP]:
            self.assertIn(url, byURL, f"{url} was not loaded: {result}")
        return byURL


class BrowserPreloadTests(_Browser):
    """
    Chromium loads the demo site with every deep asset preloaded.
    """

    def test_preloaded(self) -> None:
        """
        Over HTTP/2 with the cache disabled (no 103 then: its preloads would
        go unused), every deep asset starts before the stylesheet and the
        entry module finish loading: the browser learnt of them from the
        page's C{Link} header, not from parsing their parents.
        """
        result = self.load()
        self.assertEqual(result["protocol"], "h2")
        # With the cache disabled Chromium could not use what a 103 preloads,
        # and says so (Cache-Control: no-cache): h2site sends none.
        self.assertEqual(result["interim"], 0)
        byURL = self.timings(result)
        for entry in result["resources"]:
            self.assertEqual(entry["protocol"], "h2", entry)
        parentsDone = min(byURL[STYLESHEET]["end"], byURL[ENTRY_MODULE]["end"])
        for url in DEEP:
            self.assertLess(byURL[url]["start"], parentsDone, (url, byURL))

    def test_discoveredWithoutPreload(self) -> None:
        """
        The comparison above can fail: with C{--no-preload}, each deep asset
        starts only after the file that names it has finished loading.
        """
        result = self.load("--no-preload")
        self.assertEqual(result["protocol"], "h2")
        byURL = self.timings(result)
        # format.mjs is imported by both timing.mjs and ui.mjs: whichever
        # arrives first names it.
        parents = {
            "/static/css/base.css": [STYLESHEET],
            "/static/fonts/h2display.woff2": [STYLESHEET],
            "/static/img/hero.svg": [STYLESHEET],
            "/static/js/lib/timing.mjs": [ENTRY_MODULE],
            "/static/js/lib/ui.mjs": [ENTRY_MODULE],
            "/static/js/lib/format.mjs": [
                "/static/js/lib/timing.mjs",
                "/static/js/lib/ui.mjs",
            ],
        }
        for url, named in parents.items():
            parentDone = min(byURL[parent]["end"] for parent in named)
            self.assertGreaterEqual(byURL[url]["start"], parentDone, (url, byURL))


class BrowserEarlyHintsTests(_Browser):
    """
    Chromium acts on the 103 Early Hints: it fetches every asset from the
    hints, before the page's final response arrives.
    """

    def test_preloaded(self) -> None:
        """
        Over HTTP/2, on a first visit (empty cache), the navigation had an
        interim response; every asset, the page's own and those its
        stylesheet and modules name (all by fingerprinted URLs, cached as
        immutable), was used straight from the Early Hints fetch (Chromium's
        C{initiatorType} C{early-hints}), with no revalidation; and the
        server sent every asset's body once.
        """
        result = self.load(cacheDisabled=False)
        self.assertEqual(result["protocol"], "h2")
        self.assertGreater(result["interim"], 0)
        byURL = self.timings(result)
        for url in [STYLESHEET, ENTRY_MODULE, *DEEP]:
            self.assertEqual(byURL[url]["initiator"], "early-hints", (url, byURL))
        for url in [STYLESHEET, ENTRY_MODULE, *DEEP]:
            self.server.waitForOutput(rf'"GET {re.escape(url)}\?v=\w+ HTTP/2" 200')
        log = self.server.output()
        for url in [STYLESHEET, ENTRY_MODULE, *DEEP]:
            full = re.findall(rf'"GET {re.escape(url)}\?v=\w+ HTTP/2" 200', log)
            self.assertEqual(len(full), 1, url)
            # Not asked for again, not even to revalidate.
            self.assertEqual(log.count(f'"GET {url}'), 1, url)


class AvailabilityTests(SynchronousTestCase):
    """
    Without a browser the test is skipped on a developer's machine but
    fails under CI, where a skip would hide that nothing was tested.
    """

    def setUp(self) -> None:
        self.patch(shutil, "which", lambda name: None)

    def test_skippedLocally(self) -> None:
        """
        With C{CI} unset, a missing browser skips, saying what to install.
        """
        self.patch(os, "environ", {})
        with self.assertRaises(SkipTest) as caught:
            _browser()
        self.assertIn("chromium is not installed", str(caught.exception))

    def test_failsUnderCI(self) -> None:
        """
        With C{CI=true}, a missing browser fails.
        """
        self.patch(os, "environ", {"CI": "true"})
        with self.assertRaises(AssertionError) as caught:
            _browser()
        self.assertIn(".ci/run must install it", str(caught.exception))
