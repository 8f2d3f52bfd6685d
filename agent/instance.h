/* SPDX-License-Identifier: MIT */
/* instance: one agent per data_dir. Two agents pushing the same host's
 * series (and, later, sharing one disk queue) is a deployment mistake, so
 * the second one refuses to start instead of sending everything twice. */
#ifndef BPFPUSH_INSTANCE_H
#define BPFPUSH_INSTANCE_H

/* Creates data_dir if missing and takes an exclusive flock(2) on
 * DATA_DIR/lock, which then holds this process' pid. Returns the lock's fd
 * (keep it open while the agent runs; the kernel releases the lock when the
 * process ends, however it ends), or -1 with the reason logged: naming the
 * directory and the pid of the agent holding it, when there is one. */
int instance_lock(const char *data_dir);

void instance_unlock(int fd);

#endif
