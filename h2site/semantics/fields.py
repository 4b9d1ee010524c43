# -*- test-case-name: tests.unit.semantics.test_conditional -*-
"""
Field values that are lists (RFC 9110 section 5.6.1): split on commas
outside quoted strings.
"""

from __future__ import annotations

__all__ = ["splitList"]


def splitList(value: str) -> list[str]:
    """
    Split a comma-separated list, honouring double quotes, dropping empty
    elements.
    """
    elements: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            elements.append("".join(current))
            current = []
        else:
            current.append(ch)
    elements.append("".join(current))
    return [e.strip(" \t") for e in elements if e.strip(" \t")]
