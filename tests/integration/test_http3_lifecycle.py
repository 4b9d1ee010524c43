"""
End-to-end tests of HTTP/3's place in h2site's life: the UDP socket systemd
passes (C{ListenDatagram=}), under the real C{systemd-socket-activate}, and
a reload's certificate on the next QUIC connections, against the real
C{twistd h2site --http3} process and aioquic's client.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from aioquic.asyncio.client import connect
from aioquic.h3.connection import H3_ALPN
from aioquic.quic.configuration import QuicConfiguration
from cryptography import x509
from twisted.trial.unittest import SynchronousTestCase

from tests.h3client import _Client, fetch
from tests.helpers import (
    TIMEOUT,
    Certificates,
    Server,
    makeCertificates,
    makeSite,
    requireTool,
    sharedCertificates,
    startServer,
)

_PAGE = "<!doctype html><title>home</title><p>Hello</p>\n"


def _freePort() -> int:
    """
    A port free for TCP and UDP alike on 127.0.0.1.
    """
    while True:
        with socket.socket() as tcp, socket.socket(type=socket.SOCK_DGRAM) as udp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def _startActivated(
    testCase: SynchronousTestCase,
    certs: Certificates,
    *args: str,
    cwd: Path,
    datagram: bool,
) -> tuple[Server, int]:
    """
    Start h2site under C{systemd-socket-activate} with a TCP socket named
    C{https} on a free port and, if C{datagram}, a UDP socket of the same
    name on the same port (as one socket unit with C{ListenStream=} and
    C{ListenDatagram=} passes them), then make the first request over
    HTTP/2, which is what starts the program.

    One C{systemd-socket-activate} opens sockets of one type, and passes
    on those it was given: the outer one opens the TCP socket, the inner
    one the UDP socket, and h2site gets both.
    """
    activate = requireTool("systemd-socket-activate")
    port = _freePort()
    prefix = [activate, "--listen", f"127.0.0.1:{port}", "--fdname", "https"]
    if datagram:
        inner = [activate, "--datagram", "--listen", f"127.0.0.1:{port}"]
        prefix += [*inner, "--fdname", "https"]
    server = startServer(
        testCase,
        "-p",
        "systemd:domain=INET:name=https",
        "--tls-cert",
        str(certs.cert),
        "--tls-key",
        str(certs.key),
        *args,
        cwd=cwd,
        prefix=prefix,
        listeners=0,
    )
    server.waitForOutput(f"Listening on 127.0.0.1:{port}")
    with httpx.Client(http2=True, verify=certs.sslContext(), timeout=60) as client:
        response = client.get(f"https://localhost:{port}/")
    testCase.assertEqual((response.http_version, response.status_code), ("HTTP/2", 200))
    server.waitForOutput(f"h2site listening on https://127.0.0.1:{port}/")
    return server, port


class SystemdDatagramTests(SynchronousTestCase):
    """
    C{--port systemd:...} with C{--http3}: the UDP socket systemd passed on
    the same port serves HTTP/3.
    """

    def setUp(self) -> None:
        self.tmp = Path(self.mktemp()).absolute()
        self.tmp.mkdir()
        makeSite(self.tmp / "site", {"index.html": _PAGE}, {})
        self.certs = sharedCertificates()

    def test_passedDatagramSocket(self) -> None:
        """
        With a TCP and a UDP socket of one name on one port, h2site serves
        HTTP/2 on the first and HTTP/3 on the second (it could not have
        bound the port itself: the launcher's socket holds it), and its
        start-up line says so.
        """
        server, port = _startActivated(
            self, self.certs, "--http3", cwd=self.tmp, datagram=True
        )
        (response,) = fetch(port, ["/"], str(self.certs.caCert))
        self.assertEqual(response.status, 200)
        self.assertIn(b"Hello", response.body)
        server.waitForOutput(
            rf"h2site listening on https://127\.0\.0\.1:{port}/ \(HTTP/3, HTTP/2 "
            rf"and HTTP/1\.1 over TLS; QUIC on UDP port {port}\)"
        )
        server.waitForOutput(rf"HTTP/3 on UDP port {port} .*\(socket from systemd\)")
        self.assertNotIn("does not use", server.output())
        self.assertNotIn("binds it for HTTP/3 itself", server.output())

    def test_noDatagramSocket(self) -> None:
        """
        With only a TCP socket passed, h2site says so in one line and binds
        the UDP port itself (an unprivileged one here), which serves.
        """
        server, port = _startActivated(
            self, self.certs, "--http3", cwd=self.tmp, datagram=False
        )
        server.waitForOutput(
            rf"systemd passed no UDP socket on port {port} .* binds it for "
            rf"HTTP/3 itself; add ListenDatagram={port}"
        )
        (response,) = fetch(port, ["/"], str(self.certs.caCert))
        self.assertEqual(response.status, 200)

    def test_datagramSocketWithoutHTTP3(self) -> None:
        """
        A UDP socket passed without C{--http3} is left unused, in one line;
        HTTPS is served as usual, and no HTTP/3 is announced.
        """
        server, port = _startActivated(self, self.certs, cwd=self.tmp, datagram=True)
        server.waitForOutput(
            rf"systemd passed a UDP socket on 127\.0\.0\.1:{port} \(https\), "
            r"which h2site does not use: --http3 is off"
        )
        self.assertNotIn("HTTP/3", server.output())

    def test_workersRefuseDatagramSocket(self) -> None:
        """
        Under C{--workers} with C{--http3}, a passed UDP socket (which the
        workers, each binding its own, could not share) stops start-up with
        one sentence that says what to do.
        """
        activate = requireTool("systemd-socket-activate")
        port = _freePort()
        where = f"127.0.0.1:{port}"
        server = startServer(
            self,
            "-p",
            "systemd:domain=INET:name=https",
            "--tls-cert",
            str(self.certs.cert),
            "--tls-key",
            str(self.certs.key),
            "--http3",
            "--workers",
            "2",
            cwd=self.tmp,
            prefix=[
                *(activate, "--listen", where, "--fdname", "https"),
                *(activate, "--datagram", "--listen", where, "--fdname", "https"),
            ],
            listeners=0,
        )
        server.waitForOutput(f"Listening on {where}")
        # The first connection is what starts the program.
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT):
            server.waitForOutput(
                rf"--workers 2 with --http3 cannot serve the UDP socket systemd "
                rf"passed on {where} .*remove its ListenDatagram= or run one process",
                timeout=TIMEOUT,
            )
        assert server.process is not None
        self.assertNotEqual(server.process.wait(TIMEOUT), 0)


def _peerCertificate(client: _Client) -> x509.Certificate:
    certificate = client._quic.tls._peer_certificate
    assert certificate is not None
    return certificate


class CertificateReloadTests(SynchronousTestCase):
    """
    A reload's certificate serves the next QUIC connections; one opened
    before keeps serving with the certificate it began with.
    """

    def setUp(self) -> None:
        self.tmp = Path(self.mktemp()).absolute()
        self.tmp.mkdir()
        site = makeSite(self.tmp / "site", {"index.html": _PAGE}, {})
        first = sharedCertificates()
        self.renewed = makeCertificates(self.tmp / "renewed")
        self.keyFile, self.certFile = self.tmp / "key.pem", self.tmp / "cert.pem"
        shutil.copy(first.key, self.keyFile)
        shutil.copy(first.cert, self.certFile)
        # The client trusts both CAs: it is the certificate that is checked.
        self.cas = self.tmp / "cas.pem"
        self.cas.write_bytes(
            first.caCert.read_bytes() + self.renewed.caCert.read_bytes()
        )
        keys = f"privateKey={self.keyFile}:certKey={self.certFile}"
        self.server = startServer(
            self,
            "--site",
            str(site),
            "--port",
            f"ssl:0:interface=127.0.0.1:{keys}",
            "--http3",
            cwd=self.tmp,
        )

    def renewFiles(self) -> None:
        """
        Replace the key and certificate files by renaming, as certbot does.
        """
        os.replace(shutil.copy(self.renewed.key, self.tmp / "key.new"), self.keyFile)
        os.replace(shutil.copy(self.renewed.cert, self.tmp / "cert.new"), self.certFile)

    def assertNewConnectionsGetRenewed(self, trigger: Callable[[], None]) -> None:
        """
        Open a QUIC connection, which gets the first certificate; run
        C{trigger} (which makes h2site load the renewed one); then new
        connections get the renewed certificate, within a deadline, while
        the first one still answers.
        """
        first = sharedCertificates()
        before, after, late = asyncio.run(self._connections(trigger))
        served = x509.load_pem_x509_certificate(first.cert.read_bytes())
        renewed = x509.load_pem_x509_certificate(self.renewed.cert.read_bytes())
        self.assertEqual(before.serial_number, served.serial_number)
        self.assertEqual(after.serial_number, renewed.serial_number)
        self.assertEqual(late, 200)

    async def _connections(
        self, trigger: Callable[[], None]
    ) -> tuple[x509.Certificate, x509.Certificate, int]:
        port = self.server.port
        authority = f"localhost:{port}"
        configuration = self._configuration()
        async with connect(
            "127.0.0.1", port, configuration=configuration, create_protocol=_Client
        ) as client:
            assert isinstance(client, _Client)
            response = await asyncio.wait_for(client.get(authority, "/", []), TIMEOUT)
            self.assertEqual(response.status, 200)
            before = _peerCertificate(client)
            # In a thread, so that this connection stays answered meanwhile.
            await asyncio.get_running_loop().run_in_executor(None, trigger)
            deadline = time.monotonic() + TIMEOUT
            while True:
                async with connect(
                    "127.0.0.1",
                    port,
                    configuration=self._configuration(),
                    create_protocol=_Client,
                ) as fresh:
                    assert isinstance(fresh, _Client)
                    after = _peerCertificate(fresh)
                if after.serial_number != before.serial_number:
                    break
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.1)
            late = await asyncio.wait_for(client.get(authority, "/", []), TIMEOUT)
            self.assertEqual(_peerCertificate(client), before)
        return before, after, late.status

    def _configuration(self) -> QuicConfiguration:
        configuration = QuicConfiguration(
            is_client=True,
            alpn_protocols=H3_ALPN,
            server_name="localhost",
            verify_mode=ssl.CERT_REQUIRED,
        )
        configuration.load_verify_locations(str(self.cas))
        return configuration

    def test_sighup(self) -> None:
        """
        After SIGHUP with renewed files, new QUIC connections present the
        renewed certificate.
        """

        def reload() -> None:
            self.renewFiles()
            self.server.signal(signal.SIGHUP)
            self.server.waitForOutput("reloaded; now serving the new version")

        self.assertNewConnectionsGetRenewed(reload)

    def test_watchedFiles(self) -> None:
        """
        Renewed files picked up by h2site's certificate watch, with no
        signal, serve new QUIC connections too.
        """

        def renew() -> None:
            self.renewFiles()
            self.server.waitForOutput(r"new certificate for .*serial")

        self.assertNewConnectionsGetRenewed(renew)
