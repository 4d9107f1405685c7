/*
 * driver.c -- a main() for the fuzz targets without libFuzzer: runs
 * LLVMFuzzerTestOneInput() once on the contents of each file named on the
 * command line. Linked with each target into tests/fuzz/replay_<target>,
 * it lets every `make check`, with gcc as well, replay the seed corpus and
 * the regression inputs of tests/fuzz/regress/ through the same code.
 *
 * A crash, an abort or a sanitizer report ends the run with a non-zero
 * status; otherwise the exit status is 0 and nothing is printed unless
 * -v is given.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

/* Optional, as in libFuzzer: a target defines it only when it needs it. */
int	LLVMFuzzerInitialize(int *, char ***) __attribute__((weak));

/*
 * Reads the whole file into a buffer of exactly its size (so that ASan
 * sees a read past the end as libFuzzer's runs would); the caller frees.
 * Returns NULL with errno set on failure.
 */
static uint8_t *
slurp(const char *path, size_t *lenp)
{
	FILE *fp;
	uint8_t *buf = NULL, *nbuf;
	size_t len = 0, cap = 0, n;
	int saved;

	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			if ((nbuf = realloc(buf, cap)) == NULL)
				goto fail;
			buf = nbuf;
		}
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(fp))
		goto fail;
	fclose(fp);
	/* Shrink to the exact size; one byte for an empty file. */
	if ((nbuf = malloc(len ? len : 1)) == NULL) {
		free(buf);
		return NULL;
	}
	memcpy(nbuf, buf, len);
	free(buf);
	*lenp = len;
	return nbuf;

fail:
	saved = errno;
	free(buf);
	fclose(fp);
	errno = saved;
	return NULL;
}

int
main(int argc, char *argv[])
{
	uint8_t *data;
	size_t len;
	int i = 1, verbose = 0;

	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		verbose = 1;
		i++;
	}
	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (; i < argc; i++) {
		if ((data = slurp(argv[i], &len)) == NULL) {
			fprintf(stderr, "%s: %s: %s\n", argv[0], argv[i],
			    strerror(errno));
			return 1;
		}
		if (verbose)
			fprintf(stderr, "%s (%zu bytes)\n", argv[i], len);
		LLVMFuzzerTestOneInput(data, len);
		free(data);
	}
	return 0;
}
