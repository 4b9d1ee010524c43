"""
h2site's HTTP/3 (QUIC) listener, on C{aioquic}'s sans-IO state machines.

 - L{listener}: the UDP protocol of one TLS listener's port: it routes
   datagrams to QUIC connections by connection ID, drops what belongs to
   none, and answers floods with Retry;
 - L{session}: one QUIC connection: it drives its C{QuicConnection} and
   C{H3Connection} with the reactor's clock and turns their events into
   requests;
 - L{guard}: what one connection may hold and how long it may stall, and
   the Version Negotiation answer to unknown QUIC versions;
 - L{stream}: the stream a request writes to (its channel), as the HTTP/2
   layer's L{h2site.http.h2.stream.Stream} is.

Requests leave as ordinary C{twisted.web} requests with C{clientproto}
C{HTTP/3}.  It imports only from L{h2site.http} (and C{aioquic}).
"""
