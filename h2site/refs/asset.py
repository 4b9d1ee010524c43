# -*- test-case-name: tests.unit.refs.test_html -*-
"""
What the reference finders report: one asset a page, stylesheet or module
needs, as a C{Link} preload would announce it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Asset"]


@dataclass(frozen=True)
class Asset:
    """
    One resource a page will fetch, described the way a C{Link} header
    announces it, so the browser can start fetching it before it has parsed
    the page.

    @ivar url: The URL exactly as the browser will request it: an absolute
        path plus query (e.g. C{"/static/css/app.css?v=1"}), never a fragment.
    @ivar rel: C{"preload"} or C{"modulepreload"}.
    @ivar as_: The request destination (C{"style"}, C{"script"}, C{"font"},
        C{"image"}, ...) for C{rel="preload"}; L{None} for modulepreload.
    @ivar type: MIME type hint, so the browser can skip formats it cannot use.
    @ivar crossorigin: L{None}, C{"anonymous"} or C{"use-credentials"}; it must
        match the page's own request or the preloaded response is not reused.
    @ivar media: Media query limiting when the asset is needed, if any.
    @ivar fetchpriority: C{"high"} or C{"low"} when the page asks for that
        priority, so the early fetch gets it too.
    """

    url: str
    rel: str
    as_: str | None
    type: str | None = None
    crossorigin: str | None = None
    media: str | None = None
    fetchpriority: str | None = None
