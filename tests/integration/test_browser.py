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

A site no one here wrote, Debian's Python documentation served as a plain
site, shows the same from the other side: with the cache on, a page's
stylesheets and scripts arrive through the 103 Early Hints and the page uses
them as they are, not even revalidating them, because h2site names them by
fingerprinted URLs cached as immutable.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from tests.helpers import (
    TIMEOUT,
    Server,
    copyPythonDocs,
    copySite,
    linkValues,
    requirePythonDocs,
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

#: A page of Debian's Python documentation (python3-doc), under the 256 KiB
#: above which h2site keeps a page on disk (it fingerprints those too, into
#: its cache folder, but this one is held in memory).
DOCS_PAGE = "/tutorial/index.html"

#: The stylesheets and scripts that page's C{Link} header preloads, without
#: their queries: the two stylesheets and nine scripts it names, and the
#: three stylesheets only C{pydoctheme.css} imports (C{default.css}, which
#: imports C{classic.css}, which imports C{basic.css}).
DOCS_ASSETS = {
    "/_static/pygments.css",
    "/_static/pydoctheme.css",
    "/_static/default.css",
    "/_static/classic.css",
    "/_static/basic.css",
    "/_static/documentation_options.js",
    "/_static/jquery.js",
    "/_static/underscore.js",
    "/_static/_sphinx_javascript_frameworks_compat.js",
    "/_static/doctools.js",
    "/_static/sphinx_highlight.js",
    "/_static/sidebar.js",
    "/_static/copybutton.js",
    "/_static/menu.js",
}

#: The one asset the page names with a query of its own (Sphinx's version
#: string), which h2site leaves as written: it is announced, but served
#: C{no-cache} like any URL without the file's fingerprint.  Chromium must
#: revalidate what the 103 fetched before using it, so in the same load it
#: shows what the assertions on the fingerprinted ones would see if they
#: were not used as they are.
OWN_QUERY = "/_static/pydoctheme.css?2022.1"

#: What h2site logs once every page of the docs (530) has its hints, about
#: 13 s after it listens here; bounded generously for a loaded CI machine.
#: Until then a page has no C{Link} header and no 103.
DOCS_HINTS_READY = r"h2site preload hints ready for 530 pages"
DOCS_HINTS_TIMEOUT = 300.0

_FINGERPRINT = re.compile(r"[?&]v=[0-9a-f]{16}$")
_IMMUTABLE = "public, max-age=31536000, immutable"

_ENTRIES = """
const nav = performance.getEntriesByType('navigation')[0];
return {
  protocol: nav.nextHopProtocol,
  interim: nav.firstInterimResponseStart || 0,
  resources: performance.getEntriesByType('resource').map((r) => ({
    url: new URL(r.name).pathname,
    target: new URL(r.name).pathname + new URL(r.name).search,
    initiator: r.initiatorType,
    size: r.transferSize,
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
    Loads a site in headless Chromium; no tests of its own.
    """

    server: Server

    def load(
        self,
        *options: str,
        cacheDisabled: bool = True,
        site: Callable[[Path], Path] = copySite,
        path: str = "/",
        ready: tuple[str, float] | None = None,
    ) -> dict[str, Any]:
        """
        Serve a site (by default the demo site) with C{options}, load one
        of its pages in a fresh headless Chromium with emulated latency,
        and return the page's navigation protocol and resource timings.

        @param cacheDisabled: switch the HTTP cache off (DevTools), as a
            benchmark would; with it on, the fresh profile's cache is still
            empty, as on a first visit.  Chromium keeps what a 103 preloads
            in the HTTP cache, so only with it on can Early Hints be used.
        @param site: writes the site's folder at the path it is given.
        @param path: the page to load.
        @param ready: a pattern of the server's output and how long to wait
            for it before loading, for work the server finishes only after
            it listens (a plain site's hints).
        """
        chromium, driver = _browser()
        certs = sharedCertificates()
        tmp = Path(self.mktemp()).absolute()
        tmp.mkdir()
        folder = site(tmp / "site")
        server = startServer(
            self, "--site", str(folder), "--port", certs.endpoint(), *options, cwd=tmp
        )
        self.server = server
        if ready is not None:
            server.waitForOutput(*ready)
        browser = startChromium(
            chromium, driver, tmp / "profile", certs.cert, LATENCY, cacheDisabled
        )
        self.addCleanup(browser.quit)
        # get() returns after the load event, when every entry is complete.
        browser.get(server.url + path)
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


class BrowserPythonDocsTests(_Browser):
    """
    Chromium on a plain site no one here wrote, Debian's Python
    documentation: a page's stylesheets and scripts come from the 103 Early
    Hints, and the page uses them without asking the server again.
    """

    def browserRequests(self, url: str) -> list[int]:
        """
        The statuses of the browser's requests for C{url}, from the
        server's access log (other clients left out).
        """
        line = re.compile(rf'"GET {re.escape(url)} HTTP/2" (\d+) .*HeadlessChrome')
        return [int(m.group(1)) for m in map(line.search, self.server.lines) if m]

    def test_earlyHintsUsedAsIs(self) -> None:
        """
        Over HTTP/2, on a first visit (empty cache), the navigation to a
        page of the docs had an interim response, and every stylesheet and
        script its C{Link} header announces by a fingerprinted URL (cached
        as immutable) was used straight from the Early Hints fetch
        (Chromium's C{initiatorType} C{early-hints}), with no second fetch:
        none in Resource Timing, and the browser asked the server for each
        once.  The one announced by a URL of the page's own, served
        C{no-cache}, was fetched by the 103 too but revalidated before use,
        which is what the others would show were they not reusable as is.
        """
        requirePythonDocs()
        result = self.load(
            cacheDisabled=False,
            site=copyPythonDocs,
            path=DOCS_PAGE,
            ready=(DOCS_HINTS_READY, DOCS_HINTS_TIMEOUT),
        )
        self.assertEqual(result["protocol"], "h2")
        self.assertGreater(result["interim"], 0)
        entries: dict[str, list[dict[str, Any]]] = {}
        for entry in result["resources"]:
            entries.setdefault(entry["target"], []).append(entry)

        with httpx.Client(
            http2=True,
            verify=sharedCertificates().sslContext(),
            base_url=self.server.url,
            timeout=TIMEOUT,
        ) as client:
            links = linkValues(client.get(DOCS_PAGE).headers["link"])
            hinted = [
                url
                for url, parameters in links
                if parameters.get("rel") == "preload"
                and parameters.get("as") in ("style", "script")
            ]
            self.assertEqual({url.partition("?")[0] for url in hinted}, DOCS_ASSETS)
            fingerprinted = [url for url in hinted if _FINGERPRINT.search(url)]
            self.assertEqual(set(hinted) - set(fingerprinted), {OWN_QUERY})
            for url in fingerprinted:
                response = client.get(url)
                self.assertEqual(
                    (response.status_code, response.headers["cache-control"]),
                    (200, _IMMUTABLE),
                    url,
                )
            self.assertEqual(client.get(OWN_QUERY).headers["cache-control"], "no-cache")

        for url in fingerprinted:
            self.assertIn(url, entries, f"{url} was not loaded: {result}")
            first, *others = entries[url]
            self.assertEqual(first["initiator"], "early-hints", (url, entries[url]))
            # A second fetch over the network, even a 304, has a transferSize.
            for other in others:
                self.assertEqual(other["size"], 0, (url, entries[url]))
        # Chromium reports no early-hints entry for what it had to revalidate:
        # only the page's own request, which carried the 304's headers.
        self.assertIn(OWN_QUERY, entries, result)
        for entry in entries[OWN_QUERY]:
            self.assertNotEqual(entry["initiator"], "early-hints", entries[OWN_QUERY])
        self.assertGreater(sum(entry["size"] for entry in entries[OWN_QUERY]), 0)

        # The load event came after every request, but the server's log is
        # read by a thread: wait for the lines before counting them.
        for url in fingerprinted:
            self.server.waitForOutput(rf'"GET {re.escape(url)} HTTP/2" 200')
        self.server.waitForOutput(rf'"GET {re.escape(OWN_QUERY)} HTTP/2" 304')
        for url in fingerprinted:
            self.assertEqual(self.browserRequests(url), [200], url)
        self.assertEqual(self.browserRequests(OWN_QUERY), [200, 304])


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
