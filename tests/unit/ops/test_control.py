"""
Tests for L{h2site.ops.control}: reload, certificate watching, log
reopening and systemd notification, on a memory reactor whose thread pool
runs the reload's work only when the test says so.  The real process is
tested in L{tests.integration.test_operations}.
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from cryptography import x509
from twisted.logger import LogEvent, Logger, LogLevel, formatEvent
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource

from h2site.errors import ConfigError
from h2site.ops import control
from h2site.ops.accesslog import AccessLog
from h2site.ops.control import CERTIFICATE_CHECK_INTERVAL, ControlService
from h2site.tls.context import KeyAndChain, ReloadableTLS
from h2site.tls.endpoints import ListenSpec, TLSFiles, parseListen
from h2site.web.site import H2Site
from tests.helpers import Certificates, makeCertificates
from tests.unit.ops.fakes import (
    FakeReactor,
    LogCapture,
    RecordingNotifier,
    keepSignalHandlers,
)


class ControlTestCase(SynchronousTestCase):
    """
    A L{ControlService} for one TLS listener whose files are in a folder of
    the test's, serving L{old}, with a build the test controls.

    @ivar built: how many times the site was built.
    @ivar nextBuild: what the next build does: returns a root or raises.
    """

    #: The environment the service reads systemd's watchdog from.
    environ: dict[str, str] = {}
    #: Whether the service has a TLS listener to reload and watch.
    withTLS = True

    def setUp(self) -> None:
        self.tmp = Path(self.mktemp()).absolute()
        self.tmp.mkdir()
        certs = makeCertificates(self.tmp / "first")
        self.keyFile, self.certFile = self.tmp / "key.pem", self.tmp / "cert.pem"
        shutil.copy(certs.key, self.keyFile)
        shutil.copy(certs.cert, self.certFile)
        self.spec: ListenSpec = parseListen(
            f"ssl:0:interface=127.0.0.1:privateKey={self.keyFile}:"
            f"certKey={self.certFile}"
        )
        assert self.spec.tls is not None
        self.tls = ReloadableTLS(self.spec.tls)
        self.reactor = FakeReactor()
        self.old = Resource()
        self.site = H2Site(self.old, lambda request: None, reactor=self.reactor)
        self.accessLogPath = self.tmp / "access.log"
        self.accessLog = AccessLog(str(self.accessLogPath))
        self.accessLog.open()
        self.addCleanup(self.accessLog.close)
        self.notifier = RecordingNotifier()
        self.log = LogCapture()
        self.events = self.log.events
        self.patch(control, "_log", Logger(observer=self.log))
        self.built = 0
        self.nextBuild: Callable[[], Resource] = Resource
        keepSignalHandlers(self, signal.SIGHUP, signal.SIGUSR1)
        self.service = ControlService(
            site=self.site,
            build=self.build,
            tls=[(self.spec, self.tls)] if self.withTLS else [],
            accessLog=self.accessLog,
            notifier=self.notifier,
            reactor=self.reactor,
            environ=self.environ,
        )
        self.service.privilegedStartService()
        self.service.startService()
        self.addCleanup(self.stop)

    def stop(self) -> None:
        if self.service.running:
            self.service.stopService()

    def build(self) -> Resource:
        self.built += 1
        return self.nextBuild()

    def renew(self) -> Certificates:
        """
        Replace the key and certificate files as certbot does: new files
        renamed into place.
        """
        new = makeCertificates(self.tmp / f"renewed-{len(list(self.tmp.iterdir()))}")
        os.replace(shutil.copy(new.key, self.tmp / "key.new"), self.keyFile)
        os.replace(shutil.copy(new.cert, self.tmp / "cert.new"), self.certFile)
        return new

    def serial(self, material: KeyAndChain | Certificates) -> int:
        if isinstance(material, KeyAndChain):
            return material.certificate.serial_number
        return x509.load_pem_x509_certificate(material.cert.read_bytes()).serial_number

    def logged(self, level: LogLevel | None = None) -> list[str]:
        """
        What the service logged (at C{level} only, if given), one line per
        event.
        """
        return [
            formatEvent(event)
            for event in self.events
            if level is None or event["log_level"] == level
        ]

    def complaints(self) -> list[LogEvent]:
        """
        The events logged above C{info}: what an operator must read.
        """
        return [
            event
            for event in self.events
            if event["log_level"] not in (LogLevel.debug, LogLevel.info)
        ]

    def handler(self, signum: int) -> Callable[[int, FrameType | None], object]:
        """
        The handler the service installed for C{signum}.
        """
        handler = signal.getsignal(signum)
        assert callable(handler)
        return handler


class ReloadTests(ControlTestCase):
    """
    L{ControlService.reload} builds the site and reads the certificates in a
    thread, then swaps both in at once.
    """

    def test_swapsSiteAndCertificate(self) -> None:
        """
        Until the thread is done the old site and certificate serve; then
        both are replaced together, and the new certificate is named in
        the log.
        """
        new = Resource()
        self.nextBuild = lambda: new
        renewed = self.renew()
        self.service.reload()
        self.assertEqual(self.built, 0)
        self.assertIs(self.site.resource, self.old)
        self.reactor.threadPool.runNext()
        self.assertEqual(self.built, 1)
        self.assertIs(self.site.resource, self.old)
        self.reactor.advance(0)
        self.assertIs(self.site.resource, new)
        self.assertEqual(self.serial(self.tls.material), self.serial(renewed))
        self.assertIn(
            "reloaded; now serving the new version (built in 0.00 s)", self.logged()
        )
        self.assertTrue(
            any(
                line.startswith(f"new certificate for {self.spec.description}: ")
                for line in self.logged()
            )
        )
        self.assertEqual(self.complaints(), [])

    def test_buildTimeLogged(self) -> None:
        """
        The line saying the new version serves says how long building it
        took, from the signal to the swap: what a deploy costs before it is
        seen (the file store reads only what changed).
        """
        self.service.reload()
        self.reactor.advance(0.75)
        self.reactor.threadPool.runNext()
        self.reactor.advance(0)
        self.assertIn(
            "reloaded; now serving the new version (built in 0.75 s)", self.logged()
        )

    def test_sameCertificateKept(self) -> None:
        """
        Files read again with the same certificate in them leave the TLS
        settings as they were, and nothing is said about a new certificate.
        """
        options = self.tls.options
        self.service.reload()
        self.reactor.finishThreads()
        self.assertIs(self.tls.options, options)
        self.assertFalse(any("new certificate" in line for line in self.logged()))

    def test_notifications(self) -> None:
        """
        systemd hears C{RELOADING=1} with the time (as C{Type=notify-reload}
        wants), then C{READY=1} once the new version serves.
        """
        del self.notifier.messages[:]
        self.service.reload()
        self.assertEqual(self.notifier.firsts(), ["RELOADING=1"])
        reloading = self.notifier.messages[0]
        self.assertTrue(reloading[1].startswith("MONOTONIC_USEC="), reloading)
        self.assertEqual(reloading[2], "STATUS=reloading")
        self.reactor.finishThreads()
        self.assertEqual(self.notifier.messages[1:], [("READY=1", "STATUS=serving")])

    def test_configErrorKeepsServing(self) -> None:
        """
        A build that fails with L{ConfigError} (a broken template, an empty
        site folder) leaves the old site and certificate serving, and the
        reason is logged as one error line, without a traceback; systemd
        hears the server is ready again.
        """
        material = self.tls.material

        def broken() -> Resource:
            raise ConfigError("site folder '/srv/www' is empty")

        self.nextBuild = broken
        self.renew()
        d = self.service.reload()
        self.reactor.finishThreads()
        self.successResultOf(d)
        self.assertIs(self.site.resource, self.old)
        self.assertIs(self.tls.material, material)
        (complaint,) = self.complaints()
        self.assertEqual(complaint["log_level"], LogLevel.error)
        self.assertNotIn("log_failure", complaint)
        self.assertEqual(
            formatEvent(complaint),
            "reload failed, still serving the previous version: "
            "site folder '/srv/www' is empty",
        )
        self.assertEqual(self.notifier.messages[-1], ("READY=1", "STATUS=serving"))

    def test_certificateErrorKeepsServing(self) -> None:
        """
        A key that does not match its certificate fails the whole reload:
        neither the new site nor anything of the files is taken.
        """
        material = self.tls.material
        shutil.copy(makeCertificates(self.tmp / "other").otherKey, self.keyFile)
        self.service.reload()
        self.reactor.finishThreads()
        self.assertIs(self.site.resource, self.old)
        self.assertIs(self.tls.material, material)
        (complaint,) = self.complaints()
        self.assertIn("does not match certificate", formatEvent(complaint))

    def test_unexpectedErrorKeepsServing(self) -> None:
        """
        Any other failure keeps the old version too, and is logged once,
        with its traceback (it is a bug).
        """

        def broken() -> Resource:
            raise RuntimeError("a bug")

        self.nextBuild = broken
        d = self.service.reload()
        self.reactor.finishThreads()
        self.successResultOf(d)
        self.assertIs(self.site.resource, self.old)
        (complaint,) = self.complaints()
        self.assertEqual(complaint["log_level"], LogLevel.critical)
        self.assertEqual(
            formatEvent(complaint),
            "reload failed, still serving the previous version",
        )
        self.assertIsInstance(complaint["log_failure"].value, RuntimeError)
        self.assertEqual(self.notifier.messages[-1], ("READY=1", "STATUS=serving"))

    def test_reloadDuringReload(self) -> None:
        """
        Reloads asked for while one runs are done once more after it ends,
        so the files as they are after the last request are what serves;
        each asker gets the running reload's result.
        """
        first, second = Resource(), Resource()
        roots = [first, second]
        self.nextBuild = lambda: roots.pop(0)
        d1 = self.service.reload()
        d2 = self.service.reload()
        d3 = self.service.reload()
        self.assertIs(d2, d1)
        self.assertIs(d3, d1)
        self.assertEqual(len(self.reactor.threadPool.pending), 1)
        self.reactor.finishThreads()
        self.assertIs(self.site.resource, first)
        self.assertEqual(len(self.reactor.threadPool.pending), 1)
        self.reactor.finishThreads()
        self.assertIs(self.site.resource, second)
        self.assertEqual(self.built, 2)
        self.assertEqual(self.reactor.threadPool.pending, [])
        self.assertEqual(
            self.notifier.firsts()[1:],
            ["RELOADING=1", "READY=1", "RELOADING=1", "READY=1"],
        )

    def test_sighup(self) -> None:
        """
        SIGHUP's handler hands the reload to the reactor (signal handlers
        run between two bytecodes of whatever was running) and calls the
        handler that was there before.
        """
        self.service.stopService()
        called: list[int] = []

        def previous(signum: int, frame: FrameType | None) -> None:
            called.append(signum)

        signal.signal(signal.SIGHUP, previous)
        self.service.privilegedStartService()
        self.service.startService()
        self.handler(signal.SIGHUP)(signal.SIGHUP, None)
        self.assertEqual(called, [signal.SIGHUP])
        self.assertEqual(self.reactor.threadPool.pending, [])
        self.reactor.advance(0)
        self.assertEqual(len(self.reactor.threadPool.pending), 1)
        self.service.stopService()
        self.assertIs(signal.getsignal(signal.SIGHUP), previous)


class CertificateWatchTests(ControlTestCase):
    """
    Certificate files replaced on disk (a certbot renewal) are read again by
    a check every L{CERTIFICATE_CHECK_INTERVAL} seconds, without a signal.
    """

    def test_renewed(self) -> None:
        """
        A renewal is in use after the next check, and logged; the site is
        not rebuilt.
        """
        renewed = self.renew()
        self.reactor.advance(CERTIFICATE_CHECK_INTERVAL - 0.1)
        self.assertNotEqual(self.serial(self.tls.material), self.serial(renewed))
        self.reactor.advance(0.1)
        self.assertEqual(self.serial(self.tls.material), self.serial(renewed))
        self.assertEqual(self.built, 0)
        self.assertEqual(
            len([line for line in self.logged() if "new certificate" in line]), 1
        )

    def test_unchangedNotRead(self) -> None:
        """
        Files whose inode, size and time are unchanged are not read again.
        """
        options = self.tls.options
        self.patch(TLSFiles, "load", lambda files: self.fail("read again"))
        for _ in range(3):
            self.reactor.advance(CERTIFICATE_CHECK_INTERVAL)
        self.assertIs(self.tls.options, options)

    def test_halfWritten(self) -> None:
        """
        Files that changed but do not load yet (a renewal half written: the
        new key beside the old certificate) leave the old certificate in
        use with a warning, and are tried again at each check until they
        load.
        """
        material = self.tls.material
        new = makeCertificates(self.tmp / "new")
        os.replace(shutil.copy(new.key, self.tmp / "key.new"), self.keyFile)
        self.reactor.advance(CERTIFICATE_CHECK_INTERVAL)
        self.assertIs(self.tls.material, material)
        (warning,) = self.complaints()
        self.assertEqual(warning["log_level"], LogLevel.warn)
        self.assertIn(
            f"certificate files for {self.spec.description} changed but do "
            f"not load yet",
            formatEvent(warning),
        )
        os.replace(shutil.copy(new.cert, self.tmp / "cert.new"), self.certFile)
        self.reactor.advance(CERTIFICATE_CHECK_INTERVAL)
        self.assertEqual(self.serial(self.tls.material), self.serial(new))
        self.assertEqual(len(self.complaints()), 1)

    def test_stoppedWithTheService(self) -> None:
        """
        Stopping the service stops the checks: nothing is left scheduled.
        """
        self.assertEqual(len(self.reactor.getDelayedCalls()), 1)
        self.service.stopService()
        self.assertEqual(self.reactor.getDelayedCalls(), [])


class NoTLSTests(ControlTestCase):
    """
    Without certificate files there is nothing to watch.
    """

    withTLS = False

    def test_nothingScheduled(self) -> None:
        """
        No periodic check runs, and a reload swaps the site alone.
        """
        self.assertEqual(self.reactor.getDelayedCalls(), [])
        new = Resource()
        self.nextBuild = lambda: new
        self.service.reload()
        self.reactor.finishThreads()
        self.assertIs(self.site.resource, new)


class LogReopenTests(ControlTestCase):
    """
    SIGUSR1 reopens the access log, after logrotate moved it away.
    """

    def test_sigusr1(self) -> None:
        """
        SIGUSR1's handler hands the reopening to the reactor, which opens a
        new file at the configured path (the lines that go there are tested
        in L{tests.integration.test_operations.LogReopenTests}).
        """
        os.rename(self.accessLogPath, self.tmp / "access.log.1")
        self.handler(signal.SIGUSR1)(signal.SIGUSR1, None)
        self.assertFalse(self.accessLogPath.exists())
        self.reactor.advance(0)
        self.assertTrue(self.accessLogPath.exists())
        self.assertTrue((self.tmp / "access.log.1").exists())
        self.assertIn("access log reopened", self.logged())
        self.assertEqual(self.complaints(), [])

    def test_cannotReopen(self) -> None:
        """
        A log that cannot be opened again (its folder is gone) is one error
        line, and the old file stays in use.
        """
        self.accessLogPath.unlink()
        self.accessLogPath.mkdir()
        self.service.reopenLogs()
        (complaint,) = self.complaints()
        self.assertEqual(complaint["log_level"], LogLevel.error)
        self.assertIn("cannot reopen the access log", formatEvent(complaint))


class NotifyTests(ControlTestCase):
    """
    What systemd hears as the service starts and stops.
    """

    def test_readyAndStopping(self) -> None:
        """
        C{READY=1} once started, C{STOPPING=1} as it stops; no watchdog
        messages without C{WATCHDOG_USEC}.
        """
        self.assertEqual(self.notifier.messages, [("READY=1", "STATUS=serving")])
        self.reactor.advance(60)
        self.service.stopService()
        self.assertEqual(
            self.notifier.messages,
            [("READY=1", "STATUS=serving"), ("STOPPING=1", "STATUS=stopping")],
        )


class WatchdogTests(ControlTestCase):
    """
    With C{WATCHDOG_USEC} set, C{WATCHDOG=1} is sent every half of it.
    """

    environ = {"WATCHDOG_USEC": "4000000"}

    def test_keepAlive(self) -> None:
        """
        Every 2 s for a 4 s watchdog, until the service stops.
        """
        self.reactor.advance(1.9)
        self.assertNotIn("WATCHDOG=1", self.notifier.firsts())
        self.reactor.pump([0.1, 2, 2])
        self.assertEqual(self.notifier.firsts().count("WATCHDOG=1"), 3)
        self.service.stopService()
        self.reactor.pump([2, 2])
        self.assertEqual(self.notifier.firsts().count("WATCHDOG=1"), 3)


class OtherProcessWatchdogTests(ControlTestCase):
    """
    A watchdog set for another process (C{WATCHDOG_PID}) is not ours.
    """

    environ = {"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "1"}

    def test_notOurs(self) -> None:
        """
        Nothing is sent.
        """
        self.reactor.pump([2] * 5)
        self.assertNotIn("WATCHDOG=1", self.notifier.firsts())
