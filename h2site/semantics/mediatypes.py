# -*- test-case-name: tests.unit.semantics.test_mediatypes -*-
"""
File name to C{Content-Type}, from h2site's own table.

Why not C{mimetypes} or C{/etc/mime.types}: their answers differ from machine
to machine (Debian maps C{.mjs} to nothing, some systems map unknown files to
C{text/html} via Twisted's default).  A server must answer the same everywhere,
and must never label an unknown file as something a browser executes.
"""

from __future__ import annotations

import posixpath

__all__ = ["DEFAULT_TYPE", "isCompressible", "mediaType"]

#: Unknown files are downloads, never something a browser renders or runs.
DEFAULT_TYPE = "application/octet-stream"

_UTF8 = "; charset=utf-8"

_TYPES: dict[str, str] = {
    # Documents and text.
    ".html": "text/html" + _UTF8,
    ".htm": "text/html" + _UTF8,
    ".txt": "text/plain" + _UTF8,
    ".md": "text/markdown" + _UTF8,
    ".csv": "text/csv" + _UTF8,
    ".xml": "application/xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".vtt": "text/vtt" + _UTF8,
    ".ics": "text/calendar" + _UTF8,
    ".pdf": "application/pdf",
    # Code and data.
    ".css": "text/css" + _UTF8,
    ".js": "text/javascript" + _UTF8,
    ".mjs": "text/javascript" + _UTF8,
    ".cjs": "text/javascript" + _UTF8,
    ".json": "application/json",
    ".jsonld": "application/ld+json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".wasm": "application/wasm",
    # Images.
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".apng": "image/apng",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/vnd.microsoft.icon",
    ".bmp": "image/bmp",
    # Fonts.
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    # Audio and video.
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".ogv": "video/ogg",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".m4a": "audio/mp4",
    # Archives: served as what they are, never as a Content-Encoding.
    ".zip": "application/zip",
    ".gz": "application/gzip",
    ".tgz": "application/gzip",
    ".br": "application/octet-stream",
    ".zst": "application/zstd",
    ".tar": "application/x-tar",
    ".xz": "application/x-xz",
}


def mediaType(name: str) -> str:
    """
    The C{Content-Type} for a file name, by its last extension, ignoring
    case.  Text types carry C{charset=utf-8}; unknown ones are
    L{DEFAULT_TYPE}.
    """
    _, ext = posixpath.splitext(name.lower())
    return _TYPES.get(ext, DEFAULT_TYPE)


#: Types that are already compressed inside (images other than SVG, BMP and
#: icons, audio, video, archives, WOFF fonts) gain nothing from brotli or
#: gzip; the rest are text or structured binary that shrinks well.
_COMPRESSIBLE = frozenset(
    {
        "application/xml",
        "application/rss+xml",
        "application/atom+xml",
        "application/json",
        "application/ld+json",
        "application/manifest+json",
        "application/wasm",
        "image/svg+xml",
        "image/vnd.microsoft.icon",
        "image/bmp",
        "font/ttf",
        "font/otf",
    }
)


def isCompressible(contentType: str) -> bool:
    """
    Whether a body of this C{Content-Type} is worth compressing: all
    C{text/*}, JSON, XML, JavaScript, SVG, WebAssembly and uncompressed
    font and image formats.
    """
    essence = contentType.split(";", 1)[0].strip().lower()
    return essence.startswith("text/") or essence in _COMPRESSIBLE
