/* SPDX-License-Identifier: MIT */
/* The collector table, in the order the scheduler runs them. */
#include "collectors/all.h"

const struct collector *const collector_table[] = {
	&collector_cpu,
	&collector_meminfo,
	&collector_loadavg,
	&collector_diskstats,
	&collector_netclass,
	&collector_netdev,
	&collector_netstat,
	&collector_sockstat,
	&collector_softnet,
	&collector_stat,
	&collector_vmstat,
	&collector_filesystem,
	&collector_pressure,
	&collector_filefd,
	&collector_conntrack,
	&collector_schedstat,
	&collector_uname,
	&collector_os,
	&collector_time,
	&collector_cpufreq,
	&collector_hwmon,
	&collector_thermal_zone,
	&collector_textfile,
	&collector_cgroup,
};

const size_t collector_count = sizeof(collector_table) / sizeof(collector_table[0]);
