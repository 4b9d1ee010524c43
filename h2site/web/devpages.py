# -*- test-case-name: tests.unit.web.test_devpages -*-
"""
The pages of development mode (C{--dev}): every HTML page sent with the
live-reload script (L{h2site.web.livereload}) added, uncompressed; and, in
place of a page whose template fails to render, an error page that names
the template, the line and the message, and reloads by itself once the
template is fixed.

The script is a file of its own (C{/.h2site/live.js}), named by a C{<script
src>} added before C{</body>}: an inline script would be refused by a
C{--csp} without C{'unsafe-inline'}, while the site's own origin is allowed
by any policy that lets the site run scripts at all.  The tag carries the
build the page comes from, so a page that was served just before a change
(or by a server since restarted) is told to reload the moment it connects.

Nothing here is compressed: on loopback compression saves nothing, and at
brotli's best setting a page costs tens of milliseconds per build, the
time a change has to show.
"""

from __future__ import annotations

import html
import os
import re
import traceback
from collections.abc import Sequence
from typing import Any

from twisted.internet.interfaces import IReactorTime
from twisted.web import resource
from twisted.web.server import Request

from h2site.errors import ConfigError
from h2site.files.representation import Representation, representationFromBytes
from h2site.files.store import StoredFile
from h2site.preload.graph import Scans
from h2site.preload.pages import PageLinks
from h2site.sites.templates import RenderedPage
from h2site.web.delivery import respond
from h2site.web.static import REVALIDATE

__all__ = [
    "EVENTS_PATH",
    "RESERVED",
    "SCRIPT_PATH",
    "DevPages",
    "SiteErrorResource",
    "errorPageBody",
    "injectScript",
    "leaveUncompressed",
    "scriptTag",
    "templateLocation",
]

#: The first path segment development mode keeps for itself; a site's own
#: files there are not served in development mode (dot-names never are).
RESERVED = b".h2site"

#: Where the live-reload script is served.
SCRIPT_PATH = "/.h2site/live.js"

#: Where the script listens for changes (server-sent events).
EVENTS_PATH = "/.h2site/events"

_HTML = "text/html; charset=utf-8"

_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)
_COMMENT_START = b"<!--"
_COMMENT_END = b"-->"


def leaveUncompressed(coding: str, data: bytes, digest: str) -> bytes:
    """
    A compressor that does not compress: no coding comes out smaller, so
    none is offered.
    """
    return data


def scriptTag(build: str) -> bytes:
    """
    The tag that loads the live-reload script into a page of C{build}.

    @param build: the build's token, letters, digits and C{-} only.
    """
    return b'<script src="%s" data-build="%s"></script>' % (
        SCRIPT_PATH.encode("ascii"),
        html.escape(build).encode("ascii"),
    )


def injectScript(page: bytes, tag: bytes) -> bytes:
    """
    C{page} with C{tag} added just before its last C{</body>} that is not
    inside a comment, or at its end when it has none (C{</body>} is
    optional; a script after the end of the document still runs).
    """
    matches = list(_BODY_END.finditer(page))
    for match in reversed(matches):
        at = match.start()
        opened = page.rfind(_COMMENT_START, 0, at)
        if opened != -1 and page.rfind(_COMMENT_END, opened, at) == -1:
            continue
        return page[:at] + tag + page[at:]
    return page + tag


def templateLocation(error: BaseException, templatesDir: str) -> tuple[str, int] | None:
    """
    The template (relative to C{templatesDir}) and line an error of
    rendering comes from: as the error says it (C{template} and C{line}),
    else the innermost template frame, so an undefined name in a layout is
    placed in the layout, not in the page that extends it.  Jinja2 gives
    its errors tracebacks whose frames are template lines; the
    L{ConfigError} that reports one keeps it as its context.

    @return: L{None} if no frame of the error is in a template.
    """
    root = os.path.normpath(templatesDir) + os.sep
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        # What h2site.sites.templates says it found (TemplateProblem).
        template: Any = getattr(cause, "template", None)
        line: Any = getattr(cause, "line", None)
        if isinstance(template, str) and isinstance(line, int):
            return template, line
        filename: Any = getattr(cause, "filename", None)
        lineno: Any = getattr(cause, "lineno", None)
        if isinstance(filename, str) and isinstance(lineno, int):
            path = os.path.normpath(filename)
            if path.startswith(root):
                return path[len(root) :], lineno
        for frame in reversed(traceback.extract_tb(cause.__traceback__)):
            path = os.path.normpath(frame.filename)
            if path.startswith(root) and frame.lineno is not None:
                return path[len(root) :], frame.lineno
        cause = cause.__cause__ or cause.__context__
    return None


def _sourceLines(path: str, line: int, around: int = 3) -> list[tuple[int, str]]:
    """
    The lines of a file around C{line}, numbered; none if it cannot be read.
    """
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    first = max(1, line - around)
    return [(n, lines[n - 1]) for n in range(first, min(len(lines), line + around) + 1)]


def errorPageBody(
    title: str,
    message: str,
    where: str | None = None,
    source: Sequence[tuple[int, str]] = (),
    line: int | None = None,
) -> bytes:
    """
    The HTML of a development error page: what failed, where, the source
    lines around it (the failing one marked), all escaped.
    """
    e = html.escape
    parts = [
        "<!doctype html>\n<html lang=en>\n<head><meta charset=utf-8>",
        f"<title>{e(title)}</title>",
        "<style>body{font:16px/1.5 system-ui,sans-serif;margin:2rem;"
        "max-width:60rem}pre{background:#f4f4f4;color:#222;padding:1rem;"
        "overflow:auto}mark{background:#fdd;color:#000;display:block}</style>",
        "</head>\n<body>",
        f"<h1>{e(title)}</h1>",
    ]
    if where is not None:
        parts.append(f"<p><strong>{e(where)}</strong></p>")
    parts.append(f"<pre class=message>{e(message)}</pre>")
    if source:
        rows = []
        for number, text in source:
            row = f"{number:5d}  {e(text)}"
            rows.append(f"<mark>{row}</mark>" if number == line else row + "\n")
        parts.append("<pre class=source>" + "".join(rows) + "</pre>")
    parts.append(
        "<p>h2site --dev: save a fix and this page reloads by itself.</p>\n"
        "</body>\n</html>\n"
    )
    return "\n".join(parts).encode("utf-8")


def _summary(error: ConfigError) -> str:
    """
    An error of rendering as the log says it: once for all the pages it
    stops (a layout's error is every page's), so without the page.
    """
    template: Any = getattr(error, "template", None)
    line: Any = getattr(error, "line", None)
    problem: Any = getattr(error, "problem", None)
    if not isinstance(template, str) or not isinstance(problem, str):
        return str(error)
    where = f"template {template!r}" + (f" line {line}" if line else "")
    return f"{where}: {problem}"


class DevPages:
    """
    What one build of a site sends in development mode: its pages with the
    script added, and its error pages.  Made by
    L{h2site.web.livereload.LiveReload.begin} for each build.

    @ivar build: the build's token, which its pages carry.
    @ivar errors: the message of every page that failed to render, in
        order, for the log.
    """

    def __init__(
        self,
        build: str,
        templatesDir: str | None = None,
        scans: Scans | None = None,
        pageLinks: PageLinks | None = None,
    ) -> None:
        """
        @param templatesDir: a template site's C{templates/}, to place
            errors in it.
        @param scans: what discovery found in fingerprinted files, kept
            from build to build (L{h2site.preload.graph.AssetGraph}).
        @param pageLinks: the links of a folder's pages, kept from build to
            build (L{h2site.preload.pages.pageHints}).
        """
        self.build = build
        self.scans = scans
        self.pageLinks = pageLinks
        self.errors: list[str] = []
        self._tag = scriptTag(build)
        self._templatesDir = templatesDir
        self._stored: dict[tuple[str, str], Representation] = {}

    def page(self, body: bytes, contentType: str = _HTML) -> Representation:
        """
        A page's representation: the script added, uncompressed.
        """
        return representationFromBytes(
            injectScript(body, self._tag),
            contentType,
            None,
            compressor=leaveUncompressed,
        )

    def storedPage(self, stored: StoredFile) -> Representation:
        """
        The representation of an HTML file of the store, with the script
        added: made once per version of the file (on the reactor thread,
        when the file is first requested).
        """
        key = (stored.name, stored.digest)
        rep = self._stored.get(key)
        if rep is None:
            original = stored.representation
            body = original.identity
            if body.data is not None:
                data = body.data
            else:
                # The file sent (a page too large for memory).
                with open(body.path or stored.realPath, "rb") as f:
                    data = f.read()
            rep = representationFromBytes(
                injectScript(data, self._tag),
                original.contentType,
                original.lastModified,
                compressor=leaveUncompressed,
            )
            self._stored[key] = rep
        return rep

    def errorPage(self, url: str, template: str, error: ConfigError) -> RenderedPage:
        """
        The page served at C{url} in place of C{template}, which failed to
        render with C{error} (see L{h2site.sites.templates.OnError}).
        """
        message = str(error)
        location = None
        if self._templatesDir is not None:
            location = templateLocation(error, self._templatesDir)
        where, source, line = f"templates/{template}", [], None
        if location is not None and self._templatesDir is not None:
            name, line = location
            where = f"templates/{name}, line {line}"
            source = _sourceLines(os.path.join(self._templatesDir, name), line)
            if f"line {line}" not in message:
                message = f"{message} (templates/{name}, line {line})"
        self.errors.append(_summary(error))
        body = errorPageBody(
            f"{url}: the template failed", message, where, source, line
        )
        return RenderedPage(
            url=url, template=template, body=body, links=(), error=message
        )

    def siteError(self, message: str, clock: IReactorTime) -> SiteErrorResource:
        """
        What answers every URL when the site cannot be built at all (a
        check of the folder failed).
        """
        self.errors.append(message)
        body = errorPageBody("The site cannot be served", message)
        return SiteErrorResource(self.page(body), clock)


class SiteErrorResource(resource.Resource):
    """
    An error page (status 500, C{no-cache}) for every URL below it.
    """

    isLeaf = True

    def __init__(self, page: Representation, clock: IReactorTime) -> None:
        super().__init__()
        self._page = page
        self._clock = clock

    def render_GET(self, request: Request) -> int:
        return respond(request, self._page, REVALIDATE, self._clock, (), 500)

    render_HEAD = render_GET
