"""
Running a server: listening (L{listening}, L{redirecting}), reload,
certificate renewal and signals (L{control}), the worker supervisor
(L{supervisor}), systemd notification (L{sdnotify}), the allocator
(L{allocator}) and the access log (L{accesslog}).

It may import L{h2site.web} and the layers below it, never the assembly
(L{h2site.server}) or the command line (L{h2site.tap}).
"""
