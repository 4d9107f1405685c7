/*
 * log.h -- one logfmt line per event, to stderr (the web server's error
 * log), a file, or syslog. Never pass a secret or payload bytes here.
 */
#ifndef HOOKGATE_LOG_H
#define HOOKGATE_LOG_H

#include "util.h"

enum log_level {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR
};

/*
 * Selects the sink: "stderr", "syslog", or a file path (appended to).
 * Returns 0, or -1 if the file cannot be opened (stderr stays in use).
 */
int	 log_open(const char *);
void	 log_close(void);

/*
 * Writes "ts=... level=... " followed by the formatted fields and a newline.
 * The fields are logfmt already: use log_quote() for free text values.
 */
void	 log_write(enum log_level, const char *, ...) HG_PRINTF(2, 3);

/*
 * Quotes a value for logfmt into buf when it holds spaces, quotes or '='
 * (control bytes are escaped). Returns buf.
 */
const char *log_quote(const char *, char *, size_t);

#endif
