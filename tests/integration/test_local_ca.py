"""
The local CA end to end: the real C{twistd -n h2site} serves the demo site
with the development certificate its local CA issued (no certificate
given), C{twistd h2site --trust-local-ca} installs that CA into the NSS
database of a temporary home, and headless Chromium with that home takes
C{https://localhost:PORT/} as secure, with no flag about certificates: no
warning, the HTTP cache works, and every asset the page's 103 Early Hints
announce is fetched once, from the hints.  The same browser with a fresh
home, without the CA, refuses the page: the trust is what makes it work.

Nothing outside the test's folder is touched: the system store is a folder
of the test's (C{H2SITE_SYSTEM_CA_DIR}) and C{update-ca-certificates} a
stand-in that records its run.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import (
    DEMO_ASSETS,
    Server,
    copySite,
    requireTool,
    runTwistd,
    startChromium,
    startServer,
    testEnvironment,
)

#: Emulated latency (ms) per request, as the other browser tests use, so
#: the 103 arrives well before the page does.
LATENCY = 100

_LOAD = """
const nav = performance.getEntriesByType('navigation')[0];
return {
  href: location.href,
  secure: window.isSecureContext,
  title: document.title,
  heading: (document.querySelector('h1') || {}).textContent || '',
  protocol: nav ? nav.nextHopProtocol : '',
  interim: nav ? nav.firstInterimResponseStart || 0 : 0,
  resources: performance.getEntriesByType('resource').map((r) => ({
    url: new URL(r.name).pathname,
    initiator: r.initiatorType,
    size: r.transferSize,
  })),
};
"""

_CA_LOGGED = r"development certificate issued by h2site's local CA (\S+);"


class LocalCATests(SynchronousTestCase):
    """
    Chromium trusts the development certificate once the local CA is
    installed with C{--trust-local-ca}, and only then.
    """

    server: Server

    def setUp(self) -> None:
        self.chromium = requireTool("chromium")
        self.driver = requireTool("chromedriver")
        requireTool("certutil")
        self.tmp = Path(self.mktemp()).absolute()
        self.tmp.mkdir()
        site = copySite(self.tmp / "site")
        self.environ = testEnvironment(self.tmp)
        # No certificate given: the development certificate, on a port the
        # kernel picks (the default 8443 may be taken).
        self.server = startServer(
            self,
            "--site",
            str(site),
            "--port",
            "ssl:port=0",
            cwd=self.tmp,
            env=self.environ,
        )
        self.state = self.tmp / "state" / "h2site"
        self.ca = self.state / "local-ca.pem"
        logged = self.server.waitForOutput(_CA_LOGGED)
        self.assertEqual(logged.group(1), str(self.ca))
        self.server.waitForOutput("run once: twistd h2site --trust-local-ca")

    def load(self, home: Path) -> dict[str, Any]:
        """
        Load the home page in a fresh headless Chromium whose C{HOME} is
        C{home}, trusting no certificate by flag, with its cache on.
        """
        browser = startChromium(
            self.chromium,
            self.driver,
            home / "profile",
            None,
            LATENCY,
            cacheDisabled=False,
            home=home,
        )
        self.addCleanup(browser.quit)
        # get() returns after the load event (or the error page's).
        browser.get(self.server.url + "/")
        result: dict[str, Any] = browser.execute_script(_LOAD)
        return result

    def trust(self, home: Path) -> str:
        """
        Run C{twistd h2site --trust-local-ca} for real with C{HOME} set to
        C{home}, the system store in a folder of the test's.

        @return: what it printed.
        """
        system = self.tmp / "system-store"
        system.mkdir()
        fake = self.tmp / "bin"
        fake.mkdir()
        record = self.tmp / "updated"
        update = fake / "update-ca-certificates"
        update.write_text(f"#!/bin/sh\necho ran >> '{record}'\n")
        update.chmod(0o755)
        environ = {
            **self.environ,
            "HOME": str(home),
            "PATH": f"{fake}{os.pathsep}{self.environ.get('PATH', os.defpath)}",
            "H2SITE_SYSTEM_CA_DIR": str(system),
        }
        done = runTwistd("--trust-local-ca", cwd=self.tmp, env=environ)
        self.assertEqual(done.code, 0, done.stdout + done.stderr)
        # The CA the server issued from, not a new one.
        self.assertIn(f"h2site local CA: {self.ca}, valid for", done.stdout)
        self.assertIn(
            f"NSS {home}/.pki/nssdb (Chromium and Chrome): trusted", done.stdout
        )
        [copied] = system.iterdir()
        self.assertEqual(copied.read_bytes(), self.ca.read_bytes())
        self.assertEqual(record.read_text(), "ran\n")
        listed = subprocess.run(
            ["certutil", "-d", f"sql:{home}/.pki/nssdb", "-L"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        self.assertRegex(listed, r"h2site local CA \S+ +C,,")
        return done.stdout

    def test_trustedLoadsFromEarlyHints(self) -> None:
        """
        With the CA in its NSS database, Chromium loads the page over
        HTTP/2 as a secure context; the navigation had a 103, and every
        asset of the page (each one the hints name) was used from the Early
        Hints fetch and asked of the server once.
        """
        home = self.tmp / "trusted"
        home.mkdir()
        self.trust(home)
        result = self.load(home)
        self.assertEqual(result["href"], self.server.url + "/", result)
        self.assertTrue(result["secure"], result)
        self.assertIn("h2site", result["title"])
        self.assertIn("Static sites over HTTP/2", result["heading"])
        self.assertEqual(result["protocol"], "h2")
        self.assertGreater(result["interim"], 0)
        entries: dict[str, list[dict[str, Any]]] = {}
        for entry in result["resources"]:
            entries.setdefault(entry["url"], []).append(entry)
        for url in DEMO_ASSETS:
            self.assertIn(url, entries, f"{url} was not loaded: {result}")
            first, *others = entries[url]
            self.assertEqual(first["initiator"], "early-hints", (url, entries))
            # A use from the cache has no transfer; a second fetch has one.
            for other in others:
                self.assertEqual(other["size"], 0, (url, entries))
        # The log is read by a thread: wait for every line before counting.
        for url in DEMO_ASSETS:
            self.server.waitForOutput(rf'"GET {re.escape(url)}\?v=\w+ HTTP/2" 200')
        log = self.server.output()
        for url in DEMO_ASSETS:
            self.assertEqual(log.count(f'"GET {url}'), 1, url)

    def test_untrustedRefused(self) -> None:
        """
        The same browser with a fresh home, whose NSS database lacks the
        CA, shows its certificate error page instead, and never sends a
        request.
        """
        home = self.tmp / "untrusted"
        home.mkdir()
        result = self.load(home)
        self.assertTrue(result["href"].startswith("chrome-error://"), result)
        self.assertEqual(result["resources"], [])
        self.assertNotIn('"GET / ', self.server.output())
