#!/usr/bin/env python3
"""gen.py -- the request set for bench/cycle.lua (python3 stdlib only).

    gen.py --size BYTES --count N --secret whsec_... --type T --out FILE

Writes N signed events of exactly BYTES bytes each (BYTES 0: the smallest
event, about 170 bytes, no padding). Every event has its own random id
(evt_ + 24 hex digits, so ids do not sort in the order they are sent), the
same type and the same padding. All bodies are one template around the id,
so the file holds the template once and, per event, only what differs:

    line 1: hookgate-bench-set 1 COUNT TIMESTAMP LEN_A LEN_B RECORD_LEN
    line 2: A (the body before the id)
    line 3: B (the body after the id)
    then COUNT records of RECORD_LEN bytes:
        ID(28) SP WEBHOOK_SIGNATURE(44, base64) SP HUB_SIGNATURE(64, hex) LF

body = A .. ID .. B. WEBHOOK_SIGNATURE is the Standard Webhooks v1 value
(HMAC-SHA256 over "ID.TIMESTAMP.body" with the base64-decoded whsec_ key;
webhook-id is the event id). HUB_SIGNATURE is GitHub's X-Hub-Signature-256
(HMAC-SHA256 of the body, keyed with the secret string as written), for
adnanh/webhook, which can only check a MAC of the body. Every request
carries both, so every target gets byte-identical requests.

The fixed-width records let cycle.lua slice the file without parsing it
(no start-up work that would overlap the measured run).
"""
import argparse, base64, concurrent.futures, hashlib, hmac, json, os, secrets, sys, time

ID_LEN = 28          # "evt_" + 24 hex digits
REC_LEN = ID_LEN + 1 + 44 + 1 + 64 + 1


def template(size, etype):
    """(A, B) with len(A) + ID_LEN + len(B) == size (when size > 0).

    The data object looks like a real payload (an order with line items),
    so that parsing it costs what parsing real events costs, not what one
    long string costs."""
    marker = "@" * ID_LEN
    data = {"user_id": 48213, "email": "ann@example.com", "username": "ann",
            "items": [], "note": ""}
    ev = {"id": marker, "type": etype, "created_at": "2026-11-27T12:00:00Z",
          "data": data}

    def dump():
        return json.dumps(ev, separators=(",", ":"))

    if size > 0:
        i = 0
        while True:
            item = {"sku": "SKU-%06d" % i, "name": "Item number %d" % i,
                    "qty": i % 7 + 1, "price": round(3.25 + i * 1.5, 2),
                    "tags": ["bench", "t%d" % (i % 13)], "gift": i % 5 == 0}
            data["items"].append(item)
            if len(dump()) > size:
                data["items"].pop()
                break
            i += 1
        short = size - len(dump())
        if short < 0:
            sys.exit("gen.py: --size %d is below the smallest event (%d)"
                     % (size, len(dump())))
        data["note"] = "n" * short
        assert len(dump()) == size
    a, b = dump().split(marker)
    return a.encode(), b.encode()


def records(ids, a, b, ts, key, hubkey):
    std0 = hmac.new(key, digestmod=hashlib.sha256)
    hub0 = hmac.new(hubkey, digestmod=hashlib.sha256)
    out = []
    for i in ids:
        s = std0.copy()
        s.update(i + b"." + ts + b".")
        s.update(a); s.update(i); s.update(b)
        h = hub0.copy()
        h.update(a); h.update(i); h.update(b)
        out.append(i + b" " + base64.b64encode(s.digest()) + b" "
                   + h.hexdigest().encode() + b"\n")
    return b"".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--type", default="user.created")
    ap.add_argument("--out", required=True)
    ap.add_argument("--body", help="also write one example body here")
    o = ap.parse_args()

    raw = o.secret[len("whsec_"):] if o.secret.startswith("whsec_") else o.secret
    key = base64.b64decode(raw + "=" * (-len(raw) % 4))
    hubkey = o.secret.encode()
    a, b = template(o.size, o.type)
    ts = str(int(time.time())).encode()

    ids, seen = [], set()
    while len(ids) < o.count:
        i = ("evt_" + secrets.token_hex(12)).encode()
        if i not in seen:
            seen.add(i)
            ids.append(i)

    # hashlib lets go of the GIL for large buffers: two threads use both
    # cores for the big bodies.
    chunk = 20000
    parts = [ids[k:k + chunk] for k in range(0, len(ids), chunk)]
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as ex:
        blobs = list(ex.map(lambda p: records(p, a, b, ts, key, hubkey), parts))

    tmp = o.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(b"hookgate-bench-set 1 %d %s %d %d %d\n"
                % (o.count, ts, len(a), len(b), REC_LEN))
        f.write(a + b"\n" + b + b"\n")
        for blob in blobs:
            f.write(blob)
    os.replace(tmp, o.out)
    if o.body:
        with open(o.body, "wb") as f:
            f.write(a + ids[0] + b)


if __name__ == "__main__":
    main()
