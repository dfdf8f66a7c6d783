/* The attestation CA on disk: <state_dir>/pki/{root,intermediate}.{key,pem}.
 *
 * Two carve processes may start at the same moment on a fresh host and both
 * find no CA. They serialise on an flock()ed lock file; the first creates,
 * the second then loads what the first wrote. Each file is written to a
 * temporary name, fsync()ed and renamed, so a crash leaves either the old
 * file or the new one, never a torn key. Keys are created mode 0600.
 *
 * A pki directory with the set-group-ID bit is shared with its group (the
 * Debian package makes /var/lib/carve/pki root:carve 2775, so every member
 * of the carve group may start enclaves, and every enclave signs with the
 * same CA): there keys are created 0640 (the group comes from the
 * directory), a key readable by that group is accepted, and the lock is
 * opened 0660. Anything readable by others is still refused.
 */
#include "carve/pki.h"
#include "crypto/pki_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "carve/util.h"

#define PEM_MAX (64 * 1024)

const char *pki_state_dir(void)
{
	const char *d = getenv("CARVE_STATE_DIR");
	return d && *d ? d : PKI_DEFAULT_STATE_DIR;
}

static int join(char *out, size_t cap, const char *dir, const char *name, struct carve_err *err)
{
	int n = snprintf(out, cap, "%s/%s/%s", dir, PKI_SUBDIR, name);
	if (n < 0 || (size_t)n >= cap)
		return carve_fail(err, E19_FILE_OPERATION, "the state directory path '%s' is too long", dir);
	return 0;
}

int pki_root_path(const char *state_dir, char *out, size_t out_len, struct carve_err *err)
{
	return join(out, out_len, state_dir, "root.pem", err);
}

/* mkdir -p with mode for the directories it creates. */
static int make_dirs(const char *path, mode_t mode, struct carve_err *err)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof(buf))
		return carve_fail(err, E19_FILE_OPERATION, "bad state directory path '%s'", path);
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		char c = buf[i];
		buf[i] = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return carve_fail(err, E19_FILE_OPERATION,
					  "File: '%s', failing operation: 'Create directory': %s. "
					  "Set CARVE_STATE_DIR to a directory you can write",
					  buf, strerror(errno));
		buf[i] = c;
	}
	return 0;
}

/* Writes data to path atomically with the given mode. */
static int write_atomic(const char *path, const void *data, size_t len, mode_t mode, struct carve_err *err)
{
	char tmp[PATH_MAX];
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return carve_fail(err, E19_FILE_OPERATION, "path too long: '%s'", path);
	unlink(tmp); /* a leftover of a crashed process with our pid */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Create': %s", tmp,
				  strerror(errno));
	/* The umask could have widened nothing but may have narrowed; set the
	 * mode exactly so a certificate stays readable by verifiers. */
	int rc = fchmod(fd, mode) < 0 ? -errno : write_full(fd, data, len);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		return carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Write': %s", path,
				  strerror(-rc));
	}
	/* Make the rename itself durable before anyone relies on the file. */
	char *slash = strrchr(tmp, '/');
	if (slash) {
		*slash = '\0';
		int dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	return 0;
}

static int write_key(const char *path, EVP_PKEY *key, bool shared, struct carve_err *err)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	if (!bio || PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (len = BIO_get_mem_data(bio, &data)) <= 0) {
		BIO_free(bio);
		return carve_fail(err, E00_UNSPECIFIED, "could not encode a private key");
	}
	int rc = write_atomic(path, data, (size_t)len, shared ? 0640 : 0600, err);
	BIO_free_all(bio); /* the memory BIO clears nothing; the key stays in the process anyway */
	return rc;
}

static int write_cert(const char *path, X509 *cert, struct carve_err *err)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	if (!bio || PEM_write_bio_X509(bio, cert) != 1 || (len = BIO_get_mem_data(bio, &data)) <= 0) {
		BIO_free(bio);
		return carve_fail(err, E00_UNSPECIFIED, "could not encode a certificate");
	}
	int rc = write_atomic(path, data, (size_t)len, 0644, err);
	BIO_free(bio);
	return rc;
}

/* 1 loaded, 0 file absent, -1 error. */
static int read_pem(const char *path, uint8_t **data, size_t *len, struct carve_err *err)
{
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	return file_read_all(path, PEM_MAX, data, len, E19_FILE_OPERATION, err) < 0 ? -1 : 1;
}

static int load_cert(const char *path, X509 **cert, struct carve_err *err)
{
	uint8_t *pem;
	size_t len;
	int rc = read_pem(path, &pem, &len, err);
	if (rc <= 0)
		return rc;
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	*cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	free(pem);
	if (!*cert)
		return carve_fail(err, E19_FILE_OPERATION,
				  "'%s' holds no PEM certificate; remove "
				  "the pki directory to start a new CA",
				  path);
	return 1;
}

/* The set-group-ID bit on the pki directory shares it with its group; 0
 * (not shared) when it cannot be read. */
static gid_t shared_group(const char *pki_dir, bool *shared)
{
	struct stat st;
	*shared = stat(pki_dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & S_ISGID);
	return *shared ? st.st_gid : 0;
}

static int load_key(const char *path, EVP_PKEY **key, bool shared, gid_t group, struct carve_err *err)
{
	uint8_t *pem;
	size_t len;
	int rc = read_pem(path, &pem, &len, err);
	if (rc <= 0)
		return rc;
	/* A CA key others can read is a CA anyone can impersonate: refuse it
	 * rather than sign with it, the way ssh refuses open private keys. */
	struct stat st;
	if (stat(path, &st) == 0 && (st.st_mode & 077 & ~(shared && st.st_gid == group ? 0040u : 0u))) {
		OPENSSL_cleanse(pem, len);
		free(pem);
		return carve_fail(err, E18_FILE_PERMISSIONS,
				  "'%s' is accessible by other users (mode %03o); run 'chmod 600 %s' "
				  "or remove the pki directory to start a new CA",
				  path, (unsigned)(st.st_mode & 0777), path);
	}
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	*key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	OPENSSL_cleanse(pem, len);
	free(pem);
	if (!*key)
		return carve_fail(err, E19_FILE_OPERATION,
				  "'%s' holds no PEM private key; remove "
				  "the pki directory to start a new CA",
				  path);
	return 1;
}

/* Loads a key+certificate pair; 1 when both exist and belong together,
 * 0 when either is missing or they do not match (a crash between the two
 * writes), -1 on errors. */
static int load_pair(const char *dir, const char *name, bool shared, gid_t group, struct pki_cert *c,
		     struct carve_err *err)
{
	char kpath[PATH_MAX], cpath[PATH_MAX], kname[64], cname[64];
	snprintf(kname, sizeof(kname), "%s.key", name);
	snprintf(cname, sizeof(cname), "%s.pem", name);
	memset(c, 0, sizeof(*c));
	if (join(kpath, sizeof(kpath), dir, kname, err) < 0 ||
	    join(cpath, sizeof(cpath), dir, cname, err) < 0)
		return -1;
	int rk = load_key(kpath, &c->key, shared, group, err);
	int rc = rk < 0 ? -1 : load_cert(cpath, &c->cert, err);
	if (rk < 0 || rc < 0) {
		pki_cert_free(c);
		return -1;
	}
	if (rk == 0 || rc == 0 || !cert_matches_key(c->cert, c->key)) {
		pki_cert_free(c);
		return 0;
	}
	if (pki_cert_fill(c, err) < 0) {
		pki_cert_free(c);
		return -1;
	}
	return 1;
}

static int store_pair(const char *dir, const char *name, bool shared, const struct pki_cert *c,
		      struct carve_err *err)
{
	char kpath[PATH_MAX], cpath[PATH_MAX], kname[64], cname[64];
	snprintf(kname, sizeof(kname), "%s.key", name);
	snprintf(cname, sizeof(cname), "%s.pem", name);
	if (join(kpath, sizeof(kpath), dir, kname, err) < 0 ||
	    join(cpath, sizeof(cpath), dir, cname, err) < 0)
		return -1;
	/* Key first: a crash after it leaves a pair that does not match, which
	 * load_pair treats as absent, never a certificate without its key. */
	if (write_key(kpath, c->key, shared, err) < 0 || write_cert(cpath, c->cert, err) < 0)
		return -1;
	return 0;
}

/* Is inter usable under root at now? */
static bool intermediate_ok(const struct pki *p, time_t now)
{
	EVP_PKEY *root_pub = X509_get0_pubkey(p->root.cert);
	return root_pub && X509_verify(p->intermediate.cert, root_pub) == 1 &&
		p->intermediate.not_after - now > PKI_INTERMEDIATE_RENEW_MARGIN;
}

static int open_locked(struct pki *p, const char *state_dir, bool shared, gid_t group, time_t now,
		       struct carve_err *err)
{
	int r = load_pair(state_dir, "root", shared, group, &p->root, err);
	if (r < 0)
		return -1;
	if (r == 0) {
		if (pki_issue_root(&p->root, now, err) < 0 ||
		    store_pair(state_dir, "root", shared, &p->root, err) < 0)
			return -1;
	}
	if (p->root.not_after <= now) {
		char path[PATH_MAX];
		pki_root_path(state_dir, path, sizeof(path), err);
		return carve_fail(err, E19_FILE_OPERATION,
				  "the attestation root '%s' has expired; remove %s/%s to create a new one",
				  path, state_dir, PKI_SUBDIR);
	}
	r = load_pair(state_dir, "intermediate", shared, group, &p->intermediate, err);
	if (r < 0)
		return -1;
	if (r == 1 && !intermediate_ok(p, now)) {
		pki_cert_free(&p->intermediate);
		r = 0;
	}
	if (r == 0) {
		if (pki_issue_intermediate(&p->root, &p->intermediate, now, err) < 0 ||
		    store_pair(state_dir, "intermediate", shared, &p->intermediate, err) < 0)
			return -1;
	}
	return 0;
}

int pki_open(struct pki *p, const char *state_dir, time_t now, struct carve_err *err)
{
	memset(p, 0, sizeof(*p));
	char dir[PATH_MAX], lock[PATH_MAX];
	int n = snprintf(dir, sizeof(dir), "%s/%s", state_dir, PKI_SUBDIR);
	if (n < 0 || (size_t)n >= sizeof(dir) || join(lock, sizeof(lock), state_dir, "lock", err) < 0)
		return carve_fail(err, E19_FILE_OPERATION, "the state directory path '%s' is too long",
				  state_dir);
	if (make_dirs(state_dir, 0755, err) < 0 || make_dirs(dir, 0755, err) < 0)
		return -1;
	bool shared;
	gid_t group = shared_group(dir, &shared);
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, shared ? 0660 : 0600);
	if (fd < 0)
		return carve_fail(err, E19_FILE_OPERATION,
				  "File: '%s', failing operation: 'Open': %s. Set CARVE_STATE_DIR "
				  "to a directory you can write",
				  lock, strerror(errno));
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int e = errno;
			close(fd);
			return carve_fail(err, E15_LOCK_ACQUIRE, "could not lock '%s': %s", lock,
					  strerror(e));
		}
	}
	int rc = open_locked(p, state_dir, shared, group, now, err);
	close(fd); /* releases the lock */
	if (rc < 0)
		pki_free(p);
	return rc;
}

int pki_load_root(const char *state_dir, struct pki_cert *root, struct carve_err *err)
{
	memset(root, 0, sizeof(*root));
	char path[PATH_MAX];
	if (pki_root_path(state_dir, path, sizeof(path), err) < 0)
		return -1;
	int r = load_cert(path, &root->cert, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return carve_fail(err, E19_FILE_OPERATION,
				  "there is no carve attestation root at '%s' yet; run 'carve "
				  "attestation-root' once, or pass --root",
				  path);
	if (pki_cert_fill(root, err) < 0) {
		pki_cert_free(root);
		return -1;
	}
	return 0;
}
