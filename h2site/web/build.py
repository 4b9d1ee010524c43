# -*- test-case-name: tests.unit.web.test_build,tests.unit.web.test_build_dev -*-
"""
Building a site folder's resource tree, of either kind
(L{h2site.sites.kinds}), at start-up and on each reload; and what comes
after, once the file store's fingerprints are final: the preload hints of a
folder's pages (L{h2site.preload.pages}) and the report of broken
references (L{h2site.sites.check}).  C{--check} runs the same checks
without serving.

Hints come after the index, not with it, because with workers a large
site's pages are fingerprinted while it is served already
(L{h2site.files.store}): a hint must name the URL the page's bytes name.
Until then a page is sent without hints, which is always correct.

Development mode (C{--dev}) builds after every save, and the next request
must see all of it: there, nothing is left for later (no workers, no
compression, hints worked out in the build), and what fails to render is
served as an error page rather than raised (L{h2site.web.devpages}).
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.threads import deferToThread
from twisted.logger import Logger
from twisted.web.resource import Resource

from h2site.errors import ConfigError
from h2site.files.buildcache import BuildCache
from h2site.files.safepath import urlToName
from h2site.files.store import FileStore, MemoryLimits, StoredFile
from h2site.files.walk import RefusedLink, walk
from h2site.files.workers import Workers
from h2site.http.earlyhints import sendEarlyHints
from h2site.preload.pages import PageHints, pageHints
from h2site.preload.policy import PreloadSettings
from h2site.sites.check import (
    Exists,
    brokenReferences,
    describeBroken,
    existsInFolder,
    storeSources,
)
from h2site.sites.kinds import PUBLIC, STATIC, siteKind
from h2site.web.devpages import DevPages, leaveUncompressed
from h2site.web.livereload import LiveReload
from h2site.web.pages import linkField
from h2site.web.plain import StoreNames, buildPlainResource
from h2site.web.root import SiteRoot, buildResource

__all__ = ["CheckReport", "LiveHints", "SiteSettings", "checkSite", "siteBuilder"]

_log = Logger(namespace="h2site")

#: What is worked out once fingerprints are final: the pages' hints (if
#: any are announced) and the broken references.
Result = tuple[PageHints | None, dict[str, tuple[str, ...]]]


@dataclass(frozen=True)
class SiteSettings:
    """
    What building a site depends on (the parts of the configuration).

    @ivar siteDir: the site folder, absolute.
    @ivar memory: what the file store keeps in memory.
    @ivar cacheFolder: where compressed bodies are kept between runs, or
        L{None} for nowhere.
    """

    siteDir: str
    preload: PreloadSettings = field(default_factory=PreloadSettings)
    memory: MemoryLimits = field(default_factory=MemoryLimits)
    followSymlinks: bool = False
    cacheFolder: str | None = None


class LiveHints:
    """
    The C{Link} values of a folder's pages, empty until they are worked out
    (L{update}), read by the resource for every page it sends.
    """

    def __init__(self) -> None:
        self._fields: Mapping[str, Sequence[bytes]] = {}

    def linksFor(self, name: str) -> Sequence[bytes]:
        return self._fields.get(name, ())

    def update(self, links: Mapping[str, Sequence[str]]) -> None:
        self._fields = {name: linkField(values) for name, values in links.items()}

    def __len__(self) -> int:
        return len(self._fields)


def _templateExists(
    root: SiteRoot, static: FileStore, public: FileStore | None
) -> Exists:
    """
    Whether a URL is answered by a template site: a rendered page, a file
    under C{/static/}, or one of C{public/} by the plain rules.
    """
    publicExists = existsInFolder(StoreNames(public)) if public is not None else None

    def exists(url: str) -> bool:
        path = url.split("?", 1)[0]
        if path in root.rendered:
            return True
        name = urlToName(url, static.prefix)
        if name is not None:
            return static.get(name) is not None
        return publicExists is not None and publicExists(url)

    return exists


def _broken(
    root: SiteRoot | None,
    stores: Sequence[FileStore],
    exists: Exists,
) -> dict[str, tuple[str, ...]]:
    """
    The broken references of a site: of its rendered pages (if a template
    site) and of what its stores hold.
    """
    pages: list[tuple[str, str]] = []
    files = []
    if root is not None:
        pages.extend(
            (url, rendered.body.decode("utf-8", "replace"))
            for url, rendered in root.rendered.items()
        )
    for store in stores:
        storePages, storeFiles = storeSources(store)
        pages.extend(storePages)
        files.extend(storeFiles)
    return brokenReferences(pages, files, exists)


def siteBuilder(
    settings: SiteSettings,
    reactor: Any,
    check: Callable[[], object],
    workers: Workers | None = None,
    runInThread: Callable[..., Deferred[Any]] = deferToThread,
    liveReload: LiveReload | None = None,
) -> Callable[[], Resource]:
    """
    What builds the site: a new file store and resource tree, at start-up
    and on each reload (then in a thread; the running tree serves until the
    new one replaces it).  Every build shares the disk cache of compressed
    bodies, so a reload compresses only content not compressed before.

    @param check: the checks of start-up (a folder that went missing or
        was emptied, a deploy half done, must not replace the site with
        404s), run first by every build; it raises to refuse.
    @param workers: what fingerprints and compresses after serving starts,
        shared by every build; L{None} to do it all in the build.
    @param runInThread: runs the hints and the report off the reactor.
    @param liveReload: development mode (C{--dev}): each build is a
        L{h2site.web.livereload.DevRoot}, whose pages carry the live-reload
        script; a template that fails gives its pages an error page, and a
        site that fails its checks one for every URL, instead of an
        error.  All is done before the build returns (no workers, nothing
        compressed, hints at once), so the first request after a change
        sees all of it; and after the first build nothing is logged but
        new broken references (L{h2site.ops.dev} logs each change).
    """
    siteDir = settings.siteDir
    dev = liveReload is not None
    #: The last report of broken references, which development mode logs
    #: only when it changes.
    lastBroken: list[str | None] = [None]

    def cache(suffix: str = "") -> BuildCache | None:
        # One cache per store: each prunes what its own build did not use.
        if settings.cacheFolder is None:
            return None
        return BuildCache(Path(settings.cacheFolder + suffix))

    siteCache, publicCache = cache(), cache("-" + PUBLIC)

    def store(
        folder: str,
        prefix: str = "/",
        cache: BuildCache | None = siteCache,
        quiet: bool = False,
    ) -> FileStore:
        def inThread(
            work: Callable[[], StoredFile | None],
        ) -> Deferred[StoredFile | None]:
            return deferToThread(work)

        return FileStore(
            folder,
            settings.memory,
            time.monotonic,
            inThread,
            cache=cache,
            prefix=prefix,
            followSymlinks=settings.followSymlinks,
            workers=None if dev else workers,
            compressor=leaveUncompressed if dev else None,
            quiet=quiet,
        )

    def hintsNow(hintsOf: FileStore, live: LiveHints, pages: DevPages) -> None:
        # Development mode: every fingerprint is final once built.
        if settings.preload.enabled:
            limits = settings.preload.limits
            hints = pageHints(hintsOf, limits, pages.pageLinks, pages.scans)
            live.update(hints.links)

    def afterFingerprints(
        stores: Sequence[FileStore],
        hintsOf: FileStore | None,
        live: LiveHints,
        root: SiteRoot | None,
        exists: Exists,
        quiet: bool = False,
    ) -> None:
        def work() -> Result:
            hints = None
            if hintsOf is not None and settings.preload.enabled:
                hints = pageHints(hintsOf, settings.preload.limits)
            return hints, _broken(root, stores, exists)

        def done(result: Result) -> None:
            hints, broken = result
            if hints is not None:
                live.update(hints.links)
                _log.info(
                    "h2site preload hints ready for {count} pages", count=len(live)
                )
            line = describeBroken(broken)
            if line is not None and not (quiet and line == lastBroken[0]):
                _log.warn("{line}", line=line)
            lastBroken[0] = line

        def inThread(_: object) -> Deferred[Result]:
            return runInThread(work)

        def start() -> None:
            d: Deferred[Any] = gatherResults([s.fingerprinted() for s in stores])
            d.addCallback(inThread)
            d.addCallback(done)
            d.addErrback(lambda f: _log.failure("working out hints and reports", f))

        # From the reactor's thread, whichever thread this build runs in.
        reactor.callFromThread(start)

    def buildSite(pages: DevPages | None = None, quiet: bool = False) -> Resource:
        check()
        kind = siteKind(siteDir)
        if not quiet:
            _log.info("{line}", line=kind.describe(siteDir))
            for warning in kind.warnings:
                _log.warn("{line}", line=warning)
        live = LiveHints()
        if kind.isPlain:
            site = store(siteDir, quiet=quiet)
            resource = buildPlainResource(
                site, reactor, settings.preload, sendEarlyHints, live.linksFor, pages
            )
            if pages is not None:
                hintsNow(site, live, pages)
            afterFingerprints(
                [site],
                None if pages is not None else site,
                live,
                None,
                existsInFolder(StoreNames(site)),
                quiet,
            )
            return resource
        folder = os.path.join(siteDir, PUBLIC)
        static = store(os.path.join(siteDir, STATIC), f"/{STATIC}/", quiet=quiet)
        public = (
            store(folder, cache=publicCache, quiet=quiet)
            if os.path.isdir(folder)
            else None
        )
        root = buildResource(
            siteDir,
            reactor,
            static,
            settings.preload,
            sendEarlyHints,
            public,
            live.linksFor,
            pages,
        )
        if public is not None and pages is not None:
            hintsNow(public, live, pages)
        stores = [static] if public is None else [static, public]
        afterFingerprints(
            stores,
            None if pages is not None else public,
            live,
            root,
            _templateExists(root, static, public),
            quiet,
        )
        return root

    if liveReload is None:
        return buildSite
    return _devBuilder(buildSite, liveReload, siteDir, reactor)


def _devBuilder(
    buildSite: Callable[[DevPages, bool], Resource],
    liveReload: LiveReload,
    siteDir: str,
    reactor: Any,
) -> Callable[[], Resource]:
    """
    The builds of development mode: one at a time (a change and a SIGHUP
    may ask at once), each with a token of its own, the first one logged as
    at start-up, and a site that fails its checks served as an error page.
    """
    lock = threading.Lock()
    builds = itertools.count()
    templates = os.path.join(siteDir, "templates")

    def build() -> Resource:
        with lock:
            pages = liveReload.begin(templates)
            root: Resource
            try:
                root = buildSite(pages, next(builds) > 0)
            except ConfigError as e:
                root = pages.siteError(str(e), reactor)
            return liveReload.wrap(root, pages)

    return build


@dataclass(frozen=True)
class CheckReport:
    """
    What C{--check} found.

    @ivar kind: the line saying which kind of site the folder is.
    @ivar refused: the symbolic links refused (they leave the folder).
    @ivar broken: for each file with broken references, their URLs.
    """

    kind: str
    refused: Sequence[RefusedLink]
    broken: Mapping[str, tuple[str, ...]]

    @property
    def clean(self) -> bool:
        return not self.refused and not self.broken


def checkSite(settings: SiteSettings, reactor: Any) -> CheckReport:
    """
    Index a site without serving it, nothing kept in memory or compressed,
    and find its refused links and broken references.  Blocking.

    @raise h2site.errors.ConfigError: if a template fails to render.
    """
    siteDir = settings.siteDir
    kind = siteKind(siteDir)
    refused: list[RefusedLink] = []

    def collect(root: str, links: Sequence[RefusedLink]) -> None:
        refused.extend(links)

    nothing = MemoryLimits(maxFileSize=0, maxTotalSize=0)

    def store(folder: str, prefix: str = "/") -> FileStore:
        real = os.path.realpath(folder)
        for _ in walk(real, settings.followSymlinks, prefix == "/", collect):
            pass
        return FileStore(
            folder,
            nothing,
            time.monotonic,
            deferToThread,
            prefix=prefix,
            followSymlinks=settings.followSymlinks,
        )

    if kind.isPlain:
        site = store(siteDir)
        site.build()
        broken = _broken(None, [site], existsInFolder(StoreNames(site)))
    else:
        folder = os.path.join(siteDir, PUBLIC)
        static = store(os.path.join(siteDir, STATIC), f"/{STATIC}/")
        public = store(folder) if os.path.isdir(folder) else None
        root = buildResource(siteDir, reactor, static, settings.preload, None, public)
        stores = [static] if public is None else [static, public]
        broken = _broken(root, stores, _templateExists(root, static, public))
    return CheckReport(kind.describe(siteDir), refused, broken)
