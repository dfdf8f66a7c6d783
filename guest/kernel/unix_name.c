/* AF_UNIX names: socket, bind (a path, which becomes an S_IFSOCK node in
 * the tree, or an abstract name; an empty one autobinds), listen, connect,
 * accept, and the names getsockname/getpeername report. A connection is made
 * at connect, as Linux makes it: the server's end waits in the listener's
 * queue until accept takes it, and the client can send at once. */
#include "unix_int.h"

#define PATH_MAX 4096
#define SOMAXCONN 4096

int uname_get(uaddr_t uaddr, uint64_t len, struct uname *n)
{
	if (len < 2 || len > sizeof(n->bytes))
		return -EINVAL;
	memset(n, 0, sizeof(*n));
	if (copy_from_user(n->bytes, uaddr, len) < 0)
		return -EFAULT;
	uint16_t fam;
	memcpy(&fam, n->bytes, 2);
	if (fam != AF_UNIX)
		return -EINVAL;
	n->len = (uint32_t)len;
	/* A path ends at its NUL (Linux keeps the length up to it, plus one). */
	if (len > 2 && n->bytes[2]) {
		uint32_t end = 2;
		while (end < len && n->bytes[end])
			end++;
		n->len = end + 1 > len ? (uint32_t)len : end + 1;
	}
	return 0;
}

int uname_put(uaddr_t uaddr, uaddr_t ulen, const struct uname *n)
{
	int len;
	if (copy_from_user(&len, ulen, sizeof(len)) < 0)
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	uint8_t fam[2] = {AF_UNIX, 0};
	const uint8_t *src = n->len ? n->bytes : fam;
	int full = n->len ? (int)n->len : 2;
	if ((len && copy_to_user(uaddr, src, (uint64_t)MIN(len, full)) < 0) ||
	    copy_to_user(ulen, &full, sizeof(full)) < 0)
		return -EFAULT;
	return 0;
}

static bool is_path(const struct uname *n) { return n->len > 2 && n->bytes[2]; }

/* The path of a path name, NUL-terminated, into buf (PATH_MAX). */
static void path_of(const struct uname *n, char *buf)
{
	size_t l = strnlen((const char *)n->bytes + 2, n->len - 2);
	memcpy(buf, n->bytes + 2, l);
	buf[l] = 0;
}

int usock_lookup(const struct uname *n, struct usock **out)
{
	struct vnode *v = NULL;
	if (n->len <= 2)
		return -EINVAL;
	if (is_path(n)) {
		char path[PATH_MAX], *p = path;
		path_of(n, p);
		struct vnode *dir;
		int r = at_dir(AT_FDCWD, p, &dir);
		if (r < 0 || (r = vfs_lookup(dir, p, LOOKUP_FOLLOW, &v)) < 0)
			return r;
		if ((v->mode & S_IFMT) != 0140000)
			return -ECONNREFUSED;
	}
	*out = usock_find(n, v);
	return *out ? 0 : -ECONNREFUSED;
}

static struct usock *sock_of(struct file *f) { return f->priv; }

int unix_socket(uint64_t type, uint64_t protocol)
{
	int kind = unix_socket_kind(type, protocol);
	if (kind < 0)
		return kind;
	struct usock *u = usock_new(kind);
	if (!u)
		return -ENOMEM;
	struct file *f = file_alloc(&unix_ops, &unix_vn, u, O_RDWR | (type & SOCK_NONBLOCK ? O_NONBLOCK : 0));
	if (!f) {
		usock_free(u);
		return -ENOMEM;
	}
	int fd = fd_alloc(f, 0, type & SOCK_CLOEXEC);
	if (fd < 0)
		file_put(f);
	return fd;
}

int usock_autobind(struct usock *u)
{
	static uint32_t next;
	for (int tries = 0; tries < 0x100000; tries++) {
		struct uname n = {.len = 8};
		n.bytes[0] = AF_UNIX;
		ksnprintf((char *)n.bytes + 3, 6, "%05x", next++ & 0xfffff);
		if (!usock_find(&n, NULL)) {
			u->name = n;
			return 0;
		}
	}
	return -ENOSPC;
}

int unix_bind(struct file *f, uaddr_t uaddr, uint64_t len)
{
	struct usock *u = sock_of(f);
	struct uname n;
	int r = uname_get(uaddr, len, &n);
	if (r < 0)
		return r;
	if (u->name.len)
		return -EINVAL;
	if (n.len == 2)
		return usock_autobind(u);
	if (!is_path(&n)) {
		if (usock_find(&n, NULL))
			return -EADDRINUSE;
		u->name = n;
		return 0;
	}
	char path[PATH_MAX];
	path_of(&n, path);
	struct vnode *dir, *parent, *v;
	const char *name;
	size_t nl;
	if ((r = at_dir(AT_FDCWD, path, &dir)) < 0 ||
	    (r = vfs_lookup_parent(dir, path, &parent, &name, &nl)) < 0)
		return r;
	r = vfs_create(parent, name, nl, 0140000 | (0777 & ~curproc->umask), &v);
	if (r < 0)
		return r == -EEXIST ? -EADDRINUSE : r;
	vn_ref(v);
	u->vn = v;
	u->name = n;
	return 0;
}

int unix_listen(struct file *f, int backlog)
{
	struct usock *u = sock_of(f);
	if (u->type == SOCK_DGRAM)
		return -EOPNOTSUPP;
	if (!u->name.len || u->state == US_CONNECTED)
		return -EINVAL; /* Linux: no listening on an unbound socket */
	return usock_listen(u, backlog);
}

int usock_listen(struct usock *u, int backlog)
{
	if (backlog < 0 || backlog > SOMAXCONN)
		backlog = SOMAXCONN;
	/* Linux lets one more than the backlog wait. */
	u->backlog = MIN(backlog + 1, UNIX_MAX_BACKLOG);
	u->state = US_LISTEN;
	u->peercred = usock_my_cred(); /* what its clients' SO_PEERCRED says */
	return 0;
}

static bool accq_room(void *arg)
{
	struct usock *l = arg;
	return !usock_alive(l) || l->nacc < l->backlog || l->state != US_LISTEN;
}

int unix_connect(struct file *f, uaddr_t uaddr, uint64_t len)
{
	struct usock *u = sock_of(f), *l;
	struct uname n;
	int r = uname_get(uaddr, len, &n);
	if (r < 0)
		return r;
	/* Linux: a socket that asks for credentials gets a name to be
	 * answered at. */
	if (u->passcred && !u->name.len && (r = usock_autobind(u)) < 0)
		return r;
	if ((r = usock_lookup(&n, &l)) < 0)
		return r;
	if (l->type != u->type)
		return -EPROTOTYPE;
	if (u->type == SOCK_DGRAM) {
		u->peer = l;
		u->state = US_CONNECTED;
		return 0;
	}
	struct usock *s;
	return usock_join(u, l, f->flags & O_NONBLOCK, &s);
}

int usock_join(struct usock *u, struct usock *l, bool nonblock, struct usock **srv)
{
	if (u->state == US_CONNECTED)
		return -EISCONN;
	if (u->state == US_LISTEN)
		return -EINVAL;
	if (l->state != US_LISTEN)
		return -ECONNREFUSED;
	if (!accq_room(l)) {
		if (nonblock)
			return -EAGAIN;
		int r = wait_until(accq_room, l, UINT64_MAX);
		if (r < 0)
			return r;
		if (!usock_alive(l) || l->state != US_LISTEN)
			return -ECONNREFUSED; /* the listener closed while we waited */
	}
	struct usock *s = usock_new(u->type);
	if (!s)
		return -ENOMEM;
	s->name = l->name;
	s->state = u->state = US_CONNECTED;
	s->peer = u;
	u->peer = s;
	s->unaccepted = true;
	s->peercred = usock_my_cred(); /* the server's SO_PEERCRED: who connected */
	u->peercred = l->peercred;     /* the client's: who listened */
	l->accq[l->nacc++] = s;
	l->rd_seq++;
	u->wr_seq++;
	*srv = s;
	return 0;
}

static bool has_conn(void *arg)
{
	struct usock *l = arg;
	return l->nacc > 0;
}

int unix_accept(struct file *f, uaddr_t uaddr, uaddr_t ulen, uint64_t flags)
{
	struct usock *s;
	int fd = usock_accept(f, flags, &s);
	if (fd < 0)
		return fd;
	struct uname none = {.len = 0};
	if (uaddr && uname_put(uaddr, ulen, s->peer ? &s->peer->name : &none) < 0)
		return -EFAULT; /* the connection stays open on fd, as on Linux */
	return fd;
}

int usock_accept(struct file *f, uint64_t flags, struct usock **sp)
{
	struct usock *l = sock_of(f);
	if (flags & ~(uint64_t)(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	if (l->type == SOCK_DGRAM)
		return -EOPNOTSUPP;
	if (l->state != US_LISTEN)
		return -EINVAL;
	if (!has_conn(l)) {
		if (f->flags & O_NONBLOCK)
			return -EAGAIN;
		int r = wait_until(has_conn, l, usock_deadline(l->rcvtimeo));
		if (r < 0)
			return r == -ETIMEDOUT ? -EAGAIN : r; /* SO_RCVTIMEO, or a signal */
	}
	struct usock *s = l->accq[0];
	struct file *nf = /* of the listener's kind, AF_UNIX or inet */
		file_alloc(f->ops, &unix_vn, s, O_RDWR | (flags & SOCK_NONBLOCK ? O_NONBLOCK : 0));
	if (!nf)
		return -ENOMEM; /* the connection stays queued */
	l->nacc--;
	memmove(l->accq, l->accq + 1, (size_t)l->nacc * sizeof(l->accq[0]));
	s->unaccepted = false;
	s->passcred = l->passcred; /* as Linux's accept: the listener's SO_PASSCRED */
	int fd = fd_alloc(nf, 0, flags & SOCK_CLOEXEC);
	if (fd < 0) {
		file_put(nf);
		return fd;
	}
	*sp = s;
	return fd;
}

int unix_names(struct file *f, uaddr_t uaddr, uaddr_t ulen, bool peer)
{
	struct usock *u = sock_of(f);
	if (!peer)
		return uname_put(uaddr, ulen, &u->name);
	if (!u->peer || u->state != US_CONNECTED)
		return -ENOTCONN;
	return uname_put(uaddr, ulen, &u->peer->name);
}
