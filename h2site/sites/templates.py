# -*- test-case-name: tests.unit.sites.test_templates -*-
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
    "RenderedPage",
    "StaticURL",
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
    """

    url: str
    template: str
    body: bytes
    links: tuple[str, ...]


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


def _environment(templatesDir: str, staticURL: StaticURL) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templatesDir),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals["static_url"] = staticURL
    return env


def _render(
    env: jinja2.Environment, name: str, url: str, findLinks: FindLinks
) -> RenderedPage:
    try:
        html = env.get_template(name).render(page_url=url)
    except jinja2.TemplateSyntaxError as e:
        raise ConfigError(
            f"template {e.name or name!r} line {e.lineno}: {e.message}"
        ) from None
    except jinja2.TemplateError as e:
        raise ConfigError(f"template {name!r}: {e}") from None
    except ConfigError as e:
        raise ConfigError(f"template {name!r}: {e}") from None
    return RenderedPage(
        url=url,
        template=name,
        body=html.encode("utf-8"),
        links=tuple(findLinks(html, url)),
    )


def renderPages(
    templatesDir: str, staticURL: StaticURL, findLinks: FindLinks = pageLinks
) -> tuple[dict[str, RenderedPage], RenderedPage | None]:
    """
    Render every served template, and the not-found page if there is one.

    @param findLinks: works out each page's C{Link} header values once, here,
        so that serving a page costs no discovery.

    @return: the pages by URL path, and the rendered C{404.html} or L{None}.
    @raise ConfigError: naming the template (and line) that failed.
    """
    env = _environment(templatesDir, staticURL)
    pages: dict[str, RenderedPage] = {}
    for name in sorted(env.list_templates()):
        url = routeForTemplate(name)
        if url is not None:
            pages[url] = _render(env, name, url, findLinks)
    notFound = None
    if os.path.isfile(os.path.join(templatesDir, NOT_FOUND_TEMPLATE)):
        notFound = _render(env, NOT_FOUND_TEMPLATE, "/404", findLinks)
    return pages, notFound
