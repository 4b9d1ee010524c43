"""
Kinds of site, and how their pages come to be: a template site's Jinja2
templates rendered once, at start-up (L{templates}).

It may import L{h2site.refs} and L{h2site.errors}.
"""
