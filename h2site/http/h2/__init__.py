"""
h2site's own HTTP/2 connection, built on the C{h2} state machine.

Twisted's own (C{twisted.web._http2}) is not fit to face the internet: it
sends one DATA frame per reactor turn, spins on C{callLater(0)} (and keeps
resetting its idle timeout) while a peer withholds WINDOW_UPDATE, pauses a
response's producer for flow control but never for a full socket, keeps the
TCP connection open after a connection error, and lets a peer send frames
that do no useful work (PING, PRIORITY, empty DATA, ...) without limit.

 - L{connection}: the protocol; it reads frames, turns them into requests,
   runs the write passes and ends the connection;
 - L{guard}: what a client may make the connection spend: budgets for
   frames that do no work, the deadline of request heads, the idle timeout;
 - L{output}: the send half: what the streams wrote and not sent yet,
   backpressure, the framing of a pass;
 - L{scheduler}: which frames of which streams a pass sends, decided from
   plain values (no clock, no transport, no C{h2});
 - L{stream}: the stream a request writes to (its channel);
 - L{hot}: the hot path: a request the site answers from what it holds
   (L{h2site.http.interfaces.HotResponder}), sent without a request;
 - L{frames}: frames read with limits, frames built without C{h2}, and
   HPACK encoding of response fields;
 - L{validation}: request header fields, checked and read into a request.

It imports only from L{h2site.http}, and L{scheduler} imports nothing.
"""
