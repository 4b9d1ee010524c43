"""
The competitor in L{http2_bench}: stock Twisted's C{static.File} and its own
HTTP/2 (C{twisted.web._http2}), on the same files, with the same key,
certificate and TLS policy as h2site (so ALPN offers h2).

Usage: C{python benchmarks/stock_twisted.py DIR KEY CERT}. Prints
C{listening on PORT} once it listens on a port the kernel chose.
"""

from __future__ import annotations

import sys

from twisted.internet import endpoints, reactor
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.web import server, static

from h2site.tls.context import certificateOptions, loadKeyAndChain


def main(directory: str, keyPath: str, certPath: str) -> None:
    site = server.Site(static.File(directory))
    site.noisy = False
    factory = TLSMemoryBIOFactory(
        certificateOptions(loadKeyAndChain(keyPath, certPath)), False, site
    )
    endpoint = endpoints.TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")

    def listening(port: object) -> None:
        print(f"listening on {port.getHost().port}", flush=True)  # type: ignore[attr-defined]

    endpoint.listen(factory).addCallback(listening)
    reactor.run()


if __name__ == "__main__":
    main(*sys.argv[1:4])
