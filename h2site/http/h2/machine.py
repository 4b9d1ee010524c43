# -*- test-case-name: tests.unit.http.h2.test_intake -*-
"""
The C{h2} state machine of a connection, as h2site configures it: the one
place that says which of C{h2}'s checks h2site makes itself.
"""

from __future__ import annotations

from h2.config import H2Configuration
from h2.connection import H2Connection as H2StateMachine

__all__ = ["stateMachine"]


def stateMachine() -> H2StateMachine:
    """
    A server's C{h2} state machine, configured as h2site uses it.
    """
    return H2StateMachine(
        H2Configuration(
            client_side=False,
            header_encoding=None,
            # We build response headers ourselves from Twisted's Headers
            # (which have no connection-specific fields left), so h2's
            # per-header checks would only repeat work on the hot path.
            validate_outbound_headers=False,
            normalize_outbound_headers=False,
            # Checked by checkRequestHeaders, in a third of the time.
            validate_inbound_headers=False,
            # Only joins Cookie crumbs, which readRequestFields does.
            normalize_inbound_headers=False,
        )
    )
