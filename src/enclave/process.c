/* The enclave process (see process.h).
 *
 * One thread runs the VM (vmm_run); the main thread runs an event loop over
 * the console pipe, the control socket and its clients, a signalfd and an
 * eventfd that the VM thread raises when the VM stops. Everything the loop
 * touches belongs to it alone, so nothing here needs a lock. */
#include "enclave/process.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "carve/control.h"
#include "carve/crypto.h"
#include "carve/launch.h"
#include "carve/machine.h"
#include "carve/log.h"
#include "carve/util.h"
#include "carve/vmm.h"
#include "carve/confine.h"
#include "carve/mempool.h"
#include "enclave/console_buf.h"

#define CONSOLE_BUF_SIZE (1u << 20)
/* Control clients: at most MAX_CLIENTS at once, of which one uid other than
 * root may hold MAX_CLIENTS_PER_UID, and a client has REQUEST_DEADLINE_MS
 * to send its request: one user holding connections, or a stopped or slow
 * client, never shuts out root or another user. */
#define MAX_CLIENTS 256
#define MAX_CLIENTS_PER_UID 16
#define REQUEST_DEADLINE_MS 5000
#define CONSOLE_CHUNK 4096

struct client {
	int fd;
	uid_t uid;
	bool console_group; /* a member of the enclave's console group */
	char in[CONTROL_REQUEST_MAX];
	size_t in_len;
	bool streaming;       /* console reader */
	bool terminator;      /* asked to terminate: answered once stopped */
	uint64_t pos;         /* its position in the console buffer */
	uint64_t deadline_ns; /* its request must be in by then */
};

struct eproc {
	const struct enclave_spec *spec;
	struct vmm *vm;
	pthread_t vm_thread;
	bool vm_running;
	int stop_efd;
	struct vmm_stop_info stop;
	struct carve_err vm_err;
	int vm_rc;
	int console_rd, console_wr;
	struct console_buf console;
	int listen_fd;
	int signal_fd;
	int heartbeat_fd;
	struct machine *machine; /* the VM and its devices */
	char sock_path[108];
	struct client *clients; /* MAX_CLIENTS of them, on the heap */
	int nclients;
	uint64_t start_ns;
	bool terminating;
	uint64_t shutdown_deadline_ns; /* a guest asked to shut down is stopped then; 0: none */
	/* Boot: until the heartbeat the launcher waits on report_fd. */
	bool booted;
	int report_fd;
	uint64_t boot_deadline_ns;
	struct event_log log;
	bool af_vsock_used; /* the CID is the host kernel's too (vhost-vsock) */
};

static void *vm_thread_main(void *arg)
{
	struct eproc *p = arg;
	pthread_setname_np(pthread_self(), "vm"); /* starts and joins the vCPU threads */
	p->vm_rc = vmm_run(p->vm, &p->stop, &p->vm_err);
	uint64_t one = 1;
	if (write(p->stop_efd, &one, sizeof(one)) < 0) {
		/* The loop also polls for the thread; nothing more to do. */
	}
	return NULL;
}

static void report(int fd, int code, const char *msg)
{
	if (fd < 0)
		return;
	json_object *o = json_object_new_object();
	if (code) {
		json_object_object_add(o, "error", json_object_new_string(msg));
		json_object_object_add(o, "code", json_object_new_int(code));
	} else {
		json_object_object_add(o, "ok", json_object_new_boolean(1));
		json_object_object_add(o, "pid", json_object_new_int(getpid()));
	}
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (write_full(fd, text, strlen(text)) == 0)
		(void)write_full(fd, "\n", 1);
	json_object_put(o);
	close(fd);
}

/* Drains the console pipe into the ring buffer. */
static void pump_console(struct eproc *p)
{
	uint8_t buf[CONSOLE_CHUNK];
	for (;;) {
		ssize_t n = read(p->console_rd, buf, sizeof(buf));
		if (n <= 0)
			break;
		console_buf_append(&p->console, buf, (size_t)n);
	}
}

json_object *enclave_summary_json(const struct enclave_summary *s, const char *state)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "EnclaveName", json_object_new_string(s->name));
	json_object_object_add(o, "EnclaveID", json_object_new_string(s->id));
	json_object_object_add(o, "ProcessID", json_object_new_int(s->pid));
	json_object_object_add(o, "EnclaveCID", json_object_new_int64((int64_t)s->cid));
	json_object_object_add(o, "NumberOfCPUs", json_object_new_int(s->vcpus));
	json_object_object_add(o, "CPUIDs", json_int_array(s->cpu_ids, s->ncpu_ids));
	json_object_object_add(o, "MemoryMiB", json_object_new_int64((int64_t)s->mem_mib));
	json_object_object_add(o, "State", json_object_new_string(state));
	json_object_object_add(o, "Flags", json_object_new_string(s->debug ? "DEBUG_MODE" : "NONE"));
	return o;
}

/* Development mode's vCPUs are not pinned: they may run on any CPU this
 * process may, its affinity (inherited by the vCPU threads). */
static int unpinned_cpus(int *out, int max)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 0;
	int n = 0;
	for (int c = 0; c < CPU_SETSIZE && n < max; c++)
		if (CPU_ISSET(c, &set))
			out[n++] = c;
	return n;
}

json_object *enclave_describe_json(const struct enclave_spec *spec, const char *state, bool metadata,
				   pid_t pid)
{
	int anywhere[ENCLAVE_MAX_CPUS];
	int nanywhere = spec->pinned ? 0 : unpinned_cpus(anywhere, ENCLAVE_MAX_CPUS);
	struct enclave_summary sum = {
		.name = spec->reg.name,
		.id = spec->id,
		.pid = pid,
		.cid = spec->reg.cid,
		.vcpus = spec->ncpus,
		.cpu_ids = spec->pinned ? spec->cpu_ids : anywhere,
		.ncpu_ids = spec->pinned ? spec->ncpus : nanywhere,
		.mem_mib = spec->mem_mib,
		.debug = spec->debug,
	};
	json_object *o = enclave_summary_json(&sum, state);
	char hex[2 * PCR_LEN + 1];
	json_object *m = json_object_new_object();
	json_object_object_add(m, "HashAlgorithm", json_object_new_string("Sha384 { ... }"));
	const uint8_t *pcrs[] = {spec->m.pcr0, spec->m.pcr1, spec->m.pcr2, spec->m.pcr8};
	const char *names[] = {"PCR0", "PCR1", "PCR2", "PCR8"};
	for (int i = 0; i < (spec->m.has_pcr8 ? 4 : 3); i++) {
		hex_encode(pcrs[i], PCR_LEN, hex);
		json_object_object_add(m, names[i], json_object_new_string(hex));
	}
	json_object_object_add(o, "Measurements", m);
	if (metadata && spec->metadata) {
		json_object *meta = json_tokener_parse(spec->metadata), *v;
		if (meta && json_object_is_type(meta, json_type_object)) {
			if (json_object_object_get_ex(meta, "ImageName", &v))
				json_object_object_add(o, "ImageName", json_object_get(v));
			if (json_object_object_get_ex(meta, "ImageVersion", &v))
				json_object_object_add(o, "ImageVersion", json_object_get(v));
			json_object *flat = json_object_new_object();
			if (json_object_object_get_ex(meta, "BuildMetadata", &v) &&
			    json_object_is_type(v, json_type_object)) {
				json_object_object_foreach(v, key, val)
					json_object_object_add(flat, key, json_object_get(val));
			}
			if (json_object_object_get_ex(meta, "DockerInfo", &v))
				json_object_object_add(flat, "DockerInfo", json_object_get(v));
			if (json_object_object_get_ex(meta, "CustomMetadata", &v) &&
			    json_object_is_type(v, json_type_object)) {
				json_object_object_foreach(v, key, val)
					json_object_object_add(flat, key, json_object_get(val));
			}
			json_object_object_add(o, "Metadata", flat);
		}
		json_object_put(meta);
	}
	return o;
}

static void send_json_line(int fd, json_object *o)
{
	const char *text =
		json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK); /* replies are small: send them whole */
	if (write_full(fd, text, strlen(text)) == 0)
		(void)write_full(fd, "\n", 1);
	fcntl(fd, F_SETFL, fl);
}

static void send_error(int fd, int code, const char *msg)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "error", json_object_new_string(msg));
	json_object_object_add(o, "code", json_object_new_int(code));
	send_json_line(fd, o);
	json_object_put(o);
}

static void drop_client(struct eproc *p, int i)
{
	close(p->clients[i].fd);
	p->clients[i] = p->clients[--p->nclients];
}

/* How long a guest asked to shut down (terminate, SIGTERM) has before the
 * VM is stopped: carve-init gives the program 5 s after SIGTERM, then kills
 * it and powers off; the rest is for the kernel's own power-off. */
#define SHUTDOWN_GRACE_MS 8000

/* Terminate and SIGTERM ask the guest first (graceful): a Linux guest gets
 * Ctrl-Alt-Del, so carve-init passes SIGTERM to the program and reports its
 * exit. A guest that cannot hear it (the carve kernel) or has failed to boot
 * is stopped at once. */
static void begin_terminate(struct eproc *p, bool graceful)
{
	if (!p->terminating)
		event_log(&p->log, "terminating");
	if (!p->terminating && p->vm_running) {
		if (graceful && p->booted && vmm_request_shutdown(p->vm) == 0) {
			event_log(&p->log,
				  "asked the guest to shut down (Ctrl-Alt-Del on its keyboard); "
				  "it is stopped in %d s if it has not",
				  SHUTDOWN_GRACE_MS / 1000);
			p->shutdown_deadline_ns = monotonic_ns() + SHUTDOWN_GRACE_MS * 1000000ull;
		} else {
			vmm_request_stop(p->vm);
		}
	}
	p->terminating = true;
}

/* A guest asked to shut down that has not done so in time is stopped. */
static void shutdown_events(struct eproc *p)
{
	if (!p->shutdown_deadline_ns || monotonic_ns() < p->shutdown_deadline_ns)
		return;
	p->shutdown_deadline_ns = 0;
	event_log(&p->log, "the guest did not shut down within %d s: stopping it", SHUTDOWN_GRACE_MS / 1000);
	vmm_request_stop(p->vm);
}

/* Milliseconds until the earlier of two deadlines (0 = none); -1 when neither. */
static int ms_until(uint64_t a_ns, uint64_t b_ns)
{
	uint64_t next = a_ns && (!b_ns || a_ns < b_ns) ? a_ns : b_ns;
	if (!next)
		return -1;
	uint64_t now = monotonic_ns();
	return now >= next ? 0 : (int)((next - now) / 1000000 + 1);
}

/* Handles one complete request line from client i; returns false to drop it. */
static bool handle_request(struct eproc *p, int i, const char *line, size_t len)
{
	struct client *c = &p->clients[i];
	struct control_request req;
	struct carve_err err = {0};
	if (control_parse_request(line, len, &req, &err) < 0) {
		send_error(c->fd, err.code, err.msg);
		return false;
	}
	switch (req.cmd) {
	case CONTROL_DESCRIBE: {
		json_object *o = enclave_describe_json(p->spec,
						       p->terminating      ? "TERMINATING"
							       : p->booted ? "RUNNING"
									   : "STARTING",
						       req.metadata, getpid());
		send_json_line(c->fd, o);
		json_object_put(o);
		return true;
	}
	case CONTROL_SUBPAGES: {
		json_object *o = p->vm ? enclave_subpages_json(p->vm, &req) : NULL;
		if (!o) {
			send_error(c->fd, E17_SERDE,
				   p->vm ? "the table refuses that range" : "the VM is not built yet");
			return false;
		}
		send_json_line(c->fd, o);
		json_object_put(o);
		return true;
	}
	case CONTROL_TERMINATE:
		event_log(&p->log, "terminate requested by uid %u", (unsigned)c->uid);
		if (c->uid != 0 && c->uid != p->spec->owner) {
			send_error(c->fd, E18_FILE_PERMISSIONS,
				   "only the enclave's owner and root may terminate it");
			return false;
		}
		begin_terminate(p, true);
		c->terminator = true; /* every one of them gets the answer */
		return true;
	case CONTROL_CONSOLE:
		if (c->uid != 0 && c->uid != p->spec->owner && !c->console_group) {
			send_error(c->fd, E18_FILE_PERMISSIONS,
				   "only the enclave's owner, root and its console group (run-enclave "
				   "--console-group) may read its console");
			return false;
		}
		if (!p->spec->debug) {
			send_error(c->fd, E44_CONSOLE_CONNECTION,
				   "The enclave was not started with the debug flag set, include "
				   "'--debug-mode' in the run-enclave command");
			return false;
		}
		json_object *accepted = json_object_new_object(); /* {} = accepted */
		send_json_line(c->fd, accepted);
		json_object_put(accepted);
		c->streaming = true;
		c->pos = console_buf_start(&p->console);
		return true;
	}
	return false;
}

/* Reads what a client sent; returns false to drop it. */
static bool client_readable(struct eproc *p, int i)
{
	struct client *c = &p->clients[i];
	if (c->streaming) { /* a console reader sends nothing; EOF means gone */
		char junk[64];
		ssize_t n = read(c->fd, junk, sizeof(junk));
		return n > 0 || (n < 0 && errno == EAGAIN);
	}
	ssize_t n = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0)
		return false;
	c->in_len += (size_t)n;
	char *nl = memchr(c->in, '\n', c->in_len);
	if (!nl) {
		if (c->in_len == sizeof(c->in)) {
			send_error(c->fd, E17_SERDE, "control request too long");
			return false;
		}
		return true;
	}
	/* One request per connection, as nitro-cli's. */
	return handle_request(p, i, c->in, (size_t)(nl - c->in) + 1) && (c->streaming || c->terminator);
}

/* Sends console reader i what it has not seen; false to drop it. */
static bool client_feed(struct eproc *p, int i)
{
	struct client *c = &p->clients[i];
	uint8_t buf[CONSOLE_CHUNK];
	for (;;) {
		uint64_t dropped, pos = c->pos;
		size_t n = console_buf_read(&p->console, &pos, buf, sizeof(buf), &dropped);
		if (dropped) {
			char note[96];
			int m = snprintf(note, sizeof(note),
					 "\n[carve: %llu console bytes dropped: reader too slow]\n",
					 (unsigned long long)dropped);
			if (write(c->fd, note, (size_t)m) < 0 && errno != EAGAIN)
				return false;
		}
		c->pos = pos - n; /* where this read started, after any skip */
		if (n == 0)
			return true;
		ssize_t w = write(c->fd, buf, n);
		if (w < 0)
			return errno == EAGAIN; /* unsent bytes wait for POLLOUT */
		c->pos += (uint64_t)w;
		if ((size_t)w < n)
			return true;
	}
}

/* Whether the peer's primary or supplementary groups (SO_PEERGROUPS, as the
 * kernel saw them at connect) include gid. */
static bool peer_in_group(int fd, const struct ucred *cred, gid_t gid)
{
	if (cred->gid == gid)
		return true;
	gid_t groups[256];
	socklen_t len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false; /* more than 256 groups, or an old kernel: primary only */
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == gid)
			return true;
	return false;
}

static int clients_of(const struct eproc *p, uid_t uid)
{
	int n = 0;
	for (int i = 0; i < p->nclients; i++)
		n += p->clients[i].uid == uid;
	return n;
}

/* Root always gets in: when every place is taken, the oldest client of the
 * user holding the most connections makes room (never root's, never one
 * waiting for its terminate). -1 if there is none to drop. Only runs when
 * full and root connects: 256 x 256 comparisons at worst. */
static int client_to_make_room_for_root(const struct eproc *p)
{
	int victim = -1, most = 0;
	for (int i = 0; i < p->nclients; i++) {
		const struct client *c = &p->clients[i];
		if (c->uid == 0 || c->terminator)
			continue;
		int n = clients_of(p, c->uid);
		if (n > most) {
			most = n;
			victim = i;
		}
	}
	return victim;
}

static void accept_client(struct eproc *p)
{
	int fd = accept4(p->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		close(fd);
		return;
	}
	if (p->nclients == MAX_CLIENTS && cred.uid == 0) {
		int victim = client_to_make_room_for_root(p);
		if (victim >= 0)
			drop_client(p, victim);
	}
	int same_uid = clients_of(p, cred.uid);
	if (p->nclients == MAX_CLIENTS || (cred.uid != 0 && same_uid >= MAX_CLIENTS_PER_UID)) {
		send_error(fd, E39_ENCLAVE_PROCESS_CONNECTION,
			   "too many connections to this enclave from this user");
		close(fd);
		return;
	}
	struct client *c = &p->clients[p->nclients++];
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->uid = cred.uid;
	c->console_group = p->spec->console_group_set && peer_in_group(fd, &cred, p->spec->console_gid);
	c->deadline_ns = monotonic_ns() + REQUEST_DEADLINE_MS * 1000000ull;
}

/* Clients that have not sent their request in time are dropped; returns
 * the next deadline (0: none). */
static uint64_t expire_clients(struct eproc *p)
{
	uint64_t now = monotonic_ns(), next = 0;
	for (int i = p->nclients - 1; i >= 0; i--) {
		struct client *c = &p->clients[i];
		if (c->streaming || c->terminator)
			continue;
		if (now >= c->deadline_ns) {
			drop_client(p, i);
			continue;
		}
		if (!next || c->deadline_ns < next)
			next = c->deadline_ns;
	}
	return next;
}

static int bind_control_socket(struct eproc *p, struct carve_err *err)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	registry_path(p->spec->reg.slot, "sock", addr.sun_path, sizeof(addr.sun_path));
	snprintf(p->sock_path, sizeof(p->sock_path), "%s", addr.sun_path);
	unlink(addr.sun_path);
	p->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->listen_fd < 0 || bind(p->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(p->listen_fd, 16) < 0)
		return carve_fail(err, E11_SOCKET, "cannot listen on '%s': %s", addr.sun_path,
				  strerror(errno));
	/* Everyone may connect; the process decides per command (SO_PEERCRED). */
	chmod(addr.sun_path, 0766);
	return 0;
}

/* The console of a stopped enclave stays readable: the buffer goes to
 * <slot>.console beside a small <slot>.exited record naming the enclave.
 * Both are written whole or not at all (a full disk leaves no empty files),
 * and a failure is in the event log. */
static void save_console(struct eproc *p)
{
	char path[4096];
	struct carve_err err = {0};
	uint64_t pos = console_buf_start(&p->console), dropped;
	size_t cap = CONSOLE_BUF_SIZE, len = 0, n;
	uint8_t *text = malloc(cap);
	while (text && len < cap &&
	       (n = console_buf_read(&p->console, &pos, text + len, cap - len, &dropped)) > 0)
		len += n;
	registry_path(p->spec->reg.slot, "console", path, sizeof(path));
	/* Like the live console: the enclave's owner and root, and its console
	 * group when it has one. */
	mode_t mode = p->spec->console_group_set ? 0640 : 0600;
	if (!text || file_write_atomic_mode(path, text, len, mode, &err) < 0)
		event_log(&p->log, "console not saved: %s", text ? err.msg : "out of memory");
	else if (p->spec->console_group_set && chown(path, (uid_t)-1, p->spec->console_gid) < 0)
		event_log(&p->log, "saved console left to the owner: chown to group %u: %s",
			  (unsigned)p->spec->console_gid, strerror(errno));
	free(text);
	registry_path(p->spec->reg.slot, "exited", path, sizeof(path));
	json_object *o = json_object_new_object();
	json_object_object_add(o, "EnclaveName", json_object_new_string(p->spec->reg.name));
	json_object_object_add(o, "EnclaveID", json_object_new_string(p->spec->id));
	json_object_object_add(o, "Flags", json_object_new_string(p->spec->debug ? "DEBUG_MODE" : "NONE"));
	json_object_object_add(o, "StopReason", json_object_new_string(vmm_stop_name(p->stop.reason)));
	json_object_object_add(o, "StopDetail", json_object_new_string(p->stop.detail));
	const char *rec = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (file_write_atomic(path, rec, strlen(rec), &err) < 0)
		event_log(&p->log, "exit record not saved: %s", err.msg);
	json_object_put(o);
}

/* A line the guest's init wrote to the carve log port (already printable
 * and bounded by the VMM), from a vCPU thread: event_log writes each line
 * with one write(), so it cannot interleave with the main thread's. */
static void guest_log_line(void *ctx, const char *line) { event_log(ctx, "guest: %s", line); }

/* A device the guest broke or fed bad packets (rate-limited by the machine). */
static void guest_log_fault(void *ctx, const char *line) { event_log(ctx, "device fault: %s", line); }

/* How a device serves, as it changes (the vsock kernel datapath). */
static void device_log_note(void *ctx, const char *line) { event_log(ctx, "device: %s", line); }

/* The VM's own events (write-protect violations: address, size, vCPU, RIP),
 * rate-limited by the VMM, from vCPU threads. */
static void vm_event_line(void *ctx, const char *line) { event_log(ctx, "%s", line); }

static int create_vm(struct eproc *p, struct eif_boot *boot, struct carve_err *err)
{
	const struct enclave_spec *s = p->spec;
	uint64_t mem = s->mem_mib << 20;
	if (eif_boot_load(s->eif_path, mem, boot, err) < 0)
		return -1;
	char vsock_dir[4096];
	enclave_vsock_dir(vsock_dir, sizeof(vsock_dir));
	struct machine_devices_config devices = {
		.module_id = s->id,
		.m = &s->m,
		.debug_mode = s->debug,
		.cid = s->reg.cid,
		.vsock_dir = vsock_dir,
		.heartbeat_fd = p->heartbeat_fd,
		.af_vsock = s->af_vsock,
		.af_vsock_used = &p->af_vsock_used,
	};
	int pin[ENCLAVE_MAX_CPUS];
	for (int i = 0; i < s->ncpus; i++)
		pin[i] = s->pinned ? s->cpu_ids[i] : -1;
	struct vmm_blob blob = {.gpa = EIF_BOOT_GPA, .data = boot->image, .len = boot->image_len};
	struct machine_config cfg = {
		.vm =
			{
				.mem_bytes = mem,
				.ncpus = s->ncpus,
				.pin = pin,
				.console_out = p->console_wr,
				.console_in = -1,
				.guest_log = guest_log_line,
				.guest_log_ctx = &p->log,
				.protect = s->protect,
				.nprotect = s->nprotect,
				.subpage_policy = s->subpage_policy,
				.event = vm_event_line,
				.event_ctx = &p->log,
				.memory_pool = s->memory_pool[0] ? s->memory_pool : NULL,
			},
		.boot =
			{
				.kernel = boot->kernel,
				.kernel_len = boot->kernel_len,
				.initrd = boot->initrd,
				.initrd_len = boot->initrd_len,
				.cmdline = boot->cmdline,
				.blob = &blob,
			},
		.devices = &devices,
		.device_fault = guest_log_fault,
		.device_fault_ctx = &p->log,
		.device_note = device_log_note,
		.device_note_ctx = &p->log,
	};
	int rc = machine_build(&cfg, &p->machine, err);
	/* The image, kernel and ramdisks are in guest memory now; keeping them
	 * would double the enclave's host memory. */
	eif_boot_free(boot);
	if (rc < 0)
		return -1;
	p->vm = machine_vm(p->machine);
	return 0;
}

/* The boot ends: tell the launcher (once) how. */
static void boot_report(struct eproc *p, int code, const char *msg)
{
	if (code)
		event_log(&p->log, "boot failed (E%02d): %s", code, msg);
	else
		event_log(&p->log, "heartbeat received %.1f ms after start: running",
			  (double)(monotonic_ns() - p->start_ns) / 1e6);
	/* With --verbose, events shared run-enclave's stderr while it waited;
	 * from now on they go to the log file only, so the terminal (or a
	 * pipe run-enclave's output goes through) is not held open. */
	if (p->log.to_stderr) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, STDERR_FILENO);
			close(null);
		}
		p->log.to_stderr = false;
	}
	report(p->report_fd, code, msg);
	p->report_fd = -1;
}

/* Heartbeat, boot timeout: the part of the loop that only matters until the
 * enclave has booted. */
static void boot_events(struct eproc *p, bool heartbeat)
{
	if (p->booted || p->report_fd < 0)
		return;
	if (heartbeat) {
		p->booted = true;
		boot_report(p, 0, NULL);
		return;
	}
	if (monotonic_ns() >= p->boot_deadline_ns) {
		char msg[160];
		snprintf(msg, sizeof(msg),
			 "Waiting on enclave to boot failed with error VsockTimeoutError: "
			 "no heartbeat within %llu s",
			 (unsigned long long)(p->spec->timeout_ms / 1000));
		boot_report(p, E36_ENCLAVE_BOOT_FAILURE, msg);
		begin_terminate(p, false);
	}
}

/* The event loop, from before the VM starts until it has stopped: console,
 * control socket (so an enclave can be described and terminated while it
 * boots), signals, heartbeat and boot timeout. */
static void serve(struct eproc *p)
{
	for (;;) {
		struct pollfd fds[5 + MAX_CLIENTS];
		int n = 0;
		fds[n++] = (struct pollfd){.fd = p->console_rd, .events = POLLIN};
		fds[n++] = (struct pollfd){.fd = p->stop_efd, .events = POLLIN};
		fds[n++] = (struct pollfd){.fd = p->signal_fd, .events = POLLIN};
		fds[n++] = (struct pollfd){.fd = p->listen_fd, .events = POLLIN};
		fds[n++] = (struct pollfd){.fd = p->booted ? -1 : p->heartbeat_fd, .events = POLLIN};
		const int first_client = n;
		for (int i = 0; i < p->nclients; i++)
			fds[n++] = (struct pollfd){
				.fd = p->clients[i].fd,
				.events = POLLIN |
					(p->clients[i].streaming && p->clients[i].pos < p->console.written
						 ? POLLOUT
						 : 0)};
		uint64_t client_deadline = expire_clients(p);
		int timeout = ms_until(!p->booted && p->report_fd >= 0 ? p->boot_deadline_ns : 0,
				       p->shutdown_deadline_ns);
		int client_ms = ms_until(client_deadline, 0);
		if (client_ms >= 0 && (timeout < 0 || client_ms < timeout))
			timeout = client_ms;
		if (poll(fds, (nfds_t)n, timeout) < 0 && errno != EINTR)
			continue;
		if (fds[0].revents & POLLIN)
			pump_console(p);
		if (fds[2].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(p->signal_fd, &si, sizeof(si)) > 0)
				begin_terminate(p, true);
		}
		if (fds[3].revents & POLLIN)
			accept_client(p);
		boot_events(p, (fds[4].revents & POLLIN) != 0);
		shutdown_events(p);
		for (int i = p->nclients - 1; i >= 0; i--) {
			short ev = fds[first_client + i].revents;
			if (i >= p->nclients || !ev)
				continue;
			bool keep = true;
			if (ev & (POLLIN | POLLHUP | POLLERR))
				keep = client_readable(p, i);
			if (keep && p->clients[i].streaming)
				keep = client_feed(p, i);
			if (!keep)
				drop_client(p, i);
		}
		for (int i = 0; i < p->nclients; i++)
			if (p->clients[i].streaming && !client_feed(p, i))
				drop_client(p, i--);
		if (fds[1].revents & POLLIN)
			return; /* the VM stopped */
	}
}

void enclave_process_main(const struct enclave_spec *spec, int report_fd)
{
	struct eproc p = {.spec = spec, .listen_fd = -1, .heartbeat_fd = -1, .report_fd = -1};
	struct carve_err err = {0};
	struct eif_boot boot = {0};
	int pipefd[2];
	p.start_ns = monotonic_ns();
	p.clients = calloc(MAX_CLIENTS, sizeof(*p.clients));
	if (!p.clients) {
		report(report_fd, E00_UNSPECIFIED, "out of memory");
		registry_release(spec->reg.slot);
		_exit(1);
	}

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &mask, NULL); /* inherited by the vCPU threads */
	sigdelset(&mask, SIGPIPE);
	p.signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	p.stop_efd = eventfd(0, EFD_CLOEXEC);
	p.heartbeat_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p.signal_fd < 0 || p.stop_efd < 0 || p.heartbeat_fd < 0 || pipe2(pipefd, O_CLOEXEC) < 0 ||
	    console_buf_init(&p.console, CONSOLE_BUF_SIZE) < 0) {
		report(report_fd, E00_UNSPECIFIED, "cannot set up the enclave process");
		_exit(1);
	}
	p.console_rd = pipefd[0];
	p.console_wr = pipefd[1];
	fcntl(p.console_rd, F_SETFL, O_NONBLOCK);
	char log_path[4096];
	registry_path(spec->reg.slot, "log", log_path, sizeof(log_path));
	event_log_open(&p.log, log_path, spec->id);
	event_log(&p.log, "enclave process %d: '%s' from %s, %llu MiB, %d vCPU(s), CID %llu%s", (int)getpid(),
		  spec->reg.name, spec->eif_path, (unsigned long long)spec->mem_mib, spec->ncpus,
		  (unsigned long long)spec->reg.cid, spec->debug ? ", debug mode" : "");

	if (create_vm(&p, &boot, &err) < 0) {
		event_log(&p.log, "VM not created (E%02d): %s", err.code, err.msg);
		report(report_fd, err.code, err.msg);
		registry_release(spec->reg.slot);
		_exit(1);
	}
	/* The control socket exists from now on: the enclave can be described
	 * and terminated while it boots. */
	if (bind_control_socket(&p, &err) < 0) {
		report(report_fd, err.code, err.msg);
		registry_release(spec->reg.slot);
		_exit(1);
	}
	/* Everything the enclave needs exists (memory, devices, control socket);
	 * from here on it runs confined, and so do the threads it starts. The
	 * NSM signs with OpenSSL, loaded on first use (libcrypto_lazy.c): by
	 * now the device has read its CA with it, but a vCPU thread, which may
	 * open no file, must never be the first caller. */
	crypto_preload();
	if (enclave_confine(p.log.fd, spec->id, &err) < 0) {
		event_log(&p.log, "not started: %s", err.msg);
		report(report_fd, err.code, err.msg);
		unlink(p.sock_path);
		registry_release(spec->reg.slot);
		_exit(1);
	}
	event_log(&p.log,
		  "confined: no_new_privs, seccomp (no exec, fork, ptrace, mounts, "
		  "modules or network sockets; an allow-list per thread kind: vCPU, device, control)");
	p.report_fd = report_fd;
	p.boot_deadline_ns = monotonic_ns() + spec->timeout_ms * 1000000ull;
	if (thread_create_sized(&p.vm_thread, THREAD_STACK_VCPU, vm_thread_main, &p) != 0) {
		unlink(p.sock_path);
		report(report_fd, E05_PROCESS_SPAWN, "cannot start the vCPU thread");
		_exit(1);
	}
	p.vm_running = true;
	/* The VM thread (which starts the vCPUs) has its own filters; this one,
	 * the control thread, takes its allow-list now. */
	confine_this_thread(CONFINE_CONTROL_THREAD);

	char prefault[256];
	vmm_prefault_describe(vmm_prefault(p.vm), prefault, sizeof(prefault));
	event_log(&p.log, "memory: %s", prefault);
	const struct guest_mem *gm = vmm_memory(p.vm);
	if (spec->memory_pool[0])
		event_log(&p.log, "memory: %s",
			  !gm->slab ? "the memory pool could not serve; memory made as without one"
				  : mempool_slab_reused(gm->slab)
				  ? "a zeroed slab of the memory pool, taken"
				  : "a new slab of the memory pool, made (given back zeroed at exit)");
	if (p.af_vsock_used)
		event_log(&p.log, "vsock: AF_VSOCK CID %llu through the host kernel (vhost-vsock); %s",
			  (unsigned long long)spec->reg.cid,
			  spec->af_vsock == MACHINE_AF_VSOCK_KERNEL
				  ? "its rings go to the kernel after the heartbeat (the host is CID 2 then)"
				  : "Unix sockets too");
	else
		event_log(&p.log, "vsock: Unix sockets only (%s)",
			  spec->af_vsock == MACHINE_AF_VSOCK_OFF
				  ? "--af-vsock off"
				  : "no /dev/vhost-vsock: modprobe vhost_vsock for AF_VSOCK");
	event_log(&p.log, "VM created in %.1f ms; vCPUs started",
		  (double)(monotonic_ns() - p.start_ns) / 1e6);
	serve(&p);
	pthread_join(p.vm_thread, NULL);
	p.vm_running = false;
	if (p.stop.reason == VMM_STOP_GUEST_EXIT)
		event_log(&p.log, "stopped: the program exited with status %d", p.stop.exit_status);
	else
		event_log(&p.log, "stopped: %s: %s", vmm_stop_name(p.stop.reason), p.stop.detail);
	/* Guest memory was built before the first vCPU ran: what faults the
	 * process took since are its own (device buffers, the console). */
	event_log(&p.log, "host page faults while it ran: %ld", p.stop.host_faults);
	if (spec->nprotect || p.stop.guest_locked_pages)
		event_log(&p.log, "sub-page protection: %llu write(s) applied, %llu violation(s)",
			  (unsigned long long)p.stop.subpage_writes,
			  (unsigned long long)p.stop.subpage_violations);
	pump_console(&p);
	/* The record of the stop first, then the socket goes: a terminate that
	 * lists enclaves in between finds it stopped (the .exited record). */
	save_console(&p);
	unlink(p.sock_path);
	/* Stopped before its heartbeat: run-enclave hears it last (below), once
	 * nothing of the enclave is left, so a failed start returns with its
	 * socket, record, CPUs and memory already free. */
	int fail_fd = -1, fail_code = 0;
	char fail_msg[400];
	if (p.report_fd >= 0) {
		if (p.terminating)
			snprintf(fail_msg, sizeof(fail_msg), "the enclave was terminated while it booted");
		else
			snprintf(fail_msg, sizeof(fail_msg),
				 "the enclave stopped before its heartbeat (%s: %s)",
				 vmm_stop_name(p.stop.reason), p.stop.detail);
		/* A guest that crashed is E76 (its kernel's fault, the console
		 * says where); any other stop before the heartbeat is nitro-cli's
		 * "did not boot". */
		fail_code = !p.terminating && vmm_stop_is_crash(p.stop.reason) ? E76_GUEST_CRASH
									       : E36_ENCLAVE_BOOT_FAILURE;
		event_log(&p.log, "boot failed (E%02d): %s", fail_code, fail_msg);
		fail_fd = p.report_fd;
		p.report_fd = -1;
	}
	for (int i = 0; i < p.nclients; i++)
		client_feed(&p, i);
	json_object *done = json_object_new_object();
	json_object_object_add(done, "EnclaveName", json_object_new_string(spec->reg.name));
	json_object_object_add(done, "EnclaveID", json_object_new_string(spec->id));
	json_object_object_add(done, "Terminated", json_object_new_boolean(1));
	for (int i = 0; i < p.nclients; i++)
		if (p.clients[i].terminator)
			send_json_line(p.clients[i].fd, done);
	json_object_put(done);
	for (int i = 0; i < p.nclients; i++)
		close(p.clients[i].fd);
	machine_destroy(p.machine); /* device threads stop before guest memory goes */
	eif_boot_free(&boot);
	console_buf_free(&p.console);
	event_log(&p.log, "resources released; enclave process exits");
	event_log_close(&p.log);
	/* Last: the record and the lock go, and with the lock (closed by
	 * _exit) a waiting terminate returns: CPUs, memory and CID are free. */
	registry_release(spec->reg.slot);
	if (fail_fd >= 0)
		report(fail_fd, fail_code, fail_msg);
	_exit(0);
}
