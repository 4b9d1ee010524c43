# -*- test-case-name: tests.unit.files.test_fingerprint -*-
"""
Fingerprint the references inside stylesheets, modules and HTML pages, so
everything a page pulls in is requested by a URL that may be cached as
immutable.

C{static_url()} fingerprints what a template names, but a stylesheet names
its imports, fonts and images itself, and a module its imports, by plain
relative URLs.  Those are served C{no-cache}: the browser must ask before
each reuse, and a copy fetched early (by a 103 Early Hints preload) must be
revalidated before it is used, which costs the round trip preload saved.
So, as Django's C{ManifestStaticFilesStorage} does at build time, the file
store rewrites each such reference to carry the current fingerprint of the
file it names (C{url("../fonts/x.woff2?v=1a2b...")}), in memory, when it
indexes the site.  The same goes for the pages of a site served as it is
(a generator's output folder), which name their stylesheets, scripts and
images by plain URLs too (see L{h2site.refs.htmltargets}).

This module only computes the new bytes; it is pure.  It inserts
C{?v=<fingerprint>} after the path of a reference and changes nothing else,
so a reference keeps its relative form, its quotes and its fragment.  When
in doubt it leaves a reference alone, which is always correct (the file is
then just revalidated): references written with escapes (the text is not
the URL), with a query already, C{data:} and other schemes, other hosts,
bare module specifiers (an import map resolves those), dynamic imports that
are not a single string literal, and anything that is not a file of the
site.  A file that is not UTF-8 (as the server declares it) is not
rewritten at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from h2site.refs.css import findURLReferences
from h2site.refs.htmltargets import htmlTargets
from h2site.refs.js import findImportReferences
from h2site.refs.urls import resolveURL

__all__ = ["Kind", "Target", "VersionOf", "kindOf", "postOrder", "rewrite", "targets"]

#: What a file is, for rewriting: a stylesheet, a JavaScript file or an HTML
#: page.
Kind = Literal["css", "js", "html"]

#: Maps an absolute, percent-encoded URL path (no query) to the current
#: fingerprint of the static file there, or L{None} if there is none.
VersionOf = Callable[[str], str | None]

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xfe\xff", b"\xff\xfe")
_MODULE_EXTENSIONS = (".js", ".mjs")
_URL_SPECIFIER_PREFIXES = ("/", "./", "../")


def kindOf(name: str, contentType: str) -> Kind | None:
    """
    Which references of a static file are rewritten: a stylesheet's, a
    JavaScript file's (C{.js} and C{.mjs} served as JavaScript), an HTML
    page's, or none.
    """
    mediaType = contentType.split(";", 1)[0]
    if mediaType == "text/css":
        return "css"
    if mediaType == "text/html":
        return "html"
    if name.lower().endswith(_MODULE_EXTENSIONS) and mediaType == "text/javascript":
        return "js"
    return None


@dataclass(frozen=True)
class Target:
    """
    A reference that can carry a fingerprint.

    @ivar url: The file it names: an absolute, percent-encoded path.
    @ivar insertAt: Where in the text (after the reference's path, before
        any fragment) C{?v=...} goes.
    """

    url: str
    insertAt: int


def _decode(data: bytes) -> tuple[bytes, str] | None:
    """
    Split C{data} into its UTF-8 byte order mark (if any) and its text, or
    L{None} if it is not UTF-8.  The server sends stylesheets and scripts as
    C{charset=utf-8}, which browsers obey unless a byte order mark says
    otherwise (C{@charset} does not count then).
    """
    if data.startswith(_UTF16_BOMS):
        return None
    bom = _UTF8_BOM if data.startswith(_UTF8_BOM) else b""
    try:
        return bom, data[len(bom) :].decode("utf-8")
    except UnicodeDecodeError:
        return None


def _cssTarget(fileURL: str, reference: str, start: int) -> Target | None:
    """
    The target of a stylesheet reference written as C{reference} at
    C{start}, if it may be fingerprinted.
    """
    if not reference or reference != reference.strip() or "?" in reference:
        return None
    path = reference.split("#", 1)[0]
    if not path or "\\" in path:
        return None
    url = resolveURL(fileURL, path)
    if url is None:
        return None
    return Target(url, start + len(path))


def _jsTarget(fileURL: str, specifier: str, start: int) -> Target | None:
    """
    The target of a module specifier written as C{specifier} at C{start},
    if it may be fingerprinted: a relative or absolute path (not a bare
    name, not a full URL) to a JavaScript file, with no query or fragment.
    """
    if (
        not specifier.startswith(_URL_SPECIFIER_PREFIXES)
        or specifier.startswith("//")
        or any(char in specifier for char in "?#\\")
        or specifier != specifier.strip()
    ):
        return None
    if not specifier.lower().endswith(_MODULE_EXTENSIONS):
        return None
    url = resolveURL(fileURL, specifier)
    if url is None:
        return None
    return Target(url, start + len(specifier))


def _targetsIn(fileURL: str, text: str, kind: Kind) -> list[Target]:
    """
    The references in a file's text that may be fingerprinted, in source
    order.
    """
    found: list[Target] = []
    if kind == "html":
        return [Target(url, insertAt) for url, insertAt in htmlTargets(fileURL, text)]
    if kind == "css":
        for css in findURLReferences(text):
            if text[css.start : css.end] == css.url:
                target = _cssTarget(fileURL, css.url, css.start)
                if target is not None:
                    found.append(target)
    elif kind == "js":
        for js in findImportReferences(text):
            if text[js.start : js.end] == js.specifier:
                target = _jsTarget(fileURL, js.specifier, js.start)
                if target is not None:
                    found.append(target)
    return found


def targets(fileURL: str, data: bytes, kind: Kind) -> list[Target]:
    """
    The references in a file that may be fingerprinted, in source order.

    @param fileURL: The URL the file is served at (an absolute path);
        references resolve against it.
    @param data: The file's bytes.
    """
    decoded = _decode(data)
    if decoded is None:
        return []
    return _targetsIn(fileURL, decoded[1], kind)


def rewrite(
    fileURL: str,
    data: bytes,
    kind: Kind,
    versionOf: VersionOf,
    found: Sequence[Target] | None = None,
) -> bytes:
    """
    The file with C{?v=<fingerprint>} added to each reference that may be
    fingerprinted and names a file C{versionOf} knows.

    @param fileURL: The URL the file is served at (an absolute path).
    @param data: The file's bytes.
    @param versionOf: The current fingerprint of the file at a URL.
    @param found: What L{targets} gave for these very bytes, if it was
        called already (parsing a large stylesheet costs more than the rest
        of this put together).
    @return: The new bytes; C{data} itself when nothing changed.
    """
    decoded = _decode(data)
    if decoded is None:
        return data
    bom, text = decoded
    if found is None:
        found = _targetsIn(fileURL, text, kind)
    parts: list[str] = []
    done = 0
    for target in found:
        version = versionOf(target.url)
        if version is None:
            continue
        parts.append(text[done : target.insertAt])
        parts.append("?v=" + version)
        done = target.insertAt
    if not parts:
        return data
    parts.append(text[done:])
    return bom + "".join(parts).encode("utf-8")


def postOrder(names: Sequence[str], edges: Mapping[str, Sequence[str]]) -> list[str]:
    """
    C{names} in an order where each comes after the names its edges point
    to (depth first, from each name in turn), except where the edges form
    a cycle: there, the edge that closes it points to a name still waiting
    for its own children, which comes later.

    Rewriting in this order gives each file the final fingerprint of every
    file it names, but for the one reference that closes each cycle.  Such a
    reference is left as written (its target has no final fingerprint
    yet), which is correct, only not immutable: every fingerprint in a file
    is that of the bytes served under it.

    @param edges: for each name, the names it references; names that are
        not in C{names} are ignored.
    @return: Every name of C{names} once.
    """
    wanted = set(names)
    visited: set[str] = set()
    order: list[str] = []
    for first in names:
        if first in visited:
            continue
        visited.add(first)
        # An explicit stack: a long chain of imports must not exhaust
        # Python's recursion limit.
        stack: list[tuple[str, Iterator[str]]] = [(first, iter(edges.get(first, ())))]
        while stack:
            name, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                order.append(name)
            elif child in wanted and child not in visited:
                visited.add(child)
                stack.append((child, iter(edges.get(child, ()))))
    return order
