/* SPDX-License-Identifier: MIT */
/* Remote Write 1.0 next to 2.0: bytes per sample on the wire (after
 * snappy) and encoder CPU per sample, for one round of 100,000
 * node_exporter-like series sent in requests of max_samples_per_send
 * (2000, the default) samples each. Each figure is the median of 3 runs.
 *
 *   encode_bench [--series N] [--batch N] [--runs N]
 *   encode_bench --dump-v1 FILE --dump-v2 FILE [--series N]
 *       writes the first request of each protocol, uncompressed, and exits
 *       (for tests that decode them with other generators' code).
 *
 * The workload: hosts of 100 series each (instance="host-NNNN:9100",
 * job="node"): node_cpu_seconds_total for 8 CPUs x 8 modes, network and
 * disk counters per device, filesystem gauges per mount, memory and load
 * gauges; values with a realistic spread of digits; one timestamp per
 * round; every family with its TYPE, HELP and unit, counters with a start
 * time. A second row runs the same series with every value 0: what the
 * labels, metadata and timestamps cost without the values' own bytes,
 * which neither protocol nor snappy can shrink. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/buf.h"
#include "proto/encode.h"
#include "proto/encode_v2.h"
#include "proto/sample.h"

#define SERIES_PER_HOST 100
#define MAX_RUNS 15

static const char *const modes[8] = {"guest", "idle", "iowait", "irq", "nice",
				     "softirq", "steal", "system"};
static const char *const netdevs[4] = {"docker0", "eth0", "eth1", "lo"};
static const char *const disks[3] = {"nvme0n1", "sda", "sdb"};
static const char *const mounts[3][3] = {
	{"/dev/nvme0n1p2", "ext4", "/"}, {"/dev/sda1", "xfs", "/data"}, {"tmpfs", "tmpfs", "/run"}};

static const struct wire_meta fam[] = {
	{"node_cpu_seconds", "Seconds the CPUs spent in each mode.", "seconds", WIRE_TYPE_COUNTER},
	{"node_network_receive_bytes", "Network device statistic receive_bytes.", "bytes",
	 WIRE_TYPE_COUNTER},
	{"node_network_transmit_bytes", "Network device statistic transmit_bytes.", "bytes",
	 WIRE_TYPE_COUNTER},
	{"node_network_receive_packets", "Network device statistic receive_packets.", "",
	 WIRE_TYPE_COUNTER},
	{"node_disk_read_bytes", "The total number of bytes read successfully.", "bytes",
	 WIRE_TYPE_COUNTER},
	{"node_disk_written_bytes", "The total number of bytes written successfully.", "bytes",
	 WIRE_TYPE_COUNTER},
	{"node_disk_io_time_seconds", "Total seconds spent doing I/Os.", "seconds",
	 WIRE_TYPE_COUNTER},
	{"node_filesystem_avail_bytes", "Filesystem space available to non-root users in bytes.",
	 "bytes", WIRE_TYPE_GAUGE},
	{"node_filesystem_size_bytes", "Filesystem size in bytes.", "bytes", WIRE_TYPE_GAUGE},
	{"node_memory_MemAvailable_bytes", "Memory information field MemAvailable_bytes.", "bytes",
	 WIRE_TYPE_GAUGE},
	{"node_memory_MemFree_bytes", "Memory information field MemFree_bytes.", "bytes",
	 WIRE_TYPE_GAUGE},
	{"node_memory_Cached_bytes", "Memory information field Cached_bytes.", "bytes",
	 WIRE_TYPE_GAUGE},
	{"node_memory_SwapFree_bytes", "Memory information field SwapFree_bytes.", "bytes",
	 WIRE_TYPE_GAUGE},
	{"node_load1", "1m load average.", "", WIRE_TYPE_GAUGE},
	{"node_load5", "5m load average.", "", WIRE_TYPE_GAUGE},
	{"node_load15", "15m load average.", "", WIRE_TYPE_GAUGE},
	{"node_context_switches", "Total number of context switches.", "", WIRE_TYPE_COUNTER},
	{"node_intr", "Total number of interrupts serviced.", "", WIRE_TYPE_COUNTER},
};

struct bench {
	struct wire_series *ws;
	struct buf *labels;
	struct sample *s;
	size_t n;
	uint64_t rng;
};

static uint64_t next_rand(struct bench *b)
{
	b->rng ^= b->rng << 13;
	b->rng ^= b->rng >> 7;
	b->rng ^= b->rng << 17;
	return b->rng;
}

static void add_label(struct buf *pb, const char *name, const char *value)
{
	if (encode_label(pb, name, strlen(name), value, strlen(value)) < 0) {
		perror("encode_label");
		exit(1);
	}
}

/* One series of family f; kv: label names and values after __name__,
 * sorted by name, NULL-terminated. */
static void add_series(struct bench *b, size_t f, const char *const *kv, double value,
		       int64_t now_ms)
{
	struct buf *pb = &b->labels[b->n];
	struct wire_series *ws = &b->ws[b->n];
	char name[96];

	snprintf(name, sizeof(name), "%s%s", fam[f].family,
		 fam[f].type == WIRE_TYPE_COUNTER ? "_total" : "");
	add_label(pb, "__name__", name);
	for (size_t i = 0; kv[i]; i += 2)
		add_label(pb, kv[i], kv[i + 1]);
	*ws = (struct wire_series){.labels_pb = pb->data, .labels_len = (uint32_t)pb->len,
				  .meta = &fam[f],
				  .start_ms = fam[f].type == WIRE_TYPE_COUNTER ? now_ms - 86400000 : 0};
	b->s[b->n] = (struct sample){ws, now_ms, {.value = value}};
	b->n++;
}

/* A counter's or gauge's value: an integer, or two decimals (seconds). */
static double value_for(struct bench *b, size_t f)
{
	uint64_t r = next_rand(b);

	if (strstr(fam[f].family, "seconds") || strstr(fam[f].family, "load"))
		return (double)(r % 100000000) / 100.0;
	return (double)(r % 1000000000000ULL);
}

/* kv = the NULL-terminated arguments. */
static void set_kv(const char **kv, ...)
{
	va_list ap;
	size_t i = 0;

	va_start(ap, kv);
	while ((kv[i++] = va_arg(ap, const char *)))
		;
	va_end(ap);
}

static void add_host(struct bench *b, unsigned host, int64_t now_ms)
{
	char inst[32], cpu[8];
	const char *kv[12];
	size_t f, i, m;

	snprintf(inst, sizeof(inst), "host-%04u:9100", host);
	for (i = 0; i < 8; i++)
		for (m = 0; m < 8; m++) {
			snprintf(cpu, sizeof(cpu), "%zu", i);
			set_kv(kv, "cpu", cpu, "instance", inst, "job", "node", "mode", modes[m], NULL);
			add_series(b, 0, kv, value_for(b, 0), now_ms);
		}
	for (f = 1; f <= 3; f++)
		for (i = 0; i < 4; i++) {
			set_kv(kv, "device", netdevs[i], "instance", inst, "job", "node", NULL);
			add_series(b, f, kv, value_for(b, f), now_ms);
		}
	for (f = 4; f <= 6; f++)
		for (i = 0; i < 3; i++) {
			set_kv(kv, "device", disks[i], "instance", inst, "job", "node", NULL);
			add_series(b, f, kv, value_for(b, f), now_ms);
		}
	for (f = 7; f <= 8; f++)
		for (i = 0; i < 3; i++) {
			set_kv(kv, "device", mounts[i][0], "fstype", mounts[i][1], "instance", inst, "job",
			   "node", "mountpoint", mounts[i][2], NULL);
			add_series(b, f, kv, value_for(b, f), now_ms);
		}
	for (f = 9; f < sizeof(fam) / sizeof(fam[0]); f++) {
		set_kv(kv, "instance", inst, "job", "node", NULL);
		add_series(b, f, kv, value_for(b, f), now_ms);
	}
}

static void build(struct bench *b, size_t n)
{
	size_t hosts = (n + SERIES_PER_HOST - 1) / SERIES_PER_HOST;
	int64_t now_ms = 1764800000000;

	b->ws = calloc(hosts * SERIES_PER_HOST, sizeof(*b->ws));
	b->labels = calloc(hosts * SERIES_PER_HOST, sizeof(*b->labels));
	b->s = calloc(hosts * SERIES_PER_HOST, sizeof(*b->s));
	if (!b->ws || !b->labels || !b->s) {
		perror("calloc");
		exit(1);
	}
	b->rng = 0x9e3779b97f4a7c15ULL;
	for (unsigned h = 0; h < hosts; h++)
		add_host(b, h, now_ms);
	b->n = n; /* the last host may be cut short */
}

static void bench_free(struct bench *b, size_t n)
{
	size_t hosts = (n + SERIES_PER_HOST - 1) / SERIES_PER_HOST;

	for (size_t i = 0; i < hosts * SERIES_PER_HOST; i++)
		buf_free(&b->labels[i]);
	free(b->labels);
	free(b->ws);
	free(b->s);
}

struct figures {
	double wire, raw;      /* bytes per sample, after and before snappy */
	double encode, snappy; /* CPU ns per sample */
};

static double cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* One protocol's figures for the whole round; enc NULL: 1.0. */
static void run(const struct bench *b, size_t batch, struct v2_encoder *enc,
		struct buf *raw, struct buf *wire, struct figures *fg)
{
	double raw_bytes = 0, wire_bytes = 0, t_enc = 0, t_snappy = 0, t0, t1;

	for (size_t i = 0; i < b->n; i += batch) {
		size_t k = b->n - i < batch ? b->n - i : batch;
		int rc;

		t0 = cpu_ns();
		rc = enc ? encode_v2_request(enc, b->s + i, k, raw)
			 : encode_write_request(b->s + i, k, raw);
		t1 = cpu_ns();
		if (rc < 0 || snappy_compress_block(raw, wire) < 0) {
			perror("encode");
			exit(1);
		}
		t_enc += t1 - t0;
		t_snappy += cpu_ns() - t1;
		raw_bytes += (double)raw->len;
		wire_bytes += (double)wire->len;
	}
	*fg = (struct figures){wire_bytes / (double)b->n, raw_bytes / (double)b->n,
			       t_enc / (double)b->n, t_snappy / (double)b->n};
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The medians of runs figures, field by field. */
static struct figures medians(struct figures *f, size_t runs)
{
	double v[4][MAX_RUNS];

	for (size_t i = 0; i < runs; i++) {
		v[0][i] = f[i].wire;
		v[1][i] = f[i].raw;
		v[2][i] = f[i].encode;
		v[3][i] = f[i].snappy;
	}
	return (struct figures){median(v[0], runs), median(v[1], runs), median(v[2], runs),
				median(v[3], runs)};
}

static void dump(const char *path, const struct buf *body)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(body->data, 1, body->len, f) != body->len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: encode_bench [--series N] [--batch N] [--runs N(1-%d)]"
			" [--dump-v1 FILE --dump-v2 FILE]\n", MAX_RUNS);
	exit(2);
}

static void print_rows(const char *what, const struct figures *v1, const struct figures *v2)
{
	printf("  %-30s %8.2f %8.2f %8.2f %8.2f %8.1f %8.1f %8.1f %8.1f\n", what, v1->wire,
	       v2->wire, v1->raw, v2->raw, v1->encode, v2->encode, v1->snappy, v2->snappy);
}

/* real: the workload's figures; bare: the same with every value 0 (what
 * labels, metadata and timestamps cost without the values' own bytes). */
static void report(size_t n, size_t batch, size_t runs, const struct figures real[2],
		   const struct figures bare[2])
{
	double ratio = real[1].wire / real[0].wire;

	printf("remote write encoding: %zu node_exporter-like series, requests of %zu samples, "
	       "median of %zu runs\n", n, batch, runs);
	printf("  %-30s %17s %17s %17s %17s\n", "", "wire B/sample", "raw B/sample",
	       "encode ns/sample", "snappy ns/sample");
	printf("  %-30s %8s %8s %8s %8s %8s %8s %8s %8s\n", "workload", "1.0", "2.0", "1.0", "2.0",
	       "1.0", "2.0", "1.0", "2.0");
	print_rows("node_exporter-like values", &real[0], &real[1]);
	print_rows("the same, every value 0", &bare[0], &bare[1]);
	printf("target 2.0 bytes/sample on the wire <= half of 1.0's: %s (%.2f / %.2f = %.2f)\n",
	       ratio <= 0.5 ? "PASS" : "FAIL", real[1].wire, real[0].wire, ratio);
}

/* The figures of both protocols, medians of runs. */
static void measure(const struct bench *b, size_t batch, size_t runs, struct v2_encoder *enc,
		    struct figures out[2])
{
	struct figures f1[MAX_RUNS], f2[MAX_RUNS];
	struct buf raw = {0}, wire = {0};

	for (size_t r = 0; r < runs; r++) {
		run(b, batch, NULL, &raw, &wire, &f1[r]);
		run(b, batch, enc, &raw, &wire, &f2[r]);
	}
	out[0] = medians(f1, runs);
	out[1] = medians(f2, runs);
	buf_free(&raw);
	buf_free(&wire);
}

static int dump_first(const struct bench *b, size_t batch, struct v2_encoder *enc,
		      const char *v1_path, const char *v2_path)
{
	size_t k = b->n < batch ? b->n : batch;
	struct buf raw = {0};

	if (encode_write_request(b->s, k, &raw) < 0)
		return 1;
	dump(v1_path, &raw);
	if (encode_v2_request(enc, b->s, k, &raw) < 0)
		return 1;
	dump(v2_path, &raw);
	buf_free(&raw);
	return 0;
}

int main(int argc, char **argv)
{
	size_t n = 100000, batch = 2000, runs = 3;
	const char *dump_v1 = NULL, *dump_v2 = NULL;
	struct figures real[2], bare[2];
	struct v2_encoder *enc = v2_encoder_new();
	struct bench b = {0};
	int rc = 0;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--series"))
			n = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--batch"))
			batch = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--runs"))
			runs = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--dump-v1"))
			dump_v1 = argv[i + 1];
		else if (!strcmp(argv[i], "--dump-v2"))
			dump_v2 = argv[i + 1];
		else
			usage();
	}
	if (argc % 2 == 0 || !n || !batch || !runs || runs > MAX_RUNS || !enc ||
	    !dump_v1 != !dump_v2)
		usage();
	build(&b, n);
	if (dump_v1) {
		rc = dump_first(&b, batch, enc, dump_v1, dump_v2);
	} else {
		measure(&b, batch, runs, enc, real);
		for (size_t i = 0; i < b.n; i++)
			b.s[i].value = 0;
		measure(&b, batch, runs, enc, bare);
		report(n, batch, runs, real, bare);
	}
	bench_free(&b, n);
	v2_encoder_free(enc);
	return rc;
}
