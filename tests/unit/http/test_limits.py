"""
Tests for L{h2site.http.limits}.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from h2site.http.limits import TokenBucket


class TokenBucketTests(SynchronousTestCase):
    """
    L{TokenBucket} is a budget that refills with time.
    """

    def test_spendsUntilEmpty(self) -> None:
        """
        A full bucket allows C{capacity} spends, then refuses.
        """
        bucket = TokenBucket(3, 1.0, now=100.0)
        self.assertEqual([bucket.spend(100.0) for _ in range(4)], [True] * 3 + [False])

    def test_refills(self) -> None:
        """
        Time refills the bucket at C{rate} per second, up to its capacity.
        """
        bucket = TokenBucket(2, 4.0, now=0.0)
        bucket.spend(0.0)
        bucket.spend(0.0)
        self.assertFalse(bucket.spend(0.0))
        self.assertTrue(bucket.spend(0.25))
        self.assertFalse(bucket.spend(0.25))
        self.assertEqual([bucket.spend(100.0) for _ in range(3)], [True, True, False])

    def test_clockGoingBack(self) -> None:
        """
        A clock that steps back neither refills nor drains the bucket.
        """
        bucket = TokenBucket(1, 1.0, now=50.0)
        self.assertTrue(bucket.spend(50.0))
        self.assertFalse(bucket.spend(10.0))
        self.assertTrue(bucket.spend(51.0))
