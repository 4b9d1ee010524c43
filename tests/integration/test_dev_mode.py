"""
C{twistd -n h2site --dev}, the real process, on a copy of the demo site:
a saved template, stylesheet or module shows in the next request (new
content; new fingerprints in the page and its C{Link} header) over the same
HTTP/2 connection; an open event stream is told to reload; a broken
template is an error page until it is fixed; open streams do not hold up
shutdown; and without C{--dev} none of it exists.

Each edit must show within L{DEADLINE} (5 s, for a loaded CI machine);
what the issue asks, 300 ms, is measured by C{benchmarks/dev_bench.py}
(median and worst over many saves), not asserted here.
"""

from __future__ import annotations

import queue
import re
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from hyperframe.frame import DataFrame, Frame
from twisted.trial.unittest import SynchronousTestCase

from tests.devsite import (
    DEADLINE,
    MODULE,
    PAGE_URL_OF,
    STYLESHEET,
    appendTo,
    editTemplate,
    fetch,
    newFingerprint,
    newHeading,
    waitUntil,
)
from tests.h2client import RawClient
from tests.helpers import (
    Server,
    copySite,
    makeSite,
    runTwistd,
    sharedCertificates,
    startServer,
)

#: What the dev server logs once it watches the folder: edits made before
#: it would not be seen.
WATCHING = r"h2site --dev: watching "

#: The line logged for each change served.
SERVED = r"changed; served in (\d+\.\d+) s"

_BUILD = re.compile(r'<script src="/\.h2site/live\.js" data-build="([^"]+)">')


def buildOf(body: str) -> str:
    """
    The build a page says it comes from (the token of its script tag).
    """
    match = _BUILD.search(body)
    assert match is not None, "the page has no live-reload script"
    return match.group(1)


class DevModeTestCase(SynchronousTestCase):
    """
    Starts C{twistd h2site --dev} on a copy of the demo site, with an
    HTTP/2 client.
    """

    site: Path
    server: Server
    client: httpx.Client

    def startDev(self, *args: str, dev: bool = True, site: Path | None = None) -> None:
        certs = sharedCertificates()
        tmp = Path(self.mktemp()).absolute()
        tmp.mkdir()
        self.site = site if site is not None else copySite(tmp / "site")
        options = ["--dev"] if dev else []
        self.server = startServer(
            self,
            "--site",
            str(self.site),
            "--port",
            certs.endpoint(),
            *options,
            *args,
            cwd=tmp,
        )
        if dev:
            self.server.waitForOutput(WATCHING)
        self.client = httpx.Client(http2=True, verify=certs.sslContext(), timeout=30)
        self.addCleanup(self.client.close)

    @property
    def home(self) -> str:
        return self.server.url + "/"


class EditTests(DevModeTestCase):
    """
    Saved edits show in the next request.
    """

    def test_editsOverOneConnection(self) -> None:
        """
        A template edit shows its new text; a stylesheet edit gives the page
        the stylesheet's new fingerprint, in its HTML and its C{Link}
        header, and that URL serves the new bytes as immutable; a module
        edit deep in the import chain gives the entry module a new
        fingerprint the same way.  All over one HTTP/2 connection, kept
        open throughout; and each change is one line of the log.
        """
        self.startDev()
        first = self.client.get(self.home)
        self.assertEqual(first.http_version, "HTTP/2")
        connection = first.extensions["network_stream"]
        streams = [first.extensions["stream_id"]]
        latencies = {}

        began = editTemplate(self.site, "Edited over HTTP/2")
        latencies["template"], page = waitUntil(
            self.client,
            self.home,
            newHeading("Edited over HTTP/2"),
            since=began,
        )
        for name, marker in [(STYLESHEET, "/* dev edit */"), (MODULE, "// dev edit")]:
            path = PAGE_URL_OF[name]
            old = page.fingerprint(path)
            began = appendTo(self.site, name, f"\n{marker}\n")
            latencies[name], page = waitUntil(
                self.client, self.home, newFingerprint(path, old), since=began
            )
            new = page.fingerprint(path)
            self.assertEqual(page.linkFingerprint(path), new)
            self.assertIn(f"{path}?v={new}", page.body)
        asset = self.client.get(
            f"{self.server.url}{PAGE_URL_OF[STYLESHEET]}"
            f"?v={page.fingerprint(PAGE_URL_OF[STYLESHEET])}"
        )
        self.assertIn("/* dev edit */", asset.text)
        self.assertIn("immutable", asset.headers["cache-control"])
        last = self.client.get(self.home)
        self.assertIs(last.extensions["network_stream"], connection)
        streams.append(last.extensions["stream_id"])
        self.assertGreater(streams[1], streams[0])
        for what, seconds in latencies.items():
            self.assertLess(seconds, DEADLINE, what)
        self.server.waitForOutput(SERVED, count=3)
        served = [line for line in self.server.lines if re.search(SERVED, line)]
        self.assertEqual(len(served), 3, served)
        self.assertIn("templates/index.html changed", served[0])
        self.assertIn(f"{STYLESHEET} changed", served[1])
        self.assertIn(f"{MODULE} changed", served[2])

    def test_plainSite(self) -> None:
        """
        A plain site's pages carry the script, and a stylesheet edit gives
        them its new fingerprint in the HTML and the C{Link} header at
        once (pages are fingerprinted in the rebuild, not after it).
        """
        tmp = Path(self.mktemp()).absolute()
        site = tmp / "plain"
        (site / "css").mkdir(parents=True)
        (site / "index.html").write_text(
            "<!doctype html><link rel=stylesheet href=css/site.css><p>plain</p>"
        )
        (site / "css" / "site.css").write_text("p { color: red }")
        self.startDev(site=site)
        page = fetch(self.client, self.home)
        self.assertEqual(page.status, 200)
        buildOf(page.body)
        old = page.fingerprint("css/site.css")
        self.assertIsNotNone(old)
        began = appendTo(site, "css/site.css", "\np { color: blue }\n")

        def shows(p: Any) -> bool:
            new = p.fingerprint("css/site.css")
            return (
                new is not None
                and new != old
                and p.linkFingerprint("/css/site.css") == new
            )

        seconds, _ = waitUntil(self.client, self.home, shows, since=began)
        self.assertLess(seconds, DEADLINE)


class EventTests(DevModeTestCase):
    """
    The event stream open pages listen to.
    """

    def setUp(self) -> None:
        self.startDev("--shutdown-timeout", "30")

    def openEvents(self, build: str) -> queue.Queue[str]:
        """
        Open the event stream as a page of C{build} would, reading its lines
        in a thread.
        """
        lines: queue.Queue[str] = queue.Queue()

        # A connection of its own: httpx's synchronous HTTP/2 lets one
        # stream's reader hold up the other streams of its connection.
        client = httpx.Client(
            http2=True, verify=sharedCertificates().sslContext(), timeout=None
        )
        self.addCleanup(client.close)

        def read() -> None:
            url = f"{self.server.url}/.h2site/events?build={build}"
            try:
                with client.stream("GET", url) as response:
                    lines.put(f"status {response.status_code}")
                    lines.put(f"type {response.headers['content-type']}")
                    for line in response.iter_lines():
                        lines.put(line)
            except httpx.HTTPError as e:
                lines.put(f"error {e}")
            lines.put("closed")

        threading.Thread(target=read, daemon=True).start()
        return lines

    def nextLine(self, lines: queue.Queue[str], pattern: str) -> str:
        """
        Read lines until one matches C{pattern}, within the deadline.
        """
        deadline = time.monotonic() + DEADLINE
        seen = []
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            seen.append(line)
            if re.search(pattern, line):
                return line
        raise AssertionError(f"no line matching {pattern!r} in {seen}")

    def test_reloadEvent(self) -> None:
        """
        A stream opened with the page's build stays quiet until a change is
        served; then it gets a C{reload} event naming the new build, which
        the page fetched next carries.
        """
        build = buildOf(fetch(self.client, self.home).body)
        lines = self.openEvents(build)
        self.nextLine(lines, "^status 200$")
        self.nextLine(lines, "^type text/event-stream")
        self.nextLine(lines, "^retry: ")
        early = []
        while not lines.empty():
            early.append(lines.get())
        self.assertEqual([line for line in early if line], [])
        editTemplate(self.site, "Reloaded")
        self.nextLine(lines, "^event: reload$")
        data = self.nextLine(lines, "^data: ")
        newBuild = data.removeprefix("data: ")
        self.assertNotEqual(newBuild, build)
        self.assertEqual(buildOf(fetch(self.client, self.home).body), newBuild)

    def test_stalePage(self) -> None:
        """
        A page of an older build (another server's) is told to reload as
        soon as it connects.
        """
        lines = self.openEvents("0000-1")
        self.nextLine(lines, "^event: reload$")

    def test_shutdownEndsStreams(self) -> None:
        """
        An open stream is ended when the server stops, which then does not
        wait the 30 s of C{--shutdown-timeout} for it, even for a client
        that keeps its streams open after GOAWAY, as browsers do (a raw
        HTTP/2 client, which answers nothing).
        """
        build = buildOf(fetch(self.client, self.home).body)
        raw = RawClient(self.server.port, sharedCertificates().sslContext())
        self.addCleanup(raw.close)
        raw.start()
        streamID = raw.request(f"/.h2site/events?build={build}")

        def on(frames: list[Frame], flag: str | None, data: bytes = b"") -> bool:
            return any(
                isinstance(f, DataFrame)
                and f.stream_id == streamID
                and data in f.data
                and (flag is None or flag in f.flags)
                for f in frames
            )

        raw.readUntil(lambda frames: on(frames, None, b"retry: "), DEADLINE)
        began = time.monotonic()
        # twistd ends by raising the signal that stopped it again.
        self.assertEqual(self.server.stop(), -signal.SIGTERM)
        self.assertLess(time.monotonic() - began, 15)
        self.assertIn("Server Shut Down.", self.server.output())
        self.assertNotIn("shutdown timeout", self.server.output())
        raw.readUntil(lambda frames: on(frames, "END_STREAM"), DEADLINE)


class TemplateErrorTests(DevModeTestCase):
    """
    A broken template is an error page, until it is fixed.
    """

    def test_errorPageThenRecovery(self) -> None:
        """
        An undefined name in the layout gives every page a 500 naming the
        layout and the line, with the live-reload script, and the log says
        the same; the next good save serves the pages again.
        """
        self.startDev()
        layout = self.site / "templates" / "_layout.html"
        good = layout.read_text()
        lines = good.splitlines(keepends=True)
        number = next(i for i, line in enumerate(lines) if "site-footer" in line) + 1
        lines.insert(number, "{{ undefined_thing }}\n")
        layout.write_text("".join(lines))
        _, page = waitUntil(self.client, self.home, lambda p: p.status == 500)
        self.assertIn(f"templates/_layout.html, line {number + 1}", page.body)
        self.assertIn("undefined_thing", page.body)
        buildOf(page.body)
        self.server.waitForOutput(r"with error pages: template '_layout.html' line")
        layout.write_text(good)
        _, page = waitUntil(
            self.client, self.home, lambda p: p.status == 200 and "hero-title" in p.body
        )
        buildOf(page.body)

    def test_brokenAtStart(self) -> None:
        """
        With C{--dev} a broken template at start-up is served as its error
        page (the server starts); without, h2site refuses in one line.
        """
        tmp = Path(self.mktemp()).absolute()
        site = makeSite(tmp / "site", {"index.html": "<p>{% if %}</p>"}, {})
        self.startDev(site=site)
        page = fetch(self.client, self.home)
        self.assertEqual(page.status, 500)
        self.assertIn("templates/index.html, line 1", page.body)
        self.server.waitForOutput(r"served as error pages until fixed: template")
        result = runTwistd(
            "--site", str(site), "--port", sharedCertificates().endpoint(), cwd=tmp
        )
        self.assertNotEqual(result.code, 0)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
        self.assertIn("index.html", result.stderr)


class WithoutDevTests(DevModeTestCase):
    """
    Without C{--dev}, none of it exists.
    """

    def test_nothing(self) -> None:
        """
        Pages have no script, and the reserved URLs are not found.
        """
        self.startDev(dev=False)
        page = fetch(self.client, self.home)
        self.assertEqual(page.status, 200)
        self.assertNotIn("/.h2site/", page.body)
        for path in ["/.h2site/live.js", "/.h2site/events"]:
            response = self.client.get(self.server.url + path)
            self.assertEqual(response.status_code, 404, path)
