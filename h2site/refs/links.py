# -*- test-case-name: tests.unit.refs.test_links -*-
"""
Formatting RFC 8288 C{Link} header values for assets: always printable
ASCII, so nothing an asset holds can end the header line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from h2site.refs.asset import Asset
from h2site.refs.urls import asciiLower, percentEncode

__all__ = ["TOKEN", "linkHeaderValue", "linkHeaderValues"]

TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _parameter(name: str, value: str, alwaysQuote: bool = False) -> str:
    """
    Format a link-param, as a bare token when possible, otherwise as a quoted
    string in which anything but printable ASCII becomes a space, so no input
    can end the header line or smuggle in another parameter.
    """
    if not alwaysQuote and TOKEN.fullmatch(value):
        return f"{name}={value}"
    printable = "".join(c if " " <= c <= "~" else " " for c in value)
    escaped = printable.replace("\\", "\\\\").replace('"', '\\"')
    return f'{name}="{escaped}"'


def linkHeaderValue(asset: Asset) -> str:
    """
    Format one RFC 8288 C{Link} header value for an asset, e.g.
    C{</static/app.css>; rel=preload; as=style}.

    The result is always printable ASCII, whatever the asset holds, so it can
    go straight into a header (and a 103 Early Hints response).

    @param asset: The asset to announce.
    @return: The header value, parameters in the order rel, as, type,
        crossorigin, media, fetchpriority.
    """
    parts = [f"<{percentEncode(asset.url)}>", _parameter("rel", asset.rel)]
    if asset.as_:
        parts.append(_parameter("as", asset.as_))
    if asset.type:
        parts.append(_parameter("type", asset.type, alwaysQuote=True))
    if asset.crossorigin is not None:
        if asciiLower(asset.crossorigin) == "use-credentials":
            parts.append("crossorigin=use-credentials")
        else:
            parts.append("crossorigin")
    if asset.media:
        parts.append(_parameter("media", asset.media, alwaysQuote=True))
    if asset.fetchpriority:
        parts.append(_parameter("fetchpriority", asset.fetchpriority))
    return "; ".join(parts)


def linkHeaderValues(assets: Iterable[Asset]) -> list[str]:
    """
    Format a C{Link} header value for each asset, in order, one per header
    line, so no client has to split a combined value on commas.

    @param assets: The assets to announce, typically from L{findAssets}.
    @return: One value per asset.
    """
    return [linkHeaderValue(asset) for asset in assets]
