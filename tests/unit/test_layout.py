"""
The shape of the tree, which no other test sees: no import cycle between
h2site's modules, every package shipped by a plain C{pip install .}, no
module grown past a size one can read, and every C{test-case-name} marker
naming tests that exist.

The layering itself (which package may import which) is import-linter's
job: see C{[importlinter]} in C{setup.cfg}, run by C{.ci/run}.
"""

from __future__ import annotations

import ast
import configparser
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import REPO

#: The most lines a module may have: more is more than one job, or one job
#: that wants splitting into steps one can read apart.
MAX_LINES = 600

#: Modules allowed past L{MAX_LINES} for now, each with why; remove an
#: entry once its module is split.
OVERSIZED: dict[str, str] = {}

_MARKER = re.compile(r"^# -\*- test-case-name: (\S+) -\*-$")


def modules(root: Path = REPO / "h2site") -> dict[str, Path]:
    """
    Every module of the package at C{root}, by dotted name (a package by
    its own name, for its C{__init__.py}).
    """
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


class _Imports(ast.NodeVisitor):
    """
    The modules of C{known} a module imports when it runs, wherever the
    import stands (a function's deferred import binds two modules together
    as much as one at the top), but not those under C{if TYPE_CHECKING:},
    which only annotations use and which never run.
    """

    def __init__(self, module: str, isPackage: bool, known: set[str]) -> None:
        self.package = module if isPackage else module.rpartition(".")[0]
        self.known = known
        self.found: set[str] = set()

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        name = test.attr if isinstance(test, ast.Attribute) else None
        if isinstance(test, ast.Name):
            name = test.id
        if name == "TYPE_CHECKING":
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.found.update(a.name for a in node.names if a.name in self.known)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            # "from . import x" names the module's own package, ".." its
            # parent, and so on.
            parts = self.package.split(".")
            parts = parts[: len(parts) - node.level + 1]
            base = ".".join([*parts, base] if base else parts)
        for alias in node.names:
            # "from package import name" imports the module package.name if
            # there is one, else takes the name from the package itself.
            if f"{base}.{alias.name}" in self.known:
                self.found.add(f"{base}.{alias.name}")
            elif base in self.known:
                self.found.add(base)


def importsOf(source: str, module: str, known: set[str], isPackage: bool) -> set[str]:
    """
    The modules of C{known} that C{module}, whose text is C{source}, imports
    when it runs (itself left out).
    """
    visitor = _Imports(module, isPackage, known)
    visitor.visit(ast.parse(source))
    return visitor.found - {module}


def importGraph(found: Mapping[str, Path]) -> dict[str, set[str]]:
    """
    Which h2site modules each h2site module imports.
    """
    known = set(found)
    return {
        module: importsOf(
            path.read_text(encoding="utf-8"),
            module,
            known,
            path.name == "__init__.py",
        )
        for module, path in found.items()
    }


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """
    The import cycles of C{graph}: its strongly connected components of more
    than one module (Tarjan's algorithm), each sorted.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    onStack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        onStack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in onStack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                onStack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def markers(path: Path) -> list[str] | None:
    """
    The test modules a module's C{test-case-name} marker names (trial reads
    it from the first line), or L{None} without one.
    """
    with path.open(encoding="utf-8") as f:
        match = _MARKER.match(f.readline().rstrip("\n"))
    return match.group(1).split(",") if match else None


def isModule(name: str) -> bool:
    """
    Whether the dotted C{name} is a module or package of the repository.
    """
    path = REPO.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def isPackageFolder(name: str) -> bool:
    """
    Whether the dotted C{name} is a folder of the repository: a package, or
    C{twisted/plugins}, which must have no C{__init__.py}.
    """
    return REPO.joinpath(*name.split(".")).is_dir()


def shippedPackages() -> set[str]:
    """
    The packages C{setup.cfg} lists (a plain C{pip install .} ships those
    and no others).
    """
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg", encoding="utf-8")
    return set(config["options"]["packages"].split())


def _lineCounts() -> Iterator[tuple[str, int]]:
    for module, path in modules().items():
        yield module, len(path.read_text(encoding="utf-8").splitlines())


class ImportCycleTests(SynchronousTestCase):
    """
    No h2site module imports one that imports it back, even through others:
    a cycle makes the import order matter, and hides which of two modules
    is the lower layer.
    """

    def test_none(self) -> None:
        """
        The import graph of h2site has no cycle.
        """
        self.assertEqual(cycles(importGraph(modules())), [])

    def test_found(self) -> None:
        """
        The check finds a cycle through several modules, and only that.
        """
        graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"d"}}
        self.assertEqual(cycles(graph), [["a", "b", "c"]])

    def test_importsResolved(self) -> None:
        """
        C{from package import module} imports that module, not the package;
        deferred imports in functions count; imports for type checking only
        do not.
        """
        known = {"p", "p.a", "p.b", "p.c", "p.d"}
        source = (
            "from typing import TYPE_CHECKING\n"
            "from p import a\n"
            "if TYPE_CHECKING:\n"
            "    from p.b import B\n"
            "def f():\n"
            "    import p.c\n"
            "from . import d\n"
        )
        self.assertEqual(importsOf(source, "p.x", known, False), {"p.a", "p.c", "p.d"})
        self.assertEqual(
            importsOf("from p import __version__\n", "p.x", known, False), {"p"}
        )


class PackagingTests(SynchronousTestCase):
    """
    C{setup.cfg} lists its packages one by one (C{twisted/plugins} must not
    be found by C{find_packages}), so a new subpackage is easily forgotten:
    an editable install still finds it, a wheel would not.
    """

    def test_everyPackageShipped(self) -> None:
        """
        Every folder of h2site with an C{__init__.py} is listed, and every
        listed package exists.
        """
        packages = {
            module for module, path in modules().items() if path.name == "__init__.py"
        }
        shipped = shippedPackages()
        self.assertEqual(packages - shipped, set())
        self.assertEqual({name for name in shipped if not isPackageFolder(name)}, set())


class SizeTests(SynchronousTestCase):
    """
    Modules stay small enough to read in one sitting.
    """

    def test_underLimit(self) -> None:
        """
        No module has more than L{MAX_LINES} lines, but those of
        L{OVERSIZED}.
        """
        over = {
            module: lines
            for module, lines in _lineCounts()
            if lines > MAX_LINES and module not in OVERSIZED
        }
        self.assertEqual(over, {})


class MarkerTests(SynchronousTestCase):
    """
    Each module's C{# -*- test-case-name: ... -*-} line, which trial
    (C{--testmodule}) and editors use to run a module's tests, names the
    tests that exist.
    """

    def test_namedTestsExist(self) -> None:
        """
        Every test module a marker names exists.
        """
        missing = {
            module: [name for name in names if not isModule(name)]
            for module, path in modules().items()
            if (names := markers(path))
        }
        self.assertEqual({m: n for m, n in missing.items() if n}, {})

    def test_everyModuleHasOne(self) -> None:
        """
        Every module but the packages' C{__init__.py} (docstrings only) has
        a marker.
        """
        self.assertEqual(
            [
                module
                for module, path in modules().items()
                if path.name != "__init__.py" and markers(path) is None
            ],
            [],
        )
