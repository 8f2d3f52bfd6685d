#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes host.json, bpf.json and agent.json beside this file: Grafana
dashboards (JSON model, schemaVersion 39: Grafana 10.4 and later) over what bpfpush pushes.

The JSON files are what users import; this script is how they are made, so
that the three share one layout, one set of template variables and one
label selector. Edit here, run it, commit both:

    python3 deploy/grafana/dashboards.py

Every query selects on the template variables through SEL; the test
(test/bpf/test_grafana_dashboards.py) runs each one against a
VictoriaMetrics that bpfpush has pushed into."""
import json
import os

DS = {"type": "prometheus", "uid": "${datasource}"}
SEL = 'cluster=~"$cluster",job=~"$job",instance=~"$instance"'


def sel(extra=""):
    return "{" + SEL + ("," + extra if extra else "") + "}"


def rate(metric, extra="", window="$__rate_interval"):
    return "rate(%s%s[%s])" % (metric, sel(extra), window)


# ---- template variables ---------------------------------------------------

def variables(anchor):
    """datasource, then cluster, job and instance, each narrowed by the one
    before; anchor is a series every agent (or node_exporter) has.
    cluster is optional in the data: "All" is .*, which also matches series
    without the label."""
    def query_var(name, label, expr):
        return {
            "name": name, "label": label, "type": "query", "datasource": DS,
            # The query as a string, the form every version since 9 reads
            # (later ones turn it into their own on load).
            "definition": expr, "query": expr,
            "refresh": 2, "sort": 1, "includeAll": True, "allValue": ".*",
            "multi": name == "instance", "current": {}, "options": [], "hide": 0, "regex": "",
        }
    return [
        {"name": "datasource", "label": "Data source", "type": "datasource",
         "query": "prometheus", "current": {}, "options": [], "hide": 0, "refresh": 1,
         "regex": "", "includeAll": False, "multi": False},
        query_var("cluster", "cluster", "label_values(%s, cluster)" % anchor),
        query_var("job", "job", 'label_values(%s{cluster=~"$cluster"}, job)' % anchor),
        query_var("instance", "instance",
                  'label_values(%s{cluster=~"$cluster",job=~"$job"}, instance)' % anchor),
    ]


# ---- panels -----------------------------------------------------------------

def target(expr, legend="", fmt=None, instant=False):
    t = {"datasource": DS, "expr": expr, "legendFormat": legend, "range": not instant,
         "instant": instant}
    if fmt:
        t["format"] = fmt
    return t


def timeseries(title, targets, unit="short", desc="", w=12, h=8, stack=False, maxv=None,
               minv=0):
    defaults = {"unit": unit,
                "custom": {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 25 if stack else 10,
                           "showPoints": "never", "spanNulls": False,
                           "stacking": {"mode": "normal" if stack else "none", "group": "A"}}}
    if minv is not None:
        defaults["min"] = minv
    if maxv is not None:
        defaults["max"] = maxv
    return {"type": "timeseries", "title": title, "description": desc,
            "datasource": DS, "targets": targets, "w": w, "h": h,
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": {"legend": {"displayMode": "list", "placement": "bottom",
                                   "showLegend": True},
                        "tooltip": {"mode": "multi", "sort": "desc"}}}


def stat(title, expr, unit="short", desc="", w=4, h=4, legend=""):
    return {"type": "stat", "title": title, "description": desc, "datasource": DS,
            "targets": [target(expr, legend)], "w": w, "h": h,
            "fieldConfig": {"defaults": {"unit": unit, "thresholds": {
                "mode": "absolute", "steps": [{"color": "green", "value": None}]}},
                "overrides": []},
            "options": {"colorMode": "value", "graphMode": "area", "justifyMode": "auto",
                        "textMode": "auto", "orientation": "auto",
                        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                                          "values": False}}}


def heatmap(title, bucket_metric, unit, desc="", extra="", w=12, h=9):
    """A classic histogram as a heatmap, one row per le: with the target's
    format heatmap Grafana takes each cumulative bucket minus the one below.
    A rate, not an increase, so that a cell means events per second in
    that bucket at any zoom (an increase over $__rate_interval counts each
    event in several overlapping cells)."""
    expr = "sum by (le) (rate(%s%s[$__rate_interval]))" % (bucket_metric, sel(extra))
    desc = (desc + " " if desc else "") + \
        "A cell: events per second in one power-of-two bucket."
    return {"type": "heatmap", "title": title, "description": desc, "datasource": DS,
            "targets": [target(expr, "{{le}}", fmt="heatmap")], "w": w, "h": h,
            "maxDataPoints": 100, "interval": "",
            "fieldConfig": {"defaults": {"custom": {
                "hideFrom": {"legend": False, "tooltip": False, "viz": False},
                "scaleDistribution": {"type": "linear"}}}, "overrides": []},
            "options": {"calculate": False, "cellGap": 1,
                        "cellValues": {"unit": "short", "decimals": 2},
                        "color": {"mode": "scheme", "scheme": "Oranges", "scale": "exponential",
                                  "exponent": 0.5, "steps": 64, "reverse": False,
                                  "fill": "dark-orange"},
                        "exemplars": {"color": "rgba(255,0,255,0.7)"},
                        "filterValues": {"le": 1e-9}, "legend": {"show": True},
                        "rowsFrame": {"layout": "auto"},
                        "showValue": "auto",
                        "tooltip": {"mode": "single", "yHistogram": True,
                                    "showColorScale": False},
                        "yAxis": {"axisPlacement": "left", "reverse": False, "unit": unit}}}


def table(title, expr, desc="", w=12, h=8):
    return {"type": "table", "title": title, "description": desc, "datasource": DS,
            "targets": [dict(target(expr, fmt="table", instant=True))], "w": w, "h": h,
            "fieldConfig": {"defaults": {"custom": {"align": "auto"}}, "overrides": []},
            "options": {"showHeader": True, "cellHeight": "sm"},
            "transformations": [{"id": "organize", "options": {
                "excludeByName": {"Time": True, "__name__": True}}}]}


def row(title):
    return {"type": "row", "title": title, "collapsed": False, "panels": [], "w": 24, "h": 1}


def layout(items):
    """Numbers the panels from 1 and places them left to right, a row
    panel starting a new line, wrapping at Grafana's 24 columns."""
    x = y = line_h = 0
    out = []
    for pid, item in enumerate(items, start=1):
        p = dict(item)
        w, h = p.pop("w"), p.pop("h")
        if p["type"] == "row" or x + w > 24:
            x, y, line_h = 0, y + line_h, 0
        p["id"] = pid
        p["gridPos"] = {"h": h, "w": w, "x": x, "y": y}
        for i, t in enumerate(p.get("targets", [])):
            t["refId"] = chr(ord("A") + i)
        out.append(p)
        x, line_h = x + w, max(line_h, h)
        if p["type"] == "row":
            x, y, line_h = 0, y + h, 0
    return out


def dashboard(uid, title, desc, tags, anchor, items):
    return {
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts", "type": "dashboard"}]},
        "description": desc, "editable": True, "fiscalYearStartMonth": 0,
        "graphTooltip": 1, "id": None, "links": [
            {"asDropdown": True, "includeVars": True, "keepTime": True, "tags": ["bpfpush"],
             "title": "bpfpush", "type": "dashboards", "icon": "external link",
             "targetBlank": False, "tooltip": "", "url": ""}],
        "liveNow": False, "panels": layout(items), "refresh": "30s",
        "schemaVersion": 39, "tags": ["bpfpush"] + tags,
        "templating": {"list": variables(anchor)},
        "time": {"from": "now-1h", "to": "now"}, "timepicker": {},
        "timezone": "", "title": title, "uid": uid, "version": 1, "weekStart": "",
    }


# ---- host: node_exporter names ------------------------------------------------

def host():
    cpus = 'count by (instance) (node_cpu_seconds_total%s)' % sel('mode="idle"')
    fs = 'fstype!~"tmpfs|ramfs|squashfs|overlay|nsfs|devtmpfs"'
    mem = lambda f: "node_memory_%s_bytes%s" % (f, sel())  # noqa: E731
    return dashboard(
        "bpfpush-host", "bpfpush / Host",
        "CPU, memory, disk, network, filesystem, load and pressure by node_exporter's "
        "names (bpfpush's collectors, or node_exporter itself).",
        ["node"], "node_uname_info", [
            row("Overview"),
            stat("Uptime", "time() - node_boot_time_seconds" + sel(), "s"),
            stat("CPUs", cpus),
            stat("Memory", mem("MemTotal"), "bytes"),
            stat("Load (1m) per CPU", "node_load1%s / on (instance) %s" % (sel(), cpus),
                 "percentunit"),
            stat("Memory available", "%s / %s" % (mem("MemAvailable"), mem("MemTotal")),
                 "percentunit"),
            stat("Root filesystem free", "node_filesystem_avail_bytes%s / "
                 "node_filesystem_size_bytes%s" % (sel('mountpoint="/"'), sel('mountpoint="/"')),
                 "percentunit"),
            row("CPU"),
            timeseries("CPU busy by mode", [target(
                'sum by (instance, mode) (%s) / on (instance) group_left %s'
                % (rate("node_cpu_seconds_total", 'mode!="idle"'), cpus),
                "{{instance}} {{mode}}")], "percentunit", stack=True,
                desc="Share of all CPUs, idle left out."),
            timeseries("Context switches, interrupts, forks", [
                target(rate("node_context_switches_total"), "{{instance}} context switches"),
                target(rate("node_intr_total"), "{{instance}} interrupts"),
                target(rate("node_forks_total"), "{{instance}} forks")], "ops"),
            timeseries("Processes running and blocked", [
                target("node_procs_running" + sel(), "{{instance}} running"),
                target("node_procs_blocked" + sel(), "{{instance}} blocked")]),
            timeseries("Run queue wait (schedstat)", [target(
                "sum by (instance) (%s)" % rate("node_schedstat_waiting_seconds_total"),
                "{{instance}}")], "s", desc="Seconds per second tasks spent runnable but "
                "waiting for a CPU, all CPUs together."),
            row("Memory"),
            timeseries("Memory", [
                target("%s - %s" % (mem("MemTotal"), mem("MemAvailable")), "{{instance}} used"),
                target(mem("MemAvailable"), "{{instance}} available"),
                target(mem("Cached"), "{{instance}} cached"),
                target(mem("Buffers"), "{{instance}} buffers"),
                target("%s - %s" % (mem("SwapTotal"), mem("SwapFree")),
                       "{{instance}} swap used")], "bytes"),
            timeseries("Page faults, swapping, OOM kills", [
                target(rate("node_vmstat_pgfault"), "{{instance}} faults"),
                target(rate("node_vmstat_pgmajfault"), "{{instance}} major faults"),
                target(rate("node_vmstat_pswpin") + " + " + rate("node_vmstat_pswpout"),
                       "{{instance}} swap pages"),
                target("increase(node_vmstat_oom_kill%s[$__rate_interval])" % sel(),
                       "{{instance}} OOM kills")], "ops"),
            row("Disk"),
            timeseries("Disk throughput", [
                target(rate("node_disk_read_bytes_total"), "{{instance}} {{device}} read"),
                target(rate("node_disk_written_bytes_total"),
                       "{{instance}} {{device}} written")], "Bps"),
            timeseries("Disk IOPS", [
                target(rate("node_disk_reads_completed_total"), "{{instance}} {{device}} reads"),
                target(rate("node_disk_writes_completed_total"),
                       "{{instance}} {{device}} writes")], "iops"),
            timeseries("Disk busy", [target(rate("node_disk_io_time_seconds_total"),
                                            "{{instance}} {{device}}")], "percentunit",
                       desc="Share of time the device had IO in flight."),
            timeseries("Disk latency per request", [
                target("%s / %s" % (rate("node_disk_write_time_seconds_total"),
                                    rate("node_disk_writes_completed_total")),
                       "{{instance}} {{device}} write"),
                target("%s / %s" % (rate("node_disk_read_time_seconds_total"),
                                    rate("node_disk_reads_completed_total")),
                       "{{instance}} {{device}} read")], "s",
                desc="Mean time per completed request, queueing included; the BPF "
                "dashboard has the distribution."),
            row("Filesystem"),
            timeseries("Filesystem used", [target(
                "1 - node_filesystem_avail_bytes%s / node_filesystem_size_bytes%s"
                % (sel(fs), sel(fs)), "{{instance}} {{mountpoint}}")], "percentunit", maxv=1),
            timeseries("Inodes used", [target(
                "1 - node_filesystem_files_free%s / node_filesystem_files%s"
                % (sel(fs), sel(fs)), "{{instance}} {{mountpoint}}")], "percentunit", maxv=1),
            timeseries("Read-only or unreachable filesystems", [
                target("node_filesystem_readonly%s" % sel(fs), "{{instance}} {{mountpoint}} ro"),
                target("node_filesystem_device_error" + sel(),
                       "{{instance}} {{mountpoint}} error")],
                desc="device_error 1: statfs failed or timed out (a dead mount)."),
            timeseries("File descriptors", [
                target("node_filefd_allocated" + sel(), "{{instance}} allocated"),
                target("node_filefd_maximum" + sel(), "{{instance}} maximum")]),
            row("Network"),
            timeseries("Network traffic", [
                target(rate("node_network_receive_bytes_total", 'device!="lo"'),
                       "{{instance}} {{device}} in"),
                target("-" + rate("node_network_transmit_bytes_total", 'device!="lo"'),
                       "{{instance}} {{device}} out")], "Bps", minv=None,
                desc="Received up, sent down."),
            timeseries("Network errors and drops", [
                target(rate("node_network_receive_errs_total") + " + " +
                       rate("node_network_transmit_errs_total"), "{{instance}} {{device}} errors"),
                target(rate("node_network_receive_drop_total") + " + " +
                       rate("node_network_transmit_drop_total"), "{{instance}} {{device}} drops"),
                target(rate("node_softnet_dropped_total"), "{{instance}} cpu{{cpu}} softnet drops"),
                target(rate("node_softnet_times_squeezed_total"),
                       "{{instance}} cpu{{cpu}} softnet squeezed")], "pps"),
            timeseries("TCP", [
                target("node_netstat_Tcp_CurrEstab" + sel(), "{{instance}} established"),
                target("node_sockstat_TCP_tw" + sel(), "{{instance}} TIME_WAIT"),
                target("node_sockstat_TCP_orphan" + sel(), "{{instance}} orphans")]),
            timeseries("TCP retransmits, resets, listen overflows", [
                target(rate("node_netstat_Tcp_RetransSegs"), "{{instance}} retransmitted"),
                target(rate("node_netstat_Tcp_OutRsts"), "{{instance}} resets sent"),
                target(rate("node_netstat_TcpExt_ListenOverflows"),
                       "{{instance}} listen overflows"),
                target(rate("node_netstat_TcpExt_ListenDrops"), "{{instance}} listen drops")],
                "pps"),
            timeseries("Conntrack", [
                target("node_nf_conntrack_entries" + sel(), "{{instance}} entries"),
                target("node_nf_conntrack_entries_limit" + sel(), "{{instance}} limit")]),
            row("Load and pressure"),
            timeseries("Load", [
                target("node_load1" + sel(), "{{instance}} 1m"),
                target("node_load5" + sel(), "{{instance}} 5m"),
                target("node_load15" + sel(), "{{instance}} 15m"),
                target(cpus, "{{instance}} CPUs")]),
            timeseries("Pressure (PSI)", [
                target(rate("node_pressure_cpu_waiting_seconds_total"), "{{instance}} cpu some"),
                target(rate("node_pressure_memory_waiting_seconds_total"),
                       "{{instance}} memory some"),
                target(rate("node_pressure_memory_stalled_seconds_total"),
                       "{{instance}} memory full"),
                target(rate("node_pressure_io_waiting_seconds_total"), "{{instance}} io some"),
                target(rate("node_pressure_io_stalled_seconds_total"), "{{instance}} io full")],
                "percentunit", desc="Share of wall time some (or all) tasks stalled on the "
                "resource."),
        ])


# ---- BPF signals ----------------------------------------------------------------

def bpf():
    def top(n, expr):
        return "topk(%d, %s)" % (n, expr)
    return dashboard(
        "bpfpush-bpf", "bpfpush / BPF signals",
        "Latency distributions as heatmaps and the kernel's trouble counters, from "
        "bpfpush's BPF collectors (softirq, timers and syscalls are off by default: "
        "turn them on under bpf: in the config).",
        ["bpf"], "bpfpush_build_info", [
            row("Latency"),
            heatmap("Run queue latency (runqlat)", "kernel_runqueue_latency_seconds_bucket", "s",
                    "Time from wakeup to running on a CPU, per event."),
            heatmap("Block IO latency (biolatency)", "kernel_block_io_latency_seconds_bucket",
                    "s", "Per request, from its insertion (queueing included) to completion, "
                    "all devices and operations."),
            timeseries("Run queue latency quantiles", [
                target("histogram_quantile(%s, sum by (instance, le) (%s))"
                       % (q, rate("kernel_runqueue_latency_seconds_bucket")),
                       "{{instance}} p%s" % q[2:]) for q in ("0.5", "0.99")], "s",
                desc="Buckets are powers of two: a quantile is an upper bound within a "
                "factor of two."),
            timeseries("Block IO mean latency by device and operation", [target(
                "%s / %s" % (rate("kernel_block_io_latency_seconds_sum"),
                             rate("kernel_block_io_latency_seconds_count")),
                "{{instance}} {{device}} {{operation}}")], "s"),
            heatmap("Syscall latency (syscalls)", "kernel_syscall_latency_seconds_bucket", "s",
                    "All syscalls; off by default (bpf: {syscalls: {}})."),
            timeseries("Syscalls, top 10 by time", [target(
                top(10, "sum by (instance, syscall) (%s)"
                    % rate("kernel_syscall_latency_seconds_sum")),
                "{{instance}} {{syscall}}")], "percentunit",
                desc="Seconds per second spent in each syscall, all threads together."),
            heatmap("Softirq duration (softirq)", "kernel_softirq_duration_seconds_bucket", "s",
                    "Every vector; off by default (bpf: {softirq: {}})."),
            timeseries("Softirq time by vector", [target(
                "sum by (instance, vector) (%s)" % rate("kernel_softirq_duration_seconds_sum"),
                "{{instance}} {{vector}}")], "percentunit", desc="CPU share in each vector."),
            heatmap("Block IO size", "kernel_block_io_size_bytes_bucket", "bytes"),
            heatmap("tcp_sendmsg size", "kernel_tcp_sendmsg_size_bytes_bucket", "bytes"),
            heatmap("TCP connection lifetime", "kernel_tcp_connection_lifetime_seconds_bucket",
                    "s", "From SYN to close, per connection."),
            timeseries("Events not timed", [
                target(rate("kernel_runqueue_untimed_wakeups_total"), "{{instance}} runqlat"),
                target("sum by (instance) (%s)" % rate("kernel_block_io_untimed_requests_total"),
                       "{{instance}} biolatency"),
                target(rate("kernel_syscall_untimed_total"), "{{instance}} syscalls"),
                target(rate("kernel_tcp_untimed_connections_total"), "{{instance}} tcp lifetime")],
                "ops", desc="Events a histogram left out (no start stamp, or a full table). "
                "Near zero is healthy."),
            row("Network trouble"),
            timeseries("Listen overflows by port", [
                target(rate("kernel_tcp_listen_overflows_total"), "{{instance}} :{{port}}"),
                target(rate("kernel_tcp_listen_overflows_untracked_total"),
                       "{{instance}} untracked")], "pps",
                desc="Final ACKs refused because the accept queue was full "
                "(SKB_DROP_REASON_TCP_LISTEN_OVERFLOW)."),
            timeseries("Listen drops and accept queues by port", [
                target(rate("kernel_tcp_listen_drops_total"), "{{instance}} :{{port}} drops/s"),
                target("kernel_tcp_listen_queue_length" + sel(), "{{instance}} :{{port}} queued"),
                target("kernel_tcp_listen_queue_capacity" + sel(),
                       "{{instance}} :{{port}} backlog")],
                desc="From each listener's own counters (sock_diag): SYNs refused at a full "
                "queue count here, not as overflows."),
            timeseries("Packet drops by reason, top 10", [target(
                top(10, "sum by (instance, reason) (%s)" % rate("kernel_skb_drops_total")),
                "{{instance}} {{reason}}")], "pps"),
            timeseries("TCP retransmits by state", [target(
                "sum by (instance, state) (%s)" % rate("kernel_tcp_retransmits_total"),
                "{{instance}} {{state}}")], "pps"),
            timeseries("TIME_WAIT entered by remote port, top 10", [target(
                top(10, "sum by (instance, remote_port) (%s)"
                    % rate("kernel_tcp_time_wait_entered_total")),
                "{{instance}} :{{remote_port}}")], "ops",
                desc="A client opening a connection per request shows here."),
            timeseries("TCP state transitions, top 10", [target(
                top(10, "sum by (instance, old_state, new_state) (%s)"
                    % rate("kernel_tcp_state_transitions_total")),
                "{{instance}} {{old_state}} > {{new_state}}")], "ops"),
            row("Kernel housekeeping"),
            timeseries("Writeback inode switches", [
                target("sum by (instance, old_cgroup, new_cgroup) (%s)"
                       % rate("kernel_writeback_inode_switches_total"),
                       "{{instance}} {{old_cgroup}} > {{new_cgroup}}"),
                target(rate("kernel_writeback_inode_switches_untracked_total"),
                       "{{instance}} untracked")], "ops",
                desc="Inodes moved between cgroups' writeback: needs cgroup v2 writeback."),
            timeseries("Timer starts by function, top 10", [target(
                top(10, "sum by (instance, function) (%s)" % rate("kernel_timer_starts_total")),
                "{{instance}} {{function}}")], "ops", desc="Off by default (bpf: {timers: {}})."),
        ])


# ---- the agent --------------------------------------------------------------

def agent():
    rs = "bpfpush_remote_storage_"
    by_ep = "{{instance}} {{remote_name}}"
    return dashboard(
        "bpfpush-agent", "bpfpush / Agent",
        "The agent itself: samples in and out per endpoint, queue, shards, drops, disk "
        "tier, collection rounds, BPF program cost and config reloads.",
        ["agent"], "bpfpush_build_info", [
            row("Overview"),
            stat("Agents", "count(bpfpush_build_info%s)" % sel()),
            stat("Samples in /s", "sum(%s)" % rate("bpfpush_samples_in_total"), "ops"),
            stat("Samples sent /s", "sum(%s)" % rate(rs + "samples_total"), "ops"),
            stat("Pending", "sum(%s)" % (rs + "samples_pending" + sel())),
            stat("Dropped /s", "sum(%s)" % rate(rs + "samples_dropped_total"), "ops"),
            stat("Last reload ok", "min(bpfpush_config_last_reload_successful%s)" % sel()),
            row("Remote write"),
            timeseries("Samples in and sent", [
                target(rate("bpfpush_samples_in_total"), "{{instance}} in"),
                target(rate(rs + "samples_total"), by_ep + " sent"),
                target(rate(rs + "samples_retried_total"), by_ep + " retried"),
                target(rate(rs + "samples_failed_total"), by_ep + " failed")], "ops"),
            timeseries("Dropped by reason", [target(
                "sum by (instance, remote_name, reason) (%s)" % rate(rs + "samples_dropped_total"),
                by_ep + " {{reason}}")], "ops",
                desc="queue_full, too_old, shutdown, disk_full, partial_write."),
            timeseries("Pending samples", [
                target(rs + "samples_pending" + sel(), by_ep),
                target("%s * %s" % (rs + "shards" + sel(), rs + "shard_capacity" + sel()),
                       by_ep + " ring capacity")]),
            timeseries("Shards", [
                target(rs + "shards" + sel(), by_ep + " current"),
                target(rs + "shards_desired" + sel(), by_ep + " desired"),
                target(rs + "shards_max" + sel(), by_ep + " max"),
                target(rs + "shards_min" + sel(), by_ep + " min")]),
            timeseries("Behind (now minus newest sent sample)", [target(
                "time() - %s" % (rs + "queue_highest_sent_timestamp_seconds" + sel()), by_ep)],
                "s"),
            timeseries("Request duration", [target(
                "histogram_quantile(%s, sum by (instance, remote_name, le) (%s))"
                % (q, rate(rs + "sent_batch_duration_seconds_bucket")), by_ep + " p" + q[2:])
                for q in ("0.5", "0.99")], "s"),
            timeseries("Bytes sent", [target(rate(rs + "bytes_total"), by_ep)], "Bps"),
            timeseries("Bytes per sample", [target(
                "%s / %s" % (rate(rs + "bytes_total"), rate(rs + "samples_total")), by_ep)],
                "bytes", desc="Compressed bytes on the wire per sample accepted."),
            timeseries("Connections opened", [target(
                "increase(%s%s[$__rate_interval])" % (rs + "connections_opened_total", sel()),
                by_ep)], desc="Flat with keep-alive; steps with connection recycling or "
                "after errors."),
            timeseries("Protocol and metadata", [
                target(rs + "protocol_version" + sel(), by_ep + " protocol"),
                target("increase(%s%s[$__rate_interval])" % (rs + "protocol_fallbacks_total",
                                                             sel()), by_ep + " fallbacks"),
                target(rate(rs + "metadata_total"), by_ep + " metadata/s"),
                target(rate(rs + "metadata_failed_total"), by_ep + " metadata failed/s")]),
            row("Disk tier"),
            timeseries("Disk tier held", [
                target(rs + "disk_bytes" + sel(), by_ep + " bytes"),
                target(rs + "disk_segments" + sel(), by_ep + " segments")], "bytes",
                desc="Written only while the endpoint is behind: 0 is the normal state."),
            timeseries("Disk tier samples", [
                target(rs + "disk_samples" + sel(), by_ep + " held"),
                target(rate(rs + "disk_samples_written_total"), by_ep + " written/s"),
                target(rate(rs + "disk_samples_replayed_total"), by_ep + " replayed/s")]),
            timeseries("Disk tier oldest sample age", [target(
                "(time() - {m}) * ({m} > bool 0)".format(
                    m=rs + "disk_oldest_timestamp_seconds" + sel()), by_ep)], "s",
                desc="0 when the disk tier is empty."),
            timeseries("Disk tier errors", [
                target(rate(rs + "disk_write_errors_total"), by_ep + " write"),
                target(rate(rs + "disk_read_errors_total"), by_ep + " read"),
                target(rate(rs + "disk_corrupt_records_total"), by_ep + " corrupt records")],
                "ops"),
            row("Collection"),
            timeseries("Round duration", [target(
                "bpfpush_collection_round_duration_seconds" + sel(), "{{instance}}")], "s",
                desc="Wall time of the last round, all collectors together."),
            timeseries("Slowest collectors, top 10", [
                target("topk(10, node_scrape_collector_duration_seconds%s)" % sel(),
                       "{{instance}} {{collector}}"),
                target("topk(10, bpfpush_bpf_collector_duration_seconds%s)" % sel(),
                       "{{instance}} bpf {{collector}}")], "s"),
            timeseries("Collectors failing", [
                target("sum by (instance) (1 - node_scrape_collector_success%s)" % sel(),
                       "{{instance}} collectors"),
                target("sum by (instance) (1 - bpfpush_bpf_collector_up%s)" % sel(),
                       "{{instance}} bpf collectors")],
                desc="How many report success 0 (a source missing on this host) or up 0 (a "
                "hook this kernel lacks); the table below names them."),
            table("Collectors failing now",
                  "node_scrape_collector_success%s == 0 or bpfpush_bpf_collector_up%s == 0"
                  % (sel(), sel())),
            timeseries("Live series by collector", [target(
                "bpfpush_collection_series" + sel(), "{{instance}} {{collector}}")],
                stack=True),
            timeseries("Series refused or relabeled away", [
                target("increase(bpfpush_collection_series_dropped_total%s[$__rate_interval])"
                       % sel(), "{{instance}} {{collector}} over max_series"),
                target("increase(bpfpush_relabel_dropped_series_total%s[$__rate_interval])"
                       % sel(), "{{instance}} relabel {{reason}} {{remote_name}}")]),
            row("BPF programs"),
            timeseries("BPF program cost per event", [target(
                "%s / %s" % (rate("bpfpush_bpf_program_run_seconds_total"),
                             rate("bpfpush_bpf_program_runs_total")),
                "{{instance}} {{collector}}/{{program}}")], "s",
                desc="Needs BPF run statistics (--enable-bpf-stats or "
                "kernel.bpf_stats_enabled=1)."),
            timeseries("BPF program CPU", [target(
                "sum by (instance, collector) (%s)"
                % rate("bpfpush_bpf_program_run_seconds_total"),
                "{{instance}} {{collector}}")], "percentunit", stack=True,
                desc="CPU seconds per second the programs took (while statistics were on)."),
            timeseries("BPF program events", [target(
                rate("bpfpush_bpf_program_runs_total"), "{{instance}} {{collector}}/{{program}}")],
                "ops"),
            row("Config"),
            stat("Reload ok", "bpfpush_config_last_reload_successful" + sel(), w=6,
                 legend="{{instance}}"),
            stat("Since the last good reload (or start)",
                 "time() - bpfpush_config_last_reload_success_timestamp_seconds" + sel(), "s",
                 w=6, legend="{{instance}}"),
            stat("Restart required", "bpfpush_config_reload_restart_required" + sel(), w=6,
                 legend="{{instance}}"),
            table("Versions", "count by (version) (bpfpush_build_info%s)" % sel(), w=6, h=4),
        ])


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    for name, make in (("host", host), ("bpf", bpf), ("agent", agent)):
        with open(os.path.join(here, name + ".json"), "w") as f:
            json.dump(make(), f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
