"""
Tests for L{h2site.delivery}: responses built from a representation, and the
streaming producer, against an in-memory request (the end-to-end tests in
L{tests.test_static_delivery} cover the real server).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.test.requesthelper import DummyRequest

from h2site.conditional import ByteRange
from h2site.delivery import BodyProducer, respond
from h2site.encoding import IDENTITY
from h2site.filestore import Body, Representation, representationFromBytes

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


class Request(DummyRequest):
    """
    A L{DummyRequest} that keeps a push producer instead of looping on it.
    """

    def __init__(self, method: bytes = b"GET", **headers: str) -> None:
        super().__init__([b""])
        self.method = method
        self.producer: object = None
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


def _diskRepresentation(path: Path, data: bytes) -> Representation:
    path.write_bytes(data)
    memory = representationFromBytes(data, "application/octet-stream", 0)
    body = Body(
        IDENTITY,
        memory.identity.etag,
        len(data),
        None,
        str(path),
        memory.identity.headers,
    )
    return Representation(memory.contentType, 0, {IDENTITY: body}, (), memory.version)


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


class BodyProducerTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = StepClock()
        self.path = Path(self.mktemp())
        self.data = os.urandom(10_000)
        self.path.write_bytes(self.data)
        self.fd = os.open(self.path, os.O_RDONLY)
        self.request = Request()

    def test_boundedChunks(self) -> None:
        """
        Each turn writes at most one chunk.
        """
        BodyProducer(
            cast(Any, self.request),
            [ByteRange(0, 9999)],
            self.fd,
            self.clock,
            chunkSize=1000,
        ).start()
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
        producer = BodyProducer(
            cast(Any, self.request), [ByteRange(0, 9999)], self.fd, self.clock, 1000
        )
        producer.start()
        self.clock.step()
        producer.stopProducing()
        self.clock.step()
        self.assertEqual(len(self.request.written), 1)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertRaises(OSError, os.fstat, self.fd)
