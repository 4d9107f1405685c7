# Reliability tests: the crash test (a real lighttpd, thousands of
# deliveries, a kill -9 nemesis, Jepsen-style counts), the faults of the
# state dir and of the process (full disk, read-only, SIGTERM in a
# request), and the security checks (no secret or payload in logs,
# environments or command lines).
SCRIPT_TESTS += tests/crash/crash.test tests/faults.test tests/security.test
EXTRA_DIST += tests/crash/sender.py tests/crash/check.py tests/crash/fcgi-slow.py
