#!/usr/bin/env python3
"""fcgi-slow.py SOCKET SECRET ID PHASE PID [BYTES]

A tiny FastCGI client that delivers one signed event (Standard Webhooks,
SECRET is whsec_<base64>) of about BYTES bytes (default 20000) with id ID
to the responder listening on the unix SOCKET, slowly, and sends SIGTERM
to PID at one moment of the request:
  idle    before connecting
  params  after half the parameters
  body    after half the body
  end     after the whole body, before reading the answer
Prints the answer's HTTP status ("none" when the connection closed without
one) and how long the answer took after the signal, in ms.
"""
import base64, hashlib, hmac, json, os, signal, socket, struct, sys, time

path, secret, msg_id, phase, pid = sys.argv[1:6]
size = int(sys.argv[6]) if len(sys.argv) > 6 else 20000
pid = int(pid)

body = json.dumps({"id": msg_id, "type": "user.deleted",
                   "created_at": "2026-11-27T12:00:00Z",
                   "data": {"user_id": 1, "pad": "x" * size}}).encode()
b64 = secret.split("_", 1)[1]
key = base64.b64decode(b64 + "=" * (-len(b64) % 4))
ts = str(int(time.time()))
sig = base64.b64encode(hmac.new(key, msg_id.encode() + b"." + ts.encode() +
                                b"." + body, hashlib.sha256).digest()).decode()
params = [("GATEWAY_INTERFACE", "CGI/1.1"), ("REQUEST_METHOD", "POST"),
          ("REQUEST_URI", "/hooks/"), ("SCRIPT_NAME", "/hooks"),
          ("CONTENT_TYPE", "application/json"),
          ("CONTENT_LENGTH", str(len(body))), ("HTTP_WEBHOOK_ID", msg_id),
          ("HTTP_WEBHOOK_TIMESTAMP", ts),
          ("HTTP_WEBHOOK_SIGNATURE", "v1," + sig)]


def record(rtype, content):
    pad = -len(content) % 8
    return struct.pack(">BBHHBB", 1, rtype, 1, len(content), pad, 0) + \
        content + b"\0" * pad


def nv(name, value):
    out = b""
    for s in (name.encode(), value.encode()):
        out += struct.pack(">B", len(s)) if len(s) < 128 else \
            struct.pack(">I", len(s) | 0x80000000)
    return out + name.encode() + value.encode()


signalled = None


def term():
    global signalled
    os.kill(pid, signal.SIGTERM)
    signalled = time.monotonic()


if phase == "idle":
    term()
    time.sleep(0.3)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(40)
try:
    s.connect(path)
    s.sendall(record(1, struct.pack(">HB5x", 1, 0)))
    half = len(params) // 2
    s.sendall(record(4, b"".join(nv(n, v) for n, v in params[:half])))
    time.sleep(0.2)
    if phase == "params":
        term()
        time.sleep(0.3)
    s.sendall(record(4, b"".join(nv(n, v) for n, v in params[half:])))
    s.sendall(record(4, b""))
    chunks = [body[i:i + 4096] for i in range(0, len(body), 4096)]
    for k, c in enumerate(chunks):
        s.sendall(record(5, c))
        time.sleep(0.02)
        if phase == "body" and k == len(chunks) // 2:
            term()
            time.sleep(0.3)
    s.sendall(record(5, b""))
    if phase == "end":
        term()
    out, buf = b"", b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        buf += d
        done = False
        while len(buf) >= 8:
            _, rtype, _, clen, plen, _ = struct.unpack(">BBHHBB", buf[:8])
            if len(buf) < 8 + clen + plen:
                break
            if rtype == 6:
                out += buf[8:8 + clen]
            elif rtype == 3:
                done = True
            buf = buf[8 + clen + plen:]
        if done:
            break
except OSError:
    out = b""
status = "none"
for line in out.split(b"\r\n"):
    if line.lower().startswith(b"status:"):
        status = line.split()[1].decode()
        break
ms = int((time.monotonic() - signalled) * 1000) if signalled else -1
print(status, ms)
