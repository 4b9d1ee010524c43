"""Tests for L{h2site.refs.css}."""

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from h2site.refs.asset import Asset
from h2site.refs.css import findStylesheetAssets, findURLReferences
from h2site.refs.links import linkHeaderValues
from tests.assets import font, image, style

CSS_URL = "/static/css/app.css"


def found(css: str, url: str = CSS_URL) -> list[Asset]:
    """
    What L{findStylesheetAssets} finds in C{css} (as UTF-8) at C{url}.
    """
    return findStylesheetAssets(css.encode("utf-8"), url)


def urls(css: str, url: str = CSS_URL) -> list[str]:
    """
    Just the URLs found, in order.
    """
    return [asset.url for asset in found(css, url)]


class ImportTests(SynchronousTestCase):
    """
    C{@import} rules name stylesheets.
    """

    def test_forms(self) -> None:
        """
        C{@import} with a string, C{url()} with and without quotes, any case.
        """
        css = (
            '@import "a.css";\n'
            "@import 'b.css';\n"
            '@import url("c.css");\n'
            "@import url(d.css);\n"
            "@IMPORT URL( 'e.css' );\n"
        )
        self.assertEqual(
            found(css),
            [style(f"/static/css/{n}.css") for n in "abcde"],
        )

    def test_media(self) -> None:
        """
        A media query list on an C{@import} goes with the hint; C{all} and
        none mean no restriction.
        """
        css = (
            '@import "print.css" print;\n'
            "@import url(wide.css) screen and (min-width:  60em);\n"
            '@import "all.css" all;\n'
            '@import "list.css" screen, projection;\n'
        )
        self.assertEqual(
            found(css),
            [
                style("/static/css/print.css", "print"),
                style("/static/css/wide.css", "screen and (min-width: 60em)"),
                style("/static/css/all.css"),
                style("/static/css/list.css", "screen, projection"),
            ],
        )

    def test_layerAndSupports(self) -> None:
        """
        C{layer}, C{layer(name)} and C{supports(...)} before the media query
        are not part of it.
        """
        css = (
            '@import "a.css" layer;\n'
            "@import url(b.css) layer(base) supports(display: grid) screen;\n"
        )
        self.assertEqual(
            found(css),
            [style("/static/css/a.css"), style("/static/css/b.css", "screen")],
        )

    def test_importsOnlyAtTheStart(self) -> None:
        """
        Browsers ignore an C{@import} after any other rule, except
        C{@charset} and C{@layer} statements.
        """
        css = (
            '@charset "utf-8";\n'
            "@layer base, theme;\n"
            '@import "a.css";\n'
            "body { color: red }\n"
            '@import "late.css";\n'
        )
        self.assertEqual(urls(css), ["/static/css/a.css"])

    def test_importAfterUnknownRule(self) -> None:
        """
        An at-rule browsers do not know is dropped and does not end the
        imports; one they know does, such as an C{@layer} block or C{@namespace}.
        """
        css = '@unknown x; @import "a.css"; @layer x {} @import "b.css";'
        self.assertEqual(urls(css), ["/static/css/a.css"])
        css = '@namespace svg url(x); @import "c.css";'
        self.assertEqual(urls(css), [])

    def test_manyConditions(self) -> None:
        """
        An import with a very long list of conditions is read in one pass
        (one search per condition would take minutes here).
        """
        css = '@import "a.css" ' + "layer " * 100_000 + "print;"
        self.assertEqual(found(css), [style("/static/css/a.css", "print")])

    def test_relativePaths(self) -> None:
        """
        References resolve against the stylesheet's URL (its query does not
        carry over), including C{../} and absolute paths.
        """
        css = '@import "../vendor/x.css"; @import "/root.css"; @import "./y.css";'
        self.assertEqual(
            urls(css, "/static/css/app.css?v=abc123"),
            ["/static/vendor/x.css", "/root.css", "/static/css/y.css"],
        )

    def test_crossOriginAndData(self) -> None:
        """
        Other origins, protocol-relative URLs and C{data:} URLs are left out.
        """
        css = (
            '@import "https://fonts.example/css";\n'
            '@import "//cdn.example/x.css";\n'
            '@import "data:text/css,body{}";\n'
            "@import url(data:text/css;base64,Ym9keXt9);\n"
        )
        self.assertEqual(found(css), [])

    def test_selfImport(self) -> None:
        """
        A stylesheet importing itself gives nothing.
        """
        self.assertEqual(found('@import "app.css";'), [])


class FontFaceTests(SynchronousTestCase):
    """
    C{@font-face} rules name fonts.
    """

    def test_font(self) -> None:
        """
        The source a browser would download, with C{crossorigin} (fonts are
        always fetched in CORS mode) and the format's MIME type.
        """
        css = """
            @font-face {
              font-family: "H2 Display";
              src: url("../fonts/h2display.woff2") format("woff2");
              font-display: swap;
            }"""
        self.assertEqual(found(css), [font("/static/fonts/h2display.woff2")])

    def test_firstSupportedSource(self) -> None:
        """
        Only the first source in a supported format: C{local()} fonts are
        skipped, and formats such as C{embedded-opentype} and C{svg}.
        """
        css = """
            @font-face {
              font-family: X;
              src: local("X Regular"), local(XRegular),
                   url(x.eot?#iefix) format("embedded-opentype"),
                   url(x.svg#x) format("svg"),
                   url(x.woff) format("woff"),
                   url(x.woff2) format("woff2");
            }"""
        self.assertEqual(found(css), [font("/static/css/x.woff", "font/woff")])

    def test_formats(self) -> None:
        """
        Each supported format has its MIME type; without C{format()} the
        type comes from the extension, or is left out.
        """
        css = "".join(
            f"@font-face {{ font-family: F{i}; src: url({name}){fmt}; }}\n"
            for i, (name, fmt) in enumerate(
                [
                    ("a.ttf", " format(truetype)"),
                    ("b.otf", ' format("opentype")'),
                    ("c.ttc", " format(collection)"),
                    ("d.woff2", ""),
                    ("e.TTF?v=2", ""),
                    ("f.font", ""),
                ]
            )
        )
        self.assertEqual(
            found(css),
            [
                font("/static/css/a.ttf", "font/ttf"),
                font("/static/css/b.otf", "font/otf"),
                font("/static/css/c.ttc", "font/collection"),
                font("/static/css/d.woff2", "font/woff2"),
                font("/static/css/e.TTF?v=2", "font/ttf"),
                font("/static/css/f.font", None),
            ],
        )

    def test_technologies(self) -> None:
        """
        A source needing a font technology browsers lack is skipped.
        """
        css = """@font-face { font-family: X;
            src: url(a.woff2) format(woff2) tech(color-svg),
                 url(b.woff2) format(woff2) tech(variations); }"""
        self.assertEqual(urls(css), ["/static/css/b.woff2"])

    def test_lastSrcWins(self) -> None:
        """
        Of two C{src} descriptors the later one counts, as in the cascade.
        """
        css = "@font-face { font-family: X; src: url(a.woff2); src: url(b.woff2); }"
        self.assertEqual(urls(css), ["/static/css/b.woff2"])

    def test_unicodeRange(self) -> None:
        """
        A face whose C{unicode-range} leaves out Basic Latin letters is only
        downloaded by pages using those characters, so it is not hinted.
        """
        css = """
            @font-face { font-family: F; src: url(cyrillic.woff2);
                         unicode-range: U+0400-045F, U+0490-0491; }
            @font-face { font-family: F; src: url(latin.woff2);
                         unicode-range: U+0000-00FF, U+0131; }
            @font-face { font-family: F; src: url(one.woff2); unicode-range: U+61; }
        """
        self.assertEqual(
            urls(css), ["/static/css/latin.woff2", "/static/css/one.woff2"]
        )

    def test_noSource(self) -> None:
        """
        A face with no C{src}, or only local ones, names no file.
        """
        css = (
            "@font-face { font-family: A; }"
            "@font-face { font-family: B; src: local(B); }"
            "@font-face { font-family: C; src: url(c.woff2) format(bogus); }"
        )
        self.assertEqual(found(css), [])

    def test_inMedia(self) -> None:
        """
        A face inside C{@media} carries the media query.
        """
        css = "@media print { @font-face { font-family: P; src: url(p.woff2); } }"
        self.assertEqual(found(css), [font("/static/css/p.woff2", media="print")])


class ImageTests(SynchronousTestCase):
    """
    C{url()} in style rules names images.
    """

    def test_urlForms(self) -> None:
        """
        Quoted, unquoted, with escapes and spaces; in any property.
        """
        css = (
            '.a { background: url("a.png") no-repeat }\n'
            ".b { background-image: url(b.png) }\n"
            ".c { list-style: url( 'c.svg' ) }\n"
            ".d { border-image: url(d\\.png) 30 }\n"
            ".e { cursor: url(e.cur), auto }\n"
            ".f { --hero: url(f.webp) }\n"
        )
        self.assertEqual(
            urls(css),
            [f"/static/css/{n}" for n in ["a.png", "b.png", "c.svg", "d.png", "e.cur"]]
            + ["/static/css/f.webp"],
        )
        self.assertTrue(all(asset.as_ == "image" for asset in found(css)))

    def test_minified(self) -> None:
        """
        Minified CSS with no whitespace.
        """
        css = (
            '@import"base.css";@font-face{font-family:X;src:url(../f/x.woff2)'
            'format("woff2")}.h{background:url(../img/h.svg)}'
            "@media(min-width:40em){.w{background:url(w.png)}}"
        )
        self.assertEqual(
            found(css),
            [
                style("/static/css/base.css"),
                font("/static/f/x.woff2"),
                image("/static/img/h.svg"),
                image("/static/css/w.png", "(min-width:40em)"),
            ],
        )

    def test_commentsAndStrings(self) -> None:
        """
        Text that looks like a reference inside comments and strings is not
        one.
        """
        css = (
            "/* @import 'no1.css'; .x { background: url(no2.png) } */\n"
            ".a::before { content: 'url(no3.png)' }\n"
            '.b { background: url("yes.png") /* url(no4.png) */ }\n'
        )
        self.assertEqual(urls(css), ["/static/css/yes.png"])

    def test_dataAndFragments(self) -> None:
        """
        C{data:} URLs, fragments (references into the page: SVG filters and
        gradients) and empty URLs fetch nothing.
        """
        css = (
            ".a { background: url(data:image/png;base64,iVBORw0KGgo=) }\n"
            ".b { fill: url(#gradient) }\n"
            ".c { background: url('') }\n"
            ".d { background: url(\"data:image/svg+xml,<svg xmlns='x'/>\") }\n"
        )
        self.assertEqual(found(css), [])

    def test_imageSet(self) -> None:
        """
        C{image-set()} offers alternatives, of which the browser fetches one
        by resolution: none is hinted.
        """
        css = (
            ".a { background-image: image-set(url(a1.png) 1x, url(a2.png) 2x) }\n"
            ".b { background: -webkit-image-set('b1.png' 1x, url(b2.png) 2x) }\n"
        )
        self.assertEqual(found(css), [])

    def test_notImages(self) -> None:
        """
        Masks, filters, clip paths and shapes fetch in CORS mode or as
        documents, which an C{as=image} hint would not match.
        """
        css = (
            ".a { mask: url(m.svg); -webkit-mask-image: url(wm.svg) }\n"
            ".b { filter: url(f.svg#blur); clip-path: url(c.svg#c) }\n"
            ".c { shape-outside: url(s.png); behavior: url(x.htc) }\n"
        )
        self.assertEqual(found(css), [])

    def test_notFetched(self) -> None:
        """
        C{@namespace} names no file; C{@page} and C{@keyframes} images are
        rarely needed.
        """
        css = (
            '@namespace svg url("http://www.w3.org/2000/svg");\n'
            "@namespace url(ns.xml);\n"
            "@page { background: url(page.png) }\n"
            "@keyframes k { from { background: url(frame.png) } }\n"
        )
        self.assertEqual(found(css), [])

    def test_nested(self) -> None:
        """
        Images in nested style rules and group rules are found.
        """
        css = (
            ".card { background: url(a.png);\n"
            "  & .icon { background: url(b.png) }\n"
            "  @media (hover: hover) { background: url(c.png) }\n"
            "}\n"
            "@supports (display: grid) { .g { background: url(d.png) } }\n"
            "@layer theme { .t { background: url(e.png) } }\n"
            "@container (min-width: 1px) { .k { background: url(f.png) } }\n"
        )
        self.assertEqual(
            found(css),
            [
                image("/static/css/a.png"),
                image("/static/css/b.png"),
                image("/static/css/c.png", "(hover: hover)"),
                image("/static/css/d.png"),
                image("/static/css/e.png"),
                image("/static/css/f.png"),
            ],
        )

    def test_nestedMedia(self) -> None:
        """
        An image under two different media queries (which have no general
        single-query spelling) is left out; under the same one twice, kept.
        """
        css = (
            "@media screen { @media (min-width: 9em) { .a { background: url(a.png) }}}"
            "@media print { @media print { .b { background: url(b.png) } } }"
        )
        self.assertEqual(found(css), [image("/static/css/b.png", "print")])

    def test_duplicates(self) -> None:
        """
        Each URL once, with the attributes of its first reference.
        """
        css = ".a { background: url(x.png) } .b { background: url('x.png') }"
        self.assertEqual(found(css), [image("/static/css/x.png")])

    def test_order(self) -> None:
        """
        Results come in document order.
        """
        css = (
            '@import "a.css";\n.x { background: url(i.png) }\n'
            "@font-face { font-family: F; src: url(f.woff2) }\n"
        )
        self.assertEqual(
            urls(css),
            ["/static/css/a.css", "/static/css/i.png", "/static/css/f.woff2"],
        )


class EncodingTests(SynchronousTestCase):
    """
    Stylesheet bytes are decoded as browsers decode them.
    """

    def test_charset(self) -> None:
        """
        An C{@charset} rule decides the encoding.
        """
        css = '@charset "iso-8859-1"; .a { background: url(caf\xe9.png) }'
        self.assertEqual(
            findStylesheetAssets(css.encode("latin-1"), CSS_URL),
            [image("/static/css/caf%C3%A9.png")],
        )

    def test_bom(self) -> None:
        """
        A UTF-8 byte order mark is not part of the first rule.
        """
        css = '\ufeff@import "a.css";'
        self.assertEqual(
            findStylesheetAssets(css.encode("utf-8"), CSS_URL),
            [style("/static/css/a.css")],
        )

    def test_notUTF8(self) -> None:
        """
        Bytes that are not UTF-8 do not stop the rest being read.
        """
        css = (
            b'@import "a.css"; .x { content: "\xff\xfe" } .y { background: url(y.png) }'
        )
        self.assertEqual(
            [a.url for a in findStylesheetAssets(css, CSS_URL)],
            ["/static/css/a.css", "/static/css/y.png"],
        )


_FRAGMENTS = [
    "@import",
    "@font-face",
    "@media",
    "@supports",
    "@charset",
    "@namespace",
    "url(",
    "url('",
    'url("',
    "src:",
    "format(",
    "image-set(",
    "unicode-range:",
    "U+0-7F",
    "a.png",
    "../",
    "data:",
    "//",
    "#",
    "{",
    "}",
    "(",
    ")",
    ";",
    ",",
    ":",
    "'",
    '"',
    "\\",
    "/*",
    "*/",
    " ",
    "\n",
    "print",
    "&",
    "\x00",
    "\ud800",
]

_CSSISH = st.lists(
    st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=3)), max_size=50
).map("".join)


class PropertyTests(SynchronousTestCase):
    """
    Properties that hold for any input.
    """

    def assertWellFormed(self, assets: list[Asset]) -> None:
        """
        Each asset is a unique same-origin path, of a kind a stylesheet
        fetches, whose header value is printable ASCII.
        """
        self.assertEqual(len({a.url for a in assets}), len(assets))
        for asset in assets:
            self.assertTrue(asset.url.startswith("/"), asset)
            self.assertFalse(asset.url.startswith("//"), asset)
            self.assertNotEqual(asset.url, CSS_URL)
            self.assertIn(asset.as_, ("style", "font", "image"))
        for value in linkHeaderValues(assets):
            self.assertTrue(all(" " <= c <= "~" for c in value), value)

    @settings(database=None, deadline=None)
    @given(st.binary())
    def test_arbitraryBytes(self, css: bytes) -> None:
        """
        Arbitrary bytes never make L{findStylesheetAssets} raise.
        """
        self.assertWellFormed(findStylesheetAssets(css, CSS_URL))

    @settings(database=None, deadline=None, max_examples=1000)
    @given(_CSSISH)
    def test_arbitraryCSS(self, css: str) -> None:
        """
        Random sequences of CSS pieces never make it raise.
        """
        self.assertWellFormed(
            findStylesheetAssets(css.encode("utf-8", "surrogatepass"), CSS_URL)
        )

    def test_deepNesting(self) -> None:
        """
        Deeply nested blocks (which a recursive walk would choke on) give
        what precedes them.
        """
        for piece in ["(", "{", "[", ".a{", "@media screen{", "url(", "f("]:
            css = '@import "a.css"; .x{background:url(x.png)}' + piece * 100_000
            self.assertEqual(
                urls(css), ["/static/css/a.css", "/static/css/x.png"], piece
            )


def spans(css: str) -> list[tuple[str, str]]:
    """
    Each reference L{findURLReferences} finds: its URL, and the text at its
    span.
    """
    return [(r.url, css[r.start : r.end]) for r in findURLReferences(css)]


class URLReferenceTests(SynchronousTestCase):
    """
    L{findURLReferences} finds every URL written in a stylesheet, with the
    span of its text.
    """

    def test_forms(self) -> None:
        """
        C{@import} with a string or C{url()}, C{url()} quoted or not, in any
        case and with inner whitespace, in rules and C{@font-face}; the span
        is the text between the quotes or parentheses.
        """
        css = (
            "@import 'a.css';\n"
            '@IMPORT URL( "b.css" ) screen;\n'
            "@import url(  c.css  );\n"
            "@font-face { src: url(../f.woff2) format('woff2'), url('f.woff') }\n"
            'p { background: #fff URL( "i.png" ) no-repeat }\n'
        )
        self.assertEqual(
            spans(css),
            [
                ("a.css", "a.css"),
                ("b.css", "b.css"),
                ("c.css", "c.css"),
                ("../f.woff2", "../f.woff2"),
                ("f.woff", "f.woff"),
                ("i.png", "i.png"),
            ],
        )

    def test_minified(self) -> None:
        """
        Minified CSS, with no whitespace anywhere, and nested rules.
        """
        css = '@import"a.css";a{b:url(x.png)}@media print{c{d:url("y.png")}}'
        self.assertEqual(
            spans(css), [("a.css", "a.css"), ("x.png", "x.png"), ("y.png", "y.png")]
        )

    def test_escapes(self) -> None:
        """
        A reference written with escapes has the decoded URL and the text as
        written, so the two differ.
        """
        css = '@import "a\\2e css"; p { background: url(b\\29.png) }'
        self.assertEqual(spans(css), [("a.css", "a\\2e css"), ("b).png", "b\\29.png")])

    def test_fragments(self) -> None:
        """
        A fragment is part of the reference.
        """
        css = "p { mask: url(sprite.svg#icon) } q { b: url('s.svg#a') }"
        self.assertEqual(
            spans(css), [("sprite.svg#icon", "sprite.svg#icon"), ("s.svg#a", "s.svg#a")]
        )

    def test_notReferences(self) -> None:
        """
        Comments, strings that look like references, and bare strings in
        C{image-set()} are not references (the url() inside it is).
        """
        css = (
            "/* url(c.png) @import 'd.css'; */\n"
            'p::before { content: "url(e.png)"; }\n'
            'q { background: image-set("f.png" 1x, url(g.png) 2x) }\n'
        )
        self.assertEqual(spans(css), [("g.png", "g.png")])

    def test_lineBreaks(self) -> None:
        """
        Spans stay exact after every kind of line break the CSS tokenizer
        knows (CR LF, CR, LF, form feed) and after non-ASCII text.
        """
        css = "/* \u00e9t\u00e9 */\r\na{}\rb{}\nc{}\fd { e: url(x.png) }"
        self.assertEqual(spans(css), [("x.png", "x.png")])

    def test_unterminated(self) -> None:
        """
        A string or C{url(} cut off by the end of the file or a line has no
        span: its extent is not certain.
        """
        for css in ['@import "a.css', "a { b: url(x.png", '@import "a\n.css";']:
            self.assertEqual(findURLReferences(css), [], css)

    def test_deepNesting(self) -> None:
        """
        Deeply nested blocks do not exhaust the recursion limit.
        """
        css = "a { b: url(x.png) }" + "(" * 100_000
        self.assertEqual(spans(css), [("x.png", "x.png")])

    @settings(database=None, deadline=None, max_examples=1000)
    @given(_CSSISH)
    def test_spansInBounds(self, css: str) -> None:
        """
        For any input, spans are in order, inside the text, and a span's
        text without a backslash or NUL is exactly its URL.
        """
        previous = 0
        for reference in findURLReferences(css):
            self.assertTrue(previous <= reference.start <= reference.end <= len(css))
            previous = reference.end
            text = css[reference.start : reference.end]
            if "\\" not in text and "\x00" not in text:
                self.assertEqual(text, reference.url)
