/*
 * fuzz_signature.c -- every signature scheme (signature.c): header
 * parsing and verification over fuzzed headers and body, plus a round
 * trip through signature_sign() that must verify.
 *
 * Input: header lines "Name: value" (mapped to CGI's HTTP_NAME as the web
 * server would), a blank line, then the body. Two pseudo-headers steer the
 * target rather than a scheme: Fuzz-Id is the webhook-id of the round trip
 * (default msg_fuzz), and Fuzz-Secret is tried as a secret of each scheme
 * and, when usable, verifies with a config of its own.
 *
 * Each scheme has a fixed config with two secrets, and `now` is fixed, so
 * seeds signed for NOW with those secrets reach the matching code.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "request.h"
#include "signature.h"
#include "util.h"

/* 2023-11-14T22:13:20Z: the seeds' timestamps are near it. */
#define NOW		((time_t)1700000000)
#define TOLERANCE	300

static char *std_secrets[] = {
	"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	"dGVzdA"			/* no whsec_, unpadded */
};
static char *github_secrets[] = {
	"It's a Secret to Everybody", "mysecret"
};
static char *stripe_secrets[] = { "whsec_test_secret", "whsec_other" };
static char *slack_secrets[] = {
	"8f742231b10e8888abcd99yyyzzz85a5", "old-secret"
};
static char *hmac_secrets[] = { "hmac-one", "hmac-two" };

#define NSECRETS(a)	(sizeof(a) / sizeof((a)[0]))
#define SIG(s, sec)	.scheme = (s), .secrets = (sec), \
			.nsecrets = NSECRETS(sec), .tolerance = TOLERANCE

/* One config per scheme, and per shape of the generic hmac one. */
static const struct sigconfig configs[] = {
	{ SIG(SCHEME_STANDARD, std_secrets) },
	{ SIG(SCHEME_GITHUB, github_secrets) },
	{ SIG(SCHEME_STRIPE, stripe_secrets) },
	{ SIG(SCHEME_SLACK, slack_secrets) },
	{ SIG(SCHEME_HMAC, hmac_secrets), .header = "X-Signature",
	    .algorithm = HMAC_SHA256, .encoding = ENC_HEX,
	    .prefix = "sha256=" },
	{ SIG(SCHEME_HMAC, hmac_secrets), .header = "X-Shopify-Hmac-Sha256",
	    .algorithm = HMAC_SHA256, .encoding = ENC_BASE64 },
	{ SIG(SCHEME_HMAC, hmac_secrets), .header = "X-Sig-512",
	    .algorithm = HMAC_SHA512, .encoding = ENC_HEX },
	{ SIG(SCHEME_HMAC, hmac_secrets), .header = "X-Sig-1",
	    .algorithm = HMAC_SHA1, .encoding = ENC_BASE64, .prefix = "sha1=" },
};

#define NCONFIGS	(sizeof(configs) / sizeof(configs[0]))

static const enum scheme schemes[] = {
	SCHEME_NONE, SCHEME_STANDARD, SCHEME_GITHUB, SCHEME_STRIPE,
	SCHEME_SLACK, SCHEME_HMAC
};

/*
 * Adds the header whose name is the len bytes at name as the web server
 * would: HTTP_ and the name upper-cased, anything else than letters and
 * digits turned into '_'.
 */
static void
add_header(struct request *req, const char *name, size_t len,
    const char *value)
{
	char *var;
	size_t i;

	var = xmalloc(len + 6);
	memcpy(var, "HTTP_", 5);
	for (i = 0; i < len; i++)
		var[5 + i] = isalnum((unsigned char)name[i]) ?
		    (char)toupper((unsigned char)name[i]) : '_';
	var[5 + len] = '\0';
	request_add_param(req, var, value);
	free(var);
}

/*
 * Adds every "Name: value" line of the len bytes at p (a value starts
 * after the colon; request_add_param trims its blanks). Lines without a
 * colon are ignored.
 */
static void
add_headers(struct request *req, const char *p, size_t len)
{
	const char *nl, *colon;
	char *value;
	size_t l;

	while (len > 0) {
		nl = memchr(p, '\n', len);
		l = nl != NULL ? (size_t)(nl - p) : len;
		if ((colon = memchr(p, ':', l)) != NULL) {
			/* In a buffer of its own size, for ASan. */
			value = xstrndup(colon + 1,
			    l - (size_t)(colon - p) - 1);
			add_header(req, p, (size_t)(colon - p), value);
			free(value);
		}
		if (nl == NULL)
			break;
		p += l + 1;
		len -= l + 1;
	}
}

/* Checks what every answer must satisfy, whatever the input. */
static void
check_result(const struct sigconfig *cfg, enum sig_result r,
    const char *reason)
{
	size_t i;

	FUZZ_ASSERT(r >= SIG_OK && r <= SIG_CONFIG);
	FUZZ_ASSERT(reason != NULL && *reason != '\0');
	FUZZ_ASSERT(signature_result_str(r) != NULL);
	/*
	 * Messages never hold a secret. Short secrets are words of the
	 * static messages: the fuzzer found "ok" in "ok".
	 */
	for (i = 0; i < cfg->nsecrets; i++)
		FUZZ_ASSERT(strlen(cfg->secrets[i]) < 8 ||
		    strstr(reason, cfg->secrets[i]) == NULL);
	/* These configs are all usable. */
	FUZZ_ASSERT(r != SIG_CONFIG);
}

/*
 * Signs body as a sender holding secret number which of cfg would, and
 * checks that cfg verifies the headers that come out.
 */
static void
round_trip(const struct sigconfig *cfg, size_t which, const char *id,
    const unsigned char *body, size_t len)
{
	struct sigconfig one = *cfg;
	struct request *req;
	const char *reason = NULL;
	enum sig_result r;
	size_t outlen = strlen(id) + 512;
	char *out;

	one.secrets = cfg->secrets + which;
	one.nsecrets = 1;
	out = xmalloc(outlen);
	FUZZ_ASSERT(signature_sign(&one, id, NOW, body, len, out,
	    outlen) == 0);
	req = request_new();
	add_headers(req, out, strlen(out));
	r = signature_verify(cfg, req, body, len, NOW, &reason);
	check_result(cfg, r, reason);
	FUZZ_ASSERT(r == SIG_OK);
	request_free(req);
	free(out);
}

/* Fuzz-Secret as a secret of every scheme, and as the one of its config. */
static void
try_secret(const struct request *req, const char *secret, const char *id,
    const unsigned char *body, size_t len)
{
	struct sigconfig cfg;
	char *secrets[1];
	const char *why, *reason = NULL;
	enum sig_result r;
	size_t i;

	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		why = signature_check_secret(schemes[i], secret);
		/* Short secrets are words of the static messages. */
		FUZZ_ASSERT(why == NULL || strlen(secret) < 8 ||
		    strstr(why, secret) == NULL);
	}
	if (signature_check_secret(SCHEME_STANDARD, secret) != NULL)
		return;
	/* The whsec_ prefix is the scheme's, so it can never be the secret. */
	FUZZ_ASSERT(strcmp(secret, "whsec_") != 0);
	secrets[0] = (char *)secret;
	memset(&cfg, 0, sizeof(cfg));
	cfg.scheme = SCHEME_STANDARD;
	cfg.secrets = secrets;
	cfg.nsecrets = 1;
	cfg.tolerance = TOLERANCE;
	r = signature_verify(&cfg, req, body, len, NOW, &reason);
	FUZZ_ASSERT(r >= SIG_OK && r < SIG_CONFIG);
	FUZZ_ASSERT(reason != NULL);
	round_trip(&cfg, 0, id, body, len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct sigconfig *cfg;
	struct request *req;
	const unsigned char *body;
	const uint8_t *sep;
	const char *id, *secret, *reason;
	enum sig_result r;
	size_t hlen, len, i;

	if ((sep = memmem(data, size, "\n\n", 2)) != NULL) {
		hlen = (size_t)(sep - data);
		body = sep + 2;
		len = size - hlen - 2;
	} else {
		hlen = size;
		body = data + size;
		len = 0;
	}
	req = request_new();
	add_headers(req, (const char *)data, hlen);
	if ((id = request_header(req, "Fuzz-Id")) == NULL)
		id = "msg_fuzz";

	for (i = 0; i < NCONFIGS; i++) {
		reason = NULL;
		r = signature_verify(&configs[i], req, body, len, NOW, &reason);
		check_result(&configs[i], r, reason);
	}
	/*
	 * One config per input for what costs HMACs whatever the headers:
	 * the same answer without a reason pointer, and the round trip.
	 */
	cfg = &configs[size % NCONFIGS];
	reason = NULL;
	r = signature_verify(cfg, req, body, len, NOW, &reason);
	FUZZ_ASSERT(signature_verify(cfg, req, body, len, NOW, NULL) == r);
	round_trip(cfg, size / NCONFIGS % cfg->nsecrets, id, body, len);
	if ((secret = request_header(req, "Fuzz-Secret")) != NULL)
		try_secret(req, secret, id, body, len);
	request_free(req);
	return 0;
}
