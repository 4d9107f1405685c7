#!/usr/bin/env python3
"""fcgi-spawn.py SOCKET N PROGRAM... -- starts N copies of PROGRAM the way
lighttpd's bin-path and mod_fcgid do (a listening unix socket as fd 0),
prints their pids one per line, and returns at once."""
import os, socket, sys

path, n, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
if os.path.exists(path):
    os.unlink(path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(64)
for _ in range(n):
    pid = os.fork()
    if pid == 0:
        os.dup2(s.fileno(), 0)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.execv(argv[0], argv)
    print(pid, flush=True)
