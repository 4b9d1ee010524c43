"""
Tests for the one line L{h2site.sites.templates} gives for a template that
cannot be read or rendered: it names the template at fault (the layout, not
the page extending it) and its line.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from h2site.sites.templates import TemplateProblem, renderPages, staticURLFactory
from tests.helpers import makeSite, readsEverything

#: A layout, and pages that extend it.
LAYOUT = "<title>{{ title }}</title>\n{% block body %}{% endblock %}\n"
PAGE = '{% extends "_layout.html" %}\n{% block body %}hi{% endblock %}\n'


class TemplateProblemTests(SynchronousTestCase):
    """
    Each problem is one L{TemplateProblem} (a C{ConfigError}) whose line
    says where, and whose attributes say it again for an error page.
    """

    def setUp(self) -> None:
        self.site = makeSite(Path(self.mktemp()), {}, {"app.css": b"a{}"})
        self.templates = self.site / "templates"
        self.templates.mkdir()

    def write(self, files: dict[str, str | bytes]) -> None:
        for name, text in files.items():
            path = self.templates / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(text, str):
                text = text.encode("utf-8")
            path.write_bytes(text)

    def problem(self, files: dict[str, str | bytes] | None = None) -> TemplateProblem:
        self.write(files or {})
        with self.assertRaises(TemplateProblem) as caught:
            renderPages(
                str(self.templates), staticURLFactory(str(self.site / "static"))
            )
        problem: TemplateProblem = caught.exception
        self.assertNotIn("\n", str(problem))
        return problem

    def test_undefinedInLayout(self) -> None:
        """
        An undefined name in a layout names the layout and its line, and
        the page being rendered.
        """
        e = self.problem(
            {
                "_layout.html": "<p>\n" + LAYOUT + "{{ footer }}\n",
                "index.html": '{% set title = "x" %}' + PAGE,
            }
        )
        self.assertEqual(
            str(e),
            "template '_layout.html' line 4: 'footer' is undefined "
            "(rendering 'index.html')",
        )
        self.assertEqual(
            (e.template, e.line, e.page, e.problem),
            ("_layout.html", 4, "index.html", "'footer' is undefined"),
        )

    def test_undefinedInPage(self) -> None:
        """
        In the page itself, the page is named once, with its line.
        """
        e = self.problem({"index.html": "<p>\n{{ tilte }}"})
        self.assertEqual(str(e), "template 'index.html' line 2: 'tilte' is undefined")
        self.assertIsNone(e.page)

    def test_unknownFilterInLayout(self) -> None:
        """
        A filter that does not exist, in a layout, names the layout.
        """
        e = self.problem(
            {
                "_layout.html": LAYOUT.replace("{{ title }}", "{{ title | shout }}"),
                "index.html": '{% set title = "x" %}' + PAGE,
            }
        )
        self.assertEqual(
            str(e),
            "template '_layout.html' line 1: No filter named 'shout'. "
            "(rendering 'index.html')",
        )

    def test_undefinedInPartial(self) -> None:
        """
        An included partial is named, at its line.
        """
        e = self.problem(
            {
                "_nav.html": "\n\n{{ menu.items }}",
                "index.html": '{% include "_nav.html" %}',
            }
        )
        self.assertEqual(
            str(e),
            "template '_nav.html' line 3: 'menu' is undefined (rendering 'index.html')",
        )

    def test_missingLayout(self) -> None:
        """
        Extending a template that is not there names the page, its line,
        and what it names.
        """
        e = self.problem({"index.html": "\n" + PAGE.replace("_layout", "_base")})
        self.assertEqual(
            str(e),
            "template 'index.html' line 2: names '_base.html', which is not in "
            "the templates folder",
        )

    def test_runtimeError(self) -> None:
        """
        An error of template code beyond Jinja's own is one line too, with
        its kind.
        """
        e = self.problem({"index.html": "{% set n = 0 %}\n{{ 1 / n }}"})
        self.assertEqual(
            str(e),
            "template 'index.html' line 2: ZeroDivisionError: division by zero",
        )

    def test_notUTF8(self) -> None:
        """
        A template (a layout too) that is not UTF-8 is named, with the line
        of the first bad byte.
        """
        e = self.problem(
            {"_layout.html": b"<p>\n\n caf\xe9 " + LAYOUT.encode(), "index.html": PAGE}
        )
        self.assertEqual(
            str(e),
            "template '_layout.html' line 3: not UTF-8 text (invalid continuation "
            "byte); save it as UTF-8 (rendering 'index.html')",
        )

    def test_brokenSymlink(self) -> None:
        """
        A page that is a broken symlink is said to be one, not "not found".
        """
        self.write({"index.html": "ok"})
        (self.templates / "about.html").symlink_to(self.templates / "gone.html")
        e = self.problem()
        self.assertEqual(
            str(e),
            "template 'about.html': a broken symlink, not a file; fix or remove it",
        )

    def test_fifo(self) -> None:
        """
        A FIFO or socket where a page should be is named, and never opened
        (which would block until something wrote to it).
        """
        os.mkfifo(self.templates / "about.html")
        self.assertEqual(
            str(self.problem()),
            "template 'about.html': a FIFO, not a file; fix or remove it",
        )
        os.remove(self.templates / "about.html")
        sock = socket.socket(socket.AF_UNIX)
        self.addCleanup(sock.close)
        sock.bind(str(self.templates / "about.html"))
        self.assertIn("'about.html': a socket, not a file", str(self.problem()))

    def test_unreadable(self) -> None:
        """
        A template this user cannot read is one line saying so.
        """
        if readsEverything(self.templates):
            raise self.skipTest(
                "this process reads every file (root); "
                "tests.integration.test_bad_input runs h2site without that"
            )
        self.write({"index.html": "x"})
        (self.templates / "index.html").chmod(0)
        self.assertEqual(
            str(self.problem()),
            "template 'index.html': not readable by this user; fix its permissions",
        )
