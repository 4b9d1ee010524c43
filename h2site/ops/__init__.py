"""
Running a server: listening (L{listening}, L{redirecting}), reload,
certificate renewal and signals (L{control}), the worker supervisor
(L{supervisor}), systemd notification (L{sdnotify}) and the sockets
systemd passed (L{activation}), the allocator (L{allocator}), the access
log (L{accesslog}), and development mode: the folder watcher (L{watch})
and what rebuilds on its changes (L{dev}).

It may import L{h2site.web} and the layers below it, never the assembly
(L{h2site.server}) or the command line (L{h2site.tap}).
"""
