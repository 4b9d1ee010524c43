# -*- test-case-name: tests.unit.web.test_delivery -*-
"""
Sending a L{Representation}: content negotiation, conditional and range
requests decided by the pure functions, then the bytes.

In-memory bodies go out in one write.  Bodies on disk stream through a push
producer registered with the request (C{registerProducer}, the public API
both Twisted's HTTP/1.1 and HTTP/2 honour): each reactor turn reads one
bounded chunk, and a full send buffer pauses it, so a slow client costs a
file descriptor and one chunk of memory, and a large file never holds up
other connections.

A body on disk is sent under the C{ETag} and length the index gave it, so
the file must stay as it was indexed for as long as it streams: its stamp
(size, time, inode) is checked when it is opened and after every chunk
read.  A file that changes or shrinks mid-stream cannot be finished
honestly, so the response is aborted (C{RST_STREAM} on HTTP/2, the
connection closed on HTTP/1.1): the client sees an incomplete body rather
than a complete-looking mix of old and new bytes.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Sequence
from typing import Protocol, cast

from twisted.internet.interfaces import IDelayedCall, IPushProducer, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.server import NOT_DONE_YET, Request
from zope.interface import implementer

from h2site.files.representation import Body, Representation, Stamp, stampOf
from h2site.semantics.conditional import Conditions, Decision, decide
from h2site.semantics.negotiation import IDENTITY, chooseEncoding
from h2site.semantics.ranges import ByteRange, multipartPieces

__all__ = [
    "CHUNK_SIZE",
    "NOT_MODIFIED_KEEP",
    "BodyProducer",
    "conditionsFrom",
    "headerValue",
    "respond",
    "streamFault",
]

_log = Logger(namespace="h2site.static")

#: Bytes read from disk per reactor turn.
CHUNK_SIZE = 64 * 1024


_TEXT = b"text/plain; charset=utf-8"

#: What a 304 keeps of the 200's headers (RFC 9110 section 15.4.5): the
#: ones a cache updates its stored response with.
NOT_MODIFIED_KEEP = (b"etag", b"vary")

#: What a response for a file found changed on disk must not keep of the
#: headers already set for it.
_STALE_DROP = (
    b"content-range",
    b"content-encoding",
    b"content-length",
    b"content-type",
    b"etag",
    b"last-modified",
    b"vary",
    b"accept-ranges",
)

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


class _Abortable(Protocol):
    """
    What h2site's channels offer a request besides Twisted's: ending its
    response abruptly (an HTTP/2 stream resets itself; an HTTP/1.1
    connection is aborted).
    """

    def abortConnection(self) -> None: ...


def streamFault(
    indexed: Stamp, current: Stamp | None, wanted: int, read: int
) -> str | None:
    """
    Why a file being streamed can no longer be sent under the C{ETag} and
    length it was indexed with, judged after reading one chunk of it.

    @param indexed: its stamp when indexed.
    @param current: its stamp now (C{fstat} of the open file, after the
        read), or L{None} if reading or C{fstat} failed.
    @param wanted: how many bytes were asked for.
    @param read: how many came back.
    @return: what happened to the file, for the log (C{"shrank"},
        C{"changed"}, C{"could not be read"}), or L{None} if it is intact.
    """
    if current is None:
        return "could not be read"
    if read < wanted or current[0] < indexed[0]:
        return "shrank"
    if current != indexed:
        return "changed"
    return None


def _length(pieces: Sequence[bytes | ByteRange]) -> int:
    return sum(len(p) if isinstance(p, bytes) else p.length for p in pieces)


@implementer(IPushProducer)
class BodyProducer:
    """
    Write literal pieces and ranges of a file to a request, one bounded
    chunk per reactor turn, pausing when the consumer asks, and aborting
    the response if the file stops being the one indexed.
    """

    def __init__(
        self,
        request: Request,
        pieces: Sequence[bytes | ByteRange],
        body: Body,
        fd: int,
        clock: IReactorTime,
        chunkSize: int = CHUNK_SIZE,
    ) -> None:
        """
        @param body: the body on disk being sent (its path and stamp).
        @param fd: C{body}'s file, open; the producer closes it.
        """
        assert body.stamp is not None
        self._request = request
        self._pieces = list(pieces)
        self._path = body.path
        self._stamp = body.stamp
        self._fd: int | None = fd
        self._clock = clock
        self._chunkSize = chunkSize
        self._paused = False
        self._call: IDelayedCall | None = None
        self._index = 0
        self._offset = 0
        self._sent = 0

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
            current: Stamp | None
            try:
                data = os.pread(self._fd, want, start)
                # After the read: a write that these bytes could have seen
                # has already moved the file's time.
                current = stampOf(os.fstat(self._fd))
            except OSError:
                data, current = b"", None
            fault = streamFault(self._stamp, current, want, len(data))
            if fault is not None:
                # The length and ETag we promised cannot be met, so the only
                # honest end is to abort the response.
                self._abort(fault)
                return
            self._offset += len(data)
            done = piece.first + self._offset > piece.last
        if done:
            self._index += 1
            self._offset = 0
        last = self._index == len(self._pieces)
        self._sent += len(data)
        self._request.write(data)
        if last:
            self._close()
            self._request.unregisterProducer()
            self._request.finish()
        else:
            self._schedule()

    def _abort(self, fault: str) -> None:
        request = self._request
        _log.warn(
            "static file {path!r} {fault} while being sent to {client}; "
            "response cut short after {sent} of {total} bytes",
            path=self._path,
            fault=fault,
            client=getattr(request.getClientAddress(), "host", "-"),
            sent=self._sent,
            total=_length(self._pieces),
        )
        self._close()
        request.unregisterProducer()
        channel = cast("_Abortable | None", request.channel)
        if channel is not None:
            # Not loseConnection: over HTTP/2 that ends the stream cleanly,
            # and the client would take the short body for the whole.
            channel.abortConnection()

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
    """
    Open a body's file, if it is still the file indexed (same size, time
    and inode): otherwise its C{ETag} and length would be a lie.
    """
    assert body.path is not None and body.stamp is not None
    try:
        fd = os.open(body.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        same = stampOf(os.fstat(fd)) == body.stamp
    except OSError:
        same = False
    if not same:
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
    refresh: Callable[[], object] | None = None,
) -> int:
    """
    Answer C{request} (a C{GET} or C{HEAD}) with C{rep}.

    @param cacheControl: the C{Cache-Control} value for this URL.
    @param extraHeaders: more headers for a full response (e.g. C{Link}).
    @param code: the status of a full response; only 200 evaluates
        conditional and range requests.
    @param refresh: called, with nothing answered yet, when C{rep}'s file
        on disk is no longer the one indexed (a deploy replaced it since
        the store last looked): the caller reads it again and answers.
        Without it, such a request gets 503 and C{Retry-After: 1}.
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
            if name in NOT_MODIFIED_KEEP:
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
        # without copying it (see h2site.http.h2), as HTTP/1.1 sends it
        # whole.
        request.write(out)
        request.finish()
        return NOT_DONE_YET
    fd = _open(body)
    if fd is None:
        for name in _STALE_DROP:
            headers.removeHeader(name)
        if refresh is not None:
            request.setResponseCode(200)
            refresh()
            return NOT_DONE_YET
        headers.setRawHeaders(b"cache-control", [b"no-store"])
        # The store notices the change within its recheck interval.
        headers.setRawHeaders(b"retry-after", [b"1"])
        _writeText(request, 503, b"The file is changing; try again.\n")
        return NOT_DONE_YET
    BodyProducer(request, pieces, body, fd, clock).start()
    return NOT_DONE_YET
