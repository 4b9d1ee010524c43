"""
End-to-end tests of static delivery: the real C{twistd h2site} over real TLS,
with HTTP/2 and HTTP/1.1 clients (httpx, curl).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import brotli
import httpx
from twisted.trial.unittest import TestCase

from tests.helpers import (
    Server,
    bytesRead,
    makeSite,
    sharedCertificates,
    startServer,
    waitIdle,
)

CSS = b"@import url('base.css');\nbody { color: #333; }\n" * 300
BASE_CSS = b"p { margin: 0 }\n"
#: CSS as sent: its references fingerprinted (see L{h2site.files.fingerprint}).
SENT_CSS = CSS.replace(
    b"base.css'",
    b"base.css?v=" + hashlib.sha256(BASE_CSS).hexdigest()[:16].encode() + b"'",
)
BIG = os.urandom(3 * 1024 * 1024 + 17)

TEMPLATES = {
    "index.html": (
        "<!doctype html><title>t</title>"
        "<link rel=stylesheet href=\"{{ static_url('css/app.css') }}\">"
        "<p>home</p>"
    ),
}
STATIC = {
    "css/app.css": CSS,
    "css/base.css": BASE_CSS,
    "big.bin": BIG,
    "archive.tar.gz": gzip.compress(b"tar" * 1000),
}


#: The log line of a --redirect listener, with its port.
REDIRECTING = (
    r"listening on http://127\.0\.0\.1:(\d+)/ \(HTTP/1\.1, redirecting to HTTPS"
)


def _client(http2: bool) -> httpx.Client:
    return httpx.Client(
        verify=sharedCertificates().sslContext(),
        http1=not http2,
        http2=http2,
        timeout=30,
    )


class StaticDeliveryTests(TestCase):
    """
    One server with a small site; each test talks to it over HTTP/2 and
    HTTP/1.1.
    """

    def setUp(self) -> None:
        self.site = makeSite(Path(self.mktemp()).absolute(), TEMPLATES, STATIC)
        self.server = startServer(
            self,
            "--site",
            str(self.site),
            "--port",
            sharedCertificates().endpoint(),
            "--static-memory-file",
            "256K",
            cwd=self.site,
        )
        # Compressed forms are made after listening; the tests of codings
        # need them all.
        self.server.waitForOutput(r"h2site static files ready")
        self.clients = {"h2": _client(True), "h1": _client(False)}
        for client in self.clients.values():
            self.addCleanup(client.close)

    def get(self, path: str, version: str = "h2", **headers: str) -> httpx.Response:
        response = self.clients[version].get(self.server.url + path, headers=headers)
        self.assertEqual(
            response.http_version, "HTTP/2" if version == "h2" else "HTTP/1.1"
        )
        return response

    def test_etagRoundTrip(self) -> None:
        """
        Pages and files carry a strong ETag; sending it back gets a 304
        with no body, over both protocols.
        """
        for version in ("h2", "h1"):
            for path in ("/", "/static/css/base.css"):
                first = self.get(path, version)
                etag = first.headers["etag"]
                self.assertRegex(etag, r'^"[0-9a-f]+"$')
                self.assertEqual(first.headers["cache-control"], "no-cache")
                again = self.get(path, version, **{"if-none-match": etag})
                self.assertEqual(again.status_code, 304, (version, path))
                self.assertEqual(again.content, b"")
                self.assertEqual(again.headers["etag"], etag)

    def test_ifModifiedSince(self) -> None:
        """
        A file has a Last-Modified; sending it back gets a 304.
        """
        first = self.get("/static/css/base.css")
        again = self.get(
            "/static/css/base.css",
            **{"if-modified-since": first.headers["last-modified"]},
        )
        self.assertEqual(again.status_code, 304)

    def test_head(self) -> None:
        """
        HEAD gets GET's headers, Content-Length included, and no body.
        """
        for version in ("h2", "h1"):
            get = self.get("/static/big.bin", version)
            head = self.clients[version].head(self.server.url + "/static/big.bin")
            self.assertEqual(head.status_code, 200)
            self.assertEqual(head.content, b"")
            for name in ("content-length", "etag", "content-type", "last-modified"):
                self.assertEqual(head.headers[name], get.headers[name], name)

    def test_range(self) -> None:
        """
        One range gives 206 with Content-Range; several give a multipart
        body; overlapping ones are coalesced, not multiplied.
        """
        for version in ("h2", "h1"):
            r = self.get("/static/big.bin", version, range="bytes=1000-1999")
            self.assertEqual(r.status_code, 206)
            self.assertEqual(r.content, BIG[1000:2000])
            self.assertEqual(r.headers["content-range"], f"bytes 1000-1999/{len(BIG)}")
            r = self.get("/static/big.bin", version, range="bytes=0-9,-10")
            self.assertEqual(r.status_code, 206)
            self.assertTrue(
                r.headers["content-type"].startswith("multipart/byteranges")
            )
            self.assertIn(BIG[-10:], r.content)
            r = self.get("/static/css/base.css", version, range="bytes=0-,0-,0-,0-")
            self.assertEqual(r.status_code, 206)
            self.assertEqual(r.content, STATIC["css/base.css"])
            r = self.get("/static/css/base.css", version, range="bytes=999-")
            self.assertEqual(r.status_code, 416)

    def test_ifRange(self) -> None:
        """
        If-Range with the current ETag keeps the range; with an old one the
        whole file comes back.
        """
        etag = self.get("/static/big.bin").headers["etag"]
        r = self.get("/static/big.bin", range="bytes=0-1", **{"if-range": etag})
        self.assertEqual(r.status_code, 206)
        r = self.get("/static/big.bin", range="bytes=0-1", **{"if-range": '"old"'})
        self.assertEqual(r.status_code, 200)
        self.assertEqual(len(r.content), len(BIG))

    def test_negotiation(self) -> None:
        """
        brotli when accepted, else gzip, else identity; each with its own
        ETag, always with Vary: Accept-Encoding.
        """
        path = "/static/css/app.css"
        seen = {}
        for version in ("h2", "h1"):
            for accept, coding in [
                ("gzip, deflate, br", "br"),
                ("gzip", "gzip"),
                ("identity", None),
            ]:
                r = self.clients[version].get(
                    self.server.url + path, headers={"accept-encoding": accept}
                )
                self.assertEqual(r.headers.get("content-encoding"), coding)
                self.assertEqual(r.headers["vary"], "Accept-Encoding")
                raw = r.read() if coding is None else r.content
                self.assertEqual(raw, SENT_CSS)
                seen[coding] = r.headers["etag"]
        self.assertEqual(len(set(seen.values())), 3)

    def test_compressedSizes(self) -> None:
        """
        The brotli body really is brotli, and smaller than the file (curl
        shows the bytes as sent).
        """
        out = subprocess.run(
            [
                "curl",
                "-s",
                "--http2",
                "--cacert",
                str(sharedCertificates().caCert),
                "-H",
                "Accept-Encoding: br",
                self.server.url + "/static/css/app.css",
            ],
            capture_output=True,
            timeout=30,
            check=True,
        ).stdout
        self.assertLess(len(out), len(CSS) // 10)
        self.assertEqual(brotli.decompress(out), SENT_CSS)

    def test_gzFileByName(self) -> None:
        """
        A .gz file asked for by name is application/gzip, never a
        Content-Encoding.
        """
        r = self.get("/static/archive.tar.gz", **{"accept-encoding": "gzip"})
        self.assertEqual(r.headers["content-type"], "application/gzip")
        self.assertNotIn("content-encoding", r.headers)
        self.assertEqual(r.content, STATIC["archive.tar.gz"])

    def test_fingerprints(self) -> None:
        """
        The page links the fingerprinted URL (in its HTML and its Link
        header); that URL is cacheable for a year as immutable, any other
        form of it must revalidate.
        """
        page = self.get("/")
        match = re.search(r"/static/css/app\.css\?v=([0-9a-f]+)", page.text)
        assert match is not None
        self.assertIn(f"</static/css/app.css?v={match.group(1)}>", page.headers["link"])
        r = self.get(match.group(0))
        self.assertEqual(
            r.headers["cache-control"], "public, max-age=31536000, immutable"
        )
        self.assertEqual(
            self.get("/static/css/app.css").headers["cache-control"], "no-cache"
        )
        self.assertEqual(
            self.get("/static/css/app.css?v=0000").headers["cache-control"],
            "no-cache",
        )

    def test_securityHeaders(self) -> None:
        """
        nosniff, the referrer policy and HSTS on every HTTPS response, 404s
        included; no Server banner.
        """
        for path in ("/", "/static/css/app.css", "/missing"):
            r = self.get(path)
            self.assertEqual(r.headers["x-content-type-options"], "nosniff")
            self.assertEqual(
                r.headers["referrer-policy"], "strict-origin-when-cross-origin"
            )
            self.assertEqual(r.headers["strict-transport-security"], "max-age=63072000")
            self.assertNotIn("server", r.headers)

    def test_largeFileStreams(self) -> None:
        """
        A file larger than the memory limit streams whole, over both
        protocols, to several clients at once.
        """
        for version in ("h2", "h1"):
            r = self.get("/static/big.bin", version)
            self.assertEqual(r.status_code, 200)
            self.assertTrue(r.content == BIG)

    def test_editPickedUp(self) -> None:
        """
        A file edited on disk is served as edited within a couple of
        seconds, with a new ETag.
        """
        before = self.get("/static/css/base.css")
        (self.site / "static" / "css" / "base.css").write_bytes(b"p { margin: 1px }\n")
        deadline = time.monotonic() + 15
        while True:
            r = self.get("/static/css/base.css")
            if r.content != before.content or time.monotonic() > deadline:
                break
        self.assertEqual(r.content, b"p { margin: 1px }\n")
        self.assertNotEqual(r.headers["etag"], before.headers["etag"])

    def test_reloadRefingerprints(self) -> None:
        """
        After an edit and a reload (SIGHUP), the page links the file by its
        new fingerprint, which is immutable; the old one must revalidate.
        """
        old = re.search(r"app\.css\?v=([0-9a-f]+)", self.get("/").text)
        assert old is not None
        (self.site / "static" / "css" / "app.css").write_bytes(b"p { color: red }\n")
        self.server.signal(signal.SIGHUP)
        self.server.waitForOutput(r"reloaded; now serving the new version")
        new = re.search(r"app\.css\?v=([0-9a-f]+)", self.get("/").text)
        assert new is not None
        self.assertNotEqual(new.group(1), old.group(1))
        fresh = self.get("/static/css/app.css?v=" + new.group(1))
        self.assertEqual(fresh.content, b"p { color: red }\n")
        self.assertIn("immutable", fresh.headers["cache-control"])
        stale = self.get("/static/css/app.css?v=" + old.group(1))
        self.assertEqual(stale.headers["cache-control"], "no-cache")

    def test_replacedLargeFile(self) -> None:
        """
        A large file replaced by a deploy (renamed into place, same size)
        just after it was served is served as new at once, with a new ETag:
        neither the old ETag on new bytes nor a 503 while the store catches
        up.
        """
        before = self.get("/static/big.bin", "h1")
        new = os.urandom(len(BIG))
        staged = self.site / "static" / ".big.bin.new"
        staged.write_bytes(new)
        os.replace(staged, self.site / "static" / "big.bin")
        for version in ("h1", "h2"):
            r = self.get("/static/big.bin", version)
            self.assertEqual(r.status_code, 200)
            self.assertTrue(r.content == new)
            self.assertNotEqual(r.headers["etag"], before.headers["etag"])

    def test_addedFile(self) -> None:
        """
        A file added after start-up is served.
        """
        (self.site / "static" / "new.txt").write_bytes(b"new")
        self.assertEqual(self.get("/static/new.txt").content, b"new")


class BackpressureTests(TestCase):
    """
    A client that reads slowly, or not at all, is sent only as fast as it
    reads.
    """

    def test_stalledClient(self) -> None:
        """
        A client that asks for a large file and stops reading makes the
        server read only what the socket buffers and its own bounded buffer
        hold, not the whole file (so it holds no more in memory), and other
        clients are still served meanwhile.  The memory itself is measured
        by C{benchmarks/stall_bench.py}.
        """
        big = {**STATIC, "huge.bin": os.urandom(48 * 1024 * 1024)}
        site = makeSite(Path(self.mktemp()).absolute(), TEMPLATES, big)
        server = startServer(
            self,
            "--site",
            str(site),
            "--port",
            sharedCertificates().endpoint(),
            cwd=site,
        )
        assert server.process is not None
        # Indexing (hashing huge.bin) is done before this counts.
        waitIdle(server.process.pid)
        before = bytesRead(server.process.pid)
        ctx = sharedCertificates().sslContext()
        ctx.set_alpn_protocols(["http/1.1"])
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        stalled = ctx.wrap_socket(raw, server_hostname="localhost")
        self.addCleanup(stalled.close)
        stalled.sendall(b"GET /static/huge.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
        self.assertTrue(stalled.recv(1024).startswith(b"HTTP/1.1 200"))
        # Other clients are served while the stalled one holds its response.
        with _client(True) as client:
            for _ in range(20):
                self.assertEqual(client.get(server.url + "/").status_code, 200)
        waitIdle(server.process.pid)
        read = bytesRead(server.process.pid) - before
        self.assertLess(read, 16 * 1024 * 1024)


def _startWith(testCase: TestCase, *args: str) -> tuple[Server, Path]:
    site = makeSite(Path(testCase.mktemp()).absolute(), TEMPLATES, STATIC)
    server = startServer(
        testCase,
        "--site",
        str(site),
        "--port",
        sharedCertificates().endpoint(),
        *args,
        cwd=site,
    )
    return server, site


class OptionsTests(TestCase):
    def test_headersAndCSP(self) -> None:
        """
        --csp, --header and --hsts-max-age shape every response.
        """
        server, _ = _startWith(
            self,
            "--csp",
            "default-src 'self'",
            "--header",
            "Permissions-Policy: camera=()",
            "--hsts-max-age",
            "0",
        )
        with _client(True) as client:
            r = client.get(server.url + "/")
        self.assertEqual(r.headers["content-security-policy"], "default-src 'self'")
        self.assertEqual(r.headers["permissions-policy"], "camera=()")
        self.assertNotIn("strict-transport-security", r.headers)

    def test_redirect(self) -> None:
        """
        --redirect answers plain HTTP with a 308 to the same host and path
        on the HTTPS listener's port, and sends no HSTS there.
        """
        server, _ = _startWith(self, "--redirect", "tcp:port=0:interface=127.0.0.1")
        match = server.waitForOutput(REDIRECTING)
        with httpx.Client() as client:
            r = client.get(
                f"http://127.0.0.1:{match.group(1)}/a/b?c=d",
                headers={"host": "localhost:8080"},
            )
        self.assertEqual(r.status_code, 308)
        self.assertEqual(
            r.headers["location"], f"https://localhost:{server.port}/a/b?c=d"
        )
        self.assertNotIn("strict-transport-security", r.headers)
        self.assertEqual(r.headers["x-content-type-options"], "nosniff")

    def test_redirectWithWorkers(self) -> None:
        """
        With --workers, the supervisor answers the redirects, to the port
        its TLS listener got.
        """
        site = makeSite(Path(self.mktemp()).absolute(), TEMPLATES, STATIC)
        server = startServer(
            self,
            "--site",
            str(site),
            "--port",
            sharedCertificates().endpoint(),
            "--workers",
            "2",
            "--redirect",
            "tcp:port=0:interface=127.0.0.1",
            cwd=site,
        )
        match = server.waitForOutput(REDIRECTING)
        with httpx.Client() as client:
            r = client.get(
                f"http://127.0.0.1:{match.group(1)}/p", headers={"host": "localhost"}
            )
        self.assertEqual(r.status_code, 308)
        self.assertEqual(r.headers["location"], f"https://localhost:{server.port}/p")

    def test_redirectPort(self) -> None:
        """
        --redirect-port names the port the redirect points to.
        """
        server, _ = _startWith(
            self,
            "--redirect",
            "tcp:port=0:interface=127.0.0.1",
            "--redirect-port",
            "443",
        )
        match = server.waitForOutput(REDIRECTING)
        with httpx.Client() as client:
            r = client.get(
                f"http://127.0.0.1:{match.group(1)}/x", headers={"host": "example.com"}
            )
        self.assertEqual(r.headers["location"], "https://example.com/x")

    def test_badOptions(self) -> None:
        """
        Bad values stop the server with one line naming the option.
        """
        from tests.helpers import runTwistd

        site = makeSite(Path(self.mktemp()).absolute(), TEMPLATES, STATIC)
        cases = [
            (["--header", "Content-Length: 1"], "--header"),
            (["--hsts-max-age", "soon"], "--hsts-max-age"),
            (["--static-memory", "lots"], "--static-memory"),
            (["--redirect", "tcp:0", "--port", "tcp:0"], "--redirect"),
        ]
        for args, expected in cases:
            if "--port" not in args:
                args = [*args, "--port", sharedCertificates().endpoint()]
            result = runTwistd("--site", str(site), *args, cwd=site)
            self.assertNotEqual(result.code, 0, args)
            self.assertIn(expected, result.stderr, args)
            self.assertNotIn("Traceback", result.stderr + result.stdout)
