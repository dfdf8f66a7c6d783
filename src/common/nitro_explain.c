/* nitro-cli's `explain --error-code` texts, word for word: scripts and users
 * match them (aws-nitro-enclaves-cli v1.5.0 src/common/document_errors.rs:367-554,
 * explain_error). Its table has E00..E56 and E60 only: E57, E58 and E59 fall to
 * "No such error code" there. Interface text, so its spelling stays as it is. */
#include <stddef.h>
#include <string.h>

#include "carve/error.h"

static const char *const nitro_explanations[CARVE_CODE_FIRST_OWN] = {
	[0] = "Unspecified error. This is used as a catch-all error and should not be used in the code.",
	[1] = "Missing mandatory argument. Such error appears when the Nitro CLI is requested to perform an operation, but not all of the mandatory arguments were supplied.\n\tExample: `nitro-cli run-enclave --cpu-count 2 --eif-path /path/to/my/eif`. Note that in this case, the mandatory parameter `--memory` is missing a value.",
	[2] = "CLI conflicting arguments. Such error appears when the Nitro CLI is supplied two contradicting arguments at the same time, such as `--cpu-count` and `--cpu-ids`.\nIn this case, only one of the parameters should be supplied.",
	[3] = "Invalid argument provided. Such error appears when the type of at least one of the arguments provided to the Nitro CLI does not match the expected type of that parameter.\n\tExample: `nitro-cli run-enclave --cpu-count 1z --memory 80 --eif-path /path/to/my/eif`. In this case, `cpu-count` is not a valid integer value.",
	[4] = "Socket pair creation failure. Such error apears when the Nitro CLI process attempts to open a stream pair in order to send a command to the enclave process, but the stream initialization fails.",
	[5] = "Process spawn failure. Such error appears when the main Nitro CLI process failed to spawn the enclave process, in order to complete a `run-enclave` command.",
	[6] = "Daemonize process failure. Such error appears when the system fails to daemonize the newly spawned enclave process.",
	[7] = "Read from disk failure. Such error appears when the Nitro CLI process fails to read the content of the enclave sockets directory (usually '/run/nitro_enclaves/') in order to perform a `describe-enclave` operation. Check that the directory exists and it has proper permissions, or run the Nitro Enclaves configuration script in order to (re)configure the environment.",
	[8] = "Unusable connection error. Such error appears when the Nitro CLI process attempts to open a connection to a non-existing or previously closed enclave descriptor",
	[9] = "Socket close error. Such error appears when the system fails to successfully close a communication channel.",
	[10] = "Socket connect set timeout error. Such error appears when the system fails to configure a specific timeout for a given socket. May arise when trying to connect to an enclave's console.",
	[11] = "Socket error. This is used as an error for catching any other socket operation errors not covered by previous custom errors.",
	[12] = "Epoll error. Such error appears, for instance, when the system fails to register a specific enclave descriptor with epoll in order to monitor events for it.",
	[13] = "Inotify error. Such error appears when the system fails to configure a socket for monitorization.",
	[14] = "Invalid command. Such error appears when an unknown command and / or unknown arguments are sent through a socket.",
	[15] = "Lock acquire failure. Such error appears when the system fails to obtain the lock for an object with concurrent access, such as a structure containing information about a running enclave.",
	[16] = "Thread join failure. Such error appears when the system fails to successfully join a thread, after it finished executing.",
	[17] = "Serde error. Such error appears when serializing / deserializing a command or response fails.",
	[18] = "File permissions error. Such error appears when a user other than the owner of the logging file (usually '/var/log/nitro_enclaves/nitro_enclaves.log') attempts to change the file permissions",
	[19] = "File operation failure. Such error appears when the system fails to perform the requested file operations, such as opening the EIF file when launching an enclave, or seeking to a specific offset in the EIF file, or writing to the log file.",
	[20] = "Invalid CPU configuration. Such error appears when the user supplies the same CPU ID multiple times.\n\tExample: `nitro-cli run-enclave --cpu-ids 1 1 --memory 80 --eif-path /path/to/my/eif`. In this case, CPU ID `1` has been selected twice.",
	[21] = "No such CPU available in the pool. Such error appears when the user requests to run an enclave with at least one CPU ID which does not exist in the CPU pool.\n\tExample: (configured CPU pool: [1,9]) `nitro-cli run-enclave --cpu-ids 1 2 --memory 80 --eif-path /path/to/my/eif`. In this case, CPU 2 is not in the configured CPU pool.",
	[22] = "Insufficient CPUs available in the pool. Such error appears when the user requests to run an enclave with more CPUs that available in the CPU pool.\n\tExample: (configured CPU pool: [1,9]) `nitro-cli run-enclave --cpu-count 4 --memory 80 --eif-path /path/to/my/eif`. In this case, the user requested 4 CPUs, but the CPU pool contains only 2.",
	[23] = "Malformed CPU ID error. Such error appears when a `lscpu` line is malformed and reports an invalid online CPUs list.",
	[24] = "CPU error. Such error appears when a CPU line interval is invalid (as in 0-3-7)",
	[25] = "No such hugepage flag error. Such error appears when the enclave process attempts to use an invalid hugepage size (size other than the known hugepage sizes) for initializing the enclave memory.",
	[26] = "Insufficient memory requested. Such error appears when the user requests to launch an enclave with not enough memory. The enclave memory should be at least equal to the size of the EIF file used for launching the enclave.\n\tExample: (EIF file size: 11MB) `nitro-cli run-enclave --cpu-count 2 --memory 5 --eif-path /path/to/my/eif`. In this case, the user requested to run an enclave with only 5MB of memory, whereas the EIF file alone requires 11MB.",
	[27] = "Insufficient memory available. Such error appears when the user requests to launch an enclave with more memory than available. The enclave memory should be at most equal to the size of the configured hugepage memory.\n\tExample: (previously configured 80MB of hugepage memory) `nitro-cli run-enclave --cpu-count 2 --memory 100 --eif-path /path/to/my/eif`. In this case, the user requested to run an enclave with 100MB of memory, whereas the system has only 80MB available for enclaves. As a solution, (re)configure the Nitro Enclaves environment, specifying a higher value for the available memory.",
	[28] = "Invalid enclave descriptor. Such error appears when the NE_CREATE_VM ioctl returns with an error.",
	[29] = "Ioctl failure. Such error is used as a general ioctl error and appears whenever an ioctl fails. In this case, the error backtrace provides detailed information on what specifically failed during the ioctl.",
	[30] = "Ioctl image get load info failure. Such error appears when the ioctl used for getting the memory load information fails. In this case, the error backtrace provides detailed information on what specifically failed during the ioctl.",
	[31] = "Ioctl set memory region failure. Such error appears when the ioctl used for setting a given memory region fails. In this case, the error backtrace provides detailed information on what specifically failed during the ioctl.",
	[32] = "Ioctl add vCPU failure. Such error appears when the ioctl used for adding a vCPU fails. In this case, the error backtrace provides detailed information on what specifically failed during the ioctl.",
	[33] = "Ioctl start enclave failure. Such error appears when the ioctl used for starting an enclave fails. In this case, the error backtrace provides details information on what specifically failed during the ioctl.",
	[34] = "Memory overflow. Such error may appear during loading the EIF in the memory regions which will be conceded to the future enclave, if the regions offset plus the EIF file size exceeds the maximum address of the target platform.",
	[35] = "EIF file parsing error. Such errors appear when attempting to fill a memory region with a section of the EIF file, but reading the entire section fails. This might indicate that the required hugepages are not available.",
	[36] = "Enclave boot failure. Such error appears when attempting to receive the `ready` signal from a freshly booted enclave. It arises in several contexts, for instance, when the enclave is booted from an invalid EIF file and the enclave process immediately exits, failing to submit the `ready` signal. In this case, the error backtrace provides detailed information on what specifically failed during the enclave boot process.",
	[37] = "Enclave event wait error. Such error appears when monitoring an enclave descriptor for events fails.",
	[38] = "Enclave process command not executed error. Such error appears when at least one enclave fails to provide the description information.",
	[39] = "Enclave process connection failure. Such error appears when the enclave manager fails to connect to at least one enclave process for retrieving the description information.",
	[40] = "Socket path not found. Such error appears when the Nitro CLI process fails to build the corresponding socket path starting from a given enclave ID.",
	[41] = "Enclave process send reply failure. Such error appears when the enclave process fails to submit the status code to the Nitro CLI process after performing a run / describe / terminate command.",
	[42] = "Enclave mmap error. Such error appears when allocating the enclave memory fails.",
	[43] = "Enclave munmap error. Such error appears when unmapping the enclave memory fails.",
	[44] = "Enclave console connection failure. Such error appears when the Nitro CLI process fails to establish a connection to a running enclave's console.",
	[45] = "Enclave console read error. Such error appears when reading from a running enclave's console fails.",
	[46] = "Enclave console write output error. Such error appears when writing the information retrieved from a running enclave's console (to a given stream) fails.",
	[47] = "Integer parsing error. Such error appears when trying to connect to a running enclave's console, but the enclave CID cannot be parsed correctly.",
	[48] = "EIF building error. Such error appears when trying to build an EIF file. In this case, the error backtrace provides detailed information on the failure reason.",
	[49] = "Docker image build error. Such error appears when trying to build and EIF file, but building the corresponding docker image fails. In this case, the error backtrace provides detailed information on the failure reason.",
	[50] = "Docker image pull error. Such error appears when trying to build an EIF file, but pulling the corresponding docker image fails. In this case, the error backtrace provides detailed informatino on the failure reason.",
	[51] = "Artifacts path environment variable not set. Such error appears when trying to build an EIF file, but the artifacts path environment variable is not set.",
	[52] = "Blobs path environment variable not set. Such error appears when trying to build an EIF file, but the blobs path environment variable is not set.",
	[53] = "Clock skew error. Such error appears when continuously reading from a running enclave's console, but measuring the time elapsed between consecutive reads failed.",
	[54] = "Signal masking error. Such error appears if attempting to mask specific signals before creating an enclave process fails.",
	[55] = "Signal unmasking error. Such error appears if attempting to unmask specific signals after creating an enclave process fails.",
	[56] = "Logger error. Such error appears when attempting to initialize the underlying logging system fails.",
	[60] = "Signing error. Such error appears if incorrect key or certificate paths are provided, or when AWS credenrials need to be refreshed to use a KMS key.",
};

const char *nitro_cli_explanation(const char *code_text)
{
	/* nitro-cli matches the whole string: "E35" only, not "e35" or "35". */
	if (!code_text || strlen(code_text) != 3 || code_text[0] != 'E')
		return NULL;
	if (code_text[1] < '0' || code_text[1] > '9' || code_text[2] < '0' || code_text[2] > '9')
		return NULL;
	int code = (code_text[1] - '0') * 10 + (code_text[2] - '0');
	return code < CARVE_CODE_FIRST_OWN ? nitro_explanations[code] : NULL;
}
