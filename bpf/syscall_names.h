/* syscall_names: syscall number <-> name for this architecture's native
 * syscalls ("read", "nanosleep", ...). */
#ifndef BPFPUSH_SYSCALL_NAMES_H
#define BPFPUSH_SYSCALL_NAMES_H

/* The name of syscall nr, or NULL when there is none. */
const char *syscall_name(long nr);

/* The number of syscall name, or -1 when there is none. */
long syscall_number(const char *name);

#endif
