"""
TLS: the server context and its policy (L{context}), C{--port} endpoint
strings with TLS taken into h2site's hands (L{endpoints}), and the
development certificate (L{devcert}).

It imports only L{h2site.errors} from h2site.
"""
