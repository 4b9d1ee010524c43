"""
Tests for L{h2site.web.devpages}: the script added to pages, and the error
pages of development mode.
"""

from __future__ import annotations

import os
from pathlib import Path

import jinja2
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.test.requesthelper import DummyRequest

from h2site.errors import ConfigError
from h2site.files.index import MemoryLimits, indexFile
from h2site.semantics.negotiation import IDENTITY
from h2site.sites.templates import renderPages, staticURLFactory
from h2site.web.devpages import (
    DevPages,
    errorPageBody,
    injectScript,
    scriptTag,
    templateLocation,
)

TAG = b'<script src="/x.js"></script>'

EXTENDS = '{% extends "_layout.html" %}'


class InjectScriptTests(SynchronousTestCase):
    """
    L{injectScript} puts the tag before the end of the body.
    """

    def test_beforeBodyEnd(self) -> None:
        """
        The tag goes just before C{</body>}.
        """
        self.assertEqual(
            injectScript(b"<p>hi</body></html>", TAG),
            b"<p>hi" + TAG + b"</body></html>",
        )

    def test_anyCase(self) -> None:
        """
        C{</BODY>} and C{</body >} are the end of the body too.
        """
        self.assertEqual(
            injectScript(b"<p>hi</BODY>", TAG), b"<p>hi" + TAG + b"</BODY>"
        )
        self.assertEqual(
            injectScript(b"<p>hi</Body >", TAG), b"<p>hi" + TAG + b"</Body >"
        )

    def test_noBodyEnd(self) -> None:
        """
        Without C{</body>} (it is optional), the tag goes at the end.
        """
        self.assertEqual(
            injectScript(b"<!doctype html><p>hi", TAG), b"<!doctype html><p>hi" + TAG
        )
        self.assertEqual(injectScript(b"", TAG), TAG)

    def test_lastBodyEnd(self) -> None:
        """
        With several (one in a script's text), the last one counts.
        """
        page = b'<script>s = "</body>"</script><p>x</body>'
        self.assertEqual(
            injectScript(page, TAG),
            b'<script>s = "</body>"</script><p>x' + TAG + b"</body>",
        )

    def test_comment(self) -> None:
        """
        A C{</body>} inside a comment is not the end of the body.
        """
        page = b"<p>x</body><!-- old: </body> -->"
        self.assertEqual(
            injectScript(page, TAG), b"<p>x" + TAG + b"</body><!-- old: </body> -->"
        )
        self.assertEqual(
            injectScript(b"<p>x<!-- </body>", TAG), b"<p>x<!-- </body>" + TAG
        )

    def test_scriptTag(self) -> None:
        """
        The tag names the script and the page's build.
        """
        self.assertEqual(
            scriptTag("ab12-3"),
            b'<script src="/.h2site/live.js" data-build="ab12-3"></script>',
        )


class DevPagesTests(SynchronousTestCase):
    """
    L{DevPages}: pages with the script, uncompressed.
    """

    def test_page(self) -> None:
        """
        A page is sent with the script of its build, in no coding but
        identity, with a validator of those bytes.
        """
        rep = DevPages("b-1").page(b"<p>" + b"hello " * 500 + b"</body>")
        body = rep.identity.data or b""
        self.assertIn(scriptTag("b-1") + b"</body>", body)
        self.assertEqual(rep.codings, ())
        self.assertEqual(set(rep.bodies), {IDENTITY})
        other = DevPages("b-2").page(b"<p>" + b"hello " * 500 + b"</body>")
        self.assertNotEqual(rep.identity.etag, other.identity.etag)

    def test_storedPage(self) -> None:
        """
        An HTML file of the store gets the script too, made once per
        version of the file.
        """
        root = Path(os.path.realpath(self.mktemp()))
        root.mkdir()
        (root / "a.html").write_bytes(b"<p>a</body>")
        stored = indexFile(str(root), "a.html", MemoryLimits(), 1 << 20)
        assert stored is not None
        pages = DevPages("b-1")
        rep = pages.storedPage(stored)
        self.assertEqual(rep.identity.data, b"<p>a" + scriptTag("b-1") + b"</body>")
        self.assertIs(pages.storedPage(stored), rep)
        self.assertEqual(rep.contentType, stored.representation.contentType)

    def test_storedPageOnDisk(self) -> None:
        """
        A page too large for memory is read from its file.
        """
        root = Path(os.path.realpath(self.mktemp()))
        root.mkdir()
        (root / "big.html").write_bytes(b"<p>" + b"x" * 1000)
        stored = indexFile(str(root), "big.html", MemoryLimits(maxFileSize=10), 1 << 20)
        assert stored is not None and stored.representation.identity.data is None
        rep = DevPages("b-1").storedPage(stored)
        self.assertTrue((rep.identity.data or b"").endswith(scriptTag("b-1")))


class ErrorPageTests(SynchronousTestCase):
    """
    The error pages that stand in for a template that fails.
    """

    def setUp(self) -> None:
        self.site = Path(self.mktemp()).absolute()
        self.templates = self.site / "templates"
        self.templates.mkdir(parents=True)

    def render(self, templates: dict[str, str]) -> tuple[DevPages, dict[str, bytes]]:
        for name, text in templates.items():
            (self.templates / name).write_text(text)
        pages = DevPages("b-1", str(self.templates))
        rendered, _ = renderPages(
            str(self.templates), staticURLFactory(None), onError=pages.errorPage
        )
        return pages, {url: page.body for url, page in rendered.items()}

    def test_syntaxError(self) -> None:
        """
        A syntax error gives its page an error page naming the template,
        the line and the message, all escaped, with the source around it,
        and the script; the other pages render.
        """
        pages, bodies = self.render(
            {
                "index.html": "<p>one\n<p>{% if <x> %}\n<p>three",
                "about.html": "<p>about",
            }
        )
        self.assertEqual(bodies["/about"], b"<p>about")
        page = bodies["/"].decode()
        self.assertIn("templates/index.html, line 2", page)
        self.assertIn("&lt;p&gt;{% if &lt;x&gt; %}", page)
        self.assertNotIn("<x>", page)
        self.assertIn("<mark>    2  ", page)
        self.assertEqual(len(pages.errors), 1)
        self.assertIn("index.html", pages.errors[0])

    def test_errorInLayout(self) -> None:
        """
        An undefined name in a layout is placed in the layout, for every
        page that extends it, and the log has it once.
        """
        pages, bodies = self.render(
            {
                "_layout.html": "<main>{% block c %}{% endblock %}</main>\n"
                "<footer>{{ missing_name }}</footer>",
                "index.html": EXTENDS + "{% block c %}i{% endblock %}",
                "about.html": EXTENDS + "{% block c %}a{% endblock %}",
            }
        )
        for url in ["/", "/about"]:
            page = bodies[url].decode()
            self.assertIn("templates/_layout.html, line 2", page)
            self.assertIn("missing_name", page)
        self.assertEqual(len(set(pages.errors)), 1, pages.errors)

    def test_rendered(self) -> None:
        """
        The page standing in carries the error, so it is served with 500.
        """
        (self.templates / "index.html").write_text("{{ nope }}")
        pages = DevPages("b-1", str(self.templates))
        rendered, _ = renderPages(
            str(self.templates), staticURLFactory(None), onError=pages.errorPage
        )
        self.assertIsNotNone(rendered["/"].error)
        self.assertEqual(rendered["/"].links, ())

    def test_templateLocation(self) -> None:
        """
        L{templateLocation} finds the template frame of a Jinja error kept
        as the context of the L{ConfigError} that reports it.
        """
        (self.templates / "a.html").write_text("x\n\n{{ 1 // 0 }}")
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(self.templates)))
        try:
            try:
                env.get_template("a.html").render()
            except ZeroDivisionError:
                raise ConfigError("failed") from None
        except ConfigError as e:
            self.assertEqual(templateLocation(e, str(self.templates)), ("a.html", 3))
        self.assertIsNone(templateLocation(ConfigError("x"), str(self.templates)))

    def test_siteError(self) -> None:
        """
        A site that cannot be built answers every URL with 500 and the
        message, escaped.
        """
        resource = DevPages("b-1").siteError("folder <gone>", Clock())
        request = DummyRequest([b"any", b"path"])
        resource.render(request)
        self.assertEqual(request.responseCode, 500)
        body = b"".join(request.written)
        self.assertIn(b"folder &lt;gone&gt;", body)
        self.assertIn(scriptTag("b-1"), body)

    def test_errorPageBodyEscapes(self) -> None:
        """
        Every part of an error page is escaped.
        """
        body = errorPageBody("<t>", "<m>", "<w>", [(1, "<s>")], 1)
        self.assertNotIn(b"<t>", body)
        self.assertNotIn(b"<m>", body)
        self.assertNotIn(b"<w>", body)
        self.assertNotIn(b"<s>", body)
