/*
 * signature.c -- the sender signature schemes of SPEC.md "Signatures".
 *
 * Every scheme comes down to the same steps: find the headers, check their
 * shape and the timestamp, then HMAC the signed parts with each configured
 * secret and look for the result among the signatures sent. The MAC is
 * encoded in the scheme's canonical text (lowercase hex, padded standard
 * base64) and compared as text, in constant time, so that no decoder's
 * leniency decides what verifies: uppercase hex, unpadded or URL-safe
 * base64 never match.
 */

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "signature.h"
#include "util.h"

#define WHSEC_PREFIX	"whsec_"
#define B64_ALPHABET \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
/* Room for the longest MAC text: SHA-512 in hex, plus the NUL. */
#define MAC_TEXT_MAX	(2 * EVP_MAX_MD_SIZE + 1)
/* The most pieces a signed message has: id "." timestamp "." body. */
#define MAX_PARTS	5

/* A run of bytes not necessarily NUL-terminated: a piece of a header. */
struct span {
	const char	*p;
	size_t		 len;
};

/* One piece of the signed message; the pieces are MACed in order. */
struct part {
	const void	*p;
	size_t		 len;
};

/* The HMAC key of one secret; owned is set when the bytes were decoded. */
struct key {
	const unsigned char	*p;
	size_t			 len;
	unsigned char		*owned;
};

/* A header's name as sent, and the reasons that name it. */
struct hdr {
	const char	*name;
	const char	*missing;
	const char	*malformed;
};

#define HDR(n)	{ n, "missing header " n, "malformed header " n }

/* The Standard Webhooks header set, under its own names or Svix's. */
struct std_headers {
	struct hdr	 id;
	struct hdr	 ts;
	struct hdr	 sig;
};

static const struct std_headers std_webhook = {
	HDR("webhook-id"), HDR("webhook-timestamp"), HDR("webhook-signature")
};
static const struct std_headers std_svix = {
	HDR("svix-id"), HDR("svix-timestamp"), HDR("svix-signature")
};
static const struct hdr hdr_github = HDR("X-Hub-Signature-256");
static const struct hdr hdr_stripe = HDR("Stripe-Signature");
static const struct hdr hdr_slack_ts = HDR("X-Slack-Request-Timestamp");
static const struct hdr hdr_slack_sig = HDR("X-Slack-Signature");

/* A hash by enum hmac_alg: its OpenSSL name and its output size. */
struct alg {
	const char	*name;
	size_t		 size;
};

static const struct alg algs[] = {
	[HMAC_SHA256] = { "SHA256", 32 },
	[HMAC_SHA512] = { "SHA512", 64 },
	[HMAC_SHA1] = { "SHA1", 20 },
};

#define NALGS	(sizeof(algs) / sizeof(algs[0]))

#define R_STALE		"stale timestamp"
#define R_MISMATCH	"no matching signature"

/* Sets the reason and passes the result through, for one-line failures. */
static enum sig_result
fail(enum sig_result r, const char *why, const char **reason)
{
	*reason = why;
	return r;
}

/* Equality of two texts in time independent of their contents. */
static int
text_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	/* The length of a signature is public; only the bytes are not. */
	return alen == blen && CRYPTO_memcmp(a, b, alen) == 0;
}

/* Whether the span holds exactly the NUL-terminated string s. */
static int
span_is(const struct span *sp, const char *s)
{
	return sp->len == strlen(s) && memcmp(sp->p, s, sp->len) == 0;
}

/* Whether s is exactly n lowercase hex digits. */
static int
is_lower_hex(const char *s, size_t n)
{
	return strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

/* Whether s has the exact shape of padded base64 for a size-byte value. */
static int
is_b64_of(const char *s, size_t size)
{
	size_t len = strlen(s), pad = (3 - size % 3) % 3;

	return len == (size + 2) / 3 * 4 &&
	    strspn(s, B64_ALPHABET) == len - pad &&
	    strspn(s + len - pad, "=") == pad;
}

/* Writes the lowercase hex of buf and a NUL into out; returns its length. */
static size_t
hex_encode(const unsigned char *buf, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[buf[i] >> 4];
		out[2 * i + 1] = digits[buf[i] & 0x0f];
	}
	out[2 * len] = '\0';
	return 2 * len;
}

/*
 * Decodes a Standard Webhooks secret: standard base64 whose '=' padding
 * may be missing (Python pads before decoding, so senders' tools accept
 * such secrets). Returns a malloc'd buffer the caller cleanses and frees,
 * with its length in *outlen, or NULL if s is not base64 or is empty.
 */
static unsigned char *
b64_decode_secret(const char *s, size_t *outlen)
{
	size_t n = strlen(s), c, pad, m;
	unsigned char *out;
	char *buf;
	int r;

	c = strspn(s, B64_ALPHABET);
	pad = n - c;
	if (pad > 2 || strspn(s + c, "=") != pad || c == 0 || n > INT_MAX / 2)
		return NULL;
	if (pad == 0 ? c % 4 == 1 : (c + pad) % 4 != 0)
		return NULL;
	/* EVP_DecodeBlock() wants whole quanta and counts padding as bytes. */
	m = (c + 3) / 4 * 4;
	buf = xmalloc(m + 1);
	memcpy(buf, s, c);
	memset(buf + c, '=', m - c);
	buf[m] = '\0';
	out = xmalloc(m / 4 * 3);
	r = EVP_DecodeBlock(out, (const unsigned char *)buf, (int)m);
	OPENSSL_cleanse(buf, m);
	free(buf);
	if (r != (int)(m / 4 * 3)) {
		OPENSSL_cleanse(out, m / 4 * 3);
		free(out);
		return NULL;
	}
	*outlen = (size_t)r - (m - c);
	return out;
}

/*
 * Resolves a configured secret into HMAC key bytes: for the standard
 * scheme the base64 after an optional whsec_ prefix, decoded into memory
 * that key_free() releases; for every other scheme the text as written.
 * Returns -1 if the secret is unusable.
 */
static int
key_get(enum scheme scheme, const char *secret, struct key *k)
{
	k->owned = NULL;
	if (secret == NULL || *secret == '\0')
		return -1;
	if (scheme != SCHEME_STANDARD) {
		/* Stripe's whsec_ secret too: its key is the whole string. */
		k->p = (const unsigned char *)secret;
		k->len = strlen(secret);
		return 0;
	}
	if (strncmp(secret, WHSEC_PREFIX, strlen(WHSEC_PREFIX)) == 0)
		secret += strlen(WHSEC_PREFIX);
	if ((k->owned = b64_decode_secret(secret, &k->len)) == NULL)
		return -1;
	k->p = k->owned;
	return 0;
}

/* Wipes and frees the decoded bytes of a key, if any. */
static void
key_free(struct key *k)
{
	if (k->owned != NULL) {
		OPENSSL_cleanse(k->owned, k->len);
		free(k->owned);
		k->owned = NULL;
	}
}

/*
 * One HMAC context per hash, made once per process with its digest set and
 * no key. OpenSSL 3 looks an algorithm up by name under a global lock (a
 * fetch) for a new context and again for a digest named at init; a copy
 * of a template does neither, which matters with many request threads.
 * The templates live as long as the process.
 */
static EVP_MAC_CTX *templates[NALGS];
static pthread_once_t templates_once = PTHREAD_ONCE_INIT;

static void
templates_make(void)
{
	OSSL_PARAM params[2];
	EVP_MAC *mac;
	size_t i;

	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return;
	for (i = 0; i < NALGS; i++) {
		/* OpenSSL only reads the name; the prototype lacks a const. */
		params[0] = OSSL_PARAM_construct_utf8_string(
		    OSSL_MAC_PARAM_DIGEST, (char *)algs[i].name, 0);
		params[1] = OSSL_PARAM_construct_end();
		if ((templates[i] = EVP_MAC_CTX_new(mac)) != NULL &&
		    !EVP_MAC_CTX_set_params(templates[i], params)) {
			EVP_MAC_CTX_free(templates[i]);
			templates[i] = NULL;
		}
	}
	EVP_MAC_free(mac);	/* each context keeps its own reference */
}

/* Returns a new HMAC context for alg, to key with EVP_MAC_init(); the
   caller frees it. NULL without HMAC (or that hash). */
static EVP_MAC_CTX *
mac_new(enum hmac_alg alg)
{
	pthread_once(&templates_once, templates_make);
	if ((size_t)alg >= NALGS || templates[alg] == NULL)
		return NULL;
	return EVP_MAC_CTX_dup(templates[alg]);
}

/*
 * MACs the parts in order with key (ctx holds the hash), without joining
 * them (bodies run to megabytes), and writes the result encoded as enc,
 * NUL-terminated, into out (MAC_TEXT_MAX bytes). Returns the text's
 * length, or -1.
 */
static int
mac_text(EVP_MAC_CTX *ctx, enum hmac_enc enc, const struct key *key,
    const struct part *parts, size_t nparts, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t mdlen, i;
	int r = -1;

	if (!EVP_MAC_init(ctx, key->p, key->len, NULL))
		return -1;
	for (i = 0; i < nparts; i++)
		if (parts[i].len > 0 &&
		    !EVP_MAC_update(ctx, parts[i].p, parts[i].len))
			return -1;
	if (!EVP_MAC_final(ctx, md, &mdlen, sizeof(md)))
		return -1;
	if (enc == ENC_HEX)
		r = (int)hex_encode(md, mdlen, out);
	else if (enc == ENC_BASE64)
		r = EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
	OPENSSL_cleanse(md, sizeof(md));
	return r;
}

/*
 * MACs the signed parts with every configured secret and asks match
 * whether the signatures sent (sigs) hold the result: any secret may match,
 * for rotation. Returns SIG_OK, SIG_MISMATCH or SIG_CONFIG.
 */
static enum sig_result
match_secrets(const struct sigconfig *cfg, enum hmac_alg alg,
    enum hmac_enc enc, const struct part *parts, size_t nparts,
    const char *sigs, int (*match)(const char *, const char *, size_t),
    const char **reason)
{
	EVP_MAC_CTX *ctx;
	struct key key;
	char text[MAC_TEXT_MAX];
	enum sig_result r = SIG_MISMATCH;
	size_t i;
	int n;

	if ((ctx = mac_new(alg)) == NULL)
		return fail(SIG_CONFIG, "HMAC unavailable", reason);
	*reason = R_MISMATCH;
	for (i = 0; i < cfg->nsecrets && r == SIG_MISMATCH; i++) {
		if (key_get(cfg->scheme, cfg->secrets[i], &key) == -1) {
			r = fail(SIG_CONFIG, "unusable secret", reason);
			break;
		}
		n = mac_text(ctx, enc, &key, parts, nparts, text);
		key_free(&key);
		if (n == -1)
			r = fail(SIG_CONFIG, "HMAC failed", reason);
		else if (match(sigs, text, (size_t)n)) {
			r = SIG_OK;
			*reason = "ok";
		}
	}
	EVP_MAC_CTX_free(ctx);
	return r;
}

/*
 * Checks a timestamp as sent: strict decimal digits (no sign, fraction or
 * blank) within tolerance of now, in either direction, equality accepted.
 * Returns SIG_OK, or SIG_MALFORMED or SIG_STALE with the reason set.
 */
static enum sig_result
check_timestamp(const char *ts, size_t len, time_t now, long long tolerance,
    const struct hdr *h, const char **reason)
{
	uint64_t t, n, diff;

	if (parse_u64(ts, len, &t) == -1)
		return fail(SIG_MALFORMED, h->malformed, reason);
	/* Unsigned arithmetic: no overflow whatever the header holds. */
	n = now < 0 ? 0 : (uint64_t)now;
	diff = t > n ? t - n : n - t;
	if (tolerance < 0 || diff > (uint64_t)tolerance)
		return fail(SIG_STALE, R_STALE, reason);
	return SIG_OK;
}

/* Splits off the next space-separated entry of a signature list. */
static int
list_next(const char **pos, struct span *entry)
{
	const char *s = *pos;

	if (*s == '\0')
		return 0;
	entry->p = s;
	entry->len = strcspn(s, " ");
	s += entry->len;
	*pos = *s == ' ' ? s + 1 : s;
	return 1;
}

/* Whether a signature list has a "version,value" entry, of any version. */
static int
standard_wellformed(const char *sigs)
{
	struct span e;
	const char *comma;

	while (list_next(&sigs, &e)) {
		comma = memchr(e.p, ',', e.len);
		if (comma != NULL && comma > e.p && comma < e.p + e.len - 1)
			return 1;
	}
	return 0;
}

/*
 * Whether a signature list holds "v1,expected". Empty, malformed and other
 * versions' entries (v1a among them) are skipped, as the Go, Rust and JS
 * libraries do, so that one bad entry cannot hide a good one.
 */
static int
match_standard(const char *sigs, const char *expected, size_t len)
{
	struct span e;

	while (list_next(&sigs, &e))
		if (e.len > 3 && memcmp(e.p, "v1,", 3) == 0 &&
		    text_equal(e.p + 3, e.len - 3, expected, len))
			return 1;
	return 0;
}

/* Whether the one signature sent, sig, is expected. */
static int
match_single(const char *sig, const char *expected, size_t len)
{
	return text_equal(sig, strlen(sig), expected, len);
}

/*
 * Standard Webhooks, or Svix: the svix-* set is used whenever any svix-*
 * header is present, so a bad svix-signature is never rescued by a good
 * webhook-signature (the Svix libraries' precedence).
 */
static enum sig_result
verify_standard(const struct sigconfig *cfg, const struct request *req,
    const unsigned char *body, size_t len, time_t now, const char **reason)
{
	const struct std_headers *h = &std_webhook;
	const char *id, *ts, *sigs;
	struct part parts[MAX_PARTS];
	enum sig_result r;

	if (request_header(req, std_svix.id.name) != NULL ||
	    request_header(req, std_svix.ts.name) != NULL ||
	    request_header(req, std_svix.sig.name) != NULL)
		h = &std_svix;
	if ((id = request_header(req, h->id.name)) == NULL)
		return fail(SIG_MISSING, h->id.missing, reason);
	if ((ts = request_header(req, h->ts.name)) == NULL)
		return fail(SIG_MISSING, h->ts.missing, reason);
	if ((sigs = request_header(req, h->sig.name)) == NULL)
		return fail(SIG_MISSING, h->sig.missing, reason);
	if (!standard_wellformed(sigs))
		return fail(SIG_MALFORMED, h->sig.malformed, reason);
	r = check_timestamp(ts, strlen(ts), now, cfg->tolerance, &h->ts,
	    reason);
	if (r != SIG_OK)
		return r;
	/* The timestamp is signed as the text sent, not as a number. */
	parts[0] = (struct part){ id, strlen(id) };
	parts[1] = (struct part){ ".", 1 };
	parts[2] = (struct part){ ts, strlen(ts) };
	parts[3] = (struct part){ ".", 1 };
	parts[4] = (struct part){ body, len };
	return match_secrets(cfg, HMAC_SHA256, ENC_BASE64, parts, 5, sigs,
	    match_standard, reason);
}

/* GitHub: exactly "sha256=" and 64 lowercase hex digits, no timestamp. */
static enum sig_result
verify_github(const struct sigconfig *cfg, const struct request *req,
    const unsigned char *body, size_t len, const char **reason)
{
	const char *sig;
	struct part part = { body, len };

	if ((sig = request_header(req, hdr_github.name)) == NULL)
		return fail(SIG_MISSING, hdr_github.missing, reason);
	if (strncmp(sig, "sha256=", 7) != 0 || !is_lower_hex(sig + 7, 64))
		return fail(SIG_MALFORMED, hdr_github.malformed, reason);
	return match_secrets(cfg, HMAC_SHA256, ENC_HEX, &part, 1, sig + 7,
	    match_single, reason);
}

/*
 * Splits off the next comma-separated "key=value" element of a
 * Stripe-Signature header; an element without '=' has an empty value.
 * Blanks are not trimmed: like Stripe's libraries, " v1" is not "v1".
 */
static int
stripe_next(const char **pos, struct span *key, struct span *val)
{
	const char *s = *pos, *eq;
	size_t len;

	if (*s == '\0')
		return 0;
	len = strcspn(s, ",");
	key->p = s;
	if ((eq = memchr(s, '=', len)) == NULL) {
		key->len = len;
		val->p = s + len;
		val->len = 0;
	} else {
		key->len = (size_t)(eq - s);
		val->p = eq + 1;
		val->len = len - key->len - 1;
	}
	*pos = s[len] == ',' ? s + len + 1 : s + len;
	return 1;
}

/*
 * Finds the one t= of a Stripe-Signature header and checks that some v1=
 * is there. A second t= is refused: the libraries disagree on which wins.
 * Unknown keys and v0 are ignored, as Stripe says, against downgrades.
 */
static int
stripe_parse(const char *hdr, struct span *t)
{
	struct span k, v;
	int nv1 = 0;

	t->p = NULL;
	t->len = 0;
	while (stripe_next(&hdr, &k, &v)) {
		if (span_is(&k, "t")) {
			if (t->p != NULL)
				return -1;
			*t = v;
		} else if (span_is(&k, "v1") && v.len > 0)
			nv1++;
	}
	return t->p != NULL && nv1 > 0 ? 0 : -1;
}

/* Whether any v1= of a Stripe-Signature header is expected. */
static int
match_stripe(const char *hdr, const char *expected, size_t len)
{
	struct span k, v;

	while (stripe_next(&hdr, &k, &v))
		if (span_is(&k, "v1") && text_equal(v.p, v.len, expected, len))
			return 1;
	return 0;
}

/*
 * Stripe: HMAC-SHA256 over "t.body". Stripe's own libraries reject only
 * timestamps that are too old; SPEC.md asks for "the same tolerance" as
 * the other schemes, so we are stricter and refuse the future side too.
 */
static enum sig_result
verify_stripe(const struct sigconfig *cfg, const struct request *req,
    const unsigned char *body, size_t len, time_t now, const char **reason)
{
	const char *hdr;
	struct span t;
	struct part parts[3];
	enum sig_result r;

	if ((hdr = request_header(req, hdr_stripe.name)) == NULL)
		return fail(SIG_MISSING, hdr_stripe.missing, reason);
	if (stripe_parse(hdr, &t) == -1)
		return fail(SIG_MALFORMED, hdr_stripe.malformed, reason);
	r = check_timestamp(t.p, t.len, now, cfg->tolerance, &hdr_stripe,
	    reason);
	if (r != SIG_OK)
		return r;
	parts[0] = (struct part){ t.p, t.len };
	parts[1] = (struct part){ ".", 1 };
	parts[2] = (struct part){ body, len };
	return match_secrets(cfg, HMAC_SHA256, ENC_HEX, parts, 3, hdr,
	    match_stripe, reason);
}

/* Slack: "v0=" and 64 lowercase hex over "v0:ts:body". */
static enum sig_result
verify_slack(const struct sigconfig *cfg, const struct request *req,
    const unsigned char *body, size_t len, time_t now, const char **reason)
{
	const char *ts, *sig;
	struct part parts[4];
	enum sig_result r;

	if ((ts = request_header(req, hdr_slack_ts.name)) == NULL)
		return fail(SIG_MISSING, hdr_slack_ts.missing, reason);
	if ((sig = request_header(req, hdr_slack_sig.name)) == NULL)
		return fail(SIG_MISSING, hdr_slack_sig.missing, reason);
	if (strncmp(sig, "v0=", 3) != 0 || !is_lower_hex(sig + 3, 64))
		return fail(SIG_MALFORMED, hdr_slack_sig.malformed, reason);
	r = check_timestamp(ts, strlen(ts), now, cfg->tolerance, &hdr_slack_ts,
	    reason);
	if (r != SIG_OK)
		return r;
	parts[0] = (struct part){ "v0:", 3 };
	parts[1] = (struct part){ ts, strlen(ts) };
	parts[2] = (struct part){ ":", 1 };
	parts[3] = (struct part){ body, len };
	return match_secrets(cfg, HMAC_SHA256, ENC_HEX, parts, 4, sig + 3,
	    match_single, reason);
}

/*
 * The generic scheme: the configured header holds the prefix, verbatim,
 * then the MAC of the body in exactly the configured encoding. The header
 * name is the user's, so the reasons cannot name it and stay static.
 */
static enum sig_result
verify_hmac(const struct sigconfig *cfg, const struct request *req,
    const unsigned char *body, size_t len, const char **reason)
{
	const char *sig, *prefix = cfg->prefix != NULL ? cfg->prefix : "";
	struct part part = { body, len };
	size_t plen = strlen(prefix), size;
	int ok;

	if (cfg->header == NULL || (size_t)cfg->algorithm >= NALGS)
		return fail(SIG_CONFIG, "incomplete hmac configuration",
		    reason);
	if ((sig = request_header(req, cfg->header)) == NULL)
		return fail(SIG_MISSING, "missing signature header", reason);
	size = algs[cfg->algorithm].size;
	ok = strncmp(sig, prefix, plen) == 0;
	if (ok && cfg->encoding == ENC_HEX)
		ok = is_lower_hex(sig + plen, 2 * size);
	else if (ok)
		ok = is_b64_of(sig + plen, size);
	if (!ok)
		return fail(SIG_MALFORMED, "malformed signature header",
		    reason);
	return match_secrets(cfg, cfg->algorithm, cfg->encoding, &part, 1,
	    sig + plen, match_single, reason);
}

enum sig_result
signature_verify(const struct sigconfig *cfg, const struct request *req,
    const unsigned char *body, size_t len, time_t now, const char **reason)
{
	const char *unused;

	if (reason == NULL)
		reason = &unused;
	*reason = "ok";
	if (cfg->scheme == SCHEME_NONE)
		return SIG_OK;
	if (cfg->nsecrets == 0)
		return fail(SIG_CONFIG, "no secret configured", reason);
	switch (cfg->scheme) {
	case SCHEME_STANDARD:
		return verify_standard(cfg, req, body, len, now, reason);
	case SCHEME_GITHUB:
		return verify_github(cfg, req, body, len, reason);
	case SCHEME_STRIPE:
		return verify_stripe(cfg, req, body, len, now, reason);
	case SCHEME_SLACK:
		return verify_slack(cfg, req, body, len, now, reason);
	case SCHEME_HMAC:
		return verify_hmac(cfg, req, body, len, reason);
	default:
		return fail(SIG_CONFIG, "unknown scheme", reason);
	}
}

/*
 * MACs the parts with the first configured secret into out (MAC_TEXT_MAX
 * bytes), for signature_sign(). Returns the text's length, or -1.
 */
static int
sign_text(const struct sigconfig *cfg, enum hmac_alg alg, enum hmac_enc enc,
    const struct part *parts, size_t nparts, char *out)
{
	EVP_MAC_CTX *ctx;
	struct key key;
	int n;

	if (cfg->nsecrets == 0 ||
	    key_get(cfg->scheme, cfg->secrets[0], &key) == -1)
		return -1;
	if ((ctx = mac_new(alg)) == NULL) {
		key_free(&key);
		return -1;
	}
	n = mac_text(ctx, enc, &key, parts, nparts, out);
	EVP_MAC_CTX_free(ctx);
	key_free(&key);
	return n;
}

/*
 * Writes the sender's header lines for one scheme into out, which holds
 * outlen bytes. Returns what snprintf() does, or -1 if no MAC came out.
 */
static int
sign_scheme(const struct sigconfig *cfg, const char *id, const char *ts,
    const unsigned char *body, size_t len, char *out, size_t outlen)
{
	struct part parts[MAX_PARTS];
	char mac[MAC_TEXT_MAX];

	switch (cfg->scheme) {
	case SCHEME_STANDARD:
		if (id == NULL || *id == '\0')
			return -1;
		parts[0] = (struct part){ id, strlen(id) };
		parts[1] = (struct part){ ".", 1 };
		parts[2] = (struct part){ ts, strlen(ts) };
		parts[3] = (struct part){ ".", 1 };
		parts[4] = (struct part){ body, len };
		if (sign_text(cfg, HMAC_SHA256, ENC_BASE64, parts, 5, mac) < 0)
			return -1;
		return snprintf(out, outlen, "webhook-id: %s\n"
		    "webhook-timestamp: %s\nwebhook-signature: v1,%s\n",
		    id, ts, mac);
	case SCHEME_GITHUB:
		parts[0] = (struct part){ body, len };
		if (sign_text(cfg, HMAC_SHA256, ENC_HEX, parts, 1, mac) < 0)
			return -1;
		return snprintf(out, outlen, "X-Hub-Signature-256: sha256=%s\n",
		    mac);
	case SCHEME_STRIPE:
		parts[0] = (struct part){ ts, strlen(ts) };
		parts[1] = (struct part){ ".", 1 };
		parts[2] = (struct part){ body, len };
		if (sign_text(cfg, HMAC_SHA256, ENC_HEX, parts, 3, mac) < 0)
			return -1;
		return snprintf(out, outlen, "Stripe-Signature: t=%s,v1=%s\n",
		    ts, mac);
	case SCHEME_SLACK:
		parts[0] = (struct part){ "v0:", 3 };
		parts[1] = (struct part){ ts, strlen(ts) };
		parts[2] = (struct part){ ":", 1 };
		parts[3] = (struct part){ body, len };
		if (sign_text(cfg, HMAC_SHA256, ENC_HEX, parts, 4, mac) < 0)
			return -1;
		return snprintf(out, outlen, "X-Slack-Request-Timestamp: %s\n"
		    "X-Slack-Signature: v0=%s\n", ts, mac);
	case SCHEME_HMAC:
		parts[0] = (struct part){ body, len };
		if (cfg->header == NULL || (size_t)cfg->algorithm >= NALGS ||
		    sign_text(cfg, cfg->algorithm, cfg->encoding, parts, 1,
		    mac) < 0)
			return -1;
		return snprintf(out, outlen, "%s: %s%s\n", cfg->header,
		    cfg->prefix != NULL ? cfg->prefix : "", mac);
	default:
		return -1;
	}
}

int
signature_sign(const struct sigconfig *cfg, const char *id, time_t now,
    const unsigned char *body, size_t len, char *out, size_t outlen)
{
	char ts[32];
	int n;

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if (cfg->scheme == SCHEME_NONE)
		return 0;
	snprintf(ts, sizeof(ts), "%lld", (long long)now);
	n = sign_scheme(cfg, id, ts, body, len, out, outlen);
	if (n < 0 || (size_t)n >= outlen) {
		/* Never leave a truncated header behind. */
		out[0] = '\0';
		return -1;
	}
	return 0;
}

const char *
signature_check_secret(enum scheme scheme, const char *secret)
{
	struct key key;

	if (secret == NULL || *secret == '\0')
		return "empty secret";
	if (scheme != SCHEME_STANDARD)
		return NULL;
	if (strcmp(secret, WHSEC_PREFIX) == 0)
		return "empty secret after whsec_";
	if (key_get(scheme, secret, &key) == -1)
		return "secret is not base64 after the optional whsec_ prefix";
	key_free(&key);
	return NULL;
}

const char *
signature_result_str(enum sig_result r)
{
	switch (r) {
	case SIG_OK:
		return "ok";
	case SIG_MISSING:
		return "missing header";
	case SIG_MALFORMED:
		return "malformed header";
	case SIG_STALE:
		return R_STALE;
	case SIG_MISMATCH:
		return R_MISMATCH;
	case SIG_CONFIG:
		return "unusable signature configuration";
	}
	return "unknown result";
}
