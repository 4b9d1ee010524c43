"""Tests for L{h2site.refs.html}."""

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from h2site.refs.asset import Asset
from h2site.refs.html import findAssets
from h2site.refs.links import linkHeaderValue, linkHeaderValues
from tests.assets import module, script, style, urls


class StylesheetTests(SynchronousTestCase):
    """
    C{<link rel=stylesheet>} becomes a C{preload} C{as=style}.
    """

    def test_stylesheet(self) -> None:
        """
        A stylesheet link is preloaded as a style.
        """
        self.assertEqual(
            findAssets('<link rel="stylesheet" href="/static/app.css">', "/"),
            [style("/static/app.css")],
        )

    def test_caseAndOrderOfAttributes(self) -> None:
        """
        Tag and attribute names and the C{rel} keyword are case-insensitive,
        and attributes may come in any order.
        """
        self.assertEqual(
            findAssets("<LINK HREF=/x.css REL=StyleSheet>", "/"), [style("/x.css")]
        )

    def test_quoting(self) -> None:
        """
        Attribute values may be double-quoted, single-quoted or unquoted.
        """
        html = (
            "<link rel=stylesheet href=/a.css>"
            "<link rel='stylesheet' href='/b.css'>"
            '<link rel="stylesheet" href="/c.css">'
        )
        self.assertEqual(urls(html), ["/a.css", "/b.css", "/c.css"])

    def test_relTokenList(self) -> None:
        """
        C{rel} is a whitespace-separated token list.
        """
        self.assertEqual(
            urls('<link rel="  foo\tSTYLESHEET\n" href="/a.css">'), ["/a.css"]
        )

    def test_alternateSkipped(self) -> None:
        """
        Alternate stylesheets are not fetched up front, so not preloaded.
        """
        self.assertEqual(
            urls('<link rel="alternate stylesheet" title=x href="/a.css">'), []
        )

    def test_disabledSkipped(self) -> None:
        """
        A stylesheet with a C{disabled} attribute is not preloaded.
        """
        self.assertEqual(urls("<link rel=stylesheet disabled href=/a.css>"), [])

    def test_nonCSSTypeSkipped(self) -> None:
        """
        A stylesheet whose C{type} is not C{text/css} is never fetched by
        browsers, so it is skipped; C{text/css} in any case is kept.
        """
        html = (
            "<link rel=stylesheet type=text/less href=/a.less>"
            "<link rel=stylesheet type=TEXT/CSS href=/b.css>"
        )
        self.assertEqual(urls(html), ["/b.css"])

    def test_media(self) -> None:
        """
        The C{media} query is kept, with whitespace runs collapsed.
        """
        self.assertEqual(
            findAssets(
                '<link rel=stylesheet href=/p.css media="print and\n  (color)">', "/"
            ),
            [style("/p.css", media="print and (color)")],
        )

    def test_mediaAll(self) -> None:
        """
        C{media="all"} (any case) and an empty C{media} mean no restriction.
        """
        html = (
            "<link rel=stylesheet href=/a.css media=ALL>"
            "<link rel=stylesheet href=/b.css media=' '>"
        )
        self.assertEqual(findAssets(html, "/"), [style("/a.css"), style("/b.css")])

    def test_crossorigin(self) -> None:
        """
        A C{crossorigin} attribute is kept: empty or unknown values mean
        C{anonymous}, C{use-credentials} is kept as is.
        """
        html = (
            "<link rel=stylesheet href=/a.css crossorigin>"
            "<link rel=stylesheet href=/b.css crossorigin=anonymous>"
            "<link rel=stylesheet href=/c.css crossorigin=bogus>"
            "<link rel=stylesheet href=/d.css crossorigin=Use-Credentials>"
        )
        self.assertEqual(
            findAssets(html, "/"),
            [
                style("/a.css", crossorigin="anonymous"),
                style("/b.css", crossorigin="anonymous"),
                style("/c.css", crossorigin="anonymous"),
                style("/d.css", crossorigin="use-credentials"),
            ],
        )

    def test_noHref(self) -> None:
        """
        A link without C{href}, or with an empty or blank one, is skipped.
        """
        html = (
            "<link rel=stylesheet><link rel=stylesheet href>"
            "<link rel=stylesheet href=''><link rel=stylesheet href=' \t\n'>"
        )
        self.assertEqual(urls(html), [])

    def test_duplicateAttributes(self) -> None:
        """
        When an attribute is repeated, the first one counts, as in HTML.
        """
        self.assertEqual(
            urls("<link rel=stylesheet href=/first.css href=/second.css>"),
            ["/first.css"],
        )

    def test_otherRels(self) -> None:
        """
        Links that the page does not fetch as subresources are ignored.
        """
        html = (
            "<link rel=canonical href=/x><link rel=alternate href=/feed.xml>"
            "<link rel=prefetch href=/next.html><link rel=manifest href=/m.json>"
            "<link href=/no-rel.css>"
        )
        self.assertEqual(urls(html), [])


class ScriptTests(SynchronousTestCase):
    """
    C{<script src>} becomes a script preload or a modulepreload.
    """

    def test_classic(self) -> None:
        """
        A script without C{type} is preloaded as a script.
        """
        self.assertEqual(
            findAssets('<script src="/js/app.js"></script>', "/"),
            [script("/js/app.js")],
        )

    def test_javascriptTypes(self) -> None:
        """
        JavaScript MIME types, in any case and with surrounding whitespace,
        and an empty C{type}, make classic scripts.
        """
        html = (
            "<script type=text/javascript src=/a.js></script>"
            "<script type=' Application/JavaScript ' src=/b.js></script>"
            "<script type=text/ecmascript src=/c.js></script>"
            "<script type='' src=/d.js></script>"
        )
        self.assertEqual(findAssets(html, "/"), [script(f"/{c}.js") for c in "abcd"])

    def test_language(self) -> None:
        """
        Without C{type}, the legacy C{language} attribute decides.
        """
        html = (
            "<script language=javascript src=/a.js></script>"
            "<script language=vbscript src=/b.vbs></script>"
        )
        self.assertEqual(urls(html), ["/a.js"])

    def test_otherTypesSkipped(self) -> None:
        """
        Scripts of other types are data blocks that are never fetched.
        """
        html = (
            "<script type=text/template src=/t.html></script>"
            "<script type=application/json src=/d.json></script>"
            "<script type=importmap src=/i.json></script>"
            "<script type='text/javascript; charset=utf-8' src=/p.js></script>"
        )
        self.assertEqual(urls(html), [])

    def test_module(self) -> None:
        """
        A module script becomes a modulepreload, whatever the case of the
        C{type}.
        """
        self.assertEqual(
            findAssets(
                "<script type=module src=/m.mjs></script>"
                "<script TYPE=' MODULE ' src=/n.mjs></script>",
                "/",
            ),
            [module("/m.mjs"), module("/n.mjs")],
        )

    def test_nomodule(self) -> None:
        """
        C{nomodule} classic scripts are skipped: browsers that honour a
        preload never run them.
        """
        self.assertEqual(
            urls("<script nomodule src=/legacy.js></script><script src=/a.js>"),
            ["/a.js"],
        )

    def test_nomoduleModule(self) -> None:
        """
        C{nomodule} does not affect module scripts, which browsers run anyway.
        """
        self.assertEqual(
            findAssets("<script type=module nomodule src=/m.mjs></script>", "/"),
            [module("/m.mjs")],
        )

    def test_crossorigin(self) -> None:
        """
        C{crossorigin} is kept on classic and module scripts.
        """
        html = (
            "<script src=/a.js crossorigin></script>"
            "<script type=module src=/b.mjs crossorigin=use-credentials></script>"
        )
        self.assertEqual(
            findAssets(html, "/"),
            [
                script("/a.js", crossorigin="anonymous"),
                module("/b.mjs", crossorigin="use-credentials"),
            ],
        )

    def test_inlineScript(self) -> None:
        """
        Inline scripts have nothing to preload, and markup in their text is
        not markup.
        """
        self.assertEqual(
            urls(
                "<script>document.write('<link rel=stylesheet href=/x.css>')</script>"
            ),
            [],
        )

    def test_selfClosingScript(self) -> None:
        """
        C{<script src=x />} still opens a script element whose content is
        text up to C{</script>}, as in HTML.
        """
        html = (
            "<script src=/a.js /><link rel=stylesheet href=/text.css></script>"
            "<link rel=stylesheet href=/b.css>"
        )
        self.assertEqual(urls(html), ["/a.js", "/b.css"])


class LinkPreloadTests(SynchronousTestCase):
    """
    Explicit C{<link rel=preload>} and C{<link rel=modulepreload>}.
    """

    def test_preload(self) -> None:
        """
        A preload keeps its (lowercased) C{as}, C{type}, C{crossorigin} and
        C{media}.
        """
        html = (
            '<link rel=preload href=/hero.avif as=IMAGE type="image/avif" '
            'media="(min-width: 40em)" crossorigin=use-credentials>'
        )
        self.assertEqual(
            findAssets(html, "/"),
            [
                Asset(
                    "/hero.avif",
                    "preload",
                    "image",
                    type="image/avif",
                    crossorigin="use-credentials",
                    media="(min-width: 40em)",
                )
            ],
        )

    def test_fetch(self) -> None:
        """
        C{as=fetch} is copied like any other destination.
        """
        self.assertEqual(
            findAssets("<link rel=preload as=fetch href=/data.json>", "/"),
            [Asset("/data.json", "preload", "fetch")],
        )

    def test_fontGetsCrossorigin(self) -> None:
        """
        Fonts are always fetched in CORS mode, so a font preload without
        C{crossorigin} gets C{anonymous}.
        """
        self.assertEqual(
            findAssets("<link rel=preload href=/f.woff2 as=font type=font/woff2>", "/"),
            [
                Asset(
                    "/f.woff2",
                    "preload",
                    "font",
                    type="font/woff2",
                    crossorigin="anonymous",
                )
            ],
        )

    def test_fontKeepsCredentials(self) -> None:
        """
        A font preload that asks for credentials keeps them.
        """
        self.assertEqual(
            findAssets(
                "<link rel=preload href=/f.woff2 as=font crossorigin=use-credentials>",
                "/",
            ),
            [Asset("/f.woff2", "preload", "font", crossorigin="use-credentials")],
        )

    def test_noAs(self) -> None:
        """
        A preload without C{as}, or with an empty one or one that is not a
        token, is skipped: browsers ignore it.
        """
        html = (
            "<link rel=preload href=/a><link rel=preload as='' href=/b>"
            "<link rel=preload as='style x' href=/c>"
        )
        self.assertEqual(urls(html), [])

    def test_imagesrcset(self) -> None:
        """
        An image preload with C{imagesrcset} is skipped: the browser fetches
        a source it picks from the set, not C{href}.
        """
        html = (
            "<link rel=preload as=image href=/a.png imagesrcset='/a2.png 2x'>"
            "<link rel=preload as=image href=/b.png imagesrcset=''>"
        )
        self.assertEqual(urls(html), ["/b.png"])

    def test_modulepreload(self) -> None:
        """
        C{<link rel=modulepreload>} is kept as a modulepreload.
        """
        self.assertEqual(
            findAssets("<link rel=modulepreload href=/lib.mjs>", "/"),
            [module("/lib.mjs")],
        )


class IconTests(SynchronousTestCase):
    """
    Icons are preloaded as images.
    """

    def test_icons(self) -> None:
        """
        C{icon}, C{shortcut icon} and C{apple-touch-icon} links are images,
        keeping their C{type}.
        """
        html = (
            "<link rel=icon href=/favicon.svg type=image/svg+xml>"
            "<link rel='shortcut icon' href=/favicon.ico>"
            "<link rel=apple-touch-icon href=/touch.png sizes=180x180>"
        )
        self.assertEqual(
            findAssets(html, "/"),
            [
                Asset("/favicon.svg", "preload", "image", type="image/svg+xml"),
                Asset("/favicon.ico", "preload", "image"),
                Asset("/touch.png", "preload", "image"),
            ],
        )

    def test_media(self) -> None:
        """
        An icon for a colour scheme keeps its C{media}.
        """
        self.assertEqual(
            findAssets(
                "<link rel=icon href=/dark.png media='(prefers-color-scheme: dark)'>",
                "/",
            ),
            [
                Asset(
                    "/dark.png",
                    "preload",
                    "image",
                    media="(prefers-color-scheme: dark)",
                )
            ],
        )


class ImageTests(SynchronousTestCase):
    """
    An C{<img fetchpriority=high>}, usually the page's largest image, is
    announced with its priority.
    """

    def test_highPriority(self) -> None:
        """
        A plain C{src} image marked C{fetchpriority=high} (any case) is
        preloaded as an image with that priority.
        """
        self.assertEqual(
            findAssets('<img src="/hero.jpg" FetchPriority=" HIGH " alt="">', "/"),
            [Asset("/hero.jpg", "preload", "image", fetchpriority="high")],
        )

    def test_crossorigin(self) -> None:
        """
        The image's CORS setting goes with it.
        """
        self.assertEqual(
            findAssets('<img src="/a.png" fetchpriority=high crossorigin>', "/"),
            [
                Asset(
                    "/a.png",
                    "preload",
                    "image",
                    crossorigin="anonymous",
                    fetchpriority="high",
                )
            ],
        )

    def test_others(self) -> None:
        """
        Other images are not announced: those without high priority (the
        browser's own scanner finds them soon enough), lazy ones, ones whose
        source the browser picks (C{srcset}, C{<picture>}), and ones in
        templates.
        """
        html = (
            '<img src="/plain.png">'
            '<img src="/low.png" fetchpriority=low>'
            '<img src="/auto.png" fetchpriority=auto>'
            '<img src="/lazy.png" fetchpriority=high loading=lazy>'
            '<img src="/set.png" srcset="/set2.png 2x" fetchpriority=high>'
            '<picture><source srcset="/p.avif"><img src="/p.png" fetchpriority=high>'
            "</picture>"
            '<template><img src="/t.png" fetchpriority=high></template>'
            '<img fetchpriority=high alt="no src">'
        )
        self.assertEqual(findAssets(html, "/"), [])

    def test_afterPicture(self) -> None:
        """
        An image after a closed C{<picture>} is announced.
        """
        html = (
            '<picture><img src="/p.png" fetchpriority=high></picture>'
            '<img src="/after.png" fetchpriority=high>'
        )
        self.assertEqual(urls(html), ["/after.png"])

    def test_priorityOnOtherElements(self) -> None:
        """
        C{fetchpriority} on stylesheets, scripts and preloads goes with them;
        C{auto} and unknown values are no priority.
        """
        html = (
            '<link rel=stylesheet href="/a.css" fetchpriority=low>'
            '<script src="/s.js" fetchpriority=high></script>'
            '<script type=module src="/m.mjs" fetchpriority=bogus></script>'
            '<link rel=preload as=image href="/i.png" fetchpriority=high>'
        )
        self.assertEqual(
            [asset.fetchpriority for asset in findAssets(html, "/")],
            ["low", "high", None, "high"],
        )


class DocumentTests(SynchronousTestCase):
    """
    Document order, de-duplication and inert parts of the document.
    """

    def test_documentOrder(self) -> None:
        """
        Assets come in document order, whatever their kind.
        """
        html = (
            "<html><head><link rel=icon href=/i.png>"
            "<script src=/a.js></script><link rel=stylesheet href=/s.css>"
            "</head><body><script type=module src=/m.mjs></script></body></html>"
        )
        self.assertEqual(
            findAssets(html, "/"),
            [
                Asset("/i.png", "preload", "image"),
                script("/a.js"),
                style("/s.css"),
                module("/m.mjs"),
            ],
        )

    def test_duplicates(self) -> None:
        """
        Each URL appears once, with the attributes of its first reference.
        """
        html = (
            "<link rel=preload href=/a.css as=style media=print>"
            "<link rel=stylesheet href=/a.css>"
            "<link rel=stylesheet href=/b.css>"
            "<link rel=stylesheet href=b.css>"
        )
        self.assertEqual(
            findAssets(html, "/"), [style("/a.css", media="print"), style("/b.css")]
        )

    def test_comments(self) -> None:
        """
        References inside comments are ignored.
        """
        self.assertEqual(
            urls("<!-- <link rel=stylesheet href=/x.css> --><script src=/a.js>"),
            ["/a.js"],
        )

    def test_template(self) -> None:
        """
        Template contents are inert, also in nested templates, and the rest
        of the document is still scanned.
        """
        html = (
            "<template><link rel=stylesheet href=/t.css>"
            "<template><script src=/u.js></script></template>"
            "<base href=/nowhere/><script src=/v.js></script></template>"
            "<script src=a.js></script>"
        )
        self.assertEqual(urls(html), ["/a.js"])

    def test_noscript(self) -> None:
        """
        C{<noscript>} content is never fetched by a browser running scripts.
        """
        html = (
            "<noscript><link rel=stylesheet href=/ns.css>"
            "<template></noscript><link rel=stylesheet href=/a.css>"
        )
        self.assertEqual(urls(html), ["/a.css"])

    def test_rawText(self) -> None:
        """
        Markup inside elements whose content is text (C{title},
        C{textarea}, C{style}, ...) is not markup.
        """
        html = (
            "<title><link rel=stylesheet href=/1.css></title>"
            "<textarea><script src=/2.js></script></textarea>"
            "<style><link rel=stylesheet href=/3.css></style>"
            "<iframe><script src=/4.js></script></iframe>"
            "<link rel=stylesheet href=/ok.css>"
        )
        self.assertEqual(urls(html), ["/ok.css"])

    def test_body(self) -> None:
        """
        References anywhere in the document count, not just in C{<head>}.
        """
        self.assertEqual(
            urls("<body><p>x<link rel=stylesheet href=/late.css></p></body>"),
            ["/late.css"],
        )


class MalformedTests(SynchronousTestCase):
    """
    Malformed markup never raises; what could be read is returned.
    """

    def test_truncatedTag(self) -> None:
        """
        A tag cut off by the end of the document is dropped, as browsers do.
        """
        self.assertEqual(
            urls("<link rel=stylesheet href=/a.css><script src=/b.js"), ["/a.css"]
        )

    def test_unclosedQuote(self) -> None:
        """
        An attribute quote that is never closed loses only that tag.
        """
        self.assertEqual(
            urls("<link rel=stylesheet href=/a.css><link rel=stylesheet href='/b.css>"),
            ["/a.css"],
        )

    def test_strayLessThan(self) -> None:
        """
        Stray C{<} characters are text.
        """
        html = (
            "<link rel=stylesheet href=/a.css>if a < b <<"
            "<<script src=/b.js></script> 1 <2 <link rel=stylesheet href=/c.css>"
        )
        self.assertEqual(urls(html), ["/a.css", "/b.js", "/c.css"])

    def test_unclosedElements(self) -> None:
        """
        Unclosed elements and end tags with no start are harmless.
        """
        html = (
            "</template></noscript></head><div><p><span>"
            "<link rel=stylesheet href=/a.css></html></x><script src=/b.js>"
        )
        self.assertEqual(urls(html), ["/a.css", "/b.js"])

    def test_bogusMarkedSection(self) -> None:
        """
        A malformed C{<![...} section, which HTMLParser cannot parse, is read
        as a bogus comment up to the next C{>}, as in HTML.
        """
        html = (
            "<![ ]><link rel=stylesheet href=/a.css><![abc ]>"
            "<script src=/b.js></script><![\n<link rel=stylesheet href=/c.css>"
            "<link rel=stylesheet href=/d.css>"
        )
        self.assertEqual(urls(html), ["/a.css", "/b.js", "/d.css"])

    def test_junk(self) -> None:
        """
        NUL, control characters, lone surrogates and other junk do not stop
        the scan; NUL and lone surrogates in a URL become U+FFFD.  A
        processing instruction, like a bogus comment, ends at the first C{>}.
        """
        html = (
            "\x00\x01\ufffe\ud800<link rel=stylesheet href=/a\x00.css>"
            "<<?pi <link rel=stylesheet href=/in-pi.css>!&#0;&#xD800;&bogus"
            "<script src='/b&#xD800;.js'></script>"
            "<script src='/c\ud800.js'>"
        )
        self.assertEqual(
            urls(html), ["/a%EF%BF%BD.css", "/b%EF%BF%BD.js", "/c%EF%BF%BD.js"]
        )

    def test_empty(self) -> None:
        """
        An empty document has no assets.
        """
        self.assertEqual(findAssets("", "/"), [])


class StandardTests(SynchronousTestCase):
    """
    Where the HTML standard's tokenizer reads a page differently from
    Python's C{HTMLParser}, on which L{findAssets} used to be built, the
    standard wins: the assets are those a browser fetches.
    """

    def test_referenceBeforeEquals(self) -> None:
        """
        In an attribute, C{&copy=} is not a character reference (a query
        written without C{&amp;} keeps working); HTMLParser made it
        C{\u00a9=}.
        """
        self.assertEqual(
            urls("<link rel=stylesheet href='/a.css?x=1&copy=2'>"),
            ["/a.css?x=1&copy=2"],
        )

    def test_scriptDoubleEscaped(self) -> None:
        """
        Inside C{<!--<script>} in a script, C{</script>} does not end it
        (HTMLParser ended the script there, and read the rest as markup).
        """
        html = (
            "<script><!--<script></script><link rel=stylesheet href=/in.css>"
            "--></script><link rel=stylesheet href=/out.css>"
        )
        self.assertEqual(urls(html), ["/out.css"])

    def test_abruptComment(self) -> None:
        """
        C{<!-->} is a whole comment (HTMLParser read it as opening one).
        """
        self.assertEqual(
            urls("<!--> <link rel=stylesheet href=/a.css> -->"), ["/a.css"]
        )

    def test_unquotedEquals(self) -> None:
        """
        In C{src==x.js}, the value is C{=x.js} (HTMLParser dropped the
        second C{=}).
        """
        self.assertEqual(urls("<script src==x.js></script>"), ["/=x.js"])

    def test_svg(self) -> None:
        """
        In SVG, C{<title>} holds HTML (HTMLParser read its content as
        text), and a C{<link>} that is SVG's own fetches nothing.
        """
        html = (
            "<svg><title><link rel=stylesheet href=/a.css></title>"
            "<link rel=stylesheet href=/svg.css></svg>"
        )
        self.assertEqual(urls(html), ["/a.css"])


# Pieces of markup that random documents are built from, so that the property
# tests reach the interesting paths more often than random text does.
_FRAGMENTS = [
    "<link",
    "<LINK",
    "<script",
    "</script>",
    "<base",
    "<template>",
    "</template>",
    "<noscript>",
    "</noscript>",
    "<title>",
    "<!--",
    "-->",
    "<![",
    "<!",
    "<?",
    "</",
    "<",
    ">",
    "/>",
    " ",
    "\n",
    "\r",
    "\x00",
    "'",
    '"',
    "=",
    " rel=",
    "stylesheet",
    "preload",
    "modulepreload",
    "icon",
    " href=",
    " src=",
    " as=",
    "font",
    " type=",
    "module",
    " crossorigin",
    "=use-credentials",
    " media=",
    " nomodule",
    "/",
    "//",
    "../",
    "\\",
    "?",
    "#",
    "%",
    "%2e",
    "&amp;",
    "&#10;",
    "&#xD800;",
    "a.css",
    "http:",
    "data:",
    "\xe9",
    "\ud800",
    "\u2028",
]

_HTMLISH = st.lists(
    st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=4)), max_size=40
).map("".join)

_PAGE_URLS = st.one_of(
    st.sampled_from(["/", "/about", "/blog/post", "/blog/", "/a/b/c?x=1"]),
    st.text().map(lambda path: "/" + path),
)


class PropertyTests(SynchronousTestCase):
    """
    Properties that hold for any input.
    """

    def assertWellFormed(self, assets: list[Asset]) -> None:
        """
        Every asset is a unique same-origin path without a fragment, and its
        header value is printable ASCII starting with C{</}.
        """
        self.assertEqual(len({asset.url for asset in assets}), len(assets))
        for asset in assets:
            self.assertTrue(asset.url.startswith("/"), asset)
            self.assertFalse(asset.url.startswith("//"), asset)
            self.assertNotIn("#", asset.url)
            self.assertIn(asset.rel, ("preload", "modulepreload"))
        for value in linkHeaderValues(assets):
            self.assertTrue(value.isascii(), value)
            self.assertNotIn("\r", value)
            self.assertNotIn("\n", value)
            self.assertTrue(value.startswith("</"), value)

    @settings(database=None, deadline=None)
    @given(st.text(), _PAGE_URLS)
    def test_arbitraryText(self, html: str, pageURL: str) -> None:
        """
        Arbitrary text never makes L{findAssets} raise, and what it finds
        formats to valid header values.
        """
        self.assertWellFormed(findAssets(html, pageURL))

    @settings(database=None, deadline=None, max_examples=500)
    @given(_HTMLISH, _PAGE_URLS)
    def test_arbitraryMarkup(self, html: str, pageURL: str) -> None:
        """
        Random sequences of markup pieces never make L{findAssets} raise, and
        what it finds formats to valid header values.
        """
        self.assertWellFormed(findAssets(html, pageURL))

    @settings(database=None, deadline=None)
    @given(
        st.text().map(lambda path: "/" + path),
        st.text(),
        st.none() | st.text(),
        st.none() | st.text(),
        st.none() | st.text(),
        st.none() | st.text(),
    )
    def test_arbitraryAsset(
        self,
        url: str,
        rel: str,
        as_: str | None,
        type: str | None,
        crossorigin: str | None,
        media: str | None,
    ) -> None:
        """
        Whatever an L{Asset} holds, its header value is printable ASCII
        starting with C{</}.
        """
        value = linkHeaderValue(Asset(url, rel, as_, type, crossorigin, media))
        self.assertTrue(value.startswith("</"), value)
        self.assertTrue(all(" " <= c <= "~" for c in value), value)
