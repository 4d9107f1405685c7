/*
 * signature.h -- the sender signature schemes of SPEC.md "Signatures":
 * pure functions over (config, headers, body, now). No I/O, no logging.
 */
#ifndef HOOKGATE_SIGNATURE_H
#define HOOKGATE_SIGNATURE_H

#include <stddef.h>
#include <time.h>

#include "config.h"
#include "request.h"

enum sig_result {
	SIG_OK,
	SIG_MISSING,		/* a required header is absent or empty */
	SIG_MALFORMED,		/* a header is present but unparsable */
	SIG_STALE,		/* timestamp outside tolerance (either way) */
	SIG_MISMATCH,		/* well-formed, but no signature matches */
	SIG_CONFIG		/* unusable secret (caught by config_load too) */
};

/*
 * Verifies the request's signature headers over the raw body with every
 * configured secret; any match is success. Comparison is constant-time.
 * For SCHEME_NONE returns SIG_OK. *reason (may be NULL) is set to a short
 * static text naming what failed, e.g. "missing header webhook-signature";
 * it never holds a secret or a signature value.
 */
enum sig_result	 signature_verify(const struct sigconfig *,
		    const struct request *, const unsigned char *body,
		    size_t len, time_t now, const char **reason);

/*
 * Computes the headers a sender would send for body with the first secret
 * (for `hookgate sign` and tests): lines "Name: value\n" written into out.
 * id is used by the standard scheme only (webhook-id). Returns 0, or -1
 * if out is too small or the scheme has no secret.
 */
int		 signature_sign(const struct sigconfig *, const char *id,
		    time_t now, const unsigned char *body, size_t len,
		    char *out, size_t outlen);

/*
 * Checks that a secret can be used with the scheme (e.g. a standard secret
 * must be valid base64 after an optional whsec_ prefix). Returns NULL if
 * fine, else a static message. Used by config_load.
 */
const char	*signature_check_secret(enum scheme, const char *secret);

/* Static text for a result, e.g. "no matching signature". */
const char	*signature_result_str(enum sig_result);

#endif
