"""
The static files: the index and store (L{store}), one file of it
(L{index}), what is sent for each file in each coding (L{representation}),
the compressed bodies cached on disk between runs (L{buildcache}), which
paths may be served (L{safepath}) and found (L{walk}), fingerprinting the
references inside stylesheets, modules and pages (L{fingerprint}), and the
work done after serving starts (L{background}, L{compression}) by worker
processes (L{workers}, running L{jobs}).

It may import L{h2site.semantics} and L{h2site.refs}; of Twisted only what
runs work elsewhere (C{Deferred}, child processes) and logs.
"""
