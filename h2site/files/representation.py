# -*- test-case-name: tests.unit.files.test_store -*-
"""
What h2site sends for a page or a static file: a L{Representation} in
one or more codings (L{Body}), each with its validators and the headers
that describe it, held in memory or named on disk with the stamp it was
read with.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace

from h2site.files.buildcache import Compressor, compress, decodes
from h2site.semantics.conditional import ETag
from h2site.semantics.dates import formatHTTPDate
from h2site.semantics.mediatypes import isCompressible
from h2site.semantics.negotiation import IDENTITY

__all__ = [
    "SIDECARS",
    "Body",
    "Representation",
    "Stamp",
    "assemble",
    "representationFromBytes",
    "stampOf",
    "withBody",
    "withHeaders",
]

#: Sidecar suffix for each coding, in the order preferred when sizes tie.
SIDECARS = (("br", ".br"), ("gzip", ".gz"))


#: What a file looked like on disk: size, modification time (ns), inode.
Stamp = tuple[int, int, int]


def stampOf(st: os.stat_result) -> Stamp:
    """
    The stamp of a C{stat} result: the size, time and inode change when a
    file is edited (even in place, with the same size) or replaced.
    """
    return (st.st_size, st.st_mtime_ns, st.st_ino)


@dataclass(frozen=True)
class Body:
    """
    One coding of a representation: its bytes (in memory) or the file
    holding them, and the headers that describe it.

    @ivar headers: C{Content-Type}, C{ETag}, C{Last-Modified},
        C{Content-Encoding}, C{Vary} and C{Accept-Ranges}, ready to send.
    @ivar stamp: for a body on disk, the file's stamp when its C{ETag} was
        computed: the bytes may be sent under that C{ETag} only while the
        file still has it.
    """

    coding: str
    etag: ETag
    size: int
    data: bytes | None
    path: str | None
    headers: tuple[tuple[bytes, bytes], ...] = ()
    stamp: Stamp | None = None


@dataclass(frozen=True)
class Representation:
    """
    Something h2site sends: a page or a static file, in one or more codings.

    @ivar codings: the codings besides identity, smallest first.
    @ivar version: the fingerprint that C{static_url()} puts in URLs.
    """

    contentType: str
    lastModified: int | None
    bodies: Mapping[str, Body]
    codings: tuple[str, ...]
    version: str

    @property
    def identity(self) -> Body:
        return self.bodies[IDENTITY]

    @property
    def memorySize(self) -> int:
        return sum(len(b.data) for b in self.bodies.values() if b.data is not None)


def _etag(data: bytes) -> ETag:
    """
    A strong entity tag for exactly these bytes: 128 bits of their SHA-256.
    """
    return ETag(hashlib.sha256(data).hexdigest()[:32])


def withHeaders(rep: Representation, vary: bool = False) -> Representation:
    """
    Fill in every body's headers from the representation.

    @param vary: send C{Vary: Accept-Encoding} even with no coding yet: the
        file store gives a representation its codings after it is first
        served, and a shared cache must not keep the identity body for
        every client meanwhile.
    """
    bodies = {}
    for coding, body in rep.bodies.items():
        headers = [
            (b"content-type", rep.contentType.encode("ascii")),
            (b"etag", body.etag.header()),
            (b"accept-ranges", b"bytes"),
        ]
        if rep.lastModified is not None:
            headers.append(
                (b"last-modified", formatHTTPDate(rep.lastModified).encode("ascii"))
            )
        if coding != IDENTITY:
            headers.append((b"content-encoding", coding.encode("ascii")))
        if rep.codings or vary:
            headers.append((b"vary", b"Accept-Encoding"))
        bodies[coding] = replace(body, headers=tuple(headers))
    return Representation(
        rep.contentType, rep.lastModified, bodies, rep.codings, rep.version
    )


def assemble(
    contentType: str,
    lastModified: int | None,
    bodies: Mapping[str, Body],
    vary: bool = False,
) -> Representation:
    """
    A representation of these bodies (one of them the identity): codings
    offered smallest first, the fingerprint that of the identity, headers
    filled in (see L{withHeaders} for C{vary}).
    """
    codings = tuple(
        sorted((c for c in bodies if c != IDENTITY), key=lambda c: bodies[c].size)
    )
    return withHeaders(
        Representation(
            contentType,
            lastModified,
            bodies,
            codings,
            bodies[IDENTITY].etag.opaque[:16],
        ),
        vary,
    )


def withBody(rep: Representation, body: Body, vary: bool = False) -> Representation:
    """
    C{rep} with C{body} added as (or replacing) its coding: how a file
    served before its compressed forms were ready gains them.  The
    identity body, and so the fingerprint, stay as they were.
    """
    assert body.coding != IDENTITY
    bodies = dict(rep.bodies)
    bodies[body.coding] = body
    return assemble(rep.contentType, rep.lastModified, bodies, vary)


def representationFromBytes(
    data: bytes,
    contentType: str,
    lastModified: int | None,
    sidecars: Mapping[str, bytes] | None = None,
    compressor: Compressor = compress,
) -> Representation:
    """
    A representation held in memory: the bytes, and for compressible types
    each coding that comes out smaller, taking a sidecar when it is smaller
    still and really holds the bytes (a stale C{.gz} beside an edited file
    must not be sent in its place).

    @param compressor: what compresses (e.g. through a
        L{h2site.files.buildcache.BuildCache}).
    """
    digest = hashlib.sha256(data).hexdigest()
    bodies = {IDENTITY: Body(IDENTITY, ETag(digest[:32]), len(data), data, None)}
    if isCompressible(contentType):
        for coding, _ in SIDECARS:
            candidates = [compressor(coding, data, digest)]
            sidecar = (sidecars or {}).get(coding)
            if sidecar is not None and decodes(coding, sidecar, data):
                candidates.append(sidecar)
            encoded = min(candidates, key=len)
            if len(encoded) < len(data):
                bodies[coding] = Body(
                    coding, _etag(encoded), len(encoded), encoded, None
                )
    return assemble(contentType, lastModified, bodies)
