"""
Real generator output that no one here wrote: Debian's Python documentation
(python3-doc, Sphinx's output: 530 pages, 1,063 files, 67 MB) served as a
plain site by the real C{twistd h2site} process, to real clients (httpx over
HTTP/2, curl).

Two forms of it: a copy with its symlinks resolved, as a generator's output
would be, which is served in full; and the folder as Debian installs it,
whose two links out of the folder (to C{/usr/share/javascript}) h2site
refuses and reports.

What is broken is counted independently of h2site, from the files: Debian's
docs link to a changelog page they do not ship.
"""

from __future__ import annotations

import asyncio
import html
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import brotli
import httpx
from twisted.trial.unittest import SynchronousTestCase

from h2site.refs.pagerefs import pageReferences
from tests.helpers import (
    TIMEOUT,
    ClassFixture,
    Server,
    SharedFixtureTestCase,
    copyPythonDocs,
    linkValues,
    requirePythonDocs,
    requireTool,
    sharedCertificates,
    testEnvironment,
    twistdCommand,
)

#: The page Debian's docs link to and do not ship: Debian builds them without
#: the changelog (Misc/NEWS), and the what's new pages, the tutorial's index,
#: the contents and the general index still link to it.
MISSING_PAGE = "/whatsnew/changelog.html"

#: How many pages link to it: the broken links of the docs, on disk and
#: served (whatsnew/index, 2.0, 3.7 to 3.11, tutorial/index, contents,
#: genindex-all and genindex-E, H, I, P, R, S, U).
BROKEN_LINKS = 17

#: The pages no other page links to (Sphinx writes them, nothing names
#: them): the crawl from / cannot reach them, and fetches them by name.
UNLINKED = {
    "/distutils/_setuptools_disclaimer.html",
    "/distutils/packageindex.html",
    "/distutils/uploading.html",
    "/includes/wasm-notavail.html",
}

#: The HTML files of the docs: every one of them has hints.
PAGES = 530

#: The files Debian links out of the folder (to /usr/share/javascript).
REFUSED = ("_static/jquery.js", "_static/underscore.js")

#: What the folder as installed names that nothing answers: every page names
#: both refused scripts (2 x 530), and the 17 links to the changelog.
INSTALLED_BROKEN = 2 * PAGES + BROKEN_LINKS

#: A page over --static-memory-file (256 KiB; it is 707 KB): kept on disk,
#: so fingerprinted into a file of the cache folder, sent and compressed
#: from there.
LARGE_PAGE = "library/stdtypes.html"

#: Bounds on the server's work after it listens, generous for a loaded CI
#: machine: the hints and the report of broken references (about 10 s here),
#: and every file compressed with brotli and gzip (about 70 s here).
HINTS_TIMEOUT = 300.0
READY_TIMEOUT = 900.0

#: Bounds on the crawl: requests in flight at once, distinct URLs, and time.
CONCURRENCY = 8
MAX_URLS = 5000
CRAWL_TIMEOUT = 300.0

#: How long --check may take (about 12 s for the docs on an idle machine).
CHECK_TIMEOUT = 300.0

_HINTS_READY = rf"h2site preload hints ready for {PAGES} pages"
_FILES_READY = r"h2site static files ready"
_IMMUTABLE = "public, max-age=31536000, immutable"
_FINGERPRINT = re.compile(r"[?&]v=[0-9a-f]{16}$")
#: What h2site inserts into a reference to fingerprint it.
_INSERTED = re.compile(rb"\?v=[0-9a-f]{16}")


def serve(site: Path, cwd: Path) -> Server:
    """
    Start h2site on C{site}, with the access log in a file (the crawl's
    thousands of lines would otherwise fill the output tests read).
    """
    return Server(
        args=(
            "--site",
            str(site),
            "--port",
            sharedCertificates().endpoint(),
            "--access-log",
            str(cwd / "access.log"),
        ),
        cwd=cwd,
    ).start()


def check(site: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """
    Run C{twistd h2site --site SITE --check}.
    """
    return subprocess.run(
        twistdCommand("--site", str(site), "--check"),
        cwd=cwd,
        env=testEnvironment(cwd),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=CHECK_TIMEOUT,
    )


def client(server: Server) -> httpx.Client:
    """
    An HTTP/2-only client of C{server}.
    """
    return httpx.Client(
        http2=True,
        http1=False,
        verify=sharedCertificates().sslContext(),
        base_url=server.url,
        timeout=TIMEOUT,
    )


# What is broken, worked out from the files alone: a scan of the pages'
# tags and the URL rules of static hosts, sharing nothing with h2site.  The
# scan is enough for this generator's output, whose attribute values are
# quoted and whose text has its "<" escaped; were it wrong, the counts it
# gives would differ from the crawl's.

_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_RAW_TEXT = re.compile(r"(<(script|style)\b[^>]*>).*?</\2\s*>", re.DOTALL | re.I)
_TAG = re.compile(r"<[a-zA-Z][^\s/>]*(\s[^>]*)>")
_NAMES_URL = re.compile(r"\b(?:href|src|srcset)\s*=", re.I)
_ATTRIBUTE = re.compile(
    r"""([^\s"'>/=]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))"""
)
_ORIGIN = "https://docs.test"


def scanReferences(page: str) -> Iterator[str]:
    """
    Every C{href}, C{src} and C{srcset} URL of the tags of a page, as
    written (character references decoded).
    """
    page = _RAW_TEXT.sub(r"\1", _COMMENT.sub("", page))
    for tag in _TAG.finditer(page):
        attributes = tag.group(1)
        if not _NAMES_URL.search(attributes):
            continue
        for attribute in _ATTRIBUTE.finditer(attributes):
            name = attribute.group(1).lower()
            quoted = attribute.group(2, 3, 4)
            value = html.unescape(next(v for v in quoted if v is not None))
            if name in ("href", "src"):
                yield value.strip()
            elif name == "srcset":
                for candidate in value.split(","):
                    if candidate.strip():
                        yield candidate.split()[0]


def servedFile(root: Path, path: str, absent: Container[str] = ()) -> bool:
    """
    Whether a static host serves something at C{path} (percent-decoded)
    from C{root}: C{/dir/} is C{dir/index.html}, C{/dir} redirects to it,
    C{/page} is C{page.html}.

    @param absent: files (by name below C{root}) to take as missing.
    """

    def isFile(name: str) -> bool:
        return name not in absent and (root / name).is_file()

    name = path.strip("/")
    if path.endswith("/"):
        return isFile(f"{name}/index.html".lstrip("/"))
    return isFile(name) or isFile(f"{name}/index.html") or isFile(f"{name}.html")


@cache
def brokenOnDisk(
    root: Path, absent: tuple[str, ...] = ()
) -> frozenset[tuple[str, str]]:
    """
    Each page of the folder C{root} (by its URL) with each same-origin path
    it names that no file answers.

    @param absent: files (by name below C{root}) to take as missing.
    """
    broken = set()
    served: dict[str, bool] = {}
    for file in sorted(root.rglob("*.html")):
        page = "/" + file.relative_to(root).as_posix()
        for reference in scanReferences(file.read_text("utf-8")):
            url = urlsplit(urljoin(_ORIGIN + page, reference))
            if f"{url.scheme}://{url.netloc}" != _ORIGIN:
                continue
            path = unquote(url.path)
            if path not in served:
                served[path] = servedFile(root, path, absent)
            if not served[path]:
                broken.add((page, url.path))
    return frozenset(broken)


def pageFile(url: str) -> str:
    """
    The URL of the HTML file a page's URL serves, by the same rules:
    C{/dir/} is C{/dir/index.html}, C{/page} is C{/page.html}.
    """
    path = url.split("?", 1)[0]
    if path.endswith("/"):
        return path + "index.html"
    return path if path.endswith(".html") else path + ".html"


def htmlFiles(root: Path) -> set[str]:
    """
    The URLs of the HTML files of a folder.
    """
    return {"/" + f.relative_to(root).as_posix() for f in root.rglob("*.html")}


@dataclass(frozen=True)
class Fetched:
    """
    One URL's response: its status, protocol and headers, and the
    same-origin URLs it leads to (what a page names, where a redirect goes).
    """

    status: int
    httpVersion: str
    headers: httpx.Headers
    leadsTo: tuple[str, ...] = ()


async def _fetch(client: httpx.AsyncClient, url: str) -> Fetched:
    try:
        response = await client.get(url)
    except httpx.HTTPError as e:
        # A status no server sends, so the test names the URL and the error.
        return Fetched(0, repr(e), httpx.Headers())
    leadsTo: tuple[str, ...] = ()
    contentType = response.headers.get("content-type", "")
    if response.status_code == 200 and contentType.startswith("text/html"):
        leadsTo = tuple(pageReferences(response.text, url.split("?", 1)[0]))
    elif response.status_code in (301, 302, 303, 307, 308):
        location = urlsplit(urljoin(_ORIGIN + url, response.headers["location"]))
        if f"{location.scheme}://{location.netloc}" == _ORIGIN:
            leadsTo = (location._replace(scheme="", netloc="").geturl(),)
    return Fetched(
        response.status_code, response.http_version, response.headers, leadsTo
    )


async def _crawl(
    server: Server, start: Iterable[str], follow: bool
) -> dict[str, Fetched]:
    fetched: dict[str, Fetched] = {}
    queue: asyncio.Queue[str] = asyncio.Queue()
    seen = set(start)
    for url in seen:
        queue.put_nowait(url)

    async def work(client: httpx.AsyncClient) -> None:
        while True:
            url = await queue.get()
            try:
                result = fetched[url] = await _fetch(client, url)
                for reached in result.leadsTo if follow else ():
                    if reached not in seen:
                        seen.add(reached)
                        queue.put_nowait(reached)
            finally:
                queue.task_done()

    async with httpx.AsyncClient(
        http2=True,
        http1=False,
        verify=sharedCertificates().sslContext(),
        base_url=server.url,
        timeout=TIMEOUT,
        limits=httpx.Limits(max_connections=1),
    ) as client:
        workers = [asyncio.create_task(work(client)) for _ in range(CONCURRENCY)]
        try:
            async with asyncio.timeout(CRAWL_TIMEOUT):
                await queue.join()
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
    if len(seen) > MAX_URLS:
        raise AssertionError(f"{len(seen)} URLs: the crawl ran away")
    return fetched


def crawl(
    server: Server, start: Iterable[str], follow: bool = True
) -> dict[str, Fetched]:
    """
    Fetch each URL of C{start} once over HTTP/2, C{CONCURRENCY} at a time,
    and, if C{follow}, each URL the pages name (C{href}, C{src}, C{srcset})
    and each redirect leads to, on the same origin, until there are no new
    ones.

    @return: each URL's response.
    """
    return asyncio.run(_crawl(server, start, follow))


@dataclass
class ServedCopy:
    """
    A copy of the docs with symlinks resolved, served by h2site, and what a
    crawl of it found (once it is asked for).
    """

    directory: Path
    site: Path
    server: Server
    _crawl: dict[str, Fetched] | None = None

    @classmethod
    def start(cls) -> ServedCopy:
        directory = Path(tempfile.mkdtemp(prefix="h2site-python-docs-"))
        try:
            site = copyPythonDocs(directory / "html")
            return cls(directory, site, serve(site, directory))
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise

    def close(self) -> None:
        try:
            self.server.stop()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)

    def crawled(self) -> dict[str, Fetched]:
        """
        Every URL reached from C{/}, once the hints are ready (so every page
        is sent with its C{Link} header).
        """
        if self._crawl is None:
            self.server.waitForOutput(_HINTS_READY, HINTS_TIMEOUT)
            self._crawl = crawl(self.server, ["/"])
        return self._crawl


class ResolvedCopyTests(SharedFixtureTestCase):
    """
    The docs copied with their symlinks resolved, served as a plain site by
    one server for all these tests: compressing 67 MB takes a while.  (The
    test that waits for compression to finish sorts late, so the others run
    meanwhile.)
    """

    fixture = ClassFixture(ServedCopy.start, ServedCopy.close)

    def setUp(self) -> None:
        self.docs: ServedCopy = self.fixture.get()

    def test_brokenReferencesWarned(self) -> None:
        """
        Once the pages are read, one warning line says how many files name
        URLs that nothing answers, and names the changelog page.
        """
        server = self.docs.server
        server.waitForOutput(_HINTS_READY, HINTS_TIMEOUT)
        line = server.waitForOutput(
            r"(\d+) files of the site name (\d+) URLs that nothing answers: (.*)",
            HINTS_TIMEOUT,
        )
        self.assertEqual(line.group(1, 2), (str(BROKEN_LINKS), "1"))
        self.assertIn(f" -> {MISSING_PAGE}, ", line.group(3))
        self.assertIn(
            f"and {BROKEN_LINKS - 3} more (twistd h2site --check lists them all)",
            line.group(3),
        )
        self.assertEqual(server.output().count("that nothing answers"), 1)

    def test_check(self) -> None:
        """
        C{--check} on the copy lists no refused link, only the broken links
        to the changelog page, the same ones the files show, and exits 1.
        """
        done = check(self.docs.site, self.docs.directory)
        self.assertEqual(done.returncode, 1, done.stdout + done.stderr)
        lines = done.stdout.splitlines()
        self.assertIn("plain site", lines[0])
        self.assertEqual(
            lines[-1],
            f"0 symlinks refused, {BROKEN_LINKS} broken references in "
            f"{BROKEN_LINKS} files",
        )
        expected = {
            f"broken reference: {page} -> {url}"
            for page, url in brokenOnDisk(self.docs.site)
        }
        self.assertEqual(len(expected), BROKEN_LINKS)
        self.assertEqual(set(lines[1:-1]), expected)
        self.assertEqual(len(lines), BROKEN_LINKS + 2)

    def test_crawl(self) -> None:
        """
        A crawler that starts at C{/} and follows every same-origin C{href},
        C{src} and C{srcset} of every page reaches every page of the docs
        over HTTP/2 (all but the four that nothing links to, fetched by
        name); the only 404 is the changelog page, for the very links
        that are broken on disk; every other URL is a 200 or a 308 to one.
        """
        fetched = self.docs.crawled()
        self.assertEqual(
            {
                (url, result.httpVersion)
                for url, result in fetched.items()
                if result.httpVersion != "HTTP/2"
            },
            set(),
        )
        onDisk = brokenOnDisk(self.docs.site)
        self.assertEqual(len(onDisk), BROKEN_LINKS)
        notFound = {url for url, result in fetched.items() if result.status == 404}
        self.assertEqual(notFound, {MISSING_PAGE})
        # The links to it, by the pages the crawler read them in.
        served = {
            (pageFile(page), url.split("?", 1)[0])
            for page, result in fetched.items()
            for url in result.leadsTo
            if url in notFound
        }
        self.assertEqual(served, onDisk)
        for url, result in fetched.items():
            if result.status not in (200, 404):
                self.assertEqual(result.status, 308, url)
                self.assertEqual(fetched[result.leadsTo[0]].status, 200, url)
        pages = {
            pageFile(url)
            for url, result in fetched.items()
            if result.status == 200
            and result.headers["content-type"].startswith("text/html")
        }
        unlinked = htmlFiles(self.docs.site) - pages
        self.assertEqual(unlinked, UNLINKED)
        with client(self.docs.server) as http:
            for page in sorted(unlinked):
                self.assertEqual(http.get(page).status_code, 200, page)

    def test_folderURLs(self) -> None:
        """
        C{/library/} is the folder's index, C{/library} a 308 to it (its
        query kept), and C{/library/os.html} and C{/library/os} the page.
        """
        with client(self.docs.server) as http:
            folder = http.get("/library/")
            self.assertEqual(folder.status_code, 200)
            self.assertEqual(folder.content, http.get("/library/index.html").content)
            for path, location in [
                ("/library", "/library/"),
                ("/library?x=1", "/library/?x=1"),
            ]:
                response = http.get(path)
                self.assertEqual(
                    (response.status_code, response.headers["location"]),
                    (308, location),
                )
            # Over 256 KiB: as written, or with fingerprints once the
            # workers have rewritten it.
            page = (self.docs.site / "library" / "os.html").read_bytes()
            for path in ["/library/os.html", "/library/os"]:
                response = http.get(path)
                self.assertEqual(
                    (response.status_code, _INSERTED.sub(b"", response.content)),
                    (200, page),
                )

    def test_largePageBrotli(self) -> None:
        """
        Once every file is compressed, a page over 256 KiB (kept on disk,
        not in memory) is sent with its references fingerprinted: the file's
        bytes but for the C{?v=} inserted, and what its C{Link} header names
        that has no query of its own is fingerprinted and immutable.  It is
        sent with C{br} to a client that accepts it, to httpx and curl
        alike.
        """
        self.docs.server.waitForOutput(_FILES_READY, READY_TIMEOUT)
        page = (self.docs.site / LARGE_PAGE).read_bytes()
        self.assertGreater(len(page), 256 * 1024)
        with client(self.docs.server) as http:
            with http.stream(
                "GET", "/" + LARGE_PAGE, headers={"accept-encoding": "br"}
            ) as response:
                raw = b"".join(response.iter_raw())
            self.assertEqual(response.headers["content-encoding"], "br")
            links = [url for url, _ in linkValues(response.headers["link"])]
            fingerprinted = [url for url in links if _FINGERPRINT.search(url)]
            self.assertEqual([url for url in links if "?" not in url], [])
            self.assertGreater(len(fingerprinted), 10)
            cacheControl = {
                url: http.get(url).headers["cache-control"] for url in fingerprinted
            }
        self.assertEqual(
            {url: value for url, value in cacheControl.items() if value != _IMMUTABLE},
            {},
        )
        self.assertLess(len(raw), len(page) // 4)
        sent = brotli.decompress(raw)
        self.assertNotEqual(sent, page)
        self.assertEqual(_INSERTED.sub(b"", sent), page)
        # The page names the very URLs its Link header does.
        for name in ["pygments.css", "doctools.js"]:
            [url] = [u for u in fingerprinted if u.startswith(f"/_static/{name}?")]
            self.assertIn(f'"../_static/{name}?'.encode() + url[-18:].encode(), sent)
        self.assertRegex(sent, rb'"\.\./_static/py\.svg\?v=[0-9a-f]{16}"')
        body = self.docs.directory / "large.br"
        done = subprocess.run(
            [
                requireTool("curl"),
                "--silent",
                "--show-error",
                "--http2",
                "--cacert",
                str(sharedCertificates().caCert),
                "--header",
                "Accept-Encoding: br",
                "--dump-header",
                "-",
                "--output",
                str(body),
                f"{self.docs.server.url}/{LARGE_PAGE}",
            ],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=True,
        )
        self.assertIn("HTTP/2 200", done.stdout)
        self.assertIn("content-encoding: br", done.stdout)
        self.assertEqual(brotli.decompress(body.read_bytes()), sent)

    def test_linkTargets(self) -> None:
        """
        Every page has a C{Link} header once the hints are ready; every URL
        it names returns 200; and those with a fingerprint (C{?v=}) are
        served C{immutable}.
        """
        fetched = self.docs.crawled()
        targets: set[str] = set()
        for url, result in fetched.items():
            if result.status != 200 or not result.headers["content-type"].startswith(
                "text/html"
            ):
                continue
            self.assertIn("link", result.headers, url)
            targets.update(link for link, _ in linkValues(result.headers["link"]))
        self.assertGreater(len(targets), 0)
        missing = targets - fetched.keys()
        answers = {**fetched, **crawl(self.docs.server, missing, follow=False)}
        self.assertEqual(
            {url: answers[url].status for url in targets if answers[url].status != 200},
            {},
        )
        fingerprinted = {url for url in targets if _FINGERPRINT.search(url)}
        self.assertGreater(len(fingerprinted), 0)
        self.assertEqual(
            {
                url: answers[url].headers["cache-control"]
                for url in fingerprinted
                if answers[url].headers["cache-control"] != _IMMUTABLE
            },
            {},
        )


class InstalledFolderTests(SynchronousTestCase):
    """
    The docs as Debian installs them: two of their files are symlinks out of
    the folder, which h2site refuses.
    """

    def setUp(self) -> None:
        self.docs = requirePythonDocs()
        self.tmp = Path(tempfile.mkdtemp(prefix="h2site-python-docs-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def refusedLinks(self) -> list[str]:
        """
        The refused links as h2site names them: each with where it leads.
        """
        return [f"{name} -> {os.path.realpath(self.docs / name)}" for name in REFUSED]

    def test_served(self) -> None:
        """
        Served, the folder's start-up log names both links out of it in one
        warning line, and their URLs are 404s; no page announces them (only
        files that exist are announced) and the report of broken references
        counts them.
        """
        server = serve(self.docs, self.tmp)
        self.addCleanup(server.stop)
        output = server.output()
        self.assertEqual(
            output.count(
                f"h2site does not serve 2 symlinks in {os.path.realpath(self.docs)} "
                f"that lead out of it ({', '.join(self.refusedLinks())})"
            ),
            1,
            output,
        )
        self.assertEqual(output.count("that lead out of it"), 1)
        with client(server) as http:
            for name in REFUSED:
                self.assertEqual(http.get("/" + name).status_code, 404, name)
            self.assertEqual(http.get("/_static/doctools.js").status_code, 200)
            server.waitForOutput(_HINTS_READY, HINTS_TIMEOUT)
            server.waitForOutput(
                rf"{PAGES} files of the site name 3 URLs that nothing answers: "
                rf"/about\.html -> /_static/jquery\.js, ",
                HINTS_TIMEOUT,
            )
            announced = [
                url.split("?", 1)[0]
                for page in ["/library/os.html", "/tutorial/index.html"]
                for url, _ in linkValues(http.get(page).headers["link"])
            ]
        self.assertIn("/_static/doctools.js", announced)
        for name in REFUSED:
            self.assertNotIn("/" + name, announced)

    def test_check(self) -> None:
        """
        C{--check} on the folder lists both refused links, and as broken
        every reference to them (from every page) and to the changelog
        page, the ones the files show; it exits 1.
        """
        done = check(self.docs, self.tmp)
        self.assertEqual(done.returncode, 1, done.stdout + done.stderr)
        lines = done.stdout.splitlines()
        self.assertIn("plain site", lines[0])
        self.assertEqual(
            [line for line in lines if line.startswith("refused symlink: ")],
            [f"refused symlink: {link}" for link in self.refusedLinks()],
        )
        broken = [line for line in lines if line.startswith("broken reference: ")]
        self.assertEqual(len(broken), INSTALLED_BROKEN)
        self.assertEqual(
            set(broken),
            {
                f"broken reference: {page} -> {url}"
                for page, url in brokenOnDisk(self.docs, REFUSED)
            },
        )
        self.assertEqual(
            lines[-1],
            f"2 symlinks refused, {INSTALLED_BROKEN} broken references in "
            f"{PAGES} files",
        )
        self.assertEqual(len(lines), 1 + len(REFUSED) + INSTALLED_BROKEN + 1)
