# -*- test-case-name: tests.unit.sites.test_check -*-
"""
Broken references: what a site's pages, stylesheets and modules name that
no file answers.  They are links a visitor follows to a 404, and assets a
page waits for in vain; h2site says how many at start-up, and lists them
all with C{--check}, which a site's author can run in their own CI.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from urllib.parse import unquote_to_bytes

from h2site.files.fingerprint import Kind, kindOf, targets
from h2site.files.safepath import nameToURL
from h2site.files.store import FileStore
from h2site.refs.pagerefs import pageReferences
from h2site.sites.plain import NotFound, decide

__all__ = [
    "MAX_READ",
    "Exists",
    "brokenReferences",
    "describeBroken",
    "existsInFolder",
    "listBroken",
    "storeSources",
]

#: The largest file read for its references.
MAX_READ = 4 * 1024 * 1024

#: Whether a URL (an absolute path, perhaps with a query) is answered.
Exists = Callable[[str], bool]

#: How many broken references a one-line report names.
_SHOWN = 3


def existsInFolder(names: Container[str]) -> Exists:
    """
    Whether a URL names something in a folder served as a plain site, by
    the rules its requests follow (C{/dir/} is C{dir/index.html}, C{/page}
    is C{page.html}, a folder without its C{/} is a redirect to it).

    @param names: the files that may be served (see
        L{h2site.sites.plain.decide}).
    """

    def exists(url: str) -> bool:
        path, _, query = url.partition("?")
        segments = [unquote_to_bytes(s) for s in path.split("/")[1:]]
        return not isinstance(decide(segments, query.encode() or None, names), NotFound)

    return exists


def brokenReferences(
    pages: Iterable[tuple[str, str]],
    files: Iterable[tuple[str, bytes, Kind]],
    exists: Exists,
) -> dict[str, tuple[str, ...]]:
    """
    What each page, stylesheet and module names that C{exists} denies.

    @param pages: each page's URL and text.
    @param files: each stylesheet's and module's URL, bytes (as sent) and
        kind; their references are read as fingerprinting reads them.
    @return: for each file with broken references, its URL and those
        references' URLs, in the order they are written.
    """
    broken: dict[str, tuple[str, ...]] = {}
    for url, html in pages:
        missing = tuple(ref for ref in pageReferences(html, url) if not exists(ref))
        if missing:
            broken[url] = missing
    for url, data, kind in files:
        named = dict.fromkeys(target.url for target in targets(url, data, kind))
        missing = tuple(ref for ref in named if not exists(ref))
        if missing:
            broken[url] = missing
    return broken


def describeBroken(broken: Mapping[str, Sequence[str]]) -> str | None:
    """
    One line on broken references, for the log at start-up, or L{None} if
    there are none.
    """
    if not broken:
        return None
    targets = {url for missing in broken.values() for url in missing}
    shown = [
        f"{page} -> {url}"
        for page, missing in sorted(broken.items())
        for url in missing
    ]
    more = "" if len(shown) <= _SHOWN else f", and {len(shown) - _SHOWN} more"
    files = "file" if len(broken) == 1 else "files"
    return (
        f"{len(broken)} {files} of the site name {len(targets)} URLs that "
        f"nothing answers: {', '.join(shown[:_SHOWN])}{more} "
        f"(twistd h2site --check lists them all)"
    )


def listBroken(broken: Mapping[str, Sequence[str]]) -> list[str]:
    """
    Every broken reference, one line each, as C{--check} prints them.
    """
    return [
        f"{page} -> {url}"
        for page, missing in sorted(broken.items())
        for url in missing
    ]


def _read(path: str, limit: int) -> bytes | None:
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError:
        return None
    return data if len(data) <= limit else None


def storeSources(
    store: FileStore,
) -> tuple[list[tuple[str, str]], list[tuple[str, bytes, Kind]]]:
    """
    What L{brokenReferences} reads of a store: its pages (HTML) and its
    stylesheets and modules, as they are sent (from memory) or, for those
    kept on disk, as they are written.

    Blocking: run it in a thread.

    @return: the pages, by URL with their text, and the other files, by
        URL with their bytes and kind.
    """
    pages: list[tuple[str, str]] = []
    files: list[tuple[str, bytes, Kind]] = []
    for name in store.names():
        stored = store.get(name)
        if stored is None:
            continue
        kind = kindOf(name, stored.representation.contentType)
        if kind is None:
            continue
        data = stored.representation.identity.data
        if data is None:
            data = _read(stored.realPath, MAX_READ)
        if data is None:
            continue
        url = nameToURL(name, store.prefix)
        if kind == "html":
            pages.append((url, data.decode("utf-8", "replace")))
        else:
            files.append((url, data, kind))
    return pages, files
