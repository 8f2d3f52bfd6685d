/* SPDX-License-Identifier: MIT */
/* cgroupid: the cgroup v2 ids that BPF programs read (runqlat: a task's
 * cgroups->dfl_cgrp->kn->id; writeback: the cgroups an inode moves
 * between), back to the groups they name, labelled as the cgroup collector
 * labels them ("/", "/system.slice/ssh.service").
 *
 * On cgroup2 a group's id is its directory's inode number (64-bit hosts),
 * so one walk of the hierarchy names every id there is; the directories
 * are world-readable. Not open_by_handle_at(): it needs
 * CAP_DAC_READ_SEARCH, and the agent may run with only CAP_BPF and
 * CAP_PERFMON. Ids of groups outside the hierarchy this agent sees (its
 * cgroup namespace) are not found.
 *
 * Collection-thread only. */
#ifndef BPFPUSH_CGROUPID_H
#define BPFPUSH_CGROUPID_H

#include <stdbool.h>
#include <stdint.h>

/* Groups deeper than this below the root are not walked (and not named). */
#define CGROUPID_MAX_DEPTH 16

struct cgroupid;

/* A resolver for the cgroup v2 hierarchy under <sysfs>/fs/cgroup (sysfs
 * NULL: /sys; hybrid hosts: its unified/). NULL with errno ENOENT when the
 * host has none (cgroup v1 only), or ENOMEM. */
struct cgroupid *cgroupid_open(const char *sysfs);
void cgroupid_close(struct cgroupid *c);

/* Walks the hierarchy, the root first, calling found(id, label, arg) for
 * every group until found returns false. Directory buffers are kept from
 * one walk to the next. */
void cgroupid_walk(struct cgroupid *c, bool (*found)(uint64_t id, const char *label, void *arg),
		   void *arg);

/* Whether the group a walk labelled label is still there and still id
 * (one fstatat; a group removed and made again under the same name is a
 * new id). */
bool cgroupid_alive(const struct cgroupid *c, uint64_t id, const char *label);

#endif
