"""
End-to-end tests of preload: the real C{twistd -n h2site} process with the
demo site, over real TLS, asked by real clients (curl and nghttp) for the
C{Link} headers and C{103 Early Hints} a browser would act on.
"""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path
from urllib.parse import urljoin

import httpx
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import (
    DEMO_ASSETS,
    copySite,
    requireTool,
    sharedCertificates,
    startServer,
)

NAVIGATE = ["-H", "Sec-Fetch-Mode: navigate", "-H", "Accept: text/html"]

#: What an HTTP/2 navigation gets.
H2_NAVIGATION = ["HTTP/2 103", "HTTP/2 200"]


def responses(headerDump: str) -> list[tuple[str, list[str]]]:
    """
    Split C{curl -D -} output into (status line, C{Link} values) per
    response, interim ones included, in order.  h2site sends one C{Link}
    field with the values joined by commas; they are split again here (our
    URLs are percent-encoded, so C{", <"} only ever starts a value).
    """
    result: list[tuple[str, list[str]]] = []
    for block in re.split(r"\r?\n\r?\n", headerDump.strip()):
        lines = block.splitlines()
        if not lines:
            continue
        links = [
            value
            for line in lines[1:]
            if line.lower().startswith("link:")
            for value in re.split(r", (?=<)", line.split(":", 1)[1].strip())
        ]
        result.append((lines[0].strip(), links))
    return result


def assetURLs(links: list[str]) -> list[str]:
    """
    The URLs of C{Link} values, in order, without fingerprints.
    """
    return [link.split(">", 1)[0].lstrip("<").split("?", 1)[0] for link in links]


class PreloadEndToEndTests(SynchronousTestCase):
    """
    The demo site's pages announce their whole asset graph.
    """

    def start(self, *options: str) -> None:
        self.certs = sharedCertificates()
        self.tmp = Path(self.mktemp()).absolute()
        self.tmp.mkdir()
        self.site = copySite(self.tmp / "site")
        self.server = startServer(
            self,
            "--site",
            str(self.site),
            "--port",
            self.certs.endpoint(),
            *options,
            cwd=self.tmp,
        )

    def curl(self, *args: str, path: str = "/") -> list[tuple[str, list[str]]]:
        """
        Fetch C{path} with curl, trusting the test CA, and return the
        responses it saw.
        """
        done = subprocess.run(
            [
                requireTool("curl"),
                "--silent",
                "--show-error",
                "--cacert",
                str(self.certs.caCert),
                "--dump-header",
                "-",
                "--output",
                "/dev/null",
                *args,
                self.server.url + path,
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return responses(done.stdout)

    def test_earlyHintsOverHTTP2(self) -> None:
        """
        A navigation over HTTP/2 gets a 103 with every asset of the page
        (its own and those its stylesheets and modules pull in), then the
        200 with the same C{Link} set.
        """
        self.start()
        seen = self.curl("--http2", *NAVIGATE)
        self.assertEqual([status for status, _ in seen], ["HTTP/2 103", "HTTP/2 200"])
        (_, early), (_, final) = seen
        self.assertEqual(assetURLs(final), DEMO_ASSETS)
        self.assertEqual(early, final)
        fingerprint = r"\?v=[0-9a-f]{16}"
        self.assertTrue(
            any(
                re.fullmatch(
                    rf"</static/fonts/h2display\.woff2{fingerprint}>; rel=preload; "
                    'as=font; type="font/woff2"; crossorigin',
                    link,
                )
                for link in final
            ),
            final,
        )
        self.assertTrue(
            any(
                re.fullmatch(
                    rf"</static/js/lib/format\.mjs{fingerprint}>; rel=modulepreload",
                    link,
                )
                for link in final
            ),
            final,
        )

    def test_nghttp(self) -> None:
        """
        nghttp (a second, independent HTTP/2 client) sees the 103 HEADERS
        frame on the stream before the 200.
        """
        self.start()
        done = subprocess.run(
            [
                requireTool("nghttp"),
                "--verbose",
                "--null-out",
                "--header=sec-fetch-mode: navigate",
                self.server.url + "/about",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        statuses = re.findall(r":status: (\d+)", done.stdout)
        self.assertEqual(statuses, ["103", "200"])
        interim = done.stdout.split(":status: 103", 1)[1].split(":status: 200", 1)[0]
        self.assertEqual(len(re.findall(r"\) link: <", interim)), 1)
        self.assertEqual(interim.count("rel="), len(DEMO_ASSETS))

    def test_notModified(self) -> None:
        """
        A page revalidated with its C{ETag} answers 304 with the same
        C{Link} set.
        """
        self.start()
        first = self.curl("--http2", "-H", "Sec-Fetch-Mode: cors")
        done = subprocess.run(
            [
                requireTool("curl"),
                "--silent",
                "--cacert",
                str(self.certs.caCert),
                "--http2",
                "--dump-header",
                "-",
                "--output",
                "/dev/null",
                self.server.url + "/",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        etag = re.search(r"^etag: (.+?)\r?$", done.stdout, re.I | re.M)
        assert etag is not None, done.stdout
        seen = self.curl("--http2", *NAVIGATE, "-H", f"If-None-Match: {etag.group(1)}")
        self.assertEqual(seen[-1][0], "HTTP/2 304")
        self.assertEqual(seen[-1][1], first[0][1])

    def test_notForSubresourceFetches(self) -> None:
        """
        A request that is not a navigation gets the C{Link} header but no
        103.
        """
        self.start()
        seen = self.curl("--http2", "-H", "Sec-Fetch-Mode: cors")
        self.assertEqual([status for status, _ in seen], ["HTTP/2 200"])
        self.assertEqual(assetURLs(seen[0][1]), DEMO_ASSETS)
        seen = self.curl("--http2", "-H", "Accept: */*")
        self.assertEqual([status for status, _ in seen], ["HTTP/2 200"])

    def test_http11Default(self) -> None:
        """
        By default there is no 103 over HTTP/1.1 (some old clients
        mishandle 1xx), but the C{Link} header is there.
        """
        self.start()
        seen = self.curl("--http1.1", *NAVIGATE)
        self.assertEqual([status for status, _ in seen], ["HTTP/1.1 200 OK"])
        self.assertEqual(assetURLs(seen[0][1]), DEMO_ASSETS)

    def test_earlyHintsAll(self) -> None:
        """
        With C{--early-hints=all}, HTTP/1.1 navigations get the 103 too; an
        HTTP/1.0 request never does (it has no 1xx responses).
        """
        self.start("--early-hints", "all")
        seen = self.curl("--http1.1", *NAVIGATE)
        self.assertEqual(
            [status for status, _ in seen],
            ["HTTP/1.1 103 Early Hints", "HTTP/1.1 200 OK"],
        )
        self.assertEqual(seen[0][1], seen[1][1])
        self.assertEqual(assetURLs(seen[0][1]), DEMO_ASSETS)
        seen = self.curl("--http1.0", "--no-alpn", *NAVIGATE)
        self.assertEqual([status for status, _ in seen], ["HTTP/1.0 200 OK"])
        seen = self.curl("--http2", *NAVIGATE)
        self.assertEqual([status for status, _ in seen], H2_NAVIGATION)

    def test_earlyHintsOff(self) -> None:
        """
        C{--early-hints=off} keeps the C{Link} header and sends no 103.
        """
        self.start("--early-hints", "off")
        seen = self.curl("--http2", *NAVIGATE)
        self.assertEqual([status for status, _ in seen], ["HTTP/2 200"])
        self.assertEqual(assetURLs(seen[0][1]), DEMO_ASSETS)

    def test_noPreload(self) -> None:
        """
        C{--no-preload}: no C{Link} header and no 103.
        """
        self.start("--no-preload")
        seen = self.curl("--http2", *NAVIGATE)
        self.assertEqual(seen, [("HTTP/2 200", [])])

    def test_limits(self) -> None:
        """
        C{--preload-depth} and C{--preload-max-links} bound what is sent.
        """
        self.start("--preload-depth", "0", "--preload-max-links", "2")
        seen = self.curl("--http2", *NAVIGATE)
        self.assertEqual(
            [(status, assetURLs(links)) for status, links in seen],
            [
                (status, ["/static/css/app.css", "/static/js/main.mjs"])
                for status in H2_NAVIGATION
            ],
        )

    def test_badOption(self) -> None:
        """
        A bad preload option stops start-up with one line.
        """
        from tests.helpers import runTwistd

        self.certs = sharedCertificates()
        tmp = Path(self.mktemp()).absolute()
        tmp.mkdir()
        site = copySite(tmp / "site")
        done = runTwistd("--site", str(site), "--early-hints", "sometimes", cwd=tmp)
        self.assertNotEqual(done.code, 0)
        self.assertIn(
            "--early-hints 'sometimes' is not one of off, h2, all", done.stderr
        )
        self.assertNotIn("Traceback", done.stderr + done.stdout)

    def test_reload(self) -> None:
        """
        The graph is worked out again on reload: a stylesheet that gains an
        import announces it after SIGHUP.
        """
        self.start()
        # Served once first: "listening" is logged before the SIGHUP handler
        # is installed, a request is answered only after.
        self.assertNotIn("/static/css/extra.css", assetURLs(self.curl()[-1][1]))
        static = self.site / "static"
        (static / "css" / "extra.css").write_text("p { color: red }")
        app = static / "css" / "app.css"
        app.write_text('@import "extra.css";\n' + app.read_text())
        self.server.signal(signal.SIGHUP)
        self.server.waitForOutput(r"reloaded; now serving the new version")
        seen = self.curl("--http2", *NAVIGATE)
        self.assertIn("/static/css/extra.css", assetURLs(seen[-1][1]))
        # Fingerprinted, as the rebuilt stylesheet names it.
        self.assertTrue(
            any(link.startswith("</static/css/extra.css?v=") for link in seen[-1][1]),
            seen,
        )


#: A reference carrying a fingerprint, inside a stylesheet or a module.
_FINGERPRINTED_REFERENCE = re.compile(r"""["'(]([^"'()\s]+\?v=[0-9a-f]{16})["')]""")


class FingerprintEndToEndTests(SynchronousTestCase):
    """
    What the demo home page pulls in through its stylesheet and modules is
    requested, and announced, by fingerprinted URLs that may be cached as
    immutable.
    """

    def test_fingerprintedThroughout(self) -> None:
        """
        Every URL the page announces (in the 103 and the 200) carries a
        fingerprint and answers with the immutable C{Cache-Control}; the
        stylesheet and modules, fetched at those URLs, name their imports,
        font and image by exactly the announced URLs; and the page names
        its stylesheet and entry module by them too.
        """
        certs = sharedCertificates()
        tmp = Path(self.mktemp()).absolute()
        tmp.mkdir()
        site = copySite(tmp / "site")
        server = startServer(
            self, "--site", str(site), "--port", certs.endpoint(), cwd=tmp
        )
        with httpx.Client(http2=True, verify=certs.sslContext(), timeout=30) as client:
            page = client.get(server.url + "/")
            self.assertEqual(page.http_version, "HTTP/2")
            links = [
                value.split(">", 1)[0].lstrip("<")
                for value in re.split(r", (?=<)", page.headers["link"])
            ]
            self.assertEqual([url.split("?", 1)[0] for url in links], DEMO_ASSETS)
            for url in links:
                self.assertRegex(url, r"\?v=[0-9a-f]{16}$")
            for url in ["/static/css/app.css", "/static/js/main.mjs"]:
                announced = next(u for u in links if u.startswith(url + "?"))
                self.assertIn(f'"{announced}"', page.text)
            named: set[str] = set()
            for url in links:
                response = client.get(server.url + url)
                self.assertEqual(response.status_code, 200, url)
                self.assertEqual(
                    response.headers["cache-control"],
                    "public, max-age=31536000, immutable",
                    url,
                )
                if url.split("?", 1)[0].endswith((".css", ".mjs")):
                    named.update(
                        urljoin(url, reference)
                        for reference in _FINGERPRINTED_REFERENCE.findall(response.text)
                    )
            # Each deep asset is named, fingerprinted, by the stylesheet or a
            # module exactly as announced; and nothing else is.
            deep = [u for u in links if u.split("?", 1)[0] not in _PAGE_OWN]
            self.assertEqual(named, set(deep))
            unversioned = client.get(server.url + "/static/css/base.css")
            self.assertEqual(unversioned.headers["cache-control"], "no-cache")

        seen = subprocess.run(
            [
                requireTool("curl"),
                "--silent",
                "--show-error",
                "--http2",
                "--cacert",
                str(certs.caCert),
                "--dump-header",
                "-",
                "--output",
                "/dev/null",
                *NAVIGATE,
                server.url + "/",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        (interim, early), (_, final) = responses(seen.stdout)
        self.assertEqual(interim, "HTTP/2 103")
        self.assertEqual([v.split(">", 1)[0].lstrip("<") for v in early], links)
        self.assertEqual(early, final)


#: What the demo page names itself (with static_url()).
_PAGE_OWN = {"/static/css/app.css", "/static/js/main.mjs", "/static/img/favicon.svg"}
