"""
HTTP semantics (RFC 9110) as pure functions over strings and bytes:
conditional requests and validators, byte ranges, HTTP dates, field lists,
content negotiation, media types.

It imports nothing from Twisted and nothing else from h2site, so every
decision is tested with plain calls.
"""
