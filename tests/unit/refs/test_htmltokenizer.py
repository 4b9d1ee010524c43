"""
Tests for L{h2site.refs.htmltokenizer}.

How each state cuts the text is checked against a transcription of the
standard in L{tests.unit.refs.test_htmltokenizer_states}; these tests
check what tree construction decides (template contents, SVG and MathML),
attributes, the C{names} filter, and properties of any input.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from h2site.refs.htmltokenizer import (
    CDATA,
    COMMENT,
    DOCTYPE,
    DROPPED,
    END_TAG,
    START_TAG,
    TEXT,
    Attribute,
    Token,
    attributesOf,
    tokenize,
)


def kinds(source: str) -> list[tuple[str, str, str]]:
    """
    Each token's kind, name and text.
    """
    return [(t.kind, t.name, source[t.start : t.end]) for t in tokenize(source)]


def tags(source: str, names: set[str] | None = None) -> list[str]:
    """
    The start tags' names, C{/name} for end tags.
    """
    return [
        ("/" if t.kind == END_TAG else "") + t.name
        for t in tokenize(source, names)
        if t.kind in (START_TAG, END_TAG)
    ]


def texts(source: str) -> list[tuple[str, str]]:
    """
    The text tokens, with the element whose content each is.
    """
    return [
        (t.name, source[t.start : t.end]) for t in tokenize(source) if t.kind == TEXT
    ]


class TokenTests(SynchronousTestCase):
    """
    The kinds of token, with their exact text.
    """

    def test_document(self) -> None:
        """
        A small document's tokens, each with its exact text.
        """
        source = "<!DOCTYPE html><P Class=x>Hi<!-- c --></p>"
        self.assertEqual(
            kinds(source),
            [
                (DOCTYPE, "", "<!DOCTYPE html>"),
                (START_TAG, "p", "<P Class=x>"),
                (TEXT, "", "Hi"),
                (COMMENT, "", "<!-- c -->"),
                (END_TAG, "p", "</p>"),
            ],
        )

    def test_bogusComments(self) -> None:
        """
        C{<!...>}, C{<?...>}, C{</ ...>}, C{</>} and, outside SVG and
        MathML, C{<![CDATA[...} are comments ending at the first C{>}.
        """
        source = "<!x><?xml a?></ x></><![CDATA[a>b]]>"
        self.assertEqual(
            kinds(source),
            [
                (COMMENT, "", "<!x>"),
                (COMMENT, "", "<?xml a?>"),
                (COMMENT, "", "</ x>"),
                (COMMENT, "", "</>"),
                (COMMENT, "", "<![CDATA[a>"),
                (TEXT, "", "b]]>"),
            ],
        )

    def test_lessThanInText(self) -> None:
        """
        A C{<} that starts no markup is text.
        """
        self.assertEqual(
            kinds("a < b <3 <<a>"),
            [(TEXT, "", "a < b <3 <"), (START_TAG, "a", "<a>")],
        )

    def test_truncatedTag(self) -> None:
        """
        A document ending inside a tag ends with a L{DROPPED} token: browsers
        drop that tag.
        """
        self.assertEqual(
            kinds("<p>x<a href='y>z</a>"),
            [
                (START_TAG, "p", "<p>"),
                (TEXT, "", "x"),
                (DROPPED, "", "<a href='y>z</a>"),
            ],
        )

    def test_selfClosing(self) -> None:
        """
        A tag is self-closing when it ends with C{/>}, unless the C{/} is
        part of an unquoted value.
        """
        tokens = list(tokenize("<br/><a b=c/><a b='c'/><a / >"))
        self.assertEqual([t.selfClosing for t in tokens], [True, False, True, False])

    def test_nameCase(self) -> None:
        """
        Tag names are lowercased in ASCII only, and NUL becomes U+FFFD;
        KELVIN SIGN is not C{k}, and does not start a tag.
        """
        self.assertEqual(
            tags("<DIV><B\u212a><\u212a><a\0b>"), ["div", "b\u212a", "a\ufffdb"]
        )


class RawTextTests(SynchronousTestCase):
    """
    The content of some elements is text, not markup.
    """

    def test_rawText(self) -> None:
        """
        Inside C{style}, C{xmp}, C{iframe}, C{noembed}, C{noframes},
        C{noscript}, C{title} and C{textarea}, markup is text up to the end
        tag, in any case.
        """
        for name in ["style", "xmp", "iframe", "noembed", "noframes", "noscript"]:
            for closing in [f"</{name}>", f"</{name.upper()} x='>'>", f"</{name}/>"]:
                source = f"<{name}><a href=x></{name}x>{closing}<b>"
                self.assertEqual(tags(source), [name, "/" + name, "b"])
                self.assertEqual(texts(source), [(name, f"<a href=x></{name}x>")])

    def test_rcdata(self) -> None:
        """
        C{title} and C{textarea} too.
        """
        source = "<title><b>&amp;</title><textarea></b></textarea >"
        self.assertEqual(tags(source), ["title", "/title", "textarea", "/textarea"])

    def test_plaintext(self) -> None:
        """
        After C{<plaintext>}, everything is text.
        """
        self.assertEqual(
            texts("<plaintext></plaintext><a>"), [("plaintext", "</plaintext><a>")]
        )

    def test_unclosed(self) -> None:
        """
        Raw text without its end tag runs to the end of the document.
        """
        self.assertEqual(texts("<style><a></style"), [("style", "<a></style")])

    def test_script(self) -> None:
        """
        A script ends at C{</script>}, except inside C{<!--<script>}, up to
        C{-->}, as the script data escape states read it.
        """
        source = (
            "<script>a='<!--<script>';b='</script>';c='-->'</script>"
            "<script>x='<!--'</script><p>"
        )
        self.assertEqual(tags(source), ["script", "/script", "script", "/script", "p"])
        self.assertEqual(
            texts(source),
            [
                ("script", "a='<!--<script>';b='</script>';c='-->'"),
                ("script", "x='<!--'"),
            ],
        )

    def test_selfClosingScript(self) -> None:
        """
        C{<script/>} still opens a script: HTML ignores the slash.
        """
        self.assertEqual(tags("<script/><a></script><b>"), ["script", "/script", "b"])


class TemplateTests(SynchronousTestCase):
    """
    Tokens inside C{<template>} contents say so.
    """

    def test_nested(self) -> None:
        """
        Templates nest; the template tags themselves are outside.
        """
        source = "<template><a><template><b></template><c></template><d></template>"
        self.assertEqual(
            [(t.name, t.inTemplate) for t in tokenize(source) if t.kind != TEXT],
            [
                ("template", False),
                ("a", True),
                ("template", True),
                ("b", True),
                ("template", True),
                ("c", True),
                ("template", False),
                ("d", False),
                ("template", False),
            ],
        )

    def test_rawTextInside(self) -> None:
        """
        A C{</template>} in a script inside a template is text.
        """
        source = "<template><script></template></script></template><a>"
        self.assertEqual(
            [(t.name, t.inTemplate) for t in tokenize(source, {"a"})], [("a", False)]
        )


class ForeignContentTests(SynchronousTestCase):
    """
    In SVG and MathML, the elements that hold text in HTML hold markup.
    """

    def test_svgStyle(self) -> None:
        """
        An SVG C{<style>} and C{<title>} hold markup, and C{</svg>} returns
        to HTML.
        """
        source = "<svg><style><a></style><title><b></title></svg><style><c></style>"
        svg = ["svg", "style", "a", "/style", "title", "b", "/title", "/svg"]
        self.assertEqual(tags(source), [*svg, "style", "/style"])

    def test_cdata(self) -> None:
        """
        CDATA sections exist in SVG and MathML.
        """
        source = "<svg><![CDATA[<a>]]></svg><![CDATA[<b>]]>"
        self.assertEqual(
            kinds(source),
            [
                (START_TAG, "svg", "<svg>"),
                (CDATA, "", "<![CDATA[<a>]]>"),
                (END_TAG, "svg", "</svg>"),
                (COMMENT, "", "<![CDATA[<b>"),
                (TEXT, "", "]]>"),
            ],
        )

    def test_selfClosingRoot(self) -> None:
        """
        C{<svg/>} opens no SVG content.
        """
        self.assertEqual(texts("<svg/><style><a></style>"), [("style", "<a>")])

    def test_breakout(self) -> None:
        """
        An HTML element such as C{<p>} (or C{<font>} with C{color}, C{face}
        or C{size}) ends unclosed SVG content, and is read as HTML.
        """
        for opener in ["<p>", "<DIV class=x>", "<font color=red>", "<img src=x>"]:
            source = f"<svg><g>{opener}<style><a></style>"
            self.assertEqual(texts(source), [("style", "<a>")], source)
        self.assertEqual(texts("<svg><font><style><a></style>"), [])

    def test_integrationPoints(self) -> None:
        """
        In C{foreignObject}, C{desc} and SVG C{title}, in MathML text
        elements and in C{annotation-xml} holding HTML, start tags are HTML
        again; the element's end tag returns to SVG or MathML.
        """
        for open, close in [
            ("<svg><foreignObject>", "</foreignObject><style><b></style>"),
            ("<svg><desc>", "</desc><style><b></style>"),
            ("<math><mi>", "</mi><style><b></style>"),
            ("<math><annotation-xml encoding=Text/HTML>", "</annotation-xml>"),
        ]:
            source = f"{open}<style><a></style><div></div>{close}"
            self.assertEqual(texts(source), [("style", "<a>")], source)

    def test_mathmlTextExceptions(self) -> None:
        """
        In a MathML text element, C{mglyph} stays MathML, and so does what an
        C{annotation-xml} without an HTML encoding holds.
        """
        self.assertEqual(texts("<math><mi><mglyph><style><a></style>"), [])
        self.assertEqual(texts("<math><annotation-xml><style><a></style>"), [])

    def test_unknownEndTag(self) -> None:
        """
        An end tag that closes no open SVG element most likely closes an
        HTML one around it: what follows is read as HTML, where text stays
        text.
        """
        self.assertEqual(
            texts("<div><svg><g></div><style><a></style>"), [("style", "<a>")]
        )

    def test_foreignFlag(self) -> None:
        """
        Tags of SVG and MathML elements, and what is in their content, say
        they are foreign; HTML inside an integration point, and what breaks
        out, do not.
        """
        source = (
            "<p><svg><link href=a>x<foreignObject><link href=b></foreignObject>"
            "</svg><link href=c><math><mi><script src=d></script></mi>"
            "<script src=e></script><img src=f></math>"
        )
        self.assertEqual(
            [
                (source[t.start : t.end], t.foreign)
                for t in tokenize(source)
                if t.kind != END_TAG
            ],
            [
                ("<p>", False),
                ("<svg>", True),
                ("<link href=a>", True),
                ("x", True),
                ("<foreignObject>", True),
                ("<link href=b>", False),
                ("<link href=c>", False),
                ("<math>", True),
                ("<mi>", True),
                ("<script src=d>", False),
                ("<script src=e>", True),
                ("<img src=f>", False),
            ],
        )

    def test_svgInsideForeignObject(self) -> None:
        """
        SVG nests in HTML inside SVG.
        """
        source = (
            "<svg><foreignObject><svg><style><a></style></svg></foreignObject></svg>"
        )
        self.assertEqual(texts(source), [])
        self.assertEqual(texts(source + "<style><b></style>"), [("style", "<b>")])


class AttributeTests(SynchronousTestCase):
    """
    L{attributesOf} reads a tag's attributes with their exact positions.
    """

    def attributes(self, source: str) -> list[Attribute]:
        """
        The attributes of the first tag in C{source}.
        """
        return attributesOf(source, next(tokenize(source)))

    def test_forms(self) -> None:
        """
        Quoted, unquoted and missing values; the value's span is inside the
        quotes, or right after the name when there is no value.
        """
        source = "<a B=1 c='2' d=\"3\" e f = 6 g=>"
        self.assertEqual(
            self.attributes(source),
            [
                Attribute("b", "1", 5, 6),
                Attribute("c", "2", 10, 11),
                Attribute("d", "3", 16, 17),
                Attribute("e", "", 20, 20),
                Attribute("f", "6", 25, 26),
                Attribute("g", "", 29, 29),
            ],
        )

    def test_duplicates(self) -> None:
        """
        Of attributes with the same name (in any case), the first counts.
        """
        self.assertEqual(
            self.attributes("<a x=1 X=2 x=3 y>"),
            [Attribute("x", "1", 5, 6), Attribute("y", "", 16, 16)],
        )

    def test_decoded(self) -> None:
        """
        Values are decoded; their spans still give the text as written.
        """
        source = "<a href='/a?b=1&amp;c=2&copy=3' t='x\r\ny\0'>"
        attributes = self.attributes(source)
        self.assertEqual(
            [a.value for a in attributes], ["/a?b=1&c=2&copy=3", "x\ny\ufffd"]
        )
        self.assertEqual(
            [source[a.valueStart : a.valueEnd] for a in attributes],
            ["/a?b=1&amp;c=2&copy=3", "x\r\ny\0"],
        )

    def test_oddNames(self) -> None:
        """
        Attribute names may hold quotes and C{<}, and start with C{=}.
        """
        self.assertEqual(
            [a.name for a in self.attributes("<a =b c\"d<e='f'>")], ["=b", 'c"d<e']
        )

    def test_endTag(self) -> None:
        """
        End tags have attributes too, as far as the tokenizer goes.
        """
        self.assertEqual(self.attributes("</a b=c>"), [Attribute("b", "c", 6, 7)])


class NamesTests(SynchronousTestCase):
    """
    Given tag names, L{tokenize} produces those tags only.
    """

    def test_filtered(self) -> None:
        """
        Only the start and end tags named come out, with the same fields as
        without the filter, and tags inside comments, raw text, and other
        tags' values are not taken for tags.
        """
        source = (
            "<!-- <link x> --><div title='<link y>'><link rel=a>"
            "<script>'<link z>'</script><LINK/></div><title><link></title>"
        )
        everything = [t for t in tokenize(source) if t.name == "link"]
        self.assertEqual(list(tokenize(source, {"link"})), everything)
        self.assertEqual(len(everything), 2)

    def test_notNames(self) -> None:
        """
        What cannot be a tag's name as tokens name it (uppercase, not
        starting with a letter) matches nothing.
        """
        self.assertEqual(tags("<A><1x><a b>", {"A", "1x", "", "a b", ">"}), [])

    def test_prefixes(self) -> None:
        """
        A name matches whole names only.
        """
        self.assertEqual(tags("<li><lin><link><links>", {"link"}), ["link"])


# Pieces of markup random documents are made of, so that the properties are
# tested on what reaches the interesting paths.
_PIECES = [
    "<",
    ">",
    "/",
    "</",
    "!",
    "-",
    "=",
    '"',
    "'",
    " ",
    "\n",
    "\0",
    "<a",
    "<link",
    "<LINK",
    "<img",
    "<p>",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "<script>",
    "</script>",
    "<style>",
    "</style>",
    "<title>",
    "</title>",
    "<template>",
    "</template>",
    "<svg>",
    "</svg>",
    "<math>",
    "<mi>",
    "</mi>",
    "<foreignObject>",
    "</foreignObject>",
    "<font color=x>",
    "<plaintext>",
    " href=",
    "&amp;",
]

_MARKUP = st.lists(
    st.one_of(st.sampled_from(_PIECES), st.text(max_size=3)), max_size=40
).map("".join)

_NAMES = st.sets(st.sampled_from(["a", "link", "img", "script", "svg", "mi", "p"]))


class PropertyTests(SynchronousTestCase):
    """
    Properties that hold for any input.
    """

    def assertCovers(self, source: str, tokens: list[Token]) -> None:
        """
        The tokens cover C{source} end to end, in order, each not empty.
        """
        position = 0
        for token in tokens:
            self.assertEqual(token.start, position, (source, token))
            self.assertGreater(token.end, token.start, (source, token))
            position = token.end
        self.assertEqual(position, len(source))
        self.assertEqual("".join(source[t.start : t.end] for t in tokens), source)

    def assertFiltered(self, source: str, names: set[str]) -> None:
        """
        Filtering by C{names} gives the tags with those names, and
        attributes read the same.
        """
        expected = [t for t in tokenize(source) if t.name in names and t.kind != TEXT]
        self.assertEqual(list(tokenize(source, names)), expected)
        for tag in expected:
            for attribute in attributesOf(source, tag):
                self.assertLessEqual(tag.start, attribute.valueStart)
                self.assertLessEqual(attribute.valueEnd, tag.end)

    @settings(database=None, deadline=None)
    @given(st.text(), _NAMES)
    def test_arbitraryText(self, source: str, names: set[str]) -> None:
        """
        Arbitrary text: L{tokenize} never raises, its tokens give back the
        text, and filtering gives the same tags.
        """
        self.assertCovers(source, list(tokenize(source)))
        self.assertFiltered(source, names)

    @settings(database=None, deadline=None, max_examples=1000)
    @given(_MARKUP, _NAMES)
    def test_arbitraryMarkup(self, source: str, names: set[str]) -> None:
        """
        The same for random sequences of markup pieces.
        """
        self.assertCovers(source, list(tokenize(source)))
        self.assertFiltered(source, names)

    def test_deepNesting(self) -> None:
        """
        Deep SVG nesting and many tags cost no recursion, and end tags that
        close nothing no walk down the open elements (which would take
        hours here).
        """
        source = (
            "<svg>"
            + "<g>" * 100_000
            + "<foreignObject>"
            + "</x>" * 100_000
            + "<template>" * 100_000
        )
        self.assertCovers(source, list(tokenize(source)))
