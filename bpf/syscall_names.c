/* syscall_names: the syscall table of the architecture we are built for,
 * name <-> number, from libc's <sys/syscall.h> (SYS_<name> macros, which
 * are the kernel's __NR_<name>). The list of names was written out once
 * from x86_64's <asm/unistd_64.h>; every entry is guarded, so on another
 * architecture the names it lacks drop out and its numbers are its own.
 * Compat (32-bit) syscalls are not in it. */
#include "bpf/syscall_names.h"

#include <string.h>
#include <sys/syscall.h>

struct syscall_entry {
	long nr;
	const char *name;
};

#define S(name) {SYS_##name, #name},

static const struct syscall_entry table[] = {
#ifdef SYS_read
	S(read)
#endif
#ifdef SYS_write
	S(write)
#endif
#ifdef SYS_open
	S(open)
#endif
#ifdef SYS_close
	S(close)
#endif
#ifdef SYS_stat
	S(stat)
#endif
#ifdef SYS_fstat
	S(fstat)
#endif
#ifdef SYS_lstat
	S(lstat)
#endif
#ifdef SYS_poll
	S(poll)
#endif
#ifdef SYS_lseek
	S(lseek)
#endif
#ifdef SYS_mmap
	S(mmap)
#endif
#ifdef SYS_mprotect
	S(mprotect)
#endif
#ifdef SYS_munmap
	S(munmap)
#endif
#ifdef SYS_brk
	S(brk)
#endif
#ifdef SYS_rt_sigaction
	S(rt_sigaction)
#endif
#ifdef SYS_rt_sigprocmask
	S(rt_sigprocmask)
#endif
#ifdef SYS_rt_sigreturn
	S(rt_sigreturn)
#endif
#ifdef SYS_ioctl
	S(ioctl)
#endif
#ifdef SYS_pread64
	S(pread64)
#endif
#ifdef SYS_pwrite64
	S(pwrite64)
#endif
#ifdef SYS_readv
	S(readv)
#endif
#ifdef SYS_writev
	S(writev)
#endif
#ifdef SYS_access
	S(access)
#endif
#ifdef SYS_pipe
	S(pipe)
#endif
#ifdef SYS_select
	S(select)
#endif
#ifdef SYS_sched_yield
	S(sched_yield)
#endif
#ifdef SYS_mremap
	S(mremap)
#endif
#ifdef SYS_msync
	S(msync)
#endif
#ifdef SYS_mincore
	S(mincore)
#endif
#ifdef SYS_madvise
	S(madvise)
#endif
#ifdef SYS_shmget
	S(shmget)
#endif
#ifdef SYS_shmat
	S(shmat)
#endif
#ifdef SYS_shmctl
	S(shmctl)
#endif
#ifdef SYS_dup
	S(dup)
#endif
#ifdef SYS_dup2
	S(dup2)
#endif
#ifdef SYS_pause
	S(pause)
#endif
#ifdef SYS_nanosleep
	S(nanosleep)
#endif
#ifdef SYS_getitimer
	S(getitimer)
#endif
#ifdef SYS_alarm
	S(alarm)
#endif
#ifdef SYS_setitimer
	S(setitimer)
#endif
#ifdef SYS_getpid
	S(getpid)
#endif
#ifdef SYS_sendfile
	S(sendfile)
#endif
#ifdef SYS_socket
	S(socket)
#endif
#ifdef SYS_connect
	S(connect)
#endif
#ifdef SYS_accept
	S(accept)
#endif
#ifdef SYS_sendto
	S(sendto)
#endif
#ifdef SYS_recvfrom
	S(recvfrom)
#endif
#ifdef SYS_sendmsg
	S(sendmsg)
#endif
#ifdef SYS_recvmsg
	S(recvmsg)
#endif
#ifdef SYS_shutdown
	S(shutdown)
#endif
#ifdef SYS_bind
	S(bind)
#endif
#ifdef SYS_listen
	S(listen)
#endif
#ifdef SYS_getsockname
	S(getsockname)
#endif
#ifdef SYS_getpeername
	S(getpeername)
#endif
#ifdef SYS_socketpair
	S(socketpair)
#endif
#ifdef SYS_setsockopt
	S(setsockopt)
#endif
#ifdef SYS_getsockopt
	S(getsockopt)
#endif
#ifdef SYS_clone
	S(clone)
#endif
#ifdef SYS_fork
	S(fork)
#endif
#ifdef SYS_vfork
	S(vfork)
#endif
#ifdef SYS_execve
	S(execve)
#endif
#ifdef SYS_exit
	S(exit)
#endif
#ifdef SYS_wait4
	S(wait4)
#endif
#ifdef SYS_kill
	S(kill)
#endif
#ifdef SYS_uname
	S(uname)
#endif
#ifdef SYS_semget
	S(semget)
#endif
#ifdef SYS_semop
	S(semop)
#endif
#ifdef SYS_semctl
	S(semctl)
#endif
#ifdef SYS_shmdt
	S(shmdt)
#endif
#ifdef SYS_msgget
	S(msgget)
#endif
#ifdef SYS_msgsnd
	S(msgsnd)
#endif
#ifdef SYS_msgrcv
	S(msgrcv)
#endif
#ifdef SYS_msgctl
	S(msgctl)
#endif
#ifdef SYS_fcntl
	S(fcntl)
#endif
#ifdef SYS_flock
	S(flock)
#endif
#ifdef SYS_fsync
	S(fsync)
#endif
#ifdef SYS_fdatasync
	S(fdatasync)
#endif
#ifdef SYS_truncate
	S(truncate)
#endif
#ifdef SYS_ftruncate
	S(ftruncate)
#endif
#ifdef SYS_getdents
	S(getdents)
#endif
#ifdef SYS_getcwd
	S(getcwd)
#endif
#ifdef SYS_chdir
	S(chdir)
#endif
#ifdef SYS_fchdir
	S(fchdir)
#endif
#ifdef SYS_rename
	S(rename)
#endif
#ifdef SYS_mkdir
	S(mkdir)
#endif
#ifdef SYS_rmdir
	S(rmdir)
#endif
#ifdef SYS_creat
	S(creat)
#endif
#ifdef SYS_link
	S(link)
#endif
#ifdef SYS_unlink
	S(unlink)
#endif
#ifdef SYS_symlink
	S(symlink)
#endif
#ifdef SYS_readlink
	S(readlink)
#endif
#ifdef SYS_chmod
	S(chmod)
#endif
#ifdef SYS_fchmod
	S(fchmod)
#endif
#ifdef SYS_chown
	S(chown)
#endif
#ifdef SYS_fchown
	S(fchown)
#endif
#ifdef SYS_lchown
	S(lchown)
#endif
#ifdef SYS_umask
	S(umask)
#endif
#ifdef SYS_gettimeofday
	S(gettimeofday)
#endif
#ifdef SYS_getrlimit
	S(getrlimit)
#endif
#ifdef SYS_getrusage
	S(getrusage)
#endif
#ifdef SYS_sysinfo
	S(sysinfo)
#endif
#ifdef SYS_times
	S(times)
#endif
#ifdef SYS_ptrace
	S(ptrace)
#endif
#ifdef SYS_getuid
	S(getuid)
#endif
#ifdef SYS_syslog
	S(syslog)
#endif
#ifdef SYS_getgid
	S(getgid)
#endif
#ifdef SYS_setuid
	S(setuid)
#endif
#ifdef SYS_setgid
	S(setgid)
#endif
#ifdef SYS_geteuid
	S(geteuid)
#endif
#ifdef SYS_getegid
	S(getegid)
#endif
#ifdef SYS_setpgid
	S(setpgid)
#endif
#ifdef SYS_getppid
	S(getppid)
#endif
#ifdef SYS_getpgrp
	S(getpgrp)
#endif
#ifdef SYS_setsid
	S(setsid)
#endif
#ifdef SYS_setreuid
	S(setreuid)
#endif
#ifdef SYS_setregid
	S(setregid)
#endif
#ifdef SYS_getgroups
	S(getgroups)
#endif
#ifdef SYS_setgroups
	S(setgroups)
#endif
#ifdef SYS_setresuid
	S(setresuid)
#endif
#ifdef SYS_getresuid
	S(getresuid)
#endif
#ifdef SYS_setresgid
	S(setresgid)
#endif
#ifdef SYS_getresgid
	S(getresgid)
#endif
#ifdef SYS_getpgid
	S(getpgid)
#endif
#ifdef SYS_setfsuid
	S(setfsuid)
#endif
#ifdef SYS_setfsgid
	S(setfsgid)
#endif
#ifdef SYS_getsid
	S(getsid)
#endif
#ifdef SYS_capget
	S(capget)
#endif
#ifdef SYS_capset
	S(capset)
#endif
#ifdef SYS_rt_sigpending
	S(rt_sigpending)
#endif
#ifdef SYS_rt_sigtimedwait
	S(rt_sigtimedwait)
#endif
#ifdef SYS_rt_sigqueueinfo
	S(rt_sigqueueinfo)
#endif
#ifdef SYS_rt_sigsuspend
	S(rt_sigsuspend)
#endif
#ifdef SYS_sigaltstack
	S(sigaltstack)
#endif
#ifdef SYS_utime
	S(utime)
#endif
#ifdef SYS_mknod
	S(mknod)
#endif
#ifdef SYS_uselib
	S(uselib)
#endif
#ifdef SYS_personality
	S(personality)
#endif
#ifdef SYS_ustat
	S(ustat)
#endif
#ifdef SYS_statfs
	S(statfs)
#endif
#ifdef SYS_fstatfs
	S(fstatfs)
#endif
#ifdef SYS_sysfs
	S(sysfs)
#endif
#ifdef SYS_getpriority
	S(getpriority)
#endif
#ifdef SYS_setpriority
	S(setpriority)
#endif
#ifdef SYS_sched_setparam
	S(sched_setparam)
#endif
#ifdef SYS_sched_getparam
	S(sched_getparam)
#endif
#ifdef SYS_sched_setscheduler
	S(sched_setscheduler)
#endif
#ifdef SYS_sched_getscheduler
	S(sched_getscheduler)
#endif
#ifdef SYS_sched_get_priority_max
	S(sched_get_priority_max)
#endif
#ifdef SYS_sched_get_priority_min
	S(sched_get_priority_min)
#endif
#ifdef SYS_sched_rr_get_interval
	S(sched_rr_get_interval)
#endif
#ifdef SYS_mlock
	S(mlock)
#endif
#ifdef SYS_munlock
	S(munlock)
#endif
#ifdef SYS_mlockall
	S(mlockall)
#endif
#ifdef SYS_munlockall
	S(munlockall)
#endif
#ifdef SYS_vhangup
	S(vhangup)
#endif
#ifdef SYS_modify_ldt
	S(modify_ldt)
#endif
#ifdef SYS_pivot_root
	S(pivot_root)
#endif
#ifdef SYS__sysctl
	S(_sysctl)
#endif
#ifdef SYS_prctl
	S(prctl)
#endif
#ifdef SYS_arch_prctl
	S(arch_prctl)
#endif
#ifdef SYS_adjtimex
	S(adjtimex)
#endif
#ifdef SYS_setrlimit
	S(setrlimit)
#endif
#ifdef SYS_chroot
	S(chroot)
#endif
#ifdef SYS_sync
	S(sync)
#endif
#ifdef SYS_acct
	S(acct)
#endif
#ifdef SYS_settimeofday
	S(settimeofday)
#endif
#ifdef SYS_mount
	S(mount)
#endif
#ifdef SYS_umount2
	S(umount2)
#endif
#ifdef SYS_swapon
	S(swapon)
#endif
#ifdef SYS_swapoff
	S(swapoff)
#endif
#ifdef SYS_reboot
	S(reboot)
#endif
#ifdef SYS_sethostname
	S(sethostname)
#endif
#ifdef SYS_setdomainname
	S(setdomainname)
#endif
#ifdef SYS_iopl
	S(iopl)
#endif
#ifdef SYS_ioperm
	S(ioperm)
#endif
#ifdef SYS_create_module
	S(create_module)
#endif
#ifdef SYS_init_module
	S(init_module)
#endif
#ifdef SYS_delete_module
	S(delete_module)
#endif
#ifdef SYS_get_kernel_syms
	S(get_kernel_syms)
#endif
#ifdef SYS_query_module
	S(query_module)
#endif
#ifdef SYS_quotactl
	S(quotactl)
#endif
#ifdef SYS_nfsservctl
	S(nfsservctl)
#endif
#ifdef SYS_getpmsg
	S(getpmsg)
#endif
#ifdef SYS_putpmsg
	S(putpmsg)
#endif
#ifdef SYS_afs_syscall
	S(afs_syscall)
#endif
#ifdef SYS_tuxcall
	S(tuxcall)
#endif
#ifdef SYS_security
	S(security)
#endif
#ifdef SYS_gettid
	S(gettid)
#endif
#ifdef SYS_readahead
	S(readahead)
#endif
#ifdef SYS_setxattr
	S(setxattr)
#endif
#ifdef SYS_lsetxattr
	S(lsetxattr)
#endif
#ifdef SYS_fsetxattr
	S(fsetxattr)
#endif
#ifdef SYS_getxattr
	S(getxattr)
#endif
#ifdef SYS_lgetxattr
	S(lgetxattr)
#endif
#ifdef SYS_fgetxattr
	S(fgetxattr)
#endif
#ifdef SYS_listxattr
	S(listxattr)
#endif
#ifdef SYS_llistxattr
	S(llistxattr)
#endif
#ifdef SYS_flistxattr
	S(flistxattr)
#endif
#ifdef SYS_removexattr
	S(removexattr)
#endif
#ifdef SYS_lremovexattr
	S(lremovexattr)
#endif
#ifdef SYS_fremovexattr
	S(fremovexattr)
#endif
#ifdef SYS_tkill
	S(tkill)
#endif
#ifdef SYS_time
	S(time)
#endif
#ifdef SYS_futex
	S(futex)
#endif
#ifdef SYS_sched_setaffinity
	S(sched_setaffinity)
#endif
#ifdef SYS_sched_getaffinity
	S(sched_getaffinity)
#endif
#ifdef SYS_set_thread_area
	S(set_thread_area)
#endif
#ifdef SYS_io_setup
	S(io_setup)
#endif
#ifdef SYS_io_destroy
	S(io_destroy)
#endif
#ifdef SYS_io_getevents
	S(io_getevents)
#endif
#ifdef SYS_io_submit
	S(io_submit)
#endif
#ifdef SYS_io_cancel
	S(io_cancel)
#endif
#ifdef SYS_get_thread_area
	S(get_thread_area)
#endif
#ifdef SYS_lookup_dcookie
	S(lookup_dcookie)
#endif
#ifdef SYS_epoll_create
	S(epoll_create)
#endif
#ifdef SYS_epoll_ctl_old
	S(epoll_ctl_old)
#endif
#ifdef SYS_epoll_wait_old
	S(epoll_wait_old)
#endif
#ifdef SYS_remap_file_pages
	S(remap_file_pages)
#endif
#ifdef SYS_getdents64
	S(getdents64)
#endif
#ifdef SYS_set_tid_address
	S(set_tid_address)
#endif
#ifdef SYS_restart_syscall
	S(restart_syscall)
#endif
#ifdef SYS_semtimedop
	S(semtimedop)
#endif
#ifdef SYS_fadvise64
	S(fadvise64)
#endif
#ifdef SYS_timer_create
	S(timer_create)
#endif
#ifdef SYS_timer_settime
	S(timer_settime)
#endif
#ifdef SYS_timer_gettime
	S(timer_gettime)
#endif
#ifdef SYS_timer_getoverrun
	S(timer_getoverrun)
#endif
#ifdef SYS_timer_delete
	S(timer_delete)
#endif
#ifdef SYS_clock_settime
	S(clock_settime)
#endif
#ifdef SYS_clock_gettime
	S(clock_gettime)
#endif
#ifdef SYS_clock_getres
	S(clock_getres)
#endif
#ifdef SYS_clock_nanosleep
	S(clock_nanosleep)
#endif
#ifdef SYS_exit_group
	S(exit_group)
#endif
#ifdef SYS_epoll_wait
	S(epoll_wait)
#endif
#ifdef SYS_epoll_ctl
	S(epoll_ctl)
#endif
#ifdef SYS_tgkill
	S(tgkill)
#endif
#ifdef SYS_utimes
	S(utimes)
#endif
#ifdef SYS_vserver
	S(vserver)
#endif
#ifdef SYS_mbind
	S(mbind)
#endif
#ifdef SYS_set_mempolicy
	S(set_mempolicy)
#endif
#ifdef SYS_get_mempolicy
	S(get_mempolicy)
#endif
#ifdef SYS_mq_open
	S(mq_open)
#endif
#ifdef SYS_mq_unlink
	S(mq_unlink)
#endif
#ifdef SYS_mq_timedsend
	S(mq_timedsend)
#endif
#ifdef SYS_mq_timedreceive
	S(mq_timedreceive)
#endif
#ifdef SYS_mq_notify
	S(mq_notify)
#endif
#ifdef SYS_mq_getsetattr
	S(mq_getsetattr)
#endif
#ifdef SYS_kexec_load
	S(kexec_load)
#endif
#ifdef SYS_waitid
	S(waitid)
#endif
#ifdef SYS_add_key
	S(add_key)
#endif
#ifdef SYS_request_key
	S(request_key)
#endif
#ifdef SYS_keyctl
	S(keyctl)
#endif
#ifdef SYS_ioprio_set
	S(ioprio_set)
#endif
#ifdef SYS_ioprio_get
	S(ioprio_get)
#endif
#ifdef SYS_inotify_init
	S(inotify_init)
#endif
#ifdef SYS_inotify_add_watch
	S(inotify_add_watch)
#endif
#ifdef SYS_inotify_rm_watch
	S(inotify_rm_watch)
#endif
#ifdef SYS_migrate_pages
	S(migrate_pages)
#endif
#ifdef SYS_openat
	S(openat)
#endif
#ifdef SYS_mkdirat
	S(mkdirat)
#endif
#ifdef SYS_mknodat
	S(mknodat)
#endif
#ifdef SYS_fchownat
	S(fchownat)
#endif
#ifdef SYS_futimesat
	S(futimesat)
#endif
#ifdef SYS_newfstatat
	S(newfstatat)
#endif
#ifdef SYS_unlinkat
	S(unlinkat)
#endif
#ifdef SYS_renameat
	S(renameat)
#endif
#ifdef SYS_linkat
	S(linkat)
#endif
#ifdef SYS_symlinkat
	S(symlinkat)
#endif
#ifdef SYS_readlinkat
	S(readlinkat)
#endif
#ifdef SYS_fchmodat
	S(fchmodat)
#endif
#ifdef SYS_faccessat
	S(faccessat)
#endif
#ifdef SYS_pselect6
	S(pselect6)
#endif
#ifdef SYS_ppoll
	S(ppoll)
#endif
#ifdef SYS_unshare
	S(unshare)
#endif
#ifdef SYS_set_robust_list
	S(set_robust_list)
#endif
#ifdef SYS_get_robust_list
	S(get_robust_list)
#endif
#ifdef SYS_splice
	S(splice)
#endif
#ifdef SYS_tee
	S(tee)
#endif
#ifdef SYS_sync_file_range
	S(sync_file_range)
#endif
#ifdef SYS_vmsplice
	S(vmsplice)
#endif
#ifdef SYS_move_pages
	S(move_pages)
#endif
#ifdef SYS_utimensat
	S(utimensat)
#endif
#ifdef SYS_epoll_pwait
	S(epoll_pwait)
#endif
#ifdef SYS_signalfd
	S(signalfd)
#endif
#ifdef SYS_timerfd_create
	S(timerfd_create)
#endif
#ifdef SYS_eventfd
	S(eventfd)
#endif
#ifdef SYS_fallocate
	S(fallocate)
#endif
#ifdef SYS_timerfd_settime
	S(timerfd_settime)
#endif
#ifdef SYS_timerfd_gettime
	S(timerfd_gettime)
#endif
#ifdef SYS_accept4
	S(accept4)
#endif
#ifdef SYS_signalfd4
	S(signalfd4)
#endif
#ifdef SYS_eventfd2
	S(eventfd2)
#endif
#ifdef SYS_epoll_create1
	S(epoll_create1)
#endif
#ifdef SYS_dup3
	S(dup3)
#endif
#ifdef SYS_pipe2
	S(pipe2)
#endif
#ifdef SYS_inotify_init1
	S(inotify_init1)
#endif
#ifdef SYS_preadv
	S(preadv)
#endif
#ifdef SYS_pwritev
	S(pwritev)
#endif
#ifdef SYS_rt_tgsigqueueinfo
	S(rt_tgsigqueueinfo)
#endif
#ifdef SYS_perf_event_open
	S(perf_event_open)
#endif
#ifdef SYS_recvmmsg
	S(recvmmsg)
#endif
#ifdef SYS_fanotify_init
	S(fanotify_init)
#endif
#ifdef SYS_fanotify_mark
	S(fanotify_mark)
#endif
#ifdef SYS_prlimit64
	S(prlimit64)
#endif
#ifdef SYS_name_to_handle_at
	S(name_to_handle_at)
#endif
#ifdef SYS_open_by_handle_at
	S(open_by_handle_at)
#endif
#ifdef SYS_clock_adjtime
	S(clock_adjtime)
#endif
#ifdef SYS_syncfs
	S(syncfs)
#endif
#ifdef SYS_sendmmsg
	S(sendmmsg)
#endif
#ifdef SYS_setns
	S(setns)
#endif
#ifdef SYS_getcpu
	S(getcpu)
#endif
#ifdef SYS_process_vm_readv
	S(process_vm_readv)
#endif
#ifdef SYS_process_vm_writev
	S(process_vm_writev)
#endif
#ifdef SYS_kcmp
	S(kcmp)
#endif
#ifdef SYS_finit_module
	S(finit_module)
#endif
#ifdef SYS_sched_setattr
	S(sched_setattr)
#endif
#ifdef SYS_sched_getattr
	S(sched_getattr)
#endif
#ifdef SYS_renameat2
	S(renameat2)
#endif
#ifdef SYS_seccomp
	S(seccomp)
#endif
#ifdef SYS_getrandom
	S(getrandom)
#endif
#ifdef SYS_memfd_create
	S(memfd_create)
#endif
#ifdef SYS_kexec_file_load
	S(kexec_file_load)
#endif
#ifdef SYS_bpf
	S(bpf)
#endif
#ifdef SYS_execveat
	S(execveat)
#endif
#ifdef SYS_userfaultfd
	S(userfaultfd)
#endif
#ifdef SYS_membarrier
	S(membarrier)
#endif
#ifdef SYS_mlock2
	S(mlock2)
#endif
#ifdef SYS_copy_file_range
	S(copy_file_range)
#endif
#ifdef SYS_preadv2
	S(preadv2)
#endif
#ifdef SYS_pwritev2
	S(pwritev2)
#endif
#ifdef SYS_pkey_mprotect
	S(pkey_mprotect)
#endif
#ifdef SYS_pkey_alloc
	S(pkey_alloc)
#endif
#ifdef SYS_pkey_free
	S(pkey_free)
#endif
#ifdef SYS_statx
	S(statx)
#endif
#ifdef SYS_io_pgetevents
	S(io_pgetevents)
#endif
#ifdef SYS_rseq
	S(rseq)
#endif
#ifdef SYS_pidfd_send_signal
	S(pidfd_send_signal)
#endif
#ifdef SYS_io_uring_setup
	S(io_uring_setup)
#endif
#ifdef SYS_io_uring_enter
	S(io_uring_enter)
#endif
#ifdef SYS_io_uring_register
	S(io_uring_register)
#endif
#ifdef SYS_open_tree
	S(open_tree)
#endif
#ifdef SYS_move_mount
	S(move_mount)
#endif
#ifdef SYS_fsopen
	S(fsopen)
#endif
#ifdef SYS_fsconfig
	S(fsconfig)
#endif
#ifdef SYS_fsmount
	S(fsmount)
#endif
#ifdef SYS_fspick
	S(fspick)
#endif
#ifdef SYS_pidfd_open
	S(pidfd_open)
#endif
#ifdef SYS_clone3
	S(clone3)
#endif
#ifdef SYS_close_range
	S(close_range)
#endif
#ifdef SYS_openat2
	S(openat2)
#endif
#ifdef SYS_pidfd_getfd
	S(pidfd_getfd)
#endif
#ifdef SYS_faccessat2
	S(faccessat2)
#endif
#ifdef SYS_process_madvise
	S(process_madvise)
#endif
#ifdef SYS_epoll_pwait2
	S(epoll_pwait2)
#endif
#ifdef SYS_mount_setattr
	S(mount_setattr)
#endif
#ifdef SYS_quotactl_fd
	S(quotactl_fd)
#endif
#ifdef SYS_landlock_create_ruleset
	S(landlock_create_ruleset)
#endif
#ifdef SYS_landlock_add_rule
	S(landlock_add_rule)
#endif
#ifdef SYS_landlock_restrict_self
	S(landlock_restrict_self)
#endif
#ifdef SYS_memfd_secret
	S(memfd_secret)
#endif
#ifdef SYS_process_mrelease
	S(process_mrelease)
#endif
#ifdef SYS_futex_waitv
	S(futex_waitv)
#endif
#ifdef SYS_set_mempolicy_home_node
	S(set_mempolicy_home_node)
#endif
};

const char *syscall_name(long nr)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].nr == nr)
			return table[i].name;
	return NULL;
}

long syscall_number(const char *name)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(table[i].name, name) == 0)
			return table[i].nr;
	return -1;
}
