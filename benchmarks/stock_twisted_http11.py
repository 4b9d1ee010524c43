"""
Stock Twisted serving a folder with C{twisted.web.static.File} over TLS that
offers only ALPN C{http/1.1}: how a page loads over HTTP/1.1.

C{twistd web --listen ssl:...} offers C{h2} with current Twisted (26.10 was
checked), so the preload benchmark uses it as stock Twisted, and this for an
HTTP/1.1 row.

    python benchmarks/stock_twisted_http11.py FOLDER KEY.pem CERT.pem

Prints C{listening on PORT} once the (kernel-chosen) port is open.
"""

from __future__ import annotations

import sys

from twisted.internet import endpoints, reactor, ssl
from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import IListeningPort
from twisted.web import server, static


class _HTTP11Site(server.Site):
    """
    A stock C{Site} that does not offer C{h2}: Twisted adds the protocols a
    C{Site} offers to the TLS ALPN list whatever C{CertificateOptions} says.
    """

    def acceptableProtocols(self) -> list[bytes]:
        return [b"http/1.1"]


def main(folder: str, keyPath: str, certPath: str) -> None:
    with open(keyPath, "rb") as f:
        key = ssl.KeyPair.load(f.read(), 1)  # FILETYPE_PEM
    with open(certPath, "rb") as f:
        cert = ssl.Certificate.loadPEM(f.read())
    options = ssl.CertificateOptions(
        privateKey=key.original,
        certificate=cert.original,
    )
    endpoint = endpoints.SSL4ServerEndpoint(reactor, 0, options, interface="127.0.0.1")
    site = _HTTP11Site(static.File(folder))
    site.noisy = False

    def listening(port: IListeningPort) -> None:
        address = port.getHost()
        assert isinstance(address, IPv4Address)
        print(f"listening on {address.port}", flush=True)

    endpoint.listen(site).addCallback(listening)
    reactor.run()


if __name__ == "__main__":
    main(*sys.argv[1:4])
