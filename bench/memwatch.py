#!/usr/bin/env python3
"""memwatch.py -- the largest resident size of some processes, sampled.

    memwatch.py --exe PATH [--ppid PID] [--grep TEXT] --out FILE

Every 0.2 s, looks at every process whose executable is PATH (and, when
given, whose parent is PID, or whose command line contains TEXT) and reads
VmRSS from /proc/PID/status and Pss from /proc/PID/smaps_rollup. Runs until
SIGTERM or SIGINT (or an hour, should nobody send one), then writes one
line to FILE:

    rss_kib=MAX pss_kib=MAX procs=N samples=S

MAX is the largest value any one process had at any sample; N is how many
distinct processes matched. The web server starts and restarts responders
on its own, so they are found again at every sample.
"""
import argparse, os, signal, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--exe", required=True)
ap.add_argument("--ppid", type=int)
ap.add_argument("--grep")
ap.add_argument("--out", required=True)
ap.add_argument("--interval", type=float, default=0.2)
ap.add_argument("--max-seconds", type=float, default=3600)
o = ap.parse_args()
exe = os.path.realpath(o.exe)

stop = False
def on_signal(signum, frame):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_signal)
signal.signal(signal.SIGINT, on_signal)


def field(path, name):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(name):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def matches(pid):
    try:
        if os.readlink("/proc/%s/exe" % pid) != exe:
            return False
        if o.ppid is not None:
            with open("/proc/%s/stat" % pid) as f:
                # the command name may hold spaces: the ppid follows ") S "
                if int(f.read().rsplit(")", 1)[1].split()[1]) != o.ppid:
                    return False
        if o.grep is not None:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if o.grep.encode() not in f.read().replace(b"\0", b" "):
                    return False
        return True
    except (OSError, ValueError, IndexError):
        return False


rss = pss = samples = 0
seen = set()
deadline = time.monotonic() + o.max_seconds
while not stop and time.monotonic() < deadline:
    for pid in os.listdir("/proc"):
        if pid.isdigit() and matches(pid):
            seen.add(pid)
            rss = max(rss, field("/proc/%s/status" % pid, "VmRSS:"))
            pss = max(pss, field("/proc/%s/smaps_rollup" % pid, "Pss:"))
    samples += 1
    time.sleep(o.interval)

with open(o.out, "w") as f:
    f.write("rss_kib=%d pss_kib=%d procs=%d samples=%d\n" % (rss, pss, len(seen), samples))
