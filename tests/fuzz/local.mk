# libFuzzer targets (./configure --enable-fuzzing CC=clang), their replay
# in every `make check`, and `make check-valgrind`.
#
# One target per parser: tests/fuzz/fuzz_<name>.c. Each is linked twice:
# with libFuzzer (tests/fuzz/fuzz_<name>, only with --enable-fuzzing) and
# with driver.c's main() (tests/fuzz/replay_<name>, always), which
# tests/fuzz/replay.test runs over the seeds in tests/fuzz/corpus/<name>/
# and the crashers kept in tests/fuzz/regress/<name>/.

FUZZ_NAMES = request signature event config
FUZZ_REPLAY = tests/fuzz/replay_request tests/fuzz/replay_signature \
	tests/fuzz/replay_event tests/fuzz/replay_config
FUZZ_LDADD = libhookgate.a $(CORE_LIBS)

if HAVE_CHECK
check_PROGRAMS += $(FUZZ_REPLAY)
endif
SCRIPT_TESTS += tests/fuzz/replay.test
EXTRA_DIST += tests/fuzz/corpus tests/fuzz/regress tests/fuzz/request.dict \
	tests/fuzz/signature.dict tests/fuzz/event.dict tests/fuzz/config.dict \
	tests/fuzz/README tests/valgrind.supp

tests_fuzz_replay_request_SOURCES = tests/fuzz/fuzz_request.c \
	tests/fuzz/driver.c tests/fuzz/fuzz.h
tests_fuzz_replay_request_LDADD = $(FUZZ_LDADD)
tests_fuzz_replay_signature_SOURCES = tests/fuzz/fuzz_signature.c \
	tests/fuzz/driver.c tests/fuzz/fuzz.h
tests_fuzz_replay_signature_LDADD = $(FUZZ_LDADD)
tests_fuzz_replay_event_SOURCES = tests/fuzz/fuzz_event.c \
	tests/fuzz/driver.c tests/fuzz/fuzz.h
tests_fuzz_replay_event_LDADD = $(FUZZ_LDADD)
tests_fuzz_replay_config_SOURCES = tests/fuzz/fuzz_config.c \
	tests/fuzz/driver.c tests/fuzz/fuzz.h
tests_fuzz_replay_config_LDADD = $(FUZZ_LDADD)

if FUZZING
# configure turned the sanitizers on; coverage hooks go into every object,
# library included, and only these programs link libFuzzer and its main().
AM_CFLAGS += $(FUZZ_CFLAGS)
noinst_PROGRAMS = tests/fuzz/fuzz_request tests/fuzz/fuzz_signature \
	tests/fuzz/fuzz_event tests/fuzz/fuzz_config
endif
tests_fuzz_fuzz_request_SOURCES = tests/fuzz/fuzz_request.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_request_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_request_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_signature_SOURCES = tests/fuzz/fuzz_signature.c \
	tests/fuzz/fuzz.h
tests_fuzz_fuzz_signature_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_signature_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_event_SOURCES = tests/fuzz/fuzz_event.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_event_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_event_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz_config.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_config_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_config_LDFLAGS = $(FUZZ_LDFLAGS)

# make fuzz [FUZZ_SECONDS=N]: each target for N seconds, one after the
# other (-jobs=1: the machines are small and shared), over a scratch
# corpus in the build tree that starts from the committed seeds and
# regression inputs and keeps what the runs add. Fails if a target
# crashes; the input is left in tests/fuzz/run/<name>/. FUZZ_NAMES=event
# runs one target only.
FUZZ_SECONDS = 10
FUZZ_FLAGS = -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
FUZZ_RUN = tests/fuzz/run

.PHONY: fuzz check-valgrind clean-fuzz
if FUZZING
fuzz: $(noinst_PROGRAMS)
	@rc=0; \
	for t in $(FUZZ_NAMES); do \
		d=$(FUZZ_RUN)/$$t; \
		mkdir -p $$d/corpus $$d/tmp || exit 1; \
		for f in $(srcdir)/tests/fuzz/corpus/$$t/* \
		    $(srcdir)/tests/fuzz/regress/$$t/*; do \
			test -f "$$f" && cp "$$f" $$d/corpus/; \
		done; \
		echo "FUZZ: $$t for $(FUZZ_SECONDS)s"; \
		if TMPDIR=`pwd`/$$d/tmp \
		    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		    ASAN_OPTIONS=detect_leaks=1 \
		    ./tests/fuzz/fuzz_$$t $(FUZZ_FLAGS) \
		    -max_total_time=$(FUZZ_SECONDS) \
		    -dict=$(srcdir)/tests/fuzz/$$t.dict \
		    -artifact_prefix=$$d/ $$d/corpus >$$d/log 2>&1; then \
			grep -E '^(#[0-9]+.*DONE|Done [0-9]+ runs)' $$d/log; \
		else \
			tail -n 40 $$d/log; \
			echo "FAIL: fuzz_$$t crashed; input in $$d/," \
			    "log in $$d/log"; \
			rc=1; \
		fi; \
	done; \
	exit $$rc
else
fuzz:
	@echo "make fuzz needs ./configure --enable-fuzzing CC=clang" >&2; \
	exit 1
endif

clean-local: clean-fuzz
clean-fuzz:
	-rm -rf $(FUZZ_RUN) tests/*.vg.*.log tests/*.vg.out tests/fuzz/*.vg.*.log \
	    tests/fuzz/*.vg.out

include $(srcdir)/tests/valgrind.mk
