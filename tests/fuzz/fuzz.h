/*
 * fuzz.h -- the libFuzzer entry points every target defines, and helpers
 * the targets share. The targets are built twice: with libFuzzer's main
 * (tests/fuzz/fuzz_*, --enable-fuzzing only) and with driver.c's
 * (tests/fuzz/replay_*, every make check).
 */
#ifndef HOOKGATE_FUZZ_H
#define HOOKGATE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

/*
 * A broken invariant: the target stops the process the way libFuzzer and
 * the replay driver both notice, with the reason on stderr. abort() rather
 * than exit(): libFuzzer treats the first as a crash, the second as a bug
 * in the target.
 */
#define FUZZ_ASSERT(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

#endif
