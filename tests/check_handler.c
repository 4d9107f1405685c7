/*
 * check_handler.c -- the handler's setups and the one store they share,
 * across config reloads, with a real store in a temporary folder.
 */
#include "../src/handler.c"
#include "testutil.h"

/* Writes the config, as a reload will find it at the next request. */
static void
write_config(struct handler *h, const char *path, const char *dir,
    const char *durability)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fprintf(f, "[hookgate]\nstate_dir = %s/state\ndurability = %s\n"
	    "[signature]\nscheme = none\n", dir, durability);
	ck_assert_int_eq(fclose(f), 0);
	if (h != NULL) {	/* however coarse the file system's mtime */
		h->mtime.tv_sec = h->mtime.tv_nsec = 0;
		h->checked_ms = 0;
	}
}

static char *
config_path(const char *dir)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/hookgate.conf", dir);
	return path;
}

/*
 * A reload before any request opened the store leaves two setups without
 * one: the replaced one, still held by a request, and the new one. The
 * first to open it shares it with the other (a second handle of the
 * environment in one process is refused).
 */
START_TEST(reload_before_open_shares_store)
{
	char *dir = make_tmpdir();
	struct handler h;
	struct setup *old, *cur;
	struct store *a, *b;

	write_config(NULL, config_path(dir), dir, "fsync");
	handler_init(&h, config_path(dir));
	old = setup_acquire(&h);
	ck_assert_ptr_nonnull(old);
	write_config(&h, config_path(dir), dir, "fsync");
	cur = setup_acquire(&h);
	ck_assert_ptr_ne(cur, old);		/* reloaded */
	ck_assert_ptr_nonnull(a = setup_store(&h, old));
	ck_assert_ptr_nonnull(b = setup_store(&h, cur));
	ck_assert_ptr_eq(a, b);
	setup_release(&h, old);
	setup_release(&h, cur);
	handler_cleanup(&h);
	rm_rf(dir);
	free(dir);
}
END_TEST

/*
 * A reload that changes the store's settings: the new setup's store
 * cannot open while a request of the old one holds the old store, and
 * opens once that request is done (the handler keeps no hold on it).
 */
START_TEST(reload_new_settings_waits_for_old_store)
{
	char *dir = make_tmpdir();
	struct handler h;
	struct setup *old, *cur;
	struct store *a;

	write_config(NULL, config_path(dir), dir, "fsync");
	handler_init(&h, config_path(dir));
	old = setup_acquire(&h);
	ck_assert_ptr_nonnull(a = setup_store(&h, old));
	write_config(&h, config_path(dir), dir, "write");
	cur = setup_acquire(&h);
	ck_assert_ptr_ne(cur, old);
	ck_assert_ptr_null(setup_store(&h, cur));
	setup_release(&h, old);
	ck_assert_ptr_nonnull(setup_store(&h, cur));
	ck_assert_int_eq(h.store_opt.durability, DURABILITY_WRITE);
	setup_release(&h, cur);
	handler_cleanup(&h);
	rm_rf(dir);
	free(dir);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("handler");
	TCase *tc = tcase_create("setups");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, reload_before_open_shares_store);
	tcase_add_test(tc, reload_new_settings_waits_for_old_store);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
