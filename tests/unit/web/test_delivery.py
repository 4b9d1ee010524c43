"""
Tests for L{h2site.web.delivery}: responses built from a representation, and the
streaming producer, against an in-memory request (the end-to-end tests in
L{tests.integration.test_static_delivery} cover the real server).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.logger import LogLevel, capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.test.requesthelper import DummyRequest

from h2site.files.representation import (
    Body,
    Representation,
    representationFromBytes,
    stampOf,
)
from h2site.semantics.negotiation import IDENTITY
from h2site.semantics.ranges import ByteRange
from h2site.web.delivery import BodyProducer, respond, streamFault

CSS = b"body { color: red; }\n" * 2000


class StepClock(Clock):
    """
    A clock whose L{step} runs only the calls already due, as one reactor
    turn does, so a call scheduled by a call waits for the next step.
    """

    def step(self) -> None:
        due = [c for c in self.calls if c.getTime() <= self.seconds()]
        for call in due:
            self.calls.remove(call)
            call.called = 1
            call.func(*call.args, **call.kw)


class Channel:
    """
    Just what a request's channel offers the producer: an abrupt end.
    """

    aborted = False

    def abortConnection(self) -> None:
        self.aborted = True


class Request(DummyRequest):
    """
    A L{DummyRequest} that keeps a push producer instead of looping on it.
    """

    def __init__(self, method: bytes = b"GET", **headers: str) -> None:
        super().__init__([b""])
        self.method = method
        self.producer: object = None
        self.channel = Channel()
        for name, value in headers.items():
            self.requestHeaders.setRawHeaders(name.replace("_", "-"), [value])

    def registerProducer(self, producer: object, streaming: bool) -> None:
        assert streaming and self.producer is None
        self.producer = producer

    def unregisterProducer(self) -> None:
        self.producer = None

    def header(self, name: bytes) -> bytes | None:
        values = self.responseHeaders.getRawHeaders(name)
        return values[0] if values else None

    @property
    def body(self) -> bytes:
        return b"".join(self.written)


def _diskBody(path: Path, data: bytes) -> Body:
    """
    Write C{data} to C{path} and index it as the store does a large file.
    """
    path.write_bytes(data)
    memory = representationFromBytes(data, "application/octet-stream", 0)
    return Body(
        IDENTITY,
        memory.identity.etag,
        len(data),
        None,
        str(path),
        memory.identity.headers,
        stampOf(os.stat(path)),
    )


def _diskRepresentation(path: Path, data: bytes) -> Representation:
    body = _diskBody(path, data)
    etag = body.etag.opaque[:16]
    return Representation("application/octet-stream", 0, {IDENTITY: body}, (), etag)


def _overwrite(path: Path, offset: int, data: bytes) -> None:
    """
    Write C{data} into C{path} at C{offset}, in place (same inode, same
    size), and make sure its time moves even on a coarse clock.
    """
    before = os.stat(path).st_mtime_ns
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)
    if os.stat(path).st_mtime_ns == before:
        os.utime(path, ns=(before + 1, before + 1))


def _warnings(events: Sequence[dict[str, Any]]) -> list[str]:
    return [formatEvent(e) for e in events if e.get("log_level") == LogLevel.warn]


class RespondTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.clock.advance(1_700_000_000)
        self.rep = representationFromBytes(CSS, "text/css", 1_600_000_000)

    def respond(self, request: Request, rep: Representation | None = None) -> Request:
        respond(
            cast(Any, request),
            rep or self.rep,
            b"no-cache",
            self.clock,
            [(b"link", b"<x>")],
        )
        return request

    def test_full(self) -> None:
        """
        A plain GET: the identity body with its length, validators, caching,
        and the extra headers.
        """
        r = self.respond(Request())
        self.assertEqual(r.responseCode, 200)
        self.assertEqual(r.body, CSS)
        self.assertEqual(r.header(b"content-length"), b"%d" % len(CSS))
        self.assertEqual(r.header(b"etag"), self.rep.identity.etag.header())
        self.assertEqual(r.header(b"cache-control"), b"no-cache")
        self.assertEqual(r.header(b"link"), b"<x>")
        self.assertEqual(r.header(b"last-modified"), b"Sun, 13 Sep 2020 12:26:40 GMT")
        self.assertEqual(r.finished, 1)

    def test_oneWrite(self) -> None:
        """
        A body in memory is written at once, over HTTP/2 (whose connection
        frames it) as over HTTP/1.1.
        """
        h2 = Request()
        h2.clientproto = b"HTTP/2"
        self.respond(h2)
        self.assertEqual(h2.written, [CSS])
        h1 = self.respond(Request())
        self.assertEqual(h1.written, [CSS])

    def test_negotiated(self) -> None:
        """
        The coding follows Accept-Encoding, with its own ETag and length.
        """
        r = self.respond(Request(accept_encoding="gzip"))
        gz = self.rep.bodies["gzip"]
        self.assertEqual(r.body, gz.data)
        self.assertEqual(r.header(b"content-encoding"), b"gzip")
        self.assertEqual(r.header(b"etag"), gz.etag.header())
        self.assertEqual(r.header(b"content-length"), b"%d" % gz.size)

    def test_notModified(self) -> None:
        """
        304: no body, only the headers a cache updates with.
        """
        tag = self.rep.bodies["br"].etag.header().decode()
        r = self.respond(Request(accept_encoding="br", if_none_match=tag))
        self.assertEqual(r.responseCode, 304)
        self.assertEqual(r.body, b"")
        self.assertEqual(r.header(b"etag"), tag.encode())
        self.assertEqual(r.header(b"vary"), b"Accept-Encoding")
        for absent in (
            b"content-length",
            b"content-type",
            b"link",
            b"content-encoding",
        ):
            self.assertIsNone(r.header(absent), absent)

    def test_otherCodingsETagDoesNotMatch(self) -> None:
        """
        The identity ETag does not validate the brotli body.
        """
        tag = self.rep.identity.etag.header().decode()
        r = self.respond(Request(accept_encoding="br", if_none_match=tag))
        self.assertEqual(r.responseCode, 200)

    def test_preconditionFailed(self) -> None:
        """
        412 with a short text body.
        """
        r = self.respond(Request(if_match='"other"'))
        self.assertEqual(r.responseCode, 412)
        self.assertIsNone(r.header(b"etag"))

    def test_single(self) -> None:
        """
        One range: 206 with Content-Range and just those bytes.
        """
        r = self.respond(Request(range="bytes=5-9"))
        self.assertEqual(r.responseCode, 206)
        self.assertEqual(r.body, CSS[5:10])
        self.assertEqual(r.header(b"content-range"), b"bytes 5-9/%d" % len(CSS))
        self.assertEqual(r.header(b"content-length"), b"5")

    def test_rangeOfTheFileItself(self) -> None:
        """
        A range counts bytes of the unencoded file, whatever the client
        accepts.
        """
        r = self.respond(Request(range="bytes=0-9", accept_encoding="br, gzip"))
        self.assertEqual(r.responseCode, 206)
        self.assertEqual(r.body, CSS[:10])
        self.assertIsNone(r.header(b"content-encoding"))
        self.assertEqual(r.header(b"etag"), self.rep.identity.etag.header())

    def test_multipart(self) -> None:
        """
        Several ranges: a multipart/byteranges body whose length is exact.
        """
        r = self.respond(Request(range="bytes=0-0,-1"))
        self.assertEqual(r.responseCode, 206)
        contentType = r.header(b"content-type") or b""
        self.assertTrue(contentType.startswith(b"multipart/byteranges; boundary="))
        self.assertEqual(r.header(b"content-length"), b"%d" % len(r.body))
        self.assertIn(b"Content-Range: bytes 0-0/%d" % len(CSS), r.body)
        self.assertIsNone(r.header(b"content-range"))

    def test_unsatisfiable(self) -> None:
        """
        416 with the size in Content-Range.
        """
        r = self.respond(Request(range="bytes=99999-"))
        self.assertEqual(r.responseCode, 416)
        self.assertEqual(r.header(b"content-range"), b"bytes */%d" % len(CSS))

    def test_head(self) -> None:
        """
        HEAD has GET's headers, Content-Length included.
        """
        get = self.respond(Request(accept_encoding="br"))
        head = self.respond(Request(b"HEAD", accept_encoding="br"))
        self.assertEqual(
            list(head.responseHeaders.getAllRawHeaders()),
            list(get.responseHeaders.getAllRawHeaders()),
        )
        self.assertEqual(head.finished, 1)

    def test_notFoundCodeSkipsConditions(self) -> None:
        """
        A 404 body is sent whatever the conditions say, and offers no
        validators or ranges, since it honours neither.
        """
        r = Request(if_none_match="*")
        respond(cast(Any, r), self.rep, b"no-cache", self.clock, code=404)
        self.assertEqual(r.responseCode, 404)
        self.assertEqual(r.body, CSS)
        for absent in (b"etag", b"accept-ranges", b"last-modified"):
            self.assertIsNone(r.header(absent), absent)

    def test_fromDisk(self) -> None:
        """
        A body on disk streams through a producer, one chunk per turn, and
        the request finishes after the last.
        """
        data = os.urandom(200_000)
        rep = _diskRepresentation(Path(self.mktemp()), data)
        r = self.respond(Request(), rep)
        self.assertIsNotNone(r.producer)
        self.assertEqual(r.finished, 0)
        for _ in range(10):
            self.clock.advance(0)
        self.assertEqual(r.body, data)
        self.assertEqual(r.finished, 1)
        self.assertIsNone(r.producer)

    def test_fromDiskRanges(self) -> None:
        """
        Ranges of a file on disk come from the right offsets.
        """
        data = os.urandom(300_000)
        rep = _diskRepresentation(Path(self.mktemp()), data)
        r = self.respond(Request(range="bytes=100-199,250000-"), rep)
        for _ in range(10):
            self.clock.advance(0)
        self.assertEqual(r.header(b"content-length"), b"%d" % len(r.body))
        self.assertIn(data[100:200], r.body)
        self.assertTrue(r.body.split(b"\r\n--")[-2].endswith(data[250000:]))

    def test_fileChangedInPlace(self) -> None:
        """
        A file rewritten in place since it was indexed, even with the same
        size, is not sent under the old ETag: 503.
        """
        path = Path(self.mktemp())
        rep = _diskRepresentation(path, b"x" * 1000)
        _overwrite(path, 0, b"y")
        r = self.respond(Request(), rep)
        self.assertEqual(r.responseCode, 503)
        self.assertIsNone(r.header(b"etag"))

    def test_fileReplaced(self) -> None:
        """
        A file replaced by another (a new inode: an editor's save, a
        deployment's rename) is not sent under the old ETag: 503.
        """
        path = Path(self.mktemp())
        rep = _diskRepresentation(path, b"x" * 1000)
        stamp = os.stat(path)
        other = Path(self.mktemp())
        other.write_bytes(b"z" * 1000)
        os.utime(other, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
        os.replace(other, path)
        r = self.respond(Request(), rep)
        self.assertEqual(r.responseCode, 503)

    def test_fileChangedSize(self) -> None:
        """
        A file whose size no longer matches the index is not sent with the
        old length: 503, not cached.
        """
        path = Path(self.mktemp())
        rep = _diskRepresentation(path, b"x" * 1000)
        path.write_bytes(b"y" * 10)
        r = self.respond(Request(), rep)
        self.assertEqual(r.responseCode, 503)
        self.assertEqual(r.header(b"cache-control"), b"no-store")
        self.assertEqual(r.header(b"retry-after"), b"1")


class StreamFaultTests(SynchronousTestCase):
    """
    L{streamFault} tells whether a file may still be sent under the length
    and ETag it was indexed with.
    """

    indexed = (1000, 5_000_000_000, 42)

    def test_intact(self) -> None:
        """
        The same stamp and a full read: nothing wrong.
        """
        self.assertIsNone(streamFault(self.indexed, self.indexed, 100, 100))

    def test_shrank(self) -> None:
        """
        A smaller size, or a read that comes back short, means the file
        shrank: the length promised cannot be met.
        """
        smaller = (10, 5_000_000_001, 42)
        self.assertEqual(streamFault(self.indexed, smaller, 100, 100), "shrank")
        self.assertEqual(streamFault(self.indexed, self.indexed, 100, 99), "shrank")
        self.assertEqual(streamFault(self.indexed, self.indexed, 100, 0), "shrank")

    def test_changed(self) -> None:
        """
        A new time or inode with the same size (written in place, or
        replaced), or a larger size: the bytes are no longer the ones the
        ETag names.
        """
        for current in [
            (1000, 5_000_000_001, 42),
            (1000, 5_000_000_000, 43),
            (2000, 5_000_000_000, 42),
        ]:
            self.assertEqual(
                streamFault(self.indexed, current, 100, 100), "changed", current
            )

    def test_unreadable(self) -> None:
        """
        A failed read or C{fstat} is a fault too.
        """
        self.assertEqual(streamFault(self.indexed, None, 100, 0), "could not be read")


class BodyProducerTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = StepClock()
        self.path = Path(self.mktemp())
        self.data = os.urandom(10_000)
        self.body = _diskBody(self.path, self.data)
        self.fd = os.open(self.path, os.O_RDONLY)
        self.request = Request()

    def producer(self, *pieces: bytes | ByteRange) -> BodyProducer:
        return BodyProducer(
            cast(Any, self.request),
            pieces or [ByteRange(0, 9999)],
            self.body,
            self.fd,
            self.clock,
            1000,
        )

    def test_boundedChunks(self) -> None:
        """
        Each turn writes at most one chunk.
        """
        self.producer().start()
        self.clock.step()
        self.assertEqual(len(self.request.written), 1)
        self.assertEqual(len(self.request.written[0]), 1000)

    def test_pauseAndResume(self) -> None:
        """
        While paused nothing is read or written; resuming continues where it
        left off.
        """
        producer = BodyProducer(
            cast(Any, self.request),
            [b"<", ByteRange(0, 9999), b">"],
            self.body,
            self.fd,
            self.clock,
            4000,
        )
        producer.start()
        self.clock.step()
        producer.pauseProducing()
        self.clock.step()
        self.clock.step()
        self.assertEqual(len(self.request.written), 1)
        producer.resumeProducing()
        for _ in range(20):
            self.clock.step()
        self.assertTrue(self.request.body == b"<" + self.data + b">")
        self.assertEqual(self.request.finished, 1)

    def test_stop(self) -> None:
        """
        Stopping (the client went away) closes the file and writes no more.
        """
        producer = self.producer()
        producer.start()
        self.clock.step()
        producer.stopProducing()
        self.clock.step()
        self.assertEqual(len(self.request.written), 1)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertRaises(OSError, os.fstat, self.fd)

    def assertCutShort(self, fault: str, sent: int, total: int = 10_000) -> None:
        """
        The response was aborted (not finished), the file closed, and one
        warning names the file, what happened, and how far it got.
        """
        self.assertTrue(self.request.channel.aborted)
        self.assertEqual(self.request.finished, 0)
        self.assertIsNone(self.request.producer)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertRaises(OSError, os.fstat, self.fd)
        self.assertEqual(
            self.warnings,
            [
                f"static file {str(self.path)!r} {fault} while being sent to "
                f"192.168.1.1; response cut short after {sent} of {total} bytes"
            ],
        )

    def streamWhile(self, change: Callable[[], None], turns: int = 3) -> None:
        """
        Stream the file, making C{change} to it after C{turns} chunks.
        """
        self.request.client = IPv4Address("TCP", "192.168.1.1", 1234)
        with capturedLogs() as events:
            self.producer().start()
            for _ in range(turns):
                self.clock.step()
            change()
            for _ in range(20):
                self.clock.step()
        self.warnings = _warnings(events)

    def test_truncated(self) -> None:
        """
        A file truncated while it streams aborts the response: the length
        promised cannot be met, so the client must see an error, not a
        short body that looks whole.
        """
        self.streamWhile(lambda: os.truncate(self.path, 2500))
        self.assertEqual(self.request.body, self.data[:3000])
        self.assertCutShort("shrank", 3000)

    def test_overwrittenInPlace(self) -> None:
        """
        A file overwritten in place while it streams (same size, same
        inode) aborts the response before any new byte is sent: the ETag
        names the old bytes.
        """
        self.streamWhile(lambda: _overwrite(self.path, 5000, b"new" * 100))
        self.assertEqual(self.request.body, self.data[:3000])
        self.assertCutShort("changed", 3000)

    def test_changedInTheLastChunk(self) -> None:
        """
        The last chunk is checked like the others: the response never
        finishes under an ETag that does not match its bytes.
        """
        self.streamWhile(lambda: _overwrite(self.path, 9999, b"!"), turns=9)
        self.assertEqual(self.request.body, self.data[:9000])
        self.assertCutShort("changed", 9000)

    def test_renamedOverFinishes(self) -> None:
        """
        A new file renamed into place leaves the one being sent intact: it
        streams whole, with no warning (this is how to deploy safely).
        """

        def replace() -> None:
            other = Path(self.mktemp())
            other.write_bytes(b"new" * 100)
            os.replace(other, self.path)

        self.streamWhile(replace)
        self.assertEqual(self.request.body, self.data)
        self.assertEqual(self.request.finished, 1)
        self.assertEqual(self.warnings, [])

    def test_intactFinishes(self) -> None:
        """
        An unchanged file streams whole, with no warning.
        """
        self.streamWhile(lambda: None)
        self.assertEqual(self.request.body, self.data)
        self.assertEqual(self.request.finished, 1)
        self.assertFalse(self.request.channel.aborted)
        self.assertEqual(self.warnings, [])
