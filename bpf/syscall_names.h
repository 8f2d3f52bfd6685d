/* SPDX-License-Identifier: MIT */
/* syscall_names: syscall name -> number for this architecture's native
 * syscalls ("read", "nanosleep", ...). */
#ifndef BPFPUSH_SYSCALL_NAMES_H
#define BPFPUSH_SYSCALL_NAMES_H

/* The number of syscall name, or -1 when this architecture has none. */
long syscall_number(const char *name);

#endif
