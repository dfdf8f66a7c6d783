/* run-enclave's side of starting an enclave: check everything that can be
 * checked before any resources are taken, reserve a name, CID and slot, then
 * start the enclave process (detached, in its own session) and wait for its
 * one-line report: booted (heartbeat received) or why not. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "carve/eif.h"
#include "carve/enclave.h"
#include "carve/launch.h"
#include "carve/util.h"
#include "enclave/process.h"
#include "enclave/registry.h"

static int online_cpu(int cpu)
{
	char path[96];
	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d", cpu);
	return access(path, F_OK) == 0;
}

/* CRC and signature (with the certificate's validity now) must hold. */
static int check_image(struct enclave_spec *spec, struct carve_err *err)
{
	struct eif_image img;
	struct eif_report rep;
	if (eif_open(&img, spec->eif_path, err) < 0)
		return -1;
	int rc = -1;
	if (eif_verify(&img, time(NULL), false, &rep, err) < 0)
		goto out_close;
	if (!rep.crc_ok) {
		carve_fail(err, E35_EIF_PARSING, "'%s' fails its CRC check; the image is damaged",
			   spec->eif_path);
		goto out;
	}
	if (rep.is_signed && (!rep.signature_ok || !rep.cert_valid_now)) {
		carve_fail(err, E59_EIF_SIGNATURE_CHECKER, "'%s': %s", spec->eif_path, rep.signature_problem);
		goto out;
	}
	if (img.flags & EIF_FLAG_ARCH_ARM64) {
		carve_fail(err, E35_EIF_PARSING, "'%s' is an aarch64 image; carve runs x86-64 enclaves",
			   spec->eif_path);
		goto out;
	}
	spec->eif_size = img.file_size;
	spec->m = rep.m;
	if (rep.metadata)
		spec->metadata = strdup(rep.metadata);
	rc = 0;
out:
	eif_report_free(&rep);
out_close:
	eif_close(&img);
	return rc;
}

static int read_report(int fd, pid_t *pid, struct carve_err *err)
{
	char line[4096];
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, line + n, sizeof(line) - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || (n += (size_t)r) == sizeof(line) - 1)
			break;
		if (memchr(line, '\n', n))
			break;
	}
	line[n] = '\0';
	json_object *o = json_tokener_parse(line), *v;
	int rc;
	if (!o) {
		rc = carve_fail(err, E36_ENCLAVE_BOOT_FAILURE, "the enclave process exited without reporting");
	} else if (json_object_object_get_ex(o, "ok", &v)) {
		json_object_object_get_ex(o, "pid", &v);
		*pid = (pid_t)json_object_get_int(v);
		rc = 0;
	} else {
		json_object *code;
		json_object_object_get_ex(o, "error", &v);
		json_object_object_get_ex(o, "code", &code);
		rc = carve_fail(err, code ? json_object_get_int(code) : E36_ENCLAVE_BOOT_FAILURE, "%s",
				v ? json_object_get_string(v) : "unknown failure");
	}
	json_object_put(o);
	return rc;
}

int enclave_launch(const struct launch_args *a, struct launch_result *res, struct carve_err *err)
{
	struct enclave_spec *spec = calloc(1, sizeof(*spec));
	if (!spec)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	int rc = -1;
	if (!realpath(a->eif_path, spec->eif_path)) {
		carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Open': %s", a->eif_path,
			   strerror(errno));
		goto out;
	}
	if (check_image(spec, err) < 0 || enclave_check_memory(a->mem_mib, spec->eif_size, err) < 0)
		goto out;
	spec->mem_mib = a->mem_mib;
	spec->debug = a->debug;
	spec->owner = getuid();
	if (a->ncpu_ids > 0) {
		for (int i = 0; i < a->ncpu_ids; i++)
			if (!online_cpu(a->cpu_ids[i])) {
				carve_fail(err, E21_NO_SUCH_CPU_IN_POOL, "CPU %d does not exist on this host",
					   a->cpu_ids[i]);
				goto out;
			}
		memcpy(spec->cpu_ids, a->cpu_ids, sizeof(int) * (size_t)a->ncpu_ids);
		spec->ncpus = a->ncpu_ids;
		spec->pinned = true;
	} else {
		long online = sysconf(_SC_NPROCESSORS_ONLN);
		if (a->cpu_count < 1 || a->cpu_count > ENCLAVE_MAX_CPUS) {
			carve_fail(err, E03_INVALID_ARGUMENT, "--cpu-count must be 1 to %d", ENCLAVE_MAX_CPUS);
			goto out;
		}
		if (online > 0 && a->cpu_count > online) {
			carve_fail(err, E22_INSUFFICIENT_CPUS, "%d CPUs requested but the host has %ld",
				   a->cpu_count, online);
			goto out;
		}
		spec->ncpus = a->cpu_count;
	}
	spec->timeout_ms = a->timeout_ms ? a->timeout_ms
					 : enclave_boot_timeout_ms(spec->eif_size, spec->mem_mib << 20);

	char base[REGISTRY_NAME_MAX];
	if (a->name)
		snprintf(base, sizeof(base), "%s", a->name);
	else
		enclave_default_name(spec->eif_path, base, sizeof(base));
	if (registry_reserve(base, a->cid, getpid(), &spec->reg, err) < 0)
		goto out;
	enclave_format_id(spec->reg.slot, spec->id, sizeof(spec->id));

	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		registry_release(spec->reg.slot);
		carve_fail(err, E04_SOCKETPAIR_CREATION, "pipe: %s", strerror(errno));
		goto out;
	}
	fflush(NULL);
	pid_t child = fork();
	if (child < 0) {
		registry_release(spec->reg.slot);
		carve_fail(err, E05_PROCESS_SPAWN, "fork: %s", strerror(errno));
		goto out;
	}
	if (child == 0) {
		/* Detach: a new session, then a grandchild that init adopts, so
		 * the enclave outlives the CLI and has no controlling terminal. */
		close(pipefd[0]);
		setsid();
		pid_t gc = fork();
		if (gc != 0)
			_exit(gc < 0 ? 1 : 0);
		struct carve_err e2 = {0};
		registry_reservation_update_pid(&spec->reg, getpid(), &e2);
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			if (!a->keep_stderr)
				dup2(null, STDERR_FILENO);
		}
		if (chdir("/") < 0)
			_exit(1);
		enclave_process_main(spec, pipefd[1]);
	}
	close(pipefd[1]);
	int status;
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	pid_t pid = 0;
	rc = read_report(pipefd[0], &pid, err);
	close(pipefd[0]);
	if (rc < 0)
		goto out;
	memset(res, 0, sizeof(*res));
	snprintf(res->name, sizeof(res->name), "%s", spec->reg.name);
	snprintf(res->id, sizeof(res->id), "%s", spec->id);
	res->pid = pid;
	res->cid = spec->reg.cid;
	res->ncpus = spec->ncpus;
	res->pinned = spec->pinned;
	memcpy(res->cpu_ids, spec->cpu_ids, sizeof(res->cpu_ids));
	res->mem_mib = spec->mem_mib;
	res->debug = spec->debug;
out:
	free(spec->metadata);
	free(spec);
	return rc;
}
