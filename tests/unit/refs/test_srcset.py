"""Tests for L{h2site.refs.srcset}."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from h2site.refs.srcset import srcsetURLs


def urls(value: str) -> list[str]:
    """
    The candidates' URLs, as text.
    """
    return [value[start:end] for start, end in srcsetURLs(value)]


class SrcsetTests(SynchronousTestCase):
    """
    Where the URLs of a C{srcset} are.
    """

    def test_descriptors(self) -> None:
        """
        Density and width descriptors are not part of the URL.
        """
        self.assertEqual(
            srcsetURLs("a.png 1x, b.png 2x,c.png 300w"), [(0, 5), (10, 15), (19, 24)]
        )

    def test_spacing(self) -> None:
        """
        Any ASCII whitespace and extra commas separate candidates.
        """
        self.assertEqual(urls(" \n\ta.png\t1x ,,\n b.png  2x , "), ["a.png", "b.png"])

    def test_commaInURL(self) -> None:
        """
        A URL runs to whitespace: commas inside it belong to it, trailing
        ones do not.
        """
        self.assertEqual(urls("a.png,b.png 2x"), ["a.png,b.png"])
        self.assertEqual(urls("a.png,,, b.png"), ["a.png", "b.png"])
        self.assertEqual(
            urls("data:image/png;base64,AA== 1x, c.png 2x"),
            ["data:image/png;base64,AA==", "c.png"],
        )

    def test_parentheses(self) -> None:
        """
        A comma inside parentheses in the descriptors does not end the
        candidate; an unclosed parenthesis runs to the end.
        """
        self.assertEqual(urls("a.png 1x (a, b), c.png"), ["a.png", "c.png"])
        self.assertEqual(urls("a.png (1x, c.png"), ["a.png"])

    def test_invalidDescriptors(self) -> None:
        """
        Candidates a browser would reject are still found: their URL is
        where it is.
        """
        self.assertEqual(urls("a.png 1x 2x, b.png foo"), ["a.png", "b.png"])

    def test_empty(self) -> None:
        """
        Empty and blank values have no candidates.
        """
        self.assertEqual(urls(""), [])
        self.assertEqual(urls(" , \n"), [])


class PropertyTests(SynchronousTestCase):
    @settings(database=None, deadline=None)
    @given(st.text(alphabet=st.sampled_from(list("a., \t\n()12xw/"))))
    def test_spans(self, value: str) -> None:
        """
        URLs are in order, not empty, without whitespace, not starting or
        ending with a comma.
        """
        position = 0
        for start, end in srcsetURLs(value):
            self.assertLessEqual(position, start)
            self.assertLess(start, end)
            url = value[start:end]
            self.assertFalse(any(c in url for c in " \t\n"))
            self.assertFalse(url.startswith(",") or url.endswith(","))
            position = end
