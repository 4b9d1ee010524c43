"""
Tests for L{h2site.acme.state}: the files ACME keeps.
"""

from __future__ import annotations

import os
import stat
from datetime import timedelta
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from h2site.acme.settings import AcmeSettings
from h2site.acme.state import (
    ensureCertificate,
    loadAccount,
    readCertificate,
    saveAccountURL,
    writeCertificate,
)
from h2site.errors import ConfigError
from h2site.tls.context import utcNow
from tests.helpers import makeCertificates


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


class StateTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.tmp = Path(self.mktemp()).absolute()
        self.folder = self.tmp / "acme" / "ca"
        self.settings = AcmeSettings(
            domains=("localhost.example", "www.localhost.example"),
            directory="https://ca.test/dir",
            agreed=True,
            folder=str(self.folder),
        )

    def test_temporaryThenReused(self) -> None:
        """
        With no certificate, a temporary self-signed one for every name is
        written (mode 0600, folder 0700, nothing else left) and why is said;
        the next start reuses it.
        """
        why = ensureCertificate(self.settings, utcNow())
        self.assertEqual(why, "no certificate has been issued yet")
        path = self.settings.certificatePath
        self.assertEqual(_mode(path), 0o600)
        self.assertEqual(_mode(self.folder), 0o700)
        self.assertEqual(os.listdir(self.folder), [path.name])
        info = readCertificate(self.settings)
        assert info is not None
        self.assertTrue(info.temporary)
        self.assertTrue(info.covers(self.settings.domains))
        before = path.read_bytes()
        self.assertIsNone(ensureCertificate(self.settings, utcNow()))
        self.assertEqual(path.read_bytes(), before)

    def test_issuedReplacesAtomically(self) -> None:
        """
        An issued certificate replaces the file in one rename (a new inode,
        mode 0600, no temporary file left), and is not temporary.
        """
        ensureCertificate(self.settings, utcNow())
        path = self.settings.certificatePath
        inode = path.stat().st_ino
        certs = makeCertificates(self.tmp / "ca", names=self.settings.domains)
        writeCertificate(self.settings, certs.key.read_bytes(), certs.cert.read_bytes())
        self.assertNotEqual(path.stat().st_ino, inode)
        self.assertEqual(_mode(path), 0o600)
        self.assertEqual(os.listdir(self.folder), [path.name])
        info = readCertificate(self.settings)
        assert info is not None
        self.assertFalse(info.temporary)
        self.assertLess(info.notAfter - info.notBefore, timedelta(days=31))

    def test_otherNamesReplaced(self) -> None:
        """
        A stored certificate lacking a name is replaced by a temporary one.
        """
        certs = makeCertificates(self.tmp / "ca", names=("localhost.example",))
        writeCertificate(self.settings, certs.key.read_bytes(), certs.cert.read_bytes())
        why = ensureCertificate(self.settings, utcNow())
        self.assertEqual(
            why, "the stored certificate lacks some of the --acme-domain names"
        )

    def test_brokenReplaced(self) -> None:
        """
        A certificate file that does not load is replaced, and said so.
        """
        self.folder.mkdir(parents=True)
        self.settings.certificatePath.write_bytes(b"junk")
        why = ensureCertificate(self.settings, utcNow())
        self.assertEqual(why, "the stored certificate does not load")

    def test_account(self) -> None:
        """
        The account key is made once (mode 0600) and reused; its URL is
        remembered for the same CA only.
        """
        key, url = loadAccount(self.settings)
        self.assertIsNone(url)
        self.assertEqual(_mode(self.folder / "account-key.pem"), 0o600)
        saveAccountURL(self.settings, "https://ca.test/acct/1")
        self.assertEqual(loadAccount(self.settings), (key, "https://ca.test/acct/1"))
        self.assertEqual(_mode(self.folder / "account.json"), 0o600)
        other = AcmeSettings(
            domains=self.settings.domains,
            directory="https://other.test/dir",
            folder=str(self.folder),
        )
        self.assertEqual(loadAccount(other), (key, None))

    def test_unwritable(self) -> None:
        """
        A state folder that cannot be made or written is one line naming
        it and what to do.
        """
        self.tmp.mkdir(parents=True)
        # A file where the folder should be: refused even to root.
        blocked = AcmeSettings(
            domains=self.settings.domains, folder=str(self.tmp / "file" / "acme")
        )
        (self.tmp / "file").write_bytes(b"")
        with self.assertRaises(ConfigError) as caught:
            ensureCertificate(blocked, utcNow())
        message = str(caught.exception)
        self.assertIn("cannot write ACME state to", message)
        self.assertIn("XDG_STATE_HOME", message)
        self.assertNotIn("\n", message)
