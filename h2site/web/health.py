# -*- test-case-name: tests.integration.test_operations -*-
"""
The health check a load balancer polls.
"""

from __future__ import annotations

from twisted.web import resource
from twisted.web.server import Request

__all__ = ["HEALTH"]


class _Health(resource.Resource):
    """
    The health check: 200 as long as the process serves, never cached.
    """

    isLeaf = True

    def render_GET(self, request: Request) -> bytes:
        request.responseHeaders.setRawHeaders(
            b"content-type", [b"text/plain; charset=utf-8"]
        )
        request.responseHeaders.setRawHeaders(b"cache-control", [b"no-store"])
        return b"ok\n"

    render_HEAD = render_GET


HEALTH = _Health()
