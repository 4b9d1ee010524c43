"""
End-to-end tests of running h2site in production: reload on SIGHUP,
certificate renewal, log reopening, systemd notification and socket
activation, all against the real twistd process.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import ssl
import time
from pathlib import Path

import httpx
from cryptography import x509
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import (
    copySite,
    makeCertificates,
    sharedCertificates,
    startServer,
    startSocketActivated,
    testEnvironment,
)


def servedCertificate(port: int) -> x509.Certificate:
    """
    The certificate a new TLS connection to C{port} is given.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=30) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


class ReloadTests(SynchronousTestCase):
    """
    SIGHUP renders the site and reads the certificates again, without
    dropping connections; a broken reload keeps the old state serving.
    """

    def setUp(self) -> None:
        self.tmp = Path(self.mktemp()).absolute()
        self.tmp.mkdir()
        self.site = copySite(self.tmp / "site")
        self.big = os.urandom(32 * 1024 * 1024)
        (self.site / "static" / "big.bin").write_bytes(self.big)
        first = sharedCertificates()
        self.keyFile, self.certFile = self.tmp / "key.pem", self.tmp / "cert.pem"
        shutil.copy(first.key, self.keyFile)
        shutil.copy(first.cert, self.certFile)
        self.ca = first.sslContext()
        self.server = startServer(
            self,
            "--site",
            str(self.site),
            "--port",
            f"ssl:0:interface=127.0.0.1:privateKey={self.keyFile}:certKey={self.certFile}",
            cwd=self.tmp,
        )

    def renew(self) -> x509.Certificate:
        """
        Replace the certificate files (as certbot does, by renaming new
        files into place) with a new key and certificate.
        """
        new = makeCertificates(self.tmp / f"renewed-{time.monotonic_ns()}")
        os.replace(shutil.copy(new.key, self.tmp / "key.new"), self.keyFile)
        os.replace(shutil.copy(new.cert, self.tmp / "cert.new"), self.certFile)
        return x509.load_pem_x509_certificate(new.cert.read_bytes())

    def test_reloadKeepsDownloadAndSwapsCertificate(self) -> None:
        """
        An HTTP/2 download in flight during a SIGHUP reload completes
        intact, and a new connection afterwards gets the new certificate.
        """
        old = servedCertificate(self.server.port)
        digest = hashlib.sha256()
        with (
            httpx.Client(http2=True, verify=self.ca) as client,
            client.stream("GET", self.server.url + "/static/big.bin") as response,
        ):
            self.assertEqual(response.http_version, "HTTP/2")
            chunks = response.iter_bytes(65536)
            first = next(chunks)
            digest.update(first)
            renewed = self.renew()
            self.server.signal(signal.SIGHUP)
            self.server.waitForOutput(r"reloaded; now serving the new version")
            for chunk in chunks:
                digest.update(chunk)
        self.assertEqual(digest.hexdigest(), hashlib.sha256(self.big).hexdigest())
        # The access log line is written when the response ends: after the
        # reload, so the download really was in flight during it.
        finished = self.server.waitForOutput(r'"GET /static/big.bin HTTP/2" 200')
        output = self.server.output()
        self.assertLess(
            output.index("reloaded; now serving the new version"),
            output.index(finished.group(0)),
        )
        now = servedCertificate(self.server.port)
        self.assertNotEqual(now.serial_number, old.serial_number)
        self.assertEqual(now.serial_number, renewed.serial_number)

    def test_reloadPicksUpTemplates(self) -> None:
        """
        A changed template is served after SIGHUP.
        """
        (self.site / "templates" / "about.html").write_text("<p>changed</p>")
        self.server.signal(signal.SIGHUP)
        self.server.waitForOutput(r"reloaded; now serving the new version")
        with httpx.Client(http2=True, verify=self.ca) as client:
            self.assertEqual(
                client.get(self.server.url + "/about").text, "<p>changed</p>"
            )

    def test_badReloadKeepsServing(self) -> None:
        """
        A reload with a broken template or a key that does not match keeps
        the previous site and certificate, and says why.
        """
        old = servedCertificate(self.server.port)
        (self.site / "templates" / "about.html").write_text("{{ broken }}")
        self.server.signal(signal.SIGHUP)
        self.server.waitForOutput(
            r"reload failed, still serving the previous version: "
            r"template 'about.html' line 1: 'broken' is undefined"
        )
        (self.site / "templates" / "about.html").write_text("fixed")
        shutil.copy(sharedCertificates().otherKey, self.keyFile)
        self.server.signal(signal.SIGHUP)
        self.server.waitForOutput(r"reload failed.*does not match certificate")
        with httpx.Client(http2=True, verify=self.ca) as client:
            about = client.get(self.server.url + "/about")
        self.assertEqual(about.status_code, 200)
        self.assertNotEqual(about.text, "fixed")
        self.assertEqual(
            servedCertificate(self.server.port).serial_number, old.serial_number
        )

    def test_reloadRefusesMissingOrEmptySite(self) -> None:
        """
        A reload while the site folder is missing, or emptied, is refused
        with the reason start-up would give, and the previous version keeps
        serving every page and file.
        """
        moved = self.tmp / "moved"
        self.site.rename(moved)
        self.server.signal(signal.SIGHUP)
        self.server.waitForOutput(
            r"reload failed, still serving the previous version: "
            r"site folder .* does not exist"
        )
        self.assertServing()
        self.site.mkdir()
        self.server.signal(signal.SIGHUP)
        self.server.waitForOutput(
            r"reload failed, still serving the previous version: "
            r"site folder .* is empty"
        )
        self.assertServing()
        (self.site / "templates").mkdir()
        self.server.signal(signal.SIGHUP)
        self.server.waitForOutput(
            r"reload failed, still serving the previous version: "
            r"site folder .* has no templates/index.html"
        )
        self.assertServing()
        self.assertNotIn("now serving the new version", self.server.output())

    def assertServing(self) -> None:
        """
        The demo's pages and static files are all still served.
        """
        with httpx.Client(http2=True, verify=self.ca) as client:
            for path in ("/", "/about", "/static/css/app.css"):
                response = client.get(self.server.url + path)
                self.assertEqual(response.status_code, 200, path)

    def test_renewedCertificateWithoutSignal(self) -> None:
        """
        Certificate files replaced on disk (a certbot renewal) are picked up
        within seconds without any signal.
        """
        renewed = self.renew()
        self.server.waitForOutput(r"new certificate for .*serial", timeout=30)
        self.assertEqual(
            servedCertificate(self.server.port).serial_number, renewed.serial_number
        )


class LogReopenTests(SynchronousTestCase):
    """
    SIGUSR1 reopens the access log, for logrotate.
    """

    def test_reopen(self) -> None:
        """
        After the log is moved away and SIGUSR1 sent, new lines go to a new
        file at the configured path; the process keeps running.
        """
        tmp = Path(self.mktemp()).absolute()
        tmp.mkdir()
        copySite(tmp / "site")
        certs = sharedCertificates()
        log = tmp / "access.log"
        server = startServer(
            self, "-p", certs.endpoint(), "--access-log", str(log), cwd=tmp
        )
        with httpx.Client(http2=True, verify=certs.sslContext()) as client:
            client.get(server.url + "/?before")
            os.rename(log, tmp / "access.log.1")
            server.signal(signal.SIGUSR1)
            server.waitForOutput("access log reopened")
            client.get(server.url + "/?after")
        server.stop()
        self.assertIn("/?before", (tmp / "access.log.1").read_text())
        self.assertIn("/?after", log.read_text())
        self.assertNotIn("/?after", (tmp / "access.log.1").read_text())


class SystemdTests(SynchronousTestCase):
    """
    Notifications to systemd, and sockets systemd opened.
    """

    def setUp(self) -> None:
        self.tmp = Path(self.mktemp()).absolute()
        self.tmp.mkdir()
        copySite(self.tmp / "site")
        self.certs = sharedCertificates()

    def test_notify(self) -> None:
        """
        h2site sends READY=1 once it serves, RELOADING=1 then READY=1 around
        a reload, WATCHDOG=1 when a watchdog is set, and STOPPING=1.
        """
        path = str(self.tmp / "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(sock.close)
        sock.bind(path)
        sock.settimeout(30)
        env = testEnvironment(self.tmp)
        env["NOTIFY_SOCKET"] = path
        env["WATCHDOG_USEC"] = "400000"
        server = startServer(self, "-p", self.certs.endpoint(), cwd=self.tmp, env=env)

        def until(field: str) -> list[str]:
            seen = []
            for _ in range(100):
                message = sock.recv(4096).decode()
                seen.append(message)
                if field in message.split("\n"):
                    return seen
            raise AssertionError(f"{field} never arrived: {seen}")

        until("READY=1")
        until("WATCHDOG=1")
        server.signal(signal.SIGHUP)
        reloading = until("RELOADING=1")
        self.assertTrue(any("MONOTONIC_USEC=" in m for m in reloading[-1:]))
        until("READY=1")
        server.signal(signal.SIGTERM)
        until("STOPPING=1")

    def test_socketActivation(self) -> None:
        """
        Under C{systemd-socket-activate}, h2site serves HTTPS and HTTP/2 on
        the socket it was given, with C{--tls-cert}/C{--tls-key}.
        """
        server, port = startSocketActivated(self, self.certs, cwd=self.tmp)
        server.waitForOutput(f"h2site listening on https://127.0.0.1:{port}/")


class AccessLogFormatTests(SynchronousTestCase):
    """
    The JSON access log and the health path, through the real server.
    """

    def test_jsonAndHealth(self) -> None:
        """
        C{--access-log-format json} writes one object per response with the
        protocol and duration; C{--health-path} answers 200 and is not
        logged.
        """
        import json

        tmp = Path(self.mktemp()).absolute()
        tmp.mkdir()
        copySite(tmp / "site")
        certs = sharedCertificates()
        log = tmp / "access.jsonl"
        server = startServer(
            self,
            "-p",
            certs.endpoint(),
            "--access-log",
            str(log),
            "--access-log-format",
            "json",
            "--health-path",
            "/healthz",
            cwd=tmp,
        )
        with httpx.Client(http2=True, verify=certs.sslContext()) as client:
            health = client.get(server.url + "/healthz")
            client.get(server.url + "/about", headers={"user-agent": "json-test"})
        self.assertEqual((health.status_code, health.text), (200, "ok\n"))
        self.assertEqual(health.headers["cache-control"], "no-store")
        server.stop()
        [record] = [json.loads(line) for line in log.read_text().splitlines()]
        self.assertEqual(
            {
                k: record[k]
                for k in ("method", "uri", "protocol", "status", "user_agent")
            },
            {
                "method": "GET",
                "uri": "/about",
                "protocol": "h2",
                "status": 200,
                "user_agent": "json-test",
            },
        )
        self.assertGreater(record["bytes"], 0)
        self.assertGreaterEqual(record["duration_ms"], 0)
        self.assertRegex(
            record["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$"
        )
