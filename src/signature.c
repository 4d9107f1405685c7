/* signature.c -- placeholder, being written. */
#include "signature.h"
enum sig_result signature_verify(const struct sigconfig *c, const struct request *r, const unsigned char *b, size_t l, time_t n, const char **reason)
{ (void)c; (void)r; (void)b; (void)l; (void)n; if (reason) *reason = "not implemented"; return SIG_CONFIG; }
int signature_sign(const struct sigconfig *c, const char *id, time_t n, const unsigned char *b, size_t l, char *o, size_t ol)
{ (void)c; (void)id; (void)n; (void)b; (void)l; (void)o; (void)ol; return -1; }
const char *signature_check_secret(enum scheme s, const char *x) { (void)s; (void)x; return NULL; }
const char *signature_result_str(enum sig_result r) { (void)r; return "?"; }
