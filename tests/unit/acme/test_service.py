"""
Tests for L{h2site.acme.service}: when it orders, what it publishes, how
it retries, with a fake CA client and a fake clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.task import Clock
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from h2site.acme.orders import AcmeError, Challenge, PendingOrder
from h2site.acme.schedule import CHECK_INTERVAL, FIRST_RETRY
from h2site.acme.service import AcmeService
from h2site.acme.settings import AcmeSettings
from h2site.acme.state import ensureCertificate, readCertificate
from h2site.tls.context import utcNow
from tests.helpers import makeCertificates


class FakeClient:
    """
    An ACME client whose CA issues the test CA's certificate, or fails.
    """

    def __init__(self, pem: bytes, answers: dict[str, str]) -> None:
        self.pem = pem
        self.answers = answers
        self.failure: str | None = None
        self.accountURL: str | None = None
        self.published: list[dict[str, str]] = []
        #: What the CA's renewal information suggests (or the error it
        #: raises), and the leaves it was asked about.
        self.suggestion: datetime | AcmeError | None = None
        self.asked: list[bytes] = []

    def begin(self) -> PendingOrder:
        if self.failure is not None:
            raise AcmeError(self.failure)
        self.accountURL = "https://ca.test/acct/1"
        challenge = Challenge("a.example", "http-01", "tok", "tok.thumb", None)
        return PendingOrder(order=None, keyPEM=b"", challenges=(challenge,))

    def finish(self, pending: PendingOrder) -> bytes:
        self.published.append(dict(self.answers))
        return self.pem

    def suggestedRenewal(self, leafPEM: bytes) -> datetime | None:
        self.asked.append(leafPEM)
        if isinstance(self.suggestion, AcmeError):
            raise self.suggestion
        return self.suggestion


class _ServiceFixture(SynchronousTestCase):
    """
    An L{AcmeService} with a fake client, clock and threads.
    """

    def setUp(self) -> None:
        tmp = Path(self.mktemp()).absolute()
        self.settings = AcmeSettings(
            domains=("a.example",), agreed=True, folder=str(tmp / "acme")
        )
        certs = makeCertificates(tmp / "ca", names=("a.example",))
        self.answers: dict[str, str] = {}
        self.client = FakeClient(
            certs.key.read_bytes() + certs.cert.read_bytes(), self.answers
        )
        self.clock = Clock()
        self.taken = 0

        def taken() -> None:
            self.taken += 1

        def inThread(f: Any, *args: Any) -> Deferred[Any]:
            return maybeDeferred(f, *args)

        self.service = AcmeService(
            self.settings,
            self.answers,
            taken,
            self.clock,
            jitter=lambda: 0.0,
            inThread=inThread,
            makeClient=lambda *a: self.client,  # type: ignore[arg-type]
        )

    def delay(self) -> float:
        [call] = self.clock.getDelayedCalls()
        return call.getTime() - self.clock.seconds()


class ServiceTests(_ServiceFixture):
    def test_obtainsAndSchedules(self) -> None:
        """
        At start, the temporary certificate is replaced: the HTTP-01 answer
        is published while the CA validates and removed after, the listeners
        are told once, and the next look is within the check interval.
        """
        ensureCertificate(self.settings, utcNow())
        self.service.startService()
        self.clock.advance(0)
        self.assertEqual(self.client.published, [{"tok": "tok.thumb"}])
        self.assertEqual(self.answers, {})
        self.assertEqual(self.taken, 1)
        info = readCertificate(self.settings)
        assert info is not None and not info.temporary
        self.assertEqual(self.delay(), CHECK_INTERVAL.total_seconds())
        self.assertEqual(self.service.orders, 1)

    def test_backOff(self) -> None:
        """
        A failure keeps the temporary certificate, says so in one line, and
        is retried after one minute, then two, then four.
        """
        ensureCertificate(self.settings, utcNow())
        self.client.failure = "cannot connect to the CA"
        self.service.startService()
        with capturedLogs() as events:
            self.clock.advance(0)
            delays = [self.delay()]
            for _ in range(2):
                self.clock.advance(delays[-1])
                delays.append(self.delay())
        minute = FIRST_RETRY.total_seconds()
        self.assertEqual(delays, [minute, 2 * minute, 4 * minute])
        lines = [formatEvent(e) for e in events if "could not" in formatEvent(e)]
        self.assertEqual(len(lines), 3)
        self.assertIn(
            "cannot connect to the CA; still serving the temporary self-signed "
            "certificate; retrying in 2 minutes (attempt 2)",
            lines[1],
        )
        self.assertEqual(self.taken, 0)
        self.client.failure = None
        self.clock.advance(delays[-1])
        self.assertEqual(self.taken, 1)

    def test_failingRenewalSaysValidity(self) -> None:
        """
        A renewal that fails says how long the current certificate remains
        valid.
        """
        ensureCertificate(self.settings, utcNow())
        self.service.startService()
        self.clock.advance(0)
        self.client.failure = "the CA refused: no"
        self.service.stopService()
        # Pretend a third of the lifetime is left: look again by hand.
        self.patch(
            type(self.service),
            "_why",
            lambda self, info, now: "a third of its lifetime is left",
        )
        self.service.startService()
        with capturedLogs() as events:
            self.clock.advance(0)
        [line] = [formatEvent(e) for e in events if "could not" in formatEvent(e)]
        self.assertRegex(
            line, r"still serving the current certificate, valid for 29 days more"
        )
        self.assertEqual(self.delay(), FIRST_RETRY.total_seconds())

    def test_validNotRenewed(self) -> None:
        """
        A restart with a certificate far from its renewal orders nothing.
        """
        ensureCertificate(self.settings, utcNow())
        self.service.startService()
        self.clock.advance(0)
        self.service.stopService()
        self.service.startService()
        self.clock.advance(timedelta(hours=1).total_seconds())
        self.assertEqual(self.service.orders, 1)


class RenewalInformationTests(_ServiceFixture):
    """
    The CA's renewal information (ARI) can bring a renewal forward; when
    it cannot be read, h2site's own schedule holds.
    """

    def startWithCertificate(self) -> None:
        """
        Start with a certificate obtained, far from its own renewal time.
        """
        ensureCertificate(self.settings, utcNow())
        self.service.startService()
        self.clock.advance(0)
        self.assertEqual(self.service.orders, 1)
        self.client.asked.clear()

    def look(self) -> list[str]:
        """
        Look at the certificate again now; the lines logged.
        """
        with capturedLogs() as events:
            self.clock.advance(self.delay())
        return [formatEvent(e) for e in events]

    def test_suggestedNow(self) -> None:
        """
        A window that has begun renews at once, saying why; the CA is asked
        about the certificate being served.
        """
        self.startWithCertificate()
        self.client.suggestion = utcNow() - timedelta(minutes=1)
        lines = self.look()
        self.assertEqual(self.service.orders, 2)
        self.assertEqual(self.taken, 2)
        info = readCertificate(self.settings)
        assert info is not None
        self.assertEqual(self.client.asked, [info.leaf])
        self.assertTrue(
            any("(the CA's renewal information says so)" in line for line in lines),
            lines,
        )

    def test_suggestedSooner(self) -> None:
        """
        A window an hour away is looked at again in an hour, not at the
        check interval, and nothing is ordered yet.
        """
        self.startWithCertificate()
        self.client.suggestion = utcNow() + timedelta(hours=1)
        lines = self.look()
        self.assertEqual(self.service.orders, 1)
        self.assertLess(abs(self.delay() - 3600), 60)
        self.assertTrue(
            any("from the CA's renewal information" in line for line in lines),
            lines,
        )

    def test_unreadable(self) -> None:
        """
        Renewal information that cannot be read is said in a line, and the
        own schedule holds: nothing ordered, the next look at the check
        interval.
        """
        self.startWithCertificate()
        self.client.suggestion = AcmeError("cannot connect to the CA")
        lines = self.look()
        self.assertEqual(self.service.orders, 1)
        self.assertEqual(self.delay(), CHECK_INTERVAL.total_seconds())
        self.assertTrue(
            any(
                "could not be read (cannot connect to the CA); renewing on "
                "h2site's own schedule" in line
                for line in lines
            ),
            lines,
        )

    def test_noneSuggested(self) -> None:
        """
        A CA without renewal information changes nothing.
        """
        self.startWithCertificate()
        lines = self.look()
        self.assertEqual(self.service.orders, 1)
        self.assertEqual(len(self.client.asked), 1)
        self.assertEqual(self.delay(), CHECK_INTERVAL.total_seconds())
        self.assertFalse(any("renewal information" in line for line in lines))
