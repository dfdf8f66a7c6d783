/* Confinement of the enclave process after its setup (src/enclave/confine.c),
 * in two layers, as Firecracker's jailer and per-thread seccomp filters:
 *
 * 1. enclave_confine: no_new_privs and a deny-list synchronised across every
 *    thread (and inherited by every later one): no new programs or
 *    processes, no other processes' memory, no kernel machinery, no system
 *    or privilege changes, no network sockets.
 * 2. confine_this_thread: each thread, as it starts its work, adds the
 *    allow-list of its kind; anything else is refused. The vCPU, device and
 *    control threads each call it themselves, so no thread inherits another
 *    kind's list. Outside an enclave process (carve vmm, tests) it does
 *    nothing: only enclave_confine arms it.
 *
 * A refused call writes one line to the event log fd naming the call and the
 * thread's kind, and ends the process with status 159 (128 + SIGSYS). */
#ifndef CARVE_CONFINE_H
#define CARVE_CONFINE_H

#include "carve/error.h"

enum confine_kind {
	CONFINE_VCPU_THREAD,    /* KVM_RUN and the exits it handles */
	CONFINE_DEVICE_THREAD,  /* virtio queues and the host sockets behind them */
	CONFINE_CONTROL_THREAD, /* the control socket, the console, the enclave's files */
};

int enclave_confine(int event_log_fd, const char *enclave_id, struct carve_err *err);
/* Adds this thread's allow-list, once per thread, if enclave_confine ran.
 * A thread that cannot confine itself ends the process (it fails closed). */
void confine_this_thread(enum confine_kind kind);
/* The kind this thread confined itself as, or NULL. */
const char *confine_thread_kind(void);

#endif
