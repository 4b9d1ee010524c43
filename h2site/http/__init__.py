"""
The HTTP protocol layer: connections, not sites.

HTTP/1.1 (L{h1}), HTTP/2 (L{h2}, on the C{h2} library), HTTP/3 over QUIC
(L{h3}, on C{aioquic}), the ALPN switch between HTTP/1.1 and HTTP/2 and
the pool a shutdown closes (L{switch}), every limit of a connection
(L{limits}), what the protocols answer by themselves (L{messages}), and
sending a C{103 Early Hints} (L{earlyhints}) through the channel
capability it needs (L{interfaces}).  Requests leave this layer as
ordinary C{twisted.web} requests.

It imports nothing else from h2site, and it is the only package that may
touch Twisted's private HTTP internals (and C{h2}'s, C{hpack}'s,
C{aioquic}'s): each one it uses is guarded by
L{tests.unit.http.test_internals}, which fails naming it when an upgrade
changes it.
"""
