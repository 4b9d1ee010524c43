# -*- test-case-name: tests.unit.web.test_livereload -*-
"""
Live reload, for development mode (C{--dev}) only: the script pages load
(C{/.h2site/live.js}), the stream of server-sent events it listens to
(C{/.h2site/events}), and the root that serves both beside the site.

Each build of the site has a token, carried by its pages
(L{h2site.web.devpages}) and by the root that serves them (L{DevRoot}).
The script opens the event stream with its page's token: a page older than
the site being served (a change landed while it loaded, or the server was
restarted) gets a C{reload} event at once; the others get one when the
next build is served (L{LiveReload.reload}).  The reload is a full one:
the new page names its assets by their new fingerprinted URLs, which no
stylesheet swap could learn without fetching the page anyway.

An open stream is one HTTP/2 stream (or one HTTP/1.1 connection).  A
comment line every L{HEARTBEAT} seconds (or half the idle timeout, if
shorter) is response bytes leaving, so the connection is never idle in the
sense of C{--idle-timeout}, and proxies see it alive.  On shutdown every
stream is ended first (L{LiveReload.close}), so open pages do not hold the
shutdown for C{--shutdown-timeout}; the script reconnects by itself once a
server is back.
"""

from __future__ import annotations

import contextlib
import itertools
import secrets
from collections.abc import Sequence

from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.web import resource
from twisted.web.server import NOT_DONE_YET, Request

from h2site.files.representation import Representation, representationFromBytes
from h2site.preload.graph import Scans
from h2site.preload.pages import PageLinks
from h2site.web.delivery import respond
from h2site.web.devpages import RESERVED, DevPages, leaveUncompressed
from h2site.web.static import REVALIDATE

__all__ = ["HEARTBEAT", "RETRY_MS", "SCRIPT", "DevRoot", "LiveReload", "sseEvent"]

_log = Logger(namespace="h2site")

#: Seconds between two comment lines on every open event stream.
HEARTBEAT = 15.0

#: How long a page waits before reconnecting its event stream (the
#: server-sent events C{retry} field), in milliseconds.
RETRY_MS = 500

#: The script every page of development mode loads: it listens for the
#: next build, with its page's token, and reloads the page then.
SCRIPT = b"""\
// h2site --dev: reload this page when the site it comes from changes.
(() => {
  const own = document.currentScript;
  const build = own ? own.dataset.build || "" : "";
  const events = new EventSource(
    "/.h2site/events?build=" + encodeURIComponent(build));
  events.addEventListener("reload", () => {
    events.close();
    location.reload();
  });
})();
"""

_EVENT_STREAM = b"text/event-stream; charset=utf-8"


def sseEvent(event: str | None, data: str = "") -> bytes:
    """
    One server-sent event: its type (L{None} for a comment line, which the
    client ignores) and data, ended by the blank line that dispatches it.
    """
    if event is None:
        return b":\n\n"
    lines = [b"event: " + event.encode("utf-8")]
    lines += [b"data: " + line.encode("utf-8") for line in data.split("\n")]
    return b"\n".join(lines) + b"\n\n"


class LiveReload:
    """
    The open event streams of a development server, and the tokens of its
    builds.
    """

    def __init__(self, clock: IReactorTime, heartbeat: float = HEARTBEAT) -> None:
        """
        @param heartbeat: seconds between comment lines on each stream;
            give at most half of C{--idle-timeout}.
        """
        self.clock = clock
        self._heartbeat = heartbeat
        self._loop: LoopingCall | None = None
        self._streams: set[Request] = set()
        self._closed = False
        # A restarted server's tokens differ from the last one's: its
        # pages reload when they reconnect.
        self._nonce = secrets.token_hex(4)
        self._count = itertools.count(1)
        # What discovery found, kept from build to build.
        self._scans: Scans = {}
        self._pageLinks: PageLinks = {}
        self.script: Representation = representationFromBytes(
            SCRIPT, "text/javascript; charset=utf-8", None, compressor=leaveUncompressed
        )

    def __len__(self) -> int:
        return len(self._streams)

    # Builds.

    def begin(self, templatesDir: str | None = None) -> DevPages:
        """
        What the next build sends its pages as, with a token of its own.
        """
        return DevPages(
            f"{self._nonce}-{next(self._count)}",
            templatesDir,
            self._scans,
            self._pageLinks,
        )

    def wrap(self, root: resource.Resource, pages: DevPages) -> DevRoot:
        """
        The root that serves a build: the site, and beside it the script
        and events (L{DevRoot}).
        """
        return DevRoot(root, self, pages.build, pages.errors)

    # Streams.

    def start(self) -> None:
        """
        Start the heartbeat of the open streams.
        """
        if self._loop is None and not self._closed:
            self._loop = LoopingCall(self._beat)
            self._loop.clock = self.clock
            self._loop.start(self._heartbeat, now=False)

    def _beat(self) -> None:
        self._send(sseEvent(None))

    def _send(self, data: bytes) -> None:
        for request in list(self._streams):
            request.write(data)

    def open(self, request: Request, build: str) -> int:
        """
        Answer a request for the event stream: keep it open, with a
        C{reload} event at once if the page is older than C{build}, the
        build being served.
        """
        headers = request.responseHeaders
        headers.setRawHeaders(b"content-type", [_EVENT_STREAM])
        headers.setRawHeaders(b"cache-control", [b"no-store"])
        given = request.args.get(b"build", [b""])[0].decode("ascii", "replace")
        first = b"retry: %d\n\n" % RETRY_MS
        if given != build:
            first += sseEvent("reload", build)
        request.write(first)
        if self._closed:
            # Stopping: the page reconnects to whichever server is next.
            request.finish()
            return NOT_DONE_YET
        self._streams.add(request)
        request.notifyFinish().addBoth(lambda _: self._streams.discard(request))
        return NOT_DONE_YET

    def reload(self, build: str) -> int:
        """
        Tell every open page that C{build} is now served.

        @return: how many pages were told.
        """
        count = len(self._streams)
        self._send(sseEvent("reload", build))
        return count

    def close(self) -> None:
        """
        End every open stream and the heartbeat; streams opened after are
        ended at once.
        """
        self._closed = True
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._loop = None
        streams, self._streams = self._streams, set()
        for request in streams:
            with contextlib.suppress(RuntimeError):
                # Its connection went while this ran: nothing to end.
                request.finish()


class _Reserved(resource.Resource):
    """
    C{/.h2site/}: the script and the events of one build.
    """

    isLeaf = True

    def __init__(self, live: LiveReload, build: str, clock: IReactorTime) -> None:
        super().__init__()
        self._live = live
        self._build = build
        self._clock = clock

    def render_GET(self, request: Request) -> bytes | int:
        path = request.postpath or []
        if path == [b"live.js"]:
            return respond(request, self._live.script, REVALIDATE, self._clock)
        if path == [b"events"] and request.method == b"GET":
            return self._live.open(request, self._build)
        request.setResponseCode(404)
        request.responseHeaders.setRawHeaders(
            b"content-type", [b"text/plain; charset=utf-8"]
        )
        return b"Not found\n"

    render_HEAD = render_GET


class DevRoot(resource.Resource):
    """
    The root of a development server: C{/.h2site/} for live reload, every
    other path to the site's own root.

    @ivar build: the token of the build it serves.
    @ivar errors: the messages of the pages that failed to render, each
        once, in order.
    """

    def __init__(
        self,
        root: resource.Resource,
        live: LiveReload,
        build: str,
        errors: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.root = root
        self.build = build
        self.errors = tuple(dict.fromkeys(errors))
        self._reserved = _Reserved(live, build, live.clock)

    def getChildWithDefault(self, name: bytes, request: Request) -> resource.Resource:
        if name == RESERVED:
            return self._reserved
        root = self.root
        if root.isLeaf:
            # The site's root takes the whole path (a plain site): give it
            # back the segment just taken, as if it were the root itself.
            request.postpath = [name, *(request.postpath or [])]
            request.prepath = (request.prepath or [])[:-1]
            return root
        return root.getChildWithDefault(name, request)  # type: ignore[no-any-return]

    def render(self, request: Request) -> bytes | int:
        return self.root.render(request)  # type: ignore[no-any-return]
