"""
Tests for L{h2site.web.plain}: a folder served as it is, a plain site and a
template site's C{public/} files, with requests through h2site's real
C{Site} and connections, in memory (L{tests.harness}).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from h2.events import InformationalResponseReceived, ResponseReceived
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource

from h2site.files.store import FileStore, MemoryLimits, StoredFile
from h2site.http.earlyhints import sendEarlyHints
from h2site.preload.policy import PreloadSettings
from h2site.web.plain import buildPlainResource, isPage
from h2site.web.root import buildResource
from h2site.web.static import IMMUTABLE
from tests.h2client import requestHeaders
from tests.harness import Harness, responses

CSS = b"body { background: url(../img/logo.png) }\n" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
LOGO_VERSION = hashlib.sha256(PNG).hexdigest()[:16]
SITE = {
    "index.html": b"<!doctype html><title>home</title>",
    "404.html": b"<!doctype html><title>missing</title>",
    "about.html": b"<!doctype html><title>about</title>",
    "docs/index.html": b"<!doctype html><title>docs</title>",
    "docs/intro.html": b"<!doctype html><title>intro</title>",
    "css/site.css": CSS,
    "img/logo.png": PNG,
    "robots.txt": b"User-agent: *\n",
    "script.rpy": b"print('never run')",
    ".env": b"SECRET=1",
    ".git/config": b"[core]",
    ".well-known/security.txt": b"Contact: mailto:a@example.org\n",
}
LINKS = {"index.html": [b"</css/site.css>; rel=preload; as=style", b"</x.js>; rel=x"]}


def _sync(work: object) -> Deferred[StoredFile | None]:
    return succeed(work())  # type: ignore[operator]


def writeFiles(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def folderStore(root: Path) -> FileStore:
    """
    An empty index of C{root} served at C{/}, reading changed files at once.
    """
    return FileStore(
        str(root), MemoryLimits(), lambda: 0.0, _sync, recheckInterval=0.0, prefix="/"
    )


@dataclass
class Response:
    status: int
    headers: dict[bytes, list[bytes]]
    body: bytes

    def header(self, name: bytes) -> bytes | None:
        values = self.headers.get(name)
        return values[0] if values else None


def parseHTTP11(data: bytes, head: bool = False) -> list[Response]:
    """
    The responses in C{data}, interim ones included (all carry a
    C{Content-Length}, or no body).
    """
    found = []
    while data:
        top, _, data = data.partition(b"\r\n\r\n")
        lines = top.split(b"\r\n")
        status = int(lines[0].split(b" ")[1])
        headers: dict[bytes, list[bytes]] = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers.setdefault(name.strip().lower(), []).append(value.strip())
        length = 0
        if status >= 200 and status != 304 and not head:
            length = int(headers.get(b"content-length", [b"0"])[0])
        found.append(Response(status, headers, data[:length]))
        data = data[length:]
    return found


class FolderTestsMixin:
    """
    Requests to a resource tree through the real C{Site}.
    """

    def root(self, clock: IReactorTime) -> Resource:
        raise NotImplementedError()

    def exchange(
        self, target: bytes, method: bytes = b"GET", **headers: str
    ) -> list[Response]:
        """
        Every response to one HTTP/1.1 request, interim ones first.
        """
        h = Harness(protocol=None)
        h.site.resource = self.root(h.clock)
        fields = b"".join(
            f"{name.replace('_', '-')}: {value}\r\n".encode()
            for name, value in headers.items()
        )
        h.send(method + b" " + target + b" HTTP/1.1\r\n" + fields + b"\r\n")
        h.clock.advance(0)
        return parseHTTP11(h.transport.value(), head=method == b"HEAD")

    def get(self, target: bytes, method: bytes = b"GET", **headers: str) -> Response:
        headers.setdefault("host", "localhost")
        exchanged = self.exchange(target, method, **headers)
        assert len(exchanged) == 1, exchanged
        return exchanged[0]


class PlainSiteTests(FolderTestsMixin, SynchronousTestCase):
    """
    A plain site: the URL rules of static hosts, with C{/static/}'s
    delivery for assets and pages' announcing for HTML files.
    """

    def setUp(self) -> None:
        self.base = Path(self.mktemp()).absolute()
        self.site = writeFiles(self.base / "site", SITE)
        (self.base / "secret.txt").write_text("outside")
        (self.site / "leak.txt").symlink_to(self.base / "secret.txt")
        (self.site / "up").symlink_to(self.base)
        self.preload = PreloadSettings()
        self.store = folderStore(self.site)
        self.built = False

    def root(self, clock: IReactorTime) -> Resource:
        if not self.built:
            self.resource = buildPlainResource(
                self.store,
                clock,
                self.preload,
                sendEarlyHints,
                lambda name: LINKS.get(name, ()),
            )
            self.built = True
        return self.resource

    def test_pages(self) -> None:
        """
        C{/} and C{/dir/} serve the folder's index, C{/page} and
        C{/page.html} the page, each as a page: C{no-cache}, with its
        C{Link} header (also on a 304), an C{ETag}.
        """
        for target, name in [
            (b"/", "index.html"),
            (b"/index.html", "index.html"),
            (b"/?utm=1", "index.html"),
            (b"/about", "about.html"),
            (b"/about.html", "about.html"),
            (b"/docs/", "docs/index.html"),
            (b"/docs/intro", "docs/intro.html"),
        ]:
            response = self.get(target)
            self.assertEqual(
                (response.status, response.body), (200, SITE[name]), target
            )
            self.assertEqual(response.header(b"cache-control"), b"no-cache")
            self.assertEqual(
                response.header(b"content-type"), b"text/html; charset=utf-8"
            )
            self.assertEqual(
                response.headers.get(b"link"),
                [b", ".join(LINKS[name])] if name in LINKS else None,
            )
        etag = self.get(b"/").header(b"etag")
        assert etag is not None
        again = self.get(b"/", if_none_match=etag.decode())
        self.assertEqual((again.status, again.body), (304, b""))
        self.assertEqual(again.headers[b"link"], [b", ".join(LINKS["index.html"])])

    def test_assets(self) -> None:
        """
        Assets are delivered as under C{/static/}: C{no-cache} at their own
        URL, immutable with their fingerprint, references inside
        stylesheets fingerprinted (written for C{/}), ranges, validators
        and codings.
        """
        css = self.get(b"/css/site.css", accept_encoding="br")
        self.assertEqual(css.status, 200)
        self.assertEqual(css.header(b"content-encoding"), b"br")
        self.assertEqual(css.header(b"cache-control"), b"no-cache")
        self.assertIsNone(css.header(b"link"))
        plain = self.get(b"/css/site.css")
        self.assertIn(b"../img/logo.png?v=" + LOGO_VERSION.encode(), plain.body)
        logo = self.get(b"/img/logo.png?v=" + LOGO_VERSION.encode())
        self.assertEqual((logo.body, logo.header(b"cache-control")), (PNG, IMMUTABLE))
        self.assertEqual(
            self.get(b"/img/logo.png?v=old").header(b"cache-control"), b"no-cache"
        )
        part = self.get(b"/img/logo.png", range="bytes=0-3")
        self.assertEqual((part.status, part.body), (206, PNG[:4]))
        etag = logo.header(b"etag")
        assert etag is not None
        self.assertEqual(
            self.get(b"/img/logo.png", if_none_match=etag.decode()).status, 304
        )

    def test_folderRedirect(self) -> None:
        """
        A folder with an index, asked for without its slash, is a 308 to the
        path with it, the query kept; the C{Location} is a path, whatever
        the C{Host} says.  C{HEAD} gets the same, without a body.
        """
        for method in (b"GET", b"HEAD"):
            response = self.get(b"/docs?a=1&b=%20", method, host="evil.example")
            self.assertEqual(response.status, 308)
            self.assertEqual(response.headers[b"location"], [b"/docs/?a=1&b=%20"])
            self.assertEqual(response.header(b"cache-control"), b"no-cache")
            self.assertEqual(
                response.body,
                b"" if method == b"HEAD" else b"This page is at /docs/?a=1&b=%20\n",
            )

    def test_notFoundPage(self) -> None:
        """
        Where nothing is served, the site's C{404.html} is sent with status
        404, C{no-cache} and no validators; without one, h2site's own page.
        """
        for target in [b"/nothing", b"/docs/nothing/", b"/css/", b"/about/"]:
            response = self.get(target)
            self.assertEqual((response.status, response.body), (404, SITE["404.html"]))
            self.assertEqual(response.header(b"cache-control"), b"no-cache")
            self.assertIsNone(response.header(b"etag"))
        os.unlink(self.site / "404.html")
        self.store = folderStore(self.site)
        self.built = False
        response = self.get(b"/nothing")
        self.assertEqual(response.status, 404)
        self.assertIn(b"<h1>Not found</h1>", response.body)

    def test_refused(self) -> None:
        """
        Dotfiles, folders (no listings), symlinks out of the folder and
        every way of climbing out of it are not found.
        """
        for target in [
            b"/.env",
            b"/%2eenv",
            b"/.git/config",
            b"/.git/",
            b"/leak.txt",
            b"/up/secret.txt",
            b"/../secret.txt",
            b"/%2e%2e/secret.txt",
            b"/docs%2f..%2f..%2fsecret.txt",
            b"/docs/..%5c..%5csecret.txt",
            b"//etc/passwd",
        ]:
            response = self.get(target)
            self.assertEqual((response.status, response.body), (404, SITE["404.html"]))

    def test_wellKnownAndScripts(self) -> None:
        """
        What is below C{/.well-known/} is served; a C{.rpy} is a file, sent
        as it is, never run.
        """
        known = self.get(b"/.well-known/security.txt")
        self.assertEqual(known.body, SITE[".well-known/security.txt"])
        script = self.get(b"/script.rpy")
        self.assertEqual(script.body, SITE["script.rpy"])
        self.assertEqual(script.header(b"content-type"), b"application/octet-stream")

    def test_methods(self) -> None:
        """
        Only C{GET} and C{HEAD}.
        """
        self.assertEqual(self.get(b"/", b"POST", content_length="0").status, 405)
        head = self.get(b"/about", b"HEAD")
        self.assertEqual((head.status, head.body), (200, b""))

    def test_changesOnDisk(self) -> None:
        """
        A file added after the index was built is served, one removed is
        not found, before any reload.
        """
        self.get(b"/")
        (self.site / "new.html").write_bytes(b"new")
        self.assertEqual(self.get(b"/new").body, b"new")
        (self.site / "docs" / "index.html").unlink()
        self.assertEqual(self.get(b"/docs/").status, 404)
        self.assertEqual(self.get(b"/docs").status, 404)

    def http2(
        self, path: str, navigate: bool, h: Harness | None = None
    ) -> tuple[list[type], dict[str, object]]:
        """
        Request C{path} over HTTP/2 (on a new connection, or on C{h}'s): the
        kinds of response heads received, in order, and the final response.
        """
        if h is None:
            h = Harness()
            h.site.resource = self.root(h.clock)
        streamID = h.client.get_next_available_stream_id()
        extra = [(b"sec-fetch-mode", b"navigate")] if navigate else []
        h.client.send_headers(streamID, requestHeaders(path) + extra, end_stream=True)
        h.send()
        events: list[object] = []
        # Bodies on disk stream a chunk per reactor turn.
        for _ in range(100):
            h.clock.advance(0)
            events += h.receive()
            if responses(events).get(streamID, {}).get("ended"):
                break
        heads = [
            type(e)
            for e in events
            if isinstance(e, InformationalResponseReceived | ResponseReceived)
        ]
        return heads, responses(events)[streamID]

    def test_earlyHints(self) -> None:
        """
        A navigation over HTTP/2 to a page with links gets a 103 with them
        first; a fetch of an asset, or a page without links, does not.
        """
        for path, navigate, interim in [
            ("/", True, True),
            ("/", False, False),
            ("/about", True, False),
            ("/css/site.css", True, False),
        ]:
            heads, response = self.http2(path, navigate)
            expected = [InformationalResponseReceived] if interim else []
            self.assertEqual(heads, [*expected, ResponseReceived], path)
            self.assertEqual(response["status"], 200)

    def test_earlyHintsOnceWhenReread(self) -> None:
        """
        A page on disk found changed as it is opened is read again and
        sent new, after one 103, not two.
        """
        self.store = FileStore(
            str(self.site),
            MemoryLimits(maxFileSize=0, maxTotalSize=0),
            lambda: 0.0,
            _sync,
            recheckInterval=1e9,
            prefix="/",
        )
        h = Harness()
        h.site.resource = self.root(h.clock)
        self.http2("/", True, h)
        (self.site / "index.html").write_bytes(b"<!doctype html><title>new</title>")
        heads, response = self.http2("/", True, h)
        self.assertEqual(heads, [InformationalResponseReceived, ResponseReceived])
        self.assertEqual(response["body"], b"<!doctype html><title>new</title>")

    def test_noPreload(self) -> None:
        """
        With preload off, pages announce nothing.
        """
        self.preload = PreloadSettings(enabled=False)
        self.assertIsNone(self.get(b"/").header(b"link"))

    def test_storeServedAtRoot(self) -> None:
        """
        A plain site's store must write its URLs for C{/}.
        """
        store = FileStore(str(self.site), MemoryLimits(), lambda: 0.0, _sync)
        self.assertRaises(ValueError, buildPlainResource, store, Harness().clock)

    def test_isPage(self) -> None:
        """
        HTML files are pages, whatever the parameters; nothing else is.
        """
        self.assertTrue(isPage("text/html; charset=utf-8"))
        self.assertTrue(isPage("TEXT/HTML"))
        self.assertFalse(isPage("application/xhtml+xml"))
        self.assertFalse(isPage("text/plain"))


class PublicFolderTests(FolderTestsMixin, SynchronousTestCase):
    """
    A template site's C{public/} files are served at C{/} by the same rules;
    rendered pages win over them, C{/static/} stays the static folder's,
    and the not-found page is the rendered one.
    """

    def setUp(self) -> None:
        self.site = writeFiles(
            Path(self.mktemp()).absolute(),
            {
                "templates/index.html": b"<p>home page",
                "templates/about.html": b"<p>about page",
                "templates/404.html": b"<p>rendered 404",
                "static/app.css": b"a{}",
                "public/robots.txt": b"User-agent: *\n",
                "public/favicon.ico": b"\x00\x00\x01\x00",
                "public/.well-known/security.txt": b"Contact: x\n",
                "public/about.html": b"<p>public about",
                "public/index.html": b"<p>public index",
                "public/static/app.css": b"never",
                "public/notes/index.html": b"<p>notes",
                "public/.env": b"SECRET",
            },
        )
        self.public = True

    def root(self, clock: IReactorTime) -> Resource:
        static = FileStore(
            str(self.site / "static"), MemoryLimits(), lambda: 0.0, _sync
        )
        public = folderStore(self.site / "public") if self.public else None
        return buildResource(str(self.site), clock, static, public=public)

    def test_publicFiles(self) -> None:
        """
        The files of C{public/} are served at C{/}, with the plain rules.
        """
        for target, body in [
            (b"/robots.txt", b"User-agent: *\n"),
            (b"/favicon.ico", b"\x00\x00\x01\x00"),
            (b"/.well-known/security.txt", b"Contact: x\n"),
            (b"/notes/", b"<p>notes"),
        ]:
            self.assertEqual(self.get(target).body, body, target)
        self.assertEqual(self.get(b"/notes").headers[b"location"], [b"/notes/"])

    def test_pagesWin(self) -> None:
        """
        A rendered page wins at its URL; a public file is still served at
        another of its own.
        """
        self.assertEqual(self.get(b"/").body, b"<p>home page")
        self.assertEqual(self.get(b"/about").body, b"<p>about page")
        self.assertEqual(self.get(b"/about.html").body, b"<p>public about")
        self.assertEqual(self.get(b"/static/app.css").body, b"a{}")

    def test_notFound(self) -> None:
        """
        Where neither has anything, or the rules refuse, the rendered 404.
        """
        for target in [b"/nothing", b"/.env", b"/static/nothing", b"/notes/x/"]:
            response = self.get(target)
            self.assertEqual(
                (response.status, response.body), (404, b"<p>rendered 404"), target
            )

    def test_noPublicFolder(self) -> None:
        """
        Without C{public/}, the tree is as before: pages, static, 404.
        """
        self.public = False
        self.assertEqual(self.get(b"/robots.txt").status, 404)
        self.assertEqual(self.get(b"/about.html").status, 404)
        self.assertEqual(self.get(b"/about").body, b"<p>about page")
