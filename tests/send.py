#!/usr/bin/env python3
"""send.py URL SECRET FIRST COUNT [--type T] [--prefix P] [--conns N]

Delivers COUNT events with ids PREFIX+FIRST .. PREFIX+(FIRST+COUNT-1) to URL,
signed with the Standard Webhooks scheme (SECRET is whsec_<base64>), over N
keep-alive connections. Prints one line per event: "<id> <http status>".
A sender for tests that need many deliveries without a process per request.
"""
import argparse, base64, hashlib, hmac, http.client, json, sys, threading, time
from urllib.parse import urlsplit

ap = argparse.ArgumentParser()
ap.add_argument("url"); ap.add_argument("secret")
ap.add_argument("first", type=int); ap.add_argument("count", type=int)
ap.add_argument("--type", default="user.deleted")
ap.add_argument("--prefix", default="evt_")
ap.add_argument("--conns", type=int, default=4)
a = ap.parse_args()

key = base64.b64decode(a.secret.split("_", 1)[1] + "==="[: (4 - len(a.secret.split("_", 1)[1]) % 4) % 4])
u = urlsplit(a.url)
lock = threading.Lock()
out = []

def body_for(i):
    return json.dumps({"id": "%s%d" % (a.prefix, i), "type": a.type,
                       "created_at": "2026-11-27T12:00:00Z",
                       "data": {"user_id": i}}).encode()

def worker(ids):
    conn = None
    for i in ids:
        body = body_for(i)
        msg_id, ts = "%s%d" % (a.prefix, i), str(int(time.time()))
        mac = hmac.new(key, msg_id.encode() + b"." + ts.encode() + b"." + body, hashlib.sha256).digest()
        hdrs = {"Content-Type": "application/json", "webhook-id": msg_id,
                "webhook-timestamp": ts,
                "webhook-signature": "v1," + base64.b64encode(mac).decode()}
        status = 0
        for _ in range(3):
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
                conn.request("POST", u.path, body, hdrs)
                r = conn.getresponse(); r.read(); status = r.status
                break
            except (OSError, http.client.HTTPException):
                conn = None
                time.sleep(0.05)
        with lock:
            out.append("%s %d" % (msg_id, status))

ids = list(range(a.first, a.first + a.count))
ts = [threading.Thread(target=worker, args=(ids[k::a.conns],)) for k in range(a.conns)]
for t in ts: t.start()
for t in ts: t.join()
sys.stdout.write("\n".join(out) + ("\n" if out else ""))
