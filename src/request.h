/*
 * request.h -- one HTTP request as a FastCGI or CGI responder sees it: the
 * CGI variables (copied, so they outlive libfcgi's envp) and the body, read
 * once into a buffer bounded by max_body.
 */
#ifndef HOOKGATE_REQUEST_H
#define HOOKGATE_REQUEST_H

#include <stddef.h>
#include <sys/types.h>

struct param {
	char	*name;
	char	*value;
};

struct request {
	struct param	*params;	/* every CGI variable, in arrival order */
	size_t		 nparams;
	size_t		 aparams;
	int		 dup_param;	/* a name arrived twice */
	unsigned char	*body;		/* NUL-terminated for convenience */
	size_t		 body_len;
	size_t		 body_cap;
};

/* Where the body comes from: FCGX_GetStr, read(0, ...) or a test buffer. */
struct body_reader {
	/* Returns bytes read, 0 at end of body, -1 on error. */
	ssize_t	(*read)(void *ctx, void *buf, size_t len);
	void	*ctx;
};

enum body_status {
	BODY_OK,
	BODY_TOO_LARGE,		/* 413: CONTENT_LENGTH or bytes > max_body */
	BODY_LENGTH_MISMATCH,	/* 400: bytes != CONTENT_LENGTH */
	BODY_BAD_LENGTH,	/* 400: CONTENT_LENGTH is not a number */
	BODY_READ_ERROR		/* 400: the connection failed mid-body */
};

struct request	*request_new(void);
void		 request_free(struct request *);
/* Empties the request for reuse by the next one, keeping its buffers. */
void		 request_reset(struct request *);

/* Copies "NAME=value" (as in an envp array) into the request. */
void		 request_add_env(struct request *, const char *);
/* Copies a name and value. Marks dup_param if the name is already there. */
void		 request_add_param(struct request *, const char *, const char *);

/* The value of a CGI variable, or NULL. Owned by the request. */
const char	*request_param(const struct request *, const char *);

/*
 * The value of an HTTP request header given its name as sent ("webhook-id",
 * "X-Hub-Signature-256"): looked up as HTTP_WEBHOOK_ID. An empty value
 * counts as absent (NULL). Leading and trailing blanks are not part of it.
 */
const char	*request_header(const struct request *, const char *);

/*
 * Checks CONTENT_LENGTH against max_body, then reads the body to its end,
 * never more than max_body bytes, and compares the count with
 * CONTENT_LENGTH when one was given.
 */
enum body_status request_read_body(struct request *, const struct body_reader *,
		    size_t max_body);

#endif
