/* The CLI's side of talking to running enclaves (see carve/launch.h). */
#include <errno.h>
#include <stdbool.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "carve/control.h"
#include "carve/launch.h"
#include "carve/util.h"
#include "enclave/process.h"
#include "enclave/registry.h"

/* Terminating a VM is quick, but a guest mid-instruction in an emulated
 * kernel may take a moment to reach an exit. */
#define TERMINATE_TIMEOUT_MS 60000
/* How long the console of a stopped enclave is kept. */
#define SAVED_CONSOLE_SECONDS 3600

/* Error replies are {"error": text, "code": n}. */
static int reply_error(const char *line, struct carve_err *err)
{
	json_object *o = json_tokener_parse(line), *e, *c;
	int rc = 0;
	if (o && json_object_object_get_ex(o, "error", &e)) {
		int code = json_object_object_get_ex(o, "code", &c) ? json_object_get_int(c)
								    : E38_COMMAND_NOT_EXECUTED;
		rc = carve_fail(err, code, "%s", json_object_get_string(e));
	}
	json_object_put(o);
	return rc;
}

/* What the registry knows of an enclave that holds its lock but did not
 * answer (stopped, or its control socket swamped): listed, not taken for
 * dead, with State UNRESPONSIVE. */
static char *unresponsive_json(const struct registry_entry *e)
{
	struct enclave_summary sum = {
		.name = e->name,
		.id = e->id,
		.pid = e->pid,
		.cid = e->cid,
		.vcpus = e->vcpus,
		.cpu_ids = e->cpus,
		.ncpu_ids = e->ncpus,
		.mem_mib = e->mem_mib,
		.debug = e->debug,
	};
	json_object *o = enclave_summary_json(&sum, "UNRESPONSIVE");
	char *text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return text;
}

int enclave_describe_all(bool metadata, char ***lines, int *n, struct carve_err *err)
{
	struct registry_entry *list;
	int count;
	*lines = NULL;
	*n = 0;
	if (registry_list(&list, &count, err) < 0)
		return -1;
	char **out = calloc((size_t)count + 1, sizeof(*out));
	int k = 0;
	struct control_request req = {.cmd = CONTROL_DESCRIBE, .metadata = metadata};
	for (int i = 0; out && i < count; i++) {
		if (list[i].starting)
			continue;
		int fd = registry_send(list[i].slot, &req);
		char line[CONTROL_MSG_MAX];
		bool answered = fd >= 0 && registry_read_line(fd, line, sizeof(line), 3000) > 0 &&
			!strstr(line, "\"error\"");
		if (fd >= 0)
			close(fd);
		if (answered)
			out[k++] = strdup(line);
		else if (registry_slot_alive(list[i].slot))
			out[k++] = unresponsive_json(&list[i]); /* alive, but stopped or swamped */
	}
	free(list);
	if (!out)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	*lines = out;
	*n = k;
	return 0;
}

int enclave_find_all(struct enclave_ref **out, int *n, struct carve_err *err)
{
	struct registry_entry *list;
	int count;
	if (registry_list(&list, &count, err) < 0)
		return -1;
	struct enclave_ref *refs = calloc((size_t)count + 1, sizeof(*refs));
	int k = 0;
	/* The listing already asked each enclave process who it is. */
	for (int i = 0; refs && i < count; i++) {
		if (list[i].starting)
			continue;
		refs[k].slot = list[i].slot;
		snprintf(refs[k].name, sizeof(refs[k].name), "%s", list[i].name);
		snprintf(refs[k].id, sizeof(refs[k].id), "%s", list[i].id);
		k++;
	}
	free(list);
	if (!refs)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	*out = refs;
	*n = k;
	return 0;
}

int enclave_find(const char *id, const char *name, struct enclave_ref *out, int *matches,
		 struct carve_err *err)
{
	struct enclave_ref *all;
	int n, ignored;
	if (!matches)
		matches = &ignored;
	*matches = -1;
	if (enclave_find_all(&all, &n, err) < 0)
		return -1;
	int found = 0;
	for (int i = 0; i < n; i++) {
		bool match = id ? !strcmp(all[i].id, id) : !strcmp(all[i].name, name);
		if (match && found++ == 0)
			*out = all[i];
	}
	free(all);
	*matches = found;
	/* nitro-cli connects to the id's socket and fails with SocketError,
	 * "Failed to connect to specific enclave process" (enclave_proc_comm.rs:
	 * 128-138), for terminate-enclave and console alike. */
	if (id && found == 0)
		return carve_fail(err, E11_SOCKET,
				  "Failed to connect to specific enclave process: no running enclave has "
				  "the id '%s'; run 'carve describe-enclaves'",
				  id);
	if (!id && found == 0)
		return carve_fail(err, E58_ENCLAVE_NAMING, "no running enclave is named '%s'", name);
	if (!id && found > 1)
		return carve_fail(err, E58_ENCLAVE_NAMING, "%d enclaves are named '%s'; use --enclave-id",
				  found, name);
	return 0;
}

/* How long after it stopped an enclave still counts as "just terminated"
 * for a terminate that raced the one that stopped it. */
#define JUST_STOPPED_SECONDS 30

int enclave_find_just_stopped(const char *id, const char *name, struct enclave_ref *out)
{
	uint64_t slot = 0;
	char rec[4096];
	struct stat st;
	if (id ? enclave_parse_id(id, &slot) < 0 : registry_find_exited(name, &slot) < 0)
		return -1;
	registry_path(slot, "exited", rec, sizeof(rec));
	if (stat(rec, &st) < 0 || time(NULL) - st.st_mtime > JUST_STOPPED_SECONDS)
		return -1;
	json_object *o = registry_read_json(rec), *v;
	int rc = -1;
	if (o && json_object_object_get_ex(o, "EnclaveName", &v)) {
		memset(out, 0, sizeof(*out));
		out->slot = slot;
		snprintf(out->name, sizeof(out->name), "%s", json_object_get_string(v));
		if (json_object_object_get_ex(o, "EnclaveID", &v))
			snprintf(out->id, sizeof(out->id), "%s", json_object_get_string(v));
		rc = id && strcmp(out->id, id) ? -1 : 0;
	}
	json_object_put(o);
	/* Stopped, but its process may still be releasing memory and CPUs. */
	if (rc == 0)
		(void)registry_wait_gone(slot, TERMINATE_TIMEOUT_MS);
	return rc;
}

int enclave_terminate(const struct enclave_ref *ref, struct carve_err *err)
{
	struct control_request req = {.cmd = CONTROL_TERMINATE};
	int fd = registry_send(ref->slot, &req);
	char line[CONTROL_MSG_MAX];
	int n = fd >= 0 ? registry_read_line(fd, line, sizeof(line), TERMINATE_TIMEOUT_MS) : -1;
	int saved = errno;
	if (fd >= 0)
		close(fd);
	if (n > 0 && reply_error(line, err) < 0)
		return -1;
	/* Its listen queue full (a stopped or swamped process): nothing to
	 * wait for. A socket gone or refusing means it is on its way out. */
	if (fd < 0 && saved == EAGAIN && registry_slot_alive(ref->slot))
		return carve_fail(err, E39_ENCLAVE_PROCESS_CONNECTION,
				  "cannot reach enclave %s: its control socket is not accepting connections "
				  "(the process is stopped or swamped)",
				  ref->id);
	/* Idempotent: terminated by us, by a terminate beside ours, or gone
	 * since the listing, it is done once its process has let go of
	 * everything (its lock), so that a run-enclave right after us finds
	 * its CPUs, memory and CID free. */
	if (registry_wait_gone(ref->slot, TERMINATE_TIMEOUT_MS) == 0)
		return 0;
	if (n <= 0)
		return carve_fail(err, E39_ENCLAVE_PROCESS_CONNECTION, "cannot reach enclave %s: %s", ref->id,
				  fd < 0 ? strerror(saved) : "it did not confirm its termination");
	return carve_fail(err, E39_ENCLAVE_PROCESS_CONNECTION,
			  "enclave %s confirmed its termination but its process still runs after %d s",
			  ref->id, TERMINATE_TIMEOUT_MS / 1000);
}

int enclave_console_open(const struct enclave_ref *ref, struct carve_err *err)
{
	struct control_request req = {.cmd = CONTROL_CONSOLE};
	int fd = registry_send(ref->slot, &req);
	if (fd < 0)
		return carve_fail(err, E44_CONSOLE_CONNECTION, "cannot reach enclave %s: %s", ref->id,
				  strerror(errno));
	char line[CONTROL_MSG_MAX];
	if (registry_read_line(fd, line, sizeof(line), 20000) <= 0) {
		close(fd);
		return carve_fail(err, E44_CONSOLE_CONNECTION, "enclave %s did not answer", ref->id);
	}
	if (reply_error(line, err) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int enclave_subpages(const struct enclave_ref *ref, uint64_t gfn, uint32_t npages, char **json,
		     struct carve_err *err)
{
	struct control_request req = {
		.cmd = CONTROL_SUBPAGES, .has_range = npages > 0, .gfn = gfn, .npages = npages};
	int fd = registry_send(ref->slot, &req);
	if (fd < 0)
		return carve_fail(err, E39_ENCLAVE_PROCESS_CONNECTION, "cannot reach enclave %s: %s", ref->id,
				  strerror(errno));
	char line[CONTROL_MSG_MAX];
	int n = registry_read_line(fd, line, sizeof(line), 20000);
	close(fd);
	if (n <= 0)
		return carve_fail(err, E39_ENCLAVE_PROCESS_CONNECTION, "enclave %s did not answer", ref->id);
	if (reply_error(line, err) < 0)
		return -1;
	*json = strdup(line);
	return *json ? 0 : carve_fail(err, E00_UNSPECIFIED, "out of memory");
}

int enclave_saved_console(const char *id, const char *name, char *path, size_t len, bool *debug,
			  struct carve_err *err)
{
	/* <slot>.exited records the name, id and flags; <slot>.console the output. */
	uint64_t slot = 0;
	char rec[4096];
	bool found;
	if (id)
		found = enclave_parse_id(id, &slot) == 0;
	else
		found = registry_find_exited(name, &slot) == 0;
	registry_path(slot, "exited", rec, sizeof(rec));
	struct stat st;
	if (!found || stat(rec, &st) < 0 || time(NULL) - st.st_mtime > SAVED_CONSOLE_SECONDS)
		return carve_fail(err, id ? E11_SOCKET : E58_ENCLAVE_NAMING,
				  "no enclave %s '%s' is running or stopped in the last hour",
				  id ? "with the id" : "named", id ? id : name);
	uint8_t *data;
	size_t dlen;
	*debug = false;
	if (file_read_all(rec, 4096, &data, &dlen, E19_FILE_OPERATION, err) < 0)
		return -1;
	json_object *o = json_tokener_parse((const char *)data), *v;
	if (o && json_object_object_get_ex(o, "Flags", &v))
		*debug = !strcmp(json_object_get_string(v), "DEBUG_MODE");
	json_object_put(o);
	free(data);
	registry_path(slot, "console", path, len);
	return 0;
}
