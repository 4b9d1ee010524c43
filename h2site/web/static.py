# -*- test-case-name: tests.unit.files.test_safepath -*-
"""
Static files under C{/static/}, with the safety rules C{twisted.web.static.File}
lacks (no directory listings, no dotfiles, no symlinks out of the root, no
script processors, a fixed type table), served from the L{FileStore} index
with validators, range requests, precompressed codings and a caching policy.

Fingerprinted URLs: C{static_url('css/app.css')} in a template yields
C{/static/css/app.css?v=HASH}, where C{HASH} starts the SHA-256 of the bytes
sent; the file store gives the references inside stylesheets and modules
the same form (L{h2site.files.fingerprint}).  A query rather than a hashed file
name keeps the file's own URL, so a relative reference left as written
still resolves.  A request whose C{v} is the file's current hash may be
cached for a year as immutable (the URL changes whenever the bytes do); any
other request for the file, with no C{v} or an old one, gets C{no-cache},
so it is revalidated with its C{ETag} and never goes stale.

Looking a file up and answering with it (L{serveStored}, which waits for a
file the store is reading again) is shared with the other folders served
from a store: a plain site, a template site's C{public/} files
(L{h2site.web.plain}).
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import resource
from twisted.web.server import NOT_DONE_YET, Request

from h2site.files.safepath import safeSegments
from h2site.files.store import FileStore, StoredFile
from h2site.web.delivery import respond

__all__ = [
    "IMMUTABLE",
    "REVALIDATE",
    "Send",
    "StaticRoot",
    "cacheControlFor",
    "serveStored",
]

_log = Logger(namespace="h2site.static")

#: For a URL carrying the file's current fingerprint.
IMMUTABLE = b"public, max-age=31536000, immutable"
#: For every other URL: cache, but ask before each reuse.
REVALIDATE = b"no-cache"


def cacheControlFor(requested: list[bytes] | None, version: str) -> bytes:
    """
    The C{Cache-Control} for a request whose C{v} query values are
    C{requested}, of a file whose fingerprint is C{version}.
    """
    if requested == [version.encode("ascii")]:
        return IMMUTABLE
    return REVALIDATE


#: Answers a request with a file of the store (L{None}: there is none), given
#: what reads it again should it no longer be on disk what was indexed
#: (L{None}: it was just read again; then C{respond} answers 503).
Send = Callable[[Request, StoredFile | None, Callable[[], object] | None], bytes | int]


def serveStored(
    request: Request, store: FileStore, name: str, send: Send, force: bool = False
) -> bytes | int:
    """
    Look C{name} up in C{store} and answer with C{send}, once the file is
    known: at once when the index is current, else when the store has read
    it again (in a thread), unless the client has gone meanwhile.

    @param name: the file's name below the store's folder, which passed the
        safety rules.
    @param force: compare it with the disk at once (it was just found
        changed), and then not again.
    """
    found = store.lookup(name, force=force)

    def refresh() -> None:
        # A deploy replaced the file since the store last looked: read it
        # again now rather than answer 503 for up to a second.
        serveStored(request, store, name, send, force=True)

    again = None if force else refresh
    if not isinstance(found, Deferred):
        return send(request, found, again)
    gone: list[object] = []
    request.notifyFinish().addErrback(gone.append)

    def serve(stored: StoredFile | None) -> None:
        if not gone:
            send(request, stored, again)

    def failed(reason: Failure) -> None:
        _log.failure("serving {uri!r}", reason, uri=request.uri)
        if not gone:
            request.setResponseCode(500)
            request.finish()

    found.addCallback(serve).addErrback(failed)
    return NOT_DONE_YET


class StaticRoot(resource.Resource):
    """
    The C{/static/} tree: it takes the whole remaining path at once, so the
    safety rules see every segment together.
    """

    isLeaf = True

    def __init__(
        self, store: FileStore, notFound: resource.Resource, clock: IReactorTime
    ) -> None:
        """
        @param store: the index of the files to serve.
        @param notFound: what to answer for anything that is not a file here.
        @param clock: the reactor's clock, for dates and streaming.
        """
        super().__init__()
        self._store = store
        self._notFound = notFound
        self._clock = clock

    def render_GET(self, request: Request) -> bytes | int:
        segments = safeSegments(request.postpath or [])
        if segments is None:
            return self._notFound.render(request)  # type: ignore[no-any-return]
        return serveStored(request, self._store, "/".join(segments), self._send)

    render_HEAD = render_GET

    def _send(
        self,
        request: Request,
        stored: StoredFile | None,
        refresh: Callable[[], object] | None,
    ) -> bytes | int:
        if stored is None:
            # The not-found page writes its own response (it is a page).
            return self._notFound.render(request)  # type: ignore[no-any-return]
        rep = stored.representation
        cacheControl = cacheControlFor(request.args.get(b"v"), rep.version)
        return respond(request, rep, cacheControl, self._clock, refresh=refresh)
