# -*- test-case-name: tests.unit.web.test_plain -*-
"""
A folder served as it is: a plain site, and a template site's C{public/}
files.  Each request is decided by L{h2site.sites.plain.decide} (serve a
file, redirect to its folder, or not found) over the names of the file
store, then answered as C{/static/} answers (L{h2site.web.static}): the
same validators, ranges, codings and C{?v=} immutable caching.

HTML files are pages, not assets: they are sent with C{no-cache} (their
URLs never change) and announce what they need, with a C{Link} header and,
for a navigation, a C{103 Early Hints} first, exactly as rendered pages do
(L{h2site.web.pages.announceLinks}).  What each one announces comes from a
callable worked out at index time, never per request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from twisted.internet.interfaces import IReactorTime
from twisted.web import resource
from twisted.web.server import NOT_DONE_YET, Request

from h2site.files.representation import Representation
from h2site.files.safepath import resolveStaticPath
from h2site.files.store import FileStore, StoredFile
from h2site.preload.policy import EarlyHintsMode, PreloadSettings
from h2site.sites.plain import NOT_FOUND_PAGE, Redirect, ServeFile, decide
from h2site.web.delivery import respond
from h2site.web.devpages import DevPages
from h2site.web.pages import (
    DEFAULT_NOT_FOUND,
    PageResource,
    SendEarlyHints,
    announceLinks,
    linkField,
)
from h2site.web.static import REVALIDATE, cacheControlFor, serveStored

__all__ = [
    "FileSender",
    "FolderResource",
    "LinksFor",
    "NotFoundFile",
    "StoreNames",
    "buildPlainResource",
    "isPage",
    "noLinks",
]

#: The C{Link} values an HTML file announces, by its name in the store.
LinksFor = Callable[[str], Sequence[bytes]]


def noLinks(name: str) -> Sequence[bytes]:
    """
    Announce nothing: the default until a site's pages are read for what
    they need.
    """
    return ()


def isPage(contentType: str) -> bool:
    """
    Whether a file of this type is a page (sent as a page) rather than an
    asset.
    """
    return contentType.split(";", 1)[0].strip().lower() == "text/html"


class StoreNames:
    """
    The names of a store's files, as L{decide} reads them: those indexed,
    and one added on disk since (by the same rules, inside the folder), so
    a new file is served before the next reload, as under C{/static/}.
    """

    def __init__(self, store: FileStore) -> None:
        self._store = store

    def __contains__(self, name: object) -> bool:
        store = self._store
        if not isinstance(name, str) or store.root is None:
            return False
        if store.get(name) is not None:
            return True
        segments = name.split("/")
        return resolveStaticPath(store.root, segments, store.followSymlinks) is not None


class FileSender:
    """
    Sends a file of a store: a page (C{text/html}) with its links and
    C{no-cache}, an asset with C{/static/}'s caching policy.
    """

    def __init__(
        self,
        clock: IReactorTime,
        linksFor: LinksFor = noLinks,
        earlyHints: EarlyHintsMode = "off",
        sendEarlyHints: SendEarlyHints | None = None,
        pageRepresentation: Callable[[StoredFile], Representation] | None = None,
    ) -> None:
        """
        @param linksFor: the C{Link} values each HTML file announces.
        @param earlyHints: when a navigation to an HTML file gets a C{103}.
        @param sendEarlyHints: what sends it; none is sent without it.
        @param pageRepresentation: what to send for an HTML file instead of
            its stored representation (C{--dev} adds its script).
        """
        self._clock = clock
        self._linksFor = linksFor
        self._earlyHints = earlyHints
        self._sendEarlyHints = sendEarlyHints
        self._pageRepresentation = pageRepresentation

    def send(
        self,
        request: Request,
        stored: StoredFile,
        refresh: Callable[[], object] | None,
        code: int = 200,
    ) -> int:
        """
        Answer C{request} with C{stored} (see L{h2site.web.delivery.respond}).

        @param refresh: what reads the file again should it have changed
            on disk; L{None} when it was just read again, and the first
            pass has sent the C{103} already.
        """
        rep = stored.representation
        if isPage(rep.contentType):
            links = linkField(self._linksFor(stored.name))
            hints = self._earlyHints if refresh is not None else "off"
            announceLinks(request, links, hints, self._sendEarlyHints)
            cacheControl = REVALIDATE
            if self._pageRepresentation is not None:
                rep = self._pageRepresentation(stored)
        else:
            cacheControl = cacheControlFor(request.args.get(b"v"), rep.version)
        return respond(request, rep, cacheControl, self._clock, (), code, refresh)


class NotFoundFile(resource.Resource):
    """
    The not-found page of a plain site: its own C{404.html} if it has one,
    sent with status 404 and C{no-cache}, else h2site's built-in page.
    """

    isLeaf = True

    def __init__(
        self,
        store: FileStore,
        sender: FileSender,
        fallback: resource.Resource,
    ) -> None:
        """
        @param fallback: what to answer without a C{404.html}.
        """
        super().__init__()
        self._store = store
        self._names = StoreNames(store)
        self._sender = sender
        self._fallback = fallback

    def render_GET(self, request: Request) -> bytes | int:
        if NOT_FOUND_PAGE not in self._names:
            return self._fallback.render(request)  # type: ignore[no-any-return]
        return serveStored(request, self._store, NOT_FOUND_PAGE, self._send)

    render_HEAD = render_GET

    def _send(
        self,
        request: Request,
        stored: StoredFile | None,
        refresh: Callable[[], object] | None,
    ) -> bytes | int:
        if stored is None:
            return self._fallback.render(request)  # type: ignore[no-any-return]
        return self._sender.send(request, stored, refresh, 404)


class FolderResource(resource.Resource):
    """
    A folder served as it is, at C{/}: it takes the whole path at once, so
    the rules see every segment together.
    """

    isLeaf = True

    def __init__(
        self,
        store: FileStore,
        sender: FileSender,
        notFound: resource.Resource,
    ) -> None:
        """
        @param store: the index of the folder, built, with C{prefix} C{/}.
        @param sender: what sends its files.
        @param notFound: what to answer where nothing is served.
        """
        super().__init__()
        self._store = store
        self._names = StoreNames(store)
        self._sender = sender
        self._notFound = notFound

    def render_GET(self, request: Request) -> bytes | int:
        query = request.uri.partition(b"?")[2] or None
        decision = decide(request.postpath or [], query, self._names)
        if isinstance(decision, ServeFile):
            return serveStored(request, self._store, decision.name, self._send)
        if isinstance(decision, Redirect):
            return _redirect(request, decision.location.encode("ascii"))
        return self._notFound.render(request)  # type: ignore[no-any-return]

    render_HEAD = render_GET

    def _send(
        self,
        request: Request,
        stored: StoredFile | None,
        refresh: Callable[[], object] | None,
    ) -> bytes | int:
        if stored is None:
            # Gone from the disk since it was indexed.
            return self._notFound.render(request)  # type: ignore[no-any-return]
        return self._sender.send(request, stored, refresh)


def _redirect(request: Request, location: bytes) -> int:
    """
    A 308 to the folder: permanent and method-preserving, like the
    C{--redirect} listener's, but C{no-cache}, since a deploy may turn the
    folder into a page.
    """
    body = b"This page is at " + location + b"\n"
    headers = request.responseHeaders
    request.setResponseCode(308)
    headers.setRawHeaders(b"location", [location])
    headers.setRawHeaders(b"cache-control", [REVALIDATE])
    headers.setRawHeaders(b"content-type", [b"text/plain; charset=utf-8"])
    headers.setRawHeaders(b"content-length", [b"%d" % len(body)])
    request.write(body)
    request.finish()
    return NOT_DONE_YET


def buildPlainResource(
    store: FileStore,
    clock: IReactorTime,
    preload: PreloadSettings | None = None,
    sendEarlyHints: SendEarlyHints | None = None,
    linksFor: LinksFor = noLinks,
    dev: DevPages | None = None,
) -> FolderResource:
    """
    Index a plain site and build its resource: the folder at C{/}, its own
    C{404.html} (or h2site's) where nothing is served.

    @param store: the (empty) index of the site folder, with C{prefix}
        C{/} (the URLs fingerprints and hints are written with); built
        here.
    @param preload: what pages announce; the defaults when L{None}.
    @param linksFor: the C{Link} values of each HTML file; with preload off,
        none are sent.
    @param dev: in development mode, what the pages are sent as.
    """
    if store.prefix != "/":
        raise ValueError(f"a plain site is served at /, not {store.prefix!r}")
    if preload is None:
        preload = PreloadSettings()
    store.build()
    sender = FileSender(
        clock,
        linksFor if preload.enabled else noLinks,
        preload.earlyHints,
        sendEarlyHints,
        dev.storedPage if dev is not None else None,
    )
    builtIn = PageResource(
        DEFAULT_NOT_FOUND,
        clock,
        404,
        representation=dev.page(DEFAULT_NOT_FOUND.body) if dev is not None else None,
    )
    return FolderResource(store, sender, NotFoundFile(store, sender, builtIn))
