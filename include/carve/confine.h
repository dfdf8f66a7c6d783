/* Confinement of the enclave process after its setup (src/enclave/confine.c):
 * no_new_privs and a seccomp filter, synchronised across all its threads,
 * that refuses what it never needs again (new programs or processes, other
 * processes' memory, kernel machinery, system and privilege changes,
 * network sockets). A forbidden call writes one line to the event log fd
 * and ends the process with status 159 (128 + SIGSYS). */
#ifndef CARVE_CONFINE_H
#define CARVE_CONFINE_H

#include "carve/error.h"

int enclave_confine(int event_log_fd, const char *enclave_id, struct carve_err *err);

#endif
