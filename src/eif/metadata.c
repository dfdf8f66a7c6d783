/* The metadata section (aws-nitro-enclaves-image-format's metadata section): compact JSON with
 * AWS's key order, so tools that read nitro-cli's images read ours. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "eif/format.h"
#include "eif/metadata.h"

/* nitro-cli takes OS and kernel version from line 3 of the kernel's .config
 * ("# Linux/x86 6.1.0 Kernel Configuration"): Rust's split on ' ', '/' and
 * '-', which keeps the empty pieces between two separators, words 1 and 3,
 * each "Unknown" when the line has fewer (aws-nitro-enclaves-image-format
 * src/utils/identity.rs generate_build_info; BufRead::lines drops "\n" or
 * "\r\n"). */
void eif_kernel_config_words(const char *line, char *os, size_t os_len, char *ver, size_t ver_len)
{
	size_t n = strcspn(line, "\n");
	if (n > 0 && line[n - 1] == '\r' && line[n] == '\n')
		n--;
	snprintf(os, os_len, "Unknown");
	snprintf(ver, ver_len, "Unknown");
	size_t word = 0, start = 0;
	for (size_t i = 0; i <= n && word <= 3; i++) {
		if (i < n && !strchr(" /-", line[i]))
			continue;
		if (word == 1)
			snprintf(os, os_len, "%.*s", (int)(i - start), line + start);
		else if (word == 3)
			snprintf(ver, ver_len, "%.*s", (int)(i - start), line + start);
		word++;
		start = i + 1;
	}
}

static bool from_kernel_config(const char *kernel_path, char *os, size_t os_len, char *ver, size_t ver_len)
{
	char path[4096];
	if (snprintf(path, sizeof(path), "%s.config", kernel_path) >= (int)sizeof(path))
		return false;
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	char line[512] = "";
	for (int i = 0; i < 3; i++)
		if (!fgets(line, sizeof(line), f)) {
			fclose(f);
			return false;
		}
	fclose(f);
	eif_kernel_config_words(line, os, os_len, ver, ver_len);
	return true;
}

/* A bzImage names its version in the setup header: "HdrS" at 0x202, and at
 * 0x20e a pointer (relative to 0x200) to "6.12.38+deb13-cloud-amd64 (...)". */
static bool from_bzimage(int fd, char *os, size_t os_len, char *ver, size_t ver_len)
{
	uint8_t hdr[0x210];
	if (pread_full(fd, hdr, sizeof(hdr), 0) < 0 || memcmp(hdr + 0x202, "HdrS", 4) != 0)
		return false;
	uint16_t ptr = (uint16_t)(hdr[0x20e] | hdr[0x20f] << 8);
	if (ptr == 0)
		return false;
	char text[128];
	if (pread_full(fd, text, sizeof(text), 0x200u + ptr) < 0)
		return false;
	text[sizeof(text) - 1] = '\0';
	size_t n = strcspn(text, " ");
	if (n == 0 || n >= ver_len)
		return false;
	for (size_t i = 0; i < n; i++)
		if (text[i] < 0x21 || text[i] > 0x7e)
			return false;
	memcpy(ver, text, n);
	ver[n] = '\0';
	snprintf(os, os_len, "Linux");
	return true;
}

void eif_build_time(time_t requested, struct timespec *out)
{
	*out = (struct timespec){.tv_sec = requested};
	if (requested >= 0)
		return;
	/* Reproducible builds: https://reproducible-builds.org/specs/source-date-epoch/ */
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	if (sde && *sde) {
		char *end;
		long long v = strtoll(sde, &end, 10);
		if (*end == '\0' && v >= 0) {
			out->tv_sec = (time_t)v;
			return;
		}
	}
	/* nitro-cli's Utc::now(), nanoseconds and all. */
	clock_gettime(CLOCK_REALTIME, out);
}

int eif_metadata_build(const struct eif_build_opts *o, int kernel_fd, char **out, size_t *out_len,
		       struct carve_err *err)
{
	json_object *custom = NULL;
	if (o->metadata_path) {
		uint8_t *data;
		size_t len;
		if (file_read_all(o->metadata_path, EIF_USER_METADATA_MAX, &data, &len, E48_EIF_BUILDING,
				  err) < 0)
			return -1;
		json_tokener *tok = json_tokener_new();
		custom = json_tokener_parse_ex(tok, (const char *)data, (int)len);
		enum json_tokener_error jerr = json_tokener_get_error(tok);
		size_t used = (size_t)json_tokener_get_parse_end(tok);
		json_tokener_free(tok);
		bool trailing = false;
		for (size_t i = used; jerr == json_tokener_success && i < len; i++)
			if (!strchr(" \t\r\n", data[i]))
				trailing = true;
		free(data);
		if (jerr != json_tokener_success || trailing || !custom) {
			json_object_put(custom);
			return carve_fail(err, E48_EIF_BUILDING, "'%s' is not valid JSON%s%s",
					  o->metadata_path, jerr != json_tokener_success ? ": " : "",
					  jerr != json_tokener_success ? json_tokener_error_desc(jerr) : "");
		}
	}

	char os[64] = "Unknown", kver[128] = "Unknown", when[48];
	if (!from_kernel_config(o->kernel_path, os, sizeof(os), kver, sizeof(kver)))
		from_bzimage(kernel_fd, os, sizeof(os), kver, sizeof(kver));
	struct timespec built;
	eif_build_time(o->build_time, &built);
	rfc3339_chrono(&built, when, sizeof(when));

	char name_buf[256];
	const char *name = o->image_name;
	if (!name) {
		const char *base = strrchr(o->output_path, '/');
		base = base ? base + 1 : o->output_path;
		size_t n = strlen(base);
		if (n > 4 && !strcmp(base + n - 4, ".eif"))
			n -= 4;
		snprintf(name_buf, sizeof(name_buf), "%.*s", (int)n, base);
		name = name_buf;
	}

	json_object *root = json_object_new_object();
	json_object *build = json_object_new_object();
	json_object_object_add(root, "ImageName", json_object_new_string(name));
	json_object_object_add(root, "ImageVersion",
			       json_object_new_string(o->image_version ? o->image_version : "1.0"));
	json_object_object_add(build, "BuildTime", json_object_new_string(when));
	json_object_object_add(build, "BuildTool",
			       json_object_new_string(o->build_tool ? o->build_tool : "carve"));
	json_object_object_add(build, "BuildToolVersion",
			       json_object_new_string(o->build_tool_version ? o->build_tool_version
									    : EIF_BUILD_TOOL_VERSION));
	json_object_object_add(build, "OperatingSystem", json_object_new_string(os));
	json_object_object_add(build, "KernelVersion", json_object_new_string(kver));
	json_object_object_add(root, "BuildMetadata", build);
	/* Built by carve from an image, so it parses; a failure leaves null. */
	json_object_object_add(root, "DockerInfo",
			       o->docker_info ? json_tokener_parse(o->docker_info) : NULL);
	json_object_object_add(root, "CustomMetadata", custom);

	const char *text =
		json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	*out = strdup(text);
	*out_len = strlen(text);
	json_object_put(root);
	if (!*out)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	return 0;
}
