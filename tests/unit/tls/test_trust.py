"""
Tests for L{h2site.tls.trust}: C{--trust-local-ca} and C{--untrust-local-ca}
with the real C{certutil} on NSS databases in a temporary home, and the
system store in a temporary folder (its update command faked), never the
machine's own.
"""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from twisted.trial.unittest import SynchronousTestCase

from h2site.errors import ConfigError, StartupError
from h2site.tap import Options
from h2site.tls.localca import localCAPaths
from h2site.tls.trust import (
    SYSTEM_STORE,
    SYSTEM_STORE_VARIABLE,
    nssDatabases,
    otherSystems,
    systemStore,
    trustLocalCA,
    untrustLocalCA,
)
from tests.helpers import requireTool

#: The CA's nickname in NSS, from its common name.
_NICKNAME = "h2site local CA "


def _listed(database: Path) -> dict[str, str]:
    """
    The nicknames in an NSS database with their trust attributes, as
    C{certutil -L} lists them.
    """
    done = subprocess.run(
        ["certutil", "-d", f"sql:{database}", "-L"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    listed = {}
    for line in done.stdout.splitlines()[4:]:
        name, _, trust = line.rstrip().rpartition(" ")
        if name.strip():
            listed[name.strip()] = trust
    return listed


def _stored(database: Path, nickname: str) -> list[x509.Certificate]:
    """
    Every certificate an NSS database holds under C{nickname}.
    """
    done = subprocess.run(
        ["certutil", "-d", f"sql:{database}", "-L", "-n", nickname, "-a"],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return x509.load_pem_x509_certificates(done.stdout)


class _Home(SynchronousTestCase):
    """
    A temporary home with its own state folder, system store folder, and an
    C{update-ca-certificates} that records its runs instead of updating
    anything.
    """

    def setUp(self) -> None:
        self.certutil = requireTool("certutil")
        self.home = Path(self.mktemp()).absolute()
        self.home.mkdir()
        self.system = self.home / "system-store"
        self.system.mkdir()
        bin = self.home / "bin"
        bin.mkdir()
        fake = bin / "update-ca-certificates"
        fake.write_text("#!/bin/sh\nexit 0\n")
        fake.chmod(0o755)
        self.environ = {
            "HOME": str(self.home),
            "PATH": f"{bin}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
            "XDG_STATE_HOME": str(self.home / "state"),
            SYSTEM_STORE_VARIABLE: str(self.system),
        }
        self.commands: list[list[str]] = []
        self.updateResult = (0, "")
        self.nssdb = self.home / ".pki" / "nssdb"
        self.ca = localCAPaths(self.home / "state" / "h2site")[1]

    def runCommand(self, command: Sequence[str]) -> tuple[int, str]:
        """
        Record C{command}; run C{certutil} for real, on the temporary
        databases, and fake the system store's update.
        """
        self.commands.append(list(command))
        if Path(command[0]).name != "certutil":
            return self.updateResult
        done = subprocess.run(
            list(command),
            env=self.environ,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return done.returncode, done.stdout + done.stderr

    def trust(self) -> tuple[int, str]:
        out = io.StringIO()
        status = trustLocalCA(self.environ, out, self.runCommand)
        return status, out.getvalue()

    def untrust(self) -> tuple[int, str]:
        out = io.StringIO()
        status = untrustLocalCA(self.environ, out, self.runCommand)
        return status, out.getvalue()

    def updates(self) -> int:
        return sum(1 for c in self.commands if c[0].endswith("update-ca-certificates"))


class TrustTests(_Home):
    """
    L{trustLocalCA} installs the CA into the NSS databases browsers read
    and into the system store, and says so for each.
    """

    def test_userDatabase(self) -> None:
        """
        The user's NSS database is created, and then lists the CA under its
        nickname, trusted to issue server certificates (C{C,,}); the CA is
        the one in the state folder.
        """
        self.assertFalse(self.nssdb.exists())
        status, out = self.trust()
        self.assertEqual(status, 0, out)
        [(name, trust)] = _listed(self.nssdb).items()
        self.assertTrue(name.startswith(_NICKNAME), name)
        self.assertEqual(trust, "C,,")
        [stored] = _stored(self.nssdb, name)
        self.assertEqual(stored, x509.load_pem_x509_certificate(self.ca.read_bytes()))
        self.assertIn(f"NSS {self.nssdb} (Chromium and Chrome): trusted", out)
        self.assertIn(f"h2site local CA: {self.ca} (created now)", out)

    def test_again(self) -> None:
        """
        Run again, nothing changes: the CA is there once.  After the CA is
        made again, the new one replaces the old under the same nickname.
        """
        self.trust()
        status, out = self.trust()
        self.assertEqual(status, 0, out)
        self.assertNotIn("created now", out)
        [name] = _listed(self.nssdb)
        self.assertEqual(len(_stored(self.nssdb, name)), 1)
        for path in localCAPaths(self.ca.parent):
            path.unlink()
        status, out = self.trust()
        self.assertEqual(status, 0, out)
        self.assertIn("created now", out)
        [stored] = _stored(self.nssdb, name)
        self.assertEqual(stored, x509.load_pem_x509_certificate(self.ca.read_bytes()))

    def test_firefoxProfiles(self) -> None:
        """
        Each Firefox profile with a database gets the CA too; a folder
        without one (not a profile) is left alone.
        """
        profile = self.home / ".mozilla" / "firefox" / "abc123.default-release"
        profile.mkdir(parents=True)
        subprocess.run(
            [self.certutil, "-d", f"sql:{profile}", "-N", "--empty-password"],
            check=True,
            timeout=60,
        )
        notProfile = self.home / ".mozilla" / "firefox" / "Crash Reports"
        notProfile.mkdir()
        self.assertEqual(
            [d.path for d in nssDatabases(self.home)], [self.nssdb, profile]
        )
        status, out = self.trust()
        self.assertEqual(status, 0, out)
        self.assertEqual(list(_listed(profile).values()), ["C,,"])
        self.assertIn(f"NSS {profile} (Firefox profile abc123.default-release)", out)
        self.assertEqual(list(notProfile.iterdir()), [])

    def test_systemStore(self) -> None:
        """
        The CA is copied into the system store folder as a C{.crt} (what
        C{update-ca-certificates} reads) readable by all, and the update is
        run once, after the copy.
        """
        status, out = self.trust()
        self.assertEqual(status, 0, out)
        [copied] = self.system.iterdir()
        self.assertRegex(copied.name, r"^h2site-local-ca-[\w.-]+\.crt$")
        self.assertEqual(copied.read_bytes(), self.ca.read_bytes())
        self.assertEqual(stat.S_IMODE(copied.stat().st_mode), 0o644)
        self.assertEqual(self.updates(), 1)
        self.assertTrue(self.commands[-1][0].endswith("update-ca-certificates"))
        self.assertEqual(
            self.commands[-1][0], str(self.home / "bin" / "update-ca-certificates")
        )
        self.assertIn(f"system store: {copied}, update-ca-certificates ran", out)

    def test_updateFails(self) -> None:
        """
        A failing update is reported with its first line, and the status is
        not 0; the browsers' database still got the CA.
        """
        self.updateResult = (1, "cannot write /etc/ssl/certs\nmore")
        status, out = self.trust()
        self.assertEqual(status, 1)
        self.assertIn("update-ca-certificates failed: cannot write /etc/ssl/certs", out)
        self.assertIn("(Chromium and Chrome): trusted", out)

    def test_systemStoreLeftAlone(self) -> None:
        """
        An empty C{H2SITE_SYSTEM_CA_DIR} leaves the system store alone; a
        missing folder (not Debian) is reported, not an error.
        """
        self.environ[SYSTEM_STORE_VARIABLE] = ""
        status, out = self.trust()
        self.assertEqual((status, self.updates()), (0, 0), out)
        self.assertIn("system store: left alone", out)
        self.environ[SYSTEM_STORE_VARIABLE] = str(self.home / "missing")
        status, out = self.trust()
        self.assertEqual((status, self.updates()), (0, 0), out)
        self.assertIn("does not exist", out)

    def test_systemStoreNotWritable(self) -> None:
        """
        A system store this user may not write is not an error: the
        commands to run with sudo are printed instead.
        """
        if os.geteuid() == 0:
            raise self.skipTest("root may write any folder")
        self.system.chmod(0o555)
        self.addCleanup(self.system.chmod, 0o755)
        status, out = self.trust()
        self.assertEqual((status, self.updates()), (0, 0), out)
        self.assertIn(f"sudo cp {self.ca}", out)

    def test_otherSystems(self) -> None:
        """
        The instructions for other systems name the CA file.
        """
        status, out = self.trust()
        self.assertEqual(status, 0, out)
        for line in otherSystems(self.ca):
            self.assertIn(line, out)
        self.assertIn(f"System.keychain {self.ca}", out)
        self.assertIn("certutil -user -addstore Root local-ca.pem", out)

    def test_certutilMissing(self) -> None:
        """
        Without C{certutil}: one line saying what to install, and nothing
        written, not even the CA.
        """
        self.environ["PATH"] = str(self.home / "bin")
        with self.assertRaises(ConfigError) as caught:
            self.trust()
        message = str(caught.exception)
        self.assertIn("apt install libnss3-tools", message)
        self.assertNotIn("\n", message)
        self.assertFalse(self.ca.exists())
        self.assertEqual(self.commands, [])

    def test_defaultSystemStore(self) -> None:
        """
        Without the variable, the system store is Debian's folder.
        """
        self.assertEqual(systemStore({}), SYSTEM_STORE)
        self.assertEqual(systemStore({SYSTEM_STORE_VARIABLE: "/tmp/x"}), Path("/tmp/x"))
        self.assertIsNone(systemStore({SYSTEM_STORE_VARIABLE: ""}))


class UntrustTests(_Home):
    """
    L{untrustLocalCA} takes out what L{trustLocalCA} put in.
    """

    def test_removed(self) -> None:
        """
        The CA leaves the NSS database and the system store (whose update
        runs again); its own files stay.
        """
        self.trust()
        status, out = self.untrust()
        self.assertEqual(status, 0, out)
        self.assertEqual(_listed(self.nssdb), {})
        self.assertEqual(list(self.system.iterdir()), [])
        self.assertEqual(self.updates(), 2)
        self.assertIn("(Chromium and Chrome): removed", out)
        self.assertTrue(self.ca.exists())

    def test_nothingThere(self) -> None:
        """
        With nothing installed, it says so and succeeds.
        """
        status, out = self.untrust()
        self.assertEqual(status, 0, out)
        self.assertIn("was not there", out)
        self.assertEqual(self.updates(), 0)


class CommandLineTests(_Home):
    """
    C{twistd h2site --trust-local-ca} runs at once, like C{--version}: no
    site folder is needed.
    """

    def test_trustLocalCA(self) -> None:
        """
        The option installs the CA and exits with status 0, although there
        is no C{./site} folder to serve.
        """
        self.patch(os, "environ", self.environ)
        out = io.StringIO()
        self.patch(sys, "stdout", out)
        self.assertFalse(Path("site").exists())
        with self.assertRaises(SystemExit) as caught:
            Options().parseOptions(["--trust-local-ca"])
        self.assertEqual(caught.exception.code, 0, out.getvalue())
        self.assertEqual(list(_listed(self.nssdb).values()), ["C,,"])
        self.assertIn("system store:", out.getvalue())

    def test_certutilMissing(self) -> None:
        """
        Without C{certutil}, the command line ends with one line and a
        non-zero status.
        """
        self.patch(os, "environ", {**self.environ, "PATH": str(self.home / "bin")})
        with self.assertRaises(StartupError) as caught:
            Options().parseOptions(["--untrust-local-ca"])
        code = str(caught.exception.code)
        self.assertTrue(code.startswith("h2site: error: certutil is not installed"))
        self.assertIn("--untrust-local-ca", code)
