"""
The C{twisted.web} resources and the C{Site}: the site and its requests
(L{site}, L{request}), the resource tree of a template site (L{root}),
pages (L{pages}), static files (L{static}), a folder served as it is (a
plain site, a template site's C{public/}: L{plain}) and how a
representation is sent (L{delivery}), response headers (L{headers}), the
HTTPS redirect (L{redirect}), the health check (L{health}), the hot path
that answers HTTP/2 requests for pages and stored files from a route table
(L{hot}); and, for
C{--dev} only, its pages (L{devpages}: the live-reload script added, error
pages for templates that fail) and live reload itself (L{livereload}).

It may import the layers below it (L{h2site.http}, L{h2site.semantics},
L{h2site.files}, L{h2site.refs}, L{h2site.preload}, L{h2site.sites}), never
L{h2site.ops} or the assembly.
"""
