"""
Tests for L{h2site.web.redirect}: plain HTTP to HTTPS.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase
from twisted.web.test.requesthelper import DummyRequest

from h2site.web.redirect import RedirectResource, redirectTarget


class RedirectTargetTests(SynchronousTestCase):
    def test_sameHostAndPath(self) -> None:
        """
        Host (without its port), path and query are kept; the HTTPS port is
        added unless it is 443.
        """
        self.assertEqual(
            redirectTarget(b"example.com:80", b"/a/b?c=d", 443),
            b"https://example.com/a/b?c=d",
        )
        self.assertEqual(
            redirectTarget(b"example.com", b"/", 8443), b"https://example.com:8443/"
        )
        self.assertEqual(
            redirectTarget(b"[::1]:8080", b"/x", 8443), b"https://[::1]:8443/x"
        )

    def test_absoluteForm(self) -> None:
        """
        An absolute-form target keeps only its path and query.
        """
        self.assertEqual(
            redirectTarget(b"example.com", b"http://other.example/p?q", 443),
            b"https://example.com/p?q",
        )
        self.assertEqual(
            redirectTarget(b"example.com", b"http://other.example?q", 443),
            b"https://example.com/?q",
        )

    def test_oddTarget(self) -> None:
        """
        A target that is not a path (C{*}, authority form) goes to C{/}.
        """
        self.assertEqual(redirectTarget(b"h", b"*", 443), b"https://h/")

    def test_badHost(self) -> None:
        """
        No Host, or one that could carry another host, a path or a header
        into Location, gets no redirect.
        """
        for host in [
            None,
            b"",
            b"evil.com/x",
            b"a@evil.com",
            b"a b",
            b"example.com\r\nX: y",
            b"caf\xc3\xa9.example",
            b"example.com:80:80",
        ]:
            self.assertIsNone(redirectTarget(host, b"/", 443), host)


class ChallengeTests(SynchronousTestCase):
    def render(self, path: bytes, challenges: dict[str, str] | None) -> DummyRequest:
        request = DummyRequest([])
        request.uri = path
        request.path = path  # type: ignore[attr-defined]
        request.requestHeaders.setRawHeaders(b"host", [b"example.org"])
        RedirectResource(lambda: 443, challenges).render(request)  # type: ignore[arg-type]
        return request

    def test_answersKnownToken(self) -> None:
        """
        A token the ACME service published is answered with its key
        authorization; an unknown one, or any with no mapping, redirects.
        """
        answers = {"tok": "tok.thumb"}
        path = b"/.well-known/acme-challenge/tok"
        answered = self.render(path, answers)
        self.assertEqual(
            (answered.responseCode, answered.written), (None, [b"tok.thumb"])
        )
        unknown = self.render(b"/.well-known/acme-challenge/x", answers)
        self.assertEqual(unknown.responseCode, 308)
        self.assertEqual(self.render(path, None).responseCode, 308)
