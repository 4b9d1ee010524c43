# -*- test-case-name: tests.integration.test_acme,tests.unit.acme.test_service -*-
"""
The Twisted service that keeps the ACME certificate current: at start and
then periodically it looks at the certificate file; when it is the
temporary one, lacks a name, or has a third of its lifetime left (or the
CA's renewal information, ARI, suggests renewing now), it orders a new
one (L{h2site.acme.client}, in threads), publishes the HTTP-01 answers in
the mapping the C{--redirect} listeners read, writes the result
atomically and asks for the certificate files to be checked at once, so
the listeners swap it in without a restart.  A failure keeps the
current certificate, says how long it remains valid, and is retried with
back-off (L{h2site.acme.schedule}).
"""

from __future__ import annotations

import random
from collections.abc import Callable, MutableMapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from twisted.application import service
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure

from h2site.acme.orders import AcmeError, PendingOrder
from h2site.acme.schedule import nextCheck, renewalTime, retryDelay
from h2site.acme.settings import AcmeSettings
from h2site.acme.state import (
    CertificateInfo,
    loadAccount,
    readCertificate,
    saveAccountURL,
    writeCertificate,
)
from h2site.acme.tlsalpn import challengeCertificate
from h2site.errors import ConfigError
from h2site.tls.context import KeyAndChain, utcNow

__all__ = ["AcmeService", "describeValidity"]

if TYPE_CHECKING:
    from h2site.acme.client import AcmeClient

_log = Logger(namespace="h2site.acme")

#: Makes the ACME client from the settings, account key and account URL.
_ClientFactory = Callable[[AcmeSettings, bytes, "str | None"], "AcmeClient"]


def _acmeClient(settings: AcmeSettings, keyPEM: bytes, url: str | None) -> AcmeClient:
    """
    The real client, imported when first needed: the C{acme} library (and
    C{requests}) cost a quarter of a second at every start otherwise.
    """
    from h2site.acme.client import AcmeClient

    return AcmeClient(settings, keyPEM, url)


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 2 * 86400:
        return f"{seconds // 86400} days"
    if seconds >= 2 * 3600:
        return f"{seconds // 3600} hours"
    if seconds >= 120:
        return f"{seconds // 60} minutes"
    return f"{max(seconds, 0)} s"


def describeValidity(info: CertificateInfo | None, now: datetime) -> str:
    """
    What is being served meanwhile, for the line that reports a failure.
    """
    if info is None or info.temporary:
        return "still serving the temporary self-signed certificate"
    if info.notAfter <= now:
        return f"the current certificate EXPIRED {_duration(now - info.notAfter)} ago"
    return (
        f"still serving the current certificate, valid for "
        f"{_duration(info.notAfter - now)} more "
        f"(until {info.notAfter:%Y-%m-%d %H:%M} UTC)"
    )


class AcmeService(service.Service):
    """
    Obtain and renew the certificate of L{AcmeSettings}.
    """

    def __init__(
        self,
        settings: AcmeSettings,
        answers: MutableMapping[str, str],
        onCertificate: Callable[[], object],
        reactor: Any,
        alpn: MutableMapping[str, KeyAndChain] | None = None,
        jitter: Callable[[], float] = random.random,
        inThread: Callable[..., Deferred[Any]] | None = None,
        makeClient: _ClientFactory = _acmeClient,
    ) -> None:
        """
        @param answers: HTTP-01 tokens to key authorizations, read by the
            C{--redirect} listeners (L{h2site.web.redirect}).
        @param onCertificate: called once a new certificate is written, to
            have the listeners take it up at once.
        @param alpn: TLS-ALPN-01 challenge certificates by name, read by
            the TLS listeners (L{h2site.tls.context.ACME_TLS_ALPN}).
        @param reactor: provides L{IReactorTime} and L{IReactorThreads}.
        @param jitter: a number in [0, 1) for each retry's jitter.
        @param inThread: runs a blocking call off the reactor (by default
            in its thread pool); tests run it at once.
        @param makeClient: the ACME client, given the settings, account key
            and account URL.
        """
        self._settings = settings
        self._answers = answers
        self._alpn: MutableMapping[str, KeyAndChain] = {} if alpn is None else alpn
        self._onCertificate = onCertificate
        self._reactor = reactor
        self._jitter = jitter
        self._runInThread = inThread
        self._makeClient = makeClient
        self._client: AcmeClient | None = None
        self._timer: IDelayedCall | None = None
        self._failures = 0
        #: Whether an order is under way (its calls may finish at once).
        self._busy = False
        #: Orders placed by this process, for tests and logs.
        self.orders = 0

    def startService(self) -> None:
        super().startService()
        self._schedule(timedelta(0))

    def stopService(self) -> None:
        super().stopService()
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _schedule(self, delay: timedelta) -> None:
        if not self.running:
            return
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = self._reactor.callLater(delay.total_seconds(), self.check)

    def _inThread(self, f: Callable[..., Any], *args: Any) -> Deferred[Any]:
        if self._runInThread is not None:
            return self._runInThread(f, *args)
        return deferToThreadPool(self._reactor, self._reactor.getThreadPool(), f, *args)

    def check(self) -> None:
        """
        Look at the certificate, and order a new one if it is due.
        """
        self._timer = None
        if self._busy:
            return
        info = readCertificate(self._settings)
        why = self._why(info, utcNow())
        self._busy = True
        if why is not None:
            self._obtain(why, info)
            return
        assert info is not None
        # Not due by h2site's own rule: ask the CA's renewal information,
        # which may say sooner (a CA revoking certificates in bulk).
        d: Deferred[Any] = self._inThread(self._suggested, info.leaf)
        d.addCallback(self._considered, info)
        d.addErrback(self._unsuggested, info)

    def _unsuggested(self, failure: Failure, info: CertificateInfo) -> None:
        reason = failure.value
        if not isinstance(reason, AcmeError):
            _log.failure("unexpected error reading renewal information", failure)
        _log.info(
            "the CA's renewal information for {domains} could not be read "
            "({reason}); renewing on h2site's own schedule",
            domains=", ".join(self._settings.domains),
            reason=str(reason),
        )
        self._considered(None, info)

    def _considered(self, suggested: datetime | None, info: CertificateInfo) -> None:
        """
        Renew now if the CA's suggestion (or h2site's rule) says so, else
        look again when the earlier of the two comes.
        """
        now = utcNow()
        renewAt = renewalTime(info.notBefore, info.notAfter)
        if suggested is not None and suggested <= now:
            self._obtain("the CA's renewal information says so", info)
            return
        self._busy = False
        if suggested is not None:
            renewAt = min(renewAt, suggested)
        if self._failures == 0:
            _log.info(
                "certificate for {domains} valid until {until} UTC; renewal "
                "due {renew} UTC{ari}",
                domains=", ".join(self._settings.domains),
                until=f"{info.notAfter:%Y-%m-%d %H:%M}",
                renew=f"{renewAt:%Y-%m-%d %H:%M}",
                ari=" (from the CA's renewal information)"
                if suggested is not None and suggested == renewAt
                else "",
            )
        self._failures = 0
        self._schedule(nextCheck(now, renewAt))

    def _why(self, info: CertificateInfo | None, now: datetime) -> str | None:
        if info is None:
            return "the certificate file does not load"
        if info.temporary:
            return "only the temporary self-signed certificate is served"
        if not info.covers(self._settings.domains):
            return "the certificate lacks some of the --acme-domain names"
        if now >= renewalTime(info.notBefore, info.notAfter):
            return "a third of its lifetime is left"
        return None

    def _obtain(self, why: str, info: CertificateInfo | None) -> Deferred[None]:
        settings = self._settings
        _log.info(
            "ordering a certificate for {domains} from {directory} ({why}); "
            "challenges answered, in order of preference: {kinds}",
            domains=", ".join(settings.domains),
            directory=settings.directory,
            why=why,
            kinds=", ".join(settings.challenges),
        )
        started = self._reactor.seconds()
        self.orders += 1
        d: Deferred[Any] = self._inThread(self._begin)
        d.addCallback(self._publish)
        d.addCallback(lambda pending: self._inThread(self._finish, pending))
        d.addCallback(self._issued, started)
        d.addErrback(self._failed, info)
        d.addBoth(self._done)
        return d

    # In a thread.

    def _suggested(self, leaf: bytes) -> datetime | None:
        return self._account().suggestedRenewal(leaf)

    def _account(self) -> AcmeClient:
        if self._client is None:
            keyPEM, url = loadAccount(self._settings)
            self._client = self._makeClient(self._settings, keyPEM, url)
        return self._client

    def _begin(self) -> PendingOrder:
        acme = self._account()
        known = acme.accountURL
        pending = acme.begin()
        if acme.accountURL is not None and acme.accountURL != known:
            saveAccountURL(self._settings, acme.accountURL)
        return pending

    def _finish(self, pending: PendingOrder) -> CertificateInfo | None:
        pem = self._account().finish(pending)
        split = pem.index(b"-----BEGIN CERTIFICATE-----")
        writeCertificate(self._settings, pem[:split], pem[split:])
        return readCertificate(self._settings)

    # In the reactor.

    def _publish(self, pending: PendingOrder) -> PendingOrder:
        now = utcNow()
        for challenge in pending.challenges:
            where = "on the TLS listeners"
            if challenge.kind == "http-01":
                self._answers[challenge.token] = challenge.keyAuthorization
                where = "on the --redirect listeners"
            else:
                self._alpn[challenge.domain] = challengeCertificate(
                    challenge.domain, challenge.keyAuthorization, now
                )
            _log.info(
                "answering the CA's {kind} challenge for {domain} {where}",
                kind=challenge.kind,
                domain=challenge.domain,
                where=where,
            )
        return pending

    def _forget(self) -> None:
        self._answers.clear()
        self._alpn.clear()

    def _issued(self, info: CertificateInfo | None, started: float) -> None:
        self._forget()
        self._failures = 0
        if info is None:
            raise AcmeError("the certificate written does not load")
        renewAt = renewalTime(info.notBefore, info.notAfter)
        _log.info(
            "certificate issued for {domains} in {seconds:.1f} s, valid until "
            "{until} UTC; renewal due {renew} UTC",
            domains=", ".join(self._settings.domains),
            seconds=self._reactor.seconds() - started,
            until=f"{info.notAfter:%Y-%m-%d %H:%M}",
            renew=f"{renewAt:%Y-%m-%d %H:%M}",
        )
        self._onCertificate()
        self._schedule(nextCheck(utcNow(), renewAt))

    def _failed(self, failure: Failure, info: CertificateInfo | None) -> None:
        self._forget()
        self._failures += 1
        delay = retryDelay(self._failures, self._jitter())
        error = failure.value
        if isinstance(error, AcmeError | ConfigError):
            reason = str(error)
        else:
            _log.failure("unexpected error talking to the ACME CA", failure)
            reason = f"{type(error).__name__}: {error}"
        _log.error(
            "could not obtain a certificate for {domains} from {directory}: "
            "{reason}; {serving}; retrying in {delay} (attempt {n})",
            domains=", ".join(self._settings.domains),
            directory=self._settings.directory,
            reason=reason,
            serving=describeValidity(info, utcNow()),
            delay=_duration(delay),
            n=self._failures,
        )
        self._schedule(delay)

    def _done(self, result: object) -> None:
        self._busy = False
