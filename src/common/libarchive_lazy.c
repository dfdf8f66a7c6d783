/* libarchive, loaded the first time carve uses it (building images and
 * ramdisks: src/image, src/ramdisk) instead of at every start.
 *
 * Linked the ordinary way, libarchive.so.13 brings eleven more libraries
 * into every carve process (libxml2, ICU with libstdc++, nettle, the
 * compressors): 2.8 MiB of resident pages in each `carve vmm` and enclave
 * process, which use none of them (issue 17: the VMM's own memory). So carve
 * is not linked against it: this file defines the functions carve calls,
 * with libarchive's own prototypes (<archive.h> is included, so a signature
 * that differs does not compile), and each forwards to libarchive's, found
 * with dlopen/dlsym on first use. Callers are unchanged.
 *
 * A missing or incomplete libarchive shows where an archive is first made:
 * archive_read_new, archive_write_new and archive_entry_new return NULL
 * (their callers' "out of memory" path) after saying on stderr what could
 * not be loaded. Every other function takes an object only those make, so
 * it is never reached without the library; the destructors also take NULL,
 * as libarchive's do. */
#include <archive.h>
#include <archive_entry.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#define LIBARCHIVE_SONAME "libarchive.so.13"

/* X(return type, name, parameters, arguments), for every function carve
 * calls that returns a value; the creators first. */
#define ARCHIVE_CREATORS(X)                                \
	X(struct archive *, archive_read_new, (void), ())  \
	X(struct archive *, archive_write_new, (void), ()) \
	X(struct archive_entry *, archive_entry_new, (void), ())

#define ARCHIVE_FUNCTIONS(X)                                                                                \
	X(struct archive_entry *, archive_entry_clear, (struct archive_entry * e), (e))                     \
	X(__LA_MODE_T, archive_entry_filetype, (struct archive_entry * e), (e))                             \
	X(la_int64_t, archive_entry_gid, (struct archive_entry * e), (e))                                   \
	X(const char *, archive_entry_hardlink, (struct archive_entry * e), (e))                            \
	X(__LA_MODE_T, archive_entry_mode, (struct archive_entry * e), (e))                                 \
	X(const char *, archive_entry_pathname, (struct archive_entry * e), (e))                            \
	X(__LA_MODE_T, archive_entry_perm, (struct archive_entry * e), (e))                                 \
	X(dev_t, archive_entry_rdev, (struct archive_entry * e), (e))                                       \
	X(la_int64_t, archive_entry_size, (struct archive_entry * e), (e))                                  \
	X(const char *, archive_entry_symlink, (struct archive_entry * e), (e))                             \
	X(la_int64_t, archive_entry_uid, (struct archive_entry * e), (e))                                   \
	X(const char *, archive_error_string, (struct archive * a), (a))                                    \
	X(la_ssize_t, archive_read_data, (struct archive * a, void *buf, size_t len), (a, buf, len))        \
	X(int, archive_read_next_header, (struct archive * a, struct archive_entry * *e), (a, e))           \
	X(int, archive_read_open,                                                                           \
	  (struct archive * a, void *ctx, archive_open_callback *open_cb, archive_read_callback *read_cb,   \
	   archive_close_callback *close_cb),                                                               \
	  (a, ctx, open_cb, read_cb, close_cb))                                                             \
	X(int, archive_read_open_filename, (struct archive * a, const char *path, size_t block),            \
	  (a, path, block))                                                                                 \
	X(int, archive_read_support_filter_all, (struct archive * a), (a))                                  \
	X(int, archive_read_support_filter_bzip2, (struct archive * a), (a))                                \
	X(int, archive_read_support_filter_gzip, (struct archive * a), (a))                                 \
	X(int, archive_read_support_filter_xz, (struct archive * a), (a))                                   \
	X(int, archive_read_support_filter_zstd, (struct archive * a), (a))                                 \
	X(int, archive_read_support_format_empty, (struct archive * a), (a))                                \
	X(int, archive_read_support_format_gnutar, (struct archive * a), (a))                               \
	X(int, archive_read_support_format_raw, (struct archive * a), (a))                                  \
	X(int, archive_read_support_format_tar, (struct archive * a), (a))                                  \
	X(int, archive_write_add_filter_none, (struct archive * a), (a))                                    \
	X(int, archive_write_close, (struct archive * a), (a))                                              \
	X(la_ssize_t, archive_write_data, (struct archive * a, const void *buf, size_t len), (a, buf, len)) \
	X(int, archive_write_header, (struct archive * a, struct archive_entry * e), (a, e))                \
	X(int, archive_write_open_filename, (struct archive * a, const char *path), (a, path))              \
	X(int, archive_write_set_bytes_per_block, (struct archive * a, int bytes), (a, bytes))              \
	X(int, archive_write_set_format_cpio_newc, (struct archive * a), (a))

/* The destructors: like libarchive's own, they take NULL (a caller's
 * cleanup after a creator failed), which needs no library. */
#define ARCHIVE_DESTRUCTORS(X)                                         \
	X(int, archive_read_free, (struct archive * a), a, ARCHIVE_OK) \
	X(int, archive_write_free, (struct archive * a), a, ARCHIVE_OK)
#define ARCHIVE_VOID_DESTRUCTORS(X) X(archive_entry_free, (struct archive_entry * e), e)

/* The same for the functions that return nothing. */
#define ARCHIVE_VOID_FUNCTIONS(X)                                                             \
	X(archive_entry_set_dev, (struct archive_entry * e, dev_t v), (e, v))                 \
	X(archive_entry_set_filetype, (struct archive_entry * e, unsigned int v), (e, v))     \
	X(archive_entry_set_gid, (struct archive_entry * e, la_int64_t v), (e, v))            \
	X(archive_entry_set_ino, (struct archive_entry * e, la_int64_t v), (e, v))            \
	X(archive_entry_set_mtime, (struct archive_entry * e, time_t s, long ns), (e, s, ns)) \
	X(archive_entry_set_nlink, (struct archive_entry * e, unsigned int v), (e, v))        \
	X(archive_entry_set_pathname, (struct archive_entry * e, const char *v), (e, v))      \
	X(archive_entry_set_perm, (struct archive_entry * e, __LA_MODE_T v), (e, v))          \
	X(archive_entry_set_rdev, (struct archive_entry * e, dev_t v), (e, v))                \
	X(archive_entry_set_size, (struct archive_entry * e, la_int64_t v), (e, v))           \
	X(archive_entry_set_symlink, (struct archive_entry * e, const char *v), (e, v))       \
	X(archive_entry_set_uid, (struct archive_entry * e, la_int64_t v), (e, v))

/* libarchive's functions, as dlsym found them. */
static struct {
/* `name` is declared, so it cannot be parenthesised. */
#define MEMBER(ret, name, params, args) __typeof__(name) *name; /* NOLINT(bugprone-macro-parentheses) */
#define VOID_MEMBER(name, params, args) __typeof__(name) *name; /* NOLINT(bugprone-macro-parentheses) */
#define DESTRUCTOR_MEMBER(ret, name, params, arg, null_result) \
	__typeof__(name) *name; /* NOLINT(bugprone-macro-parentheses) */
	ARCHIVE_CREATORS(MEMBER)
	ARCHIVE_FUNCTIONS(MEMBER)
	ARCHIVE_VOID_FUNCTIONS(VOID_MEMBER)
	ARCHIVE_DESTRUCTORS(DESTRUCTOR_MEMBER)
	ARCHIVE_VOID_DESTRUCTORS(VOID_MEMBER)
#undef MEMBER
#undef VOID_MEMBER
#undef DESTRUCTOR_MEMBER
} real;
static bool loaded;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void)
{
	void *lib = dlopen(LIBARCHIVE_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		fprintf(stderr, "carve: cannot load %s (install libarchive13): %s\n", LIBARCHIVE_SONAME,
			dlerror());
		return;
	}
	/* dlsym gives an object pointer; POSIX guarantees it converts to the
	 * function pointer it is (XSH dlsym). */
#define LOOKUP(name)                                                                \
	if (!(real.name = (__typeof__(real.name))dlsym(lib, #name))) {              \
		fprintf(stderr, "carve: %s has no %s\n", LIBARCHIVE_SONAME, #name); \
		return;                                                             \
	}
#define LOOKUP_FN(ret, name, params, args) LOOKUP(name)
#define LOOKUP_VOID(name, params, args) LOOKUP(name)
#define LOOKUP_DESTRUCTOR(ret, name, params, arg, null_result) LOOKUP(name)
	ARCHIVE_CREATORS(LOOKUP_FN)
	ARCHIVE_FUNCTIONS(LOOKUP_FN)
	ARCHIVE_VOID_FUNCTIONS(LOOKUP_VOID)
	ARCHIVE_DESTRUCTORS(LOOKUP_DESTRUCTOR)
	ARCHIVE_VOID_DESTRUCTORS(LOOKUP_VOID)
#undef LOOKUP
#undef LOOKUP_FN
#undef LOOKUP_VOID
#undef LOOKUP_DESTRUCTOR
	loaded = true; /* the handle stays open: carve calls into it until exit */
}

static bool available(void)
{
	pthread_once(&load_once, load);
	return loaded;
}

/* Only an object a creator made reaches these: libarchive is loaded. */
static void require_loaded(const char *name)
{
	if (!available()) {
		fprintf(stderr, "carve: %s called without %s loaded\n", name, LIBARCHIVE_SONAME);
		abort();
	}
}

#define CREATOR(ret, name, params, args) \
	ret name params { return available() ? real.name args : NULL; }
#define FORWARD(ret, name, params, args) \
	ret name params                  \
	{                                \
		require_loaded(#name);   \
		return real.name args;   \
	}
#define FORWARD_VOID(name, params, args) \
	void name params                 \
	{                                \
		require_loaded(#name);   \
		real.name args;          \
	}
ARCHIVE_CREATORS(CREATOR)
ARCHIVE_FUNCTIONS(FORWARD)
ARCHIVE_VOID_FUNCTIONS(FORWARD_VOID)
/* NULL: nothing to free, loaded or not; anything else came from a creator. */
#define DESTRUCTOR(ret, name, params, arg, null_result) \
	ret name params                                 \
	{                                               \
		if (!(arg))                             \
			return null_result;             \
		require_loaded(#name);                  \
		return real.name(arg);                  \
	}
ARCHIVE_DESTRUCTORS(DESTRUCTOR)
#define VOID_DESTRUCTOR(name, params, arg) \
	void name params                   \
	{                                  \
		if (!(arg))                \
			return;            \
		require_loaded(#name);     \
		real.name(arg);            \
	}
ARCHIVE_VOID_DESTRUCTORS(VOID_DESTRUCTOR)
