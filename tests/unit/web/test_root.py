"""
Tests for L{h2site.web.root}: the resource tree of a template site.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from twisted.internet.defer import succeed
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.test.requesthelper import DummyRequest

from h2site.files.store import FileStore, MemoryLimits
from h2site.preload.graph import PreloadLimits
from h2site.preload.policy import PreloadSettings
from h2site.web.pages import PageResource
from h2site.web.root import buildResource
from tests.helpers import DEMO_ASSETS, DEMO_SITE, makeSite
from tests.unit.web.test_pages import splitLinks


class BuildResourceTests(SynchronousTestCase):
    """
    L{buildResource} works out each page's links once, from the whole asset
    graph.
    """

    def links(
        self, siteDir: Path, path: bytes, preload: PreloadSettings
    ) -> Sequence[bytes]:
        """
        The C{Link} header values of the page at C{/path}.
        """
        root = buildResource(
            str(siteDir),
            Clock(),
            FileStore(
                str(siteDir / "static"),
                MemoryLimits(maxFileSize=0, maxTotalSize=0),
                time.monotonic,
                lambda work: succeed(work()),
            ),
            preload,
        )
        req = DummyRequest([])
        resource = root.getChildWithDefault(path, req)  # type: ignore[arg-type]
        self.assertIsInstance(resource, PageResource)
        resource.render(req)
        self.assertEqual(req.responseCode, 200)
        fields = req.responseHeaders.getRawHeaders(b"link") or []
        self.assertLessEqual(len(fields), 1)
        return [value for field in fields for value in splitLinks(field)]

    def test_demoSite(self) -> None:
        """
        The demo home page announces every asset of its chains, ordered:
        what the page names with its fingerprint (C{?v=}), what the files
        name as they name it.
        """
        links = self.links(DEMO_SITE, b"", PreloadSettings())
        urls = [link.split(b">")[0][1:].decode() for link in links]
        self.assertRegex(urls[0], r"^/static/css/app\.css\?v=[0-9a-f]{16}$")
        self.assertRegex(urls[3], r"^/static/js/main\.mjs\?v=[0-9a-f]{16}$")
        self.assertEqual([url.split("?")[0] for url in urls], DEMO_ASSETS)

    def test_noPreload(self) -> None:
        """
        With preload off, pages carry no C{Link} header.
        """
        self.assertEqual(self.links(DEMO_SITE, b"", PreloadSettings(enabled=False)), [])

    def test_limits(self) -> None:
        """
        The limits apply: depth 0 is the page's own assets only.
        """
        links = self.links(
            DEMO_SITE, b"", PreloadSettings(limits=PreloadLimits(maxDepth=0))
        )
        self.assertEqual(len(links), 3)
        links = self.links(
            DEMO_SITE, b"", PreloadSettings(limits=PreloadLimits(maxLinks=2))
        )
        self.assertEqual(len(links), 2)

    def test_hostileReferences(self) -> None:
        """
        References that climb out of the static folder are never read or
        announced, however they are spelled.
        """
        tmp = Path(self.mktemp()).absolute()
        site = makeSite(
            tmp,
            {
                "index.html": '<link rel=stylesheet href="/static/a.css">'
                '<script type=module src="/static/m.mjs"></script>'
            },
            {
                "a.css": b'@import "../../secret.css"; @import "%2e%2e/secret.css";'
                b'@import "..%2f..%2fsecret.css"; .x{background:url(/etc/passwd)}',
                "m.mjs": b"import '../../secret.mjs'; import '/static/%2e%2e/x.mjs';",
                # Announced only if secret.css (outside the folder) were read.
                "leak.css": b"",
            },
        )
        (tmp / "secret.css").write_bytes(b'@import "/static/leak.css";')
        (tmp / "secret.mjs").write_bytes(b"")
        links = self.links(site, b"", PreloadSettings())
        self.assertEqual(
            links,
            [
                b"</static/a.css>; rel=preload; as=style",
                b"</static/m.mjs>; rel=modulepreload",
            ],
        )
