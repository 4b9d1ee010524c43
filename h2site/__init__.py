"""
h2site: a twistd plugin that serves a Jinja2 static site over HTTP/2 and TLS.
"""

__version__ = "1.0.0.dev0"

__all__ = ["__version__"]
