#!/usr/bin/env python3
"""report.py ENV RESULTS -- bench/run's results as a markdown report.

ENV holds key=value lines about the machine and the settings; RESULTS one
line per measurement, key=value pairs (kind=http|growth|cgi|commands).
Figures are medians over the runs; "x empty" is a target's median req/s
over the empty responder's, same body and connections, same bench run.
Exits 1 when any measurement is flagged (non-2xx answers, socket errors,
timeouts, repeated ids, events missing from a store, failed commands).
"""
import statistics, sys

LABEL = {
    "empty": "empty libfcgi responder",
    "write": "hookgate, durability = write",
    "fsync": "hookgate, durability = fsync",
    "php": "PHP receiver (php-cgi)",
    "webhook": "adnanh/webhook (via mod_proxy)",
    "cgi": "hookgate as CGI (mod_cgi), fsync",
}
# targets that remember ids: a repeated id there is a duplicate, not an event
REMEMBER = {"write", "fsync", "cgi"}


def size_label(b):
    b = int(b)
    return "%d KiB" % (b // 1024) if b % 1024 == 0 else "%d B" % b


def parse(path):
    rows = []
    with open(path) as f:
        for line in f:
            kv = dict(p.split("=", 1) for p in line.split() if "=" in p)
            if kv:
                rows.append(kv)
    return rows


def med(rows, key, cast=float):
    vals = [cast(r[key]) for r in rows if r.get(key) not in (None, "", "-")]
    return statistics.median(vals) if vals else None


def ms(us):
    return "-" if us is None else "%.1f" % (us / 1000.0)


def fmt_rate(x):
    if x is None:
        return "-"
    return "%.0f" % x if x < 100 else "{:,.0f}".format(x)


def flags_for(r, what):
    out = []
    for k, name in (("status_errors", "non-2xx"), ("socket_errors", "socket errors"),
                    ("timeouts", "timeouts")):
        if int(r.get(k, 0)) > 0:
            out.append("%s: %s %s" % (what, r[k], name))
    if int(r.get("wraps", 0)) > 0:
        out.append("%s: ran out of events, %s ids sent again%s" % (
            what, r["wraps"], " (answered as duplicates)" if r.get("target") in REMEMBER else ""))
    if "stored" in r and int(r["stored"]) < int(r["requests"]) - int(r.get("status_errors", 0)):
        out.append("%s: %s answered, only %s stored" % (what, r["requests"], r["stored"]))
    return out


def errors(rs, keys=("status_errors", "socket_errors")):
    return sum(int(r.get(k, 0)) for r in rs for k in keys)


def table(w, title, columns):
    """A section heading and a table's header rows."""
    w("## " + title)
    w("")
    w("| " + " | ".join(columns) + " |")
    w("|" + "---|" * len(columns))


def header(w, env):
    quick = env.get("quick") == "1"
    w("# hookgate bench, %s" % env.get("date", "?"))
    w("")
    if quick:
        w("**Quick run (%s run x %s s): for development, not for comparison.**"
          % (env.get("runs"), env.get("seconds")))
        w("")
    w("- machine: %s cores, %s, %s" % (env.get("nproc"), env.get("cpu"), env.get("kernel")))
    w("- %s; %s; %s; %s; %s" % (env.get("hookgate"), env.get("lighttpd"), env.get("wrk"),
                               env.get("webhook", "webhook -"), env.get("php", "php -")))
    w("- binary: `%s`; load average (1/5/15 min) at the start: %s, at the end: %s"
      % (env.get("hookgate_bin"), env.get("load_start"), env.get("load_end")))
    pk = ", ".join("%s %s" % (k[4:], v) for k, v in env.items() if k.startswith("pkg_"))
    if pk:
        w("- packages: %s" % pk)
    w("- %s run(s) x %s s per figure, medians; `wrk -t2 -cN -dS --latency --timeout 5s`, "
      "every request a new signed event; lighttpd max-procs %s%s"
      % (env.get("runs"), env.get("seconds"), env.get("procs"),
         "; [hookgate] extra: `%s`" % env["extra"] if env.get("extra") else ""))
    if env.get("tmpfs") in ("tmpfs", "ramfs"):
        w("- **the work folder was on %s: fsync figures mean nothing**" % env["tmpfs"])
    w("")


def in_order(values):
    out = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def http_section(w, flags, http):
    table(w, "HTTP: req/s through lighttpd",
          ("body", "conns", "target", "req/s", "x empty", "p50 ms", "p99 ms", "errors",
           "req/s of each run"))
    for size, conns in in_order((int(r["size"]), int(r["conns"])) for r in http):
        sel = [r for r in http if int(r["size"]) == size and int(r["conns"]) == conns]
        base = med([r for r in sel if r["target"] == "empty"], "rps")
        for t in in_order(r["target"] for r in sel):
            rs = [r for r in sel if r["target"] == t]
            rate = med(rs, "rps")
            for r in rs:
                flags += flags_for(r, "%s, %s, c%d, run %s" % (LABEL[t], size_label(size), conns, r["run"]))
            ratio = "-" if not base or rate is None else "%.2f" % (rate / base)
            w("| %s | %d | %s | %s | %s | %s | %s | %d | %s |" % (
                size_label(size), conns, LABEL[t], fmt_rate(rate), ratio,
                ms(med(rs, "p50_us")), ms(med(rs, "p99_us")),
                errors(rs, ("status_errors", "socket_errors", "timeouts")),
                " / ".join(fmt_rate(float(r["rps"])) for r in rs)))
    oc = sorted({r["opcache"] for r in http if "opcache" in r})
    if oc:
        w("")
        w("PHP OPcache: %s." % ", ".join(oc))
    w("")


def memory_section(w, mem):
    table(w, "Memory of the hookgate responders (largest single process, any sample)",
          ("target", "body", "conns", "max VmRSS MiB", "max Pss MiB", "processes seen"))
    for k in in_order((r["target"], int(r["size"]), int(r["conns"])) for r in mem):
        rs = [x for x in mem if (x["target"], int(x["size"]), int(x["conns"])) == k]
        w("| %s | %s | %d | %.1f | %.1f | %d |" % (
            LABEL[k[0]], size_label(k[1]), k[2],
            max(int(x["rss_kib"]) for x in rs) / 1024.0,
            max(int(x["pss_kib"]) for x in rs) / 1024.0,
            max(int(x["procs"]) for x in rs)))
    w("")


def growth_section(w, flags, growth):
    table(w, "Store growth: 1 KiB, c16",
          ("durability", "ids already stored", "req/s", "x empty store", "p50 ms", "p99 ms",
           "errors", "req/s of each run"))
    for d in ("write", "fsync"):
        base = med([r for r in growth if r["target"] == d and r["store"] == "empty"], "rps")
        for s in ("empty", "1m"):
            rs = [r for r in growth if r["target"] == d and r["store"] == s]
            if not rs:
                continue
            for r in rs:
                flags += flags_for(r, "growth %s %s run %s" % (d, s, r["run"]))
            rate = med(rs, "rps")
            w("| %s | %s | %s | %s | %s | %s | %d | %s |" % (
                d, "{:,}".format(int(rs[0]["ids"])), fmt_rate(rate),
                "%.2f" % (rate / base) if base else "-",
                ms(med(rs, "p50_us")), ms(med(rs, "p99_us")), errors(rs),
                " / ".join(fmt_rate(float(r["rps"])) for r in rs)))
    w("")


def cgi_section(w, flags, cgi):
    table(w, "Plain CGI: one request at a time (wrk -t1 -c1), 1 KiB",
          ("target", "req/s", "p50 ms", "p99 ms", "errors"))
    for r in cgi:
        flags += flags_for(r, "CGI run %s" % r["run"])
    w("| %s | %s | %s | %s | %d |" % (
        LABEL["cgi"], fmt_rate(med(cgi, "rps")), ms(med(cgi, "p50_us")),
        ms(med(cgi, "p99_us")), errors(cgi)))
    w("")


def command_flags(r, size):
    what = "commands %s run %s" % (size_label(size), r["run"])
    out = []
    if r.get("done") != r.get("events"):
        out.append("%s: %s events accepted, %s done" % (what, r["events"], r.get("done")))
    if r.get("sent") != r.get("events"):
        out.append("%s: %s events sent, %s accepted" % (what, r.get("sent"), r["events"]))
    if int(r.get("failed", 0)) > 0:
        out.append("%s: %s commands failed" % (what, r["failed"]))
    if errors([r], ("wrk_status_errors", "wrk_socket_errors")) > 0:
        out.append("%s: deliveries got errors (%s non-2xx, %s socket)" % (
            what, r.get("wrk_status_errors"), r.get("wrk_socket_errors")))
    if int(r.get("spawn_failures", 0)) > 0:
        out.append("%s: bare loop had %s failures" % (what, r["spawn_failures"]))
    return out


def commands_section(w, flags, cmd):
    table(w, "Commands completed per second (`cat >/dev/null`, workers = 2)",
          ("payload", "events", "hookgate: deliver + run all, s", "hookgate cmds/s",
           "bare loop (2 at once) cmds/s", "hookgate / bare", "drainer max VmRSS MiB"))
    for size in sorted({int(r["size"]) for r in cmd}):
        rs = [r for r in cmd if int(r["size"]) == size]
        for r in rs:
            flags += command_flags(r, size)
        hg = med(rs, "hg_rate")
        bare = med(rs, "spawn_per_second")
        w("| %s | %s | %.2f | %s | %s | %s | %.1f |" % (
            size_label(size), rs[0]["events"], med(rs, "hg_seconds"), fmt_rate(hg),
            fmt_rate(bare), "%.0f %%" % (100 * hg / bare) if bare else "-",
            max(int(r.get("rss_kib", 0)) for r in rs) / 1024.0))
    w("")


def main():
    env = dict(l.rstrip("\n").split("=", 1) for l in open(sys.argv[1]) if "=" in l)
    rows = parse(sys.argv[2])

    def kind(k):
        return [r for r in rows if r["kind"] == k]

    flags = []
    o = []
    w = o.append

    header(w, env)
    http = kind("http")
    if http:
        http_section(w, flags, http)
        mem = [r for r in http if "rss_kib" in r]
        if mem:
            memory_section(w, mem)
    if kind("growth"):
        growth_section(w, flags, kind("growth"))
    if kind("cgi"):
        cgi_section(w, flags, kind("cgi"))
    if kind("commands"):
        commands_section(w, flags, kind("commands"))
    if flags:
        w("## Flagged")
        w("")
        for f in flags:
            w("- " + f)
        w("")
    sys.stdout.write("\n".join(o))
    return 1 if flags else 0


if __name__ == "__main__":
    sys.exit(main())
