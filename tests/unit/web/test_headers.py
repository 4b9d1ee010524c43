"""
Tests for L{h2site.web.headers}: security and operator headers.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase
from twisted.web.http_headers import Headers

from h2site.errors import ConfigError
from h2site.web.headers import buildHeaderPolicy, parseHeaderOption


def _applied(policy: object, secure: bool) -> dict[bytes, list[bytes]]:
    headers = Headers()
    policy.apply(headers, secure)  # type: ignore[attr-defined]
    return {k.lower(): list(v) for k, v in headers.getAllRawHeaders()}


class HeaderOptionTests(SynchronousTestCase):
    def test_valid(self) -> None:
        """
        C{Name: value}, spaces around the value trimmed.
        """
        self.assertEqual(
            parseHeaderOption("Permissions-Policy:  camera=() "),
            ("Permissions-Policy", "camera=()"),
        )

    def test_invalid(self) -> None:
        """
        No colon, an empty part, a non-token name, or a value that could end
        the header line is refused with a message naming the option.
        """
        for option in [
            "X-Test",
            ": v",
            "X-Test:",
            "X Test: v",
            "X-Test: a\r\nSet-Cookie: x",
            "X-Test: caf\u00e9",
        ]:
            e = self.assertRaises(ConfigError, parseHeaderOption, option)
            self.assertIn("--header", str(e))

    def test_managed(self) -> None:
        """
        Headers h2site computes per response cannot be set, and the two with
        their own options point to them.
        """
        for name in ["Content-Length", "etag", "Cache-Control", "Server", "Vary"]:
            self.assertRaises(ConfigError, parseHeaderOption, f"{name}: x")
        e = self.assertRaises(
            ConfigError, parseHeaderOption, "Strict-Transport-Security: max-age=1"
        )
        self.assertIn("--hsts-max-age", str(e))
        e = self.assertRaises(
            ConfigError, parseHeaderOption, "content-security-policy: x"
        )
        self.assertIn("--csp", str(e))


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

    def test_badCSP(self) -> None:
        """
        A CSP with a line break is refused.
        """
        self.assertRaises(ConfigError, buildHeaderPolicy, 0, "a\nb", ())
