/* The Linux x86-64 system calls the kernel implements: number and handler.
 * Handlers return a value or -errno. */
#ifndef CARVE_SYSCALLS_H
#define CARVE_SYSCALLS_H

#include "errno.h"
#include "proc.h"

/* A user-space address. Nothing may be read or written through it before
 * user_ok, copy_from_user, copy_to_user or strncpy_from_user has checked it. */
typedef uint64_t uaddr_t;

/* Handlers are defined as Linux defines them, with each argument's type and
 * name:
 *	SYSCALL_DEFINE3(read, int, fd, uaddr_t, buf, uint64_t, count) { ... }
 * makes sys_read, the table's entry, which takes the six registers as the
 * dispatcher passes them and casts each to its declared type, and
 * do_sys_read, the body, which gets the typed arguments. The declared type is
 * the conversion, so it is the one the handler needs: an int is the
 * register's low 32 bits, and where a handler compares or indexes with the
 * whole register (a few do where Linux declares an int), the argument is
 * uint64_t or int64_t. Arguments may go unused (a call that ignores what it
 * is given still names it); registers past the declared ones are ignored. */
#define SC_DECL(t, a) __attribute__((unused)) t a
#define SC_RAW(t, a) uint64_t a
#define SC_CAST(t, a) (t)(a)
#define SC_MAP1(m, t, a) m(t, a)
#define SC_MAP2(m, t, a, ...) m(t, a), SC_MAP1(m, __VA_ARGS__)
#define SC_MAP3(m, t, a, ...) m(t, a), SC_MAP2(m, __VA_ARGS__)
#define SC_MAP4(m, t, a, ...) m(t, a), SC_MAP3(m, __VA_ARGS__)
#define SC_MAP5(m, t, a, ...) m(t, a), SC_MAP4(m, __VA_ARGS__)
#define SC_MAP6(m, t, a, ...) m(t, a), SC_MAP5(m, __VA_ARGS__)
#define SC_SPARE(i) __attribute__((unused)) uint64_t sc_spare##i
#define SC_PAD1 , SC_SPARE(1), SC_SPARE(2), SC_SPARE(3), SC_SPARE(4), SC_SPARE(5)
#define SC_PAD2 , SC_SPARE(2), SC_SPARE(3), SC_SPARE(4), SC_SPARE(5)
#define SC_PAD3 , SC_SPARE(3), SC_SPARE(4), SC_SPARE(5)
#define SC_PAD4 , SC_SPARE(4), SC_SPARE(5)
#define SC_PAD5 , SC_SPARE(5)
#define SC_PAD6

#define SYSCALL_DEFINEx(n, name, ...)                                         \
	static inline int64_t do_sys_##name(SC_MAP##n(SC_DECL, __VA_ARGS__)); \
	int64_t sys_##name(SC_MAP##n(SC_RAW, __VA_ARGS__) SC_PAD##n)          \
	{                                                                     \
		return do_sys_##name(SC_MAP##n(SC_CAST, __VA_ARGS__));        \
	}                                                                     \
	static inline int64_t do_sys_##name(SC_MAP##n(SC_DECL, __VA_ARGS__))

#define SYSCALL_DEFINE0(name)                                                                            \
	static inline int64_t do_sys_##name(void);                                                       \
	int64_t sys_##name(SC_SPARE(0), SC_SPARE(1), SC_SPARE(2), SC_SPARE(3), SC_SPARE(4), SC_SPARE(5)) \
	{                                                                                                \
		return do_sys_##name();                                                                  \
	}                                                                                                \
	static inline int64_t do_sys_##name(void)
#define SYSCALL_DEFINE1(name, ...) SYSCALL_DEFINEx(1, name, __VA_ARGS__)
#define SYSCALL_DEFINE2(name, ...) SYSCALL_DEFINEx(2, name, __VA_ARGS__)
#define SYSCALL_DEFINE3(name, ...) SYSCALL_DEFINEx(3, name, __VA_ARGS__)
#define SYSCALL_DEFINE4(name, ...) SYSCALL_DEFINEx(4, name, __VA_ARGS__)
#define SYSCALL_DEFINE5(name, ...) SYSCALL_DEFINEx(5, name, __VA_ARGS__)
#define SYSCALL_DEFINE6(name, ...) SYSCALL_DEFINEx(6, name, __VA_ARGS__)

/* By number, each under its own (Linux's) name, even where two share a
 * body: the table says which call is which. */
/* A few calls to a row reads better than one to a line. */
/* clang-format off */
#define SYSCALL_LIST(X)                                                                         \
	X(0, read) X(1, write) X(2, open) X(3, close) X(4, stat) X(5, fstat) X(6, lstat)        \
	X(7, poll) X(8, lseek) X(9, mmap) X(10, mprotect) X(11, munmap) X(12, brk)              \
	X(13, rt_sigaction) X(14, rt_sigprocmask) X(15, rt_sigreturn) X(16, ioctl) X(17, pread64) X(18, pwrite64)   \
	X(19, readv) X(20, writev) X(21, access) X(22, pipe) X(23, select)                      \
	X(24, sched_yield)                                                                      \
	X(25, mremap) X(26, msync) X(28, madvise) X(32, dup) X(33, dup2) X(34, pause) X(35, nanosleep)  \
	X(36, getitimer) X(37, alarm) X(38, setitimer)       \
	X(39, getpid) X(40, sendfile) X(41, socket) X(42, connect) X(43, accept)                \
	X(44, sendto) X(45, recvfrom) X(46, sendmsg) X(47, recvmsg) X(48, shutdown)             \
	X(49, bind) X(50, listen) X(51, getsockname) X(52, getpeername) X(53, socketpair)       \
	X(54, setsockopt) X(55, getsockopt) X(56, clone) X(57, fork) X(58, vfork) X(59, execve) X(60, exit) X(61, wait4)              \
	X(62, kill) X(63, uname) X(72, fcntl) X(73, flock) X(74, fsync) X(75, fdatasync)        \
	X(76, truncate)                                                                         \
	X(77, ftruncate) X(78, getdents) X(79, getcwd) X(80, chdir) X(81, fchdir)               \
	X(82, rename) X(83, mkdir)                                                              \
	X(84, rmdir) X(85, creat) X(86, link) X(87, unlink) X(88, symlink)                      \
	X(89, readlink) X(90, chmod)                                                            \
	X(91, fchmod) X(92, chown) X(93, fchown) X(94, lchown) X(95, umask)                     \
	X(96, gettimeofday) X(97, getrlimit) X(98, getrusage) X(99, sysinfo) X(100, times)      \
	X(102, getuid) X(104, getgid) X(105, setuid) X(106, setgid) X(107, geteuid)             \
	X(108, getegid) X(109, setpgid) X(110, getppid) X(111, getpgrp) X(112, setsid)          \
	X(115, getgroups) X(121, getpgid) X(124, getsid) X(127, rt_sigpending)             \
	X(128, rt_sigtimedwait) X(129, rt_sigqueueinfo) X(130, rt_sigsuspend) X(131, sigaltstack) \
	X(133, mknod) X(137, statfs)                                                            \
	X(138, fstatfs) X(140, getpriority) X(141, setpriority) X(149, mlock) X(150, munlock)   \
	X(151, mlockall) X(152, munlockall) X(157, prctl) X(158, arch_prctl)                    \
	X(160, setrlimit) X(186, gettid) X(188, setxattr) X(189, lsetxattr)                     \
	X(190, fsetxattr) X(191, getxattr) X(192, lgetxattr) X(193, fgetxattr)                  \
	X(194, listxattr) X(195, llistxattr) X(196, flistxattr) X(197, removexattr)             \
	X(198, lremovexattr) X(199, fremovexattr) X(200, tkill) X(201, time)                    \
	X(202, futex)                                                                           \
	X(203, sched_setaffinity) X(204, sched_getaffinity) X(213, epoll_create)                \
	X(217, getdents64)                                                                      \
	X(218, set_tid_address) X(222, timer_create) X(223, timer_settime)           \
	X(224, timer_gettime) X(225, timer_getoverrun) X(226, timer_delete) X(228, clock_gettime) X(229, clock_getres)                      \
	X(230, clock_nanosleep) X(231, exit_group) X(232, epoll_wait) X(233, epoll_ctl)         \
	X(234, tgkill) X(247, waitid)                                                           \
	X(257, openat) X(258, mkdirat) X(259, mknodat) X(260, fchownat)                         \
	X(262, newfstatat) X(263, unlinkat)                                                     \
	X(264, renameat) X(265, linkat) X(266, symlinkat) X(267, readlinkat)                    \
	X(268, fchmodat)                                                                        \
	X(269, faccessat) X(270, pselect6) X(271, ppoll) X(273, set_robust_list)                \
	X(280, utimensat) X(281, epoll_pwait) X(282, signalfd) X(283, timerfd_create) X(284, eventfd)            \
	X(285, fallocate) X(286, timerfd_settime) X(287, timerfd_gettime)                       \
	X(288, accept4) X(289, signalfd4) X(290, eventfd2) X(291, epoll_create1) X(292, dup3)                     \
	X(293, pipe2) X(297, rt_tgsigqueueinfo) X(302, prlimit64) X(309, getcpu) X(316, renameat2) X(318, getrandom)                     \
	X(319, memfd_create) X(324, membarrier)                                                 \
	X(325, mlock2) X(332, statx) X(334, rseq) X(435, clone3) X(439, faccessat2)                            \
	X(441, epoll_pwait2)
/* clang-format on */

#define DECLARE(nr, name) int64_t sys_##name(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
SYSCALL_LIST(DECLARE)
#undef DECLARE

/* Shared by the file-system calls (sys_fs.c). */
#define AT_FDCWD -100
int at_dir(int64_t dirfd, const char *path, struct vnode **dir);

#endif
