"""
Tests for L{h2site.refs.urls}: references resolved as browsers resolve
them.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from tests.assets import urls


class ResolutionTests(SynchronousTestCase):
    """
    References resolve against the page (or its C{<base>}) and only
    same-origin paths are kept.
    """

    def test_relative(self) -> None:
        """
        A relative reference resolves against the page's directory.
        """
        self.assertEqual(
            urls("<link rel=stylesheet href=css/a.css>", "/blog/post"),
            ["/blog/css/a.css"],
        )

    def test_relativeToDirectory(self) -> None:
        """
        A page URL ending in C{/} is its own directory.
        """
        self.assertEqual(
            urls("<script src=app.js></script>", "/blog/"), ["/blog/app.js"]
        )

    def test_dotSegments(self) -> None:
        """
        C{.} and C{..} segments are resolved, also percent-encoded ones, and
        cannot climb above the root.
        """
        html = (
            "<link rel=stylesheet href=../a.css>"
            "<link rel=stylesheet href=./b/../c.css>"
            "<link rel=stylesheet href=../../../../d.css>"
            "<link rel=stylesheet href=/x/%2E%2e/e.css>"
        )
        self.assertEqual(
            urls(html, "/blog/post/"),
            ["/blog/a.css", "/blog/post/c.css", "/d.css", "/e.css"],
        )

    def test_absolutePath(self) -> None:
        """
        An absolute path is kept as it is.
        """
        self.assertEqual(
            urls("<link rel=stylesheet href=/static/a.css>", "/blog/post"),
            ["/static/a.css"],
        )

    def test_query(self) -> None:
        """
        The query string is kept, with character references decoded.
        """
        html = (
            "<link rel=stylesheet href='/a.css?v=1&amp;m=2'>"
            "<link rel=stylesheet href='?v=3'>"
        )
        self.assertEqual(urls(html, "/p"), ["/a.css?v=1&m=2", "/p?v=3"])

    def test_fragment(self) -> None:
        """
        The fragment is dropped; the browser never sends it.
        """
        self.assertEqual(
            urls("<link rel=preload as=image href='/s.svg?v=2#icon'>"), ["/s.svg?v=2"]
        )

    def test_selfReference(self) -> None:
        """
        References to the page itself (such as a placeholder C{src="#"}) are
        not preloaded.
        """
        html = (
            "<script src='#'></script><link rel=stylesheet href=post>"
            "<link rel=icon href='?'>"
        )
        self.assertEqual(urls(html, "/blog/post"), [])

    def test_crossOrigin(self) -> None:
        """
        Absolute and protocol-relative URLs to other origins are skipped,
        including ones spelled with backslashes or extra slashes.
        """
        html = (
            "<link rel=stylesheet href=https://cdn.example/a.css>"
            "<link rel=stylesheet href=http://cdn.example/b.css>"
            "<script src=//cdn.example/c.js></script>"
            "<script src=///cdn.example/d.js></script>"
            "<script src='\\\\cdn.example\\e.js'></script>"
            "<script src='/\\cdn.example/f.js'></script>"
            "<link rel=stylesheet href=/ok.css>"
        )
        self.assertEqual(urls(html), ["/ok.css"])

    def test_otherSchemes(self) -> None:
        """
        C{data:}, C{blob:}, C{javascript:}, C{mailto:} and other schemes are
        skipped.
        """
        html = (
            "<link rel=stylesheet href='data:text/css,body{}'>"
            "<script src='blob:https://x/1'></script>"
            "<script src='javascript:void(0)'></script>"
            "<link rel=icon href='mailto:a@example.com'>"
            "<link rel=icon href='about:blank'>"
            "<link rel=icon href='HTTPS:/x.png'>"
        )
        self.assertEqual(urls(html), [])

    def test_whitespace(self) -> None:
        """
        Whitespace around a URL is ignored and tabs and newlines inside it are
        removed, as browsers do.
        """
        self.assertEqual(
            urls("<script src=' \n /js/a\t.js \r\n'></script>"), ["/js/a.js"]
        )

    def test_percentEncoding(self) -> None:
        """
        Spaces, quotes, angle brackets, controls and non-ASCII characters are
        percent-encoded as UTF-8, as the browser requests them; other
        characters and existing escapes are left alone.
        """
        self.assertEqual(
            urls("<link rel=stylesheet href='/a b/é.css?q=&lt;ü&gt;&quot;|%41'>"),
            ["/a%20b/%C3%A9.css?q=%3C%C3%BC%3E%22|%41"],
        )

    def test_encodedDuplicates(self) -> None:
        """
        A URL written raw and percent-encoded is one request.
        """
        self.assertEqual(
            urls("<script src='/a b.js'></script><script src='/a%20b.js'></script>"),
            ["/a%20b.js"],
        )

    def test_base(self) -> None:
        """
        The first C{<base href>} changes the base for references after it;
        it is itself resolved against the page.
        """
        html = (
            "<base target=_blank>"
            "<base href=../static/>"
            "<base href=/ignored/>"
            "<link rel=stylesheet href=css/a.css>"
            "<script src=/abs.js></script>"
        )
        self.assertEqual(
            urls(html, "/blog/post/"), ["/blog/static/css/a.css", "/abs.js"]
        )

    def test_emptyBase(self) -> None:
        """
        An empty C{<base href>} leaves the page URL as the base.
        """
        self.assertEqual(urls("<base href=''><script src=a.js>", "/x/y"), ["/x/a.js"])

    def test_crossOriginBase(self) -> None:
        """
        A base on another origin makes every later reference cross-origin.
        """
        html = (
            "<link rel=stylesheet href=/before.css>"
            "<base href=https://cdn.example/>"
            "<link rel=stylesheet href=a.css><script src=/b.js></script>"
        )
        self.assertEqual(urls(html), ["/before.css"])

    def test_pageURLWithQuery(self) -> None:
        """
        The page's own query does not leak into relative references.
        """
        self.assertEqual(urls("<script src=a.js>", "/s/?q=1"), ["/s/a.js"])

    def test_pageURLWithHost(self) -> None:
        """
        When the page URL names a scheme or host its origin is unknown, so
        nothing is found.
        """
        self.assertEqual(urls("<script src=/a.js>", "https://example.com/"), [])
