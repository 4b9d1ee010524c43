"""
Tests for L{h2site.sites.plain}, the URL rules of a folder served as it is
(every rule, then properties over any index and any request), and for
L{h2site.sites.kinds}, which kind a site folder is.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote_to_bytes

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from h2site.errors import ConfigError
from h2site.sites.kinds import siteKind
from h2site.sites.plain import (
    NOT_FOUND,
    Decision,
    Redirect,
    ServeFile,
    decide,
    location,
)

#: A generator's output, as the file store indexes it.
NAMES = frozenset(
    {
        "index.html",
        "404.html",
        "about.html",
        "docs/index.html",
        "docs/intro.html",
        "docs/api/index.html",
        "css/site.css",
        "js/app.js",
        "img/logo.png",
        "robots.txt",
        "LICENSE",
        "page.html",
        "page",
        "both.html",
        "both/index.html",
        "noindex/file.txt",
        "noindex.html",
        "caf\u00e9/index.html",
        "a b/index.html",
        ".well-known/security.txt",
        ".well-known/index.html",
        ".env",
        ".git/config",
        "docs/.secret.html",
        "script.rpy",
    }
)


def request(target: bytes) -> tuple[list[bytes], bytes | None]:
    """
    The segments and query Twisted gives for a request-target: the path
    split at C{/} and each segment percent-decoded.
    """
    path, _, query = target.partition(b"?")
    segments = [unquote_to_bytes(s) for s in path[1:].split(b"/")]
    return segments, query or None


def decideFor(target: bytes, names: frozenset[str] = NAMES) -> Decision:
    segments, query = request(target)
    return decide(segments, query, names)


class RulesTests(SynchronousTestCase):
    """
    L{decide} serves URLs as static hosts do.
    """

    def assertDecisions(self, cases: dict[bytes, Decision]) -> None:
        for target, expected in cases.items():
            self.assertEqual(decideFor(target), expected, target)

    def test_files(self) -> None:
        """
        A file is served at its own path, whatever its type (C{.rpy} is a
        file like any other).
        """
        self.assertDecisions(
            {
                b"/css/site.css": ServeFile("css/site.css"),
                b"/css/site.css?v=1234": ServeFile("css/site.css"),
                b"/robots.txt": ServeFile("robots.txt"),
                b"/LICENSE": ServeFile("LICENSE"),
                b"/script.rpy": ServeFile("script.rpy"),
                b"/about.html": ServeFile("about.html"),
                b"/docs/intro.html": ServeFile("docs/intro.html"),
            }
        )

    def test_indexes(self) -> None:
        """
        C{/} and C{/dir/} serve the folder's C{index.html}, which is also
        served at its own path.
        """
        self.assertDecisions(
            {
                b"/": ServeFile("index.html"),
                b"/?q=1": ServeFile("index.html"),
                b"/index.html": ServeFile("index.html"),
                b"/docs/": ServeFile("docs/index.html"),
                b"/docs/api/": ServeFile("docs/api/index.html"),
                b"/docs/index.html": ServeFile("docs/index.html"),
                b"/caf%C3%A9/": ServeFile("caf\u00e9/index.html"),
                b"/a%20b/": ServeFile("a b/index.html"),
            }
        )
        self.assertEqual(decideFor(b"/", frozenset()), NOT_FOUND)

    def test_folderRedirects(self) -> None:
        """
        A folder with an index, asked for without its slash, is a redirect
        to the path with it, the query kept and the path encoded again.
        """
        self.assertDecisions(
            {
                b"/docs": Redirect("/docs/"),
                b"/docs?q=a%20b&x=1": Redirect("/docs/?q=a%20b&x=1"),
                b"/docs/api": Redirect("/docs/api/"),
                b"/caf%C3%A9": Redirect("/caf%C3%A9/"),
                b"/caf\xc3\xa9": Redirect("/caf%C3%A9/"),
                b"/a%20b": Redirect("/a%20b/"),
                b"/.well-known": Redirect("/.well-known/"),
            }
        )

    def test_htmlExtension(self) -> None:
        """
        C{/page} serves C{page.html} when there is no file C{page}; a file
        C{page} wins, and a folder with an index wins over C{page.html}.
        """
        self.assertDecisions(
            {
                b"/about": ServeFile("about.html"),
                b"/docs/intro": ServeFile("docs/intro.html"),
                b"/page": ServeFile("page"),
                b"/page.html": ServeFile("page.html"),
                b"/both": Redirect("/both/"),
                b"/noindex": ServeFile("noindex.html"),
                b"/index": ServeFile("index.html"),
            }
        )

    def test_notFound(self) -> None:
        """
        Missing files, folders without an index (no listings), and a file
        or a C{.html} page asked for as a folder are not found.
        """
        for target in [
            b"/nothing",
            b"/nothing/",
            b"/noindex/",
            b"/css",
            b"/css/",
            b"/about/",
            b"/about.html/",
            b"/robots.txt/",
            b"/docs/intro/",
            b"/css/site",
        ]:
            self.assertEqual(decideFor(target), NOT_FOUND, target)

    def test_unsafe(self) -> None:
        """
        Every path the safety rules refuse is not found, however it is
        spelled: dotfiles (but what is below C{/.well-known/}), C{..},
        encoded slashes and backslashes, empty segments, NUL, bad UTF-8.
        """
        for target in [
            b"/.env",
            b"/%2eenv",
            b"/.git/config",
            b"/docs/.secret.html",
            b"/docs/.secret",
            b"/docs/../index.html",
            b"/docs/%2e%2e/index.html",
            b"/docs%2findex.html",
            b"/docs%5cindex.html",
            b"//docs/",
            b"//evil.example/docs",
            b"/docs//",
            b"/docs/%00",
            b"/%ff",
            b"/./index.html",
            b"/..",
            b"/.well-known/.env",
            b"/docs/.well-known/security.txt",
        ]:
            self.assertEqual(decideFor(target), NOT_FOUND, target)

    def test_wellKnown(self) -> None:
        """
        What is below C{/.well-known/} is served; the folder itself only by
        its index.
        """
        self.assertDecisions(
            {
                b"/.well-known/security.txt": ServeFile(".well-known/security.txt"),
                b"/.well-known/security": NOT_FOUND,
                b"/.well-known/": ServeFile(".well-known/index.html"),
            }
        )
        names = frozenset({".well-known", ".well-known.html"})
        self.assertEqual(decideFor(b"/.well-known", names), NOT_FOUND)

    def test_location(self) -> None:
        """
        A redirect's C{Location} is a path: it starts with one slash and a
        segment, each segment encoded, and a query's bytes that cannot
        appear in a header or a URL are encoded.
        """
        self.assertEqual(location(["a", "b c"], None), "/a/b%20c/")
        self.assertEqual(location(["a?#"], b""), "/a%3F%23/")
        self.assertEqual(
            location(["x"], b"q=\r\nSet-Cookie: a <b>\xff"),
            "/x/?q=%0D%0ASet-Cookie:%20a%20%3Cb%3E%FF",
        )


#: Segments as they arrive, biased towards the shapes the rules are about.
_SEGMENT = st.one_of(
    st.sampled_from(
        [
            b"",
            b".",
            b"..",
            b".well-known",
            b".env",
            b"index.html",
            b"docs",
            b"page",
            b"page.html",
            b"a/b",
            b"a\\b",
            b"\x00",
            b"\xff",
        ]
    ),
    st.binary(max_size=6),
)
_NAME_SEGMENT = st.sampled_from(
    ["index.html"] * 4
    + ["docs", "page", "page.html", "a"] * 2
    + [".well-known", ".env", ".x"]
)
_NAMES = st.frozensets(
    st.lists(_NAME_SEGMENT, min_size=1, max_size=3).map("/".join), max_size=12
)


@st.composite
def _indexAndRequest(draw: st.DrawFn) -> tuple[frozenset[str], list[bytes]]:
    """
    An index, and a request either of any shape or made from one of its
    names as a link would be written: the name, without its C{.html},
    its folder with or without the slash, with a segment added.
    """
    names = draw(_NAMES)
    if not names or draw(st.booleans()):
        return names, draw(st.lists(_SEGMENT, max_size=4))
    shape = draw(st.sampled_from(["name", "stem", "folder", "slash", "more"]))
    indexes = sorted(n for n in names if n.endswith("/index.html"))
    pool = indexes if shape in ("folder", "slash") and indexes else sorted(names)
    parts = draw(st.sampled_from(pool)).encode().split(b"/")
    if shape == "stem" and parts[-1].endswith(b".html"):
        parts[-1] = parts[-1][: -len(b".html")]
    elif shape in ("folder", "slash"):
        parts = parts[:-1] + ([b""] if shape == "slash" else [])
    elif shape == "more":
        parts.append(draw(_SEGMENT))
    return names, parts


class PropertyTests(SynchronousTestCase):
    """
    Whatever the index holds and whatever is asked, L{decide} keeps to the
    index and to the safety rules.
    """

    @settings(database=None, deadline=None, derandomize=True, max_examples=1000)
    @given(_indexAndRequest(), st.one_of(st.none(), st.binary(max_size=8)))
    def test_safe(
        self, indexAndRequest: tuple[frozenset[str], list[bytes]], query: bytes | None
    ) -> None:
        """
        A file served is in the index and has no dot-name but
        C{.well-known} first, with something below it; a redirect's
        C{Location} is an ASCII path (never another host) to a folder whose
        index is in the index.
        """
        names, segments = indexAndRequest
        decision = decide(segments, query, names)
        if isinstance(decision, ServeFile):
            self.assertIn(decision.name, names)
            parts = decision.name.split("/")
            for i, part in enumerate(parts):
                self.assertTrue(part)
                if part.startswith("."):
                    self.assertEqual((i, part), (0, ".well-known"))
                    self.assertGreater(len(parts), 1)
        elif isinstance(decision, Redirect):
            loc = decision.location
            loc.encode("ascii")
            self.assertTrue(loc.startswith("/"))
            self.assertFalse(loc.startswith("//"))
            self.assertFalse(any(c in loc for c in "\r\n\x00 \\#"))
            path = loc.split("?", 1)[0]
            self.assertTrue(path.endswith("/"))
            folder = [unquote_to_bytes(s) for s in path[1:-1].split("/")]
            self.assertEqual(folder, segments)
            self.assertIn("/".join(s.decode() for s in folder) + "/index.html", names)
        else:
            self.assertEqual(decision, NOT_FOUND)

    @settings(database=None, deadline=None, derandomize=True, max_examples=500)
    @given(_NAMES)
    def test_everyFileReachable(self, names: frozenset[str]) -> None:
        """
        Every name the rules allow is served at its own path (so a link
        written by any generator resolves), and its folder's index at the
        folder's path.
        """
        for name in names:
            parts = name.split("/")
            dotted = [i for i, p in enumerate(parts) if p.startswith(".")]
            if dotted and not (
                dotted == [0] and parts[0] == ".well-known" and len(parts) > 1
            ):
                continue
            target = "/" + "/".join(parts)
            self.assertEqual(decideFor(target.encode(), names), ServeFile(name))
            if parts[-1] == "index.html":
                folder = target[: -len("index.html")]
                self.assertEqual(decideFor(folder.encode(), names), ServeFile(name))


class SiteKindTests(SynchronousTestCase):
    """
    L{siteKind} chooses the kind of site by what the folder holds.
    """

    def folder(self, *files: str) -> str:
        root = Path(self.mktemp()).absolute()
        root.mkdir()
        for name in files:
            path = root / name
            if name.endswith("/"):
                path.mkdir(parents=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("x")
        return str(root)

    def test_template(self) -> None:
        """
        A folder with C{templates/index.html} is a template site.
        """
        root = self.folder("templates/index.html", "static/app.css")
        kind = siteKind(root)
        self.assertEqual(kind.kind, "template")
        self.assertFalse(kind.isPlain)
        self.assertEqual(kind.warnings, ())
        self.assertEqual(
            kind.describe(root),
            f"h2site serves {root} as a template site: it has "
            f"templates/index.html: pages rendered from templates/, files "
            f"served from static/ at /static/",
        )
        os.mkdir(os.path.join(root, "public"))
        self.assertTrue(
            siteKind(root).reason.endswith(
                "served from static/ at /static/ and from public/ at /"
            )
        )

    def test_plain(self) -> None:
        """
        Any other folder is a plain site; without an C{index.html} at its
        top, with a warning that C{/} is not found.
        """
        kind = siteKind(self.folder("index.html", "css/a.css"))
        self.assertTrue(kind.isPlain)
        self.assertIn("no templates/index.html", kind.reason)
        self.assertEqual(kind.warnings, ())
        root = self.folder("docs/index.html")
        kind = siteKind(root)
        self.assertTrue(kind.isPlain)
        self.assertEqual(
            kind.warnings,
            (f"h2site: {root} has no index.html at its top, so / is not found",),
        )

    def test_generatorOutputWithTemplatesSection(self) -> None:
        """
        A folder with an C{index.html} at its top is plain even if it has
        C{templates/index.html} (a generator's section of that name), or a
        C{templates/} folder without one.
        """
        for files in [
            ("index.html", "templates/index.html"),
            ("index.html", "templates/x.html"),
        ]:
            kind = siteKind(self.folder(*files))
            self.assertTrue(kind.isPlain, files)
        kind = siteKind(self.folder("index.html", "templates/index.html"))
        self.assertIn("templates/ too", kind.reason)

    def test_halfTemplateSite(self) -> None:
        """
        A C{templates/} folder without its index, and no C{index.html} at
        the top, is a template site half deployed: refused, so its templates
        never become downloads.
        """
        for files in [("templates/",), ("templates/about.html", "static/a.css")]:
            root = self.folder(*files)
            e = self.assertRaises(ConfigError, siteKind, root)
            self.assertIn(f"site folder {root!r} has no templates/index.html", str(e))
