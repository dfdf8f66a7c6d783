/* Error codes: names follow nitro-cli's NitroCliErrorEnum (so E-numbers and exit
 * statuses match); the explanations are carve's own words. E70 and up are
 * carve's own codes, named in the same style. */
#include "carve/error.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct code_text {
	const char *name;
	const char *explanation;
};

static const struct code_text code_texts[CARVE_CODE_COUNT] = {
	[E00_UNSPECIFIED] = {"UnspecifiedError",
			     "An error that has no more specific code. The message says what failed."},
	[E01_MISSING_ARGUMENT] =
		{"MissingArgument",
		 "A required argument was not given. Run the command with --help to see which arguments it needs."},
	[E02_CONFLICTING_ARGUMENT] =
		{"ConflictingArgument",
		 "Two arguments that exclude each other were given together (for example --cpu-count and --cpu-ids, or --input and --signing-certificate). Keep one of them."},
	[E03_INVALID_ARGUMENT] =
		{"InvalidArgument",
		 "An argument has a value that is not allowed: a number out of range, a malformed hex string, a file that is not of the expected kind. The message names the argument."},
	[E04_SOCKETPAIR_CREATION] =
		{"SocketPairCreationFailure",
		 "The CLI could not create the socket pair it uses to talk to a new enclave process. The system may be out of file descriptors."},
	[E05_PROCESS_SPAWN] =
		{"ProcessSpawnFailure",
		 "The enclave process could not be started (fork failed). The system may be out of memory or at its process limit."},
	[E06_DAEMONIZE] = {"DaemonizeProcessFailure",
			   "The enclave process could not detach from the terminal."},
	[E07_READ_FROM_DISK] =
		{"ReadFromDiskFailure",
		 "The sockets directory could not be read. Check that CARVE_SOCKETS_DIR (default /run/carve) exists and is readable."},
	[E08_UNUSABLE_CONNECTION] =
		{"UnusableConnectionError",
		 "A connection to an enclave process broke while a command was in flight."},
	[E09_SOCKET_CLOSE] = {"SocketCloseError", "A socket could not be closed cleanly."},
	[E10_SOCKET_CONNECT_TIMEOUT] =
		{"SocketConnectTimeoutError",
		 "Connecting to a socket timed out. The enclave process may be busy or hung."},
	[E11_SOCKET] = {"SocketError",
			"A socket operation failed. The message gives the operation and the system error."},
	[E12_EPOLL] = {"EpollError", "An epoll operation failed while waiting for events."},
	[E13_INOTIFY] = {"InotifyError", "An inotify watch could not be set up or read."},
	[E14_INVALID_COMMAND] = {"InvalidCommand",
				 "The command is not one carve knows. Run 'carve --help' for the list."},
	[E15_LOCK_ACQUIRE] = {"LockAcquireFailure",
			      "A lock could not be taken. Another carve process may hold it."},
	[E16_THREAD_JOIN] = {"ThreadJoinFailure", "A worker thread could not be joined."},
	[E17_SERDE] =
		{"SerdeError",
		 "A message could not be encoded or decoded (JSON or CBOR). The message says which field was wrong."},
	[E18_FILE_PERMISSIONS] =
		{"FilePermissionsError",
		 "You lack the permission for this operation: only the enclave's owner and root may change an enclave; others may only read it."},
	[E19_FILE_OPERATION] =
		{"FileOperationFailure",
		 "A file operation failed. The message gives the file, the operation and the system error; check the path and its permissions."},
	[E20_INVALID_CPU_CONFIGURATION] = {"InvalidCpuConfiguration",
					   "The CPU list is not valid: it names a CPU twice or is empty."},
	[E21_NO_SUCH_CPU_IN_POOL] =
		{"NoSuchCpuAvailableInPool",
		 "A requested CPU is not in the enclave CPU pool. Use 'carve allocator' to put it in the pool, or pick CPUs from the pool."},
	[E22_INSUFFICIENT_CPUS] =
		{"InsufficientCpus",
		 "More CPUs were requested than the pool has free. Ask for fewer, or grow the pool with 'carve allocator'."},
	[E23_MALFORMED_CPU_ID] = {"MalformedCpuId", "A CPU id is not a number."},
	[E24_CPU_ERROR] = {"CpuError", "A CPU range is not valid (for example its start is after its end)."},
	[E25_NO_SUCH_HUGEPAGE_FLAG] = {"NoSuchHugepageFlag",
				       "A hugepage size has no matching mmap flag on this system."},
	[E26_INSUFFICIENT_MEMORY_REQUESTED] =
		{"InsufficientMemoryRequested",
		 "Not enough memory was requested: an enclave needs at least 64 MiB and at least 4 times the size of its EIF. Raise --memory."},
	[E27_INSUFFICIENT_MEMORY_AVAILABLE] =
		{"InsufficientMemoryAvailable",
		 "The host cannot provide the memory requested: the reserved hugepages are used up or too few. Raise memory_mib in the allocator configuration and run 'carve allocator', or ask for less memory."},
	[E28_INVALID_ENCLAVE_FD] =
		{"InvalidEnclaveFd",
		 "The virtual machine for the enclave could not be created. Check that /dev/kvm exists and that you may open it."},
	[E29_IOCTL_FAILURE] = {"IoctlFailure",
			       "A KVM ioctl failed. The message names the ioctl and the system error."},
	[E30_IOCTL_IMAGE_LOAD_INFO] = {"IoctlImageLoadInfoFailure",
				       "The image load information could not be obtained."},
	[E31_IOCTL_SET_MEMORY_REGION] = {"IoctlSetMemoryRegionFailure",
					 "Guest memory could not be registered with KVM."},
	[E32_IOCTL_ADD_VCPU] = {"IoctlAddVcpuFailure", "A vCPU could not be created."},
	[E33_IOCTL_ENCLAVE_START] = {"IoctlEnclaveStartFailure", "The enclave could not be started."},
	[E34_MEMORY_OVERFLOW] =
		{"MemoryOverflow",
		 "The image does not fit in the enclave's memory at its load offset (8 MiB). Give the enclave more memory."},
	[E35_EIF_PARSING] =
		{"EifParsingError",
		 "The Enclave Image File is malformed: bad magic or version, a CRC mismatch, a section table that points outside the file or overlaps, an unknown section type, or a missing kernel, command line or ramdisk. Rebuild the image with 'carve build-enclave'."},
	[E36_ENCLAVE_BOOT_FAILURE] =
		{"EnclaveBootFailure",
		 "The enclave did not send its heartbeat in time, or sent a wrong one. Run it with --debug-mode and read the console to see where the boot stopped."},
	[E37_ENCLAVE_EVENT_WAIT] = {"EnclaveEventWaitError", "Waiting for an enclave event failed."},
	[E38_COMMAND_NOT_EXECUTED] = {"EnclaveProcessCommandNotExecuted",
				      "The enclave process did not carry out the command."},
	[E39_ENCLAVE_PROCESS_CONNECTION] =
		{"EnclaveProcessConnectionFailure",
		 "One or more enclave processes could not be reached. They may have exited; stale sockets are removed automatically."},
	[E40_SOCKET_PATH_NOT_FOUND] =
		{"SocketPathNotFound",
		 "No enclave has that id or name. Run 'carve describe-enclaves' to list the running enclaves."},
	[E41_SEND_REPLY] = {"EnclaveProcessSendReplyFailure",
			    "The enclave process could not send its reply."},
	[E42_MMAP] = {"EnclaveMmapError", "Enclave memory could not be mapped."},
	[E43_MUNMAP] = {"EnclaveMunmapError", "Enclave memory could not be unmapped."},
	[E44_CONSOLE_CONNECTION] =
		{"EnclaveConsoleConnectionFailure",
		 "The enclave console could not be reached. The console is only available for enclaves started with --debug-mode."},
	[E45_CONSOLE_READ] = {"EnclaveConsoleReadError", "Reading from the enclave console failed."},
	[E46_CONSOLE_WRITE] = {"EnclaveConsoleWriteOutputError",
			       "Writing the enclave console to standard output failed."},
	[E47_INTEGER_PARSING] = {"IntegerParsingError", "A number could not be parsed."},
	[E48_EIF_BUILDING] =
		{"EifBuildingError",
		 "The Enclave Image File could not be built. The message says which input was wrong; no output file was left behind."},
	[E49_DOCKER_IMAGE_BUILD] =
		{"DockerImageBuildError",
		 "A Docker image could not be built. carve builds images from a root filesystem directory or tarball with --rootfs instead."},
	[E50_DOCKER_IMAGE_PULL] = {"DockerImagePullError", "A Docker image could not be pulled."},
	[E51_ARTIFACTS_PATH_NOT_SET] = {"ArtifactsPathNotSet",
					"No directory for build artifacts could be found."},
	[E52_BLOBS_PATH_NOT_SET] =
		{"BlobsPathNotSet",
		 "The directory with the enclave kernel and its blobs could not be found. Set CARVE_BLOBS or build carve with 'make'."},
	[E53_CLOCK_SKEW] = {"ClockSkewError", "The system clock went backwards while measuring time."},
	[E54_SIGNAL_MASKING] = {"SignalMaskingError", "Signals could not be masked."},
	[E55_SIGNAL_UNMASKING] = {"SignalUnmaskingError", "Signals could not be unmasked."},
	[E56_LOGGER] = {"LoggerError", "The log could not be written."},
	[E57_HASHER] = {"HasherError", "A measurement (SHA-384) could not be computed."},
	[E58_ENCLAVE_NAMING] =
		{"EnclaveNamingError",
		 "No enclave, or more than one, has the given name. Use --enclave-id, or pick a unique name."},
	[E59_EIF_SIGNATURE_CHECKER] =
		{"EIFSignatureCheckerError",
		 "The image's signature does not verify: the COSE signature is wrong for the certificate, the signed PCR0 is not the image's, or the signing certificate is outside its validity period. Sign the image again with 'carve sign-eif' and a valid certificate."},
	[E60_EIF_SIGNING] =
		{"EIFSigningError",
		 "The image could not be signed: the certificate or private key could not be read, they do not belong together, the key type is not supported (EC P-256, P-384, P-521), or the certificate is not valid now."},
	/* carve's own codes (E61..E69 have no entry: not codes). */
	[E70_KVM_UNAVAILABLE] =
		{"KvmUnavailable",
		 "KVM cannot be used: /dev/kvm is missing, this user may not open it, or it is not KVM (a wrong API version). Load kvm_intel or kvm_amd (on a virtual machine, enable nested virtualization), and give the user read-write access to /dev/kvm, for example through the kvm group."},
	[E71_KVM_CAPABILITY_MISSING] =
		{"KvmCapabilityMissing",
		 "This host's KVM lacks a capability carve needs; the message names it and what it is for. Use a newer host kernel, or a host with hardware virtualization (some nested or emulated KVMs leave capabilities out)."},
	[E72_GUEST_MEMORY] =
		{"GuestMemoryError",
		 "The guest's memory could not be set up: allocating or mapping it failed, or KVM refused it as a memory slot. Check that the host has the memory free (hugepages when an allocator pool is used), or ask for less with --memory."},
	[E73_VCPU_SETUP] =
		{"VcpuSetupError",
		 "A virtual CPU could not be set up: KVM refused to create it, or to set its registers, CPUID or MSRs. The message names the step and the system error; check the host's KVM messages (dmesg), or run with fewer CPUs."},
	[E74_DEVICE_SETUP] =
		{"DeviceSetupError",
		 "A virtual device could not be set up: creating a virtio device, its eventfds, KVM ioeventfd/irqfd bindings, its thread or its place on the device bus failed. The host may be out of file descriptors or threads; the message names the device and the step."},
	[E75_GUEST_KERNEL_LOAD] =
		{"GuestKernelLoadError",
		 "The kernel cannot be loaded: it is neither an x86-64 ELF executable nor a bzImage carve can boot (boot protocol 2.12 or later with a 64-bit entry), or it is truncated or malformed. Give a kernel built for x86-64, or rebuild the image with 'carve build-enclave'."},
	[E76_GUEST_CRASH] =
		{"GuestCrash",
		 "The guest stopped abnormally: a triple fault, a crash it signalled, invalid CPU state, or an instruction KVM could not emulate. This is the guest kernel's failure, not the host's; run the enclave with --debug-mode and read its console to see where it stopped (with 'carve vmm', on hosts whose KVM emulates guest code, also try --cpu-template baseline)."},
};

int carve_vfail(struct carve_err *err, int code, const char *fmt, va_list ap)
{
	if (!err || err->code != 0 || err->msg[0] != '\0')
		return -1;
	err->code = carve_code_valid(code) ? code : E00_UNSPECIFIED;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	return -1;
}

int carve_fail(struct carve_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	carve_vfail(err, code, fmt, ap);
	va_end(ap);
	return -1;
}

int carve_err_context(struct carve_err *err, const char *fmt, ...)
{
	if (!err || (err->code == 0 && err->msg[0] == '\0'))
		return -1;
	char joined[CARVE_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(joined, sizeof(joined), fmt, ap);
	va_end(ap);
	/* Then as much of the inner message as fits: one bounded line. */
	size_t used = n < 0 ? 0 : (size_t)n < sizeof(joined) ? (size_t)n : sizeof(joined) - 1;
	size_t inner = strnlen(err->msg, sizeof(err->msg) - 1);
	if (inner > sizeof(joined) - 1 - used)
		inner = sizeof(joined) - 1 - used;
	memcpy(joined + used, err->msg, inner);
	joined[used + inner] = '\0';
	memcpy(err->msg, joined, used + inner + 1);
	return -1;
}

void carve_err_clear(struct carve_err *err)
{
	err->code = 0;
	err->msg[0] = '\0';
}

bool carve_code_valid(int code)
{
	/* The table has holes (E61..E69): a code is one with a name. */
	return code >= 0 && code < CARVE_CODE_COUNT && code_texts[code].name != NULL;
}

const char *carve_code_name(int code) { return carve_code_valid(code) ? code_texts[code].name : NULL; }

const char *carve_code_explanation(int code)
{
	return carve_code_valid(code) ? code_texts[code].explanation : NULL;
}

int carve_code_parse(const char *text)
{
	if (!text)
		return -1;
	if (*text == 'E' || *text == 'e')
		text++;
	if (!isdigit((unsigned char)text[0]))
		return -1;
	char *end;
	long v = strtol(text, &end, 10);
	if (*end != '\0' || v < 0 || v >= CARVE_CODE_COUNT || !carve_code_valid((int)v))
		return -1;
	return (int)v;
}
