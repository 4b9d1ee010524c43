"""
Automatic HTTPS against a real ACME server: Pebble (Debian's C{pebble},
Let's Encrypt's test CA) on loopback, with C{pebble-challtestsrv} as its
DNS, answering 127.0.0.1 for C{h2site.test} (L{tests.acmeserver}).

h2site starts with no certificate (a temporary self-signed one), obtains
one by HTTP-01 on its C{--redirect} listener, and serves it at once (hot
reload): a client trusting only Pebble's root gets a verified TLS
connection and HTTP/2.  A restart reuses the stored certificate with no
new order.  A CA that cannot be reached keeps h2site serving the temporary
certificate, with one line saying so and when it retries; a missing terms
agreement is one line and exit 1.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import ssl
import stat
import subprocess
import time
from pathlib import Path

from cryptography import x509
from twisted.trial.unittest import SynchronousTestCase

from tests.acmeserver import REFUSED, Pebble, freePort, startPebble
from tests.helpers import (
    Server,
    copySite,
    requireTool,
    runTwistd,
    startServer,
    testEnvironment,
)

DOMAIN = "h2site.test"

_ISSUED = r"certificate issued for h2site\.test in ([0-9.]+) s"


def servedCertificate(
    port: int, context: ssl.SSLContext
) -> tuple[x509.Certificate, str]:
    """
    The certificate h2site serves for L{DOMAIN} on 127.0.0.1, through
    C{context} (which checks it), and the ALPN protocol chosen.
    """
    context.set_alpn_protocols(["h2", "http/1.1"])
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=DOMAIN) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
        assert der is not None
        return x509.load_der_x509_certificate(der), tls.selected_alpn_protocol() or ""


def unverified() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class AcmeTests(SynchronousTestCase):
    """
    h2site and Pebble, each a real process.
    """

    def setUp(self) -> None:
        self.directory = Path(self.mktemp()).resolve()
        self.directory.mkdir()
        self.site = copySite(self.directory / "site")
        self.httpPort, self.tlsPort = freePort(), freePort()
        self.env = testEnvironment(self.directory)

    def arguments(
        self, directoryURL: str, caBundle: Path, domain: str = DOMAIN
    ) -> list[str]:
        return [
            "--site",
            str(self.site),
            "--acme-domain",
            domain,
            "--acme-email",
            "ops@example.org",
            "--acme-agree-tos",
            "--acme-directory",
            directoryURL,
            "--acme-ca-bundle",
            str(caBundle),
            "--port",
            f"ssl:port={self.tlsPort}:interface=127.0.0.1",
            "--redirect",
            f"tcp:port={self.httpPort}:interface=127.0.0.1",
        ]

    def start(self, pebble: Pebble, *extra: str, redirect: bool = True) -> Server:
        args = self.arguments(pebble.url, pebble.caBundle)
        if not redirect:
            del args[args.index("--redirect") : args.index("--redirect") + 2]
        return startServer(self, *args, *extra, cwd=self.directory, env=self.env)

    def trusting(self, pebble: Pebble) -> ssl.SSLContext:
        root = self.directory / "pebble-root.pem"
        root.write_bytes(pebble.root())
        return ssl.create_default_context(cafile=str(root))

    def stateFiles(self) -> list[Path]:
        state = self.directory / "state" / "h2site" / "acme"
        return sorted(p for p in state.rglob("*") if p.is_file())

    def test_http01(self) -> None:
        """
        With no certificate, h2site serves a temporary one, obtains one from
        Pebble by HTTP-01 and serves it without a restart: a client that
        trusts only Pebble's root connects to h2site.test with TLS verified
        and HTTP/2, and curl gets the home page over it.  The key file is
        mode 0600 and nothing temporary is left in the state folder.
        """
        pebble = startPebble(
            self, self.directory / "pebble", self.httpPort, self.tlsPort
        )
        server = self.start(pebble)
        server.waitForOutput(
            "serving a temporary self-signed certificate for h2site.test"
        )
        server.waitForOutput(_ISSUED, timeout=60)
        server.waitForOutput(r"new certificate for .*serial", timeout=15)
        cert, alpn = servedCertificate(self.tlsPort, self.trusting(pebble))
        self.assertEqual(alpn, "h2")
        self.assertIn("Pebble Intermediate CA", cert.issuer.rfc4514_string())
        curl = requireTool("curl")
        root = self.directory / "pebble-root.pem"
        done = subprocess.run(
            [
                curl,
                "-sS",
                "--http2",
                "--resolve",
                f"{DOMAIN}:{self.tlsPort}:127.0.0.1",
                "--cacert",
                str(root),
                "-o",
                os.devnull,
                "-w",
                "%{http_version} %{http_code}",
                f"https://{DOMAIN}:{self.tlsPort}/",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        self.assertEqual((done.stdout, done.stderr), ("2 200", ""))
        files = self.stateFiles()
        names = sorted(p.name for p in files)
        self.assertEqual(names, ["account-key.pem", "account.json", "h2site.test.pem"])
        for path in files:
            self.assertEqual(stat.S_IMODE(path.stat().st_mode), 0o600, path)
        self.assertEqual(pebble.orders(), 1)

    def test_restartReuses(self) -> None:
        """
        A restart serves the stored certificate at once and places no new
        order with the CA.
        """
        pebble = startPebble(
            self, self.directory / "pebble", self.httpPort, self.tlsPort
        )
        first = self.start(pebble)
        first.waitForOutput(_ISSUED, timeout=60)
        first.waitForOutput(r"new certificate for .*serial", timeout=15)
        issued, _ = servedCertificate(self.tlsPort, unverified())
        self.assertEqual(first.stop(), -signal.SIGTERM)
        second = self.start(pebble)
        second.waitForOutput(r"certificate for h2site\.test valid until .* renewal due")
        served, _ = servedCertificate(self.tlsPort, unverified())
        self.assertEqual(served, issued)
        self.assertNotIn("temporary", second.output())
        self.assertNotIn("ordering a certificate", second.output())
        self.assertEqual(pebble.orders(), 1)

    def test_unreachableCA(self) -> None:
        """
        A directory URL nothing answers: h2site starts and serves the
        temporary certificate, and says in one line why, what it serves and
        when it retries.
        """
        bundle = self.directory / "ca.pem"
        bundle.write_text("")
        url = f"https://localhost:{freePort()}/dir"
        server = startServer(
            self, *self.arguments(url, bundle), cwd=self.directory, env=self.env
        )
        line = server.waitForOutput(
            r"could not obtain a certificate for h2site\.test from (\S+): (.*); "
            r"still serving the temporary self-signed certificate; retrying in "
            r"(\d+) (s|minutes) \(attempt 1\)",
            timeout=60,
        )
        self.assertEqual(line.group(1), url)
        self.assertEqual(line.group(2), "cannot connect to the CA")
        cert, _ = servedCertificate(self.tlsPort, unverified())
        self.assertIn("temporary", cert.subject.rfc4514_string())

    def test_noAgreement(self) -> None:
        """
        Without --acme-agree-tos, h2site says so in one line and exits 1,
        having written nothing.
        """
        args = self.arguments("letsencrypt-staging", self.directory / "none.pem")
        args.remove("--acme-agree-tos")
        result = runTwistd(*args, cwd=self.directory, env=self.env)
        self.assertEqual(result.code, 1)
        self.assertRegex(
            result.stdout + result.stderr,
            re.compile(r"--acme-domain needs your agreement .* add --acme-agree-tos"),
        )
        self.assertEqual(self.stateFiles(), [])

    def test_timeToFirstCertificate(self) -> None:
        """
        Pebble issues within seconds (the figure is logged by h2site).
        """
        pebble = startPebble(
            self, self.directory / "pebble", self.httpPort, self.tlsPort
        )
        started = time.monotonic()
        server = self.start(pebble)
        seconds = float(server.waitForOutput(_ISSUED, timeout=60).group(1))
        self.assertLess(seconds, 30)
        self.assertLess(time.monotonic() - started, 60)

    def curl(self, path: str, root: Path, *args: str) -> list[str]:
        return [
            requireTool("curl"),
            "-sS",
            "--http2",
            "--resolve",
            f"{DOMAIN}:{self.tlsPort}:127.0.0.1",
            "--cacert",
            str(root),
            *args,
            f"https://{DOMAIN}:{self.tlsPort}{path}",
        ]

    def test_renewalDuringDownload(self) -> None:
        """
        With certificates valid 15 s, h2site renews when a third is left
        (about 10 s after issue) and swaps the new one in while a download
        (rate-limited to last across it) is in flight: the download
        completes intact over the old connection, and new connections get
        the new certificate.
        """
        pebble = startPebble(
            self, self.directory / "pebble", self.httpPort, self.tlsPort, validity=15
        )
        big = self.site / "static" / "big.bin"
        big.write_bytes(os.urandom(24 * 1024 * 1024))
        server = self.start(pebble)
        server.waitForOutput(r"new certificate for .*serial", timeout=60)
        context = self.trusting(pebble)
        first, _ = servedCertificate(self.tlsPort, context)
        root = self.directory / "pebble-root.pem"
        out = self.directory / "downloaded.bin"
        download = subprocess.Popen(
            self.curl("/static/big.bin", root, "--limit-rate", "1M", "-o", str(out)),
            stderr=subprocess.PIPE,
            text=True,
        )
        self.addCleanup(download.kill)
        server.waitForOutput(
            r"ordering a certificate .*a third of its lifetime", timeout=30
        )
        server.waitForOutput(r"new certificate for .*serial", timeout=30, count=2)
        self.assertIsNone(download.poll(), "the download ended before the renewal")
        second, _ = servedCertificate(self.tlsPort, context)
        self.assertNotEqual(second.serial_number, first.serial_number)
        self.assertEqual(download.wait(60), 0, download.stderr)
        self.assertEqual(
            hashlib.sha256(out.read_bytes()).digest(),
            hashlib.sha256(big.read_bytes()).digest(),
        )

    def test_refusedDomain(self) -> None:
        """
        A name the CA refuses: one line with the CA's reason, the temporary
        certificate still served, and a retry planned.
        """
        pebble = startPebble(
            self, self.directory / "pebble", self.httpPort, self.tlsPort
        )
        args = self.arguments(pebble.url, pebble.caBundle, domain=REFUSED)
        server = startServer(self, *args, cwd=self.directory, env=self.env)
        line = server.waitForOutput(
            r"could not obtain a certificate for refused\.test from \S+: the CA "
            r"refused: (.*); still serving the temporary self-signed certificate; "
            r"retrying in",
            timeout=60,
        )
        self.assertIn("refused.test", line.group(1))

    def test_unwritableState(self) -> None:
        """
        A state folder that cannot be written: one line naming it, exit 1.
        """
        blocked = self.directory / "blocked"
        blocked.write_bytes(b"")
        env = dict(self.env, XDG_STATE_HOME=str(blocked))
        args = self.arguments("letsencrypt-staging", self.directory / "x.pem")
        args[args.index("--acme-ca-bundle") : args.index("--acme-ca-bundle") + 2] = []
        result = runTwistd(*args, cwd=self.directory, env=env)
        self.assertEqual(result.code, 1)
        output = result.stdout + result.stderr
        self.assertIn(f"cannot write ACME state to '{blocked}/h2site/acme/", output)
        self.assertEqual(blocked.read_bytes(), b"")

    def test_tlsAlpn01(self) -> None:
        """
        With no --redirect listener, the certificate is obtained by
        TLS-ALPN-01 on the TLS listener (RFC 8737), and served at once.
        """
        pebble = startPebble(
            self, self.directory / "pebble", self.httpPort, self.tlsPort
        )
        server = self.start(pebble, redirect=False)
        server.waitForOutput(
            r"challenges answered, in order of preference: tls-alpn-01$"
        )
        server.waitForOutput(
            r"answering the CA's tls-alpn-01 challenge for h2site\.test on the TLS"
        )
        server.waitForOutput(_ISSUED, timeout=60)
        server.waitForOutput(r"new certificate for .*serial", timeout=15)
        cert, alpn = servedCertificate(self.tlsPort, self.trusting(pebble))
        self.assertEqual(alpn, "h2")
        self.assertIn("Pebble Intermediate CA", cert.issuer.rfc4514_string())
        self.assertNotIn("http-01", server.output())

    def test_workers(self) -> None:
        """
        With --workers 2, the supervisor alone talks to the CA (one order),
        and every worker serves the new certificate, taken up from its file.
        """
        pebble = startPebble(
            self, self.directory / "pebble", self.httpPort, self.tlsPort
        )
        server = self.start(pebble, "--workers", "2")
        server.waitForOutput(_ISSUED, timeout=60)
        server.waitForOutput(r"all 2 workers are serving", timeout=60)
        context = self.trusting(pebble)
        # Each worker takes it up on its next look at the file (5 s): a
        # connection that any worker answers with the temporary certificate
        # fails verification.
        deadline = time.monotonic() + 15
        while True:
            try:
                serials = {
                    servedCertificate(self.tlsPort, context)[0].serial_number
                    for _ in range(20)
                }
                break
            except ssl.SSLCertVerificationError:
                self.assertLess(time.monotonic(), deadline, server.output())
                time.sleep(0.2)
        self.assertEqual(len(serials), 1)
        self.assertEqual(pebble.orders(), 1)
        self.assertEqual(len(re.findall("ordering a certificate", server.output())), 1)

    def test_caDownAtStart(self) -> None:
        """
        A CA that is down when h2site starts: the temporary certificate is
        served, and the retry after about a minute (back-off) obtains the
        certificate once the CA is up.
        """
        pebble = Pebble(self.directory / "pebble", self.httpPort, self.tlsPort)
        pebble.prepare()
        self.addCleanup(pebble.stop)
        server = self.start(pebble)
        line = server.waitForOutput(
            r"cannot connect to the CA; still serving the temporary self-signed "
            r"certificate; retrying in (\d+) s \(attempt 1\)",
            timeout=30,
        )
        self.assertTrue(54 <= int(line.group(1)) <= 60, line.group(0))
        pebble.start()
        server.waitForOutput(_ISSUED, timeout=90)
        server.waitForOutput(r"new certificate for .*serial", timeout=15)
        cert, _ = servedCertificate(self.tlsPort, self.trusting(pebble))
        self.assertIn("Pebble Intermediate CA", cert.issuer.rfc4514_string())
