/* The collectors in this directory; collectors.c lists them in the table. */
#ifndef BPFPUSH_COLLECTORS_ALL_H
#define BPFPUSH_COLLECTORS_ALL_H

#include "agent/collectors/collector.h"

extern const struct collector collector_cpu;
extern const struct collector collector_meminfo;
extern const struct collector collector_loadavg;
extern const struct collector collector_diskstats;
extern const struct collector collector_netclass;
extern const struct collector collector_netdev;
extern const struct collector collector_netstat;
extern const struct collector collector_sockstat;
extern const struct collector collector_softnet;
extern const struct collector collector_stat;
extern const struct collector collector_vmstat;
extern const struct collector collector_textfile;

#endif
