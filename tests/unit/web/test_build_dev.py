"""
Tests for L{h2site.web.build.siteBuilder} in development mode: each build
is a L{DevRoot} whose pages carry the live-reload script, uncompressed, with
everything worked out before it returns; a template that fails gives an
error page, a site that fails its checks one for every URL; and builds
after the first log nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from twisted.internet.task import Clock
from twisted.logger import Logger
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import getChildForRequest
from twisted.web.test.requesthelper import DummyRequest

from h2site.errors import ConfigError
from h2site.files import store
from h2site.web import build
from h2site.web.build import SiteSettings, siteBuilder
from h2site.web.devpages import scriptTag
from h2site.web.livereload import DevRoot, LiveReload
from tests.helpers import makeSite
from tests.unit.ops.fakes import LogCapture
from tests.unit.web.test_build import PLAIN, inline, writeFiles


class LaterReactor(Clock):
    """
    A clock whose C{callFromThread} keeps the call for later (L{runLater}):
    what a build leaves to the reactor has not run when it returns.
    """

    def __init__(self) -> None:
        super().__init__()
        self.later: list[Callable[[], object]] = []

    def callFromThread(self, f: Callable[..., object], *args: Any) -> None:
        self.later.append(lambda: f(*args))

    def runLater(self) -> None:
        while self.later:
            self.later.pop(0)()


def get(root: Any, path: str) -> tuple[int, bytes, DummyRequest]:
    """
    Answer a GET for C{path} from C{root}: status, body, request.
    """
    segments = [s.encode() for s in path.lstrip("/").split("/")]
    request = DummyRequest(segments)
    resource = getChildForRequest(root, request)
    result = resource.render(request)
    if isinstance(result, bytes):
        request.write(result)
    return request.responseCode or 200, b"".join(request.written), request


EXTENDS = '{% extends "_layout.html" %}'

TEMPLATES = {
    "_layout.html": "<!doctype html><link rel=stylesheet "
    "href=\"{{ static_url('a.css') }}\"><body>{% block c %}{% endblock %}</body>",
    "index.html": EXTENDS + "{% block c %}<h1>Home</h1>{% endblock %}",
    "about.html": EXTENDS + "{% block c %}<h1>About</h1>{% endblock %}",
}


class DevBuildTests(SynchronousTestCase):
    """
    Builds of development mode.
    """

    def setUp(self) -> None:
        self.log = LogCapture()
        self.patch(build, "_log", Logger(observer=self.log))
        self.patch(store, "_log", Logger(observer=self.log))
        self.reactor = LaterReactor()
        self.live = LiveReload(self.reactor)
        self.check: Callable[[], object] = lambda: None

    def builder(self, site: Path) -> Callable[[], Any]:
        return siteBuilder(
            SiteSettings(str(site), cacheFolder=str(site) + "-cache"),
            self.reactor,
            lambda: self.check(),
            None,
            inline,
            liveReload=self.live,
        )

    def templateSite(self) -> Path:
        return makeSite(
            Path(self.mktemp()).absolute(),
            TEMPLATES,
            {"a.css": b"p { color: red }" * 100},
        )

    def test_templatePages(self) -> None:
        """
        A template site's pages carry the script of their build, before
        C{</body>}, uncompressed, with their C{Link} header.
        """
        root = self.builder(self.templateSite())()
        self.assertIsInstance(root, DevRoot)
        status, body, request = get(root, "/")
        self.assertEqual(status, 200)
        self.assertIn(b"<h1>Home</h1>" + scriptTag(root.build) + b"</body>", body)
        self.assertIsNone(request.responseHeaders.getRawHeaders(b"content-encoding"))
        (link,) = request.responseHeaders.getRawHeaders(b"link") or [b""]
        self.assertIn(b"/static/a.css?v=", link)
        status, body, _ = get(root, "/nowhere")
        self.assertEqual(status, 404)
        self.assertIn(scriptTag(root.build), body)

    def test_rebuild(self) -> None:
        """
        Each build has its own token; a stylesheet edited gives the page a
        new fingerprint in its HTML and its C{Link}; and builds after the
        first log nothing.
        """
        site = self.templateSite()
        builder = self.builder(site)
        first = builder()
        _, before, _ = get(first, "/")
        logged = len(self.log.events)
        (site / "static" / "a.css").write_bytes(b"p { color: blue }")
        second = builder()
        self.assertNotEqual(first.build, second.build)
        _, after, request = get(second, "/")
        (link,) = request.responseHeaders.getRawHeaders(b"link") or [b""]
        old = before.split(b"a.css?v=")[1][:16]
        new = after.split(b"a.css?v=")[1][:16]
        self.assertNotEqual(old, new)
        self.assertIn(b"a.css?v=" + new, link)
        self.reactor.runLater()
        self.assertEqual(self.log.lines()[logged:], [])

    def test_templateError(self) -> None:
        """
        A page whose template fails answers 500 with the error, and the
        script, so it recovers; the other pages are served.
        """
        site = self.templateSite()
        (site / "templates" / "about.html").write_text("{{ nope }}")
        root = self.builder(site)()
        status, body, _ = get(root, "/about")
        self.assertEqual(status, 500)
        self.assertIn(b"templates/about.html, line 1", body)
        self.assertIn(scriptTag(root.build), body)
        self.assertEqual(get(root, "/")[0], 200)
        self.assertEqual(len(root.errors), 1)
        self.assertIn("nope", root.errors[0])

    def test_siteError(self) -> None:
        """
        A site that fails its checks answers every URL with its error.
        """
        site = self.templateSite()

        def refuse() -> None:
            raise ConfigError("site folder is empty")

        self.check = refuse
        root = self.builder(site)()
        for path in ["/", "/static/a.css"]:
            status, body, _ = get(root, path)
            self.assertEqual(status, 500)
            self.assertIn(b"site folder is empty", body)
        self.assertEqual(root.errors, ("site folder is empty",))

    def test_plainPages(self) -> None:
        """
        A plain site's pages carry the script too, and their hints are
        there when the build returns (not left to the reactor).
        """
        site = writeFiles(Path(self.mktemp()).absolute(), PLAIN)
        root = self.builder(site)()
        status, body, request = get(root, "/index.html")
        self.assertEqual(status, 200)
        self.assertTrue(body.endswith(scriptTag(root.build)))
        self.assertIn(b"css/site.css?v=", body)
        (link,) = request.responseHeaders.getRawHeaders(b"link") or [b""]
        self.assertIn(b"/css/site.css?v=", link)
        status, body, _ = get(root, "/gone.html")
        self.assertEqual(status, 404)
        self.assertIn(scriptTag(root.build), body)
