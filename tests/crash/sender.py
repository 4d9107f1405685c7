#!/usr/bin/env python3
"""sender.py URL SECRET PREFIX COUNT [--conns N] [--rate R] [--redeliver F]
                                    [--give-up G] [--deadline S]

One sender of the crash test. Delivers COUNT events with ids PREFIX1 ..
PREFIXCOUNT to URL, signed with the Standard Webhooks scheme (SECRET is
whsec_<base64>), over N keep-alive connections at about R events a second
in all. Each body is different (a random padding), and a redelivery sends
the very same bytes. After an event, with probability F, it also redelivers
one it sent before. Like a real sender it tries again (up to 3 times, after
a short pause) when the answer is not 2xx or the connection failed -- but
after each failure it gives up with probability G, so that some events
stay "unknown" (the answer was lost: were they committed?). After S
seconds it starts no new event (the test's time bound).

Prints the history, one line per HTTP attempt, as it happens:
    <id> <status> <sha256 of the body>
where status is the HTTP status, or 0 when no answer came (refused, reset,
timed out): the outcome of that attempt is unknown.
"""
import argparse, base64, hashlib, hmac, http.client, json, random, sys
import threading, time
from urllib.parse import urlsplit

ap = argparse.ArgumentParser()
ap.add_argument("url"); ap.add_argument("secret")
ap.add_argument("prefix"); ap.add_argument("count", type=int)
ap.add_argument("--conns", type=int, default=2)
ap.add_argument("--rate", type=float, default=0)
ap.add_argument("--redeliver", type=float, default=0.1)
ap.add_argument("--give-up", type=float, default=0)
ap.add_argument("--deadline", type=float, default=0)
a = ap.parse_args()

b64 = a.secret.split("_", 1)[1]
key = base64.b64decode(b64 + "=" * (-len(b64) % 4))
u = urlsplit(a.url)
out_lock = threading.Lock()
TYPES = ["user.created", "user.updated", "user.deleted", "project.created",
         "project.updated"]


def body_for(i, rnd):
    pad = "".join(rnd.choice("abcdefghij \u00e9\u2603\"\\") for _ in
                  range(rnd.randint(0, 600)))
    return json.dumps({"id": "%s%d" % (a.prefix, i), "type": rnd.choice(TYPES),
                       "created_at": "2026-11-27T12:00:00Z",
                       "data": {"n": i, "pad": pad}}).encode()


def record(msg_id, status, digest):
    with out_lock:
        sys.stdout.write("%s %d %s\n" % (msg_id, status, digest))
        sys.stdout.flush()


class Conn:
    def __init__(self):
        self.c = None

    def post(self, msg_id, body):
        """One signed POST; the HTTP status, or 0 when none came back."""
        ts = str(int(time.time()))
        mac = hmac.new(key, msg_id.encode() + b"." + ts.encode() + b"." + body,
                       hashlib.sha256).digest()
        hdrs = {"Content-Type": "application/json", "webhook-id": msg_id,
                "webhook-timestamp": ts,
                "webhook-signature": "v1," + base64.b64encode(mac).decode()}
        try:
            if self.c is None:
                self.c = http.client.HTTPConnection(u.hostname, u.port,
                                                    timeout=40)
            self.c.request("POST", u.path, body, hdrs)
            r = self.c.getresponse()
            r.read()
            if r.getheader("Connection", "").lower() == "close":
                self.c.close()
                self.c = None
            return r.status
        except (OSError, http.client.HTTPException):
            if self.c is not None:
                self.c.close()
            self.c = None
            return 0


def deliver(conn, rnd, msg_id, body):
    digest = hashlib.sha256(body).hexdigest()
    for _ in range(3):
        status = conn.post(msg_id, body)
        record(msg_id, status, digest)
        if 200 <= status < 300 or rnd.random() < a.give_up:
            return
        time.sleep(0.1)


def worker(k, ids):
    rnd = random.Random("%s-%d" % (a.prefix, k))
    conn = Conn()
    sent = []
    pause = a.conns / a.rate if a.rate > 0 else 0
    for i in ids:
        t0 = time.monotonic()
        if a.deadline > 0 and t0 - start > a.deadline:
            break
        msg_id = "%s%d" % (a.prefix, i)
        body = body_for(i, rnd)
        sent.append((msg_id, body))
        deliver(conn, rnd, msg_id, body)
        if rnd.random() < a.redeliver:
            deliver(conn, rnd, *rnd.choice(sent))
        left = pause - (time.monotonic() - t0)
        if left > 0:
            time.sleep(left)


start = time.monotonic()
ids = list(range(1, a.count + 1))
threads = [threading.Thread(target=worker, args=(k, ids[k::a.conns]))
           for k in range(a.conns)]
for t in threads:
    t.start()
for t in threads:
    t.join()
