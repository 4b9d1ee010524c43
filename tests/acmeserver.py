"""
Pebble, Let's Encrypt's test ACME CA (Debian's C{pebble} package), run on
loopback for the ACME tests, with C{pebble-challtestsrv} as its DNS server
answering 127.0.0.1 for every name: so any name (C{h2site.test}) is
validated against the h2site under test, and nothing outside this machine
is asked.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers import (
    START_TIMEOUT,
    Certificates,
    makeCertificates,
    requireTool,
)

#: The name Pebble refuses to issue for.
REFUSED = "refused.test"


def freePort() -> int:
    """
    A TCP port on 127.0.0.1 free now (Pebble must be told its ports, and
    where h2site answers challenges, before anything listens).
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Pebble:
    """
    A running Pebble CA and its DNS server.

    @ivar httpPort: where Pebble validates HTTP-01 (h2site's C{--redirect}).
    @ivar tlsPort: where it validates TLS-ALPN-01 (h2site's TLS port).
    """

    directory: Path
    httpPort: int
    tlsPort: int
    #: Seconds the certificates it issues are valid (Pebble's default: 5
    #: years); a few seconds make h2site renew while a test watches.
    validity: int | None = None
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    port: int = 0
    managementPort: int = 0

    @property
    def caBundle(self) -> Path:
        """
        What h2site trusts for Pebble's own HTTPS (C{--acme-ca-bundle}).
        """
        return self.directory / "certs" / "ca.pem"

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}/dir"

    @property
    def log(self) -> Path:
        return self.directory / "pebble.log"

    def prepare(self) -> Certificates:
        """
        Choose Pebble's port and write its TLS certificate (L{caBundle}),
        once: so that h2site can be started first, with a CA that is down.
        """
        if not self.port:
            self.port = freePort()
        certs = self.directory / "certs"
        if not certs.exists():
            return makeCertificates(certs)
        return Certificates(
            directory=certs,
            caCert=certs / "ca.pem",
            key=certs / "key.pem",
            cert=certs / "cert.pem",
            otherKey=certs / "other-key.pem",
        )

    def start(self) -> Pebble:
        pebble = requireTool("pebble")
        challtestsrv = requireTool("pebble-challtestsrv")
        certs = self.prepare()
        self.managementPort, dns, dnsManagement = (freePort() for _ in range(3))
        config = {
            "pebble": {
                "listenAddress": f"127.0.0.1:{self.port}",
                "managementListenAddress": f"127.0.0.1:{self.managementPort}",
                "certificate": str(certs.cert),
                "privateKey": str(certs.key),
                "httpPort": self.httpPort,
                "tlsPort": self.tlsPort,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": False,
                # A name the CA refuses, as Let's Encrypt refuses some.
                "domainBlocklist": [REFUSED],
            }
        }
        if self.validity is not None:
            config["pebble"]["certificateValidityPeriod"] = self.validity
        configPath = self.directory / "pebble-config.json"
        configPath.write_text(json.dumps(config))
        env = dict(os.environ, PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="0")
        with (self.directory / "challtestsrv.log").open("wb") as out:
            self.processes.append(
                subprocess.Popen(
                    [
                        challtestsrv,
                        "-dns01",
                        f"127.0.0.1:{dns}",
                        "-management",
                        f"127.0.0.1:{dnsManagement}",
                        "-http01",
                        "",
                        "-https01",
                        "",
                        "-tlsalpn01",
                        "",
                        "-defaultIPv4",
                        "127.0.0.1",
                        "-defaultIPv6",
                        "",
                    ],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            )
        with self.log.open("wb") as out:
            self.processes.append(
                subprocess.Popen(
                    [
                        pebble,
                        "-config",
                        str(configPath),
                        "-dnsserver",
                        f"127.0.0.1:{dns}",
                    ],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=env,
                    cwd=self.directory,
                )
            )
        self._waitForDirectory()
        return self

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.caBundle))

    def _waitForDirectory(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                urllib.request.urlopen(self.url, context=self._context(), timeout=5)
                return
            except OSError:
                if time.monotonic() > deadline or any(
                    p.poll() is not None for p in self.processes
                ):
                    raise AssertionError(
                        "pebble did not start:\n" + self.log.read_text()
                    ) from None
                time.sleep(0.1)

    def root(self) -> bytes:
        """
        The PEM of the root Pebble issues under (it makes a new one each
        run), from its management interface.
        """
        url = f"https://localhost:{self.managementPort}/roots/0"
        with urllib.request.urlopen(url, context=self._context(), timeout=10) as r:
            return bytes(r.read())

    def orders(self) -> int:
        """
        How many orders Pebble was sent, from its log.
        """
        return self.log.read_text().count("POST /order-plz")

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)
        self.processes = []


def startPebble(
    testCase: object,
    directory: Path,
    httpPort: int,
    tlsPort: int,
    validity: int | None = None,
) -> Pebble:
    """
    Start Pebble and stop it when the test ends.
    """
    pebble = Pebble(directory, httpPort, tlsPort, validity).start()
    testCase.addCleanup(pebble.stop)  # type: ignore[attr-defined]
    return pebble
