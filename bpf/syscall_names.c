/* SPDX-License-Identifier: MIT */
/* syscall_names: syscall name -> number for the architecture the agent runs
 * on, from libseccomp's tables, which track the kernel's own syscall tables
 * release by release (a hand-kept list falls behind the kernel). */
#include "bpf/syscall_names.h"

#include <seccomp.h>

long syscall_number(const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);

	/* libseccomp answers __NR_SCMP_ERROR for an unknown name and negative
	 * pseudo-numbers for syscalls this architecture does not have. */
	return nr < 0 ? -1 : nr;
}
