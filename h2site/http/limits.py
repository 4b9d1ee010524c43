# -*- test-case-name: tests.unit.http.test_limits -*-
"""
Every limit of an HTTP connection (L{ConnectionLimits}), and the token
buckets that meter what a client may do for nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from twisted.internet.interfaces import IDelayedCall, IReactorTime

__all__ = ["KIB", "MIB", "ConnectionLimits", "TokenBucket", "recheckIdle"]

KIB = 1024


MIB = 1024 * 1024


@dataclass(frozen=True)
class ConnectionLimits:
    """
    Every limit of an HTTP connection, in one place.

    @ivar maxConcurrentStreams: streams a client may have open at once
        (C{SETTINGS_MAX_CONCURRENT_STREAMS}).
    @ivar maxHeaderListSize: request header fields, decoded, in bytes
        (C{SETTINGS_MAX_HEADER_LIST_SIZE}); also the limit of an encoded
        header block, HEADERS plus CONTINUATION frames.
    @ivar maxLineLength: the longest HTTP/1.1 request line (414 beyond) or
        header field line (431 beyond), and the longest HTTP/2 C{:path}
        (414 beyond).  The HTTP/1.1 head as a whole has
        C{maxHeaderListSize} (431 beyond).
    @ivar maxHeaderFields: header fields an HTTP/1.1 request may have (431
        beyond); HTTP/2 header blocks are bounded by their size.
    @ivar maxRequestBodySize: bytes of request body per request; a longer
        body is answered with 413 (and the HTTP/2 stream reset, the HTTP/1.1
        connection closed).
    @ivar streamBufferSize: response bytes held for one stream before its
        producer is paused.
    @ivar connectionBufferSize: response bytes held for all streams of a
        connection before every producer is paused.
    @ivar writeBatchSize: the most response bytes one pass hands to the
        transport.  The transport asks us to pause once it holds 64 KiB, so
        the socket's buffer never holds much more than this; bigger batches
        only make bigger copies.  With its frame and TLS record overhead a
        pass stays under the 128 KiB Twisted sends per C{send()} call: at
        128 KiB every pass took a second system call (and reactor turn) for
        its last few KiB, 2.5 calls per 160 KiB response instead of 1.33.
    @ivar idleTimeout: seconds without useful progress (a request, request
        body, or response bytes leaving) after which a connection is closed.
    @ivar headerTimeout: seconds a client has to finish the TLS handshake,
        and each request head from its first byte: an HTTP/1.1 request line
        and header fields, the HTTP/2 connection preface, an HTTP/2 header
        block.  Only progress resets the idle timeout, and a client that
        trickles a byte at a time makes none.
    @ivar closeTimeout: seconds to wait for the peer after a TLS close_notify
        before the connection is aborted.
    @ivar frameBudget: frames that do no useful work (PING, SETTINGS,
        PRIORITY, empty DATA, tiny WINDOW_UPDATE, unknown frames, DATA frames
        cut to a few bytes by a tiny window) a connection may send in a burst.
    @ivar frameBudgetRate: how many of those frames per second refill the
        budget.
    @ivar resetBudget: streams a client may reset in a burst (Rapid Reset,
        CVE-2023-44487).
    @ivar resetBudgetRate: resets per second that refill that budget.
    """

    maxConcurrentStreams: int = 100
    maxHeaderListSize: int = 32 * KIB
    maxLineLength: int = 8 * KIB
    maxHeaderFields: int = 100
    maxRequestBodySize: int = 1 * MIB
    streamBufferSize: int = 256 * KIB
    connectionBufferSize: int = 1 * MIB
    writeBatchSize: int = 120 * KIB
    idleTimeout: float = 60.0
    headerTimeout: float = 20.0
    closeTimeout: float = 5.0
    frameBudget: int = 1000
    frameBudgetRate: float = 100.0
    resetBudget: int = 200
    resetBudgetRate: float = 50.0


class TokenBucket:
    """
    A budget that refills with time: C{capacity} tokens at most, C{rate}
    tokens per second.
    """

    def __init__(self, capacity: int, rate: float, now: float) -> None:
        self._capacity = float(capacity)
        self._rate = rate
        self._tokens = float(capacity)
        self._time = now

    def spend(self, now: float, tokens: int = 1) -> bool:
        """
        Take C{tokens} out of the bucket.

        @param now: the current time in seconds; a clock that steps back is
            treated as standing still.
        @return: L{False} if the bucket did not hold enough (nothing is
            taken then).
        """
        elapsed = now - self._time
        if elapsed > 0:
            self._tokens = min(self._capacity, self._tokens + elapsed * self._rate)
            self._time = now
        if self._tokens < tokens:
            return False
        self._tokens -= tokens
        return True


def recheckIdle(
    reactor: IReactorTime,
    timeout: float,
    lastProgress: float,
    check: Callable[[], None],
    expired: Callable[[], None],
) -> IDelayedCall | None:
    """
    The idle timeout's timer has fired: set it again for C{timeout} after
    the last progress, or call C{expired} if that time has passed.  Both
    protocol layers keep one timer this way, so that progress only records
    when it happened and costs no timer of its own.

    @param check: what the timer calls when it fires next.
    @return: the new timer, or L{None} once C{expired} was called.
    """
    idle = reactor.seconds() - lastProgress
    if idle < timeout:
        return reactor.callLater(timeout - idle, check)
    expired()
    return None
