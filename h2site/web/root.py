# -*- test-case-name: tests.unit.web.test_root,tests.unit.web.test_plain -*-
"""
The resource tree of a template site (pages at their paths, files under
C{/static/}, the files of C{public/} at C{/}), and building it from the
site folder.

A rendered page wins over a C{public/} file at the same URL: the pages are
the site, and C{public/} holds what must sit at the top beside them
(C{robots.txt}, C{favicon.ico}, C{sitemap.xml}, C{/.well-known/...}).
C{public/static/} is never reached: C{/static/} is the static folder's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from twisted.internet.interfaces import IReactorTime
from twisted.web import resource
from twisted.web.server import Request

from h2site.files.store import FileStore
from h2site.preload.files import AnyOf, StaticAssetFiles
from h2site.preload.graph import AssetGraph
from h2site.preload.policy import (
    PreloadSettings,
)
from h2site.refs.links import linkHeaderValues
from h2site.sites.templates import RenderedPage, renderPages, staticURLFactory
from h2site.web.devpages import DevPages
from h2site.web.pages import DEFAULT_NOT_FOUND, PageResource, SendEarlyHints
from h2site.web.plain import FileSender, FolderResource, LinksFor, noLinks
from h2site.web.static import StaticRoot

__all__ = ["SiteRoot", "buildResource"]


class SiteRoot(resource.Resource):
    """
    The root: C{/static/...} goes to the files, every other path is looked
    up among the rendered pages as a whole, then among the C{public/} files.
    """

    def __init__(
        self,
        pages: Mapping[str, resource.Resource],
        static: resource.Resource,
        notFound: resource.Resource,
        public: resource.Resource | None = None,
        rendered: Mapping[str, RenderedPage] | None = None,
        missing: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        """
        @param public: the C{public/} folder at C{/} (a leaf that takes the
            whole path), where no page is; L{None} for none.
        @param rendered: the rendered pages, by URL: what they say, for the
            report of broken references.
        @param missing: for each page (by URL), its own assets that no file
            answers (left out of its hints).
        """
        super().__init__()
        self.rendered: Mapping[str, RenderedPage] = rendered or {}
        self.missing: Mapping[str, tuple[str, ...]] = missing or {}
        self._pages = pages
        self._static = static
        self._notFound = notFound
        self._public = public

    def getChildWithDefault(self, name: bytes, request: Request) -> resource.Resource:
        if name == b"static":
            return self._static
        rest = request.postpath or []
        segments = [name, *rest]
        path = "/" + "/".join(s.decode("utf-8", "replace") for s in segments)
        page = self._pages.get(path)
        if page is None and self._public is not None:
            # The folder decides with the whole path, as at a plain site's
            # root.
            request.prepath = (request.prepath or [])[:-1]
            request.postpath = segments
            return self._public
        request.prepath = [*(request.prepath or []), *rest]
        request.postpath = []
        return page if page is not None else self._notFound

    def render(self, request: Request) -> bytes:
        # Reached only for an empty path, which HTTP does not allow.
        return self._notFound.render(request)  # type: ignore[no-any-return]


def _noLinks(html: str, url: str) -> Sequence[str]:
    return ()


def buildResource(
    siteDir: str,
    clock: IReactorTime,
    store: FileStore,
    preload: PreloadSettings | None = None,
    sendEarlyHints: SendEarlyHints | None = None,
    public: FileStore | None = None,
    publicLinks: LinksFor = noLinks,
    dev: DevPages | None = None,
) -> SiteRoot:
    """
    Index the static files, render the site in C{siteDir}, work out each
    page's assets (reading the static files they reference, once), and
    build its resource tree.

    @param store: the (empty) index of C{siteDir}'s static folder; built
        here, before the pages, whose C{static_url()} reads it.
    @param preload: what pages announce; the defaults when L{None}.
    @param sendEarlyHints: sends C{103} responses, where the settings allow.
    @param public: the (empty) index of C{siteDir}'s C{public/} folder,
        with C{prefix} C{/}; built here.  L{None} for none.
    @param publicLinks: the C{Link} values of the HTML files of C{public/}.
    @param dev: in development mode, what the pages are sent as, and what
        stands in for a page whose template fails (status 500).
    @raise h2site.errors.ConfigError: if a template fails to render (never
        with C{dev}).
    """
    if preload is None:
        preload = PreloadSettings()
    store.build()
    if public is not None:
        if public.prefix != "/":
            raise ValueError(f"public/ is served at /, not {public.prefix!r}")
        public.build()
    staticDir = os.path.join(siteDir, "static")
    hasStatic = os.path.isdir(staticDir)
    # After the store: discovery reads the bytes it sends, references
    # fingerprinted.
    # A page may name files of public/ (a favicon) as well as of static/.
    source = StaticAssetFiles(store)
    graph = AssetGraph(
        AnyOf(source, StaticAssetFiles(public)) if public is not None else source,
        preload.limits,
        dev.scans if dev is not None else None,
    )

    def findLinks(html: str, url: str) -> Sequence[str]:
        return linkHeaderValues(graph.assets(html, url)[0])

    pages, notFoundPage = renderPages(
        os.path.join(siteDir, "templates"),
        staticURLFactory(staticDir if hasStatic else None, version=store.version),
        findLinks if preload.enabled else _noLinks,
        dev.errorPage if dev is not None else None,
    )

    def page(rendered: RenderedPage, code: int = 200) -> PageResource:
        if rendered.error is not None:
            code = 500
        return PageResource(
            rendered,
            clock,
            code,
            preload.earlyHints,
            sendEarlyHints,
            dev.page(rendered.body) if dev is not None else None,
        )

    notFound = page(notFoundPage or DEFAULT_NOT_FOUND, code=404)
    publicFiles = None
    if public is not None:
        sender = FileSender(
            clock,
            publicLinks if preload.enabled else noLinks,
            preload.earlyHints,
            sendEarlyHints,
            dev.storedPage if dev is not None else None,
        )
        publicFiles = FolderResource(public, sender, notFound)
    return SiteRoot(
        {url: page(rendered) for url, rendered in pages.items()},
        StaticRoot(store, notFound, clock),
        notFound,
        publicFiles,
        {**pages, **({"/404": notFoundPage} if notFoundPage else {})},
        dict(graph.missing),
    )
