# -*- test-case-name: tests.unit.sites.test_plain -*-
"""
The URLs of a folder served as it is, as static hosts serve them (Netlify,
Cloudflare Pages, Caddy's C{file_server}), so the relative links any
generator writes resolve:

    - C{/} serves C{index.html}, C{/dir/} serves C{dir/index.html};
    - C{/dir} redirects (308, query kept) to C{/dir/} when
      C{dir/index.html} exists, so relative links in that page resolve
      against the folder;
    - C{/page} serves C{page.html} when there is no file C{page}, and
      C{/page.html} still works;
    - everything else, and every path the safety rules refuse
      (L{h2site.files.safepath.safeSegments}: C{..}, dot-names but
      C{/.well-known/...}, encoded slashes, folders), is not found.

One pure function (L{decide}) of the request's path over the names the
file store indexed, so every rule is tested exhaustively without a server;
L{h2site.web.plain} applies it.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from h2site.files.safepath import WELL_KNOWN, safeSegments

__all__ = [
    "INDEX",
    "NOT_FOUND",
    "NOT_FOUND_PAGE",
    "Decision",
    "NotFound",
    "Redirect",
    "ServeFile",
    "decide",
    "location",
]

#: The file a folder's URL (ending in C{/}) serves.
INDEX = "index.html"

#: The file at the top of the folder sent, with status 404, for every URL
#: that serves nothing.
NOT_FOUND_PAGE = "404.html"

#: Characters a path segment keeps as they are in a C{Location} (RFC 3986
#: C{pchar}); anything else is percent-encoded.
_SEGMENT_SAFE = "!$&'()*+,;=:@-._~"

#: And a query: its percent escapes stay as the client sent them.
_QUERY_SAFE = _SEGMENT_SAFE + "/?%"


@dataclass(frozen=True)
class ServeFile:
    """
    Send the file called C{name} (below the folder, C{/}-separated).
    """

    name: str


@dataclass(frozen=True)
class Redirect:
    """
    Send a 308 to C{location}: a path with its query, never a URL with a
    host, so a hostile C{Host} header can never be written into a response
    a shared cache keeps.
    """

    location: str


@dataclass(frozen=True)
class NotFound:
    """
    Nothing is served at this URL.
    """


#: The one L{NotFound}.
NOT_FOUND = NotFound()

Decision = ServeFile | Redirect | NotFound


def location(segments: Sequence[str], query: bytes | None) -> str:
    """
    The path of the folder C{segments} (with a final C{/}) and C{query}, as
    a C{Location} value: each segment percent-encoded again, so what the
    client sent encoded stays encoded and nothing can turn the path into
    another host (it starts with one C{/} and a non-empty segment).
    """
    path = "/" + "/".join(quote(s, safe=_SEGMENT_SAFE) for s in segments) + "/"
    if query:
        path += "?" + quote(query, safe=_QUERY_SAFE)
    return path


def decide(
    segments: Sequence[bytes], query: bytes | None, names: Container[str]
) -> Decision:
    """
    What to answer for a request, by the rules of this module.

    @param segments: the request's path split at C{/}, each segment
        percent-decoded, as Twisted gives them (C{request.postpath} at the
        root): C{/} is C{[b""]}, C{/a/} is C{[b"a", b""]}.
    @param query: what follows the C{?} of the request-target, if anything.
    @param names: the files that may be served.  Only a name in it is ever
        served, and never one with a dot-name but C{.well-known} as its
        first segment, whatever it holds.
    """
    folder = not segments or segments[-1] == b""
    path = segments[:-1] if folder else segments
    if not path:
        return ServeFile(INDEX) if INDEX in names else NOT_FOUND
    parts = safeSegments(path, wellKnown=True)
    if parts is None:
        return NOT_FOUND
    name = "/".join(parts)
    index = f"{name}/{INDEX}"
    if folder:
        return ServeFile(index) if index in names else NOT_FOUND
    # .well-known itself is a folder: only what is below it is served.
    isFile = parts != (WELL_KNOWN,)
    if isFile and name in names:
        return ServeFile(name)
    if index in names:
        return Redirect(location(parts, query))
    if isFile and name + ".html" in names:
        return ServeFile(name + ".html")
    return NOT_FOUND
