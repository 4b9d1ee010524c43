# -*- test-case-name: tests.unit.web.test_hot -*-
"""
The hot path of a site (L{h2site.http.interfaces.HotResponder}): a C{GET}
or C{HEAD} of a page or of a stored file, with or without
C{Accept-Encoding} and C{If-None-Match}, answered from a route table and
precomposed header fields, without a C{twisted.web} request.

It answers exactly as the general path (L{h2site.web.site.H2Site},
L{h2site.web.root}, L{h2site.web.delivery}) would: the same resources are
found by the same rules, the same pure functions decide (coding,
condition, hints), and each response's header fields are composed once,
by the same calls on a C{Headers} that the general path makes, then kept
with only the C{Date} to fill in.  The access log gets the same line, from
the same function.  Whatever it is not sure of takes the general path:
ranges and other conditions, bodies on disk (but for C{HEAD}), redirects,
not-found and error pages, the health path, C{--dev}, encoded paths.

The route table follows the site's resource tree: a reload swaps the tree
and the table is built again for the new one at the next request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, cast

from twisted.internet.interfaces import IAddress
from twisted.web import http
from twisted.web.http import datetimeToString, parse_qs
from twisted.web.http_headers import Headers

from h2site.files.representation import Body, Representation
from h2site.files.safepath import safeSegments
from h2site.files.store import FileStore, StoredFile
from h2site.http.earlyhints import sendEarlyHints
from h2site.http.h2.output import responseFields
from h2site.http.interfaces import HotRequest, HotResponse
from h2site.preload.policy import (
    EarlyHintsMode,
    bypassesCache,
    earlyHintsAllowed,
    isNavigation,
)
from h2site.semantics.conditional import Conditions, decide
from h2site.semantics.negotiation import chooseEncoding
from h2site.sites.plain import ServeFile
from h2site.sites.plain import decide as decidePlain
from h2site.web.delivery import NOT_MODIFIED_KEEP
from h2site.web.headers import HeaderPolicy
from h2site.web.pages import PageResource, linkField
from h2site.web.plain import FileSender, FolderResource, isPage
from h2site.web.root import SiteRoot
from h2site.web.static import REVALIDATE, StaticRoot, cacheControlFor

__all__ = ["HotRoutes"]

#: Request fields whose answer the hot path leaves to the general path.
_GENERAL = frozenset(
    [b"range", b"if-match", b"if-modified-since", b"if-unmodified-since"]
)

#: Stands for the C{Date} value in a composed response.
_DATE = b"\0date"

#: Bounds of the caches of composed responses and negotiated codings.
_MAX_CACHED = 4096


class _Logged:
    """
    What the access log reads of a request (L{h2site.ops.accesslog.entryFor}
    and L{H2Site.log}), for a request answered by the hot path.
    """

    __slots__ = (
        "_headers",
        "_peer",
        "clientproto",
        "code",
        "method",
        "path",
        "sentLength",
        "startTime",
        "uri",
    )

    startedWriting = True

    def __init__(
        self, request: HotRequest, path: bytes, code: int, sentLength: int
    ) -> None:
        self._headers = request.headers
        self._peer = request.peer
        self.clientproto = request.protocol
        self.method = request.method
        self.uri = request.path
        self.path = path
        self.code = code
        self.sentLength = sentLength
        self.startTime = request.started

    def getClientAddress(self) -> IAddress:
        return self._peer

    def getHeader(self, name: bytes) -> bytes | None:
        # The last field line, as twisted.web's Request.getHeader.
        values = self._headers.get(name)
        return values[-1] if values else None


def _joined(headers: Mapping[bytes, list[bytes]], name: bytes) -> str | None:
    """
    A header's field lines joined with commas (as
    L{h2site.web.delivery.headerValue}).
    """
    values = headers.get(name)
    if values is None:
        return None
    return ", ".join(v.decode("latin-1") for v in values)


def _last(headers: Mapping[bytes, list[bytes]], name: bytes) -> bytes | None:
    values = headers.get(name)
    return values[-1] if values else None


#: The fields of a C{103}: a tuple, which L{Output.writeInformational}
#: knows cannot change, so it frames them once per connection.
_Hints = tuple[tuple[bytes, bytes], ...]


def _wantsHints(headers: Mapping[bytes, list[bytes]]) -> bool:
    """
    Whether a request gets a page's C{103}: a navigation that does not
    bypass the cache (L{isNavigation}, L{bypassesCache}).  A browser's
    navigation says C{Sec-Fetch-Mode: navigate} and, but for a reload, no
    C{Cache-Control} or C{Pragma}: that is answered without parsing.
    """
    mode = _last(headers, b"sec-fetch-mode")
    if mode != b"navigate" and not isNavigation(mode, _last(headers, b"accept")):
        return False
    if b"cache-control" not in headers and b"pragma" not in headers:
        return True
    control, pragma = _last(headers, b"cache-control"), _last(headers, b"pragma")
    return not bypassesCache(control, pragma)


def _hintFields(links: Sequence[bytes]) -> _Hints | None:
    """
    The fields of the C{103} that L{sendEarlyHints} sends for C{links}, or
    L{None} if it would send none or refuse them.
    """
    values = []
    for link in links:
        if any(byte in link for byte in (b"\r", b"\n", b"\x00")):
            return None
        values.append((b"link", link.strip(b" \t")))
    return tuple(values) or None


class _Page:
    """
    A page as its resource answers it, in the route table.
    """

    __slots__ = ("hints", "links", "representation")

    def __init__(
        self,
        representation: Representation,
        links: list[bytes],
        hints: _Hints | None,
    ) -> None:
        self.representation = representation
        self.links = links
        #: The 103's fields for a navigation, or None for no 103.
        self.hints = hints


def _pageOf(resource: PageResource) -> _Page | None:
    """
    The route of a page resource, or L{None} if the hot path leaves it to
    the general one (not a 200, or hints sent some other way).
    """
    if resource._code != 200:
        return None
    hints = _hintsOf(resource._links, resource._earlyHints, resource._sendEarlyHints)
    if hints is False:
        return None
    return _Page(resource._representation, resource._links, hints)


def _hintsOf(
    links: Sequence[bytes], mode: EarlyHintsMode, send: object
) -> _Hints | Literal[False] | None:
    """
    The fields of the C{103} that L{announceLinks} sends for C{links} to a
    navigation over HTTP/2: L{None} for none, L{False} if the hot path
    cannot tell (a sender of its own, values it refuses).
    """
    if not links or send is None or not earlyHintsAllowed(mode, b"HTTP/2"):
        return None
    if send is not sendEarlyHints:
        return False
    return _hintFields(links) or False


class HotRoutes:
    """
    The route table of a site's resource tree, and the answers from it.
    """

    def __init__(
        self,
        resource: Callable[[], object],
        policy: HeaderPolicy | None,
        altSvc: Callable[[], bytes | None],
        healthPath: bytes | None,
        log: Callable[[http.Request], None],
    ) -> None:
        """
        @param resource: the site's resource tree now.
        @param policy: the site's security and operator headers.
        @param altSvc: the site's C{Alt-Svc} value now.
        @param healthPath: the path the general path answers health checks
            on.
        @param log: the site's access log.
        """
        self._resource = resource
        self._policy = policy
        self._altSvc = altSvc
        self._healthPath = healthPath
        self._log = log
        self._root: object = None
        self._pages: dict[bytes, _Page] = {}
        self._static: FileStore | None = None
        self._folder: FolderResource | None = None
        #: Whether a folder at / leaves /static/ to the static files.
        self._siteRoot = False
        self._composed: dict[tuple[Any, ...], _Composed] = {}
        self._codings: dict[tuple[bytes, tuple[str, ...]], str] = {}
        self._second = -1
        self._date = b""

    def _route(self, root: object) -> None:
        """
        Build the table of C{root}: the pages at their paths, the static
        files' store, the folder served at C{/}.
        """
        self._root = root
        self._pages = {}
        self._static = None
        self._folder = None
        self._siteRoot = isinstance(root, SiteRoot)
        self._composed = {}
        if isinstance(root, FolderResource):
            self._folder = root
        elif isinstance(root, SiteRoot):
            for url, resource in root._pages.items():
                path = url.encode("utf-8")
                first = path[1:].split(b"/", 1)[0]
                if not isinstance(resource, PageResource) or first == b"static":
                    continue
                page = _pageOf(resource)
                if page is not None:
                    self._pages[path] = page
            if isinstance(root._static, StaticRoot):
                self._static = root._static._store
            if isinstance(root._public, FolderResource):
                self._folder = root._public

    def respond(self, request: HotRequest) -> HotResponse | None:
        """
        The response to C{request}, logged, or L{None} for the general path.
        """
        root = self._resource()
        if root is not self._root:
            self._route(root)
        path, mark, query = request.path.partition(b"?")
        headers = request.headers
        if (
            path[:1] != b"/"
            or b"%" in path
            or path == self._healthPath
            or not _GENERAL.isdisjoint(headers)
        ):
            return None
        page = self._pages.get(path)
        if page is not None:
            return self._send(
                request, path, page.representation, REVALIDATE, page.links, page.hints
            )
        segments = path[1:].split(b"/")
        if self._siteRoot and segments[0] == b"static":
            if self._static is None:
                return None
            # StaticRoot's rules.
            parts = safeSegments(segments[1:])
            if parts is None:
                return None
            return self._sendStored(
                request, path, query if mark else None, self._static, "/".join(parts)
            )
        folder = self._folder
        if folder is None:
            return None
        decision = decidePlain(segments, query or None, folder._names)
        if not isinstance(decision, ServeFile):
            return None
        return self._sendStored(
            request,
            path,
            query if mark else None,
            folder._store,
            decision.name,
            folder._sender,
        )

    def _sendStored(
        self,
        request: HotRequest,
        path: bytes,
        query: bytes | None,
        store: FileStore,
        name: str,
        sender: FileSender | None = None,
    ) -> HotResponse | None:
        """
        Answer with a file of C{store}, as L{h2site.web.static.StaticRoot}
        (without C{sender}) or L{h2site.web.plain.FileSender} would.
        """
        stored = store.lookup(name)
        if not isinstance(stored, StoredFile):
            # Not found, or being read again: the general path waits.
            return None
        rep = stored.representation
        links: list[bytes] = []
        hints = None
        if sender is not None and isPage(rep.contentType):
            if sender._pageRepresentation is not None:
                return None
            links = linkField(sender._linksFor(stored.name))
            found = _hintsOf(links, sender._earlyHints, sender._sendEarlyHints)
            if found is False:
                return None
            hints = found
            cacheControl = REVALIDATE
        else:
            args = parse_qs(query, 1) if query is not None else {}
            cacheControl = cacheControlFor(args.get(b"v"), rep.version)
        return self._send(request, path, rep, cacheControl, links, hints)

    def _send(
        self,
        request: HotRequest,
        path: bytes,
        rep: Representation,
        cacheControl: bytes,
        links: list[bytes],
        hints: _Hints | None,
    ) -> HotResponse | None:
        """
        Answer with C{rep} as L{h2site.web.pages.announceLinks} and
        L{h2site.web.delivery.respond} would, for a 200 resource.
        """
        headers = request.headers
        method = request.method
        accept = headers.get(b"accept-encoding")
        codings = rep.codings
        if accept is None or not codings:
            coding = chooseEncoding(_joined(headers, b"accept-encoding"), codings)
        else:
            value = accept[0] if len(accept) == 1 else b", ".join(accept)
            key = (value, codings)
            found = self._codings.get(key)
            if found is None:
                found = chooseEncoding(value.decode("latin-1"), codings)
                if len(self._codings) >= _MAX_CACHED:
                    self._codings.clear()
                self._codings[key] = found
            coding = found
        body = rep.bodies[coding]
        ifNoneMatch = _joined(headers, b"if-none-match")
        if ifNoneMatch is None:
            status = 200
        else:
            status = decide(
                method,
                Conditions(ifNoneMatch=ifNoneMatch),
                body.etag,
                rep.lastModified,
                body.size,
                time.time(),
            ).status
            if status != 304:
                status = 200
        if status == 200 and method == b"GET" and body.size:
            if body.data is None:
                # Streamed from disk by the general path.
                return None
            data: bytes = body.data
        else:
            data = b""
        early = None
        if hints is not None and method == b"GET" and _wantsHints(headers):
            early = hints
        fields = self._fields(body, status, cacheControl, links, request.secure)
        # A string: twisted.web.http is a module proxy, slow to look into.
        self._log(cast("http.Request", _Logged(request, path, status, len(data))))
        return HotResponse(fields, data, early)

    def _fields(
        self,
        body: Body,
        status: int,
        cacheControl: bytes,
        links: list[bytes],
        secure: bool,
    ) -> list[tuple[bytes, bytes]]:
        """
        The response's header fields, composed once for each body, status,
        caching, links, protocol and C{Alt-Svc}, with this second's date.
        """
        altSvc = self._altSvc()
        link = links[0] if links else None
        key = (id(body), status, cacheControl, link, secure, altSvc)
        cached = self._composed.get(key)
        if cached is None or cached.body is not body:
            cached = _Composed(
                body, self._compose(body, status, cacheControl, links, secure, altSvc)
            )
            if len(self._composed) >= _MAX_CACHED:
                self._composed.clear()
            self._composed[key] = cached
        now = int(time.time())
        if now != self._second:
            self._date = datetimeToString(now)
            self._second = now
        fields = cached.fields.copy()
        fields[cached.date] = (b"date", self._date)
        return fields

    def _compose(
        self,
        body: Body,
        status: int,
        cacheControl: bytes,
        links: list[bytes],
        secure: bool,
        altSvc: bytes | None,
    ) -> list[tuple[bytes, bytes]]:
        """
        The header fields the general path sends, by the same calls in the
        same order: C{Request.process}, L{H2Site.getResourceFor},
        L{announceLinks}, L{respond} and C{Request.write}.
        """
        headers = Headers()
        headers.setRawHeaders(b"Server", [b"-"])
        headers.setRawHeaders(b"Date", [_DATE])
        headers.removeHeader(b"server")
        if self._policy is not None:
            self._policy.apply(headers, secure)
        if altSvc and secure:
            headers.setRawHeaders(b"alt-svc", [altSvc])
        if links:
            headers.setRawHeaders(b"link", links)
        headers.setRawHeaders(b"cache-control", [cacheControl])
        if status == 304:
            for name, value in body.headers:
                if name in NOT_MODIFIED_KEEP:
                    headers.setRawHeaders(name, [value])
        else:
            for name, value in body.headers:
                headers.setRawHeaders(name, [value])
            headers.setRawHeaders(b"content-length", [b"%d" % body.size])
            if not headers.hasHeader(b"content-type") and body.size:
                headers.setRawHeaders(b"Content-Type", [b"text/html"])
        return responseFields(b"%d" % status, headers)


class _Composed:
    """
    A response's header fields as composed for one body, and where the
    C{Date} goes in them.
    """

    __slots__ = ("body", "date", "fields")

    def __init__(self, body: Body, fields: list[tuple[bytes, bytes]]) -> None:
        #: Held so that its id() in the cache's key stays its own.
        self.body = body
        self.fields = fields
        self.date = fields.index((b"date", _DATE))
