# make check-valgrind: the unit tests (tests/check_*) and the fuzz
# targets' replay programs under valgrind memcheck. A program passes when
# its tests pass and valgrind saw no error and no definitely lost block.
#
# CK_FORK=no runs Check's tests inside the process valgrind watches (in
# fork mode each test would be a child whose leaks die with it), except
# in VALGRIND_FORK: check_runner's tests change their own process for
# good (a seccomp filter that forbids fork()), so each needs Check's child;
# valgrind follows fork() (children started with exec run natively,
# --trace-children=no), so every test process is checked all the same.
#
# Valgrind checks leaks in every process as it ends, forked ones too.
# check_store's helper children die mid-test on purpose (SIGKILL,
# _exit()) holding what the test allocated before fork(): their reports
# mean nothing, and each takes valgrind half a minute, enough to expire
# the job lease claim_then_killed counts on. So the programs in
# VALGRIND_NO_LEAKS are checked for memory errors (in every process)
# only; their leaks are LeakSanitizer's job in the --enable-sanitizers
# build, where each test's process is checked as it exits.
#
# HOOKGATE_VALGRIND=1 tells a test to skip what cannot hold under valgrind
# (a timing bound). Logs: tests/<program>.vg.<pid>.log, output
# tests/<program>.vg.out.

VALGRIND = valgrind
VALGRIND_FLAGS = --tool=memcheck --error-exitcode=1 \
	--trace-children=no --num-callers=40 \
	--suppressions=$(srcdir)/tests/valgrind.supp
VALGRIND_LEAK_FLAGS = --leak-check=full --errors-for-leak-kinds=definite \
	--show-leak-kinds=definite
VALGRIND_FORK = tests/check_runner
VALGRIND_NO_LEAKS = tests/check_store
# Check's timeouts (fork mode only) stretched by this factor.
VALGRIND_TIMEOUT = 20

if SANITIZERS
check-valgrind:
	@echo "check-valgrind: not in a --enable-sanitizers (or fuzzing)" \
	    "build; use a plain one" >&2; \
	exit 1
else
check-valgrind: $(UNIT_TESTS) $(FUZZ_REPLAY)
	@command -v $(VALGRIND) >/dev/null || { \
	    echo "check-valgrind needs valgrind: apt-get install valgrind" >&2; \
	    exit 1; }; \
	rc=0; \
	for t in $(UNIT_TESTS) $(FUZZ_REPLAY); do \
		fork=no; leaks='$(VALGRIND_LEAK_FLAGS)'; \
		for f in $(VALGRIND_FORK); do \
			test "$$f" = "$$t" && fork=yes; \
		done; \
		for f in $(VALGRIND_NO_LEAKS); do \
			test "$$f" = "$$t" && leaks=--leak-check=no; \
		done; \
		case $$t in \
		tests/fuzz/replay_*) \
			n=$${t#tests/fuzz/replay_}; \
			set -- `ls -d $(abs_srcdir)/tests/fuzz/corpus/$$n/* \
			    $(abs_srcdir)/tests/fuzz/regress/$$n/* 2>/dev/null | \
			    grep -v /README`;; \
		*) set --;; \
		esac; \
		rm -f $$t.vg.*.log; \
		HOOKGATE='$(abs_top_builddir)/hookgate' \
		    SRCDIR='$(abs_top_srcdir)' HOOKGATE_VALGRIND=1 \
		    CK_FORK=$$fork CK_TIMEOUT_MULTIPLIER=$(VALGRIND_TIMEOUT) \
		    $(VALGRIND) $(VALGRIND_FLAGS) $$leaks \
		    --log-file=$$t.vg.%p.log ./$$t "$$@" >$$t.vg.out 2>&1; \
		if test $$? -eq 0; then \
			echo "PASS: $$t (valgrind)"; \
		else \
			echo "FAIL: $$t (valgrind): $$t.vg.out, $$t.vg.*.log"; \
			tail -n 20 $$t.vg.out; \
			grep -l -E 'ERROR SUMMARY: [1-9]|definitely lost: [1-9]' \
			    $$t.vg.*.log | head -n 3 | xargs -r grep -v '^==[0-9]*== $$' | \
			    head -n 100; \
			rc=1; \
		fi; \
	done; \
	exit $$rc
endif
