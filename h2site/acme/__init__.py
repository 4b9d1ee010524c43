"""
Automatic HTTPS: certificates obtained and renewed from an ACME CA (Let's
Encrypt, or any other, RFC 8555) by h2site itself.

The settings (L{settings}), the files kept in the state folder
(L{state}), when to renew and retry (L{schedule}, pure functions of
times), the protocol through certbot's C{acme} library, whose blocking
calls run in threads (L{client}, imported only once a certificate is due;
what it hands over is in L{orders}), the answers to TLS-ALPN-01 challenges
(L{tlsalpn}), and the Twisted service that drives them (L{service}).  A new
certificate is written atomically into the files the TLS listeners were
given, and taken up through the certificate watch of
L{h2site.ops.control}, with no restart.

It imports L{h2site.tls} and L{h2site.errors} from h2site; L{h2site.web}
does not import it (the challenge answers it fills are a plain mapping).
"""
