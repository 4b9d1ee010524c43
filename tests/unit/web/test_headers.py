"""
Tests for L{h2site.web.headers}: security and operator headers.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase
from twisted.web.http_headers import Headers

from h2site.web.headers import (
    MANAGED_HEADERS,
    buildHeaderPolicy,
    isFieldName,
    isFieldValue,
)


def _applied(policy: object, secure: bool) -> dict[bytes, list[bytes]]:
    headers = Headers()
    policy.apply(headers, secure)  # type: ignore[attr-defined]
    return {k.lower(): list(v) for k, v in headers.getAllRawHeaders()}


class FieldGrammarTests(SynchronousTestCase):
    """
    What may be sent as a header field; the C{--header} and C{--csp}
    options are read with these (in L{h2site.config}, tested there).
    """

    def test_names(self) -> None:
        """
        A name is a token: no spaces, colons or non-ASCII.
        """
        for name in ["X-Test", "permissions-policy", "x_a!#$%&'*+.^`|~1"]:
            self.assertTrue(isFieldName(name), name)
        for name in ["", "X Test", "X:Test", "caf\u00e9", "X\r\nY"]:
            self.assertFalse(isFieldName(name), name)

    def test_values(self) -> None:
        """
        A value is printable ASCII with spaces and tabs inside only: nothing
        that could end the header line.
        """
        for value in ["x", "camera=()", "default-src 'self'", "a\tb c"]:
            self.assertTrue(isFieldValue(value), value)
        for value in ["", " a", "a ", "a\nb", "a\r\nSet-Cookie: x", "caf\u00e9"]:
            self.assertFalse(isFieldValue(value), value)

    def test_managed(self) -> None:
        """
        The headers h2site computes per response are listed in lower case,
        with C{Server}, which it never sends.
        """
        for name in ["content-length", "etag", "cache-control", "server", "vary"]:
            self.assertIn(name, MANAGED_HEADERS)
        self.assertNotIn("permissions-policy", MANAGED_HEADERS)


class PolicyTests(SynchronousTestCase):
    def test_defaults(self) -> None:
        """
        nosniff and the referrer policy everywhere; HSTS on TLS only.
        """
        policy = buildHeaderPolicy(100, None, ())
        plain = _applied(policy, False)
        self.assertEqual(plain[b"x-content-type-options"], [b"nosniff"])
        self.assertEqual(
            plain[b"referrer-policy"], [b"strict-origin-when-cross-origin"]
        )
        self.assertNotIn(b"strict-transport-security", plain)
        secure = _applied(policy, True)
        self.assertEqual(secure[b"strict-transport-security"], [b"max-age=100"])

    def test_hstsOff(self) -> None:
        """
        max-age 0 sends no HSTS at all.
        """
        self.assertNotIn(
            b"strict-transport-security",
            _applied(buildHeaderPolicy(0, None, ()), True),
        )

    def test_cspAndExtra(self) -> None:
        """
        The CSP is sent; an extra header of a default's name replaces it;
        repeated extras are kept in order.
        """
        policy = buildHeaderPolicy(
            0,
            "default-src 'self'",
            [
                ("Referrer-Policy", "no-referrer"),
                ("X-A", "1"),
                ("x-a", "2"),
            ],
        )
        headers = _applied(policy, False)
        self.assertEqual(headers[b"content-security-policy"], [b"default-src 'self'"])
        self.assertEqual(headers[b"referrer-policy"], [b"no-referrer"])
        self.assertEqual(headers[b"x-a"], [b"1", b"2"])
