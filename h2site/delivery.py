# -*- test-case-name: tests.test_delivery -*-
"""
Sending a L{Representation}: content negotiation, conditional and range
requests decided by the pure functions, then the bytes.

In-memory bodies go out in one write.  Bodies on disk stream through a push
producer registered with the request (C{registerProducer}, the public API
both Twisted's HTTP/1.1 and HTTP/2 honour): each reactor turn reads one
bounded chunk, and a full send buffer pauses it, so a slow client costs a
file descriptor and one chunk of memory, and a large file never holds up
other connections.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence

from twisted.internet.interfaces import IDelayedCall, IPushProducer, IReactorTime
from twisted.python.failure import Failure
from twisted.web.server import NOT_DONE_YET, Request
from zope.interface import implementer

from .conditional import ByteRange, Conditions, Decision, decide, multipartPieces
from .encoding import IDENTITY, chooseEncoding
from .filestore import Body, Representation

__all__ = ["CHUNK_SIZE", "BodyProducer", "conditionsFrom", "respond"]

#: Bytes read from disk per reactor turn.
CHUNK_SIZE = 64 * 1024


_TEXT = b"text/plain; charset=utf-8"

#: What a 304 keeps of the 200's headers (RFC 9110 section 15.4.5): the
#: ones a cache updates its stored response with.
_NOT_MODIFIED_KEEP = (b"etag", b"vary")

#: What an error page (a 404) leaves out: it is not a representation of the
#: resource, so it offers neither validators nor ranges.
_ERROR_DROP = (b"etag", b"last-modified", b"accept-ranges")


def headerValue(request: Request, name: bytes) -> str | None:
    """
    All field lines of a request header joined with commas, as RFC 9110
    section 5.3 combines them, or L{None} if it is absent.
    """
    values = request.requestHeaders.getRawHeaders(name)
    if values is None:
        return None
    return ", ".join(v.decode("latin-1") for v in values)


def conditionsFrom(request: Request) -> Conditions:
    """
    The conditional and range headers of a request.
    """
    return Conditions(
        ifMatch=headerValue(request, b"if-match"),
        ifNoneMatch=headerValue(request, b"if-none-match"),
        ifModifiedSince=headerValue(request, b"if-modified-since"),
        ifUnmodifiedSince=headerValue(request, b"if-unmodified-since"),
        ifRange=headerValue(request, b"if-range"),
        range=headerValue(request, b"range"),
    )


@implementer(IPushProducer)
class BodyProducer:
    """
    Write literal pieces and ranges of a file to a request, one bounded
    chunk per reactor turn, pausing when the consumer asks.
    """

    def __init__(
        self,
        request: Request,
        pieces: Sequence[bytes | ByteRange],
        fd: int,
        clock: IReactorTime,
        chunkSize: int = CHUNK_SIZE,
    ) -> None:
        self._request = request
        self._pieces = list(pieces)
        self._fd: int | None = fd
        self._clock = clock
        self._chunkSize = chunkSize
        self._paused = False
        self._call: IDelayedCall | None = None
        self._index = 0
        self._offset = 0

    def start(self) -> None:
        self._request.registerProducer(self, True)
        self._request.notifyFinish().addErrback(self._lost)
        self._schedule()

    def _lost(self, reason: Failure) -> None:
        self._close()

    def _schedule(self) -> None:
        if self._call is None and not self._paused and self._fd is not None:
            self._call = self._clock.callLater(0, self._produce)

    def _produce(self) -> None:
        self._call = None
        if self._fd is None:
            return
        piece = self._pieces[self._index]
        if isinstance(piece, bytes):
            data = piece
            done = True
        else:
            start = piece.first + self._offset
            want = min(self._chunkSize, piece.last + 1 - start)
            try:
                data = os.pread(self._fd, want, start)
            except OSError:
                data = b""
            if not data:
                # The file shrank under us: the length we promised cannot be
                # met, so the only honest end is to abort the response.
                self._abort()
                return
            self._offset += len(data)
            done = piece.first + self._offset > piece.last
        if done:
            self._index += 1
            self._offset = 0
        last = self._index == len(self._pieces)
        self._request.write(data)
        if last:
            self._close()
            self._request.unregisterProducer()
            self._request.finish()
        else:
            self._schedule()

    def _abort(self) -> None:
        self._close()
        self._request.unregisterProducer()
        transport = self._request.channel
        if transport is not None:
            transport.loseConnection()

    def _close(self) -> None:
        if self._call is not None:
            self._call.cancel()
            self._call = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def pauseProducing(self) -> None:
        self._paused = True
        if self._call is not None:
            self._call.cancel()
            self._call = None

    def resumeProducing(self) -> None:
        self._paused = False
        self._schedule()

    def stopProducing(self) -> None:
        self._close()


def _writeText(request: Request, code: int, text: bytes) -> None:
    request.setResponseCode(code)
    headers = request.responseHeaders
    headers.setRawHeaders(b"content-type", [_TEXT])
    headers.setRawHeaders(b"content-length", [b"%d" % len(text)])
    request.write(text)
    request.finish()


def _open(body: Body) -> int | None:
    assert body.path is not None
    try:
        fd = os.open(body.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    st = os.fstat(fd)
    if st.st_size != body.size:
        os.close(fd)
        return None
    return fd


def respond(
    request: Request,
    rep: Representation,
    cacheControl: bytes,
    clock: IReactorTime,
    extraHeaders: Sequence[tuple[bytes, bytes]] = (),
    code: int = 200,
) -> int:
    """
    Answer C{request} (a C{GET} or C{HEAD}) with C{rep}.

    @param cacheControl: the C{Cache-Control} value for this URL.
    @param extraHeaders: more headers for a full response (e.g. C{Link}).
    @param code: the status of a full response; only 200 evaluates
        conditional and range requests.
    @return: C{NOT_DONE_YET}: the response is written (or being streamed)
        by the time this returns.
    """
    conditions = conditionsFrom(request)
    if conditions.range is not None and request.method == b"GET":
        # Ranges count bytes of the file itself, as nginx and Apache do:
        # a client resuming a download, or a player seeking, means offsets
        # into the file it knows, and few can splice compressed fragments.
        coding = IDENTITY
    else:
        accept = headerValue(request, b"accept-encoding")
        coding = chooseEncoding(accept, rep.codings)
    body = rep.bodies[coding]
    headers = request.responseHeaders
    headers.setRawHeaders(b"cache-control", [cacheControl])
    if code == 200:
        decision = decide(
            request.method,
            conditions,
            body.etag,
            rep.lastModified,
            body.size,
            clock.seconds(),
        )
    else:
        decision = Decision(code)
    if decision.status == 304:
        for name, value in body.headers:
            if name in _NOT_MODIFIED_KEEP:
                headers.setRawHeaders(name, [value])
        request.setResponseCode(304)
        request.finish()
        return NOT_DONE_YET
    if decision.status == 412:
        _writeText(request, 412, b"Precondition failed.\n")
        return NOT_DONE_YET
    for name, value in body.headers:
        if code == 200 or name not in _ERROR_DROP:
            headers.setRawHeaders(name, [value])
    if decision.status == 416:
        headers.removeHeader(b"content-encoding")
        headers.setRawHeaders(b"content-range", [b"bytes */%d" % body.size])
        _writeText(request, 416, b"Range not satisfiable.\n")
        return NOT_DONE_YET
    for name, value in extraHeaders:
        headers.addRawHeader(name, value)
    request.setResponseCode(decision.status)
    pieces: list[bytes | ByteRange]
    if decision.status != 206:
        pieces = [ByteRange(0, body.size - 1)] if body.size else []
        length = body.size
    elif len(decision.ranges) == 1:
        (only,) = decision.ranges
        headers.setRawHeaders(b"content-range", [only.contentRange(body.size)])
        pieces, length = [only], only.length
    else:
        boundary = secrets.token_hex(16).encode("ascii")
        pieces, length = multipartPieces(
            decision.ranges, body.size, rep.contentType.encode("ascii"), boundary
        )
        headers.setRawHeaders(
            b"content-type", [b"multipart/byteranges; boundary=" + boundary]
        )
    headers.setRawHeaders(b"content-length", [b"%d" % length])
    if request.method == b"HEAD" or not pieces:
        request.finish()
        return NOT_DONE_YET
    if body.data is not None:
        data = body.data
        out = b"".join(
            p if isinstance(p, bytes) else data[p.first : p.last + 1] for p in pieces
        )
        # One write: h2site's HTTP/2 connection frames a long write itself,
        # without copying it (see h2site.http2), as HTTP/1.1 sends it whole.
        request.write(out)
        request.finish()
        return NOT_DONE_YET
    fd = _open(body)
    if fd is None:
        headers.removeHeader(b"content-range")
        headers.removeHeader(b"content-encoding")
        headers.removeHeader(b"etag")
        headers.removeHeader(b"last-modified")
        headers.setRawHeaders(b"cache-control", [b"no-store"])
        # The store notices the change within its recheck interval.
        headers.setRawHeaders(b"retry-after", [b"1"])
        _writeText(request, 503, b"The file is changing; try again.\n")
        return NOT_DONE_YET
    BodyProducer(request, pieces, fd, clock).start()
    return NOT_DONE_YET
