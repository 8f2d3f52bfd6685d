/* SPDX-License-Identifier: MIT */
/* The netdev, netclass, netstat, sockstat and softnet collectors against
 * fixture trees of two kernel eras (test/fixtures/linux-6.1 and linux-2.6:
 * proc/, sys/, run/udev/data) and a real registry: the exact series, label
 * sets, values, HELP and types node_exporter 1.5 gives for the same trees
 * (checked by running it with --path.procfs/--path.sysfs/--path.udev.data
 * on them) and their options. The collectors' table, kvlines and the
 * stat, diskstats and vmstat collectors are in test_collectors_proc.c.
 * Run from the repository root. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "collectors/all.h"
#include "collectors/kvlines.h"
#include "collectors/procopts.h"
#include "series/registry.h"
#include "config/config.h"

#define ROUND_TS 1700000000000LL
#define LINUX6 "test/fixtures/linux-6.1"
#define LINUX26 "test/fixtures/linux-2.6"

/* Exact: node_exporter's doubles are these very products. */
#define VALUE_REL_TOL 0

#include "collector_harness.h"
#include "net_harness.h"

/* ---- netdev -------------------------------------------------------------- */

static const char *const netdev_names[] = {
	"receive_bytes", "receive_packets", "receive_errs", "receive_drop", "receive_fifo",
	"receive_frame", "receive_compressed", "receive_multicast", "transmit_bytes",
	"transmit_packets", "transmit_errs", "transmit_drop", "transmit_fifo", "transmit_colls",
	"transmit_carrier", "transmit_compressed",
};

static void test_netdev_linux6(void **state)
{
	struct run r;
	char series[192], family[128], help[128];
	(void)state;

	run_start(&r, &collector_netdev, NULL, LINUX6);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	/* 5 devices x 16 columns; rx_nohandler where sysfs has it (eth0, lo). */
	assert_int_equal(r.n, 5 * 16 + 2);
	for (size_t i = 0; i < 16; i++) {
		snprintf(family, sizeof(family), "node_network_%s_total", netdev_names[i]);
		snprintf(series, sizeof(series), "%s{device=\"docker0\"}", family);
		snprintf(help, sizeof(help), "Network device statistic %s.", netdev_names[i]);
		assert_int_equal(count_named(&r, family), 5);
		assert_family(&r, series, family, help, METRIC_COUNTER);
	}
	assert_value(&r, "node_network_receive_bytes_total{device=\"eth0\"}", 8614227);
	assert_value(&r, "node_network_receive_packets_total{device=\"eth0\"}", 61834);
	assert_value(&r, "node_network_receive_errs_total{device=\"eth0\"}", 3);
	assert_value(&r, "node_network_receive_drop_total{device=\"eth0\"}", 12);
	assert_value(&r, "node_network_receive_fifo_total{device=\"eth0\"}", 1);
	assert_value(&r, "node_network_receive_frame_total{device=\"eth0\"}", 2);
	assert_value(&r, "node_network_receive_multicast_total{device=\"eth0\"}", 410);
	assert_value(&r, "node_network_transmit_bytes_total{device=\"eth0\"}", 756880);
	assert_value(&r, "node_network_transmit_packets_total{device=\"eth0\"}", 9760);
	assert_value(&r, "node_network_transmit_errs_total{device=\"eth0\"}", 4);
	assert_value(&r, "node_network_transmit_drop_total{device=\"eth0\"}", 5);
	assert_value(&r, "node_network_transmit_fifo_total{device=\"eth0\"}", 6);
	assert_value(&r, "node_network_transmit_colls_total{device=\"eth0\"}", 7);
	assert_value(&r, "node_network_transmit_carrier_total{device=\"eth0\"}", 8);
	assert_value(&r, "node_network_transmit_drop_total{device=\"docker0\"}", 5);
	assert_value(&r, "node_network_receive_bytes_total{device=\"veth1a2b3c4\"}", 1234);
	assert_value(&r, "node_network_receive_bytes_total{device=\"wlan0\"}", 18446744073709551615.0);
	assert_value(&r, "node_network_receive_compressed_total{device=\"wlan0\"}", 9);
	assert_value(&r, "node_network_transmit_compressed_total{device=\"wlan0\"}", 3);
	assert_value(&r, "node_network_receive_nohandler_total{device=\"eth0\"}", 7);
	assert_value(&r, "node_network_receive_nohandler_total{device=\"lo\"}", 0);
	assert_family(&r, "node_network_receive_nohandler_total{device=\"eth0\"}",
		      "node_network_receive_nohandler_total",
		      "Network device statistic receive_nohandler.", METRIC_COUNTER);
	run_stop(&r);
}

static void test_netdev_filters(void **state)
{
	struct device_filter_opts exclude = {NULL, "^(lo|veth.*)$"}, include = {"^(eth|wlan)", NULL};
	struct run r;
	(void)state;

	run_start(&r, &collector_netdev, &exclude, LINUX6);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.n, 3 * 16 + 1);
	assert_int_equal(count_with(&r, "node_network_", "device", "lo"), 0);
	assert_int_equal(count_with(&r, "node_network_", "device", "veth1a2b3c4"), 0);
	run_stop(&r);

	run_start(&r, &collector_netdev, &include, LINUX6);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.n, 2 * 16 + 1);
	assert_int_equal(count_with(&r, "node_network_", "device", "wlan0"), 16);
	run_stop(&r);
}

/* 2.6: "eth0:2863313219 ..." with no blank after the colon; no sysfs
 * statistics, so no receive_nohandler. */
static void test_netdev_linux26(void **state)
{
	struct run r;
	(void)state;

	run_start(&r, &collector_netdev, NULL, LINUX26);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 2 * 16);
	assert_value(&r, "node_network_receive_bytes_total{device=\"eth0\"}", 2863313219.0);
	assert_value(&r, "node_network_receive_packets_total{device=\"eth0\"}", 2947621);
	assert_value(&r, "node_network_transmit_compressed_total{device=\"eth0\"}", 12);
	assert_value(&r, "node_network_transmit_carrier_total{device=\"eth0\"}", 11);
	assert_value(&r, "node_network_receive_bytes_total{device=\"lo\"}", 123456);
	assert_int_equal(count_named(&r, "node_network_receive_nohandler_total"), 0);
	run_stop(&r);
}

/* ---- netclass ------------------------------------------------------------ */

static void test_netclass_linux6(void **state)
{
	struct run r;
	(void)state;

	run_start(&r, &collector_netclass, NULL, LINUX6);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	/* up + info + 17 properties, less what a device's kernel refuses:
	 * lo has no speed; wlan0 (down) no carrier, dormant, speed,
	 * name_assign_type. bonding_masters is a file, not a device. */
	assert_int_equal(count_with(&r, "node_network_", "device", "eth0"), 19);
	assert_int_equal(count_with(&r, "node_network_", "device", "docker0"), 19);
	assert_int_equal(count_with(&r, "node_network_", "device", "veth1a2b3c4"), 19);
	assert_int_equal(count_with(&r, "node_network_", "device", "lo"), 18);
	assert_int_equal(count_with(&r, "node_network_", "device", "wlan0"), 15);
	assert_int_equal(count_with(&r, "node_network_", "device", "bonding_masters"), 0);
	assert_int_equal(r.n, 90);

	assert_value(&r, "node_network_up{device=\"eth0\"}", 1);
	assert_value(&r, "node_network_up{device=\"lo\"}", 0); /* operstate unknown */
	assert_value(&r, "node_network_up{device=\"wlan0\"}", 0);
	assert_family(&r, "node_network_up{device=\"eth0\"}", "node_network_up",
		      "Value is 1 if operstate is 'up', 0 otherwise.", METRIC_GAUGE);
	assert_value(&r,
		     "node_network_info{address=\"52:54:00:12:34:56\",broadcast=\"ff:ff:ff:ff:ff:ff\","
		     "device=\"eth0\",duplex=\"full\",ifalias=\"uplink to core-sw1\",operstate=\"up\"}",
		     1);
	assert_value(&r,
		     "node_network_info{address=\"00:00:00:00:00:00\",broadcast=\"00:00:00:00:00:00\","
		     "device=\"lo\",operstate=\"unknown\"}",
		     1);
	assert_value(&r,
		     "node_network_info{address=\"e4:5f:01:aa:bb:cc\",broadcast=\"ff:ff:ff:ff:ff:ff\","
		     "device=\"wlan0\",operstate=\"down\"}",
		     1);
	assert_family(&r,
		      "node_network_info{address=\"e4:5f:01:aa:bb:cc\",broadcast=\"ff:ff:ff:ff:ff:ff\","
		      "device=\"wlan0\",operstate=\"down\"}",
		      "node_network_info",
		      "Non-numeric data from /sys/class/net/<iface>, value is always 1.", METRIC_GAUGE);
	assert_value(&r, "node_network_speed_bytes{device=\"eth0\"}", 1250000000);
	assert_value(&r, "node_network_speed_bytes{device=\"docker0\"}", -125000);
	assert_absent(&r, "node_network_speed_bytes{device=\"lo\"}");
	assert_absent(&r, "node_network_carrier{device=\"wlan0\"}");
	assert_absent(&r, "node_network_dormant{device=\"wlan0\"}");
	assert_absent(&r, "node_network_name_assign_type{device=\"wlan0\"}");
	assert_value(&r, "node_network_flags{device=\"eth0\"}", 4099); /* 0x1003 */
	assert_value(&r, "node_network_flags{device=\"veth1a2b3c4\"}", 4355);
	assert_value(&r, "node_network_mtu_bytes{device=\"lo\"}", 65536);
	assert_value(&r, "node_network_carrier{device=\"docker0\"}", 0);
	assert_value(&r, "node_network_carrier_changes_total{device=\"eth0\"}", 3);
	assert_value(&r, "node_network_carrier_up_changes_total{device=\"eth0\"}", 2);
	assert_value(&r, "node_network_carrier_down_changes_total{device=\"eth0\"}", 1);
	assert_value(&r, "node_network_iface_id{device=\"veth1a2b3c4\"}", 7);
	assert_value(&r, "node_network_iface_link{device=\"veth1a2b3c4\"}", 6);
	assert_value(&r, "node_network_iface_link_mode{device=\"wlan0\"}", 1);
	assert_value(&r, "node_network_address_assign_type{device=\"docker0\"}", 3);
	assert_value(&r, "node_network_name_assign_type{device=\"eth0\"}", 4);
	assert_value(&r, "node_network_net_dev_group{device=\"veth1a2b3c4\"}", 5);
	assert_value(&r, "node_network_device_id{device=\"eth0\"}", 0);
	assert_value(&r, "node_network_transmit_queue_length{device=\"docker0\"}", 0);
	assert_value(&r, "node_network_protocol_type{device=\"lo\"}", 772);
	assert_family(&r, "node_network_carrier_changes_total{device=\"eth0\"}",
		      "node_network_carrier_changes_total",
		      "Network device property: carrier_changes_total", METRIC_COUNTER);
	assert_family(&r, "node_network_speed_bytes{device=\"eth0\"}", "node_network_speed_bytes",
		      "Network device property: speed_bytes", METRIC_GAUGE);
	assert_family(&r, "node_network_protocol_type{device=\"eth0\"}",
		      "node_network_protocol_type", "Network device property: protocol_type",
		      METRIC_GAUGE);
	/* The directory is rewound, not reopened: the same devices again. */
	run_round(&r, ROUND_TS + 15000);
	assert_int_equal(r.n, 90);
	for (size_t i = 0; i < r.n; i++)
		assert_false(isnan(r.samples[i].value));
	run_stop(&r);
}

static void test_netclass_ignored(void **state)
{
	struct netclass_opts opts = {"^(lo|veth.*)$"};
	struct run r;
	(void)state;

	run_start(&r, &collector_netclass, &opts, LINUX6);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.n, 90 - 18 - 19);
	assert_int_equal(count_with(&r, "node_network_", "device", "lo"), 0);
	run_stop(&r);
}

/* 2.6's sysfs: address, carrier, flags, ifindex, iflink, mtu, operstate,
 * tx_queue_len, type and files node_exporter does not read. */
static void test_netclass_linux26(void **state)
{
	struct run r;
	(void)state;

	run_start(&r, &collector_netclass, NULL, LINUX26);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 2 * 9);
	assert_value(&r,
		     "node_network_info{address=\"00:16:3e:01:02:03\",broadcast=\"ff:ff:ff:ff:ff:ff\","
		     "device=\"eth0\",operstate=\"up\"}",
		     1);
	assert_value(&r, "node_network_mtu_bytes{device=\"lo\"}", 16436);
	assert_value(&r, "node_network_transmit_queue_length{device=\"lo\"}", 0);
	assert_absent(&r, "node_network_carrier_changes_total{device=\"eth0\"}");
	assert_absent(&r, "node_network_speed_bytes{device=\"eth0\"}");
	run_stop(&r);
}

/* ---- kvlines, for netstat's names and values ------------------------------ */

/* kv_join: the parts in order; what does not fit is cut, NUL-terminated,
 * and reported as cap. */
static void test_kv_join(void **state)
{
	char out[8];
	(void)state;

	assert_int_equal(kv_join(out, sizeof(out), (const char *const[]){"ab", "_", "cd"}, 3), 5);
	assert_string_equal(out, "ab_cd");
	assert_int_equal(kv_join(out, sizeof(out), (const char *const[]){"abc", "defg"}, 2), 7);
	assert_string_equal(out, "abcdefg");
	assert_int_equal(kv_join(out, sizeof(out), (const char *const[]){"abcd", "efgh"}, 2), 8);
	assert_string_equal(out, "abcdefg");
	assert_int_equal(kv_join(out, sizeof(out), (const char *const[]){"abcdefghij", "k"}, 2), 8);
	assert_string_equal(out, "abcdefg");
	assert_int_equal(kv_join(out, sizeof(out), NULL, 0), 0);
	assert_string_equal(out, "");
}

/* kv_double's integer path gives what strtod gives, past 2^53 too (the
 * conversion rounds to nearest, as strtod does). */
static void test_kv_double_integers(void **state)
{
	static const char *const texts[] = {"0", "007", "4096", "9007199254740993",
					    "18446744073709551615", "18446744073709551616",
					    "12345678901234567890123", "-5", "1.5", "1e3"};
	double v;
	(void)state;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		assert_true(kv_double(texts[i], &v));
		assert_true(v == strtod(texts[i], NULL));
	}
	assert_false(kv_double("12 ", &v));
	assert_false(kv_double(" 12", &v));
}

/* ---- netstat ------------------------------------------------------------- */

static void test_netstat_linux6(void **state)
{
	struct run r;
	(void)state;

	run_start(&r, &collector_netstat, NULL, LINUX6);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 40);
	/* docs/design.md: the listen queue counters are in the default set. */
	assert_value(&r, "node_netstat_TcpExt_ListenOverflows{}", 117);
	assert_value(&r, "node_netstat_TcpExt_ListenDrops{}", 121);
	assert_family(&r, "node_netstat_TcpExt_ListenOverflows{}",
		      "node_netstat_TcpExt_ListenOverflows", "Statistic TcpExtListenOverflows.",
		      METRIC_UNTYPED);
	assert_absent(&r, "node_netstat_TcpExt_DelayedACKs{}");
	assert_absent(&r, "node_netstat_TcpExt_TCPOFOQueue{}");
	assert_absent(&r, "node_netstat_MPTcpExt_MPCapableSYNRX{}");
	assert_absent(&r, "node_netstat_IcmpMsg_InType3{}");
	assert_absent(&r, "node_netstat_Tcp_MaxConn{}");
	assert_value(&r, "node_netstat_TcpExt_SyncookiesSent{}", 1);
	assert_value(&r, "node_netstat_TcpExt_TCPSynRetrans{}", 195);
	assert_value(&r, "node_netstat_TcpExt_TCPTimeouts{}", 44);
	assert_value(&r, "node_netstat_IpExt_InOctets{}", 139745839);
	assert_value(&r, "node_netstat_Ip_Forwarding{}", 2);
	assert_value(&r, "node_netstat_Tcp_CurrEstab{}", 7);
	assert_value(&r, "node_netstat_Tcp_RetransSegs{}", 8);
	assert_value(&r, "node_netstat_Tcp_InErrs{}", 3);
	assert_value(&r, "node_netstat_Udp_RcvbufErrors{}", 1);
	assert_value(&r, "node_netstat_UdpLite_InErrors{}", 0);
	assert_value(&r, "node_netstat_Icmp_InErrors{}", 1);
	/* snmp6 */
	assert_value(&r, "node_netstat_Ip6_InOctets{}", 1280);
	assert_value(&r, "node_netstat_Ip6_OutOctets{}", 880);
	assert_value(&r, "node_netstat_Icmp6_OutMsgs{}", 5);
	assert_value(&r, "node_netstat_Udp6_OutDatagrams{}", 7);
	assert_value(&r, "node_netstat_UdpLite6_InErrors{}", 0);
	assert_absent(&r, "node_netstat_Ip6_InReceives{}");
	assert_family(&r, "node_netstat_Ip6_InOctets{}", "node_netstat_Ip6_InOctets",
		      "Statistic Ip6InOctets.", METRIC_UNTYPED);
	run_stop(&r);
}

static void test_netstat_fields(void **state)
{
	struct fields_opts all = {NULL}, tcp = {"^Tcp_(MaxConn|RtoMax)$"};
	struct run r;
	(void)state;

	/* No filter: every column of the three files. */
	run_start(&r, &collector_netstat, &all, LINUX6);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.n, 29 + 18 + 3 + 19 + 27 + 2 + 15 + 9 + 9 + 19);
	assert_value(&r, "node_netstat_TcpExt_DelayedACKs{}", 349);
	assert_value(&r, "node_netstat_IcmpMsg_OutType3{}", 50);
	assert_value(&r, "node_netstat_Icmp6_InType133{}", 1);
	run_stop(&r);

	run_start(&r, &collector_netstat, &tcp, LINUX6);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.n, 2);
	assert_value(&r, "node_netstat_Tcp_MaxConn{}", -1);
	assert_value(&r, "node_netstat_Tcp_RtoMax{}", 120000);
	run_stop(&r);
}

/* 2.6: no snmp6 (no IPv6), fewer columns. */
static void test_netstat_linux26(void **state)
{
	struct run r;
	(void)state;

	run_start(&r, &collector_netstat, NULL, LINUX26);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 22);
	assert_value(&r, "node_netstat_TcpExt_ListenOverflows{}", 12);
	assert_value(&r, "node_netstat_TcpExt_ListenDrops{}", 13);
	assert_value(&r, "node_netstat_Tcp_InSegs{}", 1033434);
	assert_value(&r, "node_netstat_Udp_NoPorts{}", 3);
	assert_int_equal(count_named(&r, "node_netstat_Ip6_InOctets"), 0);
	run_stop(&r);
}

/* ---- sockstat ------------------------------------------------------------ */

static void test_sockstat(void **state)
{
	double page = (double)sysconf(_SC_PAGESIZE);
	struct run r;
	(void)state;

	run_start(&r, &collector_sockstat, NULL, LINUX6);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 20);
	assert_value(&r, "node_sockstat_sockets_used{}", 229);
	assert_value(&r, "node_sockstat_TCP_inuse{}", 4);
	assert_value(&r, "node_sockstat_TCP_orphan{}", 1);
	assert_value(&r, "node_sockstat_TCP_tw{}", 146);
	assert_value(&r, "node_sockstat_TCP_alloc{}", 6);
	assert_value(&r, "node_sockstat_TCP_mem{}", 140);
	assert_value(&r, "node_sockstat_TCP_mem_bytes{}", 140 * page);
	assert_value(&r, "node_sockstat_UDP_inuse{}", 3);
	assert_value(&r, "node_sockstat_UDP_mem_bytes{}", 2 * page);
	assert_value(&r, "node_sockstat_UDPLITE_inuse{}", 0);
	assert_value(&r, "node_sockstat_RAW_inuse{}", 1);
	assert_value(&r, "node_sockstat_FRAG_inuse{}", 0);
	assert_value(&r, "node_sockstat_FRAG_memory{}", 0);
	assert_absent(&r, "node_sockstat_FRAG_memory_bytes{}");
	assert_value(&r, "node_sockstat_TCP6_inuse{}", 5);
	assert_value(&r, "node_sockstat_UDP6_inuse{}", 2);
	assert_value(&r, "node_sockstat_FRAG6_memory{}", 0);
	assert_family(&r, "node_sockstat_sockets_used{}", "node_sockstat_sockets_used",
		      "Number of IPv4 sockets in use.", METRIC_GAUGE);
	assert_family(&r, "node_sockstat_TCP_mem_bytes{}", "node_sockstat_TCP_mem_bytes",
		      "Number of TCP sockets in state mem_bytes.", METRIC_GAUGE);
	assert_family(&r, "node_sockstat_TCP6_inuse{}", "node_sockstat_TCP6_inuse",
		      "Number of TCP6 sockets in state inuse.", METRIC_GAUGE);
	run_stop(&r);

	/* 2.6: no sockstat6, UDP without mem. */
	run_start(&r, &collector_sockstat, NULL, LINUX26);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 11);
	assert_value(&r, "node_sockstat_sockets_used{}", 40);
	assert_value(&r, "node_sockstat_TCP_mem_bytes{}", page);
	assert_value(&r, "node_sockstat_UDP_inuse{}", 2);
	assert_absent(&r, "node_sockstat_UDP_mem{}");
	assert_absent(&r, "node_sockstat_TCP6_inuse{}");
	run_stop(&r);
}

/* ---- softnet ------------------------------------------------------------- */

static void test_softnet(void **state)
{
	struct run r;
	(void)state;

	run_start(&r, &collector_softnet, NULL, LINUX6);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 9);
	assert_value(&r, "node_softnet_processed_total{cpu=\"0\"}", 0x412b);
	assert_value(&r, "node_softnet_dropped_total{cpu=\"0\"}", 1);
	assert_value(&r, "node_softnet_times_squeezed_total{cpu=\"0\"}", 2);
	assert_value(&r, "node_softnet_times_squeezed_total{cpu=\"1\"}", 10);
	/* cpu is the line's index, as in 1.5, not column 13's CPU id (3). */
	assert_value(&r, "node_softnet_processed_total{cpu=\"2\"}", 4294967294.0);
	assert_value(&r, "node_softnet_dropped_total{cpu=\"2\"}", 16);
	assert_absent(&r, "node_softnet_processed_total{cpu=\"3\"}");
	assert_int_equal(count_named(&r, "node_softnet_backlog_len"), 0);
	assert_family(&r, "node_softnet_processed_total{cpu=\"1\"}", "node_softnet_processed_total",
		      "Number of processed packets", METRIC_COUNTER);
	assert_family(&r, "node_softnet_dropped_total{cpu=\"1\"}", "node_softnet_dropped_total",
		      "Number of dropped packets", METRIC_COUNTER);
	assert_family(&r, "node_softnet_times_squeezed_total{cpu=\"1\"}",
		      "node_softnet_times_squeezed_total",
		      "Number of times processing packets ran out of quota", METRIC_COUNTER);
	run_stop(&r);

	run_start(&r, &collector_softnet, NULL, LINUX26); /* 9 columns */
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 6);
	assert_value(&r, "node_softnet_processed_total{cpu=\"0\"}", 3510243);
	assert_value(&r, "node_softnet_times_squeezed_total{cpu=\"1\"}", 2);
	run_stop(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_netdev_linux6),
		cmocka_unit_test(test_netdev_filters),
		cmocka_unit_test(test_netdev_linux26),
		cmocka_unit_test(test_netclass_linux6),
		cmocka_unit_test(test_netclass_ignored),
		cmocka_unit_test(test_netclass_linux26),
		cmocka_unit_test(test_kv_join),
		cmocka_unit_test(test_kv_double_integers),
		cmocka_unit_test(test_netstat_linux6),
		cmocka_unit_test(test_netstat_fields),
		cmocka_unit_test(test_netstat_linux26),
		cmocka_unit_test(test_sockstat),
		cmocka_unit_test(test_softnet),
	};

	return cmocka_run_group_tests_name("collectors_net", tests, NULL, NULL);
}
