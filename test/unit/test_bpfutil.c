/* SPDX-License-Identifier: MIT */
/* bpfutil: libbpf's messages into the agent's log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/libbpf.h>

#include "lib/log.h"
#include "bpf/bpfutil.h"
#include "bpf/syscall_names.h"

static int print_through(libbpf_print_fn_t fn, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = fn(LIBBPF_DEBUG, fmt, ap);
	va_end(ap);
	return ret;
}

/* What the agent logged while fn printed text, read back from stderr. */
static char *logged(libbpf_print_fn_t fn, const char *text)
{
	FILE *capture = tmpfile();
	int saved = dup(STDERR_FILENO);
	char *out = calloc(1, 1 << 16);

	assert_non_null(capture);
	assert_non_null(out);
	fflush(stderr);
	dup2(fileno(capture), STDERR_FILENO);
	print_through(fn, "%s", text);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(capture);
	assert_true(fread(out, 1, (1 << 16) - 1, capture) > 0);
	fclose(capture);
	return out;
}

/* A verifier log is one message of kilobytes: the log line holds its
 * start, and nothing is written past the buffer (ASan build). */
static void test_long_libbpf_message_is_cut(void **state)
{
	libbpf_print_fn_t fn;
	char *text = malloc(4001), *line;

	(void)state;
	assert_non_null(text);
	memset(text, 'v', 3999);
	text[3999] = '\n';
	text[4000] = '\0';
	log_set_level(LOG_DEBUG);
	bpf_setup(); /* installs the agent's libbpf print function */
	fn = libbpf_set_print(NULL);
	libbpf_set_print(fn);
	assert_non_null(fn);
	line = logged(fn, text);
	assert_non_null(strstr(line, "msg=libbpf"));
	assert_non_null(strstr(line, "level=2 text="));
	assert_int_equal(strspn(strstr(line, "text=") + 5, "v"), 511);
	free(line);
	line = logged(fn, "short\n\n");
	assert_non_null(strstr(line, "text=short\n"));
	free(line);
	free(text);
	log_set_level(LOG_INFO);
}

/* Names resolve to this architecture's numbers, as libc's SYS_ macros
 * (the kernel's __NR_) give them; unknown names are -1, not 0. */
static void test_syscall_numbers_match_the_kernels(void **state)
{
	(void)state;
	assert_int_equal(syscall_number("read"), SYS_read);
	assert_int_equal(syscall_number("nanosleep"), SYS_nanosleep);
	assert_int_equal(syscall_number("exit_group"), SYS_exit_group);
	assert_int_equal(syscall_number("getpid"), SYS_getpid);
	assert_int_equal(syscall_number("no_such_syscall"), -1);
	assert_int_equal(syscall_number(""), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long_libbpf_message_is_cut),
		cmocka_unit_test(test_syscall_numbers_match_the_kernels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
