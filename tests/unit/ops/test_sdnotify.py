"""
Tests for L{h2site.ops.sdnotify} and the pure parts of L{h2site.ops.control}.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from h2site.ops.sdnotify import Notifier, notifyAddress, watchdogInterval
from h2site.tls.endpoints import fileSignature


class AddressTests(SynchronousTestCase):
    """
    L{notifyAddress} reads C{NOTIFY_SOCKET}.
    """

    def test_forms(self) -> None:
        """
        A path is used as is, C{@name} is an abstract socket, anything else
        means no systemd.
        """
        self.assertEqual(notifyAddress({"NOTIFY_SOCKET": "/run/x"}), "/run/x")
        self.assertEqual(notifyAddress({"NOTIFY_SOCKET": "@abc"}), b"\0abc")
        self.assertIsNone(notifyAddress({"NOTIFY_SOCKET": "relative"}))
        self.assertIsNone(notifyAddress({}))


class WatchdogTests(SynchronousTestCase):
    """
    L{watchdogInterval} follows C{sd_watchdog_enabled}.
    """

    def test_interval(self) -> None:
        """
        Half of C{WATCHDOG_USEC}, only for the process C{WATCHDOG_PID} names.
        """
        self.assertEqual(watchdogInterval({"WATCHDOG_USEC": "10000000"}, 7), 5.0)
        self.assertEqual(
            watchdogInterval({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "7"}, 7), 1.0
        )
        self.assertIsNone(
            watchdogInterval({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "8"}, 7)
        )
        self.assertIsNone(watchdogInterval({"WATCHDOG_USEC": "0"}, 7))
        self.assertIsNone(watchdogInterval({"WATCHDOG_USEC": "x"}, 7))
        self.assertIsNone(watchdogInterval({}, 7))


class NotifierTests(SynchronousTestCase):
    """
    L{Notifier} sends datagrams to systemd's socket.
    """

    def test_sends(self) -> None:
        """
        Fields are joined by newlines into one datagram.
        """
        path = str(Path(self.mktemp()).absolute())
        receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(receiver.close)
        receiver.bind(path)
        notifier = Notifier({"NOTIFY_SOCKET": path})
        self.assertTrue(notifier.notify("READY=1", "STATUS=serving"))
        self.assertEqual(receiver.recv(100), b"READY=1\nSTATUS=serving")

    def test_noSystemd(self) -> None:
        """
        Without systemd, and when systemd has gone, nothing is sent and
        nothing fails.
        """
        self.assertFalse(Notifier({}).notify("READY=1"))
        gone = Notifier({"NOTIFY_SOCKET": str(Path(self.mktemp()).absolute())})
        self.assertFalse(gone.notify("READY=1"))


class SignatureTests(SynchronousTestCase):
    """
    L{fileSignature} notices replaced files.
    """

    def test_replaced(self) -> None:
        """
        Renaming a new file into place changes the signature even with the
        same size; a missing file is L{None}.
        """
        base = Path(self.mktemp())
        base.mkdir()
        (base / "cert.pem").write_text("aaaa")
        before = fileSignature([str(base / "cert.pem"), str(base / "none")])
        self.assertIsNone(before[1])
        (base / "new.pem").write_text("bbbb")
        os.replace(base / "new.pem", base / "cert.pem")
        self.assertNotEqual(fileSignature([str(base / "cert.pem")])[0], before[0])
