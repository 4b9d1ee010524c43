# -*- test-case-name: tests.unit.refs.test_pagerefs -*-
"""
Every same-origin URL a page links to or embeds: what a link checker
follows.  A site's author wants to know of the ones no file answers, and
h2site tells them at start-up and with C{--check}.

Unlike L{h2site.refs.html.findAssets}, which finds what a browser fetches
while it renders the page, this takes links too (C{<a href>}, C{<area>},
C{<iframe>}, media), and unlike L{h2site.refs.htmltargets.htmlTargets}, it
does not care how a reference is written, only where it leads.
"""

from __future__ import annotations

from collections.abc import Mapping

from h2site.refs.html import relTokens, resolveFrom
from h2site.refs.htmltokenizer import START_TAG, Attribute, attributesOf, tokenize
from h2site.refs.srcset import srcsetURLs
from h2site.refs.urls import C0_AND_SPACE, resolve

__all__ = ["pageReferences"]

#: For each element, the attributes that hold one URL.
_URL_ATTRIBUTES: Mapping[str, tuple[str, ...]] = {
    "a": ("href",),
    "area": ("href",),
    "audio": ("src",),
    "embed": ("src",),
    "iframe": ("src",),
    "img": ("src",),
    "input": ("src",),
    "link": ("href",),
    "object": ("data",),
    "script": ("src",),
    "source": ("src",),
    "track": ("src",),
    "video": ("src", "poster"),
}

#: Attributes that hold a list of image candidates.
_SET_ATTRIBUTES: Mapping[str, tuple[str, ...]] = {
    "img": ("srcset",),
    "link": ("imagesrcset",),
    "source": ("srcset",),
}

#: Link types that name no resource of the site (an origin to connect to
#: early, a search engine's view of the page).
_NOT_RESOURCES = frozenset({"dns-prefetch", "preconnect", "canonical"})

_NAMES = frozenset({"base", *_URL_ATTRIBUTES, *_SET_ATTRIBUTES})


def _values(name: str, attributes: Mapping[str, Attribute]) -> list[str]:
    """
    The URLs, as written, that element C{name} names.
    """
    if name == "link" and not relTokens(
        attributes["rel"].value if "rel" in attributes else None
    ).isdisjoint(_NOT_RESOURCES):
        return []
    values = [
        attributes[key].value
        for key in _URL_ATTRIBUTES.get(name, ())
        if key in attributes
    ]
    for key in _SET_ATTRIBUTES.get(name, ()):
        if key in attributes:
            value = attributes[key].value
            values.extend(value[start:end] for start, end in srcsetURLs(value))
    return values


def pageReferences(html: str, pageURL: str) -> list[str]:
    """
    The same-origin URLs a page names, resolved as the browser resolves
    them (against C{<base href>} when there is one), without fragments,
    each once, in source order.  References to the page itself (C{#top},
    C{""}), to other origins and to other schemes are left out, as is what
    C{<template>} contents and SVG or MathML hold.

    Never raises.

    @param pageURL: The URL the page is served at (an absolute path).
    @return: Absolute paths, with their query if they have one.
    """
    page = resolve("/", pageURL or "/")
    if page is None:
        return []
    base = page
    sawBase = False
    found: dict[str, None] = {}
    for tag in tokenize(html, _NAMES):
        if tag.kind != START_TAG or tag.inTemplate or tag.foreign:
            continue
        attributes = {a.name: a for a in attributesOf(html, tag)}
        if tag.name == "base":
            if not sawBase and "href" in attributes:
                sawBase = True
                resolved = resolve(page, attributes["href"].value)
                # A base on another origin sends every relative reference
                # there: none of them is the site's.
                base = resolved if resolved is not None else ""
            continue
        for value in _values(tag.name, attributes):
            reference = value.strip(C0_AND_SPACE)
            if not reference or reference.startswith("#") or not base:
                continue
            url = resolveFrom(base, reference.split("#", 1)[0])
            if url is not None and url != page:
                found[url] = None
    return list(found)
