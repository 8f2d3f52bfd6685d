/* SPDX-License-Identifier: MIT */
/* A remote_write receiver for the unit tests of the queue and the sender:
 * HTTP/1.1 on loopback, in a thread of the test. It decodes the real wire
 * format (snappy block + protobuf-c), checks the protocol headers, records
 * what it got and answers per a script, optionally after a delay (each
 * connection on its own timer, so N shards see N requests served at once). */
#ifndef BPFPUSH_TEST_RECEIVER_H
#define BPFPUSH_TEST_RECEIVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "remote.pb-c.h"

#include "lib/buf.h"

#define MAX_CONNS 16
#define MAX_SCRIPT 16
#define MAX_RECORDS 4096
#define MAX_ACCEPTED (1 << 16)

struct reply {
	int status;
	const char *retry_after; /* header value, or NULL */
	size_t body_len;         /* body: "error: " then 'z's up to body_len */
	const char *headers;     /* more header lines, each ending in CRLF, or NULL */
};

struct got_sample {
	int series;
	int64_t ts;
	double value;
	unsigned req;          /* index of the request that brought it */
};

struct conn {
	int fd;
	struct buf in;
	bool waiting;          /* a reply is due at due_ms */
	int64_t due_ms;
	struct reply rep;
	Prometheus__WriteRequest *req; /* recorded when the reply goes out */
	unsigned req_idx;
};

struct receiver {
	int lfd, wake[2];
	uint16_t port;
	pthread_t thread;
	pthread_mutex_t mu;
	struct conn conns[MAX_CONNS];
	/* script, set before the queue starts (or under mu) */
	struct reply script[MAX_SCRIPT];
	size_t n_script;
	int64_t fail_until_ms; /* answer fail_status until then */
	int fail_status;
	bool hang;             /* read requests, never answer */
	int delay_ms;          /* answer this long after the request (under mu) */
	/* what happened, under mu */
	unsigned accepts, closes, requests, header_errors, decode_errors;
	unsigned v2_requests;  /* with Remote Write 2.0's headers (a 1.0
				* decoder reads such a body as empty) */
	bool v2[MAX_RECORDS];  /* per request */
	unsigned metadata;     /* MetricMetadata entries in 2xx requests */
	int64_t request_ms[MAX_RECORDS];
	int status[MAX_RECORDS];
	size_t batch_len[MAX_RECORDS];
	struct got_sample accepted[MAX_ACCEPTED];
	size_t n_accepted;
	char authorization[256], org_id[256];
	bool saw_expect;
};

void sleep_ms(int ms);

/* A receiver listening on 127.0.0.1 (r->port); set its script, then start
 * its thread. receiver_free stops it. */
struct receiver *receiver_new(void);
void receiver_start(struct receiver *r);
void receiver_free(struct receiver *r);
/* A port nothing listens on: connections are refused. */
uint16_t dead_port(void);

/* Reads of what happened, under r->mu; the waits poll until timeout_ms. */
unsigned rget(struct receiver *r, const unsigned *field);
size_t accepted_count(struct receiver *r);
bool wait_accepted(struct receiver *r, size_t n, int timeout_ms);
bool wait_requests(struct receiver *r, unsigned n, int timeout_ms);

/* Changes of script while the receiver runs. */
void rx_set_delay(struct receiver *r, int ms);
void rx_fail_from_now(struct receiver *r, int status);

#endif
