# -*- test-case-name: tests.unit.ops.test_accesslog -*-
"""
The access log: one line per response, in the Combined Log Format, which
every log analyser (goaccess, awstats, fail2ban) reads, or as JSON lines.

A response cut short (the client left, or a file changed while it was
streamed) is logged too, when its connection or stream is lost, with the
bytes that were sent; one the client left before it began is logged with
status 499, nginx's "client closed request".
"""

from __future__ import annotations

import json
import math
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import IO

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.web import http

from h2site.semantics.dates import MONTHS

__all__ = [
    "CLIENT_CLOSED",
    "FORMATS",
    "AccessLog",
    "Entry",
    "combinedLine",
    "entryFor",
    "formatCombined",
    "jsonLine",
]

_log = Logger(namespace="h2site.access")

#: The status logged for a request whose client left before the response
#: began (nginx's "client closed request"; no such status is ever sent).
CLIENT_CLOSED = 499

_PLAIN = re.compile(rb"[\x20\x21\x23-\x5b\x5d-\x7e]*")


#: Short fields already quoted (methods, paths, user agents, referers come
#: again and again), at most L{_QUOTED_KEPT} of them.
_quoted: dict[bytes, str] = {}
_QUOTED_KEPT = 1024
_QUOTED_LONGEST = 256


def _quote(value: bytes | str | None) -> str:
    """
    A field for inside double quotes: C{"} and C{\\} escaped, control and
    non-ASCII bytes as C{\\xHH}, so a client cannot forge log lines.
    """
    if value is None:
        return "-"
    if isinstance(value, bytes):
        quoted = _quoted.get(value)
        if quoted is not None:
            return quoted
        if _PLAIN.fullmatch(value):
            # The common case, checked in C: printable ASCII with no quote
            # or backslash needs no escaping.
            quoted = value.decode("ascii")
            if len(value) <= _QUOTED_LONGEST:
                if len(_quoted) >= _QUOTED_KEPT:
                    _quoted.clear()
                _quoted[value] = quoted
            return quoted
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


@lru_cache(maxsize=4)
def _stamp(second: int) -> str:
    """
    The time of a log line: worked out once a second, not once a line.
    """
    t = time.gmtime(second)
    return (
        f"{t.tm_mday:02d}/{MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )


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
    stamp = _stamp(math.floor(when))
    request = f"{_quote(method)} {_quote(uri)} {_quote(protocol)}"
    return (
        f'{client} - - [{stamp}] "{request}" {status} {size} '
        f'"{_quote(referer)}" "{_quote(userAgent)}"'
    )


@dataclass(slots=True)
class Entry:
    """
    What the access log records of one finished request.
    """

    client: str
    when: float
    method: bytes
    uri: bytes
    protocol: bytes
    status: int
    size: int
    referer: bytes | None
    userAgent: bytes | None
    host: bytes | None = None
    duration: float | None = None


def entryFor(request: http.Request, now: float) -> Entry:
    """
    The log entry of a finished request, or of one cut short: its status is
    L{CLIENT_CLOSED} if its response had not begun.  Its duration is known
    when the request came from L{TimedRequest}.
    """
    address = request.getClientAddress()
    started = getattr(request, "startTime", None)
    return Entry(
        client=str(getattr(address, "host", "-")),
        when=now,
        method=request.method,
        uri=request.uri,
        protocol=request.clientproto,
        status=request.code if request.startedWriting else CLIENT_CLOSED,
        size=request.sentLength,
        referer=request.getHeader(b"referer"),
        userAgent=request.getHeader(b"user-agent"),
        # HTTP/2 requests carry :authority as Host (h2site.http.h2); a
        # request with neither logs "-".
        host=request.getHeader(b"host"),
        duration=time.monotonic() - started if isinstance(started, float) else None,
    )


def combinedLine(entry: Entry) -> str:
    """
    The Combined Log Format line for an entry.
    """
    return formatCombined(
        client=entry.client,
        when=entry.when,
        method=entry.method,
        uri=entry.uri,
        protocol=entry.protocol,
        status=entry.status,
        size=entry.size,
        referer=entry.referer,
        userAgent=entry.userAgent,
    )


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("utf-8", "backslashreplace")


def jsonLine(entry: Entry) -> str:
    """
    One JSON object per line (for Loki, Elasticsearch, jq), with the
    protocol spelled as ALPN does (C{h2}, C{http/1.1}) and the duration.
    """
    protocol = entry.protocol.decode("ascii", "replace").lower()
    record = {
        "time": datetime.fromtimestamp(entry.when, UTC).isoformat(
            timespec="milliseconds"
        ),
        "client": entry.client,
        "method": _text(entry.method),
        "uri": _text(entry.uri),
        "host": _text(entry.host),
        "protocol": "h2" if protocol == "http/2" else protocol,
        "status": entry.status,
        "bytes": entry.size,
        "duration_ms": None
        if entry.duration is None
        else round(entry.duration * 1000, 3),
        "referer": _text(entry.referer),
        "user_agent": _text(entry.userAgent),
    }
    return json.dumps(record, ensure_ascii=True, separators=(",", ":"))


#: The formats C{--access-log-format} accepts.
FORMATS: dict[str, Callable[[Entry], str]] = {
    "combined": combinedLine,
    "json": jsonLine,
}


class AccessLog:
    """
    Where access lines go: a file (appended), standard output (C{-}), or, by
    default, twistd's own log.

    With a clock, the lines of one reactor turn are written together at the
    start of the next, in one system call rather than one per response (an
    HTTP/2 pass answers many requests at once); that is before the responses
    themselves leave, since Twisted runs timed calls before it writes to
    sockets.  A crash can lose at most that turn's lines.
    """

    def __init__(
        self,
        destination: str | None,
        format: str = "combined",
        clock: IReactorTime | None = None,
    ) -> None:
        """
        @param clock: schedules the write of each turn's lines; without one,
            every line is written at once.
        """
        self._destination = destination
        self._format = FORMATS[format]
        self._file: IO[str] | None = None
        self._clock = clock
        self._pending: list[str] = []
        self._flushCall: IDelayedCall | None = None

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
        # Lines of this turn belong to the file they were logged for.
        self.flush()
        old, self._file = self._file, new
        if old is not None:
            old.close()

    def close(self) -> None:
        self.flush()
        if self._file is not None and self._file is not sys.stdout:
            self._file.close()
        self._file = None

    def write(self, request: http.Request) -> None:
        """
        Log one finished request; the C{Site} calls this.
        """
        line = self._format(entryFor(request, time.time()))
        if self._file is None:
            _log.info("{line}", line=line)
        elif self._clock is None:
            self._file.write(line + "\n")
            self._file.flush()
        else:
            self._pending.append(line)
            if self._flushCall is None:
                self._flushCall = self._clock.callLater(0, self.flush)

    def flush(self) -> None:
        """
        Write the lines logged since the last flush, in one write.
        """
        call, self._flushCall = self._flushCall, None
        if call is not None and call.active():
            call.cancel()
        if not self._pending:
            return
        lines, self._pending = self._pending, []
        if self._file is not None:
            self._file.write("\n".join(lines) + "\n")
            self._file.flush()
