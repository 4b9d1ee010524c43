"""
Kinds of site, and how their pages come to be: which kind a site folder is
(L{kinds}), a template site's Jinja2 templates rendered once, at start-up
(L{templates}), and the URLs of a plain site, a folder served as it is
(L{plain}).

It may import L{h2site.refs}, L{h2site.files} (the path safety rules) and
L{h2site.errors}.
"""
