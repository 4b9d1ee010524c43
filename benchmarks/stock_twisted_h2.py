"""
Stock Twisted serving a folder with C{twisted.web.static.File}, over TLS that
offers ALPN C{h2} and C{http/1.1}, so Twisted's own HTTP/2 is used.

C{twistd web --listen ssl:...} cannot do this: its C{ssl:} endpoint offers
no ALPN, so browsers fall back to HTTP/1.1.  The preload benchmark runs both
to compare h2site with stock Twisted on the same protocol as well as with
what C{twistd web} gives out of the box.

    python benchmarks/stock_twisted_h2.py FOLDER KEY.pem CERT.pem

Prints C{listening on PORT} once the (kernel-chosen) port is open.
"""

from __future__ import annotations

import sys

from twisted.internet import endpoints, reactor, ssl
from twisted.internet.interfaces import IListeningPort
from twisted.web import server, static


def main(folder: str, keyPath: str, certPath: str) -> None:
    with open(keyPath, "rb") as f:
        key = ssl.KeyPair.load(f.read(), 1)  # FILETYPE_PEM
    with open(certPath, "rb") as f:
        cert = ssl.Certificate.loadPEM(f.read())
    options = ssl.CertificateOptions(
        privateKey=key.original,
        certificate=cert.original,
        acceptableProtocols=[b"h2", b"http/1.1"],
    )
    endpoint = endpoints.SSL4ServerEndpoint(reactor, 0, options, interface="127.0.0.1")
    site = server.Site(static.File(folder))
    site.noisy = False

    def listening(port: IListeningPort) -> None:
        print(f"listening on {port.getHost().port}", flush=True)

    endpoint.listen(site).addCallback(listening)
    reactor.run()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main(*sys.argv[1:4])
