#!/usr/bin/env python3
"""Build site/static/fonts/h2display.woff2, the display face of the demo site.

"H2 Display" is original work made for h2site's demo site and is released
under the project's MIT license (see site/static/fonts/LICENSE.txt). Every
outline is defined below in code; no third-party font data is used.

The face is a rounded, monoline geometric sans: each glyph is a set of pen
strokes (straight lines and circular or elliptical arcs with round ends) along
a centre line. The strokes are turned into outlines made of quadratic curves,
merged with skia-pathops when it is installed, and packed with fontTools'
FontBuilder into a WOFF2 file.

Dev-only requirements (not runtime dependencies of h2site):

    pip install fonttools brotli skia-pathops

Usage (from the repository root):

    python site/tools/make_font.py [--ttf out.ttf] [--out path.woff2]

The output is deterministic: running it twice gives the same bytes.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
from pathlib import Path

from fontTools.agl import UV2AGL
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.transformPen import TransformPen
from fontTools.pens.ttGlyphPen import TTGlyphPen

try:  # merging overlapping strokes gives cleaner, smaller outlines
    import pathops
except ImportError:  # pragma: no cover - the overlapping outlines still render
    pathops = None

FAMILY = "H2 Display"
VERSION = "1.000"
OUT = Path(__file__).resolve().parents[1] / "static" / "fonts" / "h2display.woff2"

# ---------------------------------------------------------------------------
# Metrics (units per em 1000). Glyphs are drawn by their stroke centre lines,
# so the centre-line heights below sit half a stroke inside the outer edges.
UPM = 1000
STROKE = 96
HALF = STROKE / 2
CAP_H, X_H, ASC_H, DESC_H = 700, 520, 740, -200
BL = HALF  # baseline
CAP = CAP_H - HALF
XH = X_H - HALF
ASC = ASC_H - HALF
DSC = DESC_H + HALF
CM = (BL + CAP) / 2  # middle of the capitals
XM = (BL + XH) / 2  # middle of the x-height
RX = (XH - BL) / 2  # radius of the round lower-case bowls
DOT = HALF * 1.22  # radius of the dots of i, j and punctuation

# ---------------------------------------------------------------------------
# Outline geometry. A contour is a list of nodes (x, y, on_curve); it starts
# on an on-curve node and never has two off-curve nodes in a row.


def _arc_nodes(cx, cy, rx, ry, a0, a1):
    """Nodes of an elliptical arc from angle a0 to a1 (degrees, either way)."""
    span = a1 - a0
    steps = max(1, math.ceil(abs(span) / 45 - 1e-9))
    step = math.radians(span / steps)
    start = math.radians(a0)
    nodes = [(cx + rx * math.cos(start), cy + ry * math.sin(start), True)]
    k = 1 / math.cos(step / 2)
    for i in range(1, steps + 1):
        mid = start + (i - 0.5) * step
        end = start + i * step
        nodes.append((cx + rx * k * math.cos(mid), cy + ry * k * math.sin(mid), False))
        nodes.append((cx + rx * math.cos(end), cy + ry * math.sin(end), True))
    return nodes


def _area(nodes):
    """Signed area of the control polygon (positive = counter-clockwise)."""
    total = 0.0
    for (x0, y0, _), (x1, y1, _) in zip(nodes, nodes[1:] + nodes[:1], strict=True):
        total += x0 * y1 - x1 * y0
    return total / 2


def _oriented(nodes, clockwise=True):
    if (_area(nodes) < 0) != clockwise:
        nodes = [nodes[0], *nodes[:0:-1]]
    return nodes


class Glyph:
    """Collects the stroke outlines of one glyph."""

    def __init__(self, lsb=55, rsb=None, advance=None):
        self.contours: list[list[tuple[float, float, bool]]] = []
        self.lsb = lsb
        self.rsb = lsb if rsb is None else rsb
        self.advance = advance  # fixed advance (space, figures' punctuation)

    # -- primitives --------------------------------------------------------
    def dot(self, x, y, r=HALF):
        nodes = _arc_nodes(x, y, r, r, 0, 360)[:-1]
        self.contours.append(_oriented(nodes))
        return self

    def line(self, *pts, w=STROKE):
        """A polyline with round ends and round joins."""
        h = w / 2
        for (x0, y0), (x1, y1) in itertools.pairwise(pts):
            length = math.hypot(x1 - x0, y1 - y0)
            nx, ny = -(y1 - y0) / length * h, (x1 - x0) / length * h
            quad = [
                (x0 + nx, y0 + ny, True),
                (x1 + nx, y1 + ny, True),
                (x1 - nx, y1 - ny, True),
                (x0 - nx, y0 - ny, True),
            ]
            self.contours.append(_oriented(quad))
        for x, y in pts:
            self.dot(x, y, h)
        return self

    def arc(self, cx, cy, rx, a0, a1, ry=None, w=STROKE):
        """An open elliptical arc stroke with round ends."""
        ry = rx if ry is None else ry
        h = w / 2
        outer = _arc_nodes(cx, cy, rx + h, ry + h, a0, a1)
        inner = _arc_nodes(cx, cy, rx - h, ry - h, a1, a0)
        self.contours.append(_oriented(outer + inner))
        for a in (a0, a1):
            t = math.radians(a)
            self.dot(cx + rx * math.cos(t), cy + ry * math.sin(t), h)
        return self

    def ring(self, cx, cy, rx, ry=None, w=STROKE):
        """A closed elliptical stroke."""
        ry = rx if ry is None else ry
        h = w / 2
        outer = _arc_nodes(cx, cy, rx + h, ry + h, 0, 360)[:-1]
        inner = _arc_nodes(cx, cy, rx - h, ry - h, 0, 360)[:-1]
        self.contours.append(_oriented(outer, clockwise=True))
        self.contours.append(_oriented(inner, clockwise=False))
        return self

    def box(self, x0, y0, x1, y1):
        """A filled rectangle."""
        rect = [(x0, y0, True), (x0, y1, True), (x1, y1, True), (x1, y0, True)]
        self.contours.append(_oriented(rect))
        return self

    # -- output ------------------------------------------------------------
    def draw(self, pen):
        for nodes in self.contours:
            pen.moveTo(nodes[0][:2])
            i = 1
            while i < len(nodes):
                x, y, on = nodes[i]
                if on:
                    pen.lineTo((x, y))
                    i += 1
                else:
                    nxt = nodes[(i + 1) % len(nodes)]
                    pen.qCurveTo((x, y), nxt[:2])
                    i += 2
            pen.closePath()


# ---------------------------------------------------------------------------
# The glyphs. Each builder returns a Glyph drawn in centre-line coordinates;
# the horizontal position does not matter, spacing is applied afterwards from
# the outline's bounds and the glyph's side bearings.

G: dict[str, Glyph] = {}


def glyph(chars, lsb=55, rsb=None):
    def register(fn):
        for ch in chars:
            g = Glyph(lsb, rsb)
            fn(g)
            G[ch] = g
        return fn

    return register


ROUND = 38  # side bearing of round shapes
DIAG = 22  # side bearing of diagonal shapes

# -- capitals -----------------------------------------------------------------


@glyph("A", DIAG)
def _(g):
    w, y = 560, BL + (CAP - BL) * 0.3
    g.line((0, BL), (w / 2, CAP), (w, BL))
    dx = w / 2 * (y - BL) / (CAP - BL)
    g.line((dx, y), (w - dx, y))


def _bowl(g, top, bottom, x0, reach):
    """A D-shaped bowl hanging off a stem at x0 between two heights."""
    r = (top - bottom) / 2
    g.line((x0, top), (x0 + reach, top))
    g.line((x0, bottom), (x0 + reach, bottom))
    g.arc(x0 + reach, bottom + r, r, 90, -90)


@glyph("B")
def _(g):
    j = BL + (CAP - BL) * 0.52
    g.line((0, BL), (0, CAP))
    _bowl(g, CAP, j, 0, 150)
    _bowl(g, j, BL, 0, 170)


@glyph("C", ROUND)
def _(g):
    g.arc(0, CM, CAP - CM, 48, 312)


@glyph("D")
def _(g):
    g.line((0, BL), (0, CAP))
    _bowl(g, CAP, BL, 0, 60)


@glyph("E")
def _(g):
    g.line((340, CAP), (0, CAP), (0, BL), (350, BL))
    g.line((0, CM), (300, CM))


@glyph("F")
def _(g):
    g.line((340, CAP), (0, CAP), (0, BL))
    g.line((0, CM), (300, CM))


@glyph("G", ROUND)
def _(g):
    r = CAP - CM
    g.arc(0, CM, r, 48, 360)
    g.line((r * 0.15, CM), (r, CM))


@glyph("H")
def _(g):
    g.line((0, BL), (0, CAP))
    g.line((470, BL), (470, CAP))
    g.line((0, CM), (470, CM))


@glyph("I")
def _(g):
    g.line((0, BL), (0, CAP))


@glyph("J", 30)
def _(g):
    r = 165
    g.line((2 * r, CAP), (2 * r, BL + r))
    g.arc(r, BL + r, r, 0, -165)


@glyph("K", 55, DIAG)
def _(g):
    g.line((0, BL), (0, CAP))
    top, low = (430, CAP), (0, 300)
    g.line(top, low)
    t = 0.66
    mid = (top[0] + (low[0] - top[0]) * t, top[1] + (low[1] - top[1]) * t)
    g.line(mid, (440, BL))


@glyph("L", 55, 35)
def _(g):
    g.line((0, CAP), (0, BL), (340, BL))


@glyph("M")
def _(g):
    g.line((0, BL), (0, CAP), (300, BL + 40), (600, CAP), (600, BL))


@glyph("N")
def _(g):
    g.line((0, BL), (0, CAP), (480, BL), (480, CAP))


@glyph("O", ROUND)
def _(g):
    g.ring(0, CM, CAP - CM)


@glyph("P")
def _(g):
    g.line((0, BL), (0, CAP))
    _bowl(g, CAP, CAP - 300, 0, 160)


@glyph("Q", ROUND)
def _(g):
    r = CAP - CM
    g.ring(0, CM, r)
    g.line((r * 0.3, CM - r * 0.45), (r * 1.02, BL - 30))


@glyph("R", 55, 35)
def _(g):
    g.line((0, BL), (0, CAP))
    _bowl(g, CAP, CAP - 300, 0, 160)
    g.line((170, CAP - 300), (350, BL))


def _s_shape(g, top, bottom, split, rx_top, rx_bottom):
    """Two stacked elliptical arcs meeting at (0, split)."""
    rt, rb = (top - split) / 2, (split - bottom) / 2
    g.arc(0, top - rt, rx_top, 28, 270, ry=rt)
    g.arc(0, bottom + rb, rx_bottom, 90, -152, ry=rb)


@glyph("S", 40)
def _(g):
    _s_shape(g, CAP, BL, 368, 178, 192)


@glyph("T", 25)
def _(g):
    g.line((0, CAP), (480, CAP))
    g.line((240, CAP), (240, BL))


@glyph("U")
def _(g):
    r = 235
    g.line((0, CAP), (0, BL + r))
    g.line((2 * r, CAP), (2 * r, BL + r))
    g.arc(r, BL + r, r, 180, 360)


@glyph("V", DIAG)
def _(g):
    g.line((0, CAP), (280, BL), (560, CAP))


@glyph("W", DIAG)
def _(g):
    g.line((0, CAP), (190, BL), (380, CAP), (570, BL), (760, CAP))


@glyph("X", 28)
def _(g):
    g.line((0, CAP), (490, BL))
    g.line((0, BL), (490, CAP))


@glyph("Y", DIAG)
def _(g):
    j = CM - 10
    g.line((0, CAP), (250, j), (500, CAP))
    g.line((250, j), (250, BL))


@glyph("Z", 35)
def _(g):
    g.line((0, CAP), (450, CAP), (0, BL), (460, BL))


# -- lower case ---------------------------------------------------------------


@glyph("a", ROUND, 55)
def _(g):
    g.ring(0, XM, RX)
    g.line((RX, XH), (RX, BL))


@glyph("b", 55, ROUND)
def _(g):
    g.ring(RX, XM, RX)
    g.line((0, ASC), (0, BL))


@glyph("c", ROUND)
def _(g):
    g.arc(0, XM, RX, 50, 310)


@glyph("d", ROUND, 55)
def _(g):
    g.ring(0, XM, RX)
    g.line((RX, ASC), (RX, BL))


@glyph("e", ROUND)
def _(g):
    g.arc(0, XM, RX, 0, 322)
    g.line((-RX, XM), (RX, XM))


@glyph("f", 30, 10)
def _(g):
    r = 130
    g.line((0, BL), (0, ASC - r))
    g.arc(r, ASC - r, r, 180, 40)
    g.line((-95, XH), (185, XH))


@glyph("g", ROUND, 55)
def _(g):
    g.ring(0, XM, RX)
    hook = 30
    g.line((RX, XH), (RX, hook))
    g.arc(0, hook, RX, 0, -158, ry=hook - DSC)


def _arch(g, x, r, bottom=BL):
    """An n-shaped arch from a stem at x, with its right leg."""
    g.arc(x + r, XH - r, r, 180, 0)
    g.line((x + 2 * r, XH - r), (x + 2 * r, bottom))


@glyph("h")
def _(g):
    g.line((0, ASC), (0, BL))
    _arch(g, 0, 190)


@glyph("i")
def _(g):
    g.line((0, XH), (0, BL))
    g.dot(0, ASC - 4, DOT)


@glyph("j", 20, 55)
def _(g):
    r = 115
    g.line((0, XH), (0, DSC + r))
    g.arc(-r, DSC + r, r, 0, -165)
    g.dot(0, ASC - 4, DOT)


@glyph("k", 55, 25)
def _(g):
    g.line((0, ASC), (0, BL))
    top, low = (320, XH), (0, 185)
    g.line(top, low)
    t = 0.62
    mid = (top[0] + (low[0] - top[0]) * t, top[1] + (low[1] - top[1]) * t)
    g.line(mid, (335, BL))


@glyph("l")
def _(g):
    g.line((0, ASC), (0, BL))


@glyph("m")
def _(g):
    g.line((0, XH), (0, BL))
    _arch(g, 0, 150)
    _arch(g, 300, 150)


@glyph("n")
def _(g):
    g.line((0, XH), (0, BL))
    _arch(g, 0, 190)


@glyph("o", ROUND)
def _(g):
    g.ring(0, XM, RX)


@glyph("p", 55, ROUND)
def _(g):
    g.ring(RX, XM, RX)
    g.line((0, XH), (0, DSC))


@glyph("q", ROUND, 55)
def _(g):
    g.ring(0, XM, RX)
    g.line((RX, XH), (RX, DSC))


@glyph("r", 55, 15)
def _(g):
    r = 165
    g.line((0, XH), (0, BL))
    g.arc(r, XH - r, r, 180, 62)


@glyph("s", 35)
def _(g):
    _s_shape(g, XH, BL, XM + 8, 128, 142)


@glyph("t", 25)
def _(g):
    g.line((0, 640), (0, BL))
    g.line((-120, XH), (140, XH))


@glyph("u")
def _(g):
    r = 190
    g.line((0, XH), (0, BL + r))
    g.arc(r, BL + r, r, 180, 360)
    g.line((2 * r, XH), (2 * r, BL))


@glyph("v", DIAG)
def _(g):
    g.line((0, XH), (215, BL), (430, XH))


@glyph("w", DIAG)
def _(g):
    g.line((0, XH), (165, BL), (330, XH), (495, BL), (660, XH))


@glyph("x", 25)
def _(g):
    g.line((0, XH), (400, BL))
    g.line((0, BL), (400, XH))


@glyph("y", DIAG)
def _(g):
    w = 430
    g.line((0, XH), (w / 2, BL))
    slope = (w / 2) / (XH - BL)
    g.line((w, XH), (w - slope * (XH - DSC), DSC))


@glyph("z", 35)
def _(g):
    g.line((0, XH), (370, XH), (0, BL), (380, BL))


# -- figures ------------------------------------------------------------------


@glyph("0", 45)
def _(g):
    g.ring(0, CM, 238, ry=CAP - CM)


@glyph("1", 45, 80)
def _(g):
    g.line((0, CAP - 140), (150, CAP), (150, BL))


@glyph("2", 45)
def _(g):
    r = 198
    g.arc(0, CAP - r, r, 158, -36)
    t = math.radians(-36)
    g.line((r * math.cos(t), CAP - r + r * math.sin(t)), (-r, BL), (r + 10, BL))


@glyph("3", 40)
def _(g):
    split = 378
    rt, rb = (CAP - split) / 2, (split - BL) / 2
    g.arc(0, CAP - rt, 175, 152, -90, ry=rt)
    g.arc(0, BL + rb, 198, 90, -152, ry=rb)
    g.line((-70, split), (0, split))


@glyph("4", 30, 45)
def _(g):
    y = 205
    g.line((300, BL), (300, CAP), (0, y), (410, y))


@glyph("5", 40)
def _(g):
    r = 205
    cy = BL + r
    t = math.radians(128)
    x0, y0 = r * math.cos(t), cy + r * math.sin(t)
    g.arc(0, cy, r, 128, -152)
    g.line((x0, y0), (x0, CAP), (185, CAP))


def _six(g, flip):
    r = 205
    s = -1 if flip else 1
    cy = BL + r if not flip else CAP - r
    g.ring(0, cy, r)
    a = math.radians(162 if not flip else -18)
    px, py = r * math.cos(a), cy + r * math.sin(a)
    # tangent direction towards the far end of the figure
    tx, ty = math.sin(a) * s, -math.cos(a) * s
    end_y = CAP if not flip else BL
    k = (end_y - py) / ty
    g.line((px, py), (px + tx * k, end_y))


@glyph("6", 45)
def _(g):
    _six(g, False)


@glyph("9", 45)
def _(g):
    _six(g, True)


@glyph("7", 40, 30)
def _(g):
    g.line((0, CAP), (410, CAP), (120, BL))


@glyph("8", 42)
def _(g):
    split = 372
    rt, rb = (CAP - split) / 2, (split - BL) / 2
    g.ring(0, CAP - rt, 168, ry=rt)
    g.ring(0, BL + rb, 200, ry=rb)


# -- punctuation and symbols ---------------------------------------------------

PUNCT = 50


@glyph(".", PUNCT)
def _(g):
    g.dot(0, DOT, DOT)


@glyph(",", PUNCT)
def _(g):
    g.dot(0, DOT, DOT)
    g.line((DOT * 0.35, DOT), (-25, -125), w=STROKE * 0.9)


@glyph(":", PUNCT)
def _(g):
    g.dot(0, DOT, DOT)
    g.dot(0, X_H - DOT, DOT)


@glyph(";", PUNCT)
def _(g):
    g.dot(0, DOT, DOT)
    g.line((DOT * 0.35, DOT), (-25, -125), w=STROKE * 0.9)
    g.dot(0, X_H - DOT, DOT)


@glyph("!", PUNCT + 10)
def _(g):
    g.line((0, CAP), (0, 230))
    g.dot(0, DOT, DOT)


@glyph("?", 35)
def _(g):
    r = 165
    g.arc(0, CAP - r, r, 165, -90)
    g.line((0, CAP - 2 * r), (0, 230))
    g.dot(0, DOT, DOT)


@glyph("-", 45)
def _(g):
    g.line((0, XM), (210, XM))


@glyph("\u2013", 30)  # en dash
def _(g):
    g.line((0, XM), (420, XM))


@glyph("\u2014", 30)  # em dash
def _(g):
    g.line((0, XM), (840, XM))


@glyph("_", 10)
def _(g):
    g.line((0, DSC + 30), (460, DSC + 30))


@glyph("/", 20)
def _(g):
    g.line((0, DESC_H + 80), (330, ASC))


@glyph("\\", 20)
def _(g):
    g.line((0, ASC), (330, DESC_H + 80))


@glyph("|", 80)
def _(g):
    g.line((0, DESC_H + 60), (0, ASC))


@glyph("'", 60)
def _(g):
    g.line((0, ASC), (0, ASC - 190))


@glyph('"', 60)
def _(g):
    g.line((0, ASC), (0, ASC - 190))
    g.line((150, ASC), (150, ASC - 190))


def _quote(g, x, flip):
    y = CAP - DOT - 10 if not flip else CAP - 150
    if not flip:  # closing: dot on top, tail going down
        g.dot(x, y, DOT)
        g.line((x + DOT * 0.35, y), (x - 25, y - 165), w=STROKE * 0.9)
    else:  # opening: tail going up, dot below
        g.dot(x, y, DOT)
        g.line((x - DOT * 0.35, y), (x + 25, y + 165), w=STROKE * 0.9)


@glyph("\u2019", PUNCT)  # right single quote / apostrophe
def _(g):
    _quote(g, 0, False)


@glyph("\u2018", PUNCT)
def _(g):
    _quote(g, 0, True)


@glyph("\u201d", PUNCT)
def _(g):
    _quote(g, 0, False)
    _quote(g, 160, False)


@glyph("\u201c", PUNCT)
def _(g):
    _quote(g, 0, True)
    _quote(g, 160, True)


@glyph("\u2026", PUNCT)  # ellipsis
def _(g):
    for i in range(3):
        g.dot(i * 210, DOT, DOT)


PAREN_R, PAREN_TOP, PAREN_BOTTOM = 560, ASC + 20, DESC_H + 60


def _paren(g, left):
    half = (PAREN_TOP - PAREN_BOTTOM) / 2
    cy = (PAREN_TOP + PAREN_BOTTOM) / 2
    a = math.degrees(math.asin(half / PAREN_R))
    if left:
        g.arc(0, cy, PAREN_R, 180 - a, 180 + a)
    else:
        g.arc(0, cy, PAREN_R, a, -a)


@glyph("(", 60, 25)
def _(g):
    _paren(g, True)


@glyph(")", 25, 60)
def _(g):
    _paren(g, False)


@glyph("[", 70, 25)
def _(g):
    g.line((150, PAREN_TOP), (0, PAREN_TOP), (0, PAREN_BOTTOM), (150, PAREN_BOTTOM))


@glyph("]", 25, 70)
def _(g):
    g.line((0, PAREN_TOP), (150, PAREN_TOP), (150, PAREN_BOTTOM), (0, PAREN_BOTTOM))


@glyph("+", 50)
def _(g):
    c, s = XM + 30, 190
    g.line((-s, c), (s, c))
    g.line((0, c - s), (0, c + s))


@glyph("=", 50)
def _(g):
    c = XM + 30
    g.line((0, c + 95), (380, c + 95))
    g.line((0, c - 95), (380, c - 95))


@glyph("<", 50)
def _(g):
    c = XM + 30
    g.line((360, c + 200), (0, c), (360, c - 200))


@glyph(">", 50)
def _(g):
    c = XM + 30
    g.line((0, c + 200), (360, c), (0, c - 200))


@glyph("*", 45)
def _(g):
    c, r = CAP - 150, 140
    for k in range(3):
        a = math.radians(90 + k * 60)
        dx, dy = r * math.cos(a), r * math.sin(a)
        g.line((-dx, c - dy), (dx, c + dy))


@glyph("#", 35)
def _(g):
    lo, hi = BL + 20, CAP - 20
    for x in (110, 310):
        g.line((x, lo), (x + 80, hi))
    for y in (230, 450):
        g.line((-10, y), (480, y))


@glyph("%", 35)
def _(g):
    g.ring(0, CAP - 115, 115)
    g.ring(400, BL + 115, 115)
    g.line((-40, BL), (440, CAP))


@glyph("&", 35)
def _(g):
    # an upper loop, a diagonal leg and a lower bowl with a short tail
    top_r = 118
    tcy = CAP - top_r
    g.ring(0, tcy, 132, ry=top_r)
    bow_r = 198
    bcy = BL + bow_r
    a_top = math.radians(-120)
    start = (132 * math.cos(a_top), tcy + top_r * math.sin(a_top))
    g.line(start, (400, BL))
    a_bow = math.radians(125)
    join = (20 + bow_r * math.cos(a_bow), bcy + bow_r * math.sin(a_bow))
    a_right = math.radians(-55)
    g.line((132 * math.cos(a_right), tcy + top_r * math.sin(a_right)), join)
    g.arc(20, bcy, bow_r, 125, 340)
    a_tail = math.radians(340)
    tail = (20 + bow_r * math.cos(a_tail), bcy + bow_r * math.sin(a_tail))
    g.line(tail, (tail[0] + 40, tail[1] + 140))


@glyph("@", 40)
def _(g):
    g.ring(0, XM + 40, 105)
    g.line((105, XM + 145), (105, XM - 20))
    g.arc(105 + 70, XM - 20, 70, 180, 360, w=STROKE)
    g.arc(0, XM + 40, 300, 3, 300)


# ---------------------------------------------------------------------------
# Kerning for the pairs that headings meet most often.

KERN_CLASSES = {
    "round_lc": "a c d e g o q",
    "lc": "a c d e g m n o p q r s u v w x y z",
    "open_uc": "A",
    "round_uc": "C G O Q",
}

KERN_PAIRS = [
    ("T", "@lc", -60),
    ("T", "@open_uc", -50),
    ("T", "period comma", -70),
    ("@open_uc", "T V W Y", -50),
    ("V W Y", "@open_uc", -50),
    ("V W Y", "@round_lc", -45),
    ("V W Y", "period comma", -70),
    ("F P", "@open_uc", -40),
    ("F P", "period comma", -90),
    ("L", "T V W Y", -70),
    ("L", "quoteright quotesingle", -80),
    ("r", "period comma", -60),
    ("y v w", "period comma", -45),
    ("@open_uc", "v w y", -25),
    ("@round_uc", "A", -18),
    ("A", "@round_uc", -18),
]


def glyph_name(ch: str) -> str:
    return UV2AGL.get(ord(ch), f"uni{ord(ch):04X}")


def _names(spec: str) -> str:
    out = []
    for token in spec.split():
        if token.startswith("@") or len(token) > 1:
            out.append(token)
        else:
            out.append(glyph_name(token))
    return " ".join(out)


def feature_text() -> str:
    lines = []
    for name, members in KERN_CLASSES.items():
        lines.append(f"@{name} = [{_names(members)}];")
    lines.append("feature kern {")
    for left, right, value in KERN_PAIRS:
        lines.append(f"  pos [{_names(left)}] [{_names(right)}] {value};")
    lines.append("} kern;")
    return "\n".join(lines)


# ---------------------------------------------------------------------------


def _outline(g: Glyph):
    """Merged outline of a glyph as a pathops.Path (or None without pathops)."""
    if pathops is None:
        return None
    path = pathops.Path()
    g.draw(path.getPen())
    return pathops.simplify(path, clockwise=True)


def _bounds(g: Glyph, merged):
    if merged is not None:
        return merged.bounds
    # sample the curves for the bounds of the raw contours
    xs = []
    for nodes in g.contours:
        for i, (x, _y, on) in enumerate(nodes):
            if on:
                xs.append(x)
            else:
                (x0, _, _), (x2, _, _) = nodes[i - 1], nodes[(i + 1) % len(nodes)]
                for k in range(1, 8):
                    t = k / 8
                    xs.append((1 - t) ** 2 * x0 + 2 * t * (1 - t) * x + t * t * x2)
    return min(xs), 0, max(xs), 0


def build(ttf_path: Path | None = None, out_path: Path = OUT) -> Path:
    if pathops is None:
        print(
            "warning: skia-pathops not installed; strokes are left overlapping",
            file=sys.stderr,
        )
    chars = sorted(G, key=ord)
    order = [".notdef", "space", "uni00A0"] + [glyph_name(c) for c in chars]
    glyphs, metrics = {}, {}

    notdef = Glyph()
    notdef.box(50, 0, 450, 700).box(100, 50, 400, 650)
    notdef.contours[1] = _oriented(notdef.contours[1], clockwise=False)
    pen = TTGlyphPen(None)
    notdef.draw(pen)
    glyphs[".notdef"] = pen.glyph()
    metrics[".notdef"] = (500, 50)
    for name in ("space", "uni00A0"):
        glyphs[name] = TTGlyphPen(None).glyph()
        metrics[name] = (250, 0)

    for ch in chars:
        g, name = G[ch], glyph_name(ch)
        merged = _outline(g)
        x_min, _, x_max, _ = _bounds(g, merged)
        shift = g.lsb - x_min
        pen = TTGlyphPen(None)
        tpen = TransformPen(pen, (1, 0, 0, 1, shift, 0))
        (merged or g).draw(tpen)
        glyphs[name] = pen.glyph()
        advance = round(x_max - x_min + g.lsb + g.rsb)
        metrics[name] = (advance, round(g.lsb))

    cmap = {ord(c): glyph_name(c) for c in chars}
    cmap[0x20] = "space"
    cmap[0xA0] = "uni00A0"

    fb = FontBuilder(UPM, isTTF=True)
    fb.setupGlyphOrder(order)
    fb.setupCharacterMap(cmap)
    fb.setupGlyf(glyphs)
    # lsb in hmtx must match the glyph's xMin after rounding
    glyf = fb.font["glyf"]
    for name in order:
        glyf[name].recalcBounds(glyf)
        adv, _ = metrics[name]
        metrics[name] = (adv, getattr(glyf[name], "xMin", 0))
    fb.setupHorizontalMetrics(metrics)
    fb.setupHorizontalHeader(ascent=950, descent=-250)
    fb.setupNameTable(
        {
            "familyName": FAMILY,
            "styleName": "Regular",
            "uniqueFontIdentifier": f"{FAMILY} {VERSION}",
            "fullName": FAMILY,
            "psName": "H2Display-Regular",
            "version": f"Version {VERSION}",
            "copyright": "Copyright (c) 2026 The h2site developers",
            "licenseDescription": "Original work for the h2site demo site, "
            "released under the MIT license of the h2site project.",
            "designer": "The h2site developers",
        }
    )
    fb.setupOS2(
        sTypoAscender=800,
        sTypoDescender=-200,
        sTypoLineGap=200,
        usWinAscent=950,
        usWinDescent=250,
        sxHeight=X_H,
        sCapHeight=CAP_H,
        version=4,
        usWeightClass=700,
        fsType=0,
        achVendID="H2ST",
        fsSelection=0x0020 | 0x0080,  # bold, use typo metrics
    )
    fb.setupPost()
    fb.updateHead(created=3_000_000_000, modified=3_000_000_000, macStyle=1)
    fb.addOpenTypeFeatures(feature_text())
    fb.font["head"].fontRevision = float(VERSION)

    if ttf_path:
        fb.save(str(ttf_path))
    fb.font.flavor = "woff2"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fb.save(str(out_path))
    return out_path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="WOFF2 file to write")
    parser.add_argument("--ttf", type=Path, help="also write an uncompressed TTF here")
    args = parser.parse_args(argv)
    path = build(args.ttf, args.out)
    print(f"wrote {path} ({path.stat().st_size} bytes, {len(G) + 2} characters)")


if __name__ == "__main__":
    main()
