/* SPDX-License-Identifier: MIT */
/* tls_files: a file replaced (renamed over), rewritten in place, removed
 * or created is a change, seen once; an untouched set is not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "queue/tls_files.h"

struct fixture {
	char dir[64], ca[96], cert[96], key[96], tmp[96];
	struct tls_config tls;
};

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_tls_files.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->ca, sizeof(f->ca), "%s/ca.pem", f->dir);
	snprintf(f->cert, sizeof(f->cert), "%s/cert.pem", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/key.pem", f->dir);
	snprintf(f->tmp, sizeof(f->tmp), "%s/new", f->dir);
	put(f->ca, "ca 1\n");
	put(f->cert, "cert 1\n");
	put(f->key, "key 1\n");
	f->tls.ca_file = f->ca;
	f->tls.cert_file = f->cert;
	f->tls.key_file = f->key;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->ca);
	unlink(f->cert);
	unlink(f->key);
	unlink(f->tmp);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void test_untouched_is_no_change(void **state)
{
	struct fixture *f = *state;
	struct tls_files w;

	tls_files_init(&w, &f->tls);
	assert_false(tls_files_changed(&w, &f->tls));
	assert_false(tls_files_changed(&w, &f->tls));
}

static void test_renamed_over_is_a_change_seen_once(void **state)
{
	struct fixture *f = *state;
	struct tls_files w;

	tls_files_init(&w, &f->tls);
	put(f->tmp, "cert 2\n"); /* same size: the inode tells */
	assert_int_equal(rename(f->tmp, f->cert), 0);
	assert_true(tls_files_changed(&w, &f->tls));
	assert_false(tls_files_changed(&w, &f->tls));
}

static void test_rewritten_in_place_is_a_change(void **state)
{
	struct fixture *f = *state;
	struct tls_files w;

	tls_files_init(&w, &f->tls);
	put(f->key, "key 2, longer\n");
	assert_true(tls_files_changed(&w, &f->tls));
	assert_false(tls_files_changed(&w, &f->tls));
}

static void test_removed_and_created_are_changes(void **state)
{
	struct fixture *f = *state;
	struct tls_files w;

	tls_files_init(&w, &f->tls);
	assert_int_equal(unlink(f->ca), 0);
	assert_true(tls_files_changed(&w, &f->tls));
	assert_false(tls_files_changed(&w, &f->tls));
	put(f->ca, "ca 2\n");
	assert_true(tls_files_changed(&w, &f->tls));
}

static void test_no_files_is_no_change(void **state)
{
	struct tls_config none;
	struct tls_files w;

	(void)state;
	memset(&none, 0, sizeof(none));
	tls_files_init(&w, &none);
	assert_false(tls_files_changed(&w, &none));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_untouched_is_no_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_renamed_over_is_a_change_seen_once, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rewritten_in_place_is_a_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_removed_and_created_are_changes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_files_is_no_change, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
