"""
TLS: the server context and its policy, with the ALPN hook that answers
ACME's TLS-ALPN-01 challenges (L{context}), C{--port} endpoint
strings with TLS taken into h2site's hands (L{endpoints}), the local
certificate authority (L{localca}) and the development certificate it
issues (L{devcert}), and putting that authority into this machine's trust
stores (L{trust}, C{--trust-local-ca}).

It imports only L{h2site.errors} from h2site.
"""
