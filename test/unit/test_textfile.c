/* SPDX-License-Identifier: MIT */
/* The textfile collector read in pieces: lines that cross a piece's end, a
 * line longer than a piece, a bad line pieces after the first (nothing of
 * that file emitted, the other files kept, client timestamps as if the bad
 * file had never been read), bounds counted over the whole file, and HELP
 * lines that come after their family's samples. Small pieces through
 * textfile_set_piece_bytes. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "collectors/all.h"
#include "collectors/textfile.h"
#include "series/registry.h"

#define ROUND_TS 1700000000000LL

#include "collector_harness.h"

#define PIECE 16

struct tmpdir {
	char dir[64];
	char path[4][128];
};

static void tmp_dir(struct tmpdir *t)
{
	memset(t, 0, sizeof(*t));
	strcpy(t->dir, "/tmp/bpfpush-textfile-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	for (int i = 0; i < 4; i++)
		snprintf(t->path[i], sizeof(t->path[i]), "%s/%c.prom", t->dir, 'a' + i);
}

static void tmp_cleanup(struct tmpdir *t)
{
	for (int i = 0; i < 4; i++)
		unlink(t->path[i]);
	rmdir(t->dir);
}

static int small_pieces(void **state)
{
	(void)state;
	textfile_set_piece_bytes(PIECE);
	return 0;
}

static int default_pieces(void **state)
{
	(void)state;
	textfile_set_piece_bytes(0);
	return 0;
}

/* Every line of a.prom crosses a piece's end somewhere; families, HELP
 * texts, types and labels come out as from one whole read. */
static void lines_cross_piece_boundaries(void **state)
{
	struct textfile_opts opts = {0};
	char help[256];
	struct tmpdir t;
	struct run r;
	(void)state;

	tmp_dir(&t);
	opts.directory = t.dir;
	write_file(t.path[0], "# HELP req_total Requests served.\n# TYPE req_total counter\n"
			      "req_total{code=\"200\",path=\"/a\"} 10\n"
			      "req_total{code=\"500\",path=\"/b\"} 2 1699999999000\n"
			      "# TYPE lat_seconds histogram\n"
			      "lat_seconds_bucket{le=\"0.1\"} 1\nlat_seconds_bucket{le=\"+Inf\"} 3\n"
			      "lat_seconds_sum 0.7\nlat_seconds_count 3\n   \n");
	run_start_fs(&r, &collector_textfile, &opts, NULL, NULL, NULL);
	run_round(&r, ROUND_TS);
	assert_value(&r, "node_textfile_scrape_error{}", 0);
	assert_value(&r, "req_total{code=\"200\",path=\"/a\"}", 10);
	assert_value(&r, "req_total{code=\"500\",path=\"/b\"}", 2);
	assert_int_equal(must_find(&r, "req_total{code=\"500\",path=\"/b\"}")->timestamp_ms,
			 1699999999000LL);
	assert_family(&r, "req_total{code=\"200\",path=\"/a\"}", "req_total", "Requests served.",
		      METRIC_COUNTER);
	assert_value(&r, "lat_seconds_bucket{le=\"+Inf\"}", 3);
	assert_value(&r, "lat_seconds_count{}", 3);
	snprintf(help, sizeof(help), "Metric read from %s", t.path[0]);
	assert_family(&r, "lat_seconds_sum{}", "lat_seconds", help, METRIC_HISTOGRAM);
	assert_int_equal(count_named(&r, "node_textfile_mtime_seconds"), 1);
	run_stop(&r);
	tmp_cleanup(&t);
}

/* A label value of 300 bytes, in pieces of 16: the buffer grows to the
 * line, and the line is read whole. */
static void a_line_longer_than_the_piece(void **state)
{
	struct textfile_opts opts = {0};
	char text[512], want[512], value[301];
	struct tmpdir t;
	struct run r;
	(void)state;

	tmp_dir(&t);
	opts.directory = t.dir;
	memset(value, 'v', 300);
	value[300] = '\0';
	snprintf(text, sizeof(text), "short 1\nlong{v=\"%s\"} 2\nafter 3\n", value);
	write_file(t.path[0], text);
	run_start_fs(&r, &collector_textfile, &opts, NULL, NULL, NULL);
	run_round(&r, ROUND_TS);
	snprintf(want, sizeof(want), "long{v=\"%s\"}", value);
	assert_value(&r, want, 2);
	assert_value(&r, "short{}", 1);
	assert_value(&r, "after{}", 3);
	assert_value(&r, "node_textfile_scrape_error{}", 0);
	run_stop(&r);
	tmp_cleanup(&t);
}

static double find_mtime(const struct run *r, const char *path)
{
	char want[256];

	snprintf(want, sizeof(want), "node_textfile_mtime_seconds{file=\"%s\"}", path);
	return must_find(r, want)->value;
}

static bool is_stale(const struct run *r, const char *series)
{
	return isnan(must_find(r, series)->value);
}

/* b.prom's bad line is pieces after its first samples were emitted:
 * none of b is sent this round (its series of last round get their stale
 * marker, none a new value), a.prom and c.prom are. */
static void a_bad_line_after_a_piece_boundary(void **state)
{
	struct textfile_opts opts = {0};
	struct tmpdir t;
	struct run r;
	(void)state;

	tmp_dir(&t);
	opts.directory = t.dir;
	write_file(t.path[0], "a_metric 1\n");
	write_file(t.path[1], "b_one 1\nb_two{x=\"y\"} 2\n");
	write_file(t.path[2], "c_metric 3\n");
	run_start_fs(&r, &collector_textfile, &opts, NULL, NULL, NULL);
	run_round(&r, ROUND_TS);
	assert_value(&r, "b_two{x=\"y\"}", 2);

	write_file(t.path[1], "b_one 10\nb_two{x=\"y\"} 20\nb_new 30\nb_three 3\nnot valid\n");
	assert_int_equal(run_round_logged(&r, ROUND_TS + 15000, "b.prom:5"), 1);
	assert_value(&r, "node_textfile_scrape_error{}", 1);
	assert_value(&r, "a_metric{}", 1);
	assert_value(&r, "c_metric{}", 3);
	assert_true(is_stale(&r, "b_one{}"));
	assert_true(is_stale(&r, "b_two{x=\"y\"}"));
	assert_absent(&r, "b_new{}");
	assert_absent(&r, "b_three{}");
	assert_int_equal(count_named(&r, "node_textfile_mtime_seconds"), 3);
	assert_true(isnan(find_mtime(&r, t.path[1])));
	run_stop(&r);
	tmp_cleanup(&t);
}

/* A client timestamp read in a file that then turned out bad is as if
 * never read: the next file's sample of that series and time is sent (not
 * refused as a duplicate or as already sent), and once sent it is not sent
 * again. */
static void client_timestamps_of_a_refused_file(void **state)
{
	struct textfile_opts opts = {0};
	struct tmpdir t;
	struct run r;
	(void)state;

	tmp_dir(&t);
	opts.directory = t.dir;
	write_file(t.path[0], "reading 1 1699999000000\n");
	run_start_fs(&r, &collector_textfile, &opts, NULL, NULL, NULL);
	run_round(&r, ROUND_TS);
	assert_value(&r, "reading{}", 1);

	write_file(t.path[0], "reading 2 1699999500000\nbad line\n");
	write_file(t.path[1], "reading 2 1699999500000\n");
	assert_int_equal(run_round_logged(&r, ROUND_TS + 15000, "textfile series dropped"), 0);
	assert_value(&r, "reading{}", 2);
	assert_int_equal(must_find(&r, "reading{}")->timestamp_ms, 1699999500000LL);
	assert_int_equal(count_named(&r, "reading"), 1);

	write_file(t.path[0], "reading 2 1699999500000\n");
	assert_int_equal(run_round_logged(&r, ROUND_TS + 30000, "duplicates=1"), 1);
	assert_absent(&r, "reading{}"); /* sent already */
	run_stop(&r);
	tmp_cleanup(&t);
}

/* max_series_per_file counts the whole file, not a piece. */
static void bounds_count_the_whole_file(void **state)
{
	struct textfile_opts opts = {0};
	struct tmpdir t;
	struct run r;
	(void)state;

	tmp_dir(&t);
	opts = (struct textfile_opts){t.dir, 0, 3, 4};
	write_file(t.path[0], "m_one 1\nm_two 2\nm_three 3\nm_four 4\n");
	write_file(t.path[1], "ok 1\n");
	run_start_fs(&r, &collector_textfile, &opts, NULL, NULL, NULL);
	assert_int_equal(run_round_logged(&r, ROUND_TS,
					  "a.prom:4 err=\"more than 3 series (max_series_per_file)\""),
			 1);
	assert_int_equal(count_named(&r, "m_one") + count_named(&r, "m_three"), 0);
	assert_value(&r, "ok{}", 1);
	run_stop(&r);
	tmp_cleanup(&t);
}

/* A HELP line after samples of its family (and pieces later): the family
 * still gets that HELP, as when the file was parsed whole. */
static void help_after_the_samples(void **state)
{
	struct textfile_opts opts = {0};
	struct tmpdir t;
	struct run r;
	(void)state;

	tmp_dir(&t);
	opts.directory = t.dir;
	write_file(t.path[0], "late{x=\"1\"} 1\nlate{x=\"2\"} 2\nother 3\n"
			      "# HELP late Said after its samples.\n");
	run_start_fs(&r, &collector_textfile, &opts, NULL, NULL, NULL);
	run_round(&r, ROUND_TS);
	assert_value(&r, "late{x=\"2\"}", 2);
	assert_int_equal(count_named(&r, "late"), 2);
	assert_family(&r, "late{x=\"1\"}", "late", "Said after its samples.", METRIC_UNTYPED);
	assert_value(&r, "node_textfile_scrape_error{}", 0);
	run_stop(&r);
	tmp_cleanup(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lines_cross_piece_boundaries),
		cmocka_unit_test(a_line_longer_than_the_piece),
		cmocka_unit_test(a_bad_line_after_a_piece_boundary),
		cmocka_unit_test(client_timestamps_of_a_refused_file),
		cmocka_unit_test(bounds_count_the_whole_file),
		cmocka_unit_test(help_after_the_samples),
	};
	return cmocka_run_group_tests(tests, small_pieces, default_pieces);
}
