/* Errors that reach users.
 *
 * carve reports failures with nitro-cli's error codes (E00..E60) so scripts and
 * people who know AWS's tool read them the same way; the process exit status
 * is the code's number, as nitro-cli's is. Failures nitro-cli has no code
 * for (it has no VMM: KVM, guest memory, vCPUs, devices, kernel loading, a
 * crashed guest) get carve's own codes, E70 and up: a range of their own,
 * clear of nitro-cli's, which may grow past E60. Library functions fill a
 * struct carve_err and return -1; lower layers that only fail with an errno
 * return its negative value and their caller turns it into a carve_err.
 */
#ifndef CARVE_ERROR_H
#define CARVE_ERROR_H

#include <stdarg.h>
#include <stdbool.h>

enum carve_code {
	E00_UNSPECIFIED = 0,
	E01_MISSING_ARGUMENT = 1,
	E02_CONFLICTING_ARGUMENT = 2,
	E03_INVALID_ARGUMENT = 3,
	E04_SOCKETPAIR_CREATION = 4,
	E05_PROCESS_SPAWN = 5,
	E06_DAEMONIZE = 6,
	E07_READ_FROM_DISK = 7,
	E08_UNUSABLE_CONNECTION = 8,
	E09_SOCKET_CLOSE = 9,
	E10_SOCKET_CONNECT_TIMEOUT = 10,
	E11_SOCKET = 11,
	E12_EPOLL = 12,
	E13_INOTIFY = 13,
	E14_INVALID_COMMAND = 14,
	E15_LOCK_ACQUIRE = 15,
	E16_THREAD_JOIN = 16,
	E17_SERDE = 17,
	E18_FILE_PERMISSIONS = 18,
	E19_FILE_OPERATION = 19,
	E20_INVALID_CPU_CONFIGURATION = 20,
	E21_NO_SUCH_CPU_IN_POOL = 21,
	E22_INSUFFICIENT_CPUS = 22,
	E23_MALFORMED_CPU_ID = 23,
	E24_CPU_ERROR = 24,
	E25_NO_SUCH_HUGEPAGE_FLAG = 25,
	E26_INSUFFICIENT_MEMORY_REQUESTED = 26,
	E27_INSUFFICIENT_MEMORY_AVAILABLE = 27,
	E28_INVALID_ENCLAVE_FD = 28,
	E29_IOCTL_FAILURE = 29,
	E30_IOCTL_IMAGE_LOAD_INFO = 30,
	E31_IOCTL_SET_MEMORY_REGION = 31,
	E32_IOCTL_ADD_VCPU = 32,
	E33_IOCTL_ENCLAVE_START = 33,
	E34_MEMORY_OVERFLOW = 34,
	E35_EIF_PARSING = 35,
	E36_ENCLAVE_BOOT_FAILURE = 36,
	E37_ENCLAVE_EVENT_WAIT = 37,
	E38_COMMAND_NOT_EXECUTED = 38,
	E39_ENCLAVE_PROCESS_CONNECTION = 39,
	E40_SOCKET_PATH_NOT_FOUND = 40,
	E41_SEND_REPLY = 41,
	E42_MMAP = 42,
	E43_MUNMAP = 43,
	E44_CONSOLE_CONNECTION = 44,
	E45_CONSOLE_READ = 45,
	E46_CONSOLE_WRITE = 46,
	E47_INTEGER_PARSING = 47,
	E48_EIF_BUILDING = 48,
	E49_DOCKER_IMAGE_BUILD = 49,
	E50_DOCKER_IMAGE_PULL = 50,
	E51_ARTIFACTS_PATH_NOT_SET = 51,
	E52_BLOBS_PATH_NOT_SET = 52,
	E53_CLOCK_SKEW = 53,
	E54_SIGNAL_MASKING = 54,
	E55_SIGNAL_UNMASKING = 55,
	E56_LOGGER = 56,
	E57_HASHER = 57,
	E58_ENCLAVE_NAMING = 58,
	E59_EIF_SIGNATURE_CHECKER = 59,
	E60_EIF_SIGNING = 60,
	/* carve's own; E61..E69 are left to nitro-cli and are not codes. */
	CARVE_CODE_FIRST_OWN = 70,
	E70_KVM_UNAVAILABLE = 70,
	E71_KVM_CAPABILITY_MISSING = 71,
	E72_GUEST_MEMORY = 72,
	E73_VCPU_SETUP = 73,
	E74_DEVICE_SETUP = 74,
	E75_GUEST_KERNEL_LOAD = 75,
	E76_GUEST_CRASH = 76,
	/* One past the highest code; codes are not dense below it (see
	 * carve_code_valid). */
	CARVE_CODE_COUNT
};

#define CARVE_ERR_MSG_MAX 1024

struct carve_err {
	int code;                    /* enum carve_code */
	char msg[CARVE_ERR_MSG_MAX]; /* one or more sentences, no trailing newline */
};

/* Record an error and return -1, so callers can write `return carve_fail(...)`.
 * The first error recorded wins: an outer layer that fails because an inner one
 * did keeps the inner, more precise message. */
int carve_fail(struct carve_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int carve_vfail(struct carve_err *err, int code, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* An outer layer's context in front of the recorded message ("starting
 * enclave 'web': " + the inner message), keeping the inner code. Returns -1,
 * so `return carve_err_context(err, ...)` passes a failure on. Does nothing
 * when no error is recorded. The message is cut to fit, never overrun. */
int carve_err_context(struct carve_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Forget any recorded error. */
void carve_err_clear(struct carve_err *err);

/* Whether code is one carve has (E00..E60, E70..): the gap between is not. */
bool carve_code_valid(int code);
/* nitro-cli's name for the code, e.g. "EifParsingError" (carve's own names
 * for E70 and up); NULL when unknown. */
const char *carve_code_name(int code);
/* A paragraph that explains the code and what to do about it; NULL when
 * unknown. */
const char *carve_code_explanation(int code);
/* Parse "E35" / "e35" / "35"; returns the code, or -1 for text that is not
 * a code carve has. */
int carve_code_parse(const char *text);
/* nitro-cli's `explain` text for exactly "E00".."E56" or "E60", as it prints
 * it (without the newline); NULL for anything else, as nitro-cli has none. */
const char *nitro_cli_explanation(const char *code_text);

#endif
