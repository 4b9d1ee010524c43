# -*- test-case-name: tests.unit.test_tap -*-
"""
h2site: a twistd plugin that serves a Jinja2 static site over HTTP/2 and TLS.

The layers are subpackages, each saying in its docstring what it may
import; L{h2site.config} reads the options, L{h2site.server} assembles a
server from them, and L{h2site.tap} is what C{twistd h2site} runs.
"""

__version__ = "1.0.0.dev0"

__all__ = ["__version__"]
