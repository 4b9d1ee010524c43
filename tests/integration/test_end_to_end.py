"""
End-to-end tests: the real C{twistd -n h2site} process, over real TLS, with
real HTTP/2 and HTTP/1.1 clients.
"""

from __future__ import annotations

import errno
import os
import re
import socket
import ssl
from pathlib import Path

import httpx
from twisted.trial.unittest import SynchronousTestCase

from h2site import __version__
from tests.helpers import (
    REPO,
    Server,
    copySite,
    runTwistd,
    sharedCertificates,
    startServer,
    testEnvironment,
)


def rawRequest(
    port: int, path: bytes, ctx: ssl.SSLContext, method: bytes = b"GET"
) -> bytes:
    """
    Send C{path} byte for byte in an HTTP/1.1 request (no client-side
    normalisation of C{..} or percent escapes) and return the whole response.
    """
    with (
        socket.create_connection(("127.0.0.1", port), timeout=30) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(
            method + b" " + path + b" HTTP/1.1\r\nHost: localhost\r\n"
            b"Connection: close\r\n\r\n"
        )
        chunks = []
        for _ in range(10_000):
            chunk = tls.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


class DemoSiteTests(SynchronousTestCase):
    """
    The demo site served over TLS with a test CA's certificate.
    """

    def setUp(self) -> None:
        self.certs = sharedCertificates()
        self.tmp = Path(self.mktemp()).absolute()
        self.tmp.mkdir()
        self.site = copySite(self.tmp / "site")
        static = self.site / "static"
        (static / ".env").write_text("SECRET=1")
        (static / ".git").mkdir()
        (static / ".git" / "config").write_text("[core]")
        (static / "script.rpy").write_text("print('never run')")
        (static / "archive.tar.gz").write_bytes(b"\x1f\x8b not really")
        (static / "blob.unknownext").write_bytes(b"<script>alert(1)</script>")
        (self.tmp / "secret.txt").write_text("outside the root")
        os.symlink(self.tmp / "secret.txt", static / "leak.txt")
        os.symlink(self.tmp, static / "up")
        self.server = startServer(
            self,
            "--site",
            str(self.site),
            "--port",
            self.certs.endpoint(),
            "--access-log",
            str(self.tmp / "access.log"),
            cwd=self.tmp,
        )
        self.client = httpx.Client(
            http2=True, verify=self.certs.sslContext(), base_url=self.server.url
        )
        self.addCleanup(self.client.close)
        self.http11 = self.certs.sslContext(["http/1.1"])

    def status(self, path: bytes) -> int:
        response = rawRequest(self.server.port, path, self.http11)
        return int(response.split(b" ", 2)[1])

    def test_homePageOverHTTP2(self) -> None:
        """
        A client offering h2 and http/1.1 gets HTTP/2; the home page is 200
        HTML with a C{Link} preload header listing each asset once, and no
        Server banner.
        """
        response = self.client.get("/")
        self.assertEqual(response.http_version, "HTTP/2")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers["content-type"], "text/html; charset=utf-8")
        links = response.headers.get_list("link", split_commas=True)
        # Each URL carries the file's fingerprint (see h2site.web.static).
        unversioned = [re.sub(r"\?v=[0-9a-f]{16}>", ">", link) for link in links]
        self.assertIn("</static/css/app.css>; rel=preload; as=style", unversioned)
        self.assertIn("</static/js/main.mjs>; rel=modulepreload", unversioned)
        icon = '</static/img/favicon.svg>; rel=preload; as=image; type="image/svg+xml"'
        self.assertIn(icon, unversioned)
        self.assertEqual(len(links), len(set(links)))
        self.assertNotIn("server", response.headers)
        self.assertIn(b"<!doctype html>", response.content.lower())

    def test_pages(self) -> None:
        """
        C{about.html} is served at C{/about}; layouts are never served; a
        missing page renders C{404.html} with status 404.
        """
        self.assertEqual(self.client.get("/about").status_code, 200)
        for path in ["/_layout", "/_layout.html", "/about.html", "/404", "/nope"]:
            response = self.client.get(path)
            self.assertEqual(response.status_code, 404, path)
            self.assertIn(b"/about", response.content)  # the demo 404 page's nav

    def test_staticBytes(self) -> None:
        """
        Files under C{/static/} arrive byte for byte with their types; the
        stylesheet and module with fingerprints added to their references,
        and nothing else changed.
        """
        for name, mediaType in [
            ("css/app.css", "text/css; charset=utf-8"),
            ("js/main.mjs", "text/javascript; charset=utf-8"),
            ("fonts/h2display.woff2", "font/woff2"),
            ("img/hero.svg", "image/svg+xml"),
        ]:
            response = self.client.get("/static/" + name)
            self.assertEqual(response.status_code, 200, name)
            self.assertEqual(
                re.sub(rb"\?v=[0-9a-f]{16}", b"", response.content),
                (self.site / "static" / name).read_bytes(),
            )
            self.assertEqual(response.headers["content-type"], mediaType)

    def test_http11(self) -> None:
        """
        A client that offers only HTTP/1.1 is served HTTP/1.1.
        """
        ctx = self.certs.sslContext(["http/1.1"])
        with httpx.Client(http2=False, verify=ctx) as client:
            response = client.get(self.server.url + "/static/css/app.css")
        self.assertEqual(response.http_version, "HTTP/1.1")
        self.assertEqual(response.status_code, 200)

    def test_head(self) -> None:
        """
        HEAD gets the headers of GET and no body.
        """
        response = self.client.head("/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content, b"")
        self.assertTrue(response.headers.get_list("link"))

    def test_lastModifiedAndRange(self) -> None:
        """
        Static files carry C{Last-Modified}, answer 304 to a matching
        C{If-Modified-Since}, and 206 to a byte range.
        """
        first = self.client.get("/static/css/app.css")
        lastModified = first.headers["last-modified"]
        again = self.client.get(
            "/static/css/app.css", headers={"if-modified-since": lastModified}
        )
        self.assertEqual(again.status_code, 304)
        self.assertEqual(again.content, b"")
        part = self.client.get("/static/css/app.css", headers={"range": "bytes=0-9"})
        self.assertEqual(part.status_code, 206)
        self.assertEqual(part.content, first.content[:10])

    def test_traversal(self) -> None:
        """
        No request shape reaches a file outside C{static/}: raw C{..},
        percent-encoded dots and slashes, backslashes, absolute paths.
        """
        for path in [
            b"/static/../setup.cfg",
            b"/static/../../etc/passwd",
            b"/static/%2e%2e/templates/index.html",
            b"/static/%2E%2E/%2E%2E/etc/passwd",
            b"/static/css%2f..%2f..%2ftemplates%2findex.html",
            b"/static/..%5ctemplates%5cindex.html",
            b"/static//etc/passwd",
            b"/static/%2fetc%2fpasswd",
        ]:
            response = rawRequest(self.server.port, path, self.http11)
            self.assertTrue(
                response.startswith(b"HTTP/1.1 404 "), (path, response[:80])
            )
            self.assertNotIn(b"root:", response)
            self.assertNotIn(b"{% extends", response)

    def test_dotfilesListingsSymlinks(self) -> None:
        """
        Dotfiles and dot-folders, folders (no listings) and symlinks that
        leave the root all get 404.
        """
        for path in [
            b"/static/.env",
            b"/static/.git/config",
            b"/static/%2eenv",
            b"/static/",
            b"/static",
            b"/static/css/",
            b"/static/css",
            b"/static/leak.txt",
            b"/static/up/secret.txt",
        ]:
            self.assertEqual(self.status(path), 404, path)

    def test_noScriptsNoGuessing(self) -> None:
        """
        C{.rpy} is never executed, C{.tar.gz} is not sent as gzip encoding,
        and unknown types are downloads, never HTML.
        """
        script = self.client.get("/static/script.rpy")
        self.assertEqual(script.content, b"print('never run')")
        self.assertEqual(script.headers["content-type"], "application/octet-stream")
        archive = self.client.get("/static/archive.tar.gz")
        self.assertEqual(archive.headers["content-type"], "application/gzip")
        self.assertNotIn("content-encoding", archive.headers)
        blob = self.client.get("/static/blob.unknownext")
        self.assertEqual(blob.headers["content-type"], "application/octet-stream")

    def test_methods(self) -> None:
        """
        Pages answer GET and HEAD only.
        """
        self.assertEqual(self.client.post("/").status_code, 405)

    def test_accessLog(self) -> None:
        """
        Each response is logged in Combined Log Format with the protocol.
        """
        self.client.get("/about", headers={"user-agent": "e2e-test"})
        self.server.stop()
        log = (self.tmp / "access.log").read_text()
        self.assertRegex(
            log,
            r'127\.0\.0\.1 - - \[[^]]+\] "GET /about HTTP/2" 200 \d+ "-" "e2e-test"\n',
        )


class DefaultModeTests(SynchronousTestCase):
    """
    C{twistd -n h2site} with no C{--port}: HTTPS on 127.0.0.1:8443 with a
    generated development certificate.
    """

    def setUp(self) -> None:
        probe = socket.socket()
        try:
            probe.bind(("127.0.0.1", 8443))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise self.skipTest("port 8443 is in use on this machine") from None
            raise
        finally:
            probe.close()
        self.tmp = Path(self.mktemp()).absolute()
        self.tmp.mkdir()
        copySite(self.tmp / "site")

    def get(self) -> httpx.Response:
        """
        Fetch the home page, trusting only the local CA that issued the
        development certificate.
        """
        ca = self.tmp / "state" / "h2site" / "local-ca.pem"
        ctx = ssl.create_default_context(cafile=str(ca))
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        with httpx.Client(http2=True, verify=ctx) as client:
            return client.get("https://localhost:8443/")

    def test_servesWithDevelopmentCertificate(self) -> None:
        """
        The server generates a certificate into C{$XDG_STATE_HOME/h2site},
        logs its URL and fingerprint, and serves HTTP/2 with it.
        """
        server = startServer(self, cwd=self.tmp)
        self.assertEqual(server.url, "https://localhost:8443")
        server.waitForOutput(r"SHA-256 fingerprint ([0-9A-F]{2}:){31}[0-9A-F]{2}")
        response = self.get()
        self.assertEqual(response.http_version, "HTTP/2")
        self.assertEqual(response.status_code, 200)

    def test_workersUseSupervisorsCertificate(self) -> None:
        """
        With C{--workers 2}, the supervisor generates the certificate once
        and the workers serve with that one: it is still the one on disk
        when they are all serving.
        """
        server = startServer(self, "--workers", "2", cwd=self.tmp)
        server.waitForOutput("all 2 workers are serving")
        cert = self.tmp / "state" / "h2site" / "dev-cert.pem"
        self.assertEqual(
            {p.name for p in cert.parent.glob("dev-*")}, {"dev-cert.pem", "dev-key.pem"}
        )
        before = cert.stat()
        for _ in range(4):
            response = self.get()
            self.assertEqual(response.status_code, 200)
        after = cert.stat()
        self.assertEqual(
            (after.st_ino, after.st_mtime_ns), (before.st_ino, before.st_mtime_ns)
        )


class StartupErrorTests(SynchronousTestCase):
    """
    Bad start-up conditions end the real process with one line and status 1.
    """

    def setUp(self) -> None:
        self.tmp = Path(self.mktemp()).absolute()
        self.tmp.mkdir()
        copySite(self.tmp / "site")
        self.certs = sharedCertificates()

    def assertOneLineError(self, result: object, fragment: str) -> None:
        code, stdout, stderr = (
            result.code,  # type: ignore[attr-defined]
            result.stdout,  # type: ignore[attr-defined]
            result.stderr,  # type: ignore[attr-defined]
        )
        self.assertEqual(code, 1, stdout + stderr)
        self.assertNotIn("Traceback", stdout + stderr)
        errors = [
            line for line in (stdout + stderr).splitlines() if "h2site: error:" in line
        ]
        self.assertEqual(len(errors), 1, stdout + stderr)
        self.assertIn(fragment, errors[0])

    def test_busyPort(self) -> None:
        """
        A port already in use is named, with what to do.
        """
        blocker = socket.socket()
        self.addCleanup(blocker.close)
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        result = runTwistd("-p", self.certs.endpoint(port), cwd=self.tmp)
        self.assertOneLineError(result, f"port {port} on 127.0.0.1")
        self.assertOneLineError(result, "already in use")

    def test_missingSite(self) -> None:
        """
        A missing site folder is one line.
        """
        result = runTwistd(
            "--site", str(self.tmp / "nope"), "-p", "tcp:0", cwd=self.tmp
        )
        self.assertOneLineError(result, "does not exist")

    def test_badCertificate(self) -> None:
        """
        A key that does not match its certificate is one line.
        """
        result = runTwistd(
            "-p",
            f"ssl:0:privateKey={self.certs.otherKey}:certKey={self.certs.cert}",
            cwd=self.tmp,
        )
        self.assertOneLineError(result, "does not match certificate")

    def test_templateError(self) -> None:
        """
        A template typo stops start-up, naming the template.
        """
        (self.tmp / "site" / "templates" / "about.html").write_text("{{ nope }}")
        result = runTwistd("-p", "tcp:0", cwd=self.tmp)
        self.assertOneLineError(
            result, "template 'about.html' line 1: 'nope' is undefined"
        )

    def test_help(self) -> None:
        """
        C{twistd --help} lists h2site and C{twistd h2site --help} documents
        every option.
        """
        import subprocess
        import sys

        listing = subprocess.run(
            [
                sys.executable,
                "-c",
                "from twisted.scripts.twistd import run; run()",
                "--help",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=self.tmp,
            env=testEnvironment(self.tmp),
        )
        self.assertIn("h2site", listing.stdout)
        result = runTwistd("--help", cwd=self.tmp)
        self.assertEqual(result.code, 0)
        for option in ["--port=", "--site=", "--access-log="]:
            self.assertIn(option, result.stdout)

    def test_version(self) -> None:
        """
        C{twistd h2site --version} prints h2site's version, not Twisted's,
        and exits 0.
        """
        result = runTwistd("--version", cwd=self.tmp)
        self.assertEqual((result.code, result.stdout), (0, f"h2site {__version__}\n"))


del REPO, Server
