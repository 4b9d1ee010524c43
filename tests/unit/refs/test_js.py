"""Tests for L{h2site.refs.js}."""

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from h2site.refs.js import (
    MAX_SPECIFIER_LENGTH,
    findImportReferences,
    findImportSpecifiers,
)


class ImportFormTests(SynchronousTestCase):
    """
    Every form of static import and re-export is found.
    """

    def test_defaultImport(self) -> None:
        """
        C{import x from "s"}.
        """
        self.assertEqual(findImportSpecifiers('import x from "./a.mjs";'), ["./a.mjs"])

    def test_namedImports(self) -> None:
        """
        Named imports, with renames and string names, over several lines.
        """
        source = """import {
            a,
            b as c,
            "d-e" as f,
        } from './a.mjs'"""
        self.assertEqual(findImportSpecifiers(source), ["./a.mjs"])

    def test_namespaceImport(self) -> None:
        """
        C{import * as ns from "s"}, and default plus namespace/named.
        """
        source = (
            "import * as ns from './a.mjs';\n"
            "import d, * as n2 from './b.mjs';\n"
            "import e, {f} from './c.mjs';\n"
        )
        self.assertEqual(
            findImportSpecifiers(source), ["./a.mjs", "./b.mjs", "./c.mjs"]
        )

    def test_bareImport(self) -> None:
        """
        C{import "s"} imports for side effects only.
        """
        self.assertEqual(
            findImportSpecifiers("import './polyfill.mjs'"), ["./polyfill.mjs"]
        )

    def test_reExports(self) -> None:
        """
        C{export * from}, C{export * as ns from}, C{export {a} from}.
        """
        source = (
            'export * from "./a.mjs";\n'
            'export * as ns from "./b.mjs";\n'
            'export { x, y as z, default } from "./c.mjs";\n'
            'export {} from "./d.mjs";\n'
        )
        self.assertEqual(
            findImportSpecifiers(source), ["./a.mjs", "./b.mjs", "./c.mjs", "./d.mjs"]
        )

    def test_localExportsIgnored(self) -> None:
        """
        Exports of local bindings import nothing.
        """
        source = (
            "export { a, b };\n"
            "export const from = 'x';\n"
            "export default function f() {}\n"
            "export class C {}\n"
            "export let y = 'import \"./no.mjs\"';\n"
        )
        self.assertEqual(findImportSpecifiers(source), [])

    def test_fromAsName(self) -> None:
        """
        C{from} is only a keyword before the specifier: it may be a binding.
        """
        source = (
            "import from from './a.mjs';\n"
            "import {from} from './b.mjs';\n"
            "import {from as to} from './c.mjs';\n"
            "import * as from from './d.mjs';\n"
        )
        self.assertEqual(
            findImportSpecifiers(source), ["./a.mjs", "./b.mjs", "./c.mjs", "./d.mjs"]
        )

    def test_minified(self) -> None:
        """
        No whitespace at all, as minifiers write it.
        """
        source = (
            'import{a as b}from"./a.mjs";import*as c from"./b.mjs";'
            'export*from"./c.mjs";import"./d.mjs";const x=1;export{x};'
        )
        self.assertEqual(
            findImportSpecifiers(source), ["./a.mjs", "./b.mjs", "./c.mjs", "./d.mjs"]
        )

    def test_noSemicolons(self) -> None:
        """
        Declarations separated only by newlines (automatic semicolons).
        """
        source = "import a from './a.mjs'\nimport './b.mjs'\nexport * from './c.mjs'\n"
        self.assertEqual(
            findImportSpecifiers(source), ["./a.mjs", "./b.mjs", "./c.mjs"]
        )

    def test_phaseModifiers(self) -> None:
        """
        C{import defer} and C{import source} are still static imports.
        """
        source = "import defer * as a from './a.mjs'; import source b from './b.wasm'"
        self.assertEqual(findImportSpecifiers(source), ["./a.mjs", "./b.wasm"])

    def test_duplicates(self) -> None:
        """
        A module imported twice is listed once, where it first appears.
        """
        source = (
            "import a from './a.mjs'; import b from './b.mjs';import {c} from './a.mjs'"
        )
        self.assertEqual(findImportSpecifiers(source), ["./a.mjs", "./b.mjs"])

    def test_escapes(self) -> None:
        """
        Escapes in the specifier string are decoded, as the engine does.
        """
        source = r"import a from './\x61\u{62}\u0063.mjs'"
        self.assertEqual(findImportSpecifiers(source), ["./abc.mjs"])

    def test_badEscape(self) -> None:
        """
        A specifier with a malformed escape (a syntax error) is skipped.
        """
        source = r"import a from './\u00zz.mjs'; import './ok.mjs'"
        self.assertEqual(findImportSpecifiers(source), ["./ok.mjs"])

    def test_hashbang(self) -> None:
        """
        A hashbang line at the very start is a comment.
        """
        source = "#!/usr/bin/env node import './no.mjs'\nimport './a.mjs'"
        self.assertEqual(findImportSpecifiers(source), ["./a.mjs"])

    def test_emptyAndOverlong(self) -> None:
        """
        Empty specifiers and absurdly long ones are left out.
        """
        long = "./" + "a" * MAX_SPECIFIER_LENGTH
        source = f"import ''; import '{long}'; import './ok.mjs'"
        self.assertEqual(findImportSpecifiers(source), ["./ok.mjs"])


class NotStaticImportTests(SynchronousTestCase):
    """
    What looks like an import but is not one is left out.
    """

    def test_dynamicImport(self) -> None:
        """
        C{import("s")} is fetched on demand, not with the module.
        """
        source = "const m = await import('./lazy.mjs'); import ( './lazy2.mjs' )"
        self.assertEqual(findImportSpecifiers(source), [])

    def test_importMeta(self) -> None:
        """
        C{import.meta} is not an import.
        """
        source = "new URL('./x.png', import.meta.url); import.meta.resolve('./y.mjs')"
        self.assertEqual(findImportSpecifiers(source), [])

    def test_comments(self) -> None:
        """
        Imports in line and block comments are ignored.
        """
        source = (
            "// import './a.mjs'\n"
            "/* import './b.mjs'\n import './c.mjs' */\n"
            "/** @example import x from './d.mjs' */\n"
            "import './real.mjs' // import './e.mjs'\n"
        )
        self.assertEqual(findImportSpecifiers(source), ["./real.mjs"])

    def test_strings(self) -> None:
        """
        Imports inside string literals are ignored, whatever the quotes and
        escapes.
        """
        source = (
            "const a = \"import './a.mjs'\";\n"
            "const b = 'it\\'s import \"./b.mjs\"';\n"
            'const c = "\\"; import \'./c.mjs\'; \\"";\n'
            "import './real.mjs'\n"
        )
        self.assertEqual(findImportSpecifiers(source), ["./real.mjs"])

    def test_templateLiterals(self) -> None:
        """
        Imports inside template literals (with nested substitutions, braces
        and templates) are ignored, and what follows is still read.
        """
        source = (
            "const t = `import './a.mjs'`;\n"
            "const u = `${ {a: `import './b.mjs' ${'}'}`}.a } import './c.mjs'`;\n"
            "const v = `\\` import './d.mjs'`;\n"
            "import './real.mjs'\n"
        )
        self.assertEqual(findImportSpecifiers(source), ["./real.mjs"])

    def test_regexLiterals(self) -> None:
        """
        Quotes and slashes inside regular expression literals do not start
        strings or comments.
        """
        source = (
            "const r = /['\"`]/g;\n"
            "const s = /[/]import '\\.\\/a.mjs'/;\n"
            "if (x) y = z.replace(/\\/\\*/, '');\n"
            "import './real.mjs'\n"
        )
        self.assertEqual(findImportSpecifiers(source), ["./real.mjs"])

    def test_division(self) -> None:
        """
        A division is not mistaken for a regular expression, which would
        swallow the import after it.
        """
        source = (
            "const a = b / 2, c = (d) / e / f; x[1] / 3;\nimport './real.mjs' // /\n"
        )
        self.assertEqual(findImportSpecifiers(source), ["./real.mjs"])

    def test_nestedBlocks(self) -> None:
        """
        Static imports are only allowed at the top level; text that looks
        like one in a block or an object is something else.
        """
        source = (
            "function f() { import('./a.mjs') }\n"
            "const o = { import: 1, export: 2 };\n"
            "o.import('./b.mjs'); o?.import('./c.mjs');\n"
            "class C { import() {} export() {} }\n"
        )
        self.assertEqual(findImportSpecifiers(source), [])

    def test_propertyNamedImport(self) -> None:
        """
        C{x.import} and C{x?.export} are property accesses at any depth.
        """
        source = "loader.import\n'./a.mjs'\nloader?.export * from './b.mjs'\n"
        self.assertEqual(findImportSpecifiers(source), [])

    def test_importAttributes(self) -> None:
        """
        JSON and CSS modules (imports with attributes) are not JavaScript;
        C{modulepreload} would fetch them as scripts and fail.
        """
        source = (
            "import data from './data.json' with { type: 'json' };\n"
            "import sheet from './s.css' assert { type: 'css' };\n"
            "export * from './x.json' with {type:'json'};\n"
            "import './real.mjs'\n"
        )
        self.assertEqual(findImportSpecifiers(source), ["./real.mjs"])

    def test_unterminated(self) -> None:
        """
        Truncated source (an open comment, string or template) gives what
        came before.
        """
        for tail in ["/* import './x.mjs'", "'import", "`${", "import {a", "export *"]:
            self.assertEqual(
                findImportSpecifiers("import './a.mjs';" + tail), ["./a.mjs"], tail
            )


# Pieces random modules are built from, so the property tests reach the
# interesting states more often than random text does.
_FRAGMENTS = [
    "import",
    "export",
    "from",
    " ",
    "\n",
    "'./a.mjs'",
    '"./b.mjs"',
    "'",
    '"',
    "`",
    "${",
    "}",
    "{",
    "(",
    ")",
    "[",
    "]",
    "/",
    "//",
    "/*",
    "*/",
    "*",
    "\\",
    "\\u{",
    "\\x",
    ".",
    "?.",
    ";",
    ",",
    "as",
    "with",
    "return",
    "1e+5",
    "0x",
    "#!",
    "\u2028",
    "\ud800",
]

_JSISH = st.lists(
    st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=3)), max_size=50
).map(" ".join)


class PropertyTests(SynchronousTestCase):
    """
    Properties that hold for any input.
    """

    def assertWellFormed(self, specifiers: list[str]) -> None:
        """
        Specifiers are unique, non-empty and bounded.
        """
        self.assertEqual(len(set(specifiers)), len(specifiers))
        for specifier in specifiers:
            self.assertTrue(0 < len(specifier) <= MAX_SPECIFIER_LENGTH)

    @settings(database=None, deadline=None)
    @given(st.text())
    def test_arbitraryText(self, source: str) -> None:
        """
        Arbitrary text never makes L{findImportSpecifiers} raise.
        """
        self.assertWellFormed(findImportSpecifiers(source))

    @settings(database=None, deadline=None, max_examples=1000)
    @given(_JSISH)
    def test_arbitraryTokens(self, source: str) -> None:
        """
        Random sequences of JavaScript pieces never make it raise.
        """
        self.assertWellFormed(findImportSpecifiers(source))

    @settings(database=None, deadline=None, max_examples=300)
    @given(_JSISH, st.sampled_from(["./x.mjs", "../y/z.js", "/abs.mjs"]))
    def test_importAfterStatement(self, prefix: str, specifier: str) -> None:
        """
        An import at the start of the module is found whatever follows it
        (the garbage after it cannot reach back).
        """
        found = findImportSpecifiers(f"import '{specifier}';\n{prefix}")
        self.assertEqual(found[:1], [specifier])

    def test_linear(self) -> None:
        """
        Deeply nested brackets, open templates or slashes are read without
        recursion errors, and slashes that each look like the start of an
        unterminated regular expression are not each searched to the end of
        the line (which would take minutes here).
        """
        for piece in ["(", "{", "`${", "/", "[", "'", "/*", "(/["]:
            source = "import './a.mjs';" + piece * 200_000
            self.assertEqual(findImportSpecifiers(source), ["./a.mjs"], piece)


def references(source: str) -> list[tuple[str, str, bool]]:
    """
    Each reference L{findImportReferences} finds: its specifier, the text
    at its span, and whether it is a dynamic import.
    """
    return [
        (r.specifier, source[r.start : r.end], r.dynamic)
        for r in findImportReferences(source)
    ]


class ImportReferenceTests(SynchronousTestCase):
    """
    L{findImportReferences} finds every specifier written as a string, with
    the span of its text.
    """

    def test_staticForms(self) -> None:
        """
        Static imports and re-exports, each occurrence, with the span between
        the quotes.
        """
        source = (
            "import a from './a.mjs';\n"
            'import "./b.mjs";\n'
            "export * from '../c.js';\n"
            "export { d } from '/d.mjs';\n"
            "import again from './a.mjs';\n"
        )
        self.assertEqual(
            references(source),
            [
                ("./a.mjs", "./a.mjs", False),
                ("./b.mjs", "./b.mjs", False),
                ("../c.js", "../c.js", False),
                ("/d.mjs", "/d.mjs", False),
                ("./a.mjs", "./a.mjs", False),
            ],
        )

    def test_dynamic(self) -> None:
        """
        A dynamic import with one string literal is found at any depth, in
        template literal substitutions too; with any other argument it is
        not, and neither is a method called C{import}.
        """
        source = (
            "const m = await import('./a.mjs');\n"
            'function f() { if (x) { return import("./b.mjs") } }\n'
            "`${import('./c.mjs')}`;\n"
            "import(name); import(`./d.mjs`); import('./e.mjs', {});\n"
            "import('./f' + '.mjs'); obj.import('./g.mjs'); a?.import('./h.mjs');\n"
        )
        self.assertEqual(
            references(source),
            [
                ("./a.mjs", "./a.mjs", True),
                ("./b.mjs", "./b.mjs", True),
                ("./c.mjs", "./c.mjs", True),
            ],
        )
        self.assertEqual(findImportSpecifiers(source), [])

    def test_escapes(self) -> None:
        """
        A specifier with escapes has its decoded value and the text as
        written.
        """
        source = "import './a\\x2emjs'; import('./b\\u002emjs');"
        self.assertEqual(
            references(source),
            [("./a.mjs", "./a\\x2emjs", False), ("./b.mjs", "./b\\u002emjs", True)],
        )

    def test_lookalikes(self) -> None:
        """
        Imports in strings, comments, template literal text and regular
        expressions are not references.
        """
        source = (
            "const s = \"import a from './a.mjs'\";\n"
            "// import('./b.mjs')\n"
            "/* import './c.mjs' */\n"
            "const t = `import('./d.mjs')`;\n"
            "const r = /import('.\\/e.mjs')/;\n"
        )
        self.assertEqual(references(source), [])

    def test_withAttributes(self) -> None:
        """
        A static import with attributes is not a JavaScript module import.
        """
        source = "import data from './x.json' with { type: 'json' };"
        self.assertEqual(references(source), [])

    @settings(database=None, deadline=None, max_examples=1000)
    @given(_JSISH)
    def test_spansInBounds(self, source: str) -> None:
        """
        For any input, spans are in order, inside the text, and a span's
        text without a backslash is exactly its specifier.
        """
        previous = 0
        for reference in findImportReferences(source):
            self.assertTrue(previous <= reference.start <= reference.end)
            self.assertLessEqual(reference.end, len(source))
            previous = reference.end
            text = source[reference.start : reference.end]
            if "\\" not in text:
                self.assertEqual(text, reference.specifier)
