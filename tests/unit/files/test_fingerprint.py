"""Tests for L{h2site.files.fingerprint}."""

from __future__ import annotations

import pickle
import re

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from h2site.files.fingerprint import Kind, Target, kindOf, postOrder, rewrite, targets

CSS_URL = "/static/css/app.css"
JS_URL = "/static/js/main.mjs"
HTML_URL = "/docs/library/os.html"

#: The files the tests' "store" has, with their fingerprints.
VERSIONS = {
    "/static/css/base.css": "b1",
    "/static/css/a%20b.css": "b2",
    "/static/fonts/x.woff2": "f1",
    "/static/img/hero.svg": "i1",
    "/static/img/sprite.svg": "s1",
    "/static/js/lib/a.mjs": "a1",
    "/static/js/lib/b.js": "b3",
    "/static/js/data.json": "j1",
    "/other/root.css": "r1",
    "/static/img/a b.png": "p1",
    "/docs/_static/basic.css": "c1",
    "/docs/_static/doctools.js": "d1",
    "/docs/_static/py.svg": "s2",
    "/docs/_images/tree.png": "t1",
    "/docs/_images/tree@2x.png": "t2",
}


def rewritten(text: str, kind: Kind, url: str | None = None) -> str:
    """
    C{text} as L{rewrite} sends it, with the fingerprints of L{VERSIONS}.
    """
    url = url or {"css": CSS_URL, "js": JS_URL, "html": HTML_URL}[kind]
    return rewrite(url, text.encode("utf-8"), kind, VERSIONS.get).decode("utf-8")


class KindTests(SynchronousTestCase):
    def test_kinds(self) -> None:
        """
        Stylesheets are rewritten as CSS; C{.js} and C{.mjs} files served as
        JavaScript as JavaScript; HTML pages as HTML; nothing else.
        """
        js = "text/javascript; charset=utf-8"
        self.assertEqual(kindOf("a/app.css", "text/css; charset=utf-8"), "css")
        self.assertEqual(kindOf("a/m.mjs", js), "js")
        self.assertEqual(kindOf("a/M.JS", js), "js")
        self.assertIsNone(kindOf("a/m.cjs", js))
        self.assertIsNone(kindOf("a/m.js", "application/octet-stream"))
        self.assertIsNone(kindOf("a/i.svg", "image/svg+xml"))
        self.assertEqual(kindOf("a/x.html", "text/html; charset=utf-8"), "html")
        self.assertEqual(kindOf("a/x", "text/html"), "html")
        self.assertIsNone(kindOf("a/x.xhtml", "application/xhtml+xml"))


class StylesheetTests(SynchronousTestCase):
    """
    References in stylesheets get the fingerprint of the file they name.
    """

    def test_forms(self) -> None:
        """
        Every form keeps its relative spelling and quotes; the fingerprint
        goes after the path.
        """
        css = (
            '@import "base.css";\n'
            "@import url(base.css) print;\n"
            "@font-face { src: url('../fonts/x.woff2') format('woff2') }\n"
            ".a { background: URL( ../img/hero.svg ) }\n"
            ".b { background: url(/static/img/hero.svg) }\n"
        )
        self.assertEqual(
            rewritten(css, "css"),
            '@import "base.css?v=b1";\n'
            "@import url(base.css?v=b1) print;\n"
            "@font-face { src: url('../fonts/x.woff2?v=f1') format('woff2') }\n"
            ".a { background: URL( ../img/hero.svg?v=i1 ) }\n"
            ".b { background: url(/static/img/hero.svg?v=i1) }\n",
        )

    def test_minified(self) -> None:
        """
        Minified CSS is rewritten in place.
        """
        css = '@import"base.css";a{b:url(../img/hero.svg)}@media x{c{d:url("x")}}'
        self.assertEqual(
            rewritten(css, "css"),
            '@import"base.css?v=b1";a{b:url(../img/hero.svg?v=i1)}'
            '@media x{c{d:url("x")}}',
        )

    def test_fragment(self) -> None:
        """
        The fingerprint goes before a fragment.
        """
        css = ".i { mask: url(../img/sprite.svg#icon) }"
        self.assertEqual(
            rewritten(css, "css"), ".i { mask: url(../img/sprite.svg?v=s1#icon) }"
        )

    def test_percentEncoded(self) -> None:
        """
        A reference with a space names the file its encoded URL names.
        """
        self.assertEqual(
            rewritten('@import "a b.css";', "css"), '@import "a b.css?v=b2";'
        )

    def test_leftAlone(self) -> None:
        """
        References with a query, with escapes, to other origins, to C{data:}
        URLs, fragments alone, unknown files and strings that only look like
        references are not changed.
        """
        css = (
            '@import "base.css?v=old";\n'
            '@import "bas\\65.css";\n'
            ".a { b: url(ba\\73 e.css) }\n"
            '@import "https://cdn.example/base.css";\n'
            '@import "//cdn.example/base.css";\n'
            ".c { b: url(data:image/svg+xml;base64,AAAA) }\n"
            ".d { b: url(#x) }\n"
            ".e { b: url(missing.png) }\n"
            '.f::before { content: "url(base.css)" }\n'
            "/* url(base.css) */\n"
        )
        self.assertEqual(rewritten(css, "css"), css)

    def test_resolvesAgainstTheFile(self) -> None:
        """
        References resolve against the file's own URL.
        """
        self.assertEqual(
            rewritten('@import "../../other/root.css";', "css", "/static/x/y.css"),
            '@import "../../other/root.css?v=r1";',
        )

    def test_encoding(self) -> None:
        """
        A UTF-8 byte order mark and non-ASCII text are kept; a file that is
        not UTF-8, or starts with a UTF-16 byte order mark, is not rewritten.
        """
        css = '\ufeff/* \u00e9t\u00e9 */ @import "base.css";'.encode()
        self.assertEqual(
            rewrite(CSS_URL, css, "css", VERSIONS.get),
            '\ufeff/* \u00e9t\u00e9 */ @import "base.css?v=b1";'.encode(),
        )
        for data in [
            b'/* \xe9 */ @import "base.css";',
            '@import "base.css";'.encode("utf-16"),
        ]:
            self.assertIs(rewrite(CSS_URL, data, "css", VERSIONS.get), data)

    def test_unchangedIsSame(self) -> None:
        """
        Without anything to rewrite, the very same bytes come back.
        """
        data = b"a { color: red }"
        self.assertIs(rewrite(CSS_URL, data, "css", VERSIONS.get), data)


class ModuleTests(SynchronousTestCase):
    """
    Module specifiers get the fingerprint of the module they name.
    """

    def test_forms(self) -> None:
        """
        Static imports, re-exports, bare imports and literal dynamic
        imports, with their quotes.
        """
        source = (
            "import { a } from './lib/a.mjs';\n"
            'import "./lib/b.js";\n'
            "export * from '/static/js/lib/a.mjs';\n"
            'const m = () => import("../js/lib/a.mjs");\n'
        )
        self.assertEqual(
            rewritten(source, "js"),
            "import { a } from './lib/a.mjs?v=a1';\n"
            'import "./lib/b.js?v=b3";\n'
            "export * from '/static/js/lib/a.mjs?v=a1';\n"
            'const m = () => import("../js/lib/a.mjs?v=a1");\n',
        )

    def test_leftAlone(self) -> None:
        """
        Bare specifiers (an import map resolves them), full URLs, specifiers
        with a query, a fragment or escapes, non-literal dynamic imports,
        imports of what is not JavaScript, unknown modules, and imports in
        strings, comments and template literals are not changed.
        """
        source = (
            "import x from 'lib/a.mjs';\n"
            "import y from 'https://cdn.example/a.mjs';\n"
            "import z from '//cdn.example/a.mjs';\n"
            "import w from './lib/a.mjs?v=old';\n"
            "import v from './lib/a.mjs#x';\n"
            "import u from './lib/a\\x2emjs';\n"
            "import t from './data.json' with { type: 'json' };\n"
            "import('./data.json');\n"
            "import(`./lib/a.mjs`); import(name); import('./lib/' + 'a.mjs');\n"
            "import s from './missing.mjs';\n"
            "const q = \"import './lib/a.mjs'\"; // import './lib/a.mjs'\n"
            "const r = `import('./lib/a.mjs')`;\n"
        )
        self.assertEqual(rewritten(source, "js"), source)


class PageTests(SynchronousTestCase):
    """
    The references in HTML pages get the fingerprint of the file they name.
    """

    def test_sphinx(self) -> None:
        """
        A page as Sphinx writes it: stylesheets, scripts, icons and images
        get their fingerprint; a reference with a query, links to pages,
        inline scripts, comments and the rest of the bytes stay as written.
        """
        page = (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n'
            '  <meta charset="utf-8" /><title>os \u2014 Miscellaneous</title>\n'
            '  <link rel="stylesheet" type="text/css" href="../_static/basic.css" />\n'
            '  <link rel="stylesheet" href="../_static/pydoctheme.css?digest=1" />\n'
            '  <script data-url_root="../" id="documentation_options" '
            'src="../_static/doctools.js"></script>\n'
            '  <link rel="shortcut icon" type="image/png" href="../_static/py.svg" />\n'
            '  <link rel="next" href="io.html" />\n'
            "  <script>if (a < b && c > d) { document.write('<img src=x.png>') }"
            "</script>\n"
            "  <!-- <script src='../_static/doctools.js'></script> -->\n"
            "</head><body>\n"
            '<img alt="tree" src="../_images/tree.png" '
            'srcset="../_images/tree.png 1x, ../_images/tree@2x.png 2x" />\n'
            '<a href="../_static/basic.css#top">&lt;style&gt;</a> &amp; more\n'
            "</body></html>\n"
        )
        self.assertEqual(
            rewritten(page, "html"),
            page.replace('basic.css" />', 'basic.css?v=c1" />')
            .replace('doctools.js"></script>', 'doctools.js?v=d1"></script>')
            .replace('py.svg"', 'py.svg?v=s2"')
            .replace('tree.png"', 'tree.png?v=t1"')
            .replace("tree.png 1x", "tree.png?v=t1 1x")
            .replace("tree@2x.png 2x", "tree@2x.png?v=t2 2x"),
        )

    def test_leftAlone(self) -> None:
        """
        Values with character references, references inside templates,
        unknown files, other origins and C{data:} URLs are not changed.
        """
        page = (
            '<link rel=stylesheet href="../_static/basic&#46;css">'
            "<template><script src=../_static/doctools.js></script></template>"
            "<img src=../_images/missing.png><img src=https://x/_images/tree.png>"
            "<img src='data:image/png;base64,AA=='>"
        )
        self.assertEqual(rewritten(page, "html"), page)

    def test_base(self) -> None:
        """
        After a C{<base href>} that moves relative references elsewhere,
        nothing is rewritten.
        """
        page = (
            "<img src=../_images/tree.png><base href=/elsewhere/>"
            "<img src=../_images/tree.png>"
        )
        self.assertEqual(
            rewritten(page, "html"),
            page.replace("tree.png>", "tree.png?v=t1>", 1),
        )

    def test_encoding(self) -> None:
        """
        A UTF-8 byte order mark and non-ASCII text are kept, and positions
        count characters, not bytes; a page that is not UTF-8 is not
        rewritten.
        """
        page = '\ufeff<p>\u00e9t\u00e9 \U0001f600<img src="../_images/tree.png">'
        self.assertEqual(
            rewrite(HTML_URL, page.encode(), "html", VERSIONS.get),
            page.replace("tree.png", "tree.png?v=t1").encode(),
        )
        latin1 = b'<p>\xe9t\xe9<img src="../_images/tree.png">'
        self.assertIs(rewrite(HTML_URL, latin1, "html", VERSIONS.get), latin1)

    def test_targets(self) -> None:
        """
        L{targets} of a page, given to L{rewrite}, give the same result.
        """
        page = b"<link rel=icon href=../_static/py.svg><img src=../_images/x.png>"
        found = targets(HTML_URL, page, "html")
        self.assertEqual(
            [t.url for t in found], ["/docs/_static/py.svg", "/docs/_images/x.png"]
        )
        self.assertIsInstance(found[0], Target)
        self.assertEqual(
            rewrite(HTML_URL, page, "html", VERSIONS.get, found),
            rewrite(HTML_URL, page, "html", VERSIONS.get),
        )

    def test_picklable(self) -> None:
        """
        What a process pool sends back and forth pickles: the targets, and
        the functions themselves.
        """
        page = b"<img src=../_images/tree.png>"
        found = targets(HTML_URL, page, "html")
        self.assertEqual(pickle.loads(pickle.dumps(found)), found)
        for function in (targets, rewrite, kindOf, postOrder):
            self.assertIs(pickle.loads(pickle.dumps(function)), function)


class TargetTests(SynchronousTestCase):
    def test_targets(self) -> None:
        """
        The references that may be fingerprinted, with the URLs they name,
        whether or not a file is there; given to L{rewrite}, they spare it
        parsing the file again, with the same result.
        """
        css = b'@import "base.css"; a { b: url(base.css) } c { d: url(x.png#y) }'
        found = targets(CSS_URL, css, "css")
        self.assertEqual(
            [t.url for t in found],
            ["/static/css/base.css", "/static/css/base.css", "/static/css/x.png"],
        )
        self.assertEqual(
            rewrite(CSS_URL, css, "css", VERSIONS.get, found),
            rewrite(CSS_URL, css, "css", VERSIONS.get),
        )


class PostOrderTests(SynchronousTestCase):
    """
    Files are rewritten after the files they name.
    """

    def test_chain(self) -> None:
        """
        Each name comes after the names it points to.
        """
        edges = {"main": ["ui", "timing"], "ui": ["format"], "timing": ["format"]}
        order = postOrder(["main", "timing", "ui", "format"], edges)
        self.assertEqual(order, ["format", "ui", "timing", "main"])

    def test_cycle(self) -> None:
        """
        In a cycle, every name comes once, and only the edge closing the
        cycle points forward.
        """
        edges = {"a": ["b"], "b": ["c"], "c": ["a"], "d": ["d"]}
        order = postOrder(["a", "b", "c", "d"], edges)
        self.assertEqual(order, ["c", "b", "a", "d"])

    def test_unknownNamesIgnored(self) -> None:
        """
        Edges to names not being ordered are ignored.
        """
        self.assertEqual(postOrder(["a"], {"a": ["font", "img"]}), ["a"])

    def test_longChain(self) -> None:
        """
        A very long chain does not exhaust the recursion limit.
        """
        count = 50_000
        edges = {str(i): [str(i + 1)] for i in range(count)}
        order = postOrder([str(i) for i in range(count + 1)], edges)
        self.assertEqual(order, [str(i) for i in range(count, -1, -1)])


_PIECES = [
    '@import "base.css";',
    "@import url(base.css);",
    "url(../img/hero.svg)",
    "url('../fonts/x.woff2')",
    'url("../img/sprite.svg#i")',
    "url(missing.png)",
    "a{",
    "}",
    "(",
    ")",
    '"',
    "'",
    "\\",
    "/*",
    "*/",
    " ",
    "\n",
    "\r\n",
    ";",
    "?",
    "#",
]

_CSSISH = st.lists(
    st.one_of(st.sampled_from(_PIECES), st.text(max_size=3)), max_size=40
).map("".join)

_FINGERPRINT = re.compile(r"\?v=(b1|b2|f1|i1|s1)")


class PropertyTests(SynchronousTestCase):
    @settings(database=None, deadline=None, max_examples=500)
    @given(_CSSISH)
    def test_onlyInsertions(self, css: str) -> None:
        """
        Rewriting only ever inserts fingerprints: taking them out gives the
        original; and rewriting again changes nothing (every rewritten
        reference now has a query).
        """
        data = css.encode("utf-8", "surrogatepass")
        once = rewrite(CSS_URL, data, "css", VERSIONS.get)
        if once is data:
            return
        text = once.decode("utf-8")
        self.assertEqual(_FINGERPRINT.sub("", text), css)
        self.assertEqual(rewrite(CSS_URL, once, "css", VERSIONS.get), once)


_PAGE_PIECES = [
    "<img src=",
    "<img srcset='",
    "<link rel=stylesheet href=",
    "<script src=",
    "<script>",
    "</script>",
    "<template>",
    "</template>",
    "<base href=",
    "<!--",
    "-->",
    "../_images/tree.png",
    "../_static/basic.css",
    "../_static/doctools.js",
    " 2x,",
    "#f",
    "?",
    "&amp;",
    "'",
    '"',
    " ",
    ">",
    "<",
    "\r\n",
    "\u00e9",
]

_PAGEISH = st.lists(
    st.one_of(st.sampled_from(_PAGE_PIECES), st.text(max_size=3)), max_size=40
).map("".join)

_PAGE_FINGERPRINT = re.compile(r"\?v=(c1|d1|t1)")


class PagePropertyTests(SynchronousTestCase):
    @settings(database=None, deadline=None, max_examples=500)
    @given(_PAGEISH)
    def test_onlyInsertions(self, page: str) -> None:
        """
        Rewriting a page only inserts fingerprints, and rewriting again
        changes nothing.
        """
        data = page.encode("utf-8", "surrogatepass")
        once = rewrite(HTML_URL, data, "html", VERSIONS.get)
        if once is data:
            return
        text = once.decode("utf-8")
        self.assertEqual(
            _PAGE_FINGERPRINT.sub("", text), _PAGE_FINGERPRINT.sub("", page)
        )
        self.assertEqual(rewrite(HTML_URL, once, "html", VERSIONS.get), once)
