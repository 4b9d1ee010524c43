"""
End-to-end tests of HTTP/3 (C{--http3}): the real C{twistd h2site} process
on loopback, against aioquic's client (L{tests.h3client}) and ngtcp2's
C{gtlsclient}, beside an HTTP/2 client of the same port.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from tests.h3client import H3Response, fetch
from tests.helpers import (
    TIMEOUT,
    Server,
    copySite,
    makeSite,
    requireTool,
    sharedCertificates,
    startChromium,
    startServer,
)
from tests.integration.test_browser import DEEP, ENTRY_MODULE, LATENCY, STYLESHEET

#: A navigation, as a browser sends it: the requests Early Hints are for.
NAVIGATION = [
    (b"sec-fetch-mode", b"navigate"),
    (b"sec-fetch-dest", b"document"),
    (b"accept", b"text/html"),
]

_PAGE = (
    "<!doctype html><title>home</title>"
    '<link rel="stylesheet" href="/static/site.css"><p>Hello</p>\n'
)


def _bigFile() -> bytes:
    return os.urandom(2 * 1024 * 1024)


class HTTP3TestCase(SynchronousTestCase):
    """
    A real server with C{--http3}, a page with a stylesheet to hint, a
    small and a large file, and an HTTP/2 client of it.
    """

    serverArgs: tuple[str, ...] = ("--http3",)

    def setUp(self) -> None:
        self.certs = sharedCertificates()
        self.tmp = Path(self.mktemp()).absolute()
        self.tmp.mkdir()
        self.big = _bigFile()
        site = makeSite(
            self.tmp / "site",
            {"index.html": _PAGE},
            {
                "site.css": b"body { color: teal }\n",
                "small.txt": b"small\n",
                "big.bin": self.big,
            },
        )
        self.accessLog = self.tmp / "access.log"
        self.server: Server = startServer(
            self,
            "--site",
            str(site),
            "--port",
            self.certs.endpoint(),
            "--access-log",
            str(self.accessLog),
            *self.serverArgs,
            cwd=self.tmp,
        )
        self.h2 = httpx.Client(
            http2=True, verify=self.certs.sslContext(), base_url=self.server.url
        )
        self.addCleanup(self.h2.close)

    def fetch(
        self, *paths: str, headers: list[tuple[bytes, bytes]] | None = None
    ) -> list[H3Response]:
        return fetch(self.server.port, paths, str(self.certs.caCert), headers or [])

    def assertServedOverH2(self) -> None:
        for path, body in [("/", b"Hello"), ("/static/small.txt", b"small\n")]:
            response = self.h2.get(path)
            self.assertEqual(response.http_version, "HTTP/2")
            self.assertEqual(response.status_code, 200, path)
            self.assertIn(body, response.content)

    def accessLines(self, protocol: str, count: int) -> list[str]:
        """
        The access log's lines for C{protocol}, once there are C{count}.
        """
        deadline = time.monotonic() + TIMEOUT
        while True:
            text = self.accessLog.read_text() if self.accessLog.exists() else ""
            lines = [line for line in text.splitlines() if f' {protocol}"' in line]
            if len(lines) >= count or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)


class ServingTests(HTTP3TestCase):
    def test_sameAsHTTP2(self) -> None:
        """
        The page and a static file come over HTTP/3 with status 200 and the
        body and ETag they have over HTTP/2, and the access log names
        HTTP/3 for each.
        """
        page, small = self.fetch("/", "/static/small.txt")
        for response, path in [(page, "/"), (small, "/static/small.txt")]:
            # The same representation: over HTTP/2 too, uncompressed.
            over2 = self.h2.get(path, headers={"accept-encoding": "identity"})
            self.assertEqual(response.status, 200, path)
            self.assertEqual(response.body, over2.content, path)
            etag = response.header(b"etag")
            self.assertIsNotNone(etag, path)
            self.assertEqual(etag, over2.headers["etag"].encode(), path)
        lines = self.accessLines("HTTP/3", 2)
        self.assertEqual(
            sorted(line.split('"')[1] for line in lines),
            ["GET / HTTP/3", "GET /static/small.txt HTTP/3"],
        )

    def test_largeFile(self) -> None:
        """
        A 2 MiB file (more than a stream's buffer, so its producer is
        paused and resumed) arrives whole.
        """
        (response,) = self.fetch("/static/big.bin")
        self.assertEqual(response.status, 200)
        self.assertEqual(response.body, self.big)

    def test_altSvc(self) -> None:
        """
        HTTP/2 and HTTP/1.1 responses announce HTTP/3 on the same port;
        HTTP/3 responses do not repeat it.
        """
        expected = f'h3=":{self.server.port}"; ma=86400'
        self.assertEqual(self.h2.get("/").headers.get("alt-svc"), expected)
        with httpx.Client(
            http1=True, http2=False, verify=self.certs.sslContext()
        ) as h1:
            response = h1.get(self.server.url + "/static/small.txt")
        self.assertEqual(response.http_version, "HTTP/1.1")
        self.assertEqual(response.headers.get("alt-svc"), expected)
        (over3,) = self.fetch("/")
        self.assertIsNone(over3.header(b"alt-svc"))

    def test_earlyHints(self) -> None:
        """
        A navigation over HTTP/3 gets a 103 with the page's preload Link
        before the 200, as over HTTP/2; a request that is not a navigation
        gets none.
        """
        (navigation,) = self.fetch("/", headers=NAVIGATION)
        self.assertEqual(navigation.status, 200)
        self.assertEqual(len(navigation.informational), 1)
        hints = dict(navigation.informational[0])
        self.assertEqual(hints[b":status"], b"103")
        self.assertEqual(hints[b"link"], b"</static/site.css>; rel=preload; as=style")
        (plain,) = self.fetch("/")
        self.assertEqual(plain.informational, [])

    def test_limits(self) -> None:
        """
        A header block over the limit gets 431, and the server keeps
        serving HTTP/3 and HTTP/2.
        """
        huge = [(b"x-filler-%d" % i, b"x" * 1000) for i in range(40)]
        (response,) = self.fetch("/", headers=huge)
        self.assertEqual(response.status, 431)
        (after,) = self.fetch("/static/small.txt")
        self.assertEqual(after.status, 200)
        self.assertServedOverH2()

    def test_gtlsclient(self) -> None:
        """
        ngtcp2's C{gtlsclient}, a client independent of aioquic, gets the
        page with status 200 and its ETag over HTTP/3.
        """
        gtlsclient = shutil.which("gtlsclient")
        if gtlsclient is None:
            raise SkipTest("gtlsclient (Debian's ngtcp2-client) is not installed")
        port = self.server.port
        result = subprocess.run(
            [
                gtlsclient,
                "--no-quic-dump",
                "--no-http-dump",
                "--exit-on-all-streams-close",
                "--timeout=10s",
                "127.0.0.1",
                str(port),
                f"https://localhost:{port}/",
            ],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        output = result.stdout + result.stderr
        self.assertIn("[:status: 200]", output)
        etag = self.h2.get("/", headers={"accept-encoding": "identity"}).headers["etag"]
        self.assertIn(f"[etag: {etag}]", output)

    def test_garbageFlood(self) -> None:
        """
        20,000 datagrams of garbage and of Initial-looking packets with
        unknown connection IDs cost no connection: an HTTP/2 client is
        served throughout, and HTTP/3 still answers afterwards.
        """
        port = self.server.port
        flood = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(flood.close)
        junk = [os.urandom(size) for size in (20, 200, 1200, 1400)]
        # A long header, version 1, but no valid Initial inside: it must be
        # dropped once decryption fails, without a connection left behind.
        fakeInitial = bytes([0xC0]) + b"\x00\x00\x00\x01" + b"\x08" + os.urandom(8)
        fakeInitial += (
            b"\x08" + os.urandom(8) + b"\x00" + b"\x44\xd0" + os.urandom(1230)
        )
        sent = 0
        for i in range(20000):
            data = fakeInitial if i % 5 == 0 else junk[i % len(junk)]
            try:
                flood.sendto(data, ("127.0.0.1", port))
            except BlockingIOError:
                continue
            sent += 1
            if i % 2000 == 0:
                self.assertServedOverH2()
        self.assertGreater(sent, 10000)
        self.assertServedOverH2()
        (response,) = self.fetch("/static/small.txt")
        self.assertEqual(response.status, 200)
        self.assertEqual(response.body, b"small\n")

    def test_gracefulShutdown(self) -> None:
        """
        After a request over HTTP/3, the server stops promptly on SIGTERM.
        """
        self.fetch("/")
        started = time.monotonic()
        code = self.server.stop()
        self.assertIn(code, (0, -15))
        self.assertLess(time.monotonic() - started, 5)
        self.assertNotIn("Traceback", self.server.output())


class OffByDefaultTests(HTTP3TestCase):
    serverArgs = ()

    def test_noAltSvc(self) -> None:
        """
        Without C{--http3}, responses announce no HTTP/3 and the UDP port
        answers nothing.
        """
        self.assertNotIn("alt-svc", self.h2.get("/").headers)
        self.assertNotIn("HTTP/3", self.server.output())


_TIMINGS = """
const nav = performance.getEntriesByType('navigation')[0];
return {
  protocol: nav.nextHopProtocol,
  resources: performance.getEntriesByType('resource').map((r) => ({
    url: new URL(r.name).pathname,
    initiator: r.initiatorType,
    protocol: r.nextHopProtocol,
  })),
};
"""


class BrowserTests(SynchronousTestCase):
    """
    Headless Chromium loads the demo site over HTTP/3.
    """

    def test_demoSiteOverH3(self) -> None:
        """
        With QUIC forced on for the server's origin, the navigation and
        every asset of the demo home page arrive over h3, and the deep
        assets (named only by the stylesheet and the entry module) come
        from the 103 Early Hints sent over h3.
        """
        chromium, driver = requireTool("chromium"), requireTool("chromedriver")
        certs = sharedCertificates()
        tmp = Path(self.mktemp()).absolute()
        tmp.mkdir()
        site = copySite(tmp / "site")
        server = startServer(
            self, "--site", str(site), "--port", certs.endpoint(), "--http3", cwd=tmp
        )
        origin = f"127.0.0.1:{server.port}"
        browser = startChromium(
            chromium,
            driver,
            tmp / "profile",
            certs.cert,
            LATENCY,
            cacheDisabled=False,
            forceQuic=origin,
        )
        self.addCleanup(browser.quit)
        browser.get(f"https://{origin}/")
        result = browser.execute_script(_TIMINGS)
        self.assertEqual(result["protocol"], "h3", result)
        byURL: dict[str, dict[str, str]] = {}
        for entry in result["resources"]:
            byURL.setdefault(entry["url"], entry)
        for url in [STYLESHEET, ENTRY_MODULE, *DEEP]:
            self.assertIn(url, byURL, result)
            self.assertEqual(byURL[url]["protocol"], "h3", (url, result))
        for url in DEEP:
            self.assertEqual(byURL[url]["initiator"], "early-hints", (url, result))


class WorkersTests(SynchronousTestCase):
    def test_eachWorkerServes(self) -> None:
        """
        Under C{--workers 2} each worker binds its own UDP socket on the
        port (C{SO_REUSEPORT}), and connections from new addresses are
        served, whichever worker the kernel gives them to.
        """
        certs = sharedCertificates()
        tmp = Path(self.mktemp()).absolute()
        tmp.mkdir()
        site = makeSite(tmp / "site", {"index.html": "<p>Hello</p>\n"}, {})
        server = startServer(
            self,
            "--site",
            str(site),
            "--port",
            certs.endpoint(),
            "--http3",
            "--workers",
            "2",
            cwd=tmp,
        )
        server.waitForOutput(r"all 2 workers are serving")
        self.assertEqual(server.output().count("serves HTTP/3 on UDP port"), 2)
        for _ in range(6):
            (response,) = fetch(server.port, ["/"], str(certs.caCert))
            self.assertEqual(response.status, 200)
            self.assertIn(b"Hello", response.body)
