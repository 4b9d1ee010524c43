"""
Tests for L{h2site.sites.templates}: routes, rendering at start-up, C{static_url}.
"""

from __future__ import annotations

from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from h2site.errors import ConfigError
from h2site.sites.templates import renderPages, routeForTemplate, staticURLFactory
from tests.helpers import makeSite


class RouteTests(SynchronousTestCase):
    """
    L{routeForTemplate} maps template names to URL paths.
    """

    def test_routes(self) -> None:
        """
        C{index.html} is C{/}, others drop C{.html}, nested C{index.html} is
        the folder's path with a slash.
        """
        self.assertEqual(routeForTemplate("index.html"), "/")
        self.assertEqual(routeForTemplate("about.html"), "/about")
        self.assertEqual(routeForTemplate("blog/index.html"), "/blog/")
        self.assertEqual(routeForTemplate("blog/post.html"), "/blog/post")

    def test_neverServed(self) -> None:
        """
        Layouts and partials (C{_} prefix on any segment), hidden files,
        non-HTML templates and C{404.html} are not served.
        """
        for name in [
            "_layout.html",
            "partials/_nav.html",
            "_partials/nav.html",
            ".hidden.html",
            "drafts/.x.html",
            "feed.xml",
            "notes.txt",
            "404.html",
        ]:
            self.assertIsNone(routeForTemplate(name), name)


class StaticURLTests(SynchronousTestCase):
    """
    The C{static_url()} template helper.
    """

    def setUp(self) -> None:
        self.site = makeSite(
            Path(self.mktemp()), {}, {"css/app.css": b"", "img/a b.svg": b""}
        )
        self.staticURL = staticURLFactory(str(self.site / "static"))

    def test_existingFile(self) -> None:
        """
        A file in the static folder gets its C{/static/} URL, percent-encoded.
        """
        self.assertEqual(self.staticURL("css/app.css"), "/static/css/app.css")
        self.assertEqual(self.staticURL("/css/app.css"), "/static/css/app.css")
        self.assertEqual(self.staticURL("img/a b.svg"), "/static/img/a%20b.svg")

    def test_missingFile(self) -> None:
        """
        Naming a file that does not exist is an error at start-up.
        """
        self.assertRaises(ConfigError, self.staticURL, "css/typo.css")

    def test_noEscape(self) -> None:
        """
        C{..} cannot climb out of the static folder.
        """
        self.assertRaises(ConfigError, self.staticURL, "../templates/index.html")


class RenderTests(SynchronousTestCase):
    """
    L{renderPages} renders every served template once.
    """

    def render(self, templates: dict[str, str]) -> tuple[dict, object]:  # type: ignore[type-arg]
        site = makeSite(Path(self.mktemp()), templates, {"app.css": b"a{}"})
        return renderPages(
            str(site / "templates"), staticURLFactory(str(site / "static"))
        )

    def test_pagesAndLinks(self) -> None:
        """
        Each page is rendered with C{page_url} and C{static_url}, HTML is
        autoescaped, and the page's assets become C{Link} values.
        """
        pages, notFound = self.render(
            {
                "_layout.html": (
                    '<link rel="stylesheet" href="{{ static_url(\'app.css\') }}">'
                    "{% block body %}{% endblock %}"
                ),
                "index.html": (
                    '{% extends "_layout.html" %}{% block body %}'
                    "{{ page_url }} {{ '<b>' }}{% endblock %}"
                ),
                "about.html": '{% extends "_layout.html" %}',
            }
        )
        self.assertEqual(sorted(pages), ["/", "/about"])
        self.assertEqual(
            pages["/"].body,
            b'<link rel="stylesheet" href="/static/app.css">/ &lt;b&gt;',
        )
        self.assertEqual(
            pages["/"].links, ("</static/app.css>; rel=preload; as=style",)
        )
        self.assertIsNone(notFound)

    def test_notFoundPage(self) -> None:
        """
        C{404.html} is rendered (with C{page_url} C{/404}) but not routed.
        """
        pages, notFound = self.render({"index.html": "i", "404.html": "{{ page_url }}"})
        self.assertEqual(list(pages), ["/"])
        self.assertEqual(notFound.body, b"/404")  # type: ignore[attr-defined]

    def test_missingAsset(self) -> None:
        """
        A template naming a missing static file fails with its name.
        """
        with self.assertRaises(ConfigError) as caught:
            self.render({"index.html": "{{ static_url('nope.css') }}"})
        self.assertIn("template 'index.html'", str(caught.exception))
        self.assertIn("static_url('nope.css')", str(caught.exception))

    def test_errorInInclude(self) -> None:
        """
        A syntax error in an included partial names the partial.
        """
        with self.assertRaises(ConfigError) as caught:
            self.render(
                {"index.html": '{% include "_p.html" %}', "_p.html": "\n\n{% for %}"}
            )
        self.assertIn("template '_p.html' line 3", str(caught.exception))
