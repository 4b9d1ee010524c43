# -*- test-case-name: tests.integration.test_end_to_end -*-
"""
twistd plugin for h2site. Kept tiny: the module is imported lazily so that
C{twistd --help} stays fast.
"""

from twisted.application.service import ServiceMaker

h2site = ServiceMaker(
    "h2site",
    "h2site.tap",
    "Serve a Jinja2 static site over HTTP/2 and TLS with preload hints.",
    "h2site",
)
