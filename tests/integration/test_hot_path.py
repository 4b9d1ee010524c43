"""
The hot path (L{h2site.web.hot}) answers exactly as the general path: the
real C{twistd h2site} serving the demo site, a template site with
C{public/} files and operator headers, and a plain site, asked for every
file over both paths.

A request whose HEADERS frame ends its stream may take the hot path; the
same request with its END_STREAM in an empty DATA frame after never does.
Both are sent for every URL with every set of request headers below, and
their responses (the 103s, status, every header field in order, the body)
and access log lines must be the same, but for the date (only if the
second changed in between).
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Sequence
from pathlib import Path

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import (
    DataReceived,
    InformationalResponseReceived,
    ResponseReceived,
    StreamEnded,
    StreamReset,
)
from twisted.trial.unittest import SynchronousTestCase

from h2site.sites.templates import routeForTemplate
from tests.helpers import (
    TIMEOUT,
    copySite,
    makeSite,
    sharedCertificates,
    startServer,
)
from tests.integration.test_plain_site import SITE as PLAIN_SITE
from tests.integration.test_plain_site import writeFiles

Fields = list[tuple[bytes, bytes]]

#: Request headers every request carries, for the log lines.
BASE = [(b"user-agent", b"hot-path-test/1"), (b"referer", b"https://example.org/")]

#: Browser-like headers of a navigation (which may get a 103).
NAVIGATE = [
    (b"accept", b"text/html,application/xhtml+xml,*/*;q=0.8"),
    (b"sec-fetch-mode", b"navigate"),
    (b"accept-encoding", b"gzip, deflate, br, zstd"),
]


class Exchange:
    """
    One response as the client saw it.
    """

    def __init__(self) -> None:
        self.informational: list[Fields] = []
        self.fields: Fields = []
        self.body = b""
        self.reset = False

    def header(self, name: bytes) -> bytes | None:
        for field, value in self.fields:
            if field == name:
                return value
        return None


class Client:
    """
    An HTTP/2 client over TLS that keeps every response field as it came.
    """

    def __init__(self, port: int) -> None:
        raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        context = sharedCertificates().sslContext(("h2",))
        self.tls = context.wrap_socket(raw, server_hostname="localhost")
        self.h2 = H2Connection(
            H2Configuration(
                client_side=True,
                header_encoding=None,
                validate_inbound_headers=False,
                normalize_inbound_headers=False,
            )
        )
        self.h2.initiate_connection()
        self.h2.increment_flow_control_window(2**30)
        self.tls.sendall(self.h2.data_to_send())

    def close(self) -> None:
        self.tls.close()

    def request(
        self, method: bytes, path: bytes, headers: Fields, hot: bool
    ) -> Exchange:
        """
        Send a request, its END_STREAM on the HEADERS frame (C{hot}) or in an
        empty DATA frame after it, and read its response.
        """
        h2 = self.h2
        streamID = h2.get_next_available_stream_id()
        fields = [
            (b":method", method),
            (b":path", path),
            (b":scheme", b"https"),
            (b":authority", b"localhost"),
            *headers,
        ]
        h2.send_headers(streamID, fields, end_stream=hot)
        if not hot:
            self.tls.sendall(h2.data_to_send())
            h2.end_stream(streamID)
        self.tls.sendall(h2.data_to_send())
        exchange = Exchange()
        deadline = time.monotonic() + TIMEOUT
        while True:
            if time.monotonic() > deadline:
                raise AssertionError(f"no response for {path!r}")
            data = self.tls.recv(1 << 20)
            if not data:
                raise AssertionError("connection closed")
            done = False
            for event in h2.receive_data(data):
                if getattr(event, "stream_id", None) != streamID:
                    continue
                if isinstance(event, InformationalResponseReceived):
                    exchange.informational.append(list(event.headers))
                elif isinstance(event, ResponseReceived):
                    exchange.fields = list(event.headers)
                elif isinstance(event, DataReceived):
                    exchange.body += event.data
                    h2.acknowledge_received_data(event.flow_controlled_length, streamID)
                elif isinstance(event, StreamEnded):
                    done = True
                elif isinstance(event, StreamReset):
                    exchange.reset = True
                    done = True
            pending = h2.data_to_send()
            if pending:
                self.tls.sendall(pending)
            if done:
                return exchange


def variants(etag: bytes | None) -> list[tuple[str, bytes, Fields]]:
    """
    The request headers each URL is asked with: (label, method, fields).
    """
    out: list[tuple[str, bytes, Fields]] = [
        ("plain", b"GET", []),
        ("identity", b"GET", [(b"accept-encoding", b"identity")]),
        ("gzip", b"GET", [(b"accept-encoding", b"gzip")]),
        ("br", b"GET", [(b"accept-encoding", b"br;q=1, gzip;q=0.5")]),
        ("navigate", b"GET", NAVIGATE),
        (
            "hard reload",
            b"GET",
            [*NAVIGATE, (b"cache-control", b"no-cache"), (b"pragma", b"no-cache")],
        ),
        ("head", b"HEAD", [(b"accept-encoding", b"gzip")]),
        ("no match", b"GET", [(b"if-none-match", b'"nothing", W/"else"')]),
        ("range", b"GET", [(b"range", b"bytes=0-9")]),
        ("ims", b"GET", [(b"if-modified-since", b"Sun, 06 Nov 1994 08:49:37 GMT")]),
    ]
    if etag is not None:
        out += [
            ("match", b"GET", [(b"if-none-match", etag)]),
            ("match head", b"HEAD", [(b"if-none-match", b'"x", ' + etag)]),
            ("match navigate", b"GET", [*NAVIGATE, (b"if-none-match", etag)]),
            (
                "two lines",
                b"GET",
                [(b"if-none-match", b'"x"'), (b"if-none-match", etag)],
            ),
        ]
    return out


_STAMP = re.compile(r"\[[^]]*\]")


class LogLines:
    """
    The lines an access log file gains.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._offset = 0

    def read(self, atLeast: int) -> list[str]:
        """
        The lines added since the last read, waiting for C{atLeast}.
        """
        deadline = time.monotonic() + TIMEOUT
        text = ""
        while True:
            if self._path.exists():
                with self._path.open(encoding="utf-8") as f:
                    f.seek(self._offset)
                    text += f.read()
                    self._offset = f.tell()
            if text.count("\n") >= atLeast or time.monotonic() > deadline:
                return text.splitlines()
            time.sleep(0.01)


class HotPathTests(SynchronousTestCase):
    """
    Every file of each site, both ways, with the same result.
    """

    def serve(self, site: Path, *args: str) -> tuple[int, Path]:
        log = Path(self.mktemp()).absolute()
        server = startServer(
            self,
            "--site",
            str(site),
            "--port",
            sharedCertificates().endpoint(),
            "--access-log",
            str(log),
            *args,
            cwd=site.parent,
        )
        return server.port, log

    def compare(self, port: int, log: Path, urls: Sequence[str]) -> int:
        """
        Ask for every URL (and the fingerprinted URLs the pages name) both
        ways with every variant; return how many requests were compared.
        """
        client = Client(port)
        self.addCleanup(client.close)
        seen = list(dict.fromkeys(urls))
        for url in list(seen):
            first = client.request(b"GET", url.encode(), BASE, hot=False)
            found = re.findall(rb'"(/[^"?]*\?v=[0-9a-f]+)"', first.body)
            found += re.findall(
                rb"<(/[^>?]*\?v=[0-9a-f]+)>", first.header(b"link") or b""
            )
            for each in found:
                if each.decode() not in seen:
                    seen.append(each.decode())
        lines = LogLines(log)
        count = 0
        for url in seen:
            for query in ("", "?q=1&v=0"):
                path = (url + query if "?" not in url else url).encode()
                etag = client.request(b"GET", path, BASE, hot=False).header(b"etag")
                for label, method, headers in variants(etag):
                    what = f"{method!r} {path!r} ({label})"
                    fields = [*BASE, *headers]
                    hot = client.request(method, path, fields, hot=True)
                    general = client.request(method, path, fields, hot=False)
                    self.assertSame(hot, general, what)
                    logged = lines.read(2)
                    hotLine, generalLine = logged[-2:]
                    self.assertIn(f" {path.decode()} HTTP/2", hotLine, what)
                    self.assertEqual(
                        _STAMP.sub("", hotLine), _STAMP.sub("", generalLine), what
                    )
                    count += 2
        return count

    def assertSame(self, hot: Exchange, general: Exchange, what: str) -> None:
        self.assertFalse(hot.reset or general.reset, what)
        self.assertEqual(hot.informational, general.informational, what)
        self.assertEqual(hot.body, general.body, what)
        hotFields, generalFields = hot.fields, general.fields
        self.assertEqual([n for n, _ in hotFields], [n for n, _ in generalFields], what)
        for (name, a), (_, b) in zip(hotFields, generalFields, strict=True):
            if name == b"date" and a != b:
                # Only if the second changed between the two requests.
                self.assertLessEqual(
                    abs(_seconds(a) - _seconds(b)), 1, f"{what}: {a!r} {b!r}"
                )
            else:
                self.assertEqual(a, b, f"{what}: {name!r}")

    def test_demoSite(self) -> None:
        """
        The demo site: its pages (with hints), static files, fingerprinted
        URLs, and paths that are not found.
        """
        site = copySite(Path(self.mktemp()).absolute() / "site")
        port, log = self.serve(site)
        urls = [*pageURLs(site), *fileURLs(site / "static", "/static/"), *MISSES]
        self.assertGreater(self.compare(port, log, urls), 500)

    def test_templateSiteWithPublic(self) -> None:
        """
        A template site with C{public/} files, operator headers and a CSP,
        and no early hints.
        """
        root = Path(self.mktemp()).absolute()
        site = makeSite(
            root / "site",
            {
                "index.html": "<!doctype html><link rel=stylesheet "
                "href=\"{{ static_url('a.css') }}\"><p>home",
                "blog/index.html": "<!doctype html><p>blog",
                "blog/post.html": "<!doctype html><p>post",
                "empty.html": "",
            },
            {"a.css": b"p { color: red }\n" * 50, "empty.txt": b"", "b.js": b"1"},
        )
        writeFiles(
            site / "public",
            {
                "robots.txt": b"User-agent: *\n",
                "index.html": b"shadowed by the page",
                "docs/index.html": b"<!doctype html><link rel=stylesheet "
                b'href="/static/a.css"><p>docs',
                "docs/page.html": b"<!doctype html><p>page",
            },
        )
        port, log = self.serve(
            site,
            "--header",
            "Permissions-Policy: camera=()",
            "--header",
            "X-Extra: one",
            "--header",
            "X-Extra: two",
            "--csp",
            "default-src 'self'",
            "--early-hints",
            "off",
        )
        urls = [
            *pageURLs(site),
            *fileURLs(site / "static", "/static/"),
            *fileURLs(site / "public", "/"),
            "/docs/",
            "/docs",
            *MISSES,
        ]
        self.assertGreater(self.compare(port, log, urls), 300)

    def test_plainSite(self) -> None:
        """
        A plain site: its pages with hints, assets, folder redirects and
        files never served.
        """
        site = writeFiles(Path(self.mktemp()).absolute() / "site", PLAIN_SITE)
        port, log = self.serve(site, "--hsts-max-age", "0")
        urls = [
            *fileURLs(site, "/"),
            "/docs/",
            "/docs",
            "/docs/api/",
            "/about",
            *MISSES,
        ]
        self.assertGreater(self.compare(port, log, urls), 300)


#: Paths that find nothing, or something the hot path leaves alone.
MISSES = ["/nothing", "/static/", "/static", "/static/nothing.css", "/%7e", "/a//b"]


def pageURLs(site: Path) -> list[str]:
    templates = site / "templates"
    routes = (
        routeForTemplate(p.relative_to(templates).as_posix())
        for p in sorted(templates.rglob("*.html"))
    )
    return [r for r in routes if r is not None]


def fileURLs(folder: Path, prefix: str) -> list[str]:
    return [
        prefix + p.relative_to(folder).as_posix()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    ]


def _seconds(date: bytes) -> float:
    return time.mktime(time.strptime(date.decode(), "%a, %d %b %Y %H:%M:%S GMT"))
