"""
Tests for L{h2site.refs.links}: C{Link} header values.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from h2site.refs.asset import Asset
from h2site.refs.html import findAssets
from h2site.refs.links import linkHeaderValue, linkHeaderValues
from tests.assets import module, script, style


class LinkHeaderValueTests(SynchronousTestCase):
    """
    L{linkHeaderValue} formats RFC 8288 values.
    """

    def test_style(self) -> None:
        """
        A style preload.
        """
        self.assertEqual(
            linkHeaderValue(style("/static/app.css")),
            "</static/app.css>; rel=preload; as=style",
        )

    def test_script(self) -> None:
        """
        A classic script preload.
        """
        self.assertEqual(
            linkHeaderValue(script("/static/js/app.js?v=3")),
            "</static/js/app.js?v=3>; rel=preload; as=script",
        )

    def test_modulepreload(self) -> None:
        """
        A modulepreload has no C{as}.
        """
        self.assertEqual(
            linkHeaderValue(module("/static/js/main.mjs")),
            "</static/js/main.mjs>; rel=modulepreload",
        )

    def test_font(self) -> None:
        """
        A font preload has a quoted C{type} and a bare C{crossorigin}.
        """
        asset = Asset(
            "/static/fonts/x.woff2",
            "preload",
            "font",
            type="font/woff2",
            crossorigin="anonymous",
        )
        self.assertEqual(
            linkHeaderValue(asset),
            '</static/fonts/x.woff2>; rel=preload; as=font; type="font/woff2"; '
            "crossorigin",
        )

    def test_image(self) -> None:
        """
        An icon preload.
        """
        self.assertEqual(
            linkHeaderValue(Asset("/favicon.ico", "preload", "image")),
            "</favicon.ico>; rel=preload; as=image",
        )

    def test_credentials(self) -> None:
        """
        C{use-credentials} is spelled out.
        """
        self.assertEqual(
            linkHeaderValue(module("/m.mjs", crossorigin="use-credentials")),
            "</m.mjs>; rel=modulepreload; crossorigin=use-credentials",
        )

    def test_unknownCrossorigin(self) -> None:
        """
        Any other C{crossorigin} value means anonymous, as in HTML.
        """
        self.assertEqual(
            linkHeaderValue(style("/a.css", crossorigin="")),
            "</a.css>; rel=preload; as=style; crossorigin",
        )

    def test_media(self) -> None:
        """
        C{media} is a quoted string.
        """
        self.assertEqual(
            linkHeaderValue(style("/a.css", media="(min-width: 40em)")),
            '</a.css>; rel=preload; as=style; media="(min-width: 40em)"',
        )

    def test_parameterOrder(self) -> None:
        """
        Parameters come in the order rel, as, type, crossorigin, media.
        """
        asset = Asset(
            "/f.woff2",
            "preload",
            "font",
            type="font/woff2",
            crossorigin="use-credentials",
            media="screen",
        )
        self.assertEqual(
            linkHeaderValue(asset),
            '</f.woff2>; rel=preload; as=font; type="font/woff2"; '
            'crossorigin=use-credentials; media="screen"',
        )

    def test_emptyOptionalParameters(self) -> None:
        """
        Empty C{as}, C{type} and C{media} are left out.
        """
        self.assertEqual(
            linkHeaderValue(Asset("/a", "preload", "", type="", media="")),
            "</a>; rel=preload",
        )

    def test_urlEncoding(self) -> None:
        """
        Characters not allowed inside C{<...>} are percent-encoded as UTF-8,
        so no URL can end the header line or the reference.
        """
        self.assertEqual(
            linkHeaderValue(style('/a b/é<>"\r\n\x7f.css?x=%41')),
            "</a%20b/%C3%A9%3C%3E%22%0D%0A%7F.css?x=%41>; rel=preload; as=style",
        )

    def test_quotedStringEscapes(self) -> None:
        """
        Quoted strings escape C{"} and C{\\}; anything but printable ASCII,
        CR and LF included, becomes a space.
        """
        asset = style("/a.css", media='a"b\\c\r\nd\xe9')
        self.assertEqual(
            linkHeaderValue(asset),
            '</a.css>; rel=preload; as=style; media="a\\"b\\\\c  d "',
        )

    def test_nonTokenParameters(self) -> None:
        """
        C{rel} and C{as} values that are not tokens are quoted, so they
        cannot inject parameters.
        """
        self.assertEqual(
            linkHeaderValue(Asset("/a", "preload x", "style; rel=stylesheet")),
            '</a>; rel="preload x"; as="style; rel=stylesheet"',
        )

    def test_linkHeaderValues(self) -> None:
        """
        L{linkHeaderValues} formats each asset in order.
        """
        self.assertEqual(
            linkHeaderValues(iter([style("/a.css"), module("/m.mjs")])),
            ["</a.css>; rel=preload; as=style", "</m.mjs>; rel=modulepreload"],
        )

    def test_page(self) -> None:
        """
        A whole page yields the expected header values.
        """
        html = """<!DOCTYPE html>
<html lang=en>
<head>
  <meta charset=utf-8>
  <title>Post</title>
  <link rel=preload href="../static/fonts/inter.woff2" as=font type="font/woff2">
  <link rel=stylesheet href="../static/css/app.css?v=7">
  <link rel=stylesheet href="https://fonts.example/css">
  <link rel="icon" href="/favicon.svg" type="image/svg+xml">
  <script type=module src="../static/js/main.mjs"></script>
  <script nomodule src="../static/js/legacy.js"></script>
</head>
<body><img src="/static/img/a.png"></body>
</html>"""
        self.assertEqual(
            linkHeaderValues(findAssets(html, "/blog/post")),
            [
                '</static/fonts/inter.woff2>; rel=preload; as=font; type="font/woff2"; '
                "crossorigin",
                "</static/css/app.css?v=7>; rel=preload; as=style",
                '</favicon.svg>; rel=preload; as=image; type="image/svg+xml"',
                "</static/js/main.mjs>; rel=modulepreload",
            ],
        )


class FetchPriorityHeaderTests(SynchronousTestCase):
    """
    The priority is the last link parameter.
    """

    def test_fetchpriority(self) -> None:
        """
        C{fetchpriority} follows the other parameters.
        """
        self.assertEqual(
            linkHeaderValue(
                Asset("/a.png", "preload", "image", media="print", fetchpriority="high")
            ),
            '</a.png>; rel=preload; as=image; media="print"; fetchpriority=high',
        )
