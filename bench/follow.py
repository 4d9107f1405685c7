#!/usr/bin/env python3
"""follow.py -- watches hookgate's log through the commands test, in one
process: a shell loop of grep and date every 50 ms started some 60
processes a second, which on a 2-core VM took a quarter of the machine
from the drainer being measured (the bare loop it is compared with ran
without it).

    follow.py --log LOG --marks PREFIX --threads N --wrk PID --timeout S

Reads LOG as it grows, counting answers (" status=accepted ") and final
attempts (" attempt=N ... status=done|failed"). Once PREFIX.0 ..
PREFIX.<N-1> exist (wrk's threads have had every delivery answered), the
accepted count is the number to wait for, and wrk is sent SIGINT. Prints
"ACCEPTED FINISHED T1_NS" (T1_NS: the wall clock, in ns, when the last
final attempt was seen) and exits 0; on timeout prints the counts with
T1_NS empty and exits 1.
"""
import argparse
import os
import re
import signal
import sys
import time

FINAL = re.compile(rb" attempt=[0-9]+ .*status=(done|failed)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--marks", required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--wrk", type=int, required=True)
    ap.add_argument("--timeout", type=float, default=600)
    a = ap.parse_args()

    end = time.monotonic() + a.timeout
    marks = ["%s.%d" % (a.marks, k) for k in range(a.threads)]
    accepted = finished = 0
    target = None
    rest = b""
    f = None
    while time.monotonic() < end:
        ready = target is None and all(os.path.exists(m) for m in marks)
        if f is None and os.path.exists(a.log):
            f = open(a.log, "rb")
        if f is not None:
            # only whole lines: a line may be half written
            lines = (rest + f.read()).split(b"\n")
            rest = lines.pop()
            for ln in lines:
                if b" status=accepted " in ln:
                    accepted += 1
                elif FINAL.search(ln):
                    finished += 1
        if ready:
            # the marks were seen before this read: every answer is in it
            target = accepted
            try:
                os.kill(a.wrk, signal.SIGINT)
            except ProcessLookupError:
                pass
        if target is not None and finished >= target:
            print(target, finished, time.time_ns())
            return 0
        time.sleep(0.05)
    print(target if target is not None else accepted, finished, "")
    return 1


if __name__ == "__main__":
    sys.exit(main())
