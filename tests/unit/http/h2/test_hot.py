"""
Tests for L{h2site.http.h2.hot}: which requests the connection offers its
site's L{HotResponder}, and how the answer is sent (through the same
output as any response, so flow control and ordering hold).
"""

from __future__ import annotations

from h2.events import InformationalResponseReceived, ResponseReceived
from twisted.trial.unittest import SynchronousTestCase

from h2site.http.interfaces import HotRequest, HotResponse
from tests.h2client import requestHeaders
from tests.harness import Harness, Page, responses

FIELDS = [
    (b":status", b"200"),
    (b"date", b"Mon, 30 Nov 2026 01:00:00 GMT"),
    (b"x-first", b"1"),
    (b"content-type", b"text/plain"),
    (b"content-length", b"5"),
]


class FakeResponder:
    """
    Answers every request it is asked with C{response} (L{None}: none).
    """

    def __init__(self, response: HotResponse | None) -> None:
        self.response = response
        self.asked: list[HotRequest] = []

    def hotResponse(self, request: HotRequest) -> HotResponse | None:
        self.asked.append(request)
        return self.response


def harness(response: HotResponse | None) -> tuple[Harness, FakeResponder]:
    h = Harness()
    fake = FakeResponder(response)
    # Looked up on the site at each request.
    h.site.hotResponse = fake.hotResponse  # type: ignore[method-assign]
    return h, fake


class HotPathTests(SynchronousTestCase):
    """
    A GET or HEAD whose HEADERS frame ends the stream is offered to the
    site; its answer is sent as it is, without a request.
    """

    def test_answered(self) -> None:
        """
        The site's response is sent: its fields in order, its body, and the
        103 first; no C{twisted.web} request is made, so the general path
        logs nothing.
        """
        hints = [(b"link", b"</a.css>; rel=preload; as=style")]
        h, fake = harness(HotResponse(list(FIELDS), b"hello", hints))
        streamID = h.client.get_next_available_stream_id()
        h.client.send_headers(
            streamID,
            [*requestHeaders("/x?y=1"), (b"accept", b"a"), (b"accept", b"b")],
            end_stream=True,
        )
        h.send()
        events = h.receive()
        kinds = [
            type(e)
            for e in events
            if isinstance(e, InformationalResponseReceived | ResponseReceived)
        ]
        self.assertEqual(kinds, [InformationalResponseReceived, ResponseReceived])
        informational = next(
            e for e in events if isinstance(e, InformationalResponseReceived)
        )
        self.assertEqual(informational.headers, [(b":status", b"103"), *hints])
        final = next(e for e in events if isinstance(e, ResponseReceived))
        self.assertEqual(final.headers, FIELDS)
        got = responses(events)[streamID]
        self.assertEqual((got["body"], got["ended"]), (b"hello", True))
        self.assertEqual(h.logged, [])
        (asked,) = fake.asked
        self.assertEqual((asked.method, asked.path), (b"GET", b"/x?y=1"))
        self.assertEqual(asked.protocol, b"HTTP/2")
        self.assertEqual(asked.headers[b"accept"], [b"a", b"b"])
        # As a request holds them: :authority as Host.
        self.assertEqual(asked.headers[b"host"], [b"localhost"])
        self.assertNotIn(b":path", asked.headers)
        self.assertFalse(asked.secure)

    def test_declined(self) -> None:
        """
        When the site declines, the general path answers.
        """
        h, fake = harness(None)
        streamID = h.request("/page")
        self.assertEqual(len(fake.asked), 1)
        self.assertEqual(responses(h.receive())[streamID]["body"], Page.body)
        self.assertEqual(len(h.logged), 1)

    def test_notOffered(self) -> None:
        """
        A request whose stream does not end with its HEADERS frame, any
        method but GET and HEAD, and a request with a body are never
        offered.
        """
        h, fake = harness(HotResponse(list(FIELDS), b"hello"))
        first = h.request("/page", end=False)
        h.client.end_stream(first)
        h.send()
        second = h.request("/page", "POST")
        third = h.client.get_next_available_stream_id()
        h.client.send_headers(
            third,
            [*requestHeaders("/page"), (b"content-length", b"3")],
            end_stream=True,
        )
        h.send()
        got = responses(h.receive())
        self.assertEqual(fake.asked, [])
        self.assertEqual(got[first]["body"], Page.body)
        self.assertEqual(got[second]["body"], b"posted:")
        self.assertIn(third, got)

    def test_head(self) -> None:
        """
        A HEAD is offered too.
        """
        h, fake = harness(HotResponse(list(FIELDS), b""))
        streamID = h.request("/page", "HEAD")
        self.assertEqual(fake.asked[0].method, b"HEAD")
        got = responses(h.receive())[streamID]
        self.assertEqual((got["body"], got["ended"]), (b"", True))

    def test_flowControl(self) -> None:
        """
        A body larger than the stream's window waits for the client to open
        it, as any response does.
        """
        body = bytes(range(256)) * 1024
        fields = [*FIELDS[:-1], (b"content-length", b"%d" % len(body))]
        h, _ = harness(HotResponse(fields, body))
        streamID = h.request("/big")
        got = responses(h.receive())[streamID]
        self.assertEqual(len(got["body"]), 65535)
        self.assertFalse(got["ended"])
        h.client.acknowledge_received_data(65535, streamID)
        h.client.increment_flow_control_window(1 << 20)
        h.client.increment_flow_control_window(1 << 20, streamID)
        h.send()
        received, ended = got["body"], False
        for _ in range(100):
            rest = responses(h.receive()).get(streamID, {"body": b""})
            received += rest["body"]
            ended = ended or rest.get("ended", False)
            # Passes after the first run at the next reactor turn.
            h.clock.advance(0)
        self.assertEqual(received, body)
        self.assertTrue(ended)

    def test_afterGoAway(self) -> None:
        """
        A stream opened after the server's GOAWAY is refused, not answered.
        """
        h, fake = harness(None)
        h.request("/slow")
        assert h.protocol is not None
        h.protocol.shutdownGracefully()
        fake.response = HotResponse(list(FIELDS), b"hello")
        h.request("/page")
        self.assertEqual([r.path for r in fake.asked], [b"/slow"])
        self.assertEqual(len(h.slow.waiting), 1)
