"""
h2site behind an L4 load balancer: C{haproxy:} listeners, for real.

The balancer writes a PROXY header (v1 text or v2 binary) before the
client's first byte; h2site must read it outside TLS, then serve HTTP/2 and
HTTP/1.1 over TLS as usual and log the client the header names.  The clients
here write the headers themselves (any address, either version), and a real
HAProxy in C{mode tcp} with C{send-proxy-v2} stands in front of curl.
"""

from __future__ import annotations

import re
import socket
import ssl
import struct
import subprocess
import time
from pathlib import Path

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import DataReceived, ResponseReceived, StreamEnded, StreamReset
from twisted.trial.unittest import SynchronousTestCase

from tests.h2client import requestHeaders
from tests.helpers import (
    START_TIMEOUT,
    copySite,
    requireTool,
    sharedCertificates,
    startServer,
)

#: The signature that opens every PROXY protocol v2 header.
_V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def proxyV1(source: str, sourcePort: int = 40000) -> bytes:
    """
    A PROXY v1 header for a TCP over IPv4 connection from C{source} to
    127.0.0.1:443.
    """
    return b"PROXY TCP4 %s 127.0.0.1 %d 443\r\n" % (source.encode(), sourcePort)


def proxyV2(source: str, sourcePort: int = 40000) -> bytes:
    """
    A PROXY v2 header (command PROXY, TCP) for a connection from C{source},
    IPv4 or IPv6, to the loopback address of the same family, port 443.
    """
    if ":" in source:
        family, addressFamily, destination = 0x21, socket.AF_INET6, "::1"
    else:
        family, addressFamily, destination = 0x11, socket.AF_INET, "127.0.0.1"
    addresses = (
        socket.inet_pton(addressFamily, source)
        + socket.inet_pton(addressFamily, destination)
        + struct.pack("!HH", sourcePort, 443)
    )
    return _V2_SIGNATURE + struct.pack("!BBH", 0x21, family, len(addresses)) + addresses


def proxiedTLS(port: int, header: bytes, alpn: str) -> ssl.SSLSocket:
    """
    Connect to 127.0.0.1:C{port}, write C{header}, then do the TLS
    handshake offering only C{alpn}, as a client behind a balancer appears
    to the server.
    """
    raw = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        raw.sendall(header)
        tls = (
            sharedCertificates()
            .sslContext([alpn])
            .wrap_socket(raw, server_hostname="localhost")
        )
    except BaseException:
        raw.close()
        raise
    if tls.selected_alpn_protocol() != alpn:
        tls.close()
        raise AssertionError(f"the server did not negotiate {alpn}")
    return tls


def http2Get(tls: ssl.SSLSocket, path: str) -> int:
    """
    One HTTP/2 request on a TLS connection that negotiated C{h2}.

    @return: the response status.
    """
    h2 = H2Connection(H2Configuration(client_side=True, header_encoding=None))
    h2.initiate_connection()
    stream = h2.get_next_available_stream_id()
    h2.send_headers(stream, requestHeaders(path), end_stream=True)
    tls.sendall(h2.data_to_send())
    status = 0
    while True:
        data = tls.recv(65536)
        if not data:
            raise AssertionError("the server closed the connection")
        for event in h2.receive_data(data):
            if isinstance(event, ResponseReceived):
                status = int(dict(event.headers)[b":status"])
            elif isinstance(event, DataReceived):
                h2.acknowledge_received_data(
                    event.flow_controlled_length, event.stream_id
                )
            elif isinstance(event, StreamReset):
                raise AssertionError(f"stream reset: {event.error_code!r}")
            elif isinstance(event, StreamEnded) and event.stream_id == stream:
                return status
        tls.sendall(h2.data_to_send())


def http11Get(sock: socket.socket, path: str) -> bytes:
    """
    One HTTP/1.1 request (C{Connection: close}) on a connection.

    @return: the response's status line.
    """
    sock.sendall(
        b"GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        % path.encode()
    )
    response = b""
    while chunk := sock.recv(65536):
        response += chunk
    return response.split(b"\r\n", 1)[0]


def waitForLog(path: Path, pattern: str, timeout: float = 30.0) -> str:
    """
    The access log once a line of it matches C{pattern}.

    h2site writes a response's line before the response leaves, so the
    first read normally has it; the loop only bounds a slow machine.
    """
    regex = re.compile(pattern, re.MULTILINE)
    deadline = time.monotonic() + timeout
    while True:
        text = path.read_text() if path.exists() else ""
        if regex.search(text):
            return text
        if time.monotonic() > deadline:
            raise AssertionError(f"no access log line matches {pattern!r}:\n{text}")
        time.sleep(0.05)  # poll interval of a bounded, condition-checked loop


def logLine(client: str, path: str, protocol: str, status: int) -> str:
    """
    The pattern of a Combined Log Format line.
    """
    return (
        rf"^{re.escape(client)} - - \[[^]]+\] "
        rf'"GET {re.escape(path)} {re.escape(protocol)}" {status} '
    )


def freePort() -> int:
    """
    A port on 127.0.0.1 nothing listens on right now.
    """
    probe = socket.socket()
    try:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
    finally:
        probe.close()


class ProxiedServerTestCase(SynchronousTestCase):
    """
    A h2site whose listeners expect PROXY headers: TLS (C{--tls-cert}) on a
    C{haproxy:tcp:} listener, a C{--redirect haproxy:tcp:} listener, and an
    access log file.
    """

    #: Extra options, such as C{--workers}.
    options: tuple[str, ...] = ()

    def setUp(self) -> None:
        self.tmp = Path(self.mktemp()).absolute()
        self.tmp.mkdir()
        copySite(self.tmp / "site")
        certs = sharedCertificates()
        self.log = self.tmp / "access.log"
        self.server = startServer(
            self,
            "-p",
            "haproxy:tcp:port=0:interface=127.0.0.1",
            "--tls-cert",
            str(certs.cert),
            "--tls-key",
            str(certs.key),
            "--redirect",
            "haproxy:tcp:port=0:interface=127.0.0.1",
            "--access-log",
            str(self.log),
            *self.options,
            cwd=self.tmp,
            listeners=2,
        )

    @property
    def httpsPort(self) -> int:
        return int(self.server.urls[0].rsplit(":", 1)[1])

    @property
    def redirectPort(self) -> int:
        return int(self.server.urls[1].rsplit(":", 1)[1])


class ProxyProtocolTests(ProxiedServerTestCase):
    """
    C{--port haproxy:tcp:... --tls-cert ... --tls-key ...} in one process.
    """

    def test_listening(self) -> None:
        """
        The log says which listeners expect a PROXY header.
        """
        self.assertIn("over TLS after a PROXY header", self.server.output())
        self.assertRegex(
            self.server.output(),
            r"listening on http://127\.0\.0\.1:\d+/ \(HTTP/1\.1 after a PROXY "
            r"header, redirecting to HTTPS\)",
        )

    def test_proxyV1(self) -> None:
        """
        After a v1 header, HTTP/2 and HTTP/1.1 over TLS are served, and the
        access log names the client the header gave.
        """
        with proxiedTLS(self.httpsPort, proxyV1("203.0.113.7"), "h2") as tls:
            self.assertEqual(http2Get(tls, "/?v1-h2"), 200)
        with proxiedTLS(self.httpsPort, proxyV1("203.0.113.7"), "http/1.1") as tls:
            self.assertEqual(http11Get(tls, "/?v1-h1"), b"HTTP/1.1 200 OK")
        waitForLog(self.log, logLine("203.0.113.7", "/?v1-h2", "HTTP/2", 200))
        text = waitForLog(self.log, logLine("203.0.113.7", "/?v1-h1", "HTTP/1.1", 200))
        self.assertNotIn("127.0.0.1", text)

    def test_proxyV2(self) -> None:
        """
        After a v2 header, IPv4 or IPv6, the same.
        """
        with proxiedTLS(self.httpsPort, proxyV2("203.0.113.8"), "h2") as tls:
            self.assertEqual(http2Get(tls, "/?v2-h2"), 200)
        with proxiedTLS(self.httpsPort, proxyV2("2001:db8::8"), "http/1.1") as tls:
            self.assertEqual(http11Get(tls, "/?v2-h1"), b"HTTP/1.1 200 OK")
        waitForLog(self.log, logLine("203.0.113.8", "/?v2-h2", "HTTP/2", 200))
        waitForLog(self.log, logLine("2001:db8::8", "/?v2-h1", "HTTP/1.1", 200))

    def test_redirect(self) -> None:
        """
        C{--redirect haproxy:tcp:...} reads the header too, and redirects.
        """
        with socket.create_connection(
            ("127.0.0.1", self.redirectPort), timeout=30
        ) as sock:
            sock.sendall(proxyV1("203.0.113.9"))
            status = http11Get(sock, "/?plain")
        self.assertEqual(status, b"HTTP/1.1 308 Permanent Redirect")
        waitForLog(self.log, logLine("203.0.113.9", "/?plain", "HTTP/1.1", 308))

    def test_noHeaderClosed(self) -> None:
        """
        A client that starts TLS without a PROXY header is disconnected:
        only the balancer may talk to such a listener.
        """
        raw = socket.create_connection(("127.0.0.1", self.httpsPort), timeout=30)
        context = sharedCertificates().sslContext()
        with self.assertRaises(OSError):  # ssl.SSLError is an OSError
            context.wrap_socket(raw, server_hostname="localhost").close()
        raw.close()
        # The server still serves well-formed connections.
        with proxiedTLS(self.httpsPort, proxyV1("203.0.113.7"), "h2") as tls:
            self.assertEqual(http2Get(tls, "/?after"), 200)


class ProxySSLTests(SynchronousTestCase):
    """
    C{--port haproxy:ssl:...}: h2site's own TLS (with ALPN C{h2}), never
    Twisted's C{ssl:} parser, behind the PROXY layer.
    """

    def test_haproxySSL(self) -> None:
        """
        HTTP/2 is negotiated after a PROXY header, and the header's client
        is logged.
        """
        tmp = Path(self.mktemp()).absolute()
        tmp.mkdir()
        copySite(tmp / "site")
        log = tmp / "access.log"
        server = startServer(
            self,
            "-p",
            "haproxy:" + sharedCertificates().endpoint(),
            "--access-log",
            str(log),
            cwd=tmp,
        )
        with proxiedTLS(server.port, proxyV2("203.0.113.10"), "h2") as tls:
            self.assertEqual(http2Get(tls, "/?ssl"), 200)
        waitForLog(log, logLine("203.0.113.10", "/?ssl", "HTTP/2", 200))


class ProxyProtocolWorkersTests(ProxiedServerTestCase):
    """
    The same with C{--workers 2}: each worker reads the PROXY headers on
    its own C{SO_REUSEPORT} socket.
    """

    options = ("--workers", "2")

    def setUp(self) -> None:
        super().setUp()
        self.server.waitForOutput("all 2 workers are serving")

    def test_proxyHeaders(self) -> None:
        """
        Connections with v1 and v2 headers, over HTTP/2 and HTTP/1.1, are
        served by the workers and logged with the header's client; the
        redirect listener (answered by the supervisor) too.
        """
        cases = [
            (proxyV1("203.0.113.7", 40000 + n), alpn, f"/?w{n}")
            for n, alpn in enumerate(["h2", "http/1.1"])
        ] + [
            (proxyV2("203.0.113.8", 41000 + n), alpn, f"/?w{n + 2}")
            for n, alpn in enumerate(["h2", "http/1.1"])
        ]
        for header, alpn, path in cases:
            with proxiedTLS(self.httpsPort, header, alpn) as tls:
                if alpn == "h2":
                    self.assertEqual(http2Get(tls, path), 200)
                else:
                    self.assertEqual(http11Get(tls, path), b"HTTP/1.1 200 OK")
        for n, client in enumerate(["203.0.113.7"] * 2 + ["203.0.113.8"] * 2):
            protocol = "HTTP/2" if n % 2 == 0 else "HTTP/1.1"
            waitForLog(self.log, logLine(client, f"/?w{n}", protocol, 200))
        with socket.create_connection(
            ("127.0.0.1", self.redirectPort), timeout=30
        ) as sock:
            sock.sendall(proxyV2("203.0.113.9"))
            status = http11Get(sock, "/?plain")
        self.assertEqual(status, b"HTTP/1.1 308 Permanent Redirect")
        waitForLog(self.log, logLine("203.0.113.9", "/?plain", "HTTP/1.1", 308))


class HAProxyTests(ProxiedServerTestCase):
    """
    A real HAProxy in C{mode tcp} with C{send-proxy-v2} in front of h2site,
    and curl behind it from another loopback address.
    """

    def setUp(self) -> None:
        self.haproxy = requireTool("haproxy")
        self.curl = requireTool("curl")
        super().setUp()
        self.front = self.startHAProxy()

    def startHAProxy(self) -> int:
        """
        Run HAProxy in the foreground on a free port, forwarding to h2site's
        TLS listener with a PROXY v2 header, until the test ends.

        @return: its port.
        """
        front = freePort()
        config = self.tmp / "haproxy.cfg"
        config.write_text(
            "global\n"
            "    maxconn 64\n"
            "defaults\n"
            "    mode tcp\n"
            "    timeout connect 10s\n"
            "    timeout client 60s\n"
            "    timeout server 60s\n"
            "frontend public\n"
            f"    bind 127.0.0.1:{front}\n"
            "    default_backend h2site\n"
            "backend h2site\n"
            f"    server h2site 127.0.0.1:{self.httpsPort} send-proxy-v2\n"
        )
        output = self.tmp / "haproxy.out"
        with output.open("wb") as sink:
            process = subprocess.Popen(
                [self.haproxy, "-db", "-f", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )

        def stop() -> None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(30)

        self.addCleanup(stop)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", front), timeout=5).close()
                return front
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(
                    "haproxy did not listen:\n" + output.read_text(errors="replace")
                )
            # Waiting on the process is the pause between attempts, and
            # notices at once if haproxy exits (a configuration error).
            try:
                code = process.wait(0.05)
            except subprocess.TimeoutExpired:
                continue
            raise AssertionError(
                f"haproxy exited with {code}:\n" + output.read_text(errors="replace")
            )

    def curlGet(self, source: str, version: str, path: str) -> str:
        """
        Fetch C{path} through HAProxy with curl from address C{source}.

        @return: the status and HTTP version curl reports, e.g. C{"200 2"}.
        """
        done = subprocess.run(
            [
                self.curl,
                "--silent",
                "--show-error",
                version,
                "--interface",
                source,
                "--cacert",
                str(sharedCertificates().caCert),
                "--resolve",
                f"localhost:{self.front}:127.0.0.1",
                "--output",
                "/dev/null",
                "--write-out",
                "%{http_code} %{http_version}",
                f"https://localhost:{self.front}{path}",
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        self.assertEqual(done.returncode, 0, done.stderr)
        return done.stdout

    def test_throughHAProxy(self) -> None:
        """
        curl from 127.0.0.5 (HTTP/2) and 127.0.0.6 (HTTP/1.1) through
        HAProxy gets 200, and the access log names those addresses, not
        HAProxy's.
        """
        self.assertEqual(self.curlGet("127.0.0.5", "--http2", "/?haproxy-h2"), "200 2")
        self.assertEqual(
            self.curlGet("127.0.0.6", "--http1.1", "/?haproxy-h1"), "200 1.1"
        )
        waitForLog(self.log, logLine("127.0.0.5", "/?haproxy-h2", "HTTP/2", 200))
        waitForLog(self.log, logLine("127.0.0.6", "/?haproxy-h1", "HTTP/1.1", 200))
