"""
Tests for L{h2site.tls.devcert}.
"""

from __future__ import annotations

import os
import stat
from datetime import timedelta
from pathlib import Path

from cryptography import x509
from twisted.trial.unittest import SynchronousTestCase

from h2site.errors import ConfigError
from h2site.tls.context import (
    loadKeyAndChain,
    utcNow,
)
from h2site.tls.devcert import (
    devCertificatePaths,
    ensureDevCertificate,
    stateDirectory,
)


class DevCertificateTests(SynchronousTestCase):
    """
    The development certificate is generated once and reused.
    """

    def setUp(self) -> None:
        self.directory = Path(self.mktemp()).absolute() / "h2site"

    def test_stateDirectory(self) -> None:
        """
        C{$XDG_STATE_HOME/h2site} when set (absolute), else
        C{~/.local/state/h2site}.
        """
        self.assertEqual(
            stateDirectory({"XDG_STATE_HOME": "/s", "HOME": "/h"}), Path("/s/h2site")
        )
        self.assertEqual(
            stateDirectory({"XDG_STATE_HOME": "rel", "HOME": "/h"}),
            Path("/h/.local/state/h2site"),
        )
        self.assertEqual(stateDirectory({"HOME": "/h"}), Path("/h/.local/state/h2site"))

    def test_generatedOnceAndReused(self) -> None:
        """
        The first call generates a key (mode 0600) and a certificate for
        localhost, 127.0.0.1 and ::1; the second reuses them.
        """
        now = utcNow()
        key, cert, generated = ensureDevCertificate(self.directory, now)
        self.assertTrue(generated)
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        material = loadKeyAndChain(str(key), str(cert))
        san = material.certificate.extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        ).value
        self.assertEqual(san.get_values_for_type(x509.DNSName), ["localhost"])
        self.assertEqual(
            [str(a) for a in san.get_values_for_type(x509.IPAddress)],
            ["127.0.0.1", "::1"],
        )
        before = cert.read_bytes()
        self.assertEqual(ensureDevCertificate(self.directory, now)[2], False)
        self.assertEqual(cert.read_bytes(), before)

    def test_pathsWithoutWriting(self) -> None:
        """
        L{devCertificatePaths} names the files L{ensureDevCertificate}
        writes, without writing anything: what a worker process reads.
        """
        paths = devCertificatePaths(self.directory)
        self.assertFalse(self.directory.exists())
        self.assertEqual(ensureDevCertificate(self.directory, utcNow())[:2], paths)

    def test_renewedBeforeExpiry(self) -> None:
        """
        Within 30 days of expiry the certificate is replaced.
        """
        now = utcNow()
        ensureDevCertificate(self.directory, now)
        later = now + timedelta(days=397 - 29)
        self.assertTrue(ensureDevCertificate(self.directory, later)[2])

    def test_unwritable(self) -> None:
        """
        A state folder that cannot be created is one clear error.
        """
        blocker = Path(self.mktemp())
        blocker.write_text("a file, not a folder")
        with self.assertRaises(ConfigError) as caught:
            ensureDevCertificate(blocker / "h2site", utcNow())
        self.assertIn("cannot write the development certificate", str(caught.exception))
