# -*- test-case-name: tests.test_accesslog -*-
"""
The access log: one line per response in the Combined Log Format, which
every log analyser (goaccess, awstats, fail2ban) reads.
"""

from __future__ import annotations

import sys
import time
from typing import IO

from twisted.logger import Logger
from twisted.web import http

__all__ = ["AccessLog", "combinedLine", "formatCombined"]

_log = Logger(namespace="h2site.access")

_MONTHS = [
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
]


def _quote(value: bytes | str | None) -> str:
    """
    A field for inside double quotes: C{"} and C{\\} escaped, control and
    non-ASCII bytes as C{\\xHH}, so a client cannot forge log lines.
    """
    if value is None:
        return "-"
    raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
    out = []
    for byte in raw:
        if byte in (0x22, 0x5C):
            out.append("\\" + chr(byte))
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out)


def formatCombined(
    *,
    client: str,
    when: float,
    method: bytes,
    uri: bytes,
    protocol: bytes,
    status: int,
    size: int,
    referer: bytes | None,
    userAgent: bytes | None,
) -> str:
    """
    One Combined Log Format line (no newline), in UTC.
    """
    t = time.gmtime(when)
    stamp = (
        f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )
    request = f"{_quote(method)} {_quote(uri)} {_quote(protocol)}"
    return (
        f'{client} - - [{stamp}] "{request}" {status} {size} '
        f'"{_quote(referer)}" "{_quote(userAgent)}"'
    )


def combinedLine(request: http.Request, now: float) -> str:
    """
    The Combined Log Format line for a finished request.
    """
    address = request.getClientAddress()
    return formatCombined(
        client=str(getattr(address, "host", "-")),
        when=now,
        method=request.method,
        uri=request.uri,
        protocol=request.clientproto,
        status=request.code,
        size=request.sentLength,
        referer=request.getHeader(b"referer"),
        userAgent=request.getHeader(b"user-agent"),
    )


class AccessLog:
    """
    Where access lines go: a file (appended, line-buffered), standard output
    (C{-}), or, by default, twistd's own log.
    """

    def __init__(self, destination: str | None) -> None:
        self._destination = destination
        self._file: IO[str] | None = None

    def open(self) -> None:
        """
        Open the destination; called as the service starts, before twistd
        drops privileges, like nginx opens its logs.
        """
        if self._destination == "-":
            self._file = sys.stdout
        elif self._destination is not None:
            # Kept open for the life of the service; closed in close().
            self._file = open(  # noqa: SIM115
                self._destination, "a", buffering=1, encoding="utf-8"
            )

    def reopen(self) -> None:
        """
        Close and open the file again (after log rotation moved it).  Opens
        the new file first, so a failure leaves the old one in use.
        """
        if self._destination is None or self._destination == "-":
            return
        new = open(  # noqa: SIM115
            self._destination, "a", buffering=1, encoding="utf-8"
        )
        old, self._file = self._file, new
        if old is not None:
            old.close()

    def close(self) -> None:
        if self._file is not None and self._file is not sys.stdout:
            self._file.close()
        self._file = None

    def write(self, request: http.Request) -> None:
        """
        Log one finished request; the C{Site} calls this.
        """
        line = combinedLine(request, time.time())
        if self._file is None:
            _log.info("{line}", line=line)
        else:
            self._file.write(line + "\n")
