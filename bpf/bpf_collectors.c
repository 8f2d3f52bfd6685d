/* The table of BPF collectors, in the order they run. */
#include "bpf/bpf_collector.h"
#include "bpf/bpfutil.h"

static const struct metric_desc up_desc = {
	"bpfpush_bpf_collector_up",
	"1 if the BPF collector is loaded and its maps were read this round, 0 otherwise.",
	METRIC_GAUGE};
static const struct metric_desc duration_desc = {
	"bpfpush_bpf_collector_duration_seconds",
	"Time the BPF collector took to read its maps this round.", METRIC_GAUGE};

const struct collector_kind bpf_collector_kind = {&up_desc, &duration_desc, bpf_teardown};

extern const struct collector bpf_collector_runqlat;
extern const struct collector bpf_collector_biolatency;
extern const struct collector bpf_collector_tcp_sendmsg;
extern const struct collector bpf_collector_softirq;
extern const struct collector bpf_collector_syscalls;
extern const struct collector bpf_collector_skb_drops;
extern const struct collector bpf_collector_tcp_retransmits;
extern const struct collector bpf_collector_tcp_states;
extern const struct collector bpf_collector_timers;
extern const struct collector bpf_collector_writeback;

const struct collector *const bpf_collector_table[] = {
	&bpf_collector_runqlat,
	&bpf_collector_skb_drops,
	&bpf_collector_tcp_retransmits,
	&bpf_collector_tcp_states,
	&bpf_collector_timers,
	&bpf_collector_writeback,
	&bpf_collector_biolatency,
	&bpf_collector_tcp_sendmsg,
	&bpf_collector_softirq,
	&bpf_collector_syscalls,
};

const size_t bpf_collector_count = sizeof(bpf_collector_table) / sizeof(bpf_collector_table[0]);
