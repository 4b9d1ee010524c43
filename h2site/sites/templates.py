# -*- test-case-name: tests.unit.sites.test_templates,tests.unit.sites.test_errors -*-
"""
Render the site's Jinja2 templates, once, at start-up.

A static site's pages do not depend on the request, so every page is rendered
when the server starts.  That makes a template typo (an undefined name under
C{StrictUndefined}, a syntax error, a C{static_url} naming a missing file) stop
the server at start-up with the template's name and line, instead of failing
one visitor at request time; and it leaves nothing to do per request but send
bytes that are already there.
"""

from __future__ import annotations

import os
import posixpath
import stat
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

import jinja2

from h2site.errors import ConfigError
from h2site.refs.html import findAssets
from h2site.refs.links import linkHeaderValues

__all__ = [
    "NOT_FOUND_TEMPLATE",
    "FindLinks",
    "OnError",
    "RenderedPage",
    "StaticURL",
    "TemplateProblem",
    "pageLinks",
    "renderPages",
    "routeForTemplate",
    "staticURLFactory",
]

NOT_FOUND_TEMPLATE = "404.html"

StaticURL = Callable[[str], str]

#: Given a rendered page's HTML and URL, the C{Link} header values to send
#: with it.
FindLinks = Callable[[str, str], Sequence[str]]


def pageLinks(html: str, url: str) -> Sequence[str]:
    """
    The page's own assets only, for callers with no asset graph.
    """
    return linkHeaderValues(findAssets(html, url))


@dataclass(frozen=True)
class RenderedPage:
    """
    A page ready to send.

    @ivar url: the path it is served at (C{/}, C{/about}).
    @ivar template: the template it was rendered from.
    @ivar body: the UTF-8 HTML.
    @ivar links: C{Link} header values for the assets the page needs.
    @ivar error: why the template could not be rendered, when this is the
        page standing in for it (C{--dev}, see L{OnError}); else L{None}.
    """

    url: str
    template: str
    body: bytes
    links: tuple[str, ...]
    error: str | None = None


#: Given a page's URL, its template and the error that stopped it from
#: rendering, the page to serve instead (development mode shows the error
#: where the page would be, rather than refusing the whole site).
OnError = Callable[[str, str, ConfigError], RenderedPage]


def routeForTemplate(name: str) -> str | None:
    """
    The URL path a template is served at, or L{None} if it is not served.

    C{index.html} is C{/}, C{about.html} is C{/about}, C{blog/index.html} is
    C{/blog/}, C{blog/post.html} is C{/blog/post}.  Templates with any path
    segment starting with C{_} (layouts, partials) or C{.}, templates that
    are not C{.html}, and C{404.html} (which answers for missing pages) are
    never served.
    """
    if not name.endswith(".html") or name == NOT_FOUND_TEMPLATE:
        return None
    segments = name.split("/")
    if any(not s or s[0] in "_." for s in segments):
        return None
    stem = name[: -len(".html")]
    if stem == "index":
        return "/"
    if stem.endswith("/index"):
        return "/" + stem[: -len("index")]
    return "/" + stem


def staticURLFactory(
    staticDir: str | None,
    prefix: str = "/static/",
    version: Callable[[str], str | None] | None = None,
) -> StaticURL:
    """
    Build the C{static_url()} template helper.

    It checks that the file exists, so a template that names a missing asset
    stops the server at start-up rather than serving a broken page.

    With C{version} (the file store's fingerprint of a file), the URL is
    fingerprinted: C{static_url('css/app.css')} gives
    C{/static/css/app.css?v=HASH}.  A query, not a hashed file name, so that
    relative C{url()} and C{import} references inside CSS and JavaScript
    still resolve; see L{h2site.web.static} for the caching this earns.
    """

    def staticURL(path: str) -> str:
        clean = posixpath.normpath("/" + path).lstrip("/")
        if staticDir is None or not os.path.isfile(os.path.join(staticDir, clean)):
            raise ConfigError(
                f"static_url({path!r}) names a file that is not in the site's "
                f"static folder"
            )
        url = prefix + quote(clean)
        fingerprint = version(clean) if version is not None else None
        if fingerprint is not None:
            url += "?v=" + fingerprint
        return url

    return staticURL


class TemplateProblem(ConfigError):
    """
    A template that cannot be read or rendered, said in one line naming
    the template where the problem is (the layout, for a name undefined in
    a layout a page extends) and its line when known.

    @ivar template: the template at fault, as named below C{templates/}.
    @ivar line: its line, or L{None}.
    @ivar problem: what is wrong, without the place.
    @ivar page: the page whose rendering found it, if another template.
    """

    def __init__(
        self, template: str, line: int | None, problem: str, page: str | None = None
    ) -> None:
        where = f"template {template!r}" + (f" line {line}" if line else "")
        rendering = f" (rendering {page!r})" if page and page != template else ""
        super().__init__(f"{where}: {problem}{rendering}")
        self.template, self.line, self.problem = template, line, problem
        self.page = page if page != template else None


def _kindOf(path: str) -> str:
    """
    What a path that is not a regular file is, for a message.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return "a broken symlink" if os.path.islink(path) else "missing"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"


class _Loader(jinja2.FileSystemLoader):
    """
    Jinja's loader, with a file it cannot read (permissions, not UTF-8, a
    broken symlink) reported as a L{TemplateProblem} naming it, not as a
    traceback or a "not found" for a file that is there.
    """

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        path = os.path.join(self.searchpath[0], *template.split("/"))
        try:
            return super().get_source(environment, template)
        except jinja2.TemplateNotFound:
            if not os.path.lexists(path):
                raise
            raise TemplateProblem(
                template, None, f"{_kindOf(path)}, not a file; fix or remove it"
            ) from None
        except PermissionError:
            raise TemplateProblem(
                template, None, "not readable by this user; fix its permissions"
            ) from None
        except OSError as e:
            raise TemplateProblem(
                template, None, f"cannot be read ({e.strerror})"
            ) from None
        except UnicodeDecodeError as e:
            raise TemplateProblem(
                template,
                _badLine(path),
                f"not UTF-8 text ({e.reason}); save it as UTF-8",
            ) from None


def _badLine(path: str) -> int | None:
    """
    The line of the first bytes of a file that are not UTF-8.
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        return data.count(b"\n", 0, e.start) + 1
    except OSError:
        pass
    return None


def _environment(templatesDir: str, staticURL: StaticURL) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=_Loader(templatesDir),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals["static_url"] = staticURL
    return env


def _where(
    error: BaseException, env: jinja2.Environment, name: str
) -> tuple[str, int | None]:
    """
    The template and line where a rendering error was raised: the innermost
    frame of template code (Jinja gives each the template's file name and
    line), so that an error in a layout names the layout, not the page
    that extends it.
    """
    loader = env.loader
    assert isinstance(loader, jinja2.FileSystemLoader)
    root = os.path.normpath(loader.searchpath[0]) + os.sep
    where: tuple[str, int | None] = (name, None)
    for frame, line in traceback.walk_tb(error.__traceback__):
        filename = os.path.normpath(frame.f_code.co_filename)
        if filename.startswith(root):
            where = (filename[len(root) :].replace(os.sep, "/"), line)
    return where


#: What template code can raise while rendering, beyond Jinja's own
#: errors: C{{{ 1 / 0 }}}, C{{{ x[5] }}}, C{{{ "a" + 1 }}}.
_RENDERING_ERRORS = (
    jinja2.TemplateError,
    ConfigError,
    ArithmeticError,
    LookupError,
    TypeError,
    ValueError,
)


def _render(
    env: jinja2.Environment, name: str, url: str, findLinks: FindLinks
) -> RenderedPage:
    try:
        html = env.get_template(name).render(page_url=url)
    except TemplateProblem as e:
        # From the loader, which does not know the page.
        raise TemplateProblem(e.template, e.line, e.problem, name) from None
    except jinja2.TemplateSyntaxError as e:
        problem = e.message or str(e)
        raise TemplateProblem(e.name or name, e.lineno, problem, name) from None
    except jinja2.TemplateNotFound as e:
        template, line = _where(e, env, name)
        raise TemplateProblem(
            template,
            line,
            f"names {e.name!r}, which is not in the templates folder",
            name,
        ) from None
    except _RENDERING_ERRORS as e:
        template, line = _where(e, env, name)
        problem = str(e)
        if not isinstance(e, jinja2.TemplateError | ConfigError):
            problem = f"{type(e).__name__}: {problem}"
        raise TemplateProblem(template, line, problem, name) from None
    return RenderedPage(
        url=url,
        template=name,
        body=html.encode("utf-8"),
        links=tuple(findLinks(html, url)),
    )


def renderPages(
    templatesDir: str,
    staticURL: StaticURL,
    findLinks: FindLinks = pageLinks,
    onError: OnError | None = None,
) -> tuple[dict[str, RenderedPage], RenderedPage | None]:
    """
    Render every served template, and the not-found page if there is one.

    @param findLinks: works out each page's C{Link} header values once, here,
        so that serving a page costs no discovery.
    @param onError: makes the page served in place of one that fails to
        render; with none, the first failure is raised.

    @return: the pages by URL path, and the rendered C{404.html} or L{None}.
    @raise ConfigError: naming the template (and line) that failed.
    """
    env = _environment(templatesDir, staticURL)

    def render(name: str, url: str) -> RenderedPage:
        try:
            return _render(env, name, url, findLinks)
        except ConfigError as e:
            if onError is None:
                raise
            return onError(url, name, e)

    pages: dict[str, RenderedPage] = {}
    for name in sorted(env.list_templates()):
        url = routeForTemplate(name)
        if url is not None:
            pages[url] = render(name, url)
    notFound = None
    if os.path.isfile(os.path.join(templatesDir, NOT_FOUND_TEMPLATE)):
        notFound = render(NOT_FOUND_TEMPLATE, "/404")
    return pages, notFound
