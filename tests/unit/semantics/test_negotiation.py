"""
Tests for L{h2site.semantics.negotiation}: Accept-Encoding negotiation.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from h2site.semantics.negotiation import IDENTITY, chooseEncoding, parseAcceptEncoding

BOTH = ("br", "gzip")


class ParseTests(SynchronousTestCase):
    def test_weights(self) -> None:
        """
        Codings lower-cased with their q-values (default 1), x-gzip as gzip,
        the first of repeats kept.
        """
        self.assertEqual(
            parseAcceptEncoding("GZIP;q=0.5, br , x-gzip;q=1, *;Q=0"),
            {"gzip": 0.5, "br": 1.0, "*": 0.0},
        )

    def test_invalidSkipped(self) -> None:
        """
        Elements with a bad q-value, unknown parameters or no token are
        skipped, not fatal.
        """
        self.assertEqual(
            parseAcceptEncoding("br;q=2, gzip;q=0.5555, a b, deflate;level=1, , zstd"),
            {"zstd": 1.0},
        )


class ChooseTests(SynchronousTestCase):
    def test_absent(self) -> None:
        """
        No Accept-Encoding: identity, the one every client reads.
        """
        self.assertEqual(chooseEncoding(None, BOTH), IDENTITY)

    def test_empty(self) -> None:
        """
        An empty field asks for no coding.
        """
        self.assertEqual(chooseEncoding("", BOTH), IDENTITY)

    def test_browser(self) -> None:
        """
        A browser's list: the smallest coding it takes.
        """
        self.assertEqual(chooseEncoding("gzip, deflate, br, zstd", BOTH), "br")
        self.assertEqual(chooseEncoding("gzip, deflate", BOTH), "gzip")
        self.assertEqual(chooseEncoding("gzip, br", ("gzip",)), "gzip")

    def test_qValues(self) -> None:
        """
        The highest q wins; zero refuses.
        """
        self.assertEqual(chooseEncoding("br;q=0.5, gzip", BOTH), "gzip")
        self.assertEqual(chooseEncoding("br;q=0, gzip;q=0", BOTH), IDENTITY)
        self.assertEqual(chooseEncoding("br, identity;q=1", BOTH), "br")
        self.assertEqual(chooseEncoding("gzip;q=0.2, identity;q=0.5", BOTH), IDENTITY)

    def test_star(self) -> None:
        """
        C{*} stands for every coding not named, identity included.
        """
        self.assertEqual(chooseEncoding("*", BOTH), "br")
        self.assertEqual(chooseEncoding("*, br;q=0", BOTH), "gzip")
        self.assertEqual(chooseEncoding("*;q=0", BOTH), IDENTITY)

    def test_identityRefused(self) -> None:
        """
        With identity refused, any acceptable coding is chosen even at a low
        q; with none, identity is sent anyway (RFC 9110's advice).
        """
        self.assertEqual(chooseEncoding("gzip;q=0.1, identity;q=0", BOTH), "gzip")
        self.assertEqual(chooseEncoding("identity;q=0", BOTH), IDENTITY)
        self.assertEqual(chooseEncoding("br, identity;q=0", ()), IDENTITY)

    def test_notAvailable(self) -> None:
        """
        A coding the body does not exist in is never chosen.
        """
        self.assertEqual(chooseEncoding("br", ()), IDENTITY)
        self.assertEqual(chooseEncoding("zstd, deflate", BOTH), IDENTITY)

    @given(st.text(max_size=200), st.permutations(list(BOTH)))
    def test_total(self, value: str, available: list[str]) -> None:
        """
        Whatever the field holds, the answer is identity or an available
        coding, and never one the client gave q=0 (unless identity).
        """
        choice = chooseEncoding(value, tuple(available))
        self.assertIn(choice, (IDENTITY, *available))
        if choice != IDENTITY:
            weights = parseAcceptEncoding(value)
            self.assertGreater(weights.get(choice, weights.get("*", 0.0)), 0)
