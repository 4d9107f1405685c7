/*
 * util.h -- allocation that aborts on failure, and the number parsers
 * shared by the config file and the command line.
 *
 * Out of memory is not an error path in hookgate: bodies are bounded by
 * max_body, so a failed allocation means a bug; x*() abort with a message.
 */
#ifndef HOOKGATE_UTIL_H
#define HOOKGATE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define HG_NORETURN __attribute__((noreturn))
#define HG_PRINTF(f, a) __attribute__((format(printf, f, a)))

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
/* Returns a malloc'd formatted string; the caller frees it. */
char	*xasprintf(const char *, ...) HG_PRINTF(1, 2);
HG_NORETURN void fatal_oom(void);

/*
 * "1M", "512K", "1024", "2G" (binary units, case-insensitive) into bytes.
 * Returns 0, or -1 on syntax error or overflow.
 */
int	 parse_size(const char *, size_t *);
/*
 * "30s", "5m", "2h", "30d", "1w", or plain seconds into seconds.
 * Returns 0, or -1 on syntax error, overflow or a negative value.
 */
int	 parse_duration(const char *, long long *);
/* Strict unsigned decimal (digits only, no sign, no space, no overflow). */
int	 parse_u64(const char *, size_t, uint64_t *);

/* Big-endian encoding for database keys that must sort numerically. */
void	 be64_put(unsigned char *, uint64_t);
uint64_t be64_get(const unsigned char *);

/* Milliseconds and seconds since the epoch, from CLOCK_REALTIME. */
int64_t	 now_ms(void);
/* Sleeps ms milliseconds in full, however many signals arrive meanwhile. */
void	 sleep_ms(long);

#endif
