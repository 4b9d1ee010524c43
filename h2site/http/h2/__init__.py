"""
h2site's own HTTP/2 connection, built on the C{h2} state machine: frames
and HPACK field encoding (L{frames}), request validation (L{validation}),
the stream a request writes to (L{stream}), and the connection that reads
frames, schedules what leaves and enforces the limits (L{connection}).

It imports only from L{h2site.http}.
"""
