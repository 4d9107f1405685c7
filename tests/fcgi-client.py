#!/usr/bin/env python3
"""fcgi-client.py -- a small FastCGI client (and spawner) for the tests.

  fcgi-client.py spawn ADDR PROGRAM...
      Listens on ADDR and starts PROGRAM with the listening socket as fd 0
      and stdout on /dev/null (as lighttpd and mod_fcgid do). Prints
      "PID PORT" (PORT "-" for a unix socket), then waits for the program
      and prints "exit N" or "signal N".

  fcgi-client.py start N ADDR PROGRAM...
      The same with N copies of PROGRAM sharing the one socket (as
      lighttpd's bin-path and mod_fcgid run several), one "PID PORT" line
      each, and returns at once without waiting for them.

  fcgi-client.py ADDR SECRET COMMAND ARGS... [--timeout S] [--pad N]
      Delivers events of type user.deleted signed with the Standard
      Webhooks scheme (SECRET is whsec_<base64>) and prints one line per
      request, "ID HTTP STATUS": the answer's HTTP status and the "status"
      of its JSON body; HTTP is "none" when the connection ended without
      an answer, "timeout" when none came within --timeout seconds
      (default 30). --pad N adds N bytes to every body. Options come
      last.

    send ID...                one connection per request, in turn
    stall ID READY GO         sends the parameters and half the body,
                              creates the file READY, waits until the file
                              GO exists, then sends the rest
    keep ID1 ID2              one connection, both requests with
                              FCGI_KEEP_CONN (request ids 1 and 2), the
                              second sent after the first answer's
                              END_REQUEST; between them prints "open" or
                              "closed": the connection's state 0.3 s after
                              the first answer; with --hold FILE, keeps
                              the connection open until FILE exists
    many PREFIX COUNT CONNS   COUNT events (ids PREFIX1..PREFIXCOUNT) over
                              CONNS concurrent connections at a time, one
                              connection per request
    same ID N                 the same event on N connections at once
    loop PREFIX STOP          events PREFIX1, PREFIX2, ... one after
                              another until the file STOP exists

ADDR is a unix socket path, or HOST:PORT for TCP (PORT 0 for spawn: any).
"""
import base64, hashlib, hmac, json, os, socket, struct, sys, threading, time

BEGIN, END, PARAMS, STDIN, STDOUT = 1, 3, 4, 5, 6
KEEP_CONN = 1


def parse_addr(addr):
    if "/" not in addr and ":" in addr:
        host, port = addr.rsplit(":", 1)
        return socket.AF_INET, (host, int(port))
    return socket.AF_UNIX, addr


def spawn(addr, argv, copies=1, wait=True):
    fam, sa = parse_addr(addr)
    s = socket.socket(fam, socket.SOCK_STREAM)
    if fam == socket.AF_UNIX:
        if os.path.exists(sa):
            os.unlink(sa)
    else:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(sa)
    s.listen(64)
    port = s.getsockname()[1] if fam == socket.AF_INET else "-"
    pids = []
    for _ in range(copies):
        pid = os.fork()
        if pid == 0:
            os.dup2(s.fileno(), 0)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.execv(argv[0], argv)
        pids.append(pid)
    s.close()		# the programs alone hold the socket
    for pid in pids:
        print(pid, port, flush=True)
    if not wait:
        return
    for pid in pids:
        _, st = os.waitpid(pid, 0)
        if os.WIFSIGNALED(st):
            print("signal", os.WTERMSIG(st), flush=True)
        else:
            print("exit", os.WEXITSTATUS(st), flush=True)


def record(rtype, rid, content):
    pad = -len(content) % 8
    return struct.pack(">BBHHBB", 1, rtype, rid, len(content), pad, 0) + \
        content + b"\0" * pad


def nv(name, value):
    out = b""
    for s in (name, value):
        out += struct.pack(">B", len(s)) if len(s) < 128 else \
            struct.pack(">I", len(s) | 0x80000000)
    return out + name + value


class Client:
    def __init__(self, addr, secret, timeout, pad):
        self.addr, self.timeout, self.pad = addr, timeout, pad
        b64 = secret.split("_", 1)[1]
        self.key = base64.b64decode(b64 + "=" * (-len(b64) % 4))

    def connect(self):
        fam, sa = parse_addr(self.addr)
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(sa)
        return s

    def parts(self, msg_id, rid=1, flags=0):
        """The request as (head, body): begin request and parameters,
        and the body (without the empty STDIN record that ends it)."""
        body = json.dumps({"id": msg_id, "type": "user.deleted",
                           "created_at": "2026-11-27T12:00:00Z",
                           "data": {"user_id": 1, "pad": "x" * self.pad}}
                          ).encode()
        ts = str(int(time.time()))
        sig = base64.b64encode(hmac.new(
            self.key, msg_id.encode() + b"." + ts.encode() + b"." + body,
            hashlib.sha256).digest()).decode()
        params = [("GATEWAY_INTERFACE", "CGI/1.1"),
                  ("REQUEST_METHOD", "POST"), ("REQUEST_URI", "/hooks/"),
                  ("SCRIPT_NAME", "/hooks"),
                  ("CONTENT_TYPE", "application/json"),
                  ("CONTENT_LENGTH", str(len(body))),
                  ("HTTP_WEBHOOK_ID", msg_id),
                  ("HTTP_WEBHOOK_TIMESTAMP", ts),
                  ("HTTP_WEBHOOK_SIGNATURE", "v1," + sig)]
        p = b"".join(nv(n.encode(), v.encode()) for n, v in params)
        head = record(BEGIN, rid, struct.pack(">HB5x", 1, flags)) + \
            record(PARAMS, rid, p) + record(PARAMS, rid, b"")
        stdin = b"".join(record(STDIN, rid, body[i:i + 8000])
                         for i in range(0, len(body), 8000))
        return head, stdin, body

    def answer(self, s, rid=1):
        """Reads records until rid's END_REQUEST; returns "HTTP STATUS"."""
        out, buf = b"", b""
        try:
            while True:
                while len(buf) >= 8:
                    _, rtype, r, clen, plen, _ = \
                        struct.unpack(">BBHHBB", buf[:8])
                    if len(buf) < 8 + clen + plen:
                        break
                    if r == rid and rtype == STDOUT:
                        out += buf[8:8 + clen]
                    buf = buf[8 + clen + plen:]
                    if r == rid and rtype == END:
                        return describe(out)
                d = s.recv(65536)
                if not d:
                    break
                buf += d
        except socket.timeout:
            return "timeout -"
        except OSError:
            pass
        return describe(out) if out else "none -"

    def one(self, msg_id):
        try:
            s = self.connect()
        except OSError:
            return "none -"
        try:
            head, stdin, _ = self.parts(msg_id)
            s.sendall(head + stdin + record(STDIN, 1, b""))
        except socket.timeout:
            return "timeout -"
        except OSError:
            pass		# an answer may still be there to read
        res = self.answer(s)
        s.close()
        return res


def describe(out):
    """The HTTP status and the JSON "status" of a CGI-style answer."""
    if not out:
        return "none -"
    head, _, body = out.partition(b"\r\n\r\n")
    http = "200"
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"status:"):
            http = line.split()[1].decode()
    try:
        st = json.loads(body).get("status", "-")
    except ValueError:
        st = "-"
    return "%s %s" % (http, st)


def say(*a):
    print(*a, flush=True)


def main():
    args = sys.argv[1:]
    if args and args[0] == "spawn":
        return spawn(args[1], args[2:])
    if args and args[0] == "start":
        return spawn(args[2], args[3:], copies=int(args[1]), wait=False)
    timeout, pad, hold = 30.0, 0, None
    while len(args) >= 2 and args[-2] in ("--timeout", "--pad", "--hold"):
        if args[-2] == "--timeout":
            timeout = float(args[-1])
        elif args[-2] == "--pad":
            pad = int(args[-1])
        else:
            hold = args[-1]
        args = args[:-2]
    addr, secret, cmd, rest = args[0], args[1], args[2], args[3:]
    c = Client(addr, secret, timeout, pad)

    if cmd == "send":
        for i in rest:
            say(i, c.one(i))

    elif cmd == "stall":
        msg_id, ready, go = rest
        s = c.connect()
        head, stdin, _ = c.parts(msg_id)
        half = len(stdin) // 2
        s.sendall(head + stdin[:half])
        open(ready, "w").close()
        while not os.path.exists(go):
            time.sleep(0.05)
        try:
            s.sendall(stdin[half:] + record(STDIN, 1, b""))
        except OSError:
            pass
        say(msg_id, c.answer(s))

    elif cmd == "keep":
        s = c.connect()
        for k, msg_id in enumerate(rest, 1):
            head, stdin, _ = c.parts(msg_id, rid=k, flags=KEEP_CONN)
            try:
                s.sendall(head + stdin + record(STDIN, k, b""))
            except OSError:
                pass
            say(msg_id, c.answer(s, rid=k))
            if k < len(rest):
                time.sleep(0.3)
                s.setblocking(False)
                try:
                    state = "closed" if s.recv(1, socket.MSG_PEEK) == b"" \
                        else "open"
                except BlockingIOError:
                    state = "open"
                except OSError:
                    state = "closed"
                s.settimeout(timeout)
                say(state)
        while hold is not None and not os.path.exists(hold):
            time.sleep(0.05)
        s.close()

    elif cmd == "many":
        prefix, count, conns = rest[0], int(rest[1]), int(rest[2])
        ids = ["%s%d" % (prefix, i) for i in range(1, count + 1)]
        lock = threading.Lock()

        def worker():
            while True:
                with lock:
                    if not ids:
                        return
                    msg_id = ids.pop(0)
                res = c.one(msg_id)
                with lock:
                    say(msg_id, res)
        ts = [threading.Thread(target=worker) for _ in range(conns)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

    elif cmd == "same":
        msg_id, n = rest[0], int(rest[1])
        head, stdin, _ = c.parts(msg_id)
        socks = [c.connect() for _ in range(n)]
        # Everything but the last STDIN record first, so that the n
        # requests are complete at about the same moment.
        for s in socks:
            s.sendall(head + stdin)
        gate = threading.Barrier(n)
        res = [None] * n

        def finish(k):
            gate.wait()
            try:
                socks[k].sendall(record(STDIN, 1, b""))
            except OSError:
                pass
            res[k] = c.answer(socks[k])
        ts = [threading.Thread(target=finish, args=(k,)) for k in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        for r in res:
            say(msg_id, r)

    elif cmd == "loop":
        prefix, stop = rest
        i = 0
        while not os.path.exists(stop):
            i += 1
            say("%s%d" % (prefix, i), c.one("%s%d" % (prefix, i)))

    else:
        sys.exit("fcgi-client.py: unknown command " + cmd)


if __name__ == "__main__":
    main()
