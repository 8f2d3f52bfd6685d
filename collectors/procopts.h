/* SPDX-License-Identifier: MIT */
/* procopts: the options of the diskstats, netdev, netclass, netstat and
 * vmstat collectors (node_exporter 1.5's --collector.<name>.<flag>, with
 * its defaults), filled by config from each collector's opt_desc. Patterns
 * are PCRE2, unanchored as Go's regexp.MatchString; NULL means no filter.
 * A collector given no options (ctx->opts NULL) uses the defaults. */
#ifndef BPFPUSH_PROCOPTS_H
#define BPFPUSH_PROCOPTS_H

/* --collector.diskstats.device-exclude */
#define DISKSTATS_DEFAULT_DEVICE_EXCLUDE "^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\\d+n\\d+p)\\d+$"
/* --collector.netclass.ignored-devices */
#define NETCLASS_DEFAULT_IGNORED_DEVICES "^$"
/* --collector.netstat.fields */
#define NETSTAT_DEFAULT_FIELDS                                                            \
	"^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|" \
	"OutMsgs)|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts)|Tcp_(ActiveOpens|" \
	"InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)|Udp6?_(InDatagrams|"      \
	"OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$"
/* --collector.vmstat.fields */
#define VMSTAT_DEFAULT_FIELDS "^(oom_kill|pgpg|pswp|pg.*fault).*"

struct device_filter_opts { /* diskstats, netdev */
	char *device_include;
	char *device_exclude;
};

struct netclass_opts {
	char *ignored_devices;
};

struct fields_opts { /* netstat, vmstat */
	char *fields;
};

#endif
