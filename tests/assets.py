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


def style(url: str, **kwargs: str) -> Asset:
    """
    The asset a stylesheet at C{url} gives.
    """
    return Asset(url, "preload", "style", **kwargs)


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
