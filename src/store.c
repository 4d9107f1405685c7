/* store.c -- placeholder, being written. */
#include <db.h>
#include "store.h"
struct store *store_open(const char *d, const struct store_options *o, char *e, size_t el) { (void)d; (void)o; (void)e; (void)el; return 0; }
void store_close(struct store *s) { (void)s; }
enum store_status store_accept(struct store *s, const struct store_new_event *e) { (void)s; (void)e; return STORE_UNAVAILABLE; }
int store_get(struct store *s, const char *id, size_t il, struct store_event_info *i, unsigned char **b, size_t *l) { (void)s; (void)id; (void)il; (void)i; (void)b; (void)l; return -1; }
int store_count(struct store *s, struct store_counts *c) { (void)s; (void)c; return -1; }
long store_pending(struct store *s) { (void)s; return -1; }
int store_checkpoint(struct store *s) { (void)s; return -1; }
const char *store_state_str(enum event_state s) { (void)s; return "?"; }
