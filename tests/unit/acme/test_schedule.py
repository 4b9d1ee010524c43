"""
Tests for L{h2site.acme.schedule}: when to renew and when to retry.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from twisted.trial.unittest import SynchronousTestCase

from h2site.acme.schedule import (
    CHECK_INTERVAL,
    FIRST_RETRY,
    MAX_RETRY,
    nextCheck,
    renewalTime,
    retryDelay,
)

START = datetime(2026, 1, 1, tzinfo=UTC)


class RenewalTimeTests(SynchronousTestCase):
    def test_thirdLeft(self) -> None:
        """
        A 90-day certificate is renewed on day 60; a 6-day one on day 4.
        """
        for days, renewDay in ((90, 60), (6, 4)):
            end = START + timedelta(days=days)
            self.assertEqual(renewalTime(START, end), START + timedelta(days=renewDay))


class RetryDelayTests(SynchronousTestCase):
    def test_doublesUpToCap(self) -> None:
        """
        Without jitter: one minute after the first failure, doubled after
        each next one, never more than six hours, even after very many.
        """
        delays = [retryDelay(n, 0.0) for n in range(1, 11)]
        self.assertEqual(delays[:3], [FIRST_RETRY, FIRST_RETRY * 2, FIRST_RETRY * 4])
        self.assertEqual(delays[-1], MAX_RETRY)
        self.assertEqual(retryDelay(10**6, 0.0), MAX_RETRY)
        self.assertEqual(delays, sorted(delays))

    def test_jitterBounded(self) -> None:
        """
        Jitter only shortens a delay, by at most a tenth, whatever it is.
        """
        for n in (1, 5, 50):
            full = retryDelay(n, 0.0)
            for jitter in (0.0, 0.25, 0.999, 1.0, 7.0, -3.0):
                delay = retryDelay(n, jitter)
                self.assertTrue(full * 0.9 <= delay <= full, (n, jitter, delay))


class NextCheckTests(SynchronousTestCase):
    def test_untilDueCapped(self) -> None:
        """
        Sleep until the renewal is due, but never longer than the check
        interval, and not at all once it is due.
        """
        self.assertEqual(
            nextCheck(START, START + timedelta(hours=1)), timedelta(hours=1)
        )
        self.assertEqual(nextCheck(START, START + timedelta(days=30)), CHECK_INTERVAL)
        self.assertEqual(nextCheck(START, START - timedelta(days=1)), timedelta(0))
