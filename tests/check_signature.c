/*
 * check_signature.c -- the signature schemes against the published vectors
 * of notes/signatures.md, the rejections each scheme must make, and
 * signature_sign() output and round trips through signature_verify().
 *
 * Vectors marked "derived" were computed with the openssl CLI, e.g.
 *   printf '%s' "$body" | openssl dgst -sha512 -hmac "$secret"
 * because the official ones are not fully published (Slack's body) or
 * depend on the clock (Stripe's tests).
 */

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "signature.h"
#include "request.h"
#include "util.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* Standard Webhooks: "every library's sign test" (notes 1.5, row 1). */
#define SW_SECRET	"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SW_ID		"msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SW_TS		1614265330
#define SW_TS_S		"1614265330"
#define SW_BODY		"{\"test\": 2432232314}"
#define SW_SIG		"g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
#define SW_HDRS(id, ts, sig) { { "webhook-id", id }, \
	{ "webhook-timestamp", ts }, { "webhook-signature", sig } }
#define SVIX_HDRS(id, ts, sig) { { "svix-id", id }, \
	{ "svix-timestamp", ts }, { "svix-signature", sig } }

/* GitHub docs vector. */
#define GH_SECRET	"It's a Secret to Everybody"
#define GH_BODY		"Hello, World!"
#define GH_HEX \
	"757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
#define GH_HDR(v)	{ { "X-Hub-Signature-256", v } }

/* Stripe, derived from stripe-node's fixtures. */
#define ST_SECRET	"whsec_test_secret"
#define ST_BODY \
	"{\n  \"id\": \"evt_test_webhook\",\n  \"object\": \"event\"\n}"
#define ST_TS		1492774577
#define ST_TS_S		"1492774577"
#define ST_HEX \
	"c2f890decbc5ede7c5060bb9a6d31e0626a4342bacb9aeae2adb1bcea72f9812"
/* The same, signed by a sender that stripped whsec_ from the key. */
#define ST_HEX_STRIPPED \
	"102603b27657da2610fc5e259fef6b6bb5aa725b8a6bc5e37bf5aec3180c2934"
#define ST_HDR(v)	{ { "Stripe-Signature", v } }

/* Slack, derived: the official secret and timestamp, a shortened body. */
#define SL_SECRET	"8f742231b10e8888abcd99yyyzzz85a5"
#define SL_TS		1531420618
#define SL_TS_S		"1531420618"
#define SL_BODY \
	"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&" \
	"trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
#define SL_HEX \
	"c05ef5972bd95b2dad23c099a7f201438dec5c7676fbc5a68d469448f1104dc5"
#define SL_HDRS(ts, sig) { { "X-Slack-Request-Timestamp", ts }, \
	{ "X-Slack-Signature", sig } }

/* Shopify (shopify-app-js), through the generic hmac scheme. */
#define SH_SECRET	"test_secret_key"
#define SH_BODY		"{\"foo\": \"bar\"}"
#define SH_B64		"B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g="
#define SH_HDR(v)	{ { "X-Shopify-Hmac-Sha256", v } }
#define SHOPIFY		.scheme = SCHEME_HMAC, \
	.header = "X-Shopify-Hmac-Sha256", .alg = HMAC_SHA256, .enc = ENC_BASE64

/* Derived sha1 and sha512 cases for the hmac scheme. */
#define PING_BODY	"{\"event\":\"ping\"}"
#define SHA512_HEX \
	"7947128d2578693488712dba96f05cd7f69794049bdf052ca6c3d7035c62f8a6" \
	"6cb588e3e69ea71055baed212a119ae0512440b5ee3b12c6ff8985065ebf86c5"
#define SHA512_B64 \
	"eUcSjSV4aTSIcS26lvBc1/aXlASb3wUspsPXA1xi+KZstYjj5p6nEFW67SEqEZrg" \
	"USRAte47Esb/iYUGXr+GxQ=="

/* A header as the sender names it; a NULL value is not sent. */
struct header {
	const char	*name;
	const char	*value;
};

struct vector {
	const char	*name;
	enum scheme	 scheme;
	const char	*secrets[3];	/* NULL-terminated */
	struct header	 headers[6];	/* ends at a NULL name */
	const char	*body;
	size_t		 a_count;	/* or this many 'a' */
	time_t		 now;
	long long	 tolerance;	/* 0 means the default, 300 */
	enum sig_result	 want;
	const char	*reason;	/* NULL: not checked */
	const char	*header;	/* hmac scheme */
	enum hmac_alg	 alg;
	enum hmac_enc	 enc;
	const char	*prefix;
};

static const struct vector vectors[] = {
	/* Standard Webhooks: official vectors. */
	{ "sw row 1", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S, "v1," SW_SIG), SW_BODY, 0, SW_TS, 0,
	    SIG_OK, "ok", NULL, 0, 0, NULL },
	{ "sw rust test_sign", SCHEME_STANDARD,
	    { "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD" },
	    SW_HDRS("msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", "1649367553",
	    "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="),
	    "{\"email\":\"test@example.com\",\"username\":\"test_user\"}", 0,
	    1649367553, 0, SIG_OK, NULL, NULL, 0, 0, NULL },
	{ "sw testdata, secret without whsec_", SCHEME_STANDARD,
	    { "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" },
	    SW_HDRS(SW_ID, "1696200454",
	    "v1,GgjvufBlIj71MBIVQotYGb+xEC3LNXCsIZp0HsDC8qs="),
	    "{\"type\": \"example.created\", \"timestamp\":"
	    "\"2023-09-28T19:20:22+00:00\", \"data\":{\"str\":\"string\","
	    "\"bool\":true,\"int\":42}}",
	    0, 1696200454, 0, SIG_OK, NULL, NULL, 0, 0, NULL },
	{ "sw 1 MiB of a", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S,
	    "v1,txpEUxqWZJ5nteTnymUVa+7C4NHpBeXJ6CsBAW0c3/A="), NULL, 1048576,
	    SW_TS, 0, SIG_OK, NULL, NULL, 0, 0, NULL },
	{ "sw 256 KiB of a", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S,
	    "v1,Mw4Pe2WgApuT7NSqnSq0PQPV9gbLdggCl9B865x5Xh0="), NULL, 262144,
	    SW_TS, 0, SIG_OK, NULL, NULL, 0, 0, NULL },
	{ "sw 256 KiB - 1 of a", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S,
	    "v1,NTItnqyWMoFhk2Bbe5V/BMdcFRWgcSQaTgqLHX7FC7c="), NULL, 262143,
	    SW_TS, 0, SIG_OK, NULL, NULL, 0, 0, NULL },
	/* Derived: an empty body signs "id.ts." and verifies. */
	{ "sw empty body", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S,
	    "v1,v48jdbgvh29KJz2Qc+ghw8G6vG3nAKnujWBg8oM/62A="), "", 0,
	    SW_TS, 0, SIG_OK, NULL, NULL, 0, 0, NULL },
	/* Derived: key "test", written unpadded and padded. */
	{ "sw unpadded secret", SCHEME_STANDARD, { "whsec_dGVzdA" },
	    SW_HDRS(SW_ID, SW_TS_S,
	    "v1,XkqBEdhVOndvTRvi3p6f5oT1lLPXYidz4/z72sqn7Jw="), SW_BODY, 0,
	    SW_TS, 0, SIG_OK, NULL, NULL, 0, 0, NULL },
	{ "sw padded secret", SCHEME_STANDARD, { "whsec_dGVzdA==" },
	    SW_HDRS(SW_ID, SW_TS_S,
	    "v1,XkqBEdhVOndvTRvi3p6f5oT1lLPXYidz4/z72sqn7Jw="), SW_BODY, 0,
	    SW_TS, 0, SIG_OK, NULL, NULL, 0, 0, NULL },
	{ "sw blanks around the header", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, " " SW_TS_S "\t", "  v1," SW_SIG " "), SW_BODY, 0,
	    SW_TS, 0, SIG_OK, NULL, NULL, 0, 0, NULL },

	/* Standard Webhooks: signature lists. */
	{ "sw several, one matches", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S,
	    "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v1," SW_SIG
	    " v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFym"
	    "VJaA7AZdpXwVLPo3mNl8EM+m7TBAg=="), SW_BODY, 0, SW_TS, 0,
	    SIG_OK, NULL, NULL, 0, 0, NULL },
	{ "sw malformed entry before valid", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S, "invalid_signature v1," SW_SIG), SW_BODY,
	    0, SW_TS, 0, SIG_OK, NULL, NULL, 0, 0, NULL },
	{ "sw double space separator", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S,
	    "v1,R3PTzyfHASBKHH98a7yexTwaJ4yNIcGhFQc1yuN+BPU=  v1," SW_SIG),
	    SW_BODY, 0, SW_TS, 0, SIG_OK, NULL, NULL, 0, 0, NULL },
	{ "sw three non-matching", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S,
	    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA= "
	    "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= "
	    "v1,R3PTzyfHASBKHH98a7yexTwaJ4yNIcGhFQc1yuN+BPU="), SW_BODY, 0,
	    SW_TS, 0, SIG_MISMATCH, "no matching signature", NULL, 0, 0,
	    NULL },

	/* Standard Webhooks: wrong signature values. */
	{ "sw last char differs", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S,
	    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="), SW_BODY, 0,
	    SW_TS, 0, SIG_MISMATCH, "no matching signature", NULL, 0, 0,
	    NULL },
	{ "sw Ceo5", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S,
	    "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="), SW_BODY, 0,
	    SW_TS, 0, SIG_MISMATCH, NULL, NULL, 0, 0, NULL },
	{ "sw R3PT", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S,
	    "v1,R3PTzyfHASBKHH98a7yexTwaJ4yNIcGhFQc1yuN+BPU="), SW_BODY, 0,
	    SW_TS, 0, SIG_MISMATCH, NULL, NULL, 0, 0, NULL },
	{ "sw short garbage", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S, "v1,dawfeoifkpqwoekfpqoekf"), SW_BODY, 0,
	    SW_TS, 0, SIG_MISMATCH, NULL, NULL, 0, 0, NULL },
	{ "sw long garbage", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S,
	    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLawdd"), SW_BODY, 0,
	    SW_TS, 0, SIG_MISMATCH, NULL, NULL, 0, 0, NULL },
	{ "sw right bytes, version v2", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S, "v2," SW_SIG), SW_BODY, 0, SW_TS, 0,
	    SIG_MISMATCH, NULL, NULL, 0, 0, NULL },
	{ "sw v1a only (not supported)", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S,
	    "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFym"
	    "VJaA7AZdpXwVLPo3mNl8EM+m7TBAg=="), SW_BODY, 0, SW_TS, 0,
	    SIG_MISMATCH, NULL, NULL, 0, 0, NULL },
	{ "sw v1,invalid_signature", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S, "v1,invalid_signature"), SW_BODY, 0,
	    SW_TS, 0, SIG_MISMATCH, NULL, NULL, 0, 0, NULL },
	{ "sw partial signature", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S, "v1,g0hM9"), SW_BODY, 0, SW_TS, 0,
	    SIG_MISMATCH, NULL, NULL, 0, 0, NULL },
	{ "sw url-safe base64", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S,
	    "v1,g0hM9SsE-OTPJTGt_tmIKtSyZlE3uFJELVlNIOLJ1OE="), SW_BODY, 0,
	    SW_TS, 0, SIG_MISMATCH, NULL, NULL, 0, 0, NULL },
	{ "sw unpadded base64", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S,
	    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE"), SW_BODY, 0,
	    SW_TS, 0, SIG_MISMATCH, NULL, NULL, 0, 0, NULL },
	{ "sw signature plus a byte", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S, "v1," SW_SIG "A"), SW_BODY, 0, SW_TS, 0,
	    SIG_MISMATCH, NULL, NULL, 0, 0, NULL },
	{ "sw one body byte changed", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S, "v1," SW_SIG), "{\"test\": 2432232315}", 0,
	    SW_TS, 0, SIG_MISMATCH, NULL, NULL, 0, 0, NULL },
	{ "sw id changed", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS("msg_p5jXN8AQM9LWM0D4loKWxJeK", SW_TS_S, "v1," SW_SIG),
	    SW_BODY, 0, SW_TS, 0, SIG_MISMATCH, NULL, NULL, 0, 0, NULL },
	{ "sw timestamp altered after signing", SCHEME_STANDARD,
	    { SW_SECRET }, SW_HDRS(SW_ID, "1614265331", "v1," SW_SIG),
	    SW_BODY, 0, SW_TS, 0, SIG_MISMATCH, NULL, NULL, 0, 0, NULL },
	{ "sw wrong secret", SCHEME_STANDARD,
	    { "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD" },
	    SW_HDRS(SW_ID, SW_TS_S, "v1," SW_SIG), SW_BODY, 0, SW_TS, 0,
	    SIG_MISMATCH, NULL, NULL, 0, 0, NULL },
	{ "sw rotation, second secret", SCHEME_STANDARD,
	    { "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S, "v1," SW_SIG), SW_BODY, 0, SW_TS, 0,
	    SIG_OK, NULL, NULL, 0, 0, NULL },

	/* Standard Webhooks: malformed and missing. */
	{ "sw no comma", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S, "invalid_signature"), SW_BODY, 0, SW_TS,
	    0, SIG_MALFORMED, "malformed header webhook-signature", NULL, 0,
	    0, NULL },
	{ "sw empty v1", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S, "v1,"), SW_BODY, 0, SW_TS, 0,
	    SIG_MALFORMED, NULL, NULL, 0, 0, NULL },
	{ "sw missing id", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(NULL, SW_TS_S, "v1," SW_SIG), SW_BODY, 0, SW_TS, 0,
	    SIG_MISSING, "missing header webhook-id", NULL, 0, 0, NULL },
	{ "sw missing timestamp", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, NULL, "v1," SW_SIG), SW_BODY, 0, SW_TS, 0,
	    SIG_MISSING, "missing header webhook-timestamp", NULL, 0, 0,
	    NULL },
	{ "sw missing signature", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S, NULL), SW_BODY, 0, SW_TS, 0,
	    SIG_MISSING, "missing header webhook-signature", NULL, 0, 0,
	    NULL },
	{ "sw empty signature", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S, ""), SW_BODY, 0, SW_TS, 0,
	    SIG_MISSING, "missing header webhook-signature", NULL, 0, 0,
	    NULL },
	{ "sw blank signature", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S, "   "), SW_BODY, 0, SW_TS, 0,
	    SIG_MISSING, NULL, NULL, 0, 0, NULL },

	/* Standard Webhooks: timestamps. */
	{ "sw timestamp hello", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, "hello", "v1," SW_SIG), SW_BODY, 0, SW_TS, 0,
	    SIG_MALFORMED, "malformed header webhook-timestamp", NULL, 0, 0,
	    NULL },
	{ "sw float timestamp", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, "1614265330.0", "v1," SW_SIG), SW_BODY, 0, SW_TS,
	    0, SIG_MALFORMED, NULL, NULL, 0, 0, NULL },
	{ "sw negative timestamp", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, "-1", "v1," SW_SIG), SW_BODY, 0, SW_TS, 0,
	    SIG_MALFORMED, NULL, NULL, 0, 0, NULL },
	{ "sw signed timestamp", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, "+1614265330", "v1," SW_SIG), SW_BODY, 0, SW_TS,
	    0, SIG_MALFORMED, NULL, NULL, 0, 0, NULL },
	{ "sw timestamp overflows", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, "99999999999999999999999", "v1," SW_SIG), SW_BODY,
	    0, SW_TS, 0, SIG_MALFORMED, NULL, NULL, 0, 0, NULL },
	{ "sw timestamp in milliseconds", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, "1614265330000", "v1," SW_SIG), SW_BODY, 0, SW_TS,
	    0, SIG_STALE, "stale timestamp", NULL, 0, 0, NULL },
	{ "sw 301 s old", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S, "v1," SW_SIG), SW_BODY, 0, SW_TS + 301,
	    300, SIG_STALE, "stale timestamp", NULL, 0, 0, NULL },
	{ "sw 300 s old", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S, "v1," SW_SIG), SW_BODY, 0, SW_TS + 300,
	    300, SIG_OK, NULL, NULL, 0, 0, NULL },
	{ "sw 301 s ahead", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S, "v1," SW_SIG), SW_BODY, 0, SW_TS - 301,
	    300, SIG_STALE, "stale timestamp", NULL, 0, 0, NULL },
	{ "sw 300 s ahead", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S, "v1," SW_SIG), SW_BODY, 0, SW_TS - 300,
	    300, SIG_OK, NULL, NULL, 0, 0, NULL },
	{ "sw stale beats a bad signature", SCHEME_STANDARD, { SW_SECRET },
	    SW_HDRS(SW_ID, SW_TS_S, "v1,g0hM9"), SW_BODY, 0, SW_TS + 3600,
	    300, SIG_STALE, NULL, NULL, 0, 0, NULL },

	/* Svix header names and their precedence. */
	{ "svix headers", SCHEME_STANDARD, { SW_SECRET },
	    SVIX_HDRS(SW_ID, SW_TS_S, "v1," SW_SIG), SW_BODY, 0, SW_TS, 0,
	    SIG_OK, NULL, NULL, 0, 0, NULL },
	{ "svix bad signature not rescued", SCHEME_STANDARD, { SW_SECRET },
	    { { "svix-id", SW_ID }, { "svix-timestamp", SW_TS_S },
	    { "svix-signature",
	    "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=" },
	    { "webhook-id", SW_ID }, { "webhook-timestamp", SW_TS_S },
	    { "webhook-signature", "v1," SW_SIG } }, SW_BODY, 0, SW_TS, 0,
	    SIG_MISMATCH, NULL, NULL, 0, 0, NULL },
	{ "svix set incomplete", SCHEME_STANDARD, { SW_SECRET },
	    { { "svix-id", SW_ID }, { "webhook-id", SW_ID },
	    { "webhook-timestamp", SW_TS_S },
	    { "webhook-signature", "v1," SW_SIG } }, SW_BODY, 0, SW_TS, 0,
	    SIG_MISSING, "missing header svix-timestamp", NULL, 0, 0, NULL },
	{ "svix stale", SCHEME_STANDARD, { SW_SECRET },
	    SVIX_HDRS(SW_ID, SW_TS_S, "v1," SW_SIG), SW_BODY, 0, SW_TS + 301,
	    0, SIG_STALE, NULL, NULL, 0, 0, NULL },

	/* GitHub: the docs vector and octokit's. */
	{ "gh docs", SCHEME_GITHUB, { GH_SECRET }, GH_HDR("sha256=" GH_HEX),
	    GH_BODY, 0, SW_TS, 0, SIG_OK, "ok", NULL, 0, 0, NULL },
	{ "gh no timestamp, any clock", SCHEME_GITHUB, { GH_SECRET },
	    GH_HDR("sha256=" GH_HEX), GH_BODY, 0, 0, 0, SIG_OK, NULL, NULL,
	    0, 0, NULL },
	{ "gh octokit compact", SCHEME_GITHUB, { "mysecret" },
	    GH_HDR("sha256=4864d2759938a15468b5df9ade20bf161da9b4f737ea61794"
	    "142f3484236bda3"), "{\"foo\":\"bar\"}", 0, 0, 0, SIG_OK, NULL,
	    NULL, 0, 0, NULL },
	{ "gh octokit pretty", SCHEME_GITHUB, { "mysecret" },
	    GH_HDR("sha256=e3eccac34c43c7dc1cbb905488b1b81347fcc700a7b025697"
	    "a9d07862256023f"), "{\n  \"foo\": \"bar\"\n}\n", 0, 0, 0, SIG_OK,
	    NULL, NULL, 0, 0, NULL },
	{ "gh octokit escaped u001b", SCHEME_GITHUB, { "development" },
	    GH_HDR("sha256=87316067e2011fae39998b18c46a14d83b3e7c3ffdd88fb2e"
	    "e5afb7d11288e60"), "{\n  \"foo\": \"\\\\u001b\"\n}\n", 0, 0, 0,
	    SIG_OK, NULL, NULL, 0, 0, NULL },
	{ "gh rotation", SCHEME_GITHUB, { "mysecret", GH_SECRET },
	    GH_HDR("sha256=" GH_HEX), GH_BODY, 0, 0, 0, SIG_OK, NULL, NULL,
	    0, 0, NULL },
	{ "gh wrong secret", SCHEME_GITHUB, { "mysecret" },
	    GH_HDR("sha256=" GH_HEX), GH_BODY, 0, 0, 0, SIG_MISMATCH,
	    "no matching signature", NULL, 0, 0, NULL },
	{ "gh one body byte changed", SCHEME_GITHUB, { GH_SECRET },
	    GH_HDR("sha256=" GH_HEX), "Hello, World?", 0, 0, 0, SIG_MISMATCH,
	    NULL, NULL, 0, 0, NULL },
	{ "gh uppercase hex", SCHEME_GITHUB, { GH_SECRET },
	    GH_HDR("sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C4"
	    "6F4379C8B043E17"), GH_BODY, 0, 0, 0, SIG_MALFORMED,
	    "malformed header X-Hub-Signature-256", NULL, 0, 0, NULL },
	{ "gh 63 digits", SCHEME_GITHUB, { GH_SECRET },
	    GH_HDR("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c4"
	    "6f4379c8b043e1"), GH_BODY, 0, 0, 0, SIG_MALFORMED, NULL, NULL, 0,
	    0, NULL },
	{ "gh 65 digits", SCHEME_GITHUB, { GH_SECRET },
	    GH_HDR("sha256=" GH_HEX "0"), GH_BODY, 0, 0, 0, SIG_MALFORMED,
	    NULL, NULL, 0, 0, NULL },
	{ "gh sha258=", SCHEME_GITHUB, { GH_SECRET },
	    GH_HDR("sha258=" GH_HEX), GH_BODY, 0, 0, 0, SIG_MALFORMED, NULL,
	    NULL, 0, 0, NULL },
	{ "gh missing prefix", SCHEME_GITHUB, { GH_SECRET }, GH_HDR(GH_HEX),
	    GH_BODY, 0, 0, 0, SIG_MALFORMED, NULL, NULL, 0, 0, NULL },
	{ "gh prefix only", SCHEME_GITHUB, { GH_SECRET }, GH_HDR("sha256="),
	    GH_BODY, 0, 0, 0, SIG_MALFORMED, NULL, NULL, 0, 0, NULL },
	{ "gh non-hex digit", SCHEME_GITHUB, { GH_SECRET },
	    GH_HDR("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c4"
	    "6f4379c8b043e1g"), GH_BODY, 0, 0, 0, SIG_MALFORMED, NULL, NULL,
	    0, 0, NULL },
	{ "gh legacy sha1 value", SCHEME_GITHUB, { GH_SECRET },
	    GH_HDR("sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59"), GH_BODY,
	    0, 0, 0, SIG_MALFORMED, NULL, NULL, 0, 0, NULL },
	{ "gh empty value", SCHEME_GITHUB, { GH_SECRET }, GH_HDR(""),
	    GH_BODY, 0, 0, 0, SIG_MISSING,
	    "missing header X-Hub-Signature-256", NULL, 0, 0, NULL },
	{ "gh only the legacy header", SCHEME_GITHUB, { GH_SECRET },
	    { { "X-Hub-Signature",
	    "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59" } }, GH_BODY, 0,
	    0, 0, SIG_MISSING, NULL, NULL, 0, 0, NULL },

	/* Stripe, derived. */
	{ "stripe", SCHEME_STRIPE, { ST_SECRET },
	    ST_HDR("t=" ST_TS_S ",v1=" ST_HEX), ST_BODY, 0, ST_TS, 0, SIG_OK,
	    "ok", NULL, 0, 0, NULL },
	{ "stripe v0 and unknown keys ignored", SCHEME_STRIPE, { ST_SECRET },
	    ST_HDR("t=" ST_TS_S ",v1=" ST_HEX ",v0=6ffbb59b2300aae63f27240606"
	    "9a9788598b792a944a07aba816edb039989a39,foo=bar,novalue"), ST_BODY,
	    0, ST_TS, 0, SIG_OK, NULL, NULL, 0, 0, NULL },
	{ "stripe several v1, one matches", SCHEME_STRIPE, { ST_SECRET },
	    ST_HDR("t=" ST_TS_S ",v1=" ST_HEX_STRIPPED ",v1=" ST_HEX),
	    ST_BODY, 0, ST_TS, 0, SIG_OK, NULL, NULL, 0, 0, NULL },
	{ "stripe sender stripped whsec_", SCHEME_STRIPE, { ST_SECRET },
	    ST_HDR("t=" ST_TS_S ",v1=" ST_HEX_STRIPPED), ST_BODY, 0, ST_TS, 0,
	    SIG_MISMATCH, "no matching signature", NULL, 0, 0, NULL },
	{ "stripe only a v0 matches", SCHEME_STRIPE, { ST_SECRET },
	    ST_HDR("t=" ST_TS_S ",v1=" ST_HEX_STRIPPED ",v0=" ST_HEX), ST_BODY,
	    0, ST_TS, 0, SIG_MISMATCH, NULL, NULL, 0, 0, NULL },
	{ "stripe receivedAt 15 s, tolerance 10", SCHEME_STRIPE,
	    { ST_SECRET }, ST_HDR("t=19985,v1=934adb23c2f58f64deab2c89db028b0a"
	    "f45bad688e46d3e88bd2d21cbb83ab21"), ST_BODY, 0, 20000, 10,
	    SIG_STALE, "stale timestamp", NULL, 0, 0, NULL },
	{ "stripe receivedAt 9 s, tolerance 10", SCHEME_STRIPE,
	    { ST_SECRET }, ST_HDR("t=19991,v1=005ec3d9ed97031e44c771ed3a6fdd7e"
	    "6e5a2ebe43d1c23e407cb00074ff60aa"), ST_BODY, 0, 20000, 10,
	    SIG_OK, NULL, NULL, 0, 0, NULL },
	{ "stripe 301 s old", SCHEME_STRIPE, { ST_SECRET },
	    ST_HDR("t=" ST_TS_S ",v1=" ST_HEX), ST_BODY, 0, ST_TS + 301, 300,
	    SIG_STALE, NULL, NULL, 0, 0, NULL },
	{ "stripe 300 s old", SCHEME_STRIPE, { ST_SECRET },
	    ST_HDR("t=" ST_TS_S ",v1=" ST_HEX), ST_BODY, 0, ST_TS + 300, 300,
	    SIG_OK, NULL, NULL, 0, 0, NULL },
	/* Stricter than Stripe's libraries: the future side counts too. */
	{ "stripe 301 s ahead", SCHEME_STRIPE, { ST_SECRET },
	    ST_HDR("t=" ST_TS_S ",v1=" ST_HEX), ST_BODY, 0, ST_TS - 301, 300,
	    SIG_STALE, NULL, NULL, 0, 0, NULL },
	{ "stripe 300 s ahead", SCHEME_STRIPE, { ST_SECRET },
	    ST_HDR("t=" ST_TS_S ",v1=" ST_HEX), ST_BODY, 0, ST_TS - 300, 300,
	    SIG_OK, NULL, NULL, 0, 0, NULL },
	{ "stripe rotation", SCHEME_STRIPE, { "whsec_other", ST_SECRET },
	    ST_HDR("t=" ST_TS_S ",v1=" ST_HEX), ST_BODY, 0, ST_TS, 0, SIG_OK,
	    NULL, NULL, 0, 0, NULL },
	{ "stripe wrong secret", SCHEME_STRIPE, { "whsec_other" },
	    ST_HDR("t=" ST_TS_S ",v1=" ST_HEX), ST_BODY, 0, ST_TS, 0,
	    SIG_MISMATCH, NULL, NULL, 0, 0, NULL },
	{ "stripe one body byte changed", SCHEME_STRIPE, { ST_SECRET },
	    ST_HDR("t=" ST_TS_S ",v1=" ST_HEX),
	    "{\n  \"id\": \"evt_test_webhook\",\n  \"object\": \"event\"}\n",
	    0, ST_TS, 0, SIG_MISMATCH, NULL, NULL, 0, 0, NULL },
	{ "stripe uppercase hex", SCHEME_STRIPE, { ST_SECRET },
	    ST_HDR("t=" ST_TS_S ",v1=C2F890DECBC5EDE7C5060BB9A6D31E0626A4342B"
	    "ACB9AEAE2ADB1BCEA72F9812"), ST_BODY, 0, ST_TS, 0, SIG_MISMATCH,
	    NULL, NULL, 0, 0, NULL },
	{ "stripe partial v1", SCHEME_STRIPE, { ST_SECRET },
	    ST_HDR("t=" ST_TS_S ",v1=c2f890de"), ST_BODY, 0, ST_TS, 0,
	    SIG_MISMATCH, NULL, NULL, 0, 0, NULL },
	{ "stripe missing t", SCHEME_STRIPE, { ST_SECRET },
	    ST_HDR("v1=" ST_HEX), ST_BODY, 0, ST_TS, 0, SIG_MALFORMED,
	    "malformed header Stripe-Signature", NULL, 0, 0, NULL },
	{ "stripe no v1", SCHEME_STRIPE, { ST_SECRET },
	    ST_HDR("t=" ST_TS_S ",v0=" ST_HEX), ST_BODY, 0, ST_TS, 0,
	    SIG_MALFORMED, NULL, NULL, 0, 0, NULL },
	{ "stripe empty v1", SCHEME_STRIPE, { ST_SECRET },
	    ST_HDR("t=" ST_TS_S ",v1="), ST_BODY, 0, ST_TS, 0, SIG_MALFORMED,
	    NULL, NULL, 0, 0, NULL },
	{ "stripe duplicate t", SCHEME_STRIPE, { ST_SECRET },
	    ST_HDR("t=" ST_TS_S ",t=" ST_TS_S ",v1=" ST_HEX), ST_BODY, 0,
	    ST_TS, 0, SIG_MALFORMED, NULL, NULL, 0, 0, NULL },
	{ "stripe space after comma", SCHEME_STRIPE, { ST_SECRET },
	    ST_HDR("t=" ST_TS_S ", v1=" ST_HEX), ST_BODY, 0, ST_TS, 0,
	    SIG_MALFORMED, NULL, NULL, 0, 0, NULL },
	{ "stripe t not a number", SCHEME_STRIPE, { ST_SECRET },
	    ST_HDR("t=abc,v1=" ST_HEX), ST_BODY, 0, ST_TS, 0, SIG_MALFORMED,
	    NULL, NULL, 0, 0, NULL },
	{ "stripe float t", SCHEME_STRIPE, { ST_SECRET },
	    ST_HDR("t=" ST_TS_S ".0,v1=" ST_HEX), ST_BODY, 0, ST_TS, 0,
	    SIG_MALFORMED, NULL, NULL, 0, 0, NULL },
	{ "stripe garbage", SCHEME_STRIPE, { ST_SECRET }, ST_HDR("garbage"),
	    ST_BODY, 0, ST_TS, 0, SIG_MALFORMED, NULL, NULL, 0, 0, NULL },
	{ "stripe empty header", SCHEME_STRIPE, { ST_SECRET }, ST_HDR(""),
	    ST_BODY, 0, ST_TS, 0, SIG_MISSING,
	    "missing header Stripe-Signature", NULL, 0, 0, NULL },

	/* Slack, derived. */
	{ "slack", SCHEME_SLACK, { SL_SECRET },
	    SL_HDRS(SL_TS_S, "v0=" SL_HEX), SL_BODY, 0, SL_TS, 0, SIG_OK,
	    "ok", NULL, 0, 0, NULL },
	{ "slack body with ------ appended", SCHEME_SLACK, { SL_SECRET },
	    SL_HDRS(SL_TS_S, "v0=" SL_HEX), SL_BODY "------", 0, SL_TS, 0,
	    SIG_MISMATCH, "no matching signature", NULL, 0, 0, NULL },
	{ "slack real clock", SCHEME_SLACK, { SL_SECRET },
	    SL_HDRS(SL_TS_S, "v0=" SL_HEX), SL_BODY, 0, 1700000000, 0,
	    SIG_STALE, "stale timestamp", NULL, 0, 0, NULL },
	{ "slack 301 s old", SCHEME_SLACK, { SL_SECRET },
	    SL_HDRS(SL_TS_S, "v0=" SL_HEX), SL_BODY, 0, SL_TS + 301, 300,
	    SIG_STALE, NULL, NULL, 0, 0, NULL },
	{ "slack 300 s old", SCHEME_SLACK, { SL_SECRET },
	    SL_HDRS(SL_TS_S, "v0=" SL_HEX), SL_BODY, 0, SL_TS + 300, 300,
	    SIG_OK, NULL, NULL, 0, 0, NULL },
	{ "slack 301 s ahead", SCHEME_SLACK, { SL_SECRET },
	    SL_HDRS(SL_TS_S, "v0=" SL_HEX), SL_BODY, 0, SL_TS - 301, 300,
	    SIG_STALE, NULL, NULL, 0, 0, NULL },
	{ "slack 300 s ahead", SCHEME_SLACK, { SL_SECRET },
	    SL_HDRS(SL_TS_S, "v0=" SL_HEX), SL_BODY, 0, SL_TS - 300, 300,
	    SIG_OK, NULL, NULL, 0, 0, NULL },
	{ "slack rotation", SCHEME_SLACK, { "old-secret", SL_SECRET },
	    SL_HDRS(SL_TS_S, "v0=" SL_HEX), SL_BODY, 0, SL_TS, 0, SIG_OK,
	    NULL, NULL, 0, 0, NULL },
	{ "slack wrong secret", SCHEME_SLACK, { "old-secret" },
	    SL_HDRS(SL_TS_S, "v0=" SL_HEX), SL_BODY, 0, SL_TS, 0,
	    SIG_MISMATCH, NULL, NULL, 0, 0, NULL },
	{ "slack missing timestamp", SCHEME_SLACK, { SL_SECRET },
	    SL_HDRS(NULL, "v0=" SL_HEX), SL_BODY, 0, SL_TS, 0, SIG_MISSING,
	    "missing header X-Slack-Request-Timestamp", NULL, 0, 0, NULL },
	{ "slack missing signature", SCHEME_SLACK, { SL_SECRET },
	    SL_HDRS(SL_TS_S, NULL), SL_BODY, 0, SL_TS, 0, SIG_MISSING,
	    "missing header X-Slack-Signature", NULL, 0, 0, NULL },
	{ "slack uppercase hex", SCHEME_SLACK, { SL_SECRET },
	    SL_HDRS(SL_TS_S, "v0=C05EF5972BD95B2DAD23C099A7F201438DEC5C7676F"
	    "BC5A68D469448F1104DC5"), SL_BODY, 0, SL_TS, 0, SIG_MALFORMED,
	    "malformed header X-Slack-Signature", NULL, 0, 0, NULL },
	{ "slack other version", SCHEME_SLACK, { SL_SECRET },
	    SL_HDRS(SL_TS_S, "v1=" SL_HEX), SL_BODY, 0, SL_TS, 0,
	    SIG_MALFORMED, NULL, NULL, 0, 0, NULL },
	{ "slack missing prefix", SCHEME_SLACK, { SL_SECRET },
	    SL_HDRS(SL_TS_S, SL_HEX), SL_BODY, 0, SL_TS, 0, SIG_MALFORMED,
	    NULL, NULL, 0, 0, NULL },
	{ "slack partial signature", SCHEME_SLACK, { SL_SECRET },
	    SL_HDRS(SL_TS_S, "v0=c05ef597"), SL_BODY, 0, SL_TS, 0,
	    SIG_MALFORMED, NULL, NULL, 0, 0, NULL },
	{ "slack float timestamp", SCHEME_SLACK, { SL_SECRET },
	    SL_HDRS(SL_TS_S ".5", "v0=" SL_HEX), SL_BODY, 0, SL_TS, 0,
	    SIG_MALFORMED, "malformed header X-Slack-Request-Timestamp", NULL,
	    0, 0, NULL },

	/* The generic scheme: Shopify's official vector. */
	{ "shopify", SHOPIFY, .secrets = { SH_SECRET }, .body = SH_BODY,
	    .headers = SH_HDR(SH_B64), .want = SIG_OK, .reason = "ok" },
	{ "shopify, header in other case", SHOPIFY, .secrets = { SH_SECRET },
	    .body = SH_BODY,
	    .headers = { { "X-Shopify-Hmac-SHA256", SH_B64 } },
	    .want = SIG_OK },
	{ "shopify fake", SHOPIFY, .secrets = { SH_SECRET }, .body = SH_BODY,
	    .headers = SH_HDR("fake"), .want = SIG_MALFORMED,
	    .reason = "malformed signature header" },
	{ "shopify empty", SHOPIFY, .secrets = { SH_SECRET }, .body = SH_BODY,
	    .headers = SH_HDR(""), .want = SIG_MISSING,
	    .reason = "missing signature header" },
	{ "shopify unpadded base64", SHOPIFY, .secrets = { SH_SECRET },
	    .body = SH_BODY,
	    .headers = SH_HDR("B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g"),
	    .want = SIG_MALFORMED },
	{ "shopify last char differs", SHOPIFY, .secrets = { SH_SECRET },
	    .body = SH_BODY,
	    .headers = SH_HDR("B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7h="),
	    .want = SIG_MISMATCH, .reason = "no matching signature" },
	{ "shopify body changed", SHOPIFY, .secrets = { SH_SECRET },
	    .body = "{\"foo\": \"baz\"}", .headers = SH_HDR(SH_B64),
	    .want = SIG_MISMATCH },
	{ "shopify rotation", SHOPIFY,
	    .secrets = { "new_secret_key", SH_SECRET }, .body = SH_BODY,
	    .headers = SH_HDR(SH_B64), .want = SIG_OK },

	/* The generic scheme: sha1 and sha512, hex and base64, prefixes. */
	{ "hmac sha1 hex, GitHub legacy header", SCHEME_HMAC, { GH_SECRET },
	    { { "X-Hub-Signature",
	    "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59" } }, GH_BODY, 0,
	    0, 0, SIG_OK, NULL, "X-Hub-Signature", HMAC_SHA1, ENC_HEX,
	    "sha1=" },
	{ "hmac prefix missing", SCHEME_HMAC, { GH_SECRET },
	    { { "X-Hub-Signature",
	    "01dc10d0c83e72ed246219cdd91669667fe2ca59" } },
	    GH_BODY, 0, 0, 0, SIG_MALFORMED, NULL, "X-Hub-Signature",
	    HMAC_SHA1, ENC_HEX, "sha1=" },
	{ "hmac other prefix", SCHEME_HMAC, { GH_SECRET },
	    { { "X-Hub-Signature",
	    "sha2=01dc10d0c83e72ed246219cdd91669667fe2ca59" } }, GH_BODY, 0,
	    0, 0, SIG_MALFORMED, NULL, "X-Hub-Signature", HMAC_SHA1, ENC_HEX,
	    "sha1=" },
	{ "hmac sha1 hex", SCHEME_HMAC, { "sha1-secret" },
	    { { "X-Sig", "3922358e2b9a31eac46ece422c87acbeae4c1fd6" } },
	    PING_BODY, 0, 0, 0, SIG_OK, NULL, "X-Sig", HMAC_SHA1, ENC_HEX,
	    NULL },
	{ "hmac sha1 base64", SCHEME_HMAC, { "sha1-secret" },
	    { { "X-Sig", "OSI1jiuaMerEbs5CLIesvq5MH9Y=" } }, PING_BODY, 0, 0,
	    0, SIG_OK, NULL, "X-Sig", HMAC_SHA1, ENC_BASE64, NULL },
	{ "hmac sha512 hex", SCHEME_HMAC, { "sha512-secret" },
	    { { "X-Sig", SHA512_HEX } }, PING_BODY, 0, 0, 0, SIG_OK, NULL,
	    "X-Sig", HMAC_SHA512, ENC_HEX, NULL },
	{ "hmac sha512 base64", SCHEME_HMAC, { "sha512-secret" },
	    { { "X-Sig", SHA512_B64 } }, PING_BODY, 0, 0, 0, SIG_OK, NULL,
	    "X-Sig", HMAC_SHA512, ENC_BASE64, NULL },
	{ "hmac sha512 wrong secret", SCHEME_HMAC, { "sha1-secret" },
	    { { "X-Sig", SHA512_HEX } }, PING_BODY, 0, 0, 0, SIG_MISMATCH,
	    NULL, "X-Sig", HMAC_SHA512, ENC_HEX, NULL },
	{ "hmac sha512 given a sha1 length", SCHEME_HMAC, { "sha512-secret" },
	    { { "X-Sig", "3922358e2b9a31eac46ece422c87acbeae4c1fd6" } },
	    PING_BODY, 0, 0, 0, SIG_MALFORMED, NULL, "X-Sig", HMAC_SHA512,
	    ENC_HEX, NULL },
	{ "hmac hex where base64 is configured", SCHEME_HMAC,
	    { "sha512-secret" }, { { "X-Sig", SHA512_HEX } }, PING_BODY, 0, 0,
	    0, SIG_MALFORMED, NULL, "X-Sig", HMAC_SHA512, ENC_BASE64, NULL },
	{ "hmac uppercase hex", SCHEME_HMAC, { "sha1-secret" },
	    { { "X-Sig", "3922358E2B9A31EAC46ECE422C87ACBEAE4C1FD6" } },
	    PING_BODY, 0, 0, 0, SIG_MALFORMED, NULL, "X-Sig", HMAC_SHA1,
	    ENC_HEX, NULL },
	{ "hmac missing header", SCHEME_HMAC, { "sha1-secret" },
	    { { "X-Other", "3922358e2b9a31eac46ece422c87acbeae4c1fd6" } },
	    PING_BODY, 0, 0, 0, SIG_MISSING, "missing signature header",
	    "X-Sig", HMAC_SHA1, ENC_HEX, NULL },

	/* No scheme, and unusable configurations. */
	{ "none", SCHEME_NONE, { NULL }, { { NULL, NULL } }, SW_BODY, 0, 0,
	    0, SIG_OK, NULL, NULL, 0, 0, NULL },
	{ "no secret", SCHEME_GITHUB, { NULL }, GH_HDR("sha256=" GH_HEX),
	    GH_BODY, 0, 0, 0, SIG_CONFIG, NULL, NULL, 0, 0, NULL },
	{ "standard secret not base64", SCHEME_STANDARD, { "whsec_a-b_c" },
	    SW_HDRS(SW_ID, SW_TS_S, "v1," SW_SIG), SW_BODY, 0, SW_TS, 0,
	    SIG_CONFIG, NULL, NULL, 0, 0, NULL },
	{ "hmac without a header", SCHEME_HMAC, { "sha1-secret" },
	    { { "X-Sig", "3922358e2b9a31eac46ece422c87acbeae4c1fd6" } },
	    PING_BODY, 0, 0, 0, SIG_CONFIG, NULL, NULL, HMAC_SHA1, ENC_HEX,
	    NULL },
};

/* Adds a header the way the web server passes it: HTTP_NAME, '-' as '_'. */
static void
add_header(struct request *req, const char *name, const char *value)
{
	char var[128];
	size_t i;

	ck_assert_uint_lt(strlen(name) + 6, sizeof(var));
	memcpy(var, "HTTP_", 5);
	for (i = 0; name[i] != '\0'; i++)
		var[5 + i] = isalnum((unsigned char)name[i]) ?
		    (char)toupper((unsigned char)name[i]) : '_';
	var[5 + i] = '\0';
	request_add_param(req, var, value);
}

/* Builds the config a vector describes; it points into the vector. */
static void
vector_config(const struct vector *v, struct sigconfig *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->scheme = v->scheme;
	cfg->secrets = (char **)v->secrets;
	while (cfg->nsecrets < nitems(v->secrets) &&
	    v->secrets[cfg->nsecrets] != NULL)
		cfg->nsecrets++;
	cfg->tolerance = v->tolerance != 0 ? v->tolerance : 300;
	cfg->header = (char *)v->header;
	cfg->algorithm = v->alg;
	cfg->encoding = v->enc;
	cfg->prefix = (char *)v->prefix;
}

/* Fails if the reason text quotes any secret or header value of v. */
static void
assert_reason_clean(const struct vector *v, const char *reason)
{
	size_t i;

	for (i = 0; i < nitems(v->secrets) && v->secrets[i] != NULL; i++)
		ck_assert_msg(strstr(reason, v->secrets[i]) == NULL,
		    "%s: reason quotes a secret", v->name);
	for (i = 0; i < nitems(v->headers) && v->headers[i].name; i++)
		if (v->headers[i].value != NULL &&
		    strlen(v->headers[i].value) >= 4)
			ck_assert_msg(strstr(reason, v->headers[i].value) ==
			    NULL, "%s: reason quotes a header", v->name);
}

START_TEST(test_vector)
{
	const struct vector *v = &vectors[_i];
	struct sigconfig cfg;
	struct request *req = request_new();
	unsigned char *body;
	const char *reason = NULL;
	enum sig_result r;
	size_t i, len;

	vector_config(v, &cfg);
	for (i = 0; i < nitems(v->headers) && v->headers[i].name; i++)
		if (v->headers[i].value != NULL)
			add_header(req, v->headers[i].name,
			    v->headers[i].value);
	if (v->a_count > 0) {
		len = v->a_count;
		body = xmalloc(len);
		memset(body, 'a', len);
	} else {
		len = strlen(v->body);
		body = (unsigned char *)xstrdup(v->body);
	}
	r = signature_verify(&cfg, req, body, len, v->now, &reason);
	ck_assert_msg(r == v->want, "%s: got %s (%s), want %s", v->name,
	    signature_result_str(r), reason != NULL ? reason : "NULL",
	    signature_result_str(v->want));
	ck_assert_ptr_nonnull(reason);
	if (v->reason != NULL)
		ck_assert_msg(strcmp(reason, v->reason) == 0,
		    "%s: reason \"%s\", want \"%s\"", v->name, reason,
		    v->reason);
	assert_reason_clean(v, reason);
	/* A NULL reason pointer is allowed and changes nothing. */
	ck_assert_int_eq(signature_verify(&cfg, req, body, len, v->now, NULL),
	    v->want);
	free(body);
	request_free(req);
}
END_TEST

/* What signature_sign() writes, exactly, for the published vectors. */
struct sign_case {
	const char	*name;
	enum scheme	 scheme;
	const char	*secrets[3];
	const char	*id;
	time_t		 now;
	const char	*body;
	const char	*header;	/* hmac scheme */
	enum hmac_alg	 alg;
	enum hmac_enc	 enc;
	const char	*prefix;
	const char	*want;
};

static const struct sign_case sign_cases[] = {
	{ "standard", SCHEME_STANDARD, { SW_SECRET, "whsec_dGVzdA" }, SW_ID,
	    SW_TS, SW_BODY, NULL, 0, 0, NULL,
	    "webhook-id: " SW_ID "\nwebhook-timestamp: " SW_TS_S "\n"
	    "webhook-signature: v1," SW_SIG "\n" },
	{ "github", SCHEME_GITHUB, { GH_SECRET }, NULL, 0, GH_BODY, NULL, 0,
	    0, NULL, "X-Hub-Signature-256: sha256=" GH_HEX "\n" },
	{ "stripe", SCHEME_STRIPE, { ST_SECRET, "whsec_other" }, NULL, ST_TS,
	    ST_BODY, NULL, 0, 0, NULL,
	    "Stripe-Signature: t=" ST_TS_S ",v1=" ST_HEX "\n" },
	{ "slack", SCHEME_SLACK, { SL_SECRET }, NULL, SL_TS, SL_BODY, NULL,
	    0, 0, NULL, "X-Slack-Request-Timestamp: " SL_TS_S "\n"
	    "X-Slack-Signature: v0=" SL_HEX "\n" },
	{ "shopify", SCHEME_HMAC, { SH_SECRET }, NULL, 0, SH_BODY,
	    "X-Shopify-Hmac-Sha256", HMAC_SHA256, ENC_BASE64, NULL,
	    "X-Shopify-Hmac-Sha256: " SH_B64 "\n" },
	{ "hmac sha1 prefixed", SCHEME_HMAC, { GH_SECRET }, NULL, 0, GH_BODY,
	    "X-Hub-Signature", HMAC_SHA1, ENC_HEX, "sha1=",
	    "X-Hub-Signature: "
	    "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59\n" },
	{ "hmac sha512 base64", SCHEME_HMAC, { "sha512-secret" }, NULL, 0,
	    PING_BODY, "X-Sig", HMAC_SHA512, ENC_BASE64, NULL,
	    "X-Sig: " SHA512_B64 "\n" },
	{ "none", SCHEME_NONE, { NULL }, NULL, 0, SW_BODY, NULL, 0, 0, NULL,
	    "" },
};

/* Builds the config a sign case describes; it points into the case. */
static void
sign_config(const struct sign_case *c, struct sigconfig *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->scheme = c->scheme;
	cfg->secrets = (char **)c->secrets;
	while (cfg->nsecrets < nitems(c->secrets) &&
	    c->secrets[cfg->nsecrets] != NULL)
		cfg->nsecrets++;
	cfg->tolerance = 300;
	cfg->header = (char *)c->header;
	cfg->algorithm = c->alg;
	cfg->encoding = c->enc;
	cfg->prefix = (char *)c->prefix;
}

/* Turns "Name: value\n" lines into request headers. */
static void
add_header_lines(struct request *req, const char *text)
{
	char *copy = xstrdup(text), *line, *next, *colon;

	for (line = copy; *line != '\0'; line = next) {
		next = strchr(line, '\n');
		ck_assert_ptr_nonnull(next);
		*next++ = '\0';
		colon = strstr(line, ": ");
		ck_assert_ptr_nonnull(colon);
		*colon = '\0';
		add_header(req, line, colon + 2);
	}
	free(copy);
}

START_TEST(test_sign_exact)
{
	const struct sign_case *c = &sign_cases[_i];
	struct sigconfig cfg;
	char out[512];

	sign_config(c, &cfg);
	memset(out, 'x', sizeof(out));
	ck_assert_int_eq(signature_sign(&cfg, c->id, c->now,
	    (const unsigned char *)c->body, strlen(c->body), out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, c->want);
}
END_TEST

START_TEST(test_sign_too_small)
{
	const struct sign_case *c = &sign_cases[_i];
	const unsigned char *body = (const unsigned char *)c->body;
	struct sigconfig cfg;
	size_t need = strlen(c->want) + 1, n;
	char out[512];

	sign_config(c, &cfg);
	ck_assert_int_eq(signature_sign(&cfg, c->id, c->now, body,
	    strlen(c->body), out, 0), -1);
	for (n = 1; n < need; n++) {
		memset(out, 'x', sizeof(out));
		ck_assert_int_eq(signature_sign(&cfg, c->id, c->now, body,
		    strlen(c->body), out, n), -1);
		ck_assert_msg(out[0] == '\0', "%s: %zu bytes: output left",
		    c->name, n);
	}
	ck_assert_int_eq(signature_sign(&cfg, c->id, c->now, body,
	    strlen(c->body), out, need), 0);
	ck_assert_str_eq(out, c->want);
}
END_TEST

/*
 * Signs a binary body (every byte value, NULs included, 1 MiB) with each
 * case's config and verifies the result, at the signing time and at the
 * edges of the tolerance; a changed byte must then fail.
 */
START_TEST(test_sign_round_trip)
{
	const struct sign_case *c = &sign_cases[_i];
	const time_t now = 1700000000;
	struct sigconfig cfg;
	struct request *req = request_new();
	unsigned char *body;
	size_t i, len = 1 << 20;
	const char *reason;
	char out[512];

	sign_config(c, &cfg);
	body = xmalloc(len);
	for (i = 0; i < len; i++)
		body[i] = (unsigned char)(i * 7 + 3);
	ck_assert_int_eq(signature_sign(&cfg, "msg_round_trip", now, body,
	    len, out, sizeof(out)), 0);
	add_header_lines(req, out);
	ck_assert_int_eq(signature_verify(&cfg, req, body, len, now, &reason),
	    SIG_OK);
	ck_assert_int_eq(signature_verify(&cfg, req, body, len, now + 300,
	    &reason), SIG_OK);
	ck_assert_int_eq(signature_verify(&cfg, req, body, len, now - 300,
	    &reason), SIG_OK);
	body[len / 2] ^= 1;
	if (c->scheme != SCHEME_NONE)
		ck_assert_int_eq(signature_verify(&cfg, req, body, len, now,
		    &reason), SIG_MISMATCH);
	free(body);
	request_free(req);
}
END_TEST

/* The first secret signs; a receiver holding only the second refuses. */
START_TEST(test_sign_uses_first_secret)
{
	const char *secrets[] = { "first-secret", "second-secret" };
	struct sigconfig cfg = { .scheme = SCHEME_GITHUB, .tolerance = 300 };
	struct request *req = request_new();
	const unsigned char *body = (const unsigned char *)GH_BODY;
	char out[256];

	cfg.secrets = (char **)secrets;
	cfg.nsecrets = 2;
	ck_assert_int_eq(signature_sign(&cfg, NULL, 0, body, strlen(GH_BODY),
	    out, sizeof(out)), 0);
	add_header_lines(req, out);
	ck_assert_int_eq(signature_verify(&cfg, req, body, strlen(GH_BODY), 0,
	    NULL), SIG_OK);
	cfg.secrets = (char **)secrets + 1;
	cfg.nsecrets = 1;
	ck_assert_int_eq(signature_verify(&cfg, req, body, strlen(GH_BODY), 0,
	    NULL), SIG_MISMATCH);
	request_free(req);
}
END_TEST

/* signature_sign() refuses what it cannot sign, leaving out empty. */
START_TEST(test_sign_refuses)
{
	const char *secrets[] = { SW_SECRET };
	const char *bad[] = { "whsec_" };
	struct sigconfig cfg = { .scheme = SCHEME_STANDARD, .tolerance = 300 };
	const unsigned char *body = (const unsigned char *)SW_BODY;
	char out[256];

	/* No secret. */
	ck_assert_int_eq(signature_sign(&cfg, SW_ID, SW_TS, body,
	    strlen(SW_BODY), out, sizeof(out)), -1);
	ck_assert_str_eq(out, "");
	/* No id for the standard scheme. */
	cfg.secrets = (char **)secrets;
	cfg.nsecrets = 1;
	ck_assert_int_eq(signature_sign(&cfg, NULL, SW_TS, body,
	    strlen(SW_BODY), out, sizeof(out)), -1);
	ck_assert_int_eq(signature_sign(&cfg, "", SW_TS, body,
	    strlen(SW_BODY), out, sizeof(out)), -1);
	/* An unusable secret. */
	cfg.secrets = (char **)bad;
	ck_assert_int_eq(signature_sign(&cfg, SW_ID, SW_TS, body,
	    strlen(SW_BODY), out, sizeof(out)), -1);
	/* hmac without a header name. */
	cfg.scheme = SCHEME_HMAC;
	cfg.secrets = (char **)secrets;
	ck_assert_int_eq(signature_sign(&cfg, NULL, SW_TS, body,
	    strlen(SW_BODY), out, sizeof(out)), -1);
	ck_assert_str_eq(out, "");
}
END_TEST

struct secret_case {
	enum scheme	 scheme;
	const char	*secret;
	int		 ok;
};

static const struct secret_case secret_cases[] = {
	{ SCHEME_STANDARD, SW_SECRET, 1 },
	{ SCHEME_STANDARD, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 1 },
	{ SCHEME_STANDARD, "whsec_dGVzdA", 1 },		/* unpadded */
	{ SCHEME_STANDARD, "whsec_dGVzdA==", 1 },
	{ SCHEME_STANDARD, "whsec_dGVzdGU", 1 },	/* 3 chars over */
	{ SCHEME_STANDARD, "whsec_AA", 1 },		/* one byte */
	{ SCHEME_STANDARD, "whsec_dGVzdA=", 0 },	/* wrong padding */
	{ SCHEME_STANDARD, "whsec_dGVzdA===", 0 },
	{ SCHEME_STANDARD, "whsec_dGVz=dA", 0 },	/* '=' inside */
	{ SCHEME_STANDARD, "whsec_dGVzdA=x", 0 },	/* after padding */
	{ SCHEME_STANDARD, "whsec_dGVzdA-_", 0 },
	{ SCHEME_STANDARD, "whsec_A", 0 },		/* a stray char */
	{ SCHEME_STANDARD, "whsec_dGVzd", 0 },
	{ SCHEME_STANDARD, "whsec_", 0 },
	{ SCHEME_STANDARD, "whsec_====", 0 },
	{ SCHEME_STANDARD, "whsec_test_secret", 0 },	/* Stripe's */
	{ SCHEME_STANDARD, "whsec_a-b_", 0 },		/* base64url */
	{ SCHEME_STANDARD, "whsec_dGVz dA==", 0 },
	{ SCHEME_STANDARD, "v1,whsec_dGVzdA==", 0 },
	{ SCHEME_STANDARD, "", 0 },
	{ SCHEME_STANDARD, NULL, 0 },
	{ SCHEME_STRIPE, ST_SECRET, 1 },
	{ SCHEME_STRIPE, "", 0 },
	{ SCHEME_GITHUB, GH_SECRET, 1 },
	{ SCHEME_GITHUB, "", 0 },
	{ SCHEME_SLACK, SL_SECRET, 1 },
	{ SCHEME_SLACK, "", 0 },
	{ SCHEME_HMAC, SH_SECRET, 1 },
	{ SCHEME_HMAC, "", 0 },
	{ SCHEME_NONE, "", 0 },
};

START_TEST(test_check_secret)
{
	const struct secret_case *c = &secret_cases[_i];
	const char *msg = signature_check_secret(c->scheme, c->secret);

	if (c->ok)
		ck_assert_msg(msg == NULL, "\"%s\" refused: %s", c->secret,
		    msg);
	else {
		ck_assert_msg(msg != NULL, "\"%s\" accepted",
		    c->secret != NULL ? c->secret : "(null)");
		/* "whsec_" alone may be named: it is only the prefix. */
		if (c->secret != NULL && strlen(c->secret) > 6)
			ck_assert_ptr_null(strstr(msg, c->secret));
	}
}
END_TEST

START_TEST(test_result_str)
{
	const enum sig_result all[] = { SIG_OK, SIG_MISSING, SIG_MALFORMED,
	    SIG_STALE, SIG_MISMATCH, SIG_CONFIG };
	size_t i, j;

	for (i = 0; i < nitems(all); i++) {
		ck_assert_ptr_nonnull(signature_result_str(all[i]));
		for (j = 0; j < i; j++)
			ck_assert_str_ne(signature_result_str(all[i]),
			    signature_result_str(all[j]));
	}
	ck_assert_str_eq(signature_result_str(SIG_STALE), "stale timestamp");
	ck_assert_str_eq(signature_result_str(SIG_MISMATCH),
	    "no matching signature");
}
END_TEST

/* The largest body SPEC.md promises (32 MiB) signs and verifies. */
START_TEST(test_large_body)
{
	const char *secrets[] = { SW_SECRET };
	struct sigconfig cfg = { .scheme = SCHEME_STANDARD, .tolerance = 300 };
	struct request *req = request_new();
	size_t len = 32u << 20;
	unsigned char *body = xmalloc(len);
	char out[256];

	cfg.secrets = (char **)secrets;
	cfg.nsecrets = 1;
	memset(body, 'a', len);
	ck_assert_int_eq(signature_sign(&cfg, SW_ID, SW_TS, body, len, out,
	    sizeof(out)), 0);
	add_header_lines(req, out);
	ck_assert_int_eq(signature_verify(&cfg, req, body, len, SW_TS, NULL),
	    SIG_OK);
	ck_assert_int_eq(signature_verify(&cfg, req, body, len - 1, SW_TS,
	    NULL), SIG_MISMATCH);
	free(body);
	request_free(req);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("signature");
	TCase *tc = tcase_create("verify");
	TCase *ts = tcase_create("sign");
	TCase *tm = tcase_create("misc");

	tcase_add_loop_test(tc, test_vector, 0, (int)nitems(vectors));
	suite_add_tcase(s, tc);
	tcase_add_loop_test(ts, test_sign_exact, 0, (int)nitems(sign_cases));
	tcase_add_loop_test(ts, test_sign_too_small, 0,
	    (int)nitems(sign_cases));
	tcase_add_loop_test(ts, test_sign_round_trip, 0,
	    (int)nitems(sign_cases));
	tcase_add_test(ts, test_sign_uses_first_secret);
	tcase_add_test(ts, test_sign_refuses);
	suite_add_tcase(s, ts);
	tcase_add_loop_test(tm, test_check_secret, 0,
	    (int)nitems(secret_cases));
	tcase_add_test(tm, test_result_str);
	tcase_add_test(tm, test_large_body);
	tcase_set_timeout(tm, 30);
	suite_add_tcase(s, tm);
	return run_suite(s);
}
