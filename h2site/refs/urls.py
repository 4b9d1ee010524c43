# -*- test-case-name: tests.unit.refs.test_urls -*-
"""
Resolving a reference against the URL of the file it is in, exactly as a
browser does (WHATWG URL), within one made-up origin.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

__all__ = ["C0_AND_SPACE", "asciiLower", "percentEncode", "resolve", "resolveURL"]

# The URL parser strips leading and trailing C0 controls and spaces, and
# drops tabs and newlines wherever they are.
C0_AND_SPACE = "".join(map(chr, range(0x21)))


_REMOVED_FROM_URLS = {ord("\t"): None, ord("\n"): None, ord("\r"): None}


_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


_HOST = "h2site.invalid"


_ORIGIN = "http://" + _HOST


def asciiLower(value: str) -> str:
    """
    Lowercase only ASCII letters, as HTML does for keywords; C{str.lower}
    would also fold characters such as KELVIN SIGN into ASCII.
    """
    return value.translate(_ASCII_LOWER)


def percentEncode(url: str) -> str:
    """
    Percent-encode (as UTF-8) the characters every browser encodes anywhere in
    a path or query: controls, space, C{"}, C{<}, C{>} and non-ASCII.  Encoding
    any more would make our URL differ from the one the page's reference
    parses to, and the preloaded response would not be reused.
    """
    out = []
    for char in url:
        code = ord(char)
        if code <= 0x20 or code >= 0x7F or char in '"<>':
            if 0xD800 <= code <= 0xDFFF:
                char = "\ufffd"
            out.append("".join(f"%{byte:02X}" for byte in char.encode("utf-8")))
        else:
            out.append(char)
    return "".join(out)


def _removeDotSegments(path: str) -> str:
    """
    Resolve C{.} and C{..} segments (including their percent-encoded forms,
    which browsers treat the same) in an absolute path.
    """
    segments = path.split("/")[1:]
    kept: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        lowered = asciiLower(segment)
        if lowered in (".", "%2e"):
            if last:
                kept.append("")
        elif lowered in ("..", ".%2e", "%2e.", "%2e%2e"):
            if kept:
                kept.pop()
            if last:
                kept.append("")
        else:
            kept.append(segment)
    return "/" + "/".join(kept)


def resolve(base: str, reference: str) -> str | None:
    """
    Resolve a reference from the document the way the browser will, keeping
    only same-origin results.

    @param base: The base URL, an absolute path.
    @param reference: An C{href} or C{src} value.
    @return: Absolute path plus query, percent-encoded, or L{None} if the
        reference is empty or does not stay on this origin.
    """
    reference = reference.strip(C0_AND_SPACE).translate(_REMOVED_FROM_URLS)
    # Browsers read backslashes as slashes in HTTP(S) URLs before the query,
    # so "\\cdn.example/x" is as cross-origin as "//cdn.example/x".
    end = len(reference)
    for delimiter in "?#":
        found = reference.find(delimiter)
        if found >= 0:
            end = min(end, found)
    reference = reference[:end].replace("\\", "/") + reference[end:]
    if not reference or reference.startswith("//"):
        return None
    try:
        if urlsplit(reference).scheme:
            return None
        # Joined against a stand-in origin, because urljoin mishandles ".."
        # above the root of a path-only base.
        parts = urlsplit(urljoin(_ORIGIN + base, reference))
    except ValueError:
        return None
    # A path starting "//" would read as another host inside <...>.
    if parts.netloc != _HOST or parts.path.startswith("//"):
        return None
    url = _removeDotSegments(parts.path or "/")
    if parts.query:
        url += "?" + parts.query
    return percentEncode(url)


def resolveURL(base: str, reference: str) -> str | None:
    """
    Resolve a reference (from a page, a stylesheet or a module) the way the
    browser will, keeping only same-origin results.

    @param base: The URL of the document the reference is in: an absolute
        path, perhaps with a query (which a relative reference replaces).
    @param reference: The reference as written (after the document's own
        unescaping, e.g. of HTML entities or CSS escapes).
    @return: Absolute path plus query, percent-encoded as the browser will
        request it, or L{None} if the reference is empty or does not stay on
        this origin (another host, or a scheme such as C{data:}).
    """
    return resolve(base, reference)
