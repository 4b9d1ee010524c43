"""
Tests for L{h2site.http.earlyhints}: 103 Early Hints over h2site's HTTP/2 and
HTTP/1.1 connections (in memory, through the real C{Site}; see
L{tests.harness}), and the channels' C{writeInformational} it uses, which
they declare by providing L{h2site.http.interfaces.IInformationalChannel}.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from h2.events import (
    InformationalResponseReceived,
    ResponseReceived,
)
from h2.settings import SettingCodes
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.test.requesthelper import DummyRequest
from zope.interface import implementer
from zope.interface.verify import verifyClass, verifyObject

from h2site.http.earlyhints import sendEarlyHints
from h2site.http.h1 import HTTP11Channel
from h2site.http.h2.stream import Stream
from h2site.http.interfaces import IInformationalChannel
from tests.harness import Harness, channelOf, headerEvents

_LINKS: list[str | bytes] = [
    "</static/app.css>; rel=preload; as=style",
    b"</static/main.mjs>; rel=modulepreload",
]


class EarlyHintsChannelTests(SynchronousTestCase):
    """
    The channels' C{writeInformational}, which L{h2site.http.earlyhints} uses.
    """

    def test_http2(self) -> None:
        """
        Over HTTP/2 a 103 is a HEADERS frame before the response's.
        """
        h = Harness()
        streamID = h.request("/slow")
        request = h.slow.waiting[0]
        self.assertTrue(
            channelOf(request).writeInformational(103, [(b"link", b"</a>")])
        )
        request.write(b"x")
        request.finish()
        h.clock.advance(0)
        events = headerEvents(h)
        self.assertEqual(
            [(type(e), dict(e.headers).get(b"link")) for e in events],
            [(InformationalResponseReceived, b"</a>"), (ResponseReceived, None)],
        )
        self.assertEqual(events[0].stream_id, streamID)

    def test_http2SameTurn(self) -> None:
        """
        A 103 and a final response written in the same turn go out in that
        order, in one write; so do a 103 too large for one frame (framed by
        C{h2}, with CONTINUATION) and its response.
        """
        for link in (b"</a>", b"</" + b"a" * 40000 + b">"):
            h = Harness(settings={SettingCodes.MAX_HEADER_LIST_SIZE: 1 << 20})
            streamID = h.request("/slow")
            request = h.slow.waiting[0]
            before = h.transport.writes
            self.assertTrue(
                channelOf(request).writeInformational(103, [(b"link", link)])
            )
            request.write(b"x")
            request.finish()
            h.clock.advance(0)
            self.assertEqual(h.transport.writes - before, 1)
            events = headerEvents(h)
            self.assertEqual(
                [(type(e), e.stream_id, dict(e.headers).get(b"link")) for e in events],
                [
                    (InformationalResponseReceived, streamID, link),
                    (ResponseReceived, streamID, None),
                ],
            )

    def test_http2TooLate(self) -> None:
        """
        Once the final headers are written, no 103 can be sent.
        """
        h = Harness()
        h.request("/slow")
        request = h.slow.waiting[0]
        request.write(b"x")
        self.assertFalse(
            channelOf(request).writeInformational(103, [(b"link", b"<a>")])
        )

    def test_http11(self) -> None:
        """
        Over HTTP/1.1 a 103 is written before the response.
        """
        h = Harness(protocol=None)
        h.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        request = h.slow.waiting[0]
        self.assertTrue(
            channelOf(request).writeInformational(103, [(b"link", b"</a>")])
        )
        request.finish()
        self.assertTrue(
            h.transport.value().startswith(
                b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\n"
            )
        )

    def test_http10(self) -> None:
        """
        HTTP/1.0 has no informational responses.
        """
        h = Harness(protocol=None)
        h.send(b"GET /slow HTTP/1.0\r\nHost: x\r\n\r\n")
        request = h.slow.waiting[0]
        self.assertFalse(
            channelOf(request).writeInformational(103, [(b"link", b"<a>")])
        )
        self.assertEqual(h.transport.value(), b"")


class InformationalChannelTests(SynchronousTestCase):
    """
    Both of h2site's channels provide L{IInformationalChannel}, and
    L{sendEarlyHints} uses a channel only when it provides it.
    """

    def test_http2Stream(self) -> None:
        """
        An HTTP/2 request's channel (its stream) provides the interface.
        """
        h = Harness()
        h.request("/slow")
        channel = channelOf(h.slow.waiting[0])
        self.assertTrue(verifyObject(IInformationalChannel, channel))
        self.assertTrue(verifyClass(IInformationalChannel, Stream))

    def test_http11Channel(self) -> None:
        """
        An HTTP/1.1 request's channel provides the interface.
        """
        h = Harness(protocol=None)
        h.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        channel = channelOf(h.slow.waiting[0])
        self.assertTrue(verifyObject(IInformationalChannel, channel))
        self.assertTrue(verifyClass(IInformationalChannel, HTTP11Channel))

    def test_declaredOnly(self) -> None:
        """
        A channel that has a C{writeInformational} method without declaring
        the interface is not used; one that declares it is, with the links
        as C{Link} fields of a 103.
        """
        calls: list[tuple[int, list[tuple[bytes, bytes]]]] = []

        class Undeclared:
            def writeInformational(
                self, code: int, headers: Sequence[tuple[bytes, bytes]]
            ) -> bool:
                calls.append((code, list(headers)))
                return True

        @implementer(IInformationalChannel)
        class Declared(Undeclared):
            pass

        request: Any = DummyRequest([b""])
        request.clientproto = b"HTTP/2"
        request.startedWriting = 0
        request.channel = Undeclared()
        self.assertFalse(sendEarlyHints(request, _LINKS))
        self.assertEqual(calls, [])
        request.channel = Declared()
        self.assertTrue(sendEarlyHints(request, _LINKS))
        self.assertEqual(
            calls,
            [
                (
                    103,
                    [
                        (b"link", b"</static/app.css>; rel=preload; as=style"),
                        (b"link", b"</static/main.mjs>; rel=modulepreload"),
                    ],
                )
            ],
        )


class HTTP2Tests(SynchronousTestCase):
    """
    Over HTTP/2, each call is a HEADERS frame with C{:status 103}.
    """

    def test_beforeResponse(self) -> None:
        """
        The hints arrive before the final response, one C{link} field per
        link, in order; a second call sends a second 103.
        """
        h = Harness()
        h.request("/slow")
        request = h.slow.waiting[0]
        self.assertTrue(sendEarlyHints(request, _LINKS))
        self.assertTrue(sendEarlyHints(request, _LINKS[:1]))
        request.setHeader(b"link", b"</static/app.css>; rel=preload; as=style")
        request.write(b"page")
        request.finish()
        h.clock.advance(0)
        events = headerEvents(h)
        self.assertEqual(
            [type(e) for e in events],
            [InformationalResponseReceived] * 2 + [ResponseReceived],
        )
        first = events[0].headers
        self.assertEqual(first[0], (b":status", b"103"))
        self.assertEqual(
            [v for k, v in first if k == b"link"],
            [
                b"</static/app.css>; rel=preload; as=style",
                b"</static/main.mjs>; rel=modulepreload",
            ],
        )

    def test_tooLate(self) -> None:
        """
        Once the response has started, nothing is sent.
        """
        h = Harness()
        h.request("/slow")
        request = h.slow.waiting[0]
        request.write(b"page")
        self.assertFalse(sendEarlyHints(request, _LINKS))

    def test_clientGone(self) -> None:
        """
        After the client has gone, nothing is sent.
        """
        h = Harness()
        h.request("/slow")
        request = h.slow.waiting[0]
        request.notifyFinish().addErrback(lambda _: None)
        h.lose()
        self.assertFalse(sendEarlyHints(request, _LINKS))


class HTTP11Tests(SynchronousTestCase):
    """
    Over HTTP/1.1, a raw 103 response precedes the final one; HTTP/1.0
    clients get none.
    """

    def test_http11(self) -> None:
        """
        C{HTTP/1.1 103 Early Hints} with the C{Link} lines comes first.
        """
        h = Harness(protocol=None)
        h.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        request = h.slow.waiting[0]
        self.assertTrue(sendEarlyHints(request, _LINKS))
        request.finish()
        self.assertTrue(
            h.transport.value().startswith(
                b"HTTP/1.1 103 Early Hints\r\n"
                b"Link: </static/app.css>; rel=preload; as=style\r\n"
                b"Link: </static/main.mjs>; rel=modulepreload\r\n\r\n"
                b"HTTP/1.1 200 OK\r\n"
            ),
            h.transport.value(),
        )

    def test_http10(self) -> None:
        """
        HTTP/1.0 has no 1xx responses: nothing is sent.
        """
        h = Harness(protocol=None)
        h.send(b"GET /slow HTTP/1.0\r\nHost: x\r\n\r\n")
        request = h.slow.waiting[0]
        self.assertFalse(sendEarlyHints(request, _LINKS))
        request.finish()
        self.assertTrue(h.transport.value().startswith(b"HTTP/1.0 200 OK\r\n"))


class ContractTests(SynchronousTestCase):
    """
    What L{sendEarlyHints} refuses.
    """

    def test_headerInjection(self) -> None:
        """
        A value holding CR, LF or NUL raises L{ValueError} and sends nothing.
        """
        h = Harness(protocol=None)
        h.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        request = h.slow.waiting[0]
        for bad in ["</a>\r\nSet-Cookie: x=1", "</a>\n", b"</a>\x00"]:
            self.assertRaises(ValueError, sendEarlyHints, request, [bad])
        self.assertEqual(h.transport.value(), b"")

    def test_noLinks(self) -> None:
        """
        No links, no 103.
        """
        h = Harness()
        h.request("/slow")
        self.assertFalse(sendEarlyHints(h.slow.waiting[0], []))

    def test_otherChannels(self) -> None:
        """
        A request on a channel that cannot send 1xx (here Twisted's test
        request) gets nothing, without error.
        """
        request = DummyRequest([b""])
        request.clientproto = b"HTTP/1.1"
        self.assertFalse(sendEarlyHints(request, _LINKS))
