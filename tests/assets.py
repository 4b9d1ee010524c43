"""
Builders of the assets the reference finders report, shared by the tests
of L{h2site.refs}.
"""

from __future__ import annotations

from h2site.refs.asset import Asset
from h2site.refs.html import findAssets


def urls(html: str, pageURL: str = "/") -> list[str]:
    """
    The URLs L{findAssets} finds, in order.
    """
    return [asset.url for asset in findAssets(html, pageURL)]


def style(url: str, media: str | None = None, **kwargs: str) -> Asset:
    """
    The asset a stylesheet at C{url} gives.
    """
    return Asset(url, "preload", "style", media=media, **kwargs)


def script(url: str, **kwargs: str) -> Asset:
    """
    The asset a classic script at C{url} gives.
    """
    return Asset(url, "preload", "script", **kwargs)


def module(url: str, **kwargs: str) -> Asset:
    """
    The asset a module script at C{url} gives.
    """
    return Asset(url, "modulepreload", None, **kwargs)


def image(url: str, media: str | None = None, **kwargs: str) -> Asset:
    """
    The asset an image at C{url} gives.
    """
    return Asset(url, "preload", "image", media=media, **kwargs)


def font(url: str, type: str | None = "font/woff2", media: str | None = None) -> Asset:
    """
    The asset a font at C{url} gives: always fetched in CORS mode.
    """
    return Asset(url, "preload", "font", type, "anonymous", media)
