# -*- test-case-name: tests.unit.sites.test_plain -*-
"""
The two kinds of site, chosen by what the site folder holds, so that any
folder of built HTML is served with no configuration:

    - a I{template site} has C{templates/index.html}: its pages are
      rendered from C{templates/} (L{h2site.sites.templates}), its files
      served from C{static/} at C{/static/} and from C{public/} at C{/};
    - a I{plain site} is any other folder, served as it is
      (L{h2site.sites.plain}): the output of Hugo, Jekyll, Sphinx, MkDocs...

A folder with both C{templates/index.html} and an C{index.html} at its
top is a plain site: a template site never has the latter, and a
generator's output that happens to hold a C{templates/} section must not
have its pages run through Jinja2.  A folder with a C{templates/} folder
but neither index is refused rather than served as files: it is a template
site half deployed (or half deleted), whose templates must not become
downloads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from h2site.errors import ConfigError
from h2site.sites.plain import INDEX

__all__ = ["PUBLIC", "STATIC", "TEMPLATES", "SiteKind", "siteKind"]

#: A template site's folders: its templates, its files served at
#: C{/static/}, and its files served at C{/} (C{robots.txt},
#: C{favicon.ico}, C{/.well-known/...}); named as Vite, Next.js and Astro
#: name the folder whose files are served at the top as they are.
TEMPLATES = "templates"
STATIC = "static"
PUBLIC = "public"


@dataclass(frozen=True)
class SiteKind:
    """
    Which kind a site folder is, and why, for the log line that says so at
    start-up.

    @ivar kind: C{"template"} or C{"plain"}.
    @ivar reason: why, as a clause: C{"it has templates/index.html"}.
    @ivar warnings: what may surprise its author, one line each.
    """

    kind: Literal["template", "plain"]
    reason: str
    warnings: tuple[str, ...] = ()

    @property
    def isPlain(self) -> bool:
        return self.kind == "plain"

    def describe(self, siteDir: str) -> str:
        """
        The start-up line: which kind C{siteDir} is served as, and why.
        """
        return f"h2site serves {siteDir} as a {self.kind} site: {self.reason}"


def siteKind(siteDir: str) -> SiteKind:
    """
    The kind of the site in C{siteDir} (an existing folder).

    @raise ConfigError: if it has a C{templates/} folder but neither
        C{templates/index.html} nor an C{index.html} at its top.
    """
    hasIndex = os.path.isfile(os.path.join(siteDir, INDEX))
    templates = os.path.join(siteDir, TEMPLATES)
    if os.path.isfile(os.path.join(templates, INDEX)):
        if hasIndex:
            return SiteKind(
                "plain",
                f"it has {INDEX} at its top, so its files are served as they "
                f"are ({TEMPLATES}/ too, though it has {TEMPLATES}/{INDEX})",
            )
        public = ""
        if os.path.isdir(os.path.join(siteDir, PUBLIC)):
            public = f" and from {PUBLIC}/ at /"
        return SiteKind(
            "template",
            f"it has {TEMPLATES}/{INDEX}: pages rendered from {TEMPLATES}/, "
            f"files served from {STATIC}/ at /{STATIC}/{public}",
        )
    if os.path.isdir(templates) and not hasIndex:
        raise ConfigError(
            f"site folder {siteDir!r} has no {TEMPLATES}/{INDEX}; h2site renders "
            f"it as the home page of a template site (a folder without "
            f"{TEMPLATES}/, or with an {INDEX} at its top, is served as it is)"
        )
    warnings: tuple[str, ...] = ()
    if not hasIndex:
        warnings = (f"h2site: {siteDir} has no {INDEX} at its top, so / is not found",)
    return SiteKind(
        "plain",
        f"it has no {TEMPLATES}/{INDEX}, so its files are served as they are",
        warnings,
    )
