# -*- test-case-name: tests.unit.refs.test_htmltargets -*-
"""
Find the references in an HTML page that can carry a fingerprint: the
URLs of the stylesheets, scripts, modules, icons, images and preloads it
names, and where in its text C{?v=<fingerprint>} would go.

The page's text is otherwise left as written, so only references whose text
is exactly the URL they mean are kept; when in doubt a reference is left
alone, which is always correct (the file it names is then revalidated
instead of being cached as immutable).  Left alone: references in comments,
in the text of C{<script>}, C{<style>}, C{<noscript>} and the like, inside
C{<template>} contents; values written with character references, NUL or
CR (their text is not the URL); references with a query already, or with a
backslash, tab, newline or empty path segment in them; empty ones and
fragments alone; other schemes (C{data:}) and other origins; the page
itself; and everything after a C{<base href>} that changes how relative
references resolve.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from h2site.refs.html import directoryOf, relTokens, resolveFrom, scriptKind
from h2site.refs.htmltokenizer import START_TAG, Attribute, attributesOf, tokenize
from h2site.refs.srcset import srcsetURLs
from h2site.refs.urls import C0_AND_SPACE, resolve

__all__ = ["Fingerprintable", "htmlTargets"]


class Fingerprintable(NamedTuple):
    """
    A reference in a page that can carry a fingerprint (the same fields as
    L{h2site.files.fingerprint.Target}).

    @ivar url: The file it names: an absolute, percent-encoded path.
    @ivar insertAt: Where in the page's text (after the reference's path,
        before any fragment) C{?v=...} goes.
    """

    url: str
    insertAt: int


_NAMES = frozenset(["base", "img", "link", "picture", "script", "source"])
# Links the browser fetches as a subresource (icons: a browser's own).
_FETCHED_RELS = frozenset(
    [
        "apple-touch-icon",
        "apple-touch-icon-precomposed",
        "icon",
        "mask-icon",
        "modulepreload",
        "preload",
        "stylesheet",
    ]
)
# What URL parsing removes or changes inside a URL, or a query: the text
# after "?v=" would no longer be the fingerprint.
_NOT_AS_WRITTEN = frozenset("?\\\t\n\r")


def _target(page: str, reference: str, start: int) -> Fingerprintable | None:
    """
    The target of a reference written as C{reference} at C{start}, if it
    may be fingerprinted.
    """
    if not _NOT_AS_WRITTEN.isdisjoint(reference):
        return None
    path = reference.split("#", 1)[0]
    # An empty segment ("a//b") is kept by browsers but not by resolve().
    if not path or "//" in path:
        return None
    url = resolveFrom(page, path)
    if url is None or url == page:
        return None
    return Fingerprintable(url, start + len(path))


def _references(
    name: str, attributes: Mapping[str, Attribute], inPicture: bool
) -> list[tuple[Attribute, bool]]:
    """
    The attributes of an element that name something the browser fetches,
    each with whether it is a C{srcset}.
    """
    found: list[tuple[Attribute, bool]] = []

    def add(attributeName: str, isSet: bool = False) -> None:
        attribute = attributes.get(attributeName)
        if attribute is not None:
            found.append((attribute, isSet))

    if name == "link":
        rel = relTokens(attributes["rel"].value if "rel" in attributes else None)
        if not rel.isdisjoint(_FETCHED_RELS):
            add("href")
        if "preload" in rel:
            add("imagesrcset", True)
    elif name == "script":
        values = {key: attribute.value for key, attribute in attributes.items()}
        if scriptKind(values) is not None:
            add("src")
    elif name == "img":
        add("src")
        add("srcset", True)
    elif name == "source" and inPicture:
        add("srcset", True)
    return found


def _changesResolution(page: str, href: str) -> bool:
    """
    Whether a C{<base href>} makes some reference resolve differently than
    against the page's own URL.
    """
    if not href.strip(C0_AND_SPACE):
        # The empty URL resolves to the page itself.
        return False
    base = resolve(page, href)
    return base is None or directoryOf(base) != directoryOf(page)


def htmlTargets(pageURL: str, html: str) -> list[Fingerprintable]:
    """
    The references in a page that may be fingerprinted, in source order:
    C{href} of stylesheets, preloads, module preloads and icons, C{src} of
    classic and module scripts and of images, and the candidates of C{srcset}
    (of images and of C{<source>} in C{<picture>}) and of C{imagesrcset}
    (of image preloads).

    Never raises; references resolve as the browser resolves them, whether
    or not a file is there.

    @param pageURL: The URL the page is served at (an absolute path).
    @param html: The page's text.
    """
    page = resolve("/", pageURL or "/")
    if page is None:
        return []
    found: list[Fingerprintable] = []
    pictureDepth = 0
    sawBase = False
    for tag in tokenize(html, _NAMES):
        if tag.inTemplate or tag.foreign:
            continue
        if tag.name == "picture":
            if tag.kind == START_TAG:
                pictureDepth += 1
            elif pictureDepth:
                pictureDepth -= 1
            continue
        if tag.kind != START_TAG:
            continue
        attributes = {a.name: a for a in attributesOf(html, tag)}
        if tag.name == "base":
            if sawBase or "href" not in attributes:
                continue
            sawBase = True
            if _changesResolution(page, attributes["href"].value):
                break
            continue
        for attribute, isSet in _references(tag.name, attributes, pictureDepth > 0):
            start, end = attribute.valueStart, attribute.valueEnd
            if html[start:end] != attribute.value:
                continue
            if isSet:
                spans = [(start + s, start + e) for s, e in srcsetURLs(attribute.value)]
            else:
                stripped = attribute.value.lstrip(C0_AND_SPACE)
                urlStart = end - len(stripped)
                spans = [(urlStart, urlStart + len(stripped.rstrip(C0_AND_SPACE)))]
            for urlStart, urlEnd in spans:
                target = _target(page, html[urlStart:urlEnd], urlStart)
                if target is not None:
                    found.append(target)
    found.sort(key=lambda target: target.insertAt)
    return found
