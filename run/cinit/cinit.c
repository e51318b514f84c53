// sbx-cinit is a container's init written in C: the same work as package initproc (the Go
// init, run/initproc), in the same order, with the same messages, for every container but
// those with --init (a reaping PID 1 stays the Go program). The supervisor executes it in
// the container's new namespaces and sends it its proto.Config on the sync socket (fd 3);
// it sets the root filesystem up, becomes the container's process and executes its command.
//
// Why C: the init's start lies on the path of every container start, and a Go program
// takes about 0.8 ms longer to start than a static C one on a small machine (its runtime,
// threads and page faults), time the supervisor's own work then also shares two cores with.
//
// Keep it equal to initproc: the testscripts run every container through this program, and
// --init ones through the Go one (sbx itself). The config arrives in proto's binary form (run/proto/codec.go): varints, strings with their
// length, lists with their count plus one (0 for nil). Errors go back as proto.Message
// JSON ({"Error":...,"ExitCode":N}), worded as initproc words them.
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <termios.h>
#include <unistd.h>

#define SYNC_FD 3

#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

// ---- errors, worded as initproc's fail() words them ----

static int err_code;
static char err_msg[8192];

// fail records the first error of the setup and returns -1.
__attribute__((format(printf, 2, 3))) static int fail(int code, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err_msg, sizeof err_msg, fmt, ap);
	va_end(ap);
	err_code = code;
	return -1;
}

// es is Go's text for an errno: the C library's, first letter in lower case.
static const char *es(int e) {
	static char buf[4][128];
	static int next;
	char *b = buf[next++ % 4];
	snprintf(b, sizeof buf[0], "%s", strerror(e));
	b[0] = (char)tolower((unsigned char)b[0]);
	return b;
}

// q is Go's %q for the plain names the messages quote.
static const char *q(const char *s) {
	static char buf[2][4200];
	static int next;
	char *b = buf[next++ % 2], *o = b;
	*o++ = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p && o < b + sizeof buf[0] - 8; p++) {
		if (*p == '"' || *p == '\\') {
			*o++ = '\\';
			*o++ = (char)*p;
		} else if (*p < 0x20 || *p == 0x7f) {
			o += sprintf(o, "\\x%02x", *p);
		} else {
			*o++ = (char)*p;
		}
	}
	*o++ = '"';
	*o = 0;
	return b;
}

// ---- the sync socket: proto.Message as a JSON line ----

static void json_str(char **o, char *end, const char *s) {
	*(*o)++ = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p && *o < end - 8; p++) {
		if (*p == '"' || *p == '\\') {
			*(*o)++ = '\\';
			*(*o)++ = (char)*p;
		} else if (*p < 0x20) {
			*o += sprintf(*o, "\\u%04x", *p);
		} else {
			*(*o)++ = (char)*p;
		}
	}
	*(*o)++ = '"';
}

// send_msg sends {"Stage":stage} or {"Error":error,"ExitCode":code}, with fd attached when
// fd >= 0.
static int send_msg(const char *stage, const char *error, int code, int fd) {
	static char buf[sizeof err_msg * 2 + 64];
	char *o = buf, *end = buf + sizeof buf - 32;
	*o++ = '{';
	if (stage) {
		o += sprintf(o, "\"Stage\":");
		json_str(&o, end, stage);
	} else {
		o += sprintf(o, "\"Error\":");
		json_str(&o, end, error);
		if (code != 0)
			o += sprintf(o, ",\"ExitCode\":%d", code);
	}
	*o++ = '}';
	*o++ = '\n';
	struct iovec iov = {buf, (size_t)(o - buf)};
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	if (fd >= 0) {
		memset(&u, 0, sizeof u);
		m.msg_control = u.b;
		m.msg_controllen = sizeof u.b;
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof fd);
	}
	return sendmsg(SYNC_FD, &m, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

// ---- the config, decoded from proto's binary form ----

struct dec {
	const unsigned char *b;
	size_t n;
	int bad;
};

static void d_fail(struct dec *d) {
	d->bad = 1;
	d->n = 0;
}

static uint64_t d_uint(struct dec *d) {
	uint64_t v = 0;
	for (size_t i = 0; i < d->n && i < 10; i++) {
		unsigned char c = d->b[i];
		if (c < 0x80) {
			if (i == 9 && c > 1)
				break;
			v |= (uint64_t)c << (7 * i);
			d->b += i + 1;
			d->n -= i + 1;
			return v;
		}
		v |= (uint64_t)(c & 0x7f) << (7 * i);
	}
	d_fail(d);
	return 0;
}

static int64_t d_int(struct dec *d) {
	uint64_t u = d_uint(d);
	int64_t x = (int64_t)(u >> 1);
	return (u & 1) ? ~x : x;
}

static const unsigned char *d_take(struct dec *d, uint64_t n) {
	if (n > d->n) {
		d_fail(d);
		return NULL;
	}
	const unsigned char *p = d->b;
	d->b += n;
	d->n -= n;
	return p;
}

static char *d_string(struct dec *d) {
	uint64_t n = d_uint(d);
	const unsigned char *p = d_take(d, n);
	char *s = malloc(p ? n + 1 : 1);
	if (!s)
		abort();
	if (p)
		memcpy(s, p, n);
	s[p ? n : 0] = 0;
	return s;
}

static unsigned char *d_bytes(struct dec *d, size_t *len) {
	uint64_t n = d_uint(d);
	*len = 0;
	if (n == 0)
		return NULL;
	const unsigned char *p = d_take(d, n - 1);
	if (!p)
		return NULL;
	unsigned char *v = malloc(n);
	if (!v)
		abort();
	memcpy(v, p, n - 1);
	*len = n - 1;
	return v;
}

// d_count reads a list's length (-1: nil). A count beyond what is left is malformed.
static long d_count(struct dec *d) {
	uint64_t c = d_uint(d);
	if (c == 0)
		return -1;
	if (c - 1 > d->n) {
		d_fail(d);
		return -1;
	}
	return (long)(c - 1);
}

// d_strings reads a list of strings as a NULL-terminated array (never NULL itself).
static char **d_strings(struct dec *d, size_t *count) {
	long n = d_count(d);
	if (n < 0)
		n = 0;
	char **v = calloc((size_t)n + 1, sizeof *v);
	if (!v)
		abort();
	for (long i = 0; i < n; i++)
		v[i] = d_string(d);
	if (count)
		*count = (size_t)n;
	return v;
}

struct rlim {
	int resource;
	uint64_t soft, hard;
};

struct mnt {
	char *source, *dest, *type, **options;
	int file;
};

struct process {
	int64_t pids_limit;
	char **args, **env;
	size_t nargs;
	char *cwd;
	uint32_t uid, gid;
	gid_t *groups;
	long ngroups;
	char **caps;
	int no_new_privs;
	char *seccomp;
	unsigned char *prog;
	size_t prog_len;
	uint64_t seccomp_flags;
	struct rlim *rlimits;
	long nrlimits;
	int tty, init;
	int *pids_files;
	int npids_files;
};

struct config {
	struct process p;
	char *rootfs;
	int read_only;
	char *hostname;
	struct mnt *mounts;
	long nmounts;
	int new_net;
	int join_net;
	char **masked, **readonly;
	int devpts_gid;
	int rootfs_tree, tree;
	int wait_network;
	int bind_notify;
};

// decode is proto's Config.UnmarshalBinary (Process.decode first).
static int decode(const unsigned char *b, size_t n, struct config *c) {
	struct dec d = {b, n, 0};
	struct process *p = &c->p;
	size_t body_len;
	p->pids_limit = d_int(&d);
	p->args = d_strings(&d, &p->nargs);
	p->env = d_strings(&d, NULL);
	p->cwd = d_string(&d);
	p->uid = (uint32_t)d_uint(&d);
	p->gid = (uint32_t)d_uint(&d);
	p->ngroups = d_count(&d);
	if (p->ngroups > 0) {
		p->groups = calloc((size_t)p->ngroups, sizeof *p->groups);
		for (long i = 0; i < p->ngroups; i++)
			p->groups[i] = (gid_t)d_uint(&d);
	}
	p->caps = d_strings(&d, NULL);
	p->no_new_privs = d_uint(&d) != 0;
	p->seccomp = d_string(&d);
	free(d_bytes(&d, &body_len)); // the profile's text: for the host side's messages
	p->prog = d_bytes(&d, &p->prog_len);
	p->seccomp_flags = d_uint(&d);
	p->nrlimits = d_count(&d);
	if (p->nrlimits > 0) {
		p->rlimits = calloc((size_t)p->nrlimits, sizeof *p->rlimits);
		for (long i = 0; i < p->nrlimits; i++) {
			p->rlimits[i].resource = (int)d_int(&d);
			p->rlimits[i].soft = d_uint(&d);
			p->rlimits[i].hard = d_uint(&d);
		}
	}
	p->tty = d_uint(&d) != 0;
	p->init = d_uint(&d) != 0;
	c->rootfs = d_string(&d);
	c->read_only = d_uint(&d) != 0;
	c->hostname = d_string(&d);
	c->nmounts = d_count(&d);
	if (c->nmounts > 0) {
		c->mounts = calloc((size_t)c->nmounts, sizeof *c->mounts);
		for (long i = 0; i < c->nmounts; i++) {
			struct mnt *m = &c->mounts[i];
			m->source = d_string(&d);
			m->dest = d_string(&d);
			m->type = d_string(&d);
			m->options = d_strings(&d, NULL);
			m->file = d_uint(&d) != 0;
		}
	}
	c->new_net = d_uint(&d) != 0;
	c->join_net = (int)d_int(&d);
	c->masked = d_strings(&d, NULL);
	c->readonly = d_strings(&d, NULL);
	c->devpts_gid = (int)d_int(&d);
	c->rootfs_tree = d_uint(&d) != 0;
	c->wait_network = d_uint(&d) != 0;
	c->bind_notify = d_uint(&d) != 0;
	return d.bad || d.n != 0 ? -1 : 0;
}

// ---- paths ----

// is_not_exist is securejoin's IsNotExist: a missing component, or a file where a
// directory was expected.
static int is_not_exist(int e) { return e == ENOENT || e == ENOTDIR; }

// secure_join resolves unsafe inside root as filepath-securejoin's SecureJoin does (package
// initproc uses it): symlinks are followed with root as /, .. never climbs out of root,
// and missing components are taken as they are. NULL with errno on failure.
static char *secure_join(const char *root, const char *unsafe) {
	size_t cap = strlen(root) + strlen(unsafe) + PATH_MAX + 8;
	char *cur = calloc(1, cap), *rem = strdup(unsafe), *full = malloc(cap), *link = malloc(PATH_MAX);
	int links = 0;
	if (!cur || !rem || !full || !link)
		abort();
	while (*rem) {
		char *slash = strchr(rem, '/'), *part = rem, *rest;
		if (slash) {
			*slash = 0;
			rest = slash + 1;
		} else {
			rest = rem + strlen(rem);
		}
		// next = Clean("/" + cur + "/" + part)
		char next[PATH_MAX * 2];
		if (strcmp(part, "") == 0 || strcmp(part, ".") == 0) {
			snprintf(next, sizeof next, "%s", cur);
		} else if (strcmp(part, "..") == 0) {
			snprintf(next, sizeof next, "%s", cur);
			char *s = strrchr(next, '/');
			if (s)
				*s = 0;
		} else {
			snprintf(next, sizeof next, "%s/%s", cur, part);
		}
		if (next[0] == 0) {
			cur[0] = 0;
			memmove(rem, rest, strlen(rest) + 1);
			continue;
		}
		snprintf(full, cap, "%s%s", root, next);
		struct stat st;
		int r = lstat(full, &st);
		if (r < 0 && !is_not_exist(errno)) {
			free(cur), free(rem), free(full), free(link);
			return NULL;
		}
		if (r < 0 || !S_ISLNK(st.st_mode)) {
			snprintf(cur, cap, "%s", next);
			memmove(rem, rest, strlen(rest) + 1);
			continue;
		}
		if (++links > 255) {
			free(cur), free(rem), free(full), free(link);
			errno = ELOOP;
			return NULL;
		}
		ssize_t n = readlink(full, link, PATH_MAX - 1);
		if (n < 0) {
			free(cur), free(rem), free(full), free(link);
			return NULL;
		}
		link[n] = 0;
		char *nrem = malloc((size_t)n + strlen(rest) + 2);
		if (!nrem)
			abort();
		sprintf(nrem, "%s/%s", link, rest);
		free(rem);
		rem = nrem;
		if (link[0] == '/')
			cur[0] = 0;
	}
	snprintf(full, cap, "%s%s", root, cur);
	// filepath.Join(root, ...) cleans: a root given with a trailing slash loses it.
	size_t l = strlen(full);
	while (l > 1 && full[l - 1] == '/')
		full[--l] = 0;
	free(cur), free(rem), free(link);
	return full;
}

// mkdir_all is os.MkdirAll: errno set, and *failed the path that failed, on failure.
static int mkdir_all(const char *path, mode_t mode, char *failed, size_t size) {
	struct stat st;
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		snprintf(failed, size, "%s", path);
		errno = ENOTDIR;
		return -1;
	}
	char parent[PATH_MAX];
	snprintf(parent, sizeof parent, "%s", path);
	size_t l = strlen(parent);
	while (l > 1 && parent[l - 1] == '/')
		parent[--l] = 0;
	char *s = strrchr(parent, '/');
	if (s && s != parent) {
		*s = 0;
		if (mkdir_all(parent, mode, failed, size) < 0)
			return -1;
	}
	if (mkdir(path, mode) < 0) {
		int e = errno;
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			return 0;
		snprintf(failed, size, "%s", path);
		errno = e;
		return -1;
	}
	return 0;
}

// target is initproc's target: dest resolved inside root, created as a directory (or an
// empty file). NULL when it failed (fail() said why).
static char *target(const char *root, const char *dest, int file) {
	char *p = secure_join(root, dest);
	char failed[PATH_MAX];
	if (!p) {
		fail(125, "resolving %s in the container: %s", dest, es(errno));
		return NULL;
	}
	if (file) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof dir, "%s", p);
		char *s = strrchr(dir, '/');
		if (s)
			s[s == dir] = 0; // filepath.Dir: "/x" is in "/"
		if (mkdir_all(dir, 0755, failed, sizeof failed) < 0) {
			fail(125, "creating %s: mkdir %s: %s", dest, failed, es(errno));
			return NULL;
		}
		struct stat st;
		if (lstat(p, &st) < 0 && errno == ENOENT) {
			int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
			if (fd < 0) {
				fail(125, "creating %s: open %s: %s", dest, p, es(errno));
				return NULL;
			}
			close(fd);
		}
		return p;
	}
	if (mkdir_all(p, 0755, failed, sizeof failed) < 0) {
		fail(125, "creating mount point %s: mkdir %s: %s", dest, failed, es(errno));
		return NULL;
	}
	return p;
}

// ---- the root filesystem (initproc/rootfs.go) ----

static int mount_proc(const char *root) {
	char *p = target(root, "/proc", 0);
	if (!p)
		return -1;
	if (mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return fail(125, "mounting /proc: %s", es(errno));
	return 0;
}

static int mount_dev(const char *root, int pts_gid) {
	char *dev = target(root, "/dev", 0);
	char p[PATH_MAX], src[64];
	if (!dev)
		return -1;
	if (mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k") < 0)
		return fail(125, "mounting /dev: %s", es(errno));
	static const char *nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
	for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", dev, nodes[i]);
		int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
		if (fd < 0)
			return fail(125, "creating /dev/%s: open %s: %s", nodes[i], p, es(errno));
		close(fd);
		snprintf(src, sizeof src, "/dev/%s", nodes[i]);
		if (mount(src, p, NULL, MS_BIND, NULL) < 0)
			return fail(125, "binding /dev/%s: %s", nodes[i], es(errno));
	}
	static const char *links[][2] = {
		{"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
		{"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"}, {"core", "/proc/kcore"},
	};
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", dev, links[i][0]);
		if (symlink(links[i][1], p) < 0)
			return fail(125, "creating /dev/%s: symlink %s %s: %s", links[i][0], links[i][1], p, es(errno));
	}
	static const char *dirs[] = {"pts", "shm", "mqueue"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s/%s", dev, dirs[i]);
		if (mkdir(p, 0755) < 0)
			return fail(125, "creating /dev/%s: mkdir %s: %s", dirs[i], p, es(errno));
	}
	char opts[128] = "newinstance,ptmxmode=0666,mode=0620";
	if (pts_gid >= 0)
		snprintf(opts + strlen(opts), sizeof opts - strlen(opts), ",gid=%d", pts_gid);
	snprintf(p, sizeof p, "%s/pts", dev);
	if (mount("devpts", p, "devpts", MS_NOSUID | MS_NOEXEC, opts) < 0)
		return fail(125, "mounting /dev/pts: %s", es(errno));
	snprintf(p, sizeof p, "%s/shm", dev);
	if (mount("shm", p, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k") < 0)
		return fail(125, "mounting /dev/shm: %s", es(errno));
	snprintf(p, sizeof p, "%s/mqueue", dev);
	if (mount("mqueue", p, "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return fail(125, "mounting /dev/mqueue: %s", es(errno));
	return 0;
}

struct sbx_mount_attr {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};

static int mount_sys(const char *root, int new_net) {
	char *p = target(root, "/sys", 0);
	if (!p)
		return -1;
	if (new_net && mount("sysfs", p, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL) == 0)
		return 0;
	if (mount("/sys", p, NULL, MS_BIND | MS_REC, NULL) < 0)
		return fail(125, "binding /sys: %s", es(errno));
	struct sbx_mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};
	if (syscall(SYS_mount_setattr, -1, p, AT_RECURSIVE, &a, sizeof a) < 0)
		return fail(125, "making /sys read-only: %s", es(errno));
	return 0;
}

// remount applies flags to a bind mount, keeping what the kernel locked on it (initproc's
// remount: the same mask, MS_RELATIME included, as it reads statfs flags).
static int remount(const char *p, unsigned long flags) {
	struct statfs st;
	if (statfs(p, &st) < 0)
		return -1;
	unsigned long locked = (unsigned long)st.f_flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY | MS_NOATIME | MS_NODIRATIME | MS_RELATIME);
	return mount("", p, NULL, MS_REMOUNT | MS_BIND | flags | locked, NULL);
}

static int mount_one(const char *root, struct mnt *m) {
	char *p = target(root, m->dest, m->file);
	if (!p)
		return -1;
	unsigned long flags = 0;
	char data[4096] = "";
	for (char **o = m->options; *o; o++) {
		if (!strcmp(*o, "ro"))
			flags |= MS_RDONLY;
		else if (!strcmp(*o, "nosuid"))
			flags |= MS_NOSUID;
		else if (!strcmp(*o, "nodev"))
			flags |= MS_NODEV;
		else if (!strcmp(*o, "noexec"))
			flags |= MS_NOEXEC;
		else if (!strcmp(*o, "rw") || !strcmp(*o, "rbind") || !strcmp(*o, "bind") || !strcmp(*o, "rprivate") ||
			 !strcmp(*o, "private") || !strcmp(*o, "suid") || !strcmp(*o, "dev") || !strcmp(*o, "exec"))
			;
		else
			snprintf(data + strlen(data), sizeof data - strlen(data), "%s%s", data[0] ? "," : "", *o);
	}
	if (!strcmp(m->type, "bind")) {
		if (mount(m->source, p, NULL, MS_BIND | MS_REC, NULL) < 0)
			return fail(125, "mounting %s on %s: %s", m->source, m->dest, es(errno));
		if (flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC))
			if (remount(p, flags) < 0)
				return fail(125, "remounting %s: %s", m->dest, es(errno));
		return 0;
	}
	if (mount(m->source, p, m->type, flags, data) < 0)
		return fail(125, "mounting %s on %s: %s", m->type, m->dest, es(errno));
	return 0;
}

static int pivot(const char *root) {
	if (chdir(root) < 0)
		return fail(125, "entering the root filesystem: %s", es(errno));
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return fail(125, "pivot_root: %s", es(errno));
	if (umount2(".", MNT_DETACH) < 0)
		return fail(125, "detaching the old root: %s", es(errno));
	if (chdir("/") < 0)
		return fail(125, "entering the root filesystem: %s", es(errno));
	return 0;
}

static int mask_path(const char *p) {
	struct stat st;
	if (stat(p, &st) < 0)
		return 0;
	int r = S_ISDIR(st.st_mode) ? mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=0k,mode=555")
				    : mount("/dev/null", p, NULL, MS_BIND, NULL);
	if (r < 0)
		return fail(125, "masking %s: %s", p, es(errno));
	return 0;
}

static int readonly_path(const char *p) {
	struct stat st;
	if (stat(p, &st) < 0)
		return 0;
	if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0)
		return fail(125, "binding %s read-only: %s", p, es(errno));
	if (remount(p, MS_RDONLY) < 0)
		return fail(125, "making %s read-only: %s", p, es(errno));
	return 0;
}

static int setup_rootfs(struct config *c) {
	// Our mounts must not propagate back into the holder's (or the host's) namespace.
	if (mount("", "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return fail(125, "making / a slave mount: %s", es(errno));
	const char *root = c->rootfs;
	if (c->tree >= 0) {
		int r = (int)syscall(SYS_move_mount, c->tree, "", AT_FDCWD, root, MOVE_MOUNT_F_EMPTY_PATH);
		int e = errno;
		close(c->tree);
		if (r < 0)
			return fail(125, "attaching the root filesystem: %s", es(e));
	} else if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0) {
		return fail(125, "binding the root filesystem: %s", es(errno));
	}
	if (mount_proc(root) < 0 || mount_dev(root, c->devpts_gid) < 0 || mount_sys(root, c->new_net || c->join_net != 0) < 0)
		return -1;
	for (long i = 0; i < c->nmounts; i++)
		if (mount_one(root, &c->mounts[i]) < 0)
			return -1;
	if (pivot(root) < 0)
		return -1;
	for (char **p = c->masked; *p; p++)
		if (mask_path(*p) < 0)
			return -1;
	for (char **p = c->readonly; *p; p++)
		if (readonly_path(*p) < 0)
			return -1;
	if (c->read_only && remount("/", MS_RDONLY) < 0)
		return fail(125, "making the root filesystem read-only: %s", es(errno));
	return 0;
}

static int loopback_up(void) {
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	int r = ioctl(fd, SIOCGIFFLAGS, &ifr);
	if (r == 0) {
		ifr.ifr_flags |= IFF_UP;
		r = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	int e = errno;
	close(fd);
	errno = e;
	return r;
}

// ---- the process (initproc/process.go, caps.go, tty.go) ----

static int setup_tty(uint32_t uid) {
	int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return fail(125, "opening /dev/pts/ptmx: %s", es(errno));
	int unlock = 0;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		return fail(125, "unlocking the pty: %s", es(errno));
	// TIOCGPTPEER opens the slave through the master, immune to a racing /dev/pts lookup.
	int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (slave < 0)
		return fail(125, "opening the pty: %s", es(errno));
	if (uid != 0)
		(void)!fchown(slave, uid, (gid_t)-1);
	if (send_msg("pty", NULL, 0, master) < 0)
		return fail(125, "passing the pty: %s", es(errno));
	close(master);
	if (setsid() < 0)
		return fail(125, "setsid: %s", es(errno));
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return fail(125, "setting the controlling terminal: %s", es(errno));
	for (int fd = 0; fd <= 2; fd++)
		if (dup2(slave, fd) < 0)
			return fail(125, "dup2: %s", es(errno));
	if (slave > 2)
		close(slave);
	return 0;
}

static int enter_workdir(const char *dir, uint32_t uid, uint32_t gid) {
	if (!*dir)
		dir = "/";
	struct stat st;
	char failed[PATH_MAX];
	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return fail(125, "working directory %s is not a directory", dir);
	} else if (errno == ENOENT) {
		if (mkdir_all(dir, 0755, failed, sizeof failed) < 0)
			return fail(125, "creating working directory %s: mkdir %s: %s", dir, failed, es(errno));
		(void)!chown(dir, uid, gid);
	} else {
		return fail(125, "working directory %s: stat %s: %s", dir, dir, es(errno));
	}
	if (chdir(dir) < 0)
		return fail(125, "entering working directory %s: %s", dir, es(errno));
	return 0;
}

static const char *env_value(char **env, const char *key) {
	size_t kl = strlen(key);
	const char *v = NULL;
	for (char **e = env; *e; e++)
		if (!strncmp(*e, key, kl) && (*e)[kl] == '=')
			v = *e + kl + 1; // the last one wins
	return v;
}

// look_path finds the command as docker does: a name with a slash as it is, otherwise in
// the container's PATH. NULL when it failed.
static char *look_path(struct process *p) {
	if (p->nargs == 0) {
		fail(125, "no command specified");
		return NULL;
	}
	const char *name = p->args[0];
	struct stat st;
	if (strchr(name, '/')) {
		if (stat(name, &st) < 0) {
			fail(127, "exec: %s: no such file or directory", q(name));
			return NULL;
		}
		if (S_ISDIR(st.st_mode) || (st.st_mode & 0111) == 0) {
			fail(126, "exec: %s: permission denied", q(name));
			return NULL;
		}
		return strdup(name);
	}
	const char *path = env_value(p->env, "PATH");
	if (!path || !*path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	int denied = 0;
	for (const char *s = path;;) {
		const char *colon = strchr(s, ':');
		size_t l = colon ? (size_t)(colon - s) : strlen(s);
		char c[PATH_MAX];
		if (l == 0)
			snprintf(c, sizeof c, "%s", name);
		else
			snprintf(c, sizeof c, "%.*s%s%s", (int)l, s, s[l - 1] == '/' ? "" : "/", name);
		if (stat(c, &st) == 0 && !S_ISDIR(st.st_mode)) {
			if ((st.st_mode & 0111) == 0)
				denied = 1;
			else
				return strdup(c);
		}
		if (!colon)
			break;
		s = colon + 1;
	}
	if (denied)
		fail(126, "exec: %s: permission denied", q(name));
	else
		fail(127, "exec: %s: executable file not found in $PATH", q(name));
	return NULL;
}

static const char *cap_names[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
	"CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
	"CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
};
#define NCAPS ((int)(sizeof cap_names / sizeof cap_names[0]))

// wanted is the set of capabilities named (unknown names are ignored, as initproc does).
static uint64_t wanted(char **names) {
	uint64_t set = 0;
	for (char **n = names; *n; n++)
		for (int c = 0; c < NCAPS; c++)
			if (!strcmp(*n, cap_names[c]))
				set |= 1ULL << c;
	return set;
}

// drop_bounding limits the bounding set to the container's capabilities while we still
// hold CAP_SETPCAP.
static int drop_bounding(uint64_t keep) {
	int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	char buf[16] = "";
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0) {
		errno = EINVAL;
		return -1;
	}
	int last = atoi(buf);
	for (int c = 0; c < NCAPS && c <= last; c++)
		if (!(keep & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
			return -1;
	return 0;
}

struct cap_header {
	uint32_t version;
	int pid;
};
struct cap_data {
	uint32_t effective, permitted, inheritable;
};

// set_caps sets permitted, effective and inheritable to the container's set, less what
// this process lacks; the ambient set stays empty, as with docker.
static int set_caps(uint64_t want) {
	struct cap_header h = {0x20080522, 0}; // _LINUX_CAPABILITY_VERSION_3
	struct cap_data d[2];
	if (syscall(SYS_capget, &h, d) < 0)
		return -1;
	uint64_t permitted = (uint64_t)d[0].permitted | (uint64_t)d[1].permitted << 32;
	uint64_t caps = want & permitted;
	for (int i = 0; i < 2; i++)
		d[i].effective = d[i].permitted = d[i].inheritable = (uint32_t)(caps >> (32 * i));
	return (int)syscall(SYS_capset, &h, d);
}

static int switch_user(struct process *p) {
	// Keep the permitted set across setuid so set_caps can pick what stays.
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return fail(125, "keepcaps: %s", es(errno));
	if (setgroups((size_t)(p->ngroups > 0 ? p->ngroups : 0), p->groups) < 0 && errno != EPERM)
		return fail(125, "setting groups: %s", es(errno));
	if (setresgid(p->gid, p->gid, p->gid) < 0)
		return fail(125, "setting gid %u: %s (is it mapped in this user namespace?)", p->gid, es(errno));
	if (setresuid(p->uid, p->uid, p->uid) < 0)
		return fail(125, "setting uid %u: %s (is it mapped in this user namespace?)", p->uid, es(errno));
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	return 0;
}

static int install_filter(struct sock_fprog *prog, uint64_t flags) {
	long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC | flags, prog);
	if (r < 0 && errno == EACCES)
		return fail(125, "installing the seccomp filter: install seccomp filter: permission denied: set no_new_privs or hold CAP_SYS_ADMIN");
	if (r < 0)
		return fail(125, "installing the seccomp filter: install seccomp filter: %s", es(errno));
	if (r > 0)
		return fail(125, "installing the seccomp filter: install seccomp filter: thread %ld could not be synchronized", r);
	return 0;
}

static int exec_error(const char *name, int e) {
	if (e == EACCES || e == ENOEXEC || e == EISDIR)
		return fail(126, "exec: %s: permission denied", q(name));
	if (e == ENOENT)
		return fail(127, "exec: %s: no such file or directory", q(name));
	return fail(126, "exec %s: %s", q(name), es(e));
}

static int start_process(struct process *p) {
	// The supervisor starts the Go init for --init (run/initexe.go): this one never stays.
	if (p->init)
		return fail(125, "--init: this init cannot stay as PID 1; the Go init does");
	if (p->tty && setup_tty(p->uid) < 0)
		return -1;
	for (long i = 0; i < p->nrlimits; i++) {
		struct rlimit r = {(rlim_t)p->rlimits[i].soft, (rlim_t)p->rlimits[i].hard};
		if (setrlimit(p->rlimits[i].resource, &r) < 0)
			return fail(125, "setting ulimit %d: %s", p->rlimits[i].resource, es(errno));
	}
	if (enter_workdir(p->cwd, p->uid, p->gid) < 0)
		return -1;
	// Resolve the command with the container's PATH before privileges go, so the error can
	// be docker's "executable file not found" (127) or "permission denied" (126).
	char *path = look_path(p);
	if (!path)
		return -1;
	struct sock_fprog prog = {0, NULL};
	int filter = strcmp(p->seccomp, "unconfined") != 0;
	if (filter) {
		size_t size = sizeof(struct sock_filter);
		if (p->prog_len == 0 || p->prog_len % size || p->prog_len / size > 0xffff)
			return fail(125, "seccomp: a compiled filter of %zu bytes is not a program", p->prog_len);
		prog.len = (unsigned short)(p->prog_len / size);
		prog.filter = (struct sock_filter *)p->prog;
	}
	// Without no_new_privs, installing a filter takes CAP_SYS_ADMIN, so it goes in while we
	// still hold every capability.
	if (filter && !p->no_new_privs && install_filter(&prog, p->seccomp_flags) < 0)
		return -1;
	uint64_t caps = wanted(p->caps);
	if (drop_bounding(caps) < 0)
		return fail(125, "dropping capabilities: %s", es(errno));
	if (switch_user(p) < 0)
		return -1;
	if (set_caps(caps) < 0)
		return fail(125, "setting capabilities: %s", es(errno));
	if (p->no_new_privs) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			return fail(125, "setting no_new_privs: %s", es(errno));
		// Last, so the filter judges only the container's own calls.
		if (filter && install_filter(&prog, p->seccomp_flags) < 0)
			return -1;
	}
	// Nothing but stdio goes into the container; the sync socket closes on execve too,
	// which is how the supervisor learns that the command runs.
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return fail(125, "closing inherited descriptors: %s", es(errno));
	if (p->pids_limit > 0) {
		char v[32];
		int n = snprintf(v, sizeof v, "%lld", (long long)p->pids_limit);
		for (int i = 0; i < p->npids_files; i++) {
			if (write(p->pids_files[i], v, (size_t)n) < 0)
				return fail(125, "setting --pids-limit: write received: %s", es(errno));
			close(p->pids_files[i]);
		}
	}
	execve(path, p->args, p->env);
	return exec_error(p->args[0], errno);
}

// bind_notify sends every bind(2) of the container's processes to the supervisor: it
// installs a seccomp filter that turns them into user notifications and sends the
// supervisor the filter's listener (proto.Config.BindNotify). The init holds every
// capability here, which installing a filter without no_new_privs takes. Where the kernel
// or the architecture cannot, it sends nothing, and the supervisor relays the ports.
static int bind_notify(void) {
#if defined(__x86_64__)
#define SBX_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SBX_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif
#ifdef SBX_AUDIT_ARCH
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SBX_AUDIT_ARCH, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_bind, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {sizeof f / sizeof f[0], f};
	int fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	if (fd < 0)
		return 0;
	int r = send_msg("bind-notify", NULL, 0, fd);
	close(fd);
	if (r < 0)
		return fail(125, "sending the bind listener: %s", es(errno));
#endif
	return 0;
}

static int run(struct config *c) {
	if (c->join_net != 0) {
		if (setns(c->join_net, CLONE_NEWNET) < 0)
			return fail(125, "joining the network namespace: %s", es(errno));
		close(c->join_net);
	}
	if (setup_rootfs(c) < 0)
		return -1;
	if (*c->hostname && sethostname(c->hostname, strlen(c->hostname)) < 0)
		return fail(125, "setting the hostname: %s", es(errno));
	if (c->new_net && loopback_up() < 0)
		return fail(125, "bringing up lo: %s", es(errno));
	if (c->wait_network) {
		char buf[512];
		ssize_t n;
		do
			n = recv(SYNC_FD, buf, sizeof buf - 1, 0);
		while (n < 0 && errno == EINTR);
		if (n <= 0)
			return fail(125, "waiting for the network: %s", n == 0 ? "end of messages" : es(errno));
		buf[n] = 0;
		if (!strstr(buf, "\"Stage\":\"network\""))
			return fail(125, "waiting for the network: <nil>");
	}
	if (c->bind_notify && bind_notify() < 0)
		return -1;
	return start_process(&c->p);
}

static unsigned char msg[1 << 20];

int main(void) {
	if (!getenv("_SBX_INIT")) {
		fputs("sbx-init: this program is started by sbx's supervisor only\n", stderr);
		return 125;
	}
	// Every inherited descriptor closes on execve, the sync socket too.
	syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
	int fl = fcntl(SYNC_FD, F_GETFL);
	if (fl < 0 || fcntl(SYNC_FD, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		fprintf(stderr, "sbx init: sync socket: %s\n", es(errno));
		return 125;
	}
	union {
		char b[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {msg, sizeof msg};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof u.b};
	ssize_t n;
	do
		n = recvmsg(SYNC_FD, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		fprintf(stderr, "sbx init: reading config: %s\n", n == 0 ? "end of messages" : es(errno));
		return 125;
	}
	int fds[4], nfds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (int i = 0; i < k && nfds < 4; i++)
			memcpy(&fds[nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}
	struct config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.tree = -1;
	if (msg[0] != 0 || decode(msg + 1, (size_t)n - 1, &cfg) < 0) {
		fprintf(stderr, "sbx init: reading config: decoding message: truncated or malformed\n");
		return 125;
	}
	if (cfg.rootfs_tree && nfds > 0)
		cfg.tree = fds[--nfds];
	cfg.p.pids_files = fds;
	cfg.p.npids_files = nfds;
	if (run(&cfg) < 0 && err_code == 0)
		fail(125, "setting the container up: %s", es(errno));
	send_msg(NULL, err_msg, err_code, -1);
	return err_code;
}
