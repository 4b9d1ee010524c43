# -*- test-case-name: tests.unit.ops.test_control -*-
"""
Operator control of a running server: reload on SIGHUP, access-log reopen on
SIGUSR1, certificates reloaded when their files change, and systemd told
what is happening.

Why here and not in twistd: with no handler, SIGHUP kills a twistd process
and SIGUSR1 kills one that logs to standard output; twistd has no
C{sd_notify}; and a renewed certificate would otherwise need a restart,
which drops every open connection.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

from twisted.application import service
from twisted.internet.defer import Deferred
from twisted.internet.task import LoopingCall
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.resource import Resource

from h2site.errors import ConfigError
from h2site.ops.accesslog import AccessLog
from h2site.ops.sdnotify import Notifier, monotonicUsec, watchdogInterval
from h2site.tls.context import KeyAndChain, ReloadableTLS, fingerprint
from h2site.tls.endpoints import ListenSpec, Signature, TLSFiles
from h2site.web.site import H2Site

__all__ = ["CERTIFICATE_CHECK_INTERVAL", "ControlService"]

_log = Logger(namespace="h2site")

#: How often certificate files are checked for changes (certbot renewals).
CERTIFICATE_CHECK_INTERVAL = 5.0


@dataclass(frozen=True)
class _Loaded:
    root: Resource
    tls: tuple[tuple[Signature, KeyAndChain] | None, ...]


class ControlService(service.Service):
    """
    Reload, log reopening, certificate watching and systemd notification.
    """

    def __init__(
        self,
        *,
        site: H2Site,
        build: Callable[[], Resource],
        tls: Sequence[tuple[ListenSpec, ReloadableTLS]],
        accessLog: AccessLog,
        notifier: Notifier,
        reactor: Any,
        environ: dict[str, str] | None = None,
    ) -> None:
        """
        @param build: renders the site again and returns its new root
            resource; run in a thread, so serving goes on meanwhile.
        @param tls: each TLS listener's spec and replaceable settings.
        @param reactor: provides L{IReactorTime}, L{IReactorThreads} and
            L{IReactorFromThreads}.
        """
        self._site = site
        self._build = build
        self._tls = tls
        self._accessLog = accessLog
        self._notifier = notifier
        self._reactor = reactor
        self._environ = environ if environ is not None else dict(os.environ)
        self._reloading: Deferred[None] | None = None
        self._reloadStarted = 0.0
        self._again = False
        self._loops: list[LoopingCall] = []
        self._previous: dict[int, Any] = {}
        self._signatures: list[Signature] = []

    @staticmethod
    def _signatureOf(spec: ListenSpec) -> Signature:
        return spec.tlsFiles.signature() if spec.tlsFiles else ()

    @staticmethod
    def _read(files: TLSFiles) -> tuple[Signature, KeyAndChain]:
        # The signature is taken before reading: a change that lands while
        # the files are read is then seen by the next check.
        signature = files.signature()
        return signature, files.load()

    # Lifecycle.

    def privilegedStartService(self) -> None:
        # Before anything listens: once h2site says where it listens, an
        # operator (or a test) may send SIGHUP at once, which would kill a
        # process without a handler.
        super().privilegedStartService()
        self._installSignal(signal.SIGHUP, self.reload)
        self._installSignal(signal.SIGUSR1, self.reopenLogs)

    def startService(self) -> None:
        super().startService()
        # The listeners filled in their TLS settings as they started; each
        # spec knows what its files were like just before they were read.
        self._signatures = [spec.tlsSignature for spec, _ in self._tls]
        if any(spec.tlsFiles for spec, _ in self._tls):
            self._startLoop(self.checkCertificates, CERTIFICATE_CHECK_INTERVAL)
        interval = watchdogInterval(self._environ, os.getpid())
        if interval is not None:
            self._startLoop(lambda: self._notifier.notify("WATCHDOG=1"), interval)
        self._notifier.notify("READY=1", "STATUS=serving")

    def stopService(self) -> None:
        super().stopService()
        self._notifier.notify("STOPPING=1", "STATUS=stopping")
        for loop in self._loops:
            if loop.running:
                loop.stop()
        self._loops = []
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    def _startLoop(self, f: Callable[[], object], interval: float) -> None:
        loop = LoopingCall(f)
        loop.clock = self._reactor
        loop.start(interval, now=False).addErrback(
            lambda failure: _log.failure("periodic task failed", failure)
        )
        self._loops.append(loop)

    def _installSignal(self, signum: int, action: Callable[[], object]) -> None:
        previous = signal.getsignal(signum)

        def handler(number: int, frame: FrameType | None) -> None:
            # Signal handlers run between two bytecodes of whatever the
            # reactor was doing; hand the work to the reactor instead.
            self._reactor.callFromThread(action)
            if callable(previous):
                previous(number, frame)

        self._previous[signum] = previous
        signal.signal(signum, handler)

    # Reload.

    def reload(self) -> Deferred[None]:
        """
        Render the site and read the certificates again, in a thread, then
        swap them in at once.  If anything fails, the old site and
        certificates keep serving and the error is logged.  A reload asked
        for while one runs is done again once that one ends.
        """
        if self._reloading is not None:
            self._again = True
            return self._reloading
        _log.info("reloading the site and certificates")
        self._reloadStarted = self._reactor.seconds()
        self._notifier.notify("RELOADING=1", monotonicUsec(), "STATUS=reloading")
        d: Deferred[_Loaded] = deferToThreadPool(
            self._reactor, self._reactor.getThreadPool(), self._load
        )
        self._reloading = d.addCallbacks(self._swap, self._reloadFailed)
        self._reloading.addBoth(self._reloaded)
        return self._reloading

    def _load(self) -> _Loaded:
        root = self._build()
        tls = tuple(
            self._read(spec.tlsFiles) if spec.tlsFiles else None
            for spec, _ in self._tls
        )
        return _Loaded(root=root, tls=tls)

    def _swap(self, loaded: _Loaded) -> None:
        self._site.resource = loaded.root
        for index, ((spec, creator), read) in enumerate(
            zip(self._tls, loaded.tls, strict=True)
        ):
            if read is not None:
                self._replaceCertificate(index, spec, creator, *read)
        # How long the site was being rebuilt: the file store reads only
        # what changed, so this is what a deploy costs before it is seen.
        _log.info(
            "reloaded; now serving the new version (built in {seconds:.2f} s)",
            seconds=self._reactor.seconds() - self._reloadStarted,
        )

    def _reloadFailed(self, failure: Failure) -> None:
        if failure.check(ConfigError):
            _log.error(
                "reload failed, still serving the previous version: {error}",
                error=failure.getErrorMessage(),
            )
        else:
            _log.failure("reload failed, still serving the previous version", failure)

    def _reloaded(self, result: object) -> None:
        self._reloading = None
        self._notifier.notify("READY=1", "STATUS=serving")
        if self._again:
            self._again = False
            self.reload()

    # Certificates.

    def _replaceCertificate(
        self,
        index: int,
        spec: ListenSpec,
        creator: ReloadableTLS,
        signature: Signature,
        material: KeyAndChain,
    ) -> None:
        self._signatures[index] = signature
        if material.certificate == creator.material.certificate:
            return
        creator.replace(material)
        _log.info(
            "new certificate for {description}: serial {serial:x}, SHA-256 {fp}",
            description=spec.description,
            serial=material.certificate.serial_number,
            fp=fingerprint(material.certificate),
        )

    def checkCertificates(self) -> None:
        """
        Reload any certificate whose files changed since they were read.  A
        half-written renewal fails to load and is tried again next time.
        """
        for index, (spec, creator) in enumerate(self._tls):
            if spec.tlsFiles is None:
                continue
            signature = self._signatureOf(spec)
            if signature == self._signatures[index]:
                continue
            try:
                signature, material = self._read(spec.tlsFiles)
            except ConfigError as e:
                _log.warn(
                    "certificate files for {description} changed but do not "
                    "load yet ({error}); still using the previous certificate",
                    description=spec.description,
                    error=str(e),
                )
                continue
            self._replaceCertificate(index, spec, creator, signature, material)

    # Logs.

    def reopenLogs(self) -> None:
        """
        Reopen the access log file, after logrotate has moved it away.
        """
        try:
            self._accessLog.reopen()
        except OSError as e:
            _log.error("cannot reopen the access log: {error}", error=str(e))
        else:
            _log.info("access log reopened")
