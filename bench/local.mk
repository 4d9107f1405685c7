# Benchmarks: `make bench` (3 runs x 10 s per figure, about 30 minutes, plus
# a few minutes the first time to build the cached 1M-id store), or
# `make bench BENCH_ARGS=--quick` (1 run x 3 s). Not part of `make check`:
# the figures need a quiet machine. Bounded, on 127.0.0.1 only, leaves no
# process behind; see bench/README.md.
.PHONY: bench
bench: hookgate$(EXEEXT)
	HOOKGATE='$(abs_top_builddir)/hookgate' $(srcdir)/bench/run $(BENCH_ARGS)

EXTRA_DIST += bench/README.md bench/RESULTS.md bench/run bench/lib.sh \
	bench/gen.py bench/cycle.lua bench/empty.c bench/spawnloop.c \
	bench/receiver.php bench/memwatch.py bench/follow.py bench/report.py
