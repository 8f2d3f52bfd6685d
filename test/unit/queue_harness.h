/* SPDX-License-Identifier: MIT */
/* What the queue's and the sender's unit tests share besides the
 * receiver: a fixture (a receiver, a config pointing at it, series), ways
 * to append and to check what arrived, and a capture of the log. */
#ifndef BPFPUSH_TEST_QUEUE_HARNESS_H
#define BPFPUSH_TEST_QUEUE_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "proto/sample.h"
#include "queue/queue.h"
#include "receiver.h"

#define N_SERIES 32
#define MAX_SERIES 128

struct fixture {
	struct receiver *rx;
	char url[128];
	struct remote_write_config cfg;
	struct buf labels[MAX_SERIES];
	struct wire_series series[MAX_SERIES];
	int64_t base_ts;
};

struct capture {
	int saved;
	char path[64];
};

#define RS_SERIES 100

/* The fixture: a receiver (not started) and a config pointing at it. */
int setup(void **state);
int teardown(void **state);

/* Appending, starting and stopping. */
void append_seq(struct fixture *f, struct queue *q, int s, int first, int n);
struct queue *start_queue(struct fixture *f);
void stats_of(struct queue *q, struct queue_stats *st);
uint64_t stop_now(struct queue *q, int ms);

/* Checks of what the queue counted and the receiver got. */
void assert_balanced(const struct queue_stats *st);
void assert_values_in_order(struct receiver *r, size_t from, size_t n, int first);

/* The log (stderr) into a file, and reading it. */
void capture_start(struct capture *c);
char *capture_end(struct capture *c);
int count_lines_with(const char *text, const char *a, const char *b);
bool log_has(const struct capture *c, const char *needle);
void print_reshard_lines(const char *test, const char *log);

/* The resharding tests' load and checks. */
void reshard_config(struct fixture *f, int min, int max);
struct queue *start_reshard_queue(struct fixture *f, int64_t interval_ms);
uint64_t append_round(struct fixture *f, struct queue *q, int round, int n_series, int per);
void pace(int64_t t0, int round);
size_t assert_series_increasing(struct receiver *r);
uint64_t all_dropped(const struct queue_stats *st);
void assert_exact(struct fixture *f, const struct queue_stats *st);

/* The queue tests' main: libcurl's global state around the group, and
 * TEST_FILTER (a cmocka name pattern) to run some of them. */
struct CMUnitTest;
int queue_tests_run(const char *group, const struct CMUnitTest *tests, size_t n);
#define QUEUE_TESTS_RUN(tests) \
	queue_tests_run(__FILE__, tests, sizeof(tests) / sizeof((tests)[0]))

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

#endif
