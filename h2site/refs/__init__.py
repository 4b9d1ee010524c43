"""
Reference finders: what an HTML page, a stylesheet or a JavaScript
module names (L{html}, L{css}, L{js}), resolved as a browser resolves it
(L{urls}), reported as L{asset.Asset}s and written as C{Link} header
values (L{links}).

Pure: it imports nothing from Twisted and nothing else from h2site.
"""
