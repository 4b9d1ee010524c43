"""Tests for L{h2site.refs.htmltargets}."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from h2site.refs.htmltargets import Fingerprintable, htmlTargets

PAGE = "/docs/page.html"


def marked(html: str, page: str = PAGE) -> str:
    """
    C{html} with C{?v=F} inserted where each target says, as the rewriting
    does.
    """
    parts = []
    done = 0
    for target in htmlTargets(page, html):
        parts.append(html[done : target.insertAt] + "?v=F")
        done = target.insertAt
    return "".join(parts) + html[done:]


class ElementTests(SynchronousTestCase):
    """
    The elements and attributes whose references are fingerprinted.
    """

    def test_targets(self) -> None:
        """
        Each target names the resolved URL and the position after the path.
        """
        html = '<link rel=stylesheet href="../s/a.css#x">'
        self.assertEqual(
            htmlTargets(PAGE, html), [Fingerprintable("/s/a.css", len(html) - 4)]
        )

    def test_links(self) -> None:
        """
        Stylesheets (alternate ones too), preloads of any kind, module
        preloads and icons.
        """
        html = (
            "<link rel=stylesheet href=a.css>"
            "<link rel='alternate stylesheet' href=b.css>"
            "<link rel=preload as=font href=f.woff2 crossorigin>"
            "<link rel=modulepreload href=m.mjs>"
            "<link rel='shortcut icon' href=favicon.ico>"
            "<link rel=apple-touch-icon href=touch.png>"
        )
        self.assertEqual(
            marked(html),
            "<link rel=stylesheet href=a.css?v=F>"
            "<link rel='alternate stylesheet' href=b.css?v=F>"
            "<link rel=preload as=font href=f.woff2?v=F crossorigin>"
            "<link rel=modulepreload href=m.mjs?v=F>"
            "<link rel='shortcut icon' href=favicon.ico?v=F>"
            "<link rel=apple-touch-icon href=touch.png?v=F>",
        )

    def test_otherLinks(self) -> None:
        """
        Links to documents and links the page does not fetch as a
        subresource are left alone.
        """
        html = (
            "<link rel=canonical href=page.html><link rel=next href=next.html>"
            "<link rel=prefetch href=p.css><link rel=manifest href=m.json>"
            "<link href=norel.css><a href=other.html>x</a>"
            "<link rel=search href=search.html>"
        )
        self.assertEqual(marked(html), html)

    def test_scripts(self) -> None:
        """
        Classic and module scripts (C{nomodule} ones too), not data blocks.
        """
        html = (
            "<script src=a.js></script><script type=module src=m.mjs></script>"
            "<script nomodule src=legacy.js></script>"
            "<script type=text/template src=t.html></script>"
        )
        self.assertEqual(
            marked(html),
            "<script src=a.js?v=F></script><script type=module src=m.mjs?v=F></script>"
            "<script nomodule src=legacy.js?v=F></script>"
            "<script type=text/template src=t.html></script>",
        )

    def test_images(self) -> None:
        """
        Images: C{src} and each C{srcset} candidate, descriptors kept;
        C{<source srcset>} in C{<picture>}; C{imagesrcset} of preloads.
        """
        html = (
            '<img src=a.png srcset="a.png 1x,a@2x.png 2x" alt=x>'
            "<picture><source srcset='b.avif' type=image/avif>"
            "<img src=b.png></picture>"
            "<video><source src=v.mp4 srcset=v.png></video>"
            "<link rel=preload as=image href=h.png "
            'imagesrcset="h.png 400w, h2.png 800w">'
        )
        self.assertEqual(
            marked(html),
            '<img src=a.png?v=F srcset="a.png?v=F 1x,a@2x.png?v=F 2x" alt=x>'
            "<picture><source srcset='b.avif?v=F' type=image/avif>"
            "<img src=b.png?v=F></picture>"
            "<video><source src=v.mp4 srcset=v.png></video>"
            "<link rel=preload as=image href=h.png?v=F "
            'imagesrcset="h.png?v=F 400w, h2.png?v=F 800w">',
        )

    def test_srcsetSpacing(self) -> None:
        """
        C{srcset} with odd spacing, newlines and commas inside URLs.
        """
        html = '<img srcset="\n  a.png   1x ,\n\tb.png 2x,c,d.png,  e.png">'
        self.assertEqual(
            marked(html),
            '<img srcset="\n  a.png?v=F   1x ,\n\tb.png?v=F 2x,c,d.png?v=F,'
            '  e.png?v=F">',
        )


class ShapeTests(SynchronousTestCase):
    """
    However attributes are written, the fingerprint goes after the path and
    nothing else changes.
    """

    def test_orderAndCase(self) -> None:
        """
        Attributes in any order and case; tag names in any case.
        """
        html = (
            "<LINK HREF=a.css REL=StyleSheet><ScRiPt SRC='b.js' Type=Module></script>"
        )
        self.assertEqual(
            marked(html),
            "<LINK HREF=a.css?v=F REL=StyleSheet>"
            "<ScRiPt SRC='b.js?v=F' Type=Module></script>",
        )

    def test_quoting(self) -> None:
        """
        Unquoted, single- and double-quoted values, spaces around C{=},
        C{>} inside quotes, self-closing tags.
        """
        html = (
            "<img src=a.png/><img src='b.png' alt='>'/><img src = \"c.png\" />"
            '<img alt="a>b" src=d.png>'
        )
        self.assertEqual(
            marked(html),
            "<img src=a.png/?v=F><img src='b.png?v=F' alt='>'/>"
            '<img src = "c.png?v=F" /><img alt="a>b" src=d.png?v=F>',
        )

    def test_surroundingWhitespace(self) -> None:
        """
        Whitespace around a URL, which URL parsing strips, stays where it
        is.
        """
        self.assertEqual(marked("<img src=' a.png\n'>"), "<img src=' a.png?v=F\n'>")

    def test_fragment(self) -> None:
        """
        The fingerprint goes before a fragment.
        """
        self.assertEqual(
            marked("<img src='sprite.svg#icon'>"), "<img src='sprite.svg?v=F#icon'>"
        )

    def test_duplicates(self) -> None:
        """
        Of repeated attributes only the first is the element's.
        """
        self.assertEqual(
            marked("<img src=a.png src=b.png>"), "<img src=a.png?v=F src=b.png>"
        )

    def test_resolution(self) -> None:
        """
        References resolve against the page's URL, as the browser resolves
        them (dot segments, percent-encoding); one with an empty segment,
        which browsers keep, is left alone.
        """
        html = "<img src='../img/./x y.png'><img src=/abs.png><img src=..//z.png>"
        self.assertEqual(
            [t.url for t in htmlTargets("/docs/a/page.html", html)],
            ["/docs/img/x%20y.png", "/abs.png"],
        )


class LeftAloneTests(SynchronousTestCase):
    """
    What is not fingerprinted, because it is not a fetch of a file of the
    site, or because its text is not the URL it means.
    """

    def test_notFiles(self) -> None:
        """
        Queries, other schemes, other origins, fragments alone, empty
        values, the page itself.
        """
        html = (
            "<img src='a.png?x=1'><img src='data:image/png;base64,AA=='>"
            "<img src=https://cdn.example/a.png><img src=//cdn.example/b.png>"
            "<img src=#x><img src=''><img src><img src=' '><img src=page.html>"
            "<img srcset='data:image/png;base64,AA== 1x, https://x/y.png 2x'>"
            "<script src=javascript:void(0)></script>"
        )
        self.assertEqual(marked(html), html)

    def test_notAsWritten(self) -> None:
        """
        Values written with character references, a backslash, a tab or a
        newline inside are left as written (the text is not the URL); so is
        a C{srcset} with a reference anywhere.
        """
        html = (
            "<img src='a&amp;b.png'><img src='&#97;.png'><img src='a\\b.png'>"
            "<img src='a\nb.png'><img src='a\tb.png'><img src='a\rb.png'>"
            "<img srcset='a.png 1x, b&#46;png 2x'>"
        )
        self.assertEqual(marked(html), html)

    def test_inertPlaces(self) -> None:
        """
        Comments, script and style text, C{<noscript>}, C{<template>}
        contents, C{<title>} and C{<textarea>} text, attribute values.
        """
        html = (
            "<!-- <img src=c.png> --><script>document.write('<img src=s.png>')</script>"
            "<style>/* <img src=y.png> */</style><noscript><img src=n.png></noscript>"
            "<template><img src=t.png><template><img src=u.png></template></template>"
            "<title><img src=ti.png></title><textarea><img src=ta.png></textarea>"
            "<div title='<img src=v.png>'><!x <img src=b.png>>"
        )
        self.assertEqual(marked(html), html)

    def test_afterTemplate(self) -> None:
        """
        After a template, references count again.
        """
        self.assertEqual(
            marked("<template><img src=a.png></template><img src=b.png>"),
            "<template><img src=a.png></template><img src=b.png?v=F>",
        )


class BaseTests(SynchronousTestCase):
    """
    C{<base href>} changes how references resolve.
    """

    def test_changesResolution(self) -> None:
        """
        After a C{<base href>} that makes relative references resolve
        elsewhere, nothing is fingerprinted; before it, references resolve
        against the page.
        """
        for base in ["/other/", "../", "https://cdn.example/", "//cdn.example/x/"]:
            html = f"<img src=a.png><base href='{base}'><img src=b.png><img src=/c.png>"
            self.assertEqual(
                marked(html),
                f"<img src=a.png?v=F><base href='{base}'>"
                "<img src=b.png><img src=/c.png>",
            )

    def test_sameDirectory(self) -> None:
        """
        A base in the page's own directory, or an empty one, changes nothing.
        """
        for base in ["", " ", "./", "/docs/", "other.html", "?q=1"]:
            html = f"<base href='{base}'><img src=b.png>"
            self.assertEqual(
                marked(html), f"<base href='{base}'><img src=b.png?v=F>", base
            )

    def test_onlyTheFirst(self) -> None:
        """
        Only the first C{<base>} with an C{href} counts; one in a template
        does not.
        """
        html = (
            "<template><base href=/x/></template><base target=_blank>"
            "<base href=./><base href=/y/><img src=a.png>"
        )
        self.assertEqual(marked(html), html.replace("a.png", "a.png?v=F"))


class MalformedTests(SynchronousTestCase):
    """
    Malformed markup survives, with only fingerprints added.
    """

    def test_shapes(self) -> None:
        """
        Unclosed elements, stray C{<}, a document cut inside a tag.
        """
        html = "<p>a < b <<img src=a.png> 1 <2 <div><span><img src=b.png"
        self.assertEqual(
            marked(html), "<p>a < b <<img src=a.png?v=F> 1 <2 <div><span><img src=b.png"
        )

    def test_unclosedComment(self) -> None:
        """
        A comment that never closes runs to the end.
        """
        html = "<img src=a.png><!-- <img src=b.png>"
        self.assertEqual(marked(html), "<img src=a.png?v=F><!-- <img src=b.png>")

    def test_svg(self) -> None:
        """
        An SVG C{<style>} holds markup, but nothing there is an image; an
        C{<img>} breaks out of it.
        """
        html = "<svg><style><img src=a.png></style></svg><svg><img src=b.png>"
        self.assertEqual(
            marked(html),
            "<svg><style><img src=a.png?v=F></style></svg><svg><img src=b.png?v=F>",
        )


_PIECES = [
    "<img src=",
    "<img srcset='",
    "<link rel=stylesheet href=",
    "<script src=",
    "</script>",
    "<script>",
    "<base href=",
    "<template>",
    "</template>",
    "<picture>",
    "<source srcset=",
    "<!--",
    "-->",
    "a.png",
    "../b.css",
    " 2x,",
    "#f",
    "?q",
    "&amp;",
    "'",
    '"',
    " ",
    ">",
    "<",
    "/",
    "=",
    "\n",
]

_HTMLISH = st.lists(
    st.one_of(st.sampled_from(_PIECES), st.text(max_size=3)), max_size=30
).map("".join)

_FINGERPRINT = re.compile(r"\?v=F")


class PropertyTests(SynchronousTestCase):
    @settings(database=None, deadline=None, max_examples=500)
    @given(_HTMLISH, st.sampled_from(["/", "/docs/page.html", "/a/b/"]))
    def test_onlyInsertions(self, html: str, page: str) -> None:
        """
        Marking only inserts: taking the marks out gives the page back; the
        marks are in order; and every target is a same-origin path.
        """
        found = htmlTargets(page, html)
        self.assertEqual(found, sorted(found, key=lambda t: t.insertAt))
        for target in found:
            self.assertTrue(target.url.startswith("/"))
            self.assertNotIn("?", target.url)
            self.assertNotIn("#", target.url)
        self.assertEqual(
            _FINGERPRINT.sub("", marked(html, page)), html.replace("?v=F", "")
        )

    @settings(database=None, deadline=None)
    @given(st.text(), st.text())
    def test_arbitraryText(self, html: str, page: str) -> None:
        """
        Arbitrary text and page URLs never make L{htmlTargets} raise.
        """
        htmlTargets("/" + page, html)
