"""
Tests for L{h2site.web.livereload}: the event stream's framing, its
streams (opened, told, kept alive, ended), the root that serves it beside
the site, and, over h2site's own HTTP/2 connection, that a stream's
heartbeat keeps the connection from being closed as idle.
"""

from __future__ import annotations

from typing import Any, cast

from h2.events import DataReceived
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource, getChildForRequest
from twisted.web.server import NOT_DONE_YET, Request
from twisted.web.test.requesthelper import DummyRequest

from h2site.http.limits import ConnectionLimits
from h2site.web.devpages import DevPages
from h2site.web.livereload import (
    RETRY_MS,
    SCRIPT,
    DevRoot,
    LiveReload,
    sseEvent,
)
from tests.harness import Harness


def eventsRequest(build: bytes | None) -> DummyRequest:
    request = DummyRequest([b".h2site", b"events"])
    if build is not None:
        request.args = {b"build": [build]}
    return request


def asRequest(request: DummyRequest) -> Request:
    """
    A L{DummyRequest} where a L{Request} is wanted: it has what is used.
    """
    return cast(Request, request)


def written(request: DummyRequest) -> bytes:
    return b"".join(request.written)


class FramingTests(SynchronousTestCase):
    """
    L{sseEvent} frames server-sent events.
    """

    def test_event(self) -> None:
        """
        An event is its type and data lines, ended by a blank line.
        """
        self.assertEqual(sseEvent("reload", "b-1"), b"event: reload\ndata: b-1\n\n")

    def test_multilineData(self) -> None:
        """
        Data of several lines is one C{data:} field per line.
        """
        self.assertEqual(sseEvent("x", "a\nb"), b"event: x\ndata: a\ndata: b\n\n")

    def test_comment(self) -> None:
        """
        A heartbeat is a comment line, which clients ignore.
        """
        self.assertEqual(sseEvent(None), b":\n\n")


class LiveReloadTests(SynchronousTestCase):
    """
    L{LiveReload} keeps the open event streams and tells them of builds.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.live = LiveReload(self.clock, heartbeat=10)

    def test_open(self) -> None:
        """
        A stream is sent as C{text/event-stream}, never stored, with the
        reconnection delay first, and stays open.
        """
        request = eventsRequest(b"b-1")
        self.assertEqual(self.live.open(asRequest(request), "b-1"), NOT_DONE_YET)
        headers = request.responseHeaders
        self.assertEqual(
            headers.getRawHeaders(b"content-type"),
            [b"text/event-stream; charset=utf-8"],
        )
        self.assertEqual(headers.getRawHeaders(b"cache-control"), [b"no-store"])
        self.assertEqual(written(request), b"retry: %d\n\n" % RETRY_MS)
        self.assertEqual(request.finished, 0)
        self.assertEqual(len(self.live), 1)

    def test_stalePage(self) -> None:
        """
        A page of another build than the one served (a change landed while
        it loaded, or the server restarted) is told to reload at once.
        """
        for build in [b"b-1", None]:
            request = eventsRequest(build)
            self.live.open(asRequest(request), "b-2")
            self.assertTrue(written(request).endswith(sseEvent("reload", "b-2")))

    def test_reload(self) -> None:
        """
        L{LiveReload.reload} tells every open stream; a stream that ended is
        forgotten.
        """
        first, second = eventsRequest(b"b-1"), eventsRequest(b"b-1")
        self.live.open(asRequest(first), "b-1")
        self.live.open(asRequest(second), "b-1")
        second.finish()
        self.assertEqual(len(self.live), 1)
        self.assertEqual(self.live.reload("b-2"), 1)
        self.assertTrue(written(first).endswith(sseEvent("reload", "b-2")))
        self.assertNotIn(b"b-2", written(second))

    def test_lostStream(self) -> None:
        """
        A stream whose connection is lost is forgotten.
        """
        request = eventsRequest(b"b-1")
        self.live.open(asRequest(request), "b-1")
        request.processingFailed(Exception("lost"))
        self.assertEqual(len(self.live), 0)

    def test_heartbeat(self) -> None:
        """
        Once started, every open stream gets a comment line each heartbeat.
        """
        request = eventsRequest(b"b-1")
        self.live.open(asRequest(request), "b-1")
        self.live.start()
        self.clock.advance(9)
        self.assertNotIn(b":\n\n", written(request).replace(b"retry", b""))
        self.clock.advance(1)
        self.assertTrue(written(request).endswith(b":\n\n"))
        self.clock.advance(10)
        self.assertEqual(written(request).count(b":\n\n"), 2)

    def test_close(self) -> None:
        """
        Closing ends every stream and the heartbeat; a stream opened after
        is ended at once (the page reconnects to the next server).
        """
        request = eventsRequest(b"b-1")
        self.live.open(asRequest(request), "b-1")
        self.live.start()
        self.live.close()
        self.assertEqual(request.finished, 1)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        late = eventsRequest(b"b-1")
        self.live.open(asRequest(late), "b-1")
        self.assertEqual(late.finished, 1)
        self.assertEqual(written(late), b"retry: %d\n\n" % RETRY_MS)
        self.assertEqual(len(self.live), 0)

    def test_buildTokens(self) -> None:
        """
        Each build has a token of its own, and another server's differ.
        """
        tokens = {self.live.begin().build for _ in range(3)}
        tokens.add(LiveReload(self.clock).begin().build)
        self.assertEqual(len(tokens), 4)


class Site(Resource):
    """
    A site root with one page.
    """

    def __init__(self) -> None:
        super().__init__()
        page = Resource()
        page.render_GET = lambda request: b"page"  # type: ignore[attr-defined]
        self.putChild(b"page", page)


class Leaf(Resource):
    """
    A root that takes the whole path, as a plain site's does.
    """

    isLeaf = True

    def render_GET(self, request: DummyRequest) -> bytes:
        return b"/".join(request.postpath)


class DevRootTests(SynchronousTestCase):
    """
    L{DevRoot} serves C{/.h2site/} beside the site.
    """

    def setUp(self) -> None:
        self.live = LiveReload(Clock())
        self.pages = DevPages("b-1")

    def resourceFor(self, root: Resource, *path: bytes) -> tuple[Any, DummyRequest]:
        request = DummyRequest(list(path))
        return getChildForRequest(root, request), request

    def render(self, root: Resource, *path: bytes) -> DummyRequest:
        resource, request = self.resourceFor(root, *path)
        result = resource.render(request)
        if isinstance(result, bytes):
            request.write(result)
        return request

    def test_script(self) -> None:
        """
        C{/.h2site/live.js} is the script, revalidated each time.
        """
        request = self.render(
            self.live.wrap(Site(), self.pages), b".h2site", b"live.js"
        )
        self.assertEqual(written(request), SCRIPT)
        self.assertEqual(
            request.responseHeaders.getRawHeaders(b"content-type"),
            [b"text/javascript; charset=utf-8"],
        )
        self.assertEqual(
            request.responseHeaders.getRawHeaders(b"cache-control"), [b"no-cache"]
        )

    def test_events(self) -> None:
        """
        C{/.h2site/events} opens a stream for the build the root serves.
        """
        root = self.live.wrap(Site(), self.pages)
        request = self.render(root, b".h2site", b"events")
        self.assertEqual(len(self.live), 1)
        self.assertIn(sseEvent("reload", "b-1"), written(request))
        self.assertIsInstance(root, DevRoot)
        self.assertEqual(root.build, "b-1")

    def test_otherReserved(self) -> None:
        """
        Anything else under C{/.h2site/} is not found.
        """
        request = self.render(self.live.wrap(Site(), self.pages), b".h2site", b"x")
        self.assertEqual(request.responseCode, 404)

    def test_site(self) -> None:
        """
        Every other path goes to the site's root.
        """
        request = self.render(self.live.wrap(Site(), self.pages), b"page")
        self.assertEqual(written(request), b"page")

    def test_leafSite(self) -> None:
        """
        A site root that takes the whole path gets all of it.
        """
        request = self.render(self.live.wrap(Leaf(), self.pages), b"a", b"b.html")
        self.assertEqual(written(request), b"a/b.html")

    def test_errors(self) -> None:
        """
        The root keeps the build's errors, each once.
        """
        self.pages.errors.extend(["x", "y", "x"])
        self.assertEqual(self.live.wrap(Site(), self.pages).errors, ("x", "y"))


class HeartbeatOverHTTP2Tests(SynchronousTestCase):
    """
    Over h2site's HTTP/2 connection, an event stream's heartbeat is
    progress: the connection outlives the idle timeout while the stream is
    open (and without a heartbeat, it would not).
    """

    def open(self, heartbeat: bool) -> tuple[Harness, int]:
        h = Harness(ConnectionLimits(idleTimeout=30))
        live = LiveReload(h.clock, heartbeat=15)
        h.site.resource = live.wrap(h.site.resource, DevPages("b-1"))
        if heartbeat:
            live.start()
        streamID = h.request("/.h2site/events?build=b-1")
        h.clock.advance(0)
        return h, streamID

    def data(self, h: Harness, streamID: int) -> bytes:
        h.clock.advance(0)
        return b"".join(
            e.data
            for e in h.receive()
            if isinstance(e, DataReceived) and e.stream_id == streamID
        )

    def test_kept(self) -> None:
        """
        With a heartbeat every 15 s, a 30 s idle timeout never closes it.
        """
        h, streamID = self.open(heartbeat=True)
        received = self.data(h, streamID)
        for _ in range(8):
            h.clock.advance(15)
            received += self.data(h, streamID)
        self.assertFalse(h.transport.disconnecting)
        self.assertEqual(received.count(b":\n\n"), 8)

    def test_idleWithout(self) -> None:
        """
        Without the heartbeat, the stream alone does not keep it open.
        """
        h, _ = self.open(heartbeat=False)
        h.clock.advance(31)
        self.assertTrue(h.transport.disconnecting)
