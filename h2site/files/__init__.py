"""
The static files: the index and store (L{store}), what is sent for each
file in each coding (L{representation}), the compressed bodies cached on
disk between runs (L{buildcache}), which paths may be served
(L{safepath}), and fingerprinting the references inside stylesheets and
modules (L{fingerprint}).

It may import L{h2site.semantics} and L{h2site.refs}; of Twisted only what
runs work in a thread (C{Deferred}) and logs.
"""
