# -*- test-case-name: tests.unit.acme.test_schedule -*-
"""
When to renew and when to try again: pure functions of times, so they are
tested without a clock or a CA.
"""

from __future__ import annotations

from datetime import datetime, timedelta

__all__ = [
    "CHECK_INTERVAL",
    "FIRST_RETRY",
    "MAX_RETRY",
    "nextCheck",
    "renewalTime",
    "retryDelay",
]

#: The longest h2site sleeps between two looks at the certificate (a
#: suspended machine, or a clock set forward, is noticed within this).
CHECK_INTERVAL = timedelta(hours=12)

#: The first retry after a failure, doubled each time up to L{MAX_RETRY}.
FIRST_RETRY = timedelta(minutes=1)

#: Never try more often than this once failures pile up (Let's Encrypt
#: allows 5 failed validations per name per hour).
MAX_RETRY = timedelta(hours=6)


def renewalTime(notBefore: datetime, notAfter: datetime) -> datetime:
    """
    When a certificate is renewed: once a third of its lifetime is left
    (day 60 of Let's Encrypt's 90).
    """
    return notAfter - (notAfter - notBefore) / 3


def retryDelay(failures: int, jitter: float) -> timedelta:
    """
    How long to wait after C{failures} failures in a row (1 or more):
    L{FIRST_RETRY} doubled each time, capped at L{MAX_RETRY}, then
    shortened by up to a tenth by C{jitter} (in [0, 1)), so that many
    servers failing together do not retry together.
    """
    exponent = min(max(failures, 1) - 1, 32)
    delay: timedelta = min(FIRST_RETRY * (2**exponent), MAX_RETRY)
    return delay * (1 - 0.1 * min(max(jitter, 0.0), 1.0))


def nextCheck(now: datetime, renewAt: datetime) -> timedelta:
    """
    How long to sleep before the next look at a certificate due at
    C{renewAt}: until then, but never more than L{CHECK_INTERVAL}.
    """
    return max(timedelta(0), min(renewAt - now, CHECK_INTERVAL))
