/* The CLI's side of talking to running enclaves (see carve/launch.h). */
#include <errno.h>
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
		int code = json_object_object_get_ex(o, "code", &c) ? json_object_get_int(c) : E38_COMMAND_NOT_EXECUTED;
		rc = carve_fail(err, code, "%s", json_object_get_string(e));
	}
	json_object_put(o);
	return rc;
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
		if (fd < 0)
			continue; /* stopped since the listing */
		char line[CONTROL_MSG_MAX];
		if (registry_read_line(fd, line, sizeof(line), 3000) > 0 && !strstr(line, "\"error\""))
			out[k++] = strdup(line);
		close(fd);
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

int enclave_find(const char *id, const char *name, struct enclave_ref *out, struct carve_err *err)
{
	struct enclave_ref *all;
	int n;
	if (enclave_find_all(&all, &n, err) < 0)
		return -1;
	int found = 0;
	for (int i = 0; i < n; i++) {
		bool match = id ? !strcmp(all[i].id, id) : !strcmp(all[i].name, name);
		if (match && found++ == 0)
			*out = all[i];
	}
	free(all);
	if (id && found == 0)
		return carve_fail(err, E40_SOCKET_PATH_NOT_FOUND,
				  "no running enclave has the id '%s'; run 'carve describe-enclaves'", id);
	if (!id && found == 0)
		return carve_fail(err, E58_ENCLAVE_NAMING, "no running enclave is named '%s'", name);
	if (!id && found > 1)
		return carve_fail(err, E58_ENCLAVE_NAMING, "%d enclaves are named '%s'; use --enclave-id",
				  found, name);
	return 0;
}

int enclave_terminate(const struct enclave_ref *ref, struct carve_err *err)
{
	struct control_request req = {.cmd = CONTROL_TERMINATE};
	int fd = registry_send(ref->slot, &req);
	if (fd < 0)
		return carve_fail(err, E39_ENCLAVE_PROCESS_CONNECTION, "cannot reach enclave %s: %s", ref->id,
				  strerror(errno));
	char line[CONTROL_MSG_MAX];
	int n = registry_read_line(fd, line, sizeof(line), TERMINATE_TIMEOUT_MS);
	close(fd);
	if (n <= 0)
		return carve_fail(err, E39_ENCLAVE_PROCESS_CONNECTION,
				  "enclave %s did not confirm its termination", ref->id);
	if (reply_error(line, err) < 0)
		return -1;
	return 0;
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
		return carve_fail(err, E40_SOCKET_PATH_NOT_FOUND,
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
