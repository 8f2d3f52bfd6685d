/* SPDX-License-Identifier: MIT */
/* The collectors in this directory; collectors.c lists them in the table. */
#ifndef BPFPUSH_COLLECTORS_ALL_H
#define BPFPUSH_COLLECTORS_ALL_H

#include "collectors/collector.h"

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
extern const struct collector collector_filesystem;
extern const struct collector collector_pressure;
extern const struct collector collector_filefd;
extern const struct collector collector_conntrack;
extern const struct collector collector_schedstat;
extern const struct collector collector_uname;
extern const struct collector collector_os;
extern const struct collector collector_time;
extern const struct collector collector_cpufreq;
extern const struct collector collector_hwmon;
extern const struct collector collector_thermal_zone;
extern const struct collector collector_textfile;
extern const struct collector collector_cgroup;

#endif
