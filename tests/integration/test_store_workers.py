"""
End-to-end tests of the file store at the scale of real sites: its worker
processes for real (started, answering, killed) serving over a real socket
to a real HTTP client, and the real C{twistd h2site} reloading only what
changed.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import signal
import time
from pathlib import Path
from typing import Any

import brotli
import httpx
from twisted.internet import reactor as _reactor
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, HTTPConnectionPool, readBody
from twisted.web.http_headers import Headers
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site

from h2site.files.buildcache import BuildCache
from h2site.files.store import FileStore, MemoryLimits
from h2site.files.workers import ProcessWorkers
from h2site.web.delivery import respond
from tests.helpers import makeSite, sharedCertificates, startServer

reactor: Any = _reactor

CSS = b"".join(
    b".rule-%d { margin: %dpx; color: #%06x }\n" % (i, i, i) for i in range(3000)
)
BIG = b"".join(b"line %d of a file too large for memory\n" % i for i in range(20_000))
PAGE = b'<!doctype html><link rel="stylesheet" href="css/app.css">\n' + b"".join(
    b"<p>paragraph %d of a page too large for memory</p>\n" % i for i in range(8000)
)


class _Files(Resource):
    """
    The store's files at C{/}, as delivery sends them.
    """

    isLeaf = True

    def __init__(self, store: FileStore) -> None:
        super().__init__()
        self._store = store

    def render_GET(self, request: Request) -> int | bytes:
        name = "/".join(s.decode() for s in request.postpath or [])
        stored = self._store.get(name)
        if stored is None:
            request.setResponseCode(404)
            return b""
        respond(request, stored.representation, b"no-cache", reactor)
        return NOT_DONE_YET


class WorkerProcessesTests(TestCase):
    """
    A store whose work is done by real worker processes: files are sent as
    they are at once, and in their best coding once the store has settled.
    """

    timeout = 120

    def setUp(self) -> Deferred[None]:  # type: ignore[override]
        root = Path(self.mktemp()).absolute()
        (root / "css").mkdir(parents=True)
        (root / "css" / "app.css").write_bytes(CSS)
        (root / "big.txt").write_bytes(BIG)
        (root / "big.html").write_bytes(PAGE)
        self.workers = ProcessWorkers(reactor, processes=2)
        self.addCleanup(self.workers.stop)
        self.store = FileStore(
            str(root),
            MemoryLimits(maxFileSize=256 * 1024),
            time.monotonic,
            deferToThread,
            cache=BuildCache(Path(self.mktemp())),
            prefix="/",
            workers=self.workers,
        )
        self.store.build()
        port = reactor.listenTCP(0, Site(_Files(self.store)), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        self.url = f"http://127.0.0.1:{port.getHost().port}/"
        self.agent = Agent(reactor, pool=HTTPConnectionPool(reactor, persistent=False))
        # The first jobs are queued when the reactor turns.
        d: Deferred[None] = Deferred()
        reactor.callLater(0, d.callback, None)
        return d

    async def get(self, name: str) -> tuple[str | None, str, bytes]:
        """
        The coding, ETag and bytes of C{name}, asked for with every coding.
        """
        response = await self.agent.request(
            b"GET",
            (self.url + name).encode(),
            Headers({b"accept-encoding": [b"br, gzip"]}),
        )
        body = await readBody(response)
        coding = response.headers.getRawHeaders(b"content-encoding")
        etag = response.headers.getRawHeaders(b"etag") or [b""]
        return (coding[0].decode() if coding else None), etag[0].decode(), body

    async def test_identityThenBrotli(self) -> None:
        """
        Before the workers are done a file goes out as it is, under the
        ETag of its bytes; after, with brotli under its own ETag; a file
        too large for memory too, streamed from the cache folder.
        """
        coding, etag, body = await self.get("css/app.css")
        self.assertEqual((coding, body), (None, CSS))
        self.assertEqual(etag, f'"{hashlib.sha256(CSS).hexdigest()[:32]}"')
        await self.store.settled()
        coding, brEtag, body = await self.get("css/app.css")
        self.assertEqual(coding, "br")
        self.assertEqual(brotli.decompress(body), CSS)
        self.assertNotEqual(brEtag, etag)
        coding, _, body = await self.get("big.txt")
        self.assertEqual(coding, "br")
        self.assertEqual(brotli.decompress(body), BIG)
        big = self.store.get("big.txt")
        assert big is not None
        self.assertIsNone(big.representation.identity.data)
        gz = big.representation.bodies["gzip"]
        assert gz.path is not None
        self.assertEqual(gzip.decompress(Path(gz.path).read_bytes()), BIG)

    async def test_largePageFingerprinted(self) -> None:
        """
        A page too large for memory is fingerprinted by a worker into a file
        of the cache folder, sent from there, and with brotli made from it.
        """
        await self.store.settled()
        version = self.store.version("css/app.css")
        assert version is not None
        named = b'"css/app.css?v=' + version.encode() + b'"'
        sent = PAGE.replace(b'"css/app.css"', named)
        coding, _, body = await self.get("big.html")
        self.assertEqual((coding, brotli.decompress(body)), ("br", sent))
        page = self.store.get("big.html")
        assert page is not None
        identity = page.representation.identity
        assert identity.path is not None
        self.assertNotEqual(identity.path, page.realPath)
        self.assertEqual(Path(identity.path).read_bytes(), sent)
        self.assertEqual(
            self.store.version("big.html"), hashlib.sha256(sent).hexdigest()[:16]
        )

    async def test_stopKills(self) -> None:
        """
        Stopping the workers kills them, compressing or not, at once.
        """
        await self.workers.stop()
        self.assertNoResult(self.store.settled())


class ReloadReadsWhatChangedTests(TestCase):
    """
    The real server, reloaded after one file was edited, reads that file
    alone.
    """

    def test_oneFileRead(self) -> None:
        """
        After SIGHUP, the build reads the one file edited; the others are
        taken from the last build, and the edited one is served new.
        """
        static = {f"css/part{i}.css": CSS[i:] for i in range(8)}
        static["big.txt"] = BIG
        site = makeSite(
            Path(self.mktemp()).absolute(),
            {"index.html": "<!doctype html><title>t</title><p>home"},
            static,
        )
        server = startServer(
            self,
            "--site",
            str(site),
            "--port",
            sharedCertificates().endpoint(),
            cwd=site,
        )
        first = server.waitForOutput(
            r"h2site indexed (\d+) static files .*: (\d+) read"
        )
        self.assertEqual(first.group(1), first.group(2))
        (site / "static" / "css" / "part3.css").write_bytes(b"p { color: blue }\n")
        server.signal(signal.SIGHUP)
        server.waitForOutput(r"reloaded; now serving the new version")
        again = server.waitForOutput(
            r"h2site indexed (\d+) static files .*: (\d+) read, (\d+) unchanged",
            count=2,
        )
        self.assertEqual(again.groups(), ("9", "1", "8"))
        with httpx.Client(
            verify=sharedCertificates().sslContext(), timeout=30
        ) as client:
            r = client.get(server.url + "/static/css/part3.css")
        self.assertEqual(r.content, b"p { color: blue }\n")
        built = re.search(r"built in ([0-9.]+) s", server.output())
        assert built is not None
        # Not a timing assertion: the figure is there for operators.
        self.assertGreaterEqual(float(built.group(1)), 0.0)
