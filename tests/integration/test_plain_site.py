"""
End-to-end tests of the two kinds of site: the real C{twistd h2site}
process, over real TLS, with real clients (httpx over HTTP/2 and HTTP/1.1,
curl), serving a hand-made folder shaped like a generator's output (a
plain site) and a template site with C{public/} files.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from pathlib import Path

import httpx
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import (
    DEMO_SITE,
    TIMEOUT,
    Server,
    makeSite,
    requireTool,
    runTwistd,
    sharedCertificates,
    startServer,
)

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
CSS = b"body { background: url(../img/bg.png) }\n" + b"p { margin: 0 }\n" * 400
#: A generator's output: nested indexes, page.html pages, assets in
#: folders, the files that must sit at the top, a 404 page, and what must
#: never be served.
SITE = {
    "index.html": (
        b"<!doctype html><title>home</title>"
        b'<link rel=stylesheet href="css/site.css"><script src="js/app.js"></script>'
        b'<a href="docs/">docs</a><a href="about">about</a>'
    ),
    "about.html": b"<!doctype html><title>about</title>",
    "404.html": b"<!doctype html><title>not here</title>",
    "docs/index.html": (
        b'<!doctype html><title>docs</title><a href="intro.html">intro</a>'
        b'<link rel=stylesheet href="../css/site.css">'
    ),
    "docs/intro.html": b"<!doctype html><title>intro</title>",
    "docs/api/index.html": b"<!doctype html><title>api</title>",
    "css/site.css": CSS,
    "js/app.js": b"console.log('hi');\n",
    "img/bg.png": PNG,
    "img/logo.svg": b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    "robots.txt": b"User-agent: *\nAllow: /\n",
    "sitemap.xml": b"<?xml version='1.0'?><urlset/>",
    ".well-known/security.txt": b"Contact: mailto:security@example.org\n",
    ".env": b"SECRET=1",
    ".git/config": b"[core]",
    "cgi-bin/run.cgi": b"#!/bin/sh\necho never run\n",
}


def unversioned(body: bytes) -> bytes:
    """
    A page as written on disk: the fingerprints h2site adds to the
    references of pages to files of the site taken out again.
    """
    return re.sub(rb"\?v=[0-9a-f]{16}", b"", body)


def curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    """
    Run curl, trusting the test CA; what it printed.
    """
    return subprocess.run(
        [
            requireTool("curl"),
            "--silent",
            "--show-error",
            "--cacert",
            str(sharedCertificates().caCert),
            *args,
        ],
        capture_output=True,
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=True,
    )


def writeFiles(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


class PlainSiteTests(SynchronousTestCase):
    """
    A plain site: any folder, served as it is.
    """

    def setUp(self) -> None:
        self.tmp = Path(self.mktemp()).absolute()
        self.site = writeFiles(self.tmp / "site", SITE)
        outside = writeFiles(self.tmp / "outside", {"jquery.js": b"jQuery"})
        (self.site / "js" / "jquery.js").symlink_to(
            os.path.relpath(outside / "jquery.js", self.site / "js")
        )
        self.server = self.start()

    def start(self, *args: str) -> Server:
        server = startServer(
            self,
            "--site",
            str(self.site),
            "--port",
            sharedCertificates().endpoint(),
            *args,
            cwd=self.tmp,
        )
        self.clients = {
            version: httpx.Client(
                http2=version == "h2",
                http1=version == "h1",
                verify=sharedCertificates().sslContext(),
                base_url=server.url,
                timeout=TIMEOUT,
            )
            for version in ("h2", "h1")
        }
        for client in self.clients.values():
            self.addCleanup(client.close)
        return server

    def get(self, path: str, version: str = "h2", **headers: str) -> httpx.Response:
        response = self.clients[version].get(path, headers=headers)
        self.assertEqual(
            response.http_version, "HTTP/2" if version == "h2" else "HTTP/1.1"
        )
        return response

    def test_startupLines(self) -> None:
        """
        Start-up says which kind of site, and why, and names the symlink
        that leads out of the folder, once.
        """
        output = self.server.output()
        self.assertIn(
            f"h2site serves {self.site} as a plain site: it has no "
            f"templates/index.html",
            output,
        )
        outside = os.path.realpath(self.tmp / "outside" / "jquery.js")
        self.assertEqual(
            output.count(
                f"h2site does not serve 1 symlink in {os.path.realpath(self.site)} "
                f"that leads out of it (js/jquery.js -> {outside})"
            ),
            1,
            output,
        )
        self.assertNotIn("no index.html at its top", output)

    def test_urls(self) -> None:
        """
        Over both protocols: indexes at folder URLs, pages with or without
        C{.html}, files at their paths (C{/.well-known/} too), with their
        types; pages C{no-cache}.
        """
        cases = [
            ("/", "index.html"),
            ("/docs/", "docs/index.html"),
            ("/docs/api/", "docs/api/index.html"),
            ("/about", "about.html"),
            ("/about.html", "about.html"),
            ("/docs/intro", "docs/intro.html"),
            ("/docs/intro.html", "docs/intro.html"),
            ("/robots.txt", "robots.txt"),
            ("/sitemap.xml", "sitemap.xml"),
            ("/.well-known/security.txt", ".well-known/security.txt"),
            ("/js/app.js", "js/app.js"),
            ("/img/bg.png", "img/bg.png"),
            ("/cgi-bin/run.cgi", "cgi-bin/run.cgi"),
        ]
        for version in ("h2", "h1"):
            for path, name in cases:
                response = self.get(path, version)
                self.assertEqual(
                    (response.status_code, unversioned(response.content)),
                    (200, SITE[name]),
                    (version, path),
                )
                if name.endswith(".html"):
                    self.assertEqual(
                        response.headers["content-type"], "text/html; charset=utf-8"
                    )
                    self.assertEqual(response.headers["cache-control"], "no-cache")
        types = {
            "/css/site.css": "text/css; charset=utf-8",
            "/img/logo.svg": "image/svg+xml",
            "/cgi-bin/run.cgi": "application/octet-stream",
        }
        for path, contentType in types.items():
            self.assertEqual(self.get(path).headers["content-type"], contentType)

    def test_folderRedirect(self) -> None:
        """
        A folder asked for without its slash is a 308 to the path with it,
        its query kept, whatever the C{Host}: the C{Location} is a path.
        """
        for version in ("h2", "h1"):
            response = self.get("/docs/api?x=1&y=%20", version)
            self.assertEqual(response.status_code, 308)
            self.assertEqual(response.headers["location"], "/docs/api/?x=1&y=%20")
        done = curl(
            "--http1.1",
            "--include",
            "--resolve",
            f"evil.example:{self.server.port}:127.0.0.1",
            "--header",
            "Host: evil.example",
            "--insecure",
            f"https://evil.example:{self.server.port}/docs?q=1",
        )
        self.assertIn(b"HTTP/1.1 308 ", done.stdout)
        self.assertIn(b"\r\nLocation: /docs/?q=1\r\n", done.stdout)
        self.assertNotIn(b"evil", done.stdout.split(b"\r\n\r\n")[0])
        followed = self.clients["h2"].get("/docs", follow_redirects=True)
        self.assertEqual(unversioned(followed.content), SITE["docs/index.html"])

    def test_notFound(self) -> None:
        """
        Missing paths, dotfiles, folders without an index, the symlink out
        of the folder and traversal get the site's C{404.html} with status
        404 and C{no-cache}.
        """
        for path in [
            "/nothing",
            "/docs/nothing/",
            "/about/",
            "/css/",
            "/img",
            "/.env",
            "/.git/config",
            "/%2eenv",
            "/js/jquery.js",
            "/docs/%2e%2e/.env",
            "/docs%2f..%2f.env",
        ]:
            for version in ("h2", "h1"):
                response = self.get(path, version)
                self.assertEqual(
                    (response.status_code, response.content),
                    (404, SITE["404.html"]),
                    (version, path),
                )
                self.assertEqual(response.headers["cache-control"], "no-cache")

    def test_delivery(self) -> None:
        """
        Assets are delivered as under C{/static/}: references in stylesheets
        fingerprinted for C{/}, C{?v=} immutable, codings, ranges and
        validators, with curl too.
        """
        css = self.get("/css/site.css", **{"accept-encoding": "identity"})
        version = hashlib.sha256(PNG).hexdigest()[:16]
        self.assertIn(f"url(../img/bg.png?v={version})".encode(), css.content)
        png = self.get(f"/img/bg.png?v={version}")
        self.assertEqual(
            png.headers["cache-control"], "public, max-age=31536000, immutable"
        )
        again = self.get("/img/bg.png", **{"if-none-match": png.headers["etag"]})
        self.assertEqual(again.status_code, 304)
        part = self.get("/img/bg.png", "h1", range="bytes=8-11")
        self.assertEqual((part.status_code, part.content), (206, PNG[8:12]))
        # Compression runs in worker processes once the site is served.
        self.server.waitForOutput(r"h2site static files ready")
        done = curl(
            "--http2",
            "--compressed",
            "--output",
            "/dev/null",
            "--write-out",
            "%{http_version} %{response_code} %{size_download}",
            "--header",
            "Accept-Encoding: br",
            f"{self.server.url}/css/site.css",
        )
        httpVersion, status, size = done.stdout.decode().split()
        self.assertEqual((httpVersion, status), ("2", "200"))
        self.assertLess(int(size), len(CSS) // 4)
        headers = curl("--http2", "--head", f"{self.server.url}/").stdout
        self.assertIn(b"HTTP/2 200", headers)
        self.assertIn(b"cache-control: no-cache", headers)

    def test_missingIndexWarned(self) -> None:
        """
        A plain site without an C{index.html} at its top is served, with a
        warning that C{/} is not found.
        """
        self.server.stop()
        os.unlink(self.site / "index.html")
        server = self.start()
        server.waitForOutput(r"has no index\.html at its top, so / is not found")
        self.assertEqual(self.get("/").status_code, 404)
        self.assertEqual(self.get("/about").status_code, 200)

    def test_followSymlinks(self) -> None:
        """
        With C{--follow-symlinks}, the link out of the folder is served and
        not reported; dotfiles are still refused.
        """
        self.server.stop()
        server = self.start("--follow-symlinks")
        self.assertNotIn("symlink", server.output())
        for version in ("h2", "h1"):
            self.assertEqual(self.get("/js/jquery.js", version).content, b"jQuery")
            self.assertEqual(self.get("/.env", version).status_code, 404)


class TemplateSitePublicTests(SynchronousTestCase):
    """
    A template site serves its C{public/} files at C{/}, rendered pages
    winning.
    """

    def test_publicFiles(self) -> None:
        """
        C{robots.txt}, C{favicon.ico}, C{sitemap.xml} and
        C{/.well-known/...} come from C{public/}; pages and C{/static/} are
        as before, and win; what is in neither gets the rendered 404.
        """
        tmp = Path(self.mktemp()).absolute()
        site = makeSite(
            tmp / "site",
            {"index.html": "<p>home", "about.html": "<p>about", "404.html": "<p>gone"},
            {"app.css": b"a{}"},
        )
        public = writeFiles(
            site / "public",
            {
                "robots.txt": b"User-agent: *\n",
                "favicon.ico": b"\x00\x00\x01\x00",
                "sitemap.xml": b"<urlset/>",
                ".well-known/security.txt": b"Contact: x\n",
                "about.html": b"public about",
                ".env": b"SECRET",
            },
        )
        server = startServer(
            self,
            "--site",
            str(site),
            "--port",
            sharedCertificates().endpoint(),
            cwd=tmp,
        )
        self.assertIn(f"h2site serves {site} as a template site", server.output())
        with httpx.Client(
            http2=True,
            verify=sharedCertificates().sslContext(),
            base_url=server.url,
            timeout=TIMEOUT,
        ) as client:
            for name in ["robots.txt", "favicon.ico", "sitemap.xml"]:
                response = client.get("/" + name)
                self.assertEqual(response.content, (public / name).read_bytes())
            known = client.get("/.well-known/security.txt")
            self.assertEqual(known.content, b"Contact: x\n")
            self.assertEqual(client.get("/about").text, "<p>about")
            self.assertEqual(client.get("/about.html").text, "public about")
            self.assertEqual(client.get("/static/app.css").text, "a{}")
            for path in ["/nothing", "/.env", "/public/robots.txt"]:
                response = client.get(path)
                self.assertEqual(
                    (response.status_code, response.text), (404, "<p>gone")
                )


class CheckCommandTests(SynchronousTestCase):
    """
    C{twistd h2site --site DIR --check}: what a site's author runs in CI.
    """

    def test_brokenAndRefused(self) -> None:
        """
        Broken references and refused links are printed, one per line, and
        the exit status is 1; nothing is served, nothing is written.
        """
        tmp = Path(self.mktemp()).absolute()
        site = writeFiles(tmp / "site", dict(SITE))
        (site / "about.html").write_bytes(b"<a href=/missing.html>x</a>")
        outside = writeFiles(tmp / "outside", {"x.js": b""})
        os.symlink(outside / "x.js", site / "js" / "linked.js")
        result = runTwistd("--site", str(site), "--check", cwd=tmp)
        self.assertEqual(result.code, 1, result.stdout + result.stderr)
        lines = result.stdout.splitlines()
        self.assertIn("plain site", lines[0])
        self.assertIn(f"refused symlink: js/linked.js -> {outside / 'x.js'}", lines)
        self.assertIn("broken reference: /about.html -> /missing.html", lines)
        self.assertEqual(
            lines[-1], "1 symlinks refused, 1 broken references in 1 files"
        )
        self.assertFalse((tmp / "state").exists())

    def test_clean(self) -> None:
        """
        The demo site has nothing to report: exit status 0.
        """
        tmp = Path(self.mktemp()).absolute()
        tmp.mkdir()
        result = runTwistd("--site", str(DEMO_SITE), "--check", cwd=tmp)
        self.assertEqual(result.code, 0, result.stdout + result.stderr)
        self.assertEqual(
            result.stdout.splitlines()[-1],
            "0 symlinks refused, 0 broken references in 0 files",
        )
