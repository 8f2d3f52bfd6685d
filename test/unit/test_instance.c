/* SPDX-License-Identifier: MIT */
/* instance_lock: one holder per data_dir; the lock ends with its fd. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/instance.h"

static char base[64];

static int make_base(void **state)
{
	(void)state;
	strcpy(base, "/tmp/bpfpush-instance-XXXXXX");
	return mkdtemp(base) ? 0 : -1;
}

static int remove_base(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static void read_file(const char *path, char *out, size_t outsz)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(out, 1, outsz - 1, f);
	out[n] = '\0';
	fclose(f);
}

static void test_second_holder_refused_until_first_lets_go(void **state)
{
	char dir[128], lock[160], text[32], want[32];
	int first, second;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/a/b", base); /* parents created too */
	snprintf(lock, sizeof(lock), "%s/lock", dir);
	first = instance_lock(dir);
	assert_true(first >= 0);
	read_file(lock, text, sizeof(text));
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	assert_string_equal(text, want);
	/* flock conflicts between open file descriptions, even in one process. */
	assert_int_equal(instance_lock(dir), -1);
	instance_unlock(first);
	second = instance_lock(dir);
	assert_true(second >= 0);
	instance_unlock(second);
}

static void test_a_dir_that_cannot_be_made_fails(void **state)
{
	char file[128], dir[160];
	FILE *f;

	(void)state;
	snprintf(file, sizeof(file), "%s/plain-file", base);
	f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	snprintf(dir, sizeof(dir), "%s/sub", file);
	assert_int_equal(instance_lock(dir), -1);
}

/* A read-only data_dir (here a tmpfs remounted read-only): the directory
 * itself is locked, so a second holder is still refused. */
static void test_read_only_dir_locked_all_the_same(void **state)
{
	char dir[128], cmd[512];
	int first;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/ro", base);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s && mount -t tmpfs -o size=64k tmpfs %s && "
		 "mount -o remount,ro %s", dir, dir, dir);
	if (system(cmd) != 0) {
		snprintf(cmd, sizeof(cmd), "umount %s 2>/dev/null", dir);
		(void)system(cmd);
		skip(); /* not root, or no mount namespace rights */
	}
	first = instance_lock(dir);
	assert_true(first >= 0);
	assert_int_equal(instance_lock(dir), -1);
	instance_unlock(first);
	first = instance_lock(dir);
	assert_true(first >= 0);
	instance_unlock(first);
	snprintf(cmd, sizeof(cmd), "umount %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_second_holder_refused_until_first_lets_go),
		cmocka_unit_test(test_read_only_dir_locked_all_the_same),
		cmocka_unit_test(test_a_dir_that_cannot_be_made_fails),
	};

	return cmocka_run_group_tests(tests, make_base, remove_base);
}
