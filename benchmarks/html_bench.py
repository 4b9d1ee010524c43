"""
How fast h2site reads HTML: the tokenizer, asset discovery and the
references to fingerprint, over a real site.

Run from the repository root, with h2site installed in the current Python:

    python benchmarks/html_bench.py [--site DIR] [--repeat N] [--baseline REV]

The site is Debian's C{python3-doc} by default (Sphinx output: 530 pages,
50 MB of HTML), which a plain site indexes at start-up.  Every page is read
into memory as C{str} first; each figure is the pages' size in UTF-8 over
the best of C{N} passes, on one core:

  - C{HTMLParser}: the standard library's parser with handlers that do
    nothing, which C{findAssets} was built on before the tokenizer;
  - C{tokenize, every token}: L{h2site.refs.htmltokenizer.tokenize} with no
    filter, producing every tag, text run and comment;
  - C{tokenize, named tags}: the same for the tags C{htmlTargets} looks at,
    everything else skipped inside the regular expression engine;
  - C{findAssets} and C{htmlTargets}: what indexing a page costs;
  - C{findAssets at REV} (C{--baseline REV}): that revision's
    C{h2site/refs/html.py}, loaded beside this checkout's other modules.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from html.parser import HTMLParser
from pathlib import Path

from h2site.refs.html import findAssets
from h2site.refs.htmltargets import htmlTargets
from h2site.refs.htmltokenizer import tokenize

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SITE = Path("/usr/share/doc/python3/html")

#: The tags htmlTargets asks the tokenizer for.
NAMES = frozenset(["base", "img", "link", "picture", "script", "source"])

Pages = Sequence[tuple[str, str]]


def readSite(root: Path) -> Pages:
    """
    Every C{.html} file under C{root}, as (URL path, text).
    """
    pages = []
    for path in sorted(root.resolve().rglob("*.html")):
        url = "/" + path.relative_to(root.resolve()).as_posix()
        pages.append((url, path.read_text("utf-8", "replace")))
    return pages


def stdlibParser(pages: Pages) -> int:
    """
    Feed each page to C{HTMLParser} as C{findAssets} used to.
    """
    for _, html in pages:
        parser = HTMLParser(convert_charrefs=True)
        parser.feed(html)
        parser.close()
    return len(pages)


def everyToken(pages: Pages) -> int:
    """
    Every token of every page.
    """
    return sum(1 for _, html in pages for _ in tokenize(html))


def namedTags(pages: Pages) -> int:
    """
    The tags C{htmlTargets} looks at.
    """
    return sum(1 for _, html in pages for _ in tokenize(html, NAMES))


def assets(pages: Pages) -> int:
    """
    What C{findAssets} finds.
    """
    return sum(len(findAssets(html, url)) for url, html in pages)


def targets(pages: Pages) -> int:
    """
    What C{htmlTargets} finds.
    """
    return sum(len(htmlTargets(url, html)) for url, html in pages)


def baselineFindAssets(revision: str) -> Callable[[Pages], int]:
    """
    C{findAssets} as C{h2site/refs/html.py} was at C{revision}.
    """
    source = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{revision}:h2site/refs/html.py"],
        check=True,
        capture_output=True,
    ).stdout
    directory = Path(tempfile.mkdtemp())
    path = directory / "baseline_html.py"
    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location("baseline_html", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    find = module.findAssets

    def run(pages: Pages) -> int:
        return sum(len(find(html, url)) for url, html in pages)

    return run


def best(run: Callable[[Pages], int], pages: Pages, repeat: int) -> tuple[float, int]:
    """
    The fastest of C{repeat} passes, in seconds, and what the pass counted.
    """
    fastest = float("inf")
    count = 0
    for _ in range(repeat):
        start = time.perf_counter()
        count = run(pages)
        fastest = min(fastest, time.perf_counter() - start)
    return fastest, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--site", type=Path, default=DEFAULT_SITE)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", help="another revision's findAssets, beside")
    args = parser.parse_args()
    if not args.site.is_dir():
        sys.exit(f"{args.site} is not a folder (apt-get install python3-doc)")
    pages = readSite(args.site)
    size = sum(len(html.encode("utf-8", "surrogatepass")) for _, html in pages)
    print(f"{len(pages)} pages, {size / 1e6:.1f} MB of HTML, best of {args.repeat}")
    cases: list[tuple[str, Callable[[Pages], int], str]] = [
        ("HTMLParser", stdlibParser, "pages"),
        ("tokenize, every token", everyToken, "tokens"),
        ("tokenize, named tags", namedTags, "tags"),
        ("findAssets", assets, "assets"),
        ("htmlTargets", targets, "targets"),
    ]
    if args.baseline:
        cases.append(
            (
                f"findAssets at {args.baseline}",
                baselineFindAssets(args.baseline),
                "assets",
            )
        )
    for label, run, unit in cases:
        seconds, count = best(run, pages, args.repeat)
        print(
            f"  {label:<28} {size / seconds / 1e6:7.1f} MB/s"
            f"  {seconds:6.2f} s  {count:>9} {unit}"
        )


if __name__ == "__main__":
    main()
