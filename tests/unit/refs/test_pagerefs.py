"""
Tests for L{h2site.refs.pagerefs}: every same-origin URL a page names.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from h2site.refs.pagerefs import pageReferences


class PageReferencesTests(SynchronousTestCase):
    def test_linksAndEmbeds(self) -> None:
        """
        Links, stylesheets, scripts, images with their candidates, frames,
        media and objects are all followed, resolved against the page.
        """
        html = (
            '<a href="other.html">x</a><area href="/map">'
            "<link rel=stylesheet href=css/a.css>"
            "<script src=../js/a.js></script>"
            '<img src=i.png srcset="i2.png 2x, /abs.png 3x">'
            "<iframe src=frame.html></iframe><embed src=e.svg>"
            "<object data=o.pdf></object>"
            "<video src=v.mp4 poster=p.jpg><track src=t.vtt></video>"
            "<audio src=a.ogg></audio><input type=image src=b.png>"
        )
        self.assertEqual(
            pageReferences(html, "/docs/page.html"),
            [
                "/docs/other.html",
                "/map",
                "/docs/css/a.css",
                "/js/a.js",
                "/docs/i.png",
                "/docs/i2.png",
                "/abs.png",
                "/docs/frame.html",
                "/docs/e.svg",
                "/docs/o.pdf",
                "/docs/v.mp4",
                "/docs/p.jpg",
                "/docs/t.vtt",
                "/docs/a.ogg",
                "/docs/b.png",
            ],
        )

    def test_leftOut(self) -> None:
        """
        Fragments of the page itself, other origins and schemes, connection
        hints, template contents, comments and scripts' text name nothing
        of the site.
        """
        html = (
            '<a href="#top">t</a><a href="">self</a>'
            '<a href="https://example.com/x">e</a><a href="mailto:a@b">m</a>'
            '<a href="javascript:void(0)">j</a>'
            "<link rel=preconnect href=/cdn><link rel=dns-prefetch href=/d>"
            "<template><img src=/in-template.png></template>"
            "<!-- <a href=/commented.html> -->"
            "<script>document.write('<a href=/scripted.html>')</script>"
            "<svg><a href=/svg.html></a></svg>"
        )
        self.assertEqual(pageReferences(html, "/page.html"), [])

    def test_fragmentsAndQueries(self) -> None:
        """
        A fragment is dropped; a query is kept; each URL once.
        """
        html = (
            '<a href="b.html#x">1</a><a href="b.html#y">2</a><a href="b.html?q=1">3</a>'
        )
        self.assertEqual(pageReferences(html, "/a.html"), ["/b.html", "/b.html?q=1"])

    def test_base(self) -> None:
        """
        Relative references resolve against C{<base href>}; a base on
        another origin takes them all there.
        """
        html = '<base href="/other/dir/"><a href="x.html">x</a><a href=/y.html>y</a>'
        self.assertEqual(
            pageReferences(html, "/p.html"), ["/other/dir/x.html", "/y.html"]
        )
        html = '<base href="https://cdn.example/"><a href="x.html">x</a>'
        self.assertEqual(pageReferences(html, "/p.html"), [])

    def test_entities(self) -> None:
        """
        References are what the DOM holds: character references decoded.
        """
        html = '<a href="a&amp;b.html">x</a><a href="c&#46;html">y</a>'
        self.assertEqual(pageReferences(html, "/"), ["/a&b.html", "/c.html"])

    @given(st.text(max_size=300))
    def test_neverRaises(self, html: str) -> None:
        """
        Any text gives absolute same-origin paths.
        """
        for url in pageReferences(html, "/dir/page.html"):
            self.assertTrue(url.startswith("/"))
            self.assertNotIn("#", url)
