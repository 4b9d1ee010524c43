# -*- test-case-name: tests.unit.semantics.test_negotiation -*-
"""
C{Accept-Encoding} negotiation (RFC 9110 section 12.5.3), as a pure
function, so every q-value rule is tested without a server.

h2site only chooses among bodies compressed once, in advance; nothing here
compresses.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["IDENTITY", "chooseEncoding", "parseAcceptEncoding"]

IDENTITY = "identity"

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_QVALUE = re.compile(r"0(?:\.\d{0,3})?|1(?:\.0{0,3})?")

#: Older names a recipient should treat as the modern coding (RFC 9110
#: section 8.4.1.3).
_ALIASES = {"x-gzip": "gzip"}

#: The weight of C{identity} when the field neither names it nor has C{*}:
#: acceptable, but below any coding the client did name.
_IMPLICIT_IDENTITY = 0.0001


def parseAcceptEncoding(value: str) -> dict[str, float]:
    """
    Read an C{Accept-Encoding} field value into coding weights.

    Codings are lower-cased; C{x-gzip} counts as C{gzip}.  Elements that
    are not a token with an optional valid C{q} are skipped, as is any
    repeat of a coding already seen.
    """
    weights: dict[str, float] = {}
    for element in value.split(","):
        coding, *params = (p.strip(" \t") for p in element.split(";"))
        if not coding:
            continue
        if not _TOKEN.fullmatch(coding):
            continue
        weight = 1.0
        valid = True
        for param in params:
            name, sep, raw = param.partition("=")
            if name.strip(" \t").lower() != "q" or not sep:
                valid = False
                break
            raw = raw.strip(" \t")
            if not _QVALUE.fullmatch(raw):
                valid = False
                break
            weight = float(raw)
        if not valid:
            continue
        coding = coding.lower()
        coding = _ALIASES.get(coding, coding)
        weights.setdefault(coding, weight)
    return weights


def chooseEncoding(value: str | None, available: Sequence[str]) -> str:
    """
    Pick the content coding to send.

    @param value: the request's C{Accept-Encoding} (all field lines joined
        with commas), or L{None} when absent.  With no field the client
        stated no preference, and the unencoded body is the one every client
        can read.
    @param available: the codings the body exists in besides identity, in
        the server's order of preference (smallest first); ties in q-value
        go to the earlier one, and identity comes last.
    @return: one of C{available}, or L{IDENTITY}.  When the client refuses
        identity and accepts nothing available, identity is still returned:
        RFC 9110 says to send the response without a content coding then,
        rather than fail.
    """
    if value is None:
        return IDENTITY
    weights = parseAcceptEncoding(value)
    star = weights.get("*")
    best = IDENTITY
    bestWeight = weights.get(IDENTITY, star if star is not None else _IMPLICIT_IDENTITY)
    # Strictly greater: identity loses to nothing it ties with, so scan the
    # server's order backwards and let an earlier coding win ties.
    for coding in reversed(available):
        weight = weights.get(coding, star if star is not None else 0.0)
        if weight > 0 and weight >= bestWeight:
            best, bestWeight = coding, weight
    return best
