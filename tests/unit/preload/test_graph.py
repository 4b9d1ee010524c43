"""Tests for L{h2site.preload.graph}."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from h2site.preload.graph import (
    AssetGraph,
    PreloadLimits,
    Scans,
    boundAssets,
    moduleAssets,
    orderAssets,
)
from h2site.refs.asset import Asset
from h2site.refs.links import linkHeaderValue
from tests.assets import font, image, module, script, style


class FakeSource:
    """
    An in-memory L{h2site.preload.graph.AssetSource}: files by path (the query
    is ignored, as the static folder ignores it), counting reads.
    """

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.reads: list[str] = []

    def exists(self, url: str) -> bool:
        return url.split("?", 1)[0] in self.files

    def read(self, url: str, limit: int) -> bytes | None:
        self.reads.append(url)
        data = self.files.get(url.split("?", 1)[0])
        if data is None or len(data) > limit:
            return None
        return data


# The demo site's shape: a stylesheet importing another and naming a font
# and an image, and a module chain with a shared leaf.
DEMO = {
    "/static/css/app.css": (
        b'@import url("base.css");\n'
        b'@font-face { font-family: D; src: url("../fonts/d.woff2") format("woff2") }\n'
        b".hero { background: url('../img/hero.svg') }\n"
    ),
    "/static/css/base.css": b"body { margin: 0 }",
    "/static/fonts/d.woff2": b"wOF2",
    "/static/img/hero.svg": b"<svg/>",
    "/static/img/icon.svg": b"<svg/>",
    "/static/js/main.mjs": (
        b"import { a } from './lib/a.mjs';\nimport { b } from './lib/b.mjs';\n"
    ),
    "/static/js/lib/a.mjs": b"import { f } from './f.mjs'; export const a = f;",
    "/static/js/lib/b.mjs": b"export * from './f.mjs';",
    "/static/js/lib/f.mjs": b"export const f = 1;",
}

DEMO_PAGE = """<!doctype html>
<link rel=stylesheet href="/static/css/app.css?v=1">
<script type=module src="/static/js/main.mjs?v=2"></script>
<link rel=icon href="/static/img/icon.svg">
"""


class DiscoveryTests(SynchronousTestCase):
    """
    L{AssetGraph.discover} follows stylesheets and modules.
    """

    def test_demoShape(self) -> None:
        """
        Every asset of every chain is found: the page's own first, then
        breadth first; URLs inside fingerprinted files resolve against the
        file's path, so they have no fingerprint of their own.
        """
        graph = AssetGraph(FakeSource(DEMO))
        self.assertEqual(
            graph.discover(DEMO_PAGE, "/"),
            [
                style("/static/css/app.css?v=1"),
                module("/static/js/main.mjs?v=2"),
                image("/static/img/icon.svg"),
                style("/static/css/base.css"),
                font("/static/fonts/d.woff2"),
                image("/static/img/hero.svg"),
                module("/static/js/lib/a.mjs"),
                module("/static/js/lib/b.mjs"),
                module("/static/js/lib/f.mjs"),
            ],
        )

    def test_ordered(self) -> None:
        """
        L{AssetGraph.assets} orders by need: stylesheets, fonts, modules,
        images.
        """
        assets, omitted = AssetGraph(FakeSource(DEMO)).assets(DEMO_PAGE, "/")
        self.assertEqual(
            [a.url.split("?")[0].rsplit("/", 1)[1] for a in assets],
            [
                "app.css",
                "base.css",
                "d.woff2",
                "main.mjs",
                "a.mjs",
                "b.mjs",
                "f.mjs",
                "icon.svg",
                "hero.svg",
            ],
        )
        self.assertEqual(omitted, 0)

    def test_cycles(self) -> None:
        """
        Stylesheets importing each other and modules importing each other
        (or themselves) are each announced once, and discovery ends.
        """
        source = FakeSource(
            {
                "/a.css": b'@import "b.css";',
                "/b.css": b'@import "a.css"; @import "b.css";',
                "/m.mjs": b"import './n.mjs'; import './m.mjs';",
                "/n.mjs": b"import './m.mjs';",
            }
        )
        html = '<link rel=stylesheet href="/a.css"><script type=module src="/m.mjs">'
        self.assertEqual(
            AssetGraph(source).discover(html, "/"),
            [style("/a.css"), module("/m.mjs"), style("/b.css"), module("/n.mjs")],
        )

    def test_sharedFilesReadOnce(self) -> None:
        """
        Files are read once for all pages (and all references).
        """
        source = FakeSource(DEMO)
        graph = AssetGraph(source)
        first = graph.discover(DEMO_PAGE, "/")
        second = graph.discover(DEMO_PAGE, "/about")
        self.assertEqual(first, second)
        self.assertEqual(len(source.reads), len(set(source.reads)))

    def test_missingDeepFiles(self) -> None:
        """
        A file that the page, a stylesheet or a module names but the server
        does not have is not announced: a hint for a 404 costs a request.
        The page's own broken references are remembered, to be reported.
        """
        source = FakeSource(
            {
                "/a.css": b'@import "gone.css"; .x { background: url(gone.png) }',
                "/m.mjs": b"import './gone.mjs';",
            }
        )
        html = (
            '<link rel=stylesheet href="/a.css">'
            '<script type=module src="/m.mjs"></script>'
            '<link rel=stylesheet href="/missing.css">'
        )
        graph = AssetGraph(source)
        self.assertEqual(graph.discover(html, "/"), [style("/a.css"), module("/m.mjs")])
        self.assertEqual(graph.missing, {"/": ("/missing.css",)})
        graph.discover('<link rel=stylesheet href="/a.css">', "/")
        self.assertEqual(graph.missing, {})

    def test_hugeFile(self) -> None:
        """
        A file over the size limit is announced but not read for more.
        """
        big = b'@import "b.css";' + b" " * 100
        source = FakeSource({"/a.css": big, "/b.css": b""})
        html = '<link rel=stylesheet href="/a.css">'
        graph = AssetGraph(source, PreloadLimits(maxFileBytes=100))
        self.assertEqual(graph.discover(html, "/"), [style("/a.css")])
        graph = AssetGraph(source, PreloadLimits(maxFileBytes=len(big)))
        self.assertEqual(graph.discover(html, "/"), [style("/a.css"), style("/b.css")])

    def test_notCSSOrJavaScript(self) -> None:
        """
        Binary junk where a stylesheet or module should be yields nothing.
        """
        junk = bytes(range(256)) * 10
        source = FakeSource({"/a.css": junk, "/m.mjs": junk})
        html = '<link rel=stylesheet href="/a.css"><script type=module src="/m.mjs">'
        self.assertEqual(
            AssetGraph(source).discover(html, "/"), [style("/a.css"), module("/m.mjs")]
        )

    def test_depth(self) -> None:
        """
        C{maxDepth} levels below the page's own assets are followed.
        """
        chain = {f"/{i}.mjs": f"import './{i + 1}.mjs';".encode() for i in range(10)}
        chain["/10.mjs"] = b""
        html = '<script type=module src="/0.mjs"></script>'
        for depth in [0, 1, 3, 10]:
            found = AssetGraph(
                FakeSource(chain), PreloadLimits(maxDepth=depth)
            ).discover(html, "/")
            self.assertEqual(
                [a.url for a in found], [f"/{i}.mjs" for i in range(depth + 1)]
            )

    def test_scanBudget(self) -> None:
        """
        Discovery for a page stops reading after C{maxScanFiles} files or
        C{maxScanBytes} bytes.
        """
        chain = {f"/{i}.mjs": f"import './{i + 1}.mjs';".encode() for i in range(20)}
        html = '<script type=module src="/0.mjs"></script>'
        found = AssetGraph(FakeSource(chain), PreloadLimits(maxScanFiles=3)).discover(
            html, "/"
        )
        self.assertEqual(
            [a.url for a in found], ["/0.mjs", "/1.mjs", "/2.mjs", "/3.mjs"]
        )
        size = len(chain["/0.mjs"])
        found = AssetGraph(
            FakeSource(chain), PreloadLimits(maxScanBytes=2 * size)
        ).discover(html, "/")
        self.assertEqual([a.url for a in found], ["/0.mjs", "/1.mjs", "/2.mjs"])

    def test_mediaCarriedDown(self) -> None:
        """
        What a stylesheet for some media pulls in is for those media too;
        under two different queries it is left out.
        """
        source = FakeSource(
            {
                "/p.css": b'@import "p2.css"; @import "s.css" screen; '
                b".x{background:url(x.png)} @media print{.y{background:url(y.png)}}",
                "/p2.css": b"",
                "/s.css": b"",
                "/x.png": b"",
                "/y.png": b"",
            }
        )
        html = '<link rel=stylesheet href="/p.css" media=print>'
        self.assertEqual(
            AssetGraph(source).discover(html, "/"),
            [
                style("/p.css", "print"),
                style("/p2.css", "print"),
                image("/x.png", "print"),
                image("/y.png", "print"),
            ],
        )

    def test_crossoriginCarriedDown(self) -> None:
        """
        Modules are imported with their importer's CORS setting, so their
        hints must match it; a stylesheet's fonts are always anonymous.
        """
        source = FakeSource(
            {
                "/m.mjs": b"import './n.mjs';",
                "/n.mjs": b"",
                "/a.css": b"@font-face{font-family:F;src:url(f.woff2)}",
                "/f.woff2": b"",
            }
        )
        html = (
            '<script type=module crossorigin=use-credentials src="/m.mjs"></script>'
            '<link rel=stylesheet crossorigin=use-credentials href="/a.css">'
        )
        found = AssetGraph(source).discover(html, "/")
        self.assertEqual(found[2], module("/n.mjs", crossorigin="use-credentials"))
        self.assertEqual(found[3], font("/f.woff2"))

    def test_firstReferenceWins(self) -> None:
        """
        An asset the page names itself keeps the page's attributes.
        """
        source = FakeSource(
            {"/a.css": b".x { background: url(hero.png) }", "/hero.png": b""}
        )
        html = (
            '<link rel=stylesheet href="/a.css">'
            '<img src="/hero.png" fetchpriority=high>'
        )
        self.assertEqual(
            AssetGraph(source).discover(html, "/"),
            [style("/a.css"), image("/hero.png", fetchpriority="high")],
        )

    def test_classicScriptsNotRead(self) -> None:
        """
        Classic scripts cannot have static imports; they are not read.
        """
        source = FakeSource({"/c.js": b"import './no.mjs';", "/no.mjs": b""})
        graph = AssetGraph(source)
        self.assertEqual(
            graph.discover('<script src="/c.js"></script>', "/"), [script("/c.js")]
        )
        self.assertEqual(source.reads, [])


class ModuleAssetsTests(SynchronousTestCase):
    """
    L{moduleAssets} resolves module specifiers as the browser does.
    """

    def test_relative(self) -> None:
        """
        C{./}, C{../} and C{/} specifiers resolve against the module URL
        (not its query).
        """
        source = "import './a.mjs'; import '../b.mjs'; import '/c.mjs';"
        self.assertEqual(
            [a.url for a in moduleAssets(source, "/static/js/m.mjs?v=9", None)],
            ["/static/js/a.mjs", "/static/b.mjs", "/c.mjs"],
        )

    def test_bareAndAbsolute(self) -> None:
        """
        Bare specifiers (which need an import map) and full URLs are left
        out, as are specifiers that are not quite relative.
        """
        source = (
            "import 'lodash'; import 'https://cdn.example/x.mjs';"
            "import '//cdn.example/y.mjs'; import 'a.mjs'; import '.\\\\b.mjs';"
            "import 'data:text/javascript,1';"
        )
        self.assertEqual(moduleAssets(source, "/m.mjs", None), [])


class OrderTests(SynchronousTestCase):
    """
    L{orderAssets} puts what is needed soonest first.
    """

    def test_order(self) -> None:
        """
        Stylesheets, fonts, classic scripts, modules, other kinds, images;
        stable within a kind.
        """
        assets = [
            image("/i1.png"),
            module("/m1.mjs"),
            Asset("/t.vtt", "preload", "track"),
            script("/s.js"),
            font("/f.woff2"),
            style("/a.css"),
            image("/i2.png"),
            style("/b.css"),
            Asset("/x", "preload", None),
        ]
        self.assertEqual(
            [a.url for a in orderAssets(assets)],
            [
                "/a.css",
                "/b.css",
                "/f.woff2",
                "/s.js",
                "/m1.mjs",
                "/t.vtt",
                "/x",
                "/i1.png",
                "/i2.png",
            ],
        )


class BoundTests(SynchronousTestCase):
    """
    L{boundAssets} keeps the links within the limits.
    """

    def test_maxLinks(self) -> None:
        """
        At most C{maxLinks}, the first ones.
        """
        assets = [image(f"/{i}.png") for i in range(40)]
        kept, omitted = boundAssets(assets, 32, 8192)
        self.assertEqual(kept, assets[:32])
        self.assertEqual(omitted, 8)

    def test_maxHeaderBytes(self) -> None:
        """
        The kept links joined by C{", "} fit in C{maxHeaderBytes}; a link
        that does not fit is skipped but shorter ones after it are kept.
        """
        short = image("/a.png")
        long = image("/" + "x" * 100 + ".png")
        size = len(linkHeaderValue(short))
        kept, omitted = boundAssets([short, long, short], 10, 2 * size + 2)
        self.assertEqual(kept, [short, short])
        self.assertEqual(omitted, 1)
        kept, omitted = boundAssets([short, short, short], 10, 2 * size + 1)
        self.assertEqual(kept, [short])
        self.assertEqual(omitted, 2)

    @settings(database=None, deadline=None)
    @given(
        st.lists(st.text(min_size=1).map(lambda u: image("/" + u)), max_size=60),
        st.integers(1, 64),
        st.integers(0, 4096),
    )
    def test_alwaysWithinBounds(
        self, assets: list[Asset], maxLinks: int, maxHeaderBytes: int
    ) -> None:
        """
        Whatever the assets, the kept ones are an in-order subsequence within
        both limits, and kept plus omitted is all of them.
        """
        kept, omitted = boundAssets(assets, maxLinks, maxHeaderBytes)
        self.assertLessEqual(len(kept), maxLinks)
        self.assertLessEqual(
            len(", ".join(linkHeaderValue(a) for a in kept)), maxHeaderBytes
        )
        self.assertEqual(len(kept) + omitted, len(assets))
        remaining = iter(assets)
        self.assertTrue(all(any(a is b for b in remaining) for a in kept))

    def test_graphBounds(self) -> None:
        """
        L{AssetGraph.assets} applies the limits after ordering, so images are
        what is left out first.
        """
        assets, omitted = AssetGraph(
            FakeSource(DEMO), PreloadLimits(maxLinks=3)
        ).assets(DEMO_PAGE, "/")
        self.assertEqual([a.as_ for a in assets], ["style", "style", "font"])
        self.assertEqual(omitted, 6)


class RememberedTests(SynchronousTestCase):
    """
    Scans kept across builds (C{--dev}): those of fingerprinted URLs only.
    """

    def test_fingerprintedReused(self) -> None:
        """
        A stylesheet named by its fingerprint is read by the first graph
        only; one named without is read by each graph.
        """
        files = {
            "/a.css": b"@import 'b.css';",
            "/b.css": b"p { color: red }",
        }
        page = (
            '<link rel=stylesheet href="/a.css?v=0123456789abcdef">'
            '<link rel=stylesheet href="/b.css">'
        )
        remembered: Scans = {}
        first, second = FakeSource(files), FakeSource(files)
        expected = AssetGraph(first, remembered=remembered).assets(page, "/")
        self.assertEqual(
            AssetGraph(second, remembered=remembered).assets(page, "/"), expected
        )
        self.assertEqual(sorted(first.reads), ["/a.css?v=0123456789abcdef", "/b.css"])
        self.assertEqual(second.reads, ["/b.css"])
        self.assertEqual(list(remembered), [("/a.css?v=0123456789abcdef", "style")])
