"""Tests for L{h2site.refs.charrefs}."""

from __future__ import annotations

import html
from html.entities import html5

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from h2site.refs.charrefs import decodeAttributeValue


class NamedTests(SynchronousTestCase):
    """
    Named character references.
    """

    def test_named(self) -> None:
        """
        Names with their semicolon decode, case-sensitively.
        """
        self.assertEqual(decodeAttributeValue("a&amp;b&lt;&AMP;&Amp;"), "a&b<&&Amp;")

    def test_legacyWithoutSemicolon(self) -> None:
        """
        The legacy names decode without a semicolon, unless a letter, a
        digit or C{=} follows: in attributes, C{?a=1&copy=2} keeps working.
        """
        self.assertEqual(decodeAttributeValue("&amp &lt-&copy"), "& <-\u00a9")
        self.assertEqual(
            decodeAttributeValue("?a=1&copy=2&ampx&lt9&not;x"),
            "?a=1&copy=2&ampx&lt9\u00acx",
        )

    def test_longestName(self) -> None:
        """
        The longest name the text starts with wins: C{&notin;} is one
        character; C{&notit;} is C{&not} then text, left as written in an
        attribute because a letter follows.
        """
        self.assertEqual(decodeAttributeValue("&notin;|&notit;"), "\u2209|&notit;")

    def test_unknown(self) -> None:
        """
        Unknown names and a lone C{&} are text.
        """
        self.assertEqual(
            decodeAttributeValue("&bogus; & &; &#; &#x;"), "&bogus; & &; &#; &#x;"
        )

    def test_longRun(self) -> None:
        """
        A long run of letters after C{&} costs no more than the longest name.
        """
        value = "&" + "a" * 1_000_000
        self.assertEqual(decodeAttributeValue(value), value)


class NumericTests(SynchronousTestCase):
    """
    Numeric character references.
    """

    def test_forms(self) -> None:
        """
        Decimal and hexadecimal, with or without the semicolon, with
        leading zeros.
        """
        self.assertEqual(
            decodeAttributeValue("&#47;&#x2F;&#X2f&#0000065;&#x41x"), "//\x2fAAx"
        )

    def test_replaced(self) -> None:
        """
        NUL, surrogates and what is past U+10FFFF (however many digits)
        become U+FFFD; C1 controls are read as windows-1252, except those it
        leaves undefined.
        """
        self.assertEqual(
            decodeAttributeValue(
                "&#0;&#xD800;&#x110000;&#99999999999999999999999;&#x80;&#x9F;&#x81;"
            ),
            "\ufffd\ufffd\ufffd\ufffd\u20ac\u0178\x81",
        )

    def test_kept(self) -> None:
        """
        Other controls and noncharacters are kept, CR among them.
        """
        self.assertEqual(decodeAttributeValue("&#13;&#1;&#xFFFE;"), "\r\x01\ufffe")


class StreamTests(SynchronousTestCase):
    """
    What the input stream and the tokenizer change besides references.
    """

    def test_newlines(self) -> None:
        """
        CR LF and lone CR become LF; NUL becomes U+FFFD.
        """
        self.assertEqual(decodeAttributeValue("a\r\nb\rc\0"), "a\nb\nc\ufffd")

    def test_unchanged(self) -> None:
        """
        A value with nothing to decode is returned as it is.
        """
        value = "/static/app.css"
        self.assertIs(decodeAttributeValue(value), value)


_NAMES_WITH_SEMICOLONS = sorted(name for name in html5 if name.endswith(";"))


class PropertyTests(SynchronousTestCase):
    @settings(database=None, deadline=None)
    @given(
        st.text(
            alphabet=st.sampled_from(list("&#;xX0123456789aAmpltgoc=\0\r\n \u00e9"))
        )
    )
    def test_neverRaises(self, value: str) -> None:
        """
        Any mix of what references are made of decodes without raising, and
        only C{&}, NUL and CR make the value change.
        """
        decoded = decodeAttributeValue(value)
        if not any(c in value for c in "&\0\r"):
            self.assertIs(decoded, value)

    @settings(database=None, deadline=None)
    @given(
        st.lists(
            st.one_of(
                st.sampled_from(_NAMES_WITH_SEMICOLONS).map(lambda name: "&" + name),
                st.text(alphabet=st.characters(blacklist_characters="&\0\r")),
            )
        ).map("".join)
    )
    def test_namesLikeUnescape(self, value: str) -> None:
        """
        Named references written with their semicolon decode as
        C{html.unescape} decodes them.
        """
        self.assertEqual(decodeAttributeValue(value), html.unescape(value))
