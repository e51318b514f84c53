// Package idlesup is a detached container's supervisor once the container's command runs:
// a small C program in the sbx binary, run by a constructor before the Go runtime starts.
//
// The Go supervisor (run.Runtime.Supervise) sets the container up and starts it; from then
// on, for a detached container, it has little left to do but wait,
// and a Go process that waits still keeps megabytes of runtime, heap and mapped code. So it
// re-executes sbx from the thread that forked the container's init, with _SBX_IDLE set and
// the descriptors it needs inherited, and this constructor takes over without ever starting
// Go (a few hundred KiB instead of several MB):
//
//   - it appends the container's output (stdout and stderr pipes, or the pty master) to the
//     json-file log, one entry per line as the Go supervisor writes them, lines longer than
//     16 KiB split as docker splits them, a trailing partial line written at end of file;
//   - it passes SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 on to the init;
//   - it enforces --timeout: the stop signal, SIGKILL after the stop timeout, status 124;
//   - it relays the published ports, as the Go forwarder (netns.Forwarder) does: it
//     enters the bridge network namespace for good, so that the sockets it dials the
//     container with are there, while the inherited listeners stay bound in the host's;
//     each connection keeps the client's address when the namespace routes it out through
//     the outbound device (asked of the kernel per connection), and its bytes move by
//     splice through a pipe per direction. A UDP port gets a socket per client address
//     (a flow, closed after two minutes without traffic), from the gateway's address;
//   - it hands a published TCP port's listener to the server in the container that binds
//     the port, as the Go supervisor does (netns/binds.go), and relays what reaches the
//     container's own socket for the port to the host's; a thread of its own, which stays in
//     the host's network namespace, makes the sockets for that;
//   - once the init has exited and the output is drained, it re-executes sbx in Go,
//     `sbx __finish ID STATUS`, which records the exit and releases what the container held
//     exactly as the Go supervisor does (run.Runtime.FinishDetached).
//
// It is the same process throughout (same pid, same start time), so the container record's
// supervisor identity and the network leases it owns stay valid, and, being the very thread
// that forked the init, its death still fires the init's parent-death signal. The command
// line stays the Go supervisor's (`sbx __supervise ID`). The descriptors that must outlive every stage (the
// reference on the user's namespace holder) are inherited without close-on-exec and left
// alone here.
//
// _SBX_IDLE is id=ID,pid=N,out=FD,err=FD,log=FD[,ready=FD][,deadline=NS,sig=N,grace=NS]
// [,netns=FD[,tcp=FD@IP:PORT+FD@IP:PORT...][,udp=FD@IP:PORT+...][,binds=FD],outbound=NAME]:
// the container, its init, the output descriptors (err=-1 with a pty), the log (opened
// O_APPEND), the starter's pipe, closed once running, for --timeout the absolute
// CLOCK_MONOTONIC deadline, the stop signal and the stop timeout, and for published ports
// the bridge namespace, each listener with the container's address and port it leads to,
// the init's bind listener, and the outbound device's name. The Go side blocks the
// signals handled here before it executes us, so none is lost or fatal in between.
//
// Import this package for its side effect from main only.
package idlesup

/*
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// Docker's json-file driver splits lines longer than this into several entries.
#define SBX_IDLE_LINE 16384

struct sbx_idle_stream {
	int fd; // -1 once at end of file
	const char *name;
	size_t len;
	char buf[SBX_IDLE_LINE];
};

// Static buffers: only the pages a container's output really touches get memory.
static struct sbx_idle_stream sbx_idle_streams[2];
// The worst case is every byte escaped as \u00XX.
static char sbx_idle_entry[SBX_IDLE_LINE * 6 + 128];
static int sbx_idle_logfd = -1;
static char sbx_idle_id[65];

static void sbx_idle_fail(const char *what) {
	// stderr is the supervisor's log file.
	const char *err = strerror(errno);
	(void)!write(2, "sbx: idle supervisor: ", 22);
	(void)!write(2, what, strlen(what));
	(void)!write(2, ": ", 2);
	(void)!write(2, err, strlen(err));
	(void)!write(2, "\n", 1);
	// The init dies with us (its parent-death signal); the next sbx command cleans up.
	_exit(125);
}

static char *sbx_idle_digits(char *p, unsigned long long v, int width) {
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = '0' + v % 10;
		v /= 10;
	} while (v > 0 || n < width);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

// sbx_idle_time writes the time as Go's time.Time marshals in UTC (RFC 3339 with the
// nanoseconds, trailing zeros dropped, and Z). The date is computed here: gmtime would load
// the time zone files on first use.
static char *sbx_idle_time(char *p) {
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	long long secs = ts.tv_sec, days = secs / 86400, rem = secs % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	// Howard Hinnant's civil_from_days.
	long long z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	long long doe = z - era * 146097;
	long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long long y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long long mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
	long long m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	p = sbx_idle_digits(p, y, 4);
	*p++ = '-';
	p = sbx_idle_digits(p, m, 2);
	*p++ = '-';
	p = sbx_idle_digits(p, d, 2);
	*p++ = 'T';
	p = sbx_idle_digits(p, rem / 3600, 2);
	*p++ = ':';
	p = sbx_idle_digits(p, rem / 60 % 60, 2);
	*p++ = ':';
	p = sbx_idle_digits(p, rem % 60, 2);
	if (ts.tv_nsec != 0) {
		*p++ = '.';
		char *frac = p;
		p = sbx_idle_digits(p, ts.tv_nsec, 9);
		while (p > frac && p[-1] == '0')
			p--;
	}
	*p++ = 'Z';
	return p;
}

// sbx_idle_entry_write appends one entry {"log":"...","stream":"...","time":"..."} to the
// log in one write, as the Go supervisor does (readers skip a line not yet complete).
static void sbx_idle_entry_write(const char *stream, const char *s, size_t n) {
	static const char hex[] = "0123456789abcdef";
	char *p = sbx_idle_entry;
	memcpy(p, "{\"log\":\"", 8);
	p += 8;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"':
			*p++ = '\\';
			*p++ = '"';
			break;
		case '\\':
			*p++ = '\\';
			*p++ = '\\';
			break;
		case '\n':
			*p++ = '\\';
			*p++ = 'n';
			break;
		case '\r':
			*p++ = '\\';
			*p++ = 'r';
			break;
		case '\t':
			*p++ = '\\';
			*p++ = 't';
			break;
		default:
			if (c < 0x20) {
				memcpy(p, "\\u00", 4);
				p[4] = hex[c >> 4];
				p[5] = hex[c & 15];
				p += 6;
			} else {
				// Bytes that are not UTF-8 go as they are: Go's decoder reads each as
				// U+FFFD, which is what Go's encoder would have written.
				*p++ = (char)c;
			}
		}
	}
	memcpy(p, "\",\"stream\":\"", 12);
	p += 12;
	size_t sl = strlen(stream);
	memcpy(p, stream, sl);
	p += sl;
	memcpy(p, "\",\"time\":\"", 10);
	p += 10;
	p = sbx_idle_time(p);
	memcpy(p, "\"}\n", 3);
	p += 3;
	for (const char *w = sbx_idle_entry; w < p;) {
		ssize_t k = write(sbx_idle_logfd, w, (size_t)(p - w));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return; // a full disk loses output, as in the Go supervisor
		w += k;
	}
}

// sbx_idle_read reads what the stream has and logs its complete lines; at end of file (or
// EIO: a pty whose last slave is gone) it logs the partial last line and closes it.
static void sbx_idle_read(struct sbx_idle_stream *s) {
	ssize_t n = read(s->fd, s->buf + s->len, sizeof s->buf - s->len);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		if (s->len > 0)
			sbx_idle_entry_write(s->name, s->buf, s->len);
		s->len = 0;
		close(s->fd);
		s->fd = -1;
		return;
	}
	s->len += (size_t)n;
	size_t start = 0;
	for (;;) {
		char *nl = memchr(s->buf + start, '\n', s->len - start);
		if (nl == NULL)
			break;
		size_t end = (size_t)(nl - s->buf) + 1;
		sbx_idle_entry_write(s->name, s->buf + start, end - start);
		start = end;
	}
	if (start == 0 && s->len == sizeof s->buf) {
		// A line as long as the buffer: docker's split, the rest follows in the next entry.
		sbx_idle_entry_write(s->name, s->buf, s->len);
		start = s->len;
	}
	memmove(s->buf, s->buf + start, s->len - start);
	s->len -= start;
}

static long long sbx_idle_now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

// sbx_idle_field returns the number after "key=" in spec, or def.
static long long sbx_idle_field(const char *spec, const char *key, long long def) {
	size_t kl = strlen(key);
	for (const char *p = spec; p != NULL && *p != '\0';) {
		if (strncmp(p, key, kl) == 0 && p[kl] == '=')
			return strtoll(p + kl + 1, NULL, 10);
		p = strchr(p, ',');
		if (p != NULL)
			p++;
	}
	return def;
}

// sbx_idle_id_of copies the container ID (64 hex digits) after "id=" in spec.
static int sbx_idle_id_of(const char *spec) {
	const char *p = strstr(spec, "id=");
	if (p == NULL || (p != spec && p[-1] != ','))
		return 0;
	p += 3;
	size_t n = strspn(p, "0123456789abcdef");
	if (n != 64 || (p[n] != ',' && p[n] != '\0'))
		return 0;
	memcpy(sbx_idle_id, p, n);
	sbx_idle_id[n] = '\0';
	return 1;
}

// The forwarder: the published ports' listeners, inherited bound in the host's network
// namespace; every other socket is made after entering the bridge namespace, so they are
// there. One epoll set holds the listeners and the connections' sockets, and the main loop
// polls its descriptor with the others. A connection costs no thread and no buffer here:
// the bytes go by splice through two pipes, one per direction, in the kernel.

// Connections beyond this (or beyond what the descriptor limit allows) are closed at once.
#define SBX_FWD_MAX 1024
#define SBX_FWD_PORTS 1024
#define SBX_FWD_CONNECT_NS (10 * 1000000000LL) // as the Go forwarder's dial timeout
#define SBX_FWD_PIPE (1 << 20)

struct sbx_fwd_listener {
	int fd;
	struct sockaddr_in target;
	// For a TCP port: whether fd was handed to a server in the container (see sbx_bind),
	// its family, where a connection to it is made from here, and the container's own
	// socket for the port, of the last server that was handed it (or -1).
	int given;
	int family;
	struct sockaddr_storage dial;
	socklen_t diallen;
	int inside;
	// The -p it serves (two listeners serve one once split, see sbx_listener_for), whether
	// it is IPv6-only, whether it listens on every address, and its port.
	int mapping, v6only, every;
	uint16_t host_port;
};

// One direction of a connection: from src through the pipe to dst.
struct sbx_fwd_dir {
	int pipe[2];
	size_t queued; // bytes in the pipe
	int eof;       // nothing more comes from src
	int done;      // shut down: dst is told end of file, nothing more moves
};

struct sbx_fwd_conn {
	int used;              // 0: the slot is free
	int client, up;        // up is -1 until dialled
	uint32_t gen;          // tells a stale event from one for the slot's next connection
	int connecting;        // 1: up's connect is in progress
	int transparent;       // up is bound to the client's address
	int inside;            // from the container's own socket to the host's port
	long long deadline;    // of the connect
	struct sockaddr_in from; // the client's address, when it is kept
	struct sbx_fwd_listener *l;
	struct sbx_fwd_dir d[2]; // 0: client to container, 1: back
};

static struct sbx_fwd_listener sbx_fwd_ls[SBX_FWD_PORTS];
static int sbx_fwd_nls;
static struct sbx_fwd_conn sbx_fwd_conns[SBX_FWD_MAX];
// Slots from sbx_fwd_hi on were never used: their pages are never touched.
static int sbx_fwd_max, sbx_fwd_live, sbx_fwd_hi;
static int sbx_fwd_ep = -1, sbx_fwd_nl = -1;
static char sbx_fwd_outbound[IF_NAMESIZE];
static uint32_t sbx_fwd_seq;

// The UDP relay: each client address a port hears from gets a flow, a socket connected to
// the container's port (from the gateway's address, as the Go forwarder's), which the
// container's answers come back on and go out to the client through the port's socket. A
// flow that is quiet for two minutes is closed; flows beyond the limit are not made, and
// their datagrams are dropped, as a full socket buffer would drop them.
#define SBX_UDP_MAX 1024
#define SBX_UDP_IDLE_NS (120 * 1000000000LL) // as the Go forwarder's udpIdle

struct sbx_udp_flow {
	int used;
	int fd;
	uint32_t gen;
	int l; // its port, an index into sbx_udp_ls
	long long last;
	struct sockaddr_storage from;
	socklen_t fromlen;
};

static struct sbx_fwd_listener sbx_udp_ls[SBX_FWD_PORTS];
static int sbx_udp_nls;
static struct sbx_udp_flow sbx_udp_flows[SBX_UDP_MAX];
// As for connections: slots from sbx_udp_hi on were never used.
static int sbx_udp_max, sbx_udp_live, sbx_udp_hi;
static char sbx_udp_buf[65536];

enum { SBX_EV_LISTENER = 1, SBX_EV_CONN = 2, SBX_EV_UDP = 3, SBX_EV_FLOW = 4, SBX_EV_INSIDE = 5, SBX_EV_BINDS = 6 };

static uint64_t sbx_fwd_tag(int kind, int idx, uint32_t gen) {
	return (uint64_t)gen << 32 | (uint64_t)kind << 24 | (uint64_t)idx;
}

// sbx_fwd_parse reads KEY=FD@A.B.C.D:PORT+FD@... (key "tcp" or "udp") into ls; 0 if it
// is malformed.
static int sbx_fwd_parse(const char *spec, const char *key, struct sbx_fwd_listener *ls, int *nls) {
	char want[8] = ","; // ",tcp=" or ",udp="
	strcat(strcat(want, key), "=");
	const char *p = strstr(spec, want);
	if (p == NULL)
		return 1; // no ports
	p += strlen(want);
	for (;;) {
		if (*nls == SBX_FWD_PORTS)
			return 0;
		char *end;
		long fd = strtol(p, &end, 10);
		if (end == p || *end != '@' || fd < 0)
			return 0;
		p = end + 1;
		char ip[16];
		size_t n = strcspn(p, ":");
		if (n == 0 || n >= sizeof ip)
			return 0;
		memcpy(ip, p, n);
		ip[n] = '\0';
		p += n;
		if (*p++ != ':')
			return 0;
		long port = strtol(p, &end, 10);
		if (end == p || port <= 0 || port > 65535)
			return 0;
		struct sbx_fwd_listener *l = &ls[*nls];
		l->fd = (int)fd;
		l->target.sin_family = AF_INET;
		l->target.sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, ip, &l->target.sin_addr) != 1)
			return 0;
		(*nls)++;
		p = end;
		if (*p != '+')
			return *p == ',' || *p == '\0';
		p++;
	}
}

// ---- published ports handed to the servers that bind them (see netns/binds.go) ----
//
// The init sends the container's bind calls here (sbx_binds_fd, a seccomp listener). A
// bind of a port published once, on the container's address or on any address, by a TCP
// (or MPTCP) socket of the host listener's kind (see sbx_listener_for), is carried out here
// on the caller's own socket, and the host's listener is put in that socket's place: the
// server accepts the host's connections itself. The listener stays open here too, for the
// next server that binds the port. The container's socket stays bound where the server
// asked, and what reaches it is relayed to the host's port (SBX_EV_INSIDE). Any other bind
// is left to the kernel.
//
// That relay, and a listener split in two, need sockets in the host's network namespace,
// which this process left for the bridge namespace's (and, rootless, cannot enter again):
// a thread made before that, still in the host's, makes them (sbx_host_socket).

static int sbx_binds_fd = -1;
static int sbx_host_req[2] = {-1, -1}, sbx_host_resp[2] = {-1, -1};

static void *sbx_host_sockets(void *arg) {
	(void)arg;
	int family;
	while (read(sbx_host_req[0], &family, sizeof family) == (ssize_t)sizeof family) {
		int s = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (write(sbx_host_resp[1], &s, sizeof s) != (ssize_t)sizeof s && s >= 0)
			close(s);
	}
	return NULL;
}

// sbx_host_start starts the thread that makes sockets in the host's namespace; 0 if it
// could not.
static int sbx_host_start(void) {
	if (pipe2(sbx_host_req, O_CLOEXEC) < 0 || pipe2(sbx_host_resp, O_CLOEXEC) < 0)
		return 0;
	pthread_attr_t a;
	pthread_t t;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 * 1024);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	int ok = pthread_create(&t, &a, sbx_host_sockets, NULL) == 0;
	pthread_attr_destroy(&a);
	return ok;
}

// sbx_host_socket is a new TCP socket (non-blocking) in the host's namespace, or -1.
static int sbx_host_socket(int family) {
	int s = -1;
	if (sbx_host_req[1] < 0 || write(sbx_host_req[1], &family, sizeof family) != (ssize_t)sizeof family)
		return -1;
	while (read(sbx_host_resp[0], &s, sizeof s) < 0 && errno == EINTR)
		;
	return s;
}

static int sbx_notif_valid(uint64_t id) {
	return ioctl(sbx_binds_fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

static int sbx_getint(int fd, int level, int opt) {
	int v = -1;
	socklen_t l = sizeof v;
	return getsockopt(fd, level, opt, &v, &l) == 0 ? v : -1;
}

// sbx_proc_read reads /proc/PID/NAME (or, with fd >= 0, /proc/PID/NAME/FD) into buf, ending
// it with a NUL; 0 if that failed.
static int sbx_proc_read(pid_t pid, const char *name, int fd, char *buf, size_t size) {
	char path[64], *w = path;
	memcpy(w, "/proc/", 6);
	w = sbx_idle_digits(w + 6, (unsigned long long)pid, 1);
	*w++ = '/';
	size_t nl = strlen(name);
	memcpy(w, name, nl);
	w += nl;
	if (fd >= 0) {
		*w++ = '/';
		w = sbx_idle_digits(w, (unsigned long long)fd, 1);
	}
	*w = '\0';
	int f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return 0;
	ssize_t n = read(f, buf, size - 1);
	close(f);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return 1;
}

// sbx_close_on_exec reports whether pid's descriptor fd closes on execve (its fdinfo).
static int sbx_close_on_exec(pid_t pid, int fd) {
	char buf[512];
	if (!sbx_proc_read(pid, "fdinfo", fd, buf, sizeof buf))
		return 0;
	char *p = strstr(buf, "flags:");
	return p != NULL && (strtoul(p + 6, NULL, 8) & O_CLOEXEC) != 0;
}

// sbx_thread_group is the process (thread group) of thread tid (its status's Tgid).
static pid_t sbx_thread_group(pid_t tid) {
	char buf[1024];
	if (!sbx_proc_read(tid, "status", -1, buf, sizeof buf))
		return tid;
	char *p = strstr(buf, "\nTgid:");
	return p != NULL ? (pid_t)strtol(p + 6, NULL, 10) : tid;
}

// sbx_host_listen makes a listener in the host's namespace on every address of family
// (IPv6-only, for IPv6, when v6only) and the given port, in the epoll set as listener idx;
// -1 if it could not.
static int sbx_host_listen(int family, int v6only, uint16_t port, int idx) {
	int s = sbx_host_socket(family), one = 1;
	if (s < 0)
		return -1;
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	socklen_t len;
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = port;
		len = sizeof *a;
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = port;
		len = sizeof *a;
		setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
	}
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = sbx_fwd_tag(SBX_EV_LISTENER, idx, 0)};
	if (bind(s, (struct sockaddr *)&ss, len) < 0 || listen(s, SOMAXCONN) < 0 || epoll_ctl(sbx_fwd_ep, EPOLL_CTL_ADD, s, &ev) < 0) {
		close(s);
		return -1;
	}
	return s;
}

// sbx_listener_for is the index of the listener, among the count from first on (one
// published port's), that a socket of family dom (IPv6-only or not) can take: one of the
// same kind. A port published on every address starts with one listener for both
// families (IPv6, not IPv6-only, what most servers bind); for a server that binds IPv4 only
// or IPv6 only, while no server has it, it is split in two, one per family (as the Go
// supervisor's listenerFor does), and the server takes its own. -1 if none serves. The
// port is free between the close and the binds, for as short as a few system calls take.
static int sbx_listener_for(int first, int count, int dom, int v6only) {
	for (int i = first; i < sbx_fwd_nls; i++) {
		struct sbx_fwd_listener *l = &sbx_fwd_ls[i];
		if (l->target.sin_port == sbx_fwd_ls[first].target.sin_port && l->family == dom && l->v6only == v6only)
			return i;
	}
	struct sbx_fwd_listener *l = &sbx_fwd_ls[first];
	if (count != 1 || !l->every || l->family != AF_INET6 || l->v6only || l->given || sbx_fwd_nls == SBX_FWD_PORTS)
		return -1;
	epoll_ctl(sbx_fwd_ep, EPOLL_CTL_DEL, l->fd, NULL);
	close(l->fd);
	int s4 = sbx_host_listen(AF_INET, 0, l->host_port, first);
	if (s4 < 0) {
		// Back to one listener for both families, if the port is still to be had; if
		// not, it is lost, and connections to it are refused.
		l->fd = sbx_host_listen(AF_INET6, 0, l->host_port, first);
		if (l->fd < 0)
			l->given = 1; // nothing to accept on, nothing to hand over
		return -1;
	}
	l->fd = s4;
	l->family = AF_INET;
	int v6 = -1;
	// A host without IPv6 has only the IPv4 one.
	int s6 = sbx_host_listen(AF_INET6, 1, l->host_port, sbx_fwd_nls);
	if (s6 >= 0) {
		v6 = sbx_fwd_nls++;
		struct sbx_fwd_listener *m = &sbx_fwd_ls[v6];
		*m = *l;
		m->fd = s6;
		m->family = AF_INET6;
		m->v6only = 1;
		struct sockaddr_in6 lo = {.sin6_family = AF_INET6, .sin6_port = l->host_port, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
		memset(&m->dial, 0, sizeof m->dial);
		memcpy(&m->dial, &lo, sizeof lo);
		m->diallen = sizeof lo;
	}
	return dom == AF_INET ? first : v6only ? v6 : -1;
}

// sbx_bind handles one bind call n: 0 leaves it to the kernel; 1 says it was carried out
// here, with *err its errno (0 on success).
static int sbx_bind(struct seccomp_notif *n, int *err) {
	struct sockaddr_storage sa;
	socklen_t len = (socklen_t)n->data.args[2];
	if (n->data.nr != __NR_bind || len < sizeof(struct sockaddr_in) || len > sizeof sa)
		return 0;
	memset(&sa, 0, sizeof sa);
	struct iovec local = {&sa, len}, remote = {(void *)(uintptr_t)n->data.args[1], len};
	// The caller may have gone, and its pid been reused, between the two.
	if (process_vm_readv((pid_t)n->pid, &local, 1, &remote, 1, 0) != (ssize_t)len || !sbx_notif_valid(n->id))
		return 0;
	// The address: any, or the container's own (every TCP port's target), maybe mapped.
	uint16_t port;
	struct in_addr v4;
	int any;
	if (sa.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&sa;
		port = a->sin_port;
		v4 = a->sin_addr;
		any = v4.s_addr == htonl(INADDR_ANY);
	} else if (sa.ss_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&sa;
		port = a->sin6_port;
		any = IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr);
		if (!any && !IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
			return 0;
		memcpy(&v4, a->sin6_addr.s6_addr + 12, 4);
	} else
		return 0;
	if (sbx_fwd_nls == 0 || (!any && v4.s_addr != sbx_fwd_ls[0].target.sin_addr.s_addr))
		return 0;
	// The port's listeners: of one -p only (two once split), or the relay serves it.
	int first = -1, count = 0;
	for (int i = 0; i < sbx_fwd_nls; i++) {
		if (sbx_fwd_ls[i].target.sin_port != port)
			continue;
		if (first >= 0 && sbx_fwd_ls[i].mapping != sbx_fwd_ls[first].mapping)
			return 0;
		if (first < 0)
			first = i;
		count++;
	}
	if (first < 0)
		return 0;
	// The caller may be a thread other than its process's first: pidfd_open takes that.
	int pidfd = (int)syscall(SYS_pidfd_open, sbx_thread_group((pid_t)n->pid), 0);
	if (pidfd < 0)
		return 0;
	int sock = (int)syscall(SYS_pidfd_getfd, pidfd, (int)n->data.args[0], 0);
	close(pidfd);
	if (sock < 0)
		return 0;
	int dom = sbx_getint(sock, SOL_SOCKET, SO_DOMAIN);
	int v6only = dom == AF_INET6 ? sbx_getint(sock, IPPROTO_IPV6, IPV6_V6ONLY) : 0;
	// Go's listeners ask for MPTCP (262) where the kernel has it; the host's TCP listener serves.
	int proto = sbx_getint(sock, SOL_SOCKET, SO_PROTOCOL);
	int idx = -1;
	if (sbx_getint(sock, SOL_SOCKET, SO_TYPE) == SOCK_STREAM && (proto == IPPROTO_TCP || proto == 262) &&
	    dom == sa.ss_family && v6only >= 0)
		idx = sbx_listener_for(first, count, dom, v6only);
	if (idx < 0) {
		close(sock);
		return 0;
	}
	struct sbx_fwd_listener *l = &sbx_fwd_ls[idx];
	// The container's socket of the last server that was handed the port goes first: the
	// new one is bound where it was.
	if (l->inside >= 0)
		close(l->inside); // leaves the epoll set with it
	l->inside = -1;
	// The caller's own bind, as it asked, on its own socket: its answer is the call's.
	if (bind(sock, (struct sockaddr *)&sa, len) < 0) {
		*err = errno;
		close(sock);
		return 1;
	}
	*err = 0;
	// No more accepting here: the server takes the connections from now on, those already
	// waiting too. The caller's file status flags become the listener's, and its descriptor
	// keeps its close-on-exec flag.
	if (!l->given)
		epoll_ctl(sbx_fwd_ep, EPOLL_CTL_DEL, l->fd, NULL);
	int fl = fcntl(sock, F_GETFL);
	fcntl(l->fd, F_SETFL, fl < 0 ? 0 : fl & (O_NONBLOCK | O_ASYNC));
	struct seccomp_notif_addfd add = {.id = n->id, .flags = SECCOMP_ADDFD_FLAG_SETFD, .srcfd = (uint32_t)l->fd,
					  .newfd = (uint32_t)n->data.args[0]};
	if (sbx_close_on_exec((pid_t)n->pid, (int)n->data.args[0]))
		add.newfd_flags = O_CLOEXEC;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = sbx_fwd_tag(SBX_EV_LISTENER, idx, 0)};
	if (ioctl(sbx_binds_fd, SECCOMP_IOCTL_NOTIF_ADDFD, &add) < 0) {
		// The caller keeps its own socket; if no server had the port yet, the relay goes on.
		if (!l->given) {
			fcntl(l->fd, F_SETFL, O_NONBLOCK);
			epoll_ctl(sbx_fwd_ep, EPOLL_CTL_ADD, l->fd, &ev);
		}
		close(sock);
		return 1;
	}
	l->given = 1;
	// The container's socket listens where the server asked, for the relay to the host.
	ev.data.u64 = sbx_fwd_tag(SBX_EV_INSIDE, idx, 0);
	fcntl(sock, F_SETFL, O_NONBLOCK);
	if (listen(sock, SOMAXCONN) < 0 || epoll_ctl(sbx_fwd_ep, EPOLL_CTL_ADD, sock, &ev) < 0) {
		close(sock);
		return 1;
	}
	l->inside = sock;
	return 1;
}

// sbx_binds_event answers a bind call that waits; once no process of the container is
// left, the listener is closed.
static void sbx_binds_event(void) {
	struct pollfd p = {.fd = sbx_binds_fd, .events = POLLIN};
	if (poll(&p, 1, 0) <= 0)
		return;
	if (!(p.revents & POLLIN)) {
		epoll_ctl(sbx_fwd_ep, EPOLL_CTL_DEL, sbx_binds_fd, NULL);
		close(sbx_binds_fd);
		sbx_binds_fd = -1;
		return;
	}
	struct seccomp_notif n;
	memset(&n, 0, sizeof n);
	if (ioctl(sbx_binds_fd, SECCOMP_IOCTL_NOTIF_RECV, &n) < 0)
		return;
	struct seccomp_notif_resp r = {.id = n.id, .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE};
	int err = 0;
	if (sbx_bind(&n, &err)) {
		r.flags = 0;
		r.error = -err;
	}
	ioctl(sbx_binds_fd, SECCOMP_IOCTL_NOTIF_SEND, &r); // ENOENT: the caller went away
}

// sbx_fwd_setup enters the bridge namespace for good and registers the listeners. The Go
// side made sure it could enter the namespace (same credentials: uid 0 of the holder's user
// namespace keeps its capabilities across execve), so a failure here is a broken setup.
static void sbx_fwd_setup(const char *spec, long long nsfd) {
	if (!sbx_fwd_parse(spec, "tcp", sbx_fwd_ls, &sbx_fwd_nls) || !sbx_fwd_parse(spec, "udp", sbx_udp_ls, &sbx_udp_nls)) {
		errno = EINVAL;
		sbx_idle_fail("_SBX_IDLE: tcp, udp");
	}
	const char *o = strstr(spec, ",outbound=");
	if (o != NULL) {
		size_t n = strcspn(o + 10, ",");
		if (n < sizeof sbx_fwd_outbound)
			memcpy(sbx_fwd_outbound, o + 10, n);
	}
	for (int i = 0; i < sbx_fwd_nls; i++) {
		// What handing the port to a server takes (see sbx_bind).
		struct sbx_fwd_listener *l = &sbx_fwd_ls[i];
		l->inside = -1;
		l->mapping = i;
		l->family = sbx_getint(l->fd, SOL_SOCKET, SO_DOMAIN);
		l->v6only = l->family == AF_INET6 && sbx_getint(l->fd, IPPROTO_IPV6, IPV6_V6ONLY) == 1;
		struct sockaddr_storage host;
		socklen_t hostlen = sizeof host;
		if (getsockname(l->fd, (struct sockaddr *)&host, &hostlen) < 0)
			hostlen = 0;
		l->dial = host;
		l->diallen = hostlen;
		int any = (host.ss_family == AF_INET && ((struct sockaddr_in *)&host)->sin_addr.s_addr == htonl(INADDR_ANY)) ||
			  (host.ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&host)->sin6_addr));
		l->every = any;
		l->host_port = host.ss_family == AF_INET ? ((struct sockaddr_in *)&host)->sin_port
							 : ((struct sockaddr_in6 *)&host)->sin6_port;
		if (any) {
			// Every address listens to both families.
			struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
						 .sin_port = host.ss_family == AF_INET ? ((struct sockaddr_in *)&host)->sin_port
										       : ((struct sockaddr_in6 *)&host)->sin6_port};
			memset(&l->dial, 0, sizeof l->dial);
			memcpy(&l->dial, &lo, sizeof lo);
			l->diallen = sizeof lo;
		}
	}
	long long binds = sbx_idle_field(spec, "binds", -1);
	if (binds >= 0 && sbx_fwd_nls > 0) {
		sbx_binds_fd = (int)binds;
		fcntl(sbx_binds_fd, F_SETFD, FD_CLOEXEC);
		// Before the namespace changes: the thread stays in the host's.
		if (!sbx_host_start())
			sbx_idle_fail("starting the host socket thread");
	}
	for (int i = 0; i < sbx_fwd_nls + sbx_udp_nls; i++) {
		// The finisher must not inherit them: the ports are free once this process is.
		int fd = i < sbx_fwd_nls ? sbx_fwd_ls[i].fd : sbx_udp_ls[i - sbx_fwd_nls].fd;
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	}
	if (nsfd < 0 || setns((int)nsfd, CLONE_NEWNET) < 0)
		sbx_idle_fail("entering the bridge network namespace");
	close((int)nsfd);
	sbx_fwd_ep = epoll_create1(EPOLL_CLOEXEC);
	if (sbx_fwd_ep < 0)
		sbx_idle_fail("epoll_create1");
	for (int i = 0; i < sbx_fwd_nls; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = sbx_fwd_tag(SBX_EV_LISTENER, i, 0)};
		if (epoll_ctl(sbx_fwd_ep, EPOLL_CTL_ADD, sbx_fwd_ls[i].fd, &ev) < 0)
			sbx_idle_fail("epoll_ctl");
	}
	for (int i = 0; i < sbx_udp_nls; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = sbx_fwd_tag(SBX_EV_UDP, i, 0)};
		if (epoll_ctl(sbx_fwd_ep, EPOLL_CTL_ADD, sbx_udp_ls[i].fd, &ev) < 0)
			sbx_idle_fail("epoll_ctl");
	}
	if (sbx_binds_fd >= 0) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = sbx_fwd_tag(SBX_EV_BINDS, 0, 0)};
		if (epoll_ctl(sbx_fwd_ep, EPOLL_CTL_ADD, sbx_binds_fd, &ev) < 0)
			sbx_idle_fail("epoll_ctl");
	}
	// Each connection takes six descriptors (two sockets, two pipes), each UDP flow one; with
	// UDP ports, an eighth of what is free goes to flows.
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	long long free_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (long long)rl.rlim_cur - 64 - sbx_fwd_nls - sbx_udp_nls : 0;
	long long flows = sbx_udp_nls > 0 ? free_fds / 8 : 0;
	sbx_udp_max = flows < 0 ? 0 : flows > SBX_UDP_MAX ? SBX_UDP_MAX : (int)flows;
	long long room = (free_fds - sbx_udp_max) / 6;
	sbx_fwd_max = room < 0 ? 0 : room > SBX_FWD_MAX ? SBX_FWD_MAX : (int)room;
	sbx_fwd_nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
}

// sbx_fwd_reached_outside is the Go forwarder's reachedOutside: whether the bridge
// namespace routes addr out through the outbound device, asked of the kernel for each
// connection (networks come and go), so that the container's answer comes back into the
// namespace to the transparent socket.
static int sbx_fwd_reached_outside(struct in_addr addr) {
	uint32_t a = ntohl(addr.s_addr);
	if (sbx_fwd_nl < 0 || sbx_fwd_outbound[0] == '\0' || a == 0 || a >> 24 == 127 || a >> 28 == 14)
		return 0;
	struct {
		struct nlmsghdr n;
		struct rtmsg r;
		char attrs[16];
	} req;
	memset(&req, 0, sizeof req);
	req.n.nlmsg_len = NLMSG_LENGTH(sizeof req.r);
	req.n.nlmsg_type = RTM_GETROUTE;
	req.n.nlmsg_flags = NLM_F_REQUEST;
	req.n.nlmsg_seq = ++sbx_fwd_seq;
	req.r.rtm_family = AF_INET;
	req.r.rtm_dst_len = 32;
	struct rtattr *rta = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.n.nlmsg_len));
	rta->rta_type = RTA_DST;
	rta->rta_len = RTA_LENGTH(4);
	memcpy(RTA_DATA(rta), &addr, 4);
	req.n.nlmsg_len = NLMSG_ALIGN(req.n.nlmsg_len) + RTA_ALIGN(rta->rta_len);
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	if (sendto(sbx_fwd_nl, &req, req.n.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0)
		return 0;
	// rtnetlink answers within sendto: the reply is queued already.
	static char buf[4096];
	for (;;) {
		ssize_t n = recv(sbx_fwd_nl, buf, sizeof buf, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != sbx_fwd_seq)
				continue; // an answer to a question given up on
			if (h->nlmsg_type != RTM_NEWROUTE)
				return 0;
			struct rtmsg *r = NLMSG_DATA(h);
			if (r->rtm_type != RTN_UNICAST)
				return 0;
			int len = (int)RTM_PAYLOAD(h);
			for (struct rtattr *at = RTM_RTA(r); RTA_OK(at, len); at = RTA_NEXT(at, len)) {
				if (at->rta_type != RTA_OIF)
					continue;
				char name[IF_NAMESIZE];
				unsigned idx;
				memcpy(&idx, RTA_DATA(at), sizeof idx);
				return if_indextoname(idx, name) != NULL && strcmp(name, sbx_fwd_outbound) == 0;
			}
			return 0;
		}
	}
}

static void sbx_fwd_close(struct sbx_fwd_conn *c) {
	if (c->client >= 0)
		close(c->client);
	if (c->up >= 0)
		close(c->up);
	for (int i = 0; i < 2; i++)
		for (int k = 0; k < 2; k++)
			if (c->d[i].pipe[k] >= 0)
				close(c->d[i].pipe[k]);
	c->client = c->up = -1;
	c->used = 0;
	sbx_fwd_live--;
}

// sbx_fwd_dial starts connecting c to its container port, from the client's address if
// transparent; 0 if it could not even start.
static int sbx_host_socket(int family);

static int sbx_fwd_dial(struct sbx_fwd_conn *c, int transparent) {
	int s = c->inside ? sbx_host_socket(c->l->dial.ss_family) : socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0)
		return 0;
	c->transparent = 0;
	if (transparent) {
		int one = 1;
		if (setsockopt(s, SOL_IP, IP_TRANSPARENT, &one, sizeof one) == 0 &&
		    bind(s, (struct sockaddr *)&c->from, sizeof c->from) == 0)
			c->transparent = 1;
		else {
			close(s);
			return sbx_fwd_dial(c, 0);
		}
	}
	int r = c->inside ? connect(s, (struct sockaddr *)&c->l->dial, c->l->diallen)
			  : connect(s, (struct sockaddr *)&c->l->target, sizeof c->l->target);
	if (r < 0 && errno != EINPROGRESS) {
		int e = errno;
		close(s);
		if (c->transparent && e != ECONNREFUSED)
			return sbx_fwd_dial(c, 0);
		return 0;
	}
	c->up = s;
	c->connecting = 1;
	c->deadline = sbx_idle_now() + SBX_FWD_CONNECT_NS;
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
				 .data.u64 = sbx_fwd_tag(SBX_EV_CONN, (int)(c - sbx_fwd_conns), c->gen)};
	if (epoll_ctl(sbx_fwd_ep, EPOLL_CTL_ADD, s, &ev) < 0) {
		close(s);
		c->up = -1;
		return 0;
	}
	return 1;
}

// sbx_fwd_accept relays the connections waiting on port l's host listener to the container,
// or, inside, those on the container's own socket to the host's port.
static void sbx_fwd_accept(struct sbx_fwd_listener *l, int inside) {
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		int cl = accept4(inside ? l->inside : l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cl < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return; // EAGAIN; EMFILE and the like: the backlog waits for the next round
		}
		struct sbx_fwd_conn *c = NULL;
		if (sbx_fwd_live < sbx_fwd_max)
			for (int i = 0; i < sbx_fwd_max && c == NULL; i++)
				if (!sbx_fwd_conns[i].used)
					c = &sbx_fwd_conns[i];
		if (c == NULL) {
			close(cl);
			continue;
		}
		if (c - sbx_fwd_conns >= sbx_fwd_hi)
			sbx_fwd_hi = (int)(c - sbx_fwd_conns) + 1;
		c->used = 1;
		c->gen++;
		c->client = cl;
		c->up = -1;
		c->l = l;
		c->connecting = 0;
		c->inside = inside;
		for (int i = 0; i < 2; i++)
			c->d[i] = (struct sbx_fwd_dir){.pipe = {-1, -1}};
		sbx_fwd_live++;
		// An IPv4 client, or one mapped into an IPv6 listener's addresses, may be kept.
		memset(&c->from, 0, sizeof c->from);
		c->from.sin_family = AF_INET;
		int v4 = 0;
		if (ss.ss_family == AF_INET) {
			c->from.sin_addr = ((struct sockaddr_in *)&ss)->sin_addr;
			v4 = 1;
		} else if (ss.ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&ss)->sin6_addr)) {
			memcpy(&c->from.sin_addr, ((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr + 12, 4);
			v4 = 1;
		}
		if (!sbx_fwd_dial(c, !inside && v4 && sbx_fwd_reached_outside(c->from.sin_addr)))
			sbx_fwd_close(c); // the client sees the connection closed, as with docker's proxy
	}
}

// sbx_fwd_connected turns a connected c into a relay: its pipes, and the client's socket in
// the epoll set. 0 if that failed.
static int sbx_fwd_connected(struct sbx_fwd_conn *c) {
	c->connecting = 0;
	for (int i = 0; i < 2; i++) {
		if (pipe2(c->d[i].pipe, O_NONBLOCK | O_CLOEXEC) < 0)
			return 0;
		// As Go's splice does; a user over its pipe allowance keeps the default size.
		fcntl(c->d[i].pipe[1], F_SETPIPE_SZ, SBX_FWD_PIPE);
	}
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
				 .data.u64 = sbx_fwd_tag(SBX_EV_CONN, (int)(c - sbx_fwd_conns), c->gen)};
	return epoll_ctl(sbx_fwd_ep, EPOLL_CTL_ADD, c->client, &ev) == 0;
}

// sbx_fwd_pump moves what can move without blocking, both ways, until nothing does; the
// events are edge-triggered, so every side is left waiting on EAGAIN (or on the other
// side). Each direction half-closes when its source ends, so protocols that shut down
// writing and then read (HTTP/1.0 clients, iperf3) keep working. It returns 0 once both
// directions are done.
static int sbx_fwd_pump(struct sbx_fwd_conn *c) {
	int moved;
	do {
		moved = 0;
		for (int i = 0; i < 2; i++) {
			struct sbx_fwd_dir *d = &c->d[i];
			int src = i == 0 ? c->client : c->up, dst = i == 0 ? c->up : c->client;
			if (d->done)
				continue;
			if (!d->eof) {
				ssize_t n = splice(src, NULL, d->pipe[1], NULL, SBX_FWD_PIPE, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
				if (n > 0) {
					d->queued += (size_t)n;
					moved = 1;
				} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
					d->eof = 1; // a reset ends the direction as the end of file does
					moved = 1;
				}
			}
			if (d->queued > 0) {
				ssize_t n = splice(d->pipe[0], NULL, dst, NULL, d->queued, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
				if (n > 0) {
					d->queued -= (size_t)n;
					moved = 1;
				} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
					d->queued = 0; // dst is gone: what is left has nowhere to go
					d->eof = 1;
					moved = 1;
				}
			}
			if (d->eof && d->queued == 0) {
				shutdown(dst, SHUT_WR);
				d->done = 1;
			}
		}
	} while (moved);
	return !(c->d[0].done && c->d[1].done);
}

static void sbx_udp_close(struct sbx_udp_flow *f) {
	close(f->fd); // leaves the epoll set with it
	f->fd = -1;
	f->used = 0;
	sbx_udp_live--;
}

// sbx_udp_flow_for finds the flow of a client of port l, making it if there is none and
// room for it; NULL when there is not.
static struct sbx_udp_flow *sbx_udp_flow_for(int l, const struct sockaddr_storage *from, socklen_t fromlen) {
	struct sbx_udp_flow *free_slot = NULL;
	for (int i = 0; i < sbx_udp_hi; i++) {
		struct sbx_udp_flow *f = &sbx_udp_flows[i];
		if (f->used && f->l == l && f->fromlen == fromlen && memcmp(&f->from, from, fromlen) == 0)
			return f;
		if (!f->used && free_slot == NULL)
			free_slot = f;
	}
	if (sbx_udp_live >= sbx_udp_max)
		return NULL;
	if (free_slot == NULL)
		free_slot = &sbx_udp_flows[sbx_udp_hi++];
	struct sbx_udp_flow *f = free_slot;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0)
		return NULL;
	if (connect(s, (struct sockaddr *)&sbx_udp_ls[l].target, sizeof sbx_udp_ls[l].target) < 0) {
		close(s);
		return NULL;
	}
	f->gen++;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = sbx_fwd_tag(SBX_EV_FLOW, (int)(f - sbx_udp_flows), f->gen)};
	if (epoll_ctl(sbx_fwd_ep, EPOLL_CTL_ADD, s, &ev) < 0) {
		close(s);
		return NULL;
	}
	f->used = 1;
	f->fd = s;
	f->l = l;
	f->from = *from;
	f->fromlen = fromlen;
	sbx_udp_live++;
	return f;
}

// sbx_udp_in relays what port l heard to the container, a bounded number of datagrams a
// round (the listener stays readable for the rest).
static void sbx_udp_in(int l) {
	for (int k = 0; k < 64; k++) {
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof from;
		ssize_t n = recvfrom(sbx_udp_ls[l].fd, sbx_udp_buf, sizeof sbx_udp_buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fromlen);
		if (n < 0)
			return; // EAGAIN, or an error the next datagram may not have
		struct sbx_udp_flow *f = sbx_udp_flow_for(l, &from, fromlen);
		if (f == NULL)
			continue;
		f->last = sbx_idle_now();
		send(f->fd, sbx_udp_buf, (size_t)n, MSG_DONTWAIT);
	}
}

// sbx_udp_out sends the container's answers on flow f back to its client. An error (the
// container's port unreachable) ends the flow, as it ends the Go forwarder's.
static void sbx_udp_out(struct sbx_udp_flow *f) {
	for (int k = 0; k < 64; k++) {
		ssize_t n = recv(f->fd, sbx_udp_buf, sizeof sbx_udp_buf, MSG_DONTWAIT);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				sbx_udp_close(f);
			return;
		}
		f->last = sbx_idle_now();
		sendto(sbx_udp_ls[f->l].fd, sbx_udp_buf, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&f->from, f->fromlen);
	}
}

static void sbx_fwd_event(uint64_t tag) {
	int kind = (int)(tag >> 24 & 0xff), idx = (int)(tag & 0xffffff);
	uint32_t gen = (uint32_t)(tag >> 32);
	if (kind == SBX_EV_LISTENER || kind == SBX_EV_INSIDE) {
		// A listener handed to a server in this round is the server's (and may block now).
		if (kind == SBX_EV_LISTENER && !sbx_fwd_ls[idx].given)
			sbx_fwd_accept(&sbx_fwd_ls[idx], 0);
		else if (kind == SBX_EV_INSIDE && sbx_fwd_ls[idx].inside >= 0)
			sbx_fwd_accept(&sbx_fwd_ls[idx], 1);
		return;
	}
	if (kind == SBX_EV_BINDS) {
		sbx_binds_event();
		return;
	}
	if (kind == SBX_EV_UDP) {
		sbx_udp_in(idx);
		return;
	}
	if (kind == SBX_EV_FLOW) {
		struct sbx_udp_flow *f = &sbx_udp_flows[idx];
		if (f->used && f->gen == gen)
			sbx_udp_out(f);
		return;
	}
	struct sbx_fwd_conn *c = &sbx_fwd_conns[idx];
	if (c->gen != gen || !c->used)
		return; // for a connection closed earlier in this round
	if (c->connecting) {
		int err = 0;
		socklen_t el = sizeof err;
		if (getsockopt(c->up, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			err = errno;
		if (err == 0) {
			// Writable without an error: connected (an edge before that carries none).
			struct sockaddr_in peer;
			socklen_t pl = sizeof peer;
			if (getpeername(c->up, (struct sockaddr *)&peer, &pl) < 0)
				return;
			if (!sbx_fwd_connected(c)) {
				sbx_fwd_close(c);
				return;
			}
		} else {
			// A container that refuses is not asked twice; a transparent socket that failed
			// otherwise falls back to the gateway's address.
			int again = c->transparent && err != ECONNREFUSED;
			epoll_ctl(sbx_fwd_ep, EPOLL_CTL_DEL, c->up, NULL);
			close(c->up);
			c->up = -1;
			if (!again || !sbx_fwd_dial(c, 0))
				sbx_fwd_close(c);
			return;
		}
	}
	if (!sbx_fwd_pump(c))
		sbx_fwd_close(c);
}

// sbx_fwd_run handles what the epoll set has; it is called when its descriptor polls
// readable, and on a timeout, for connects that took too long.
static void sbx_fwd_run(void) {
	struct epoll_event evs[64];
	int n = epoll_wait(sbx_fwd_ep, evs, 64, 0);
	for (int i = 0; i < n; i++)
		sbx_fwd_event(evs[i].data.u64);
	long long now = sbx_idle_now();
	for (int i = 0; i < sbx_fwd_hi; i++) {
		struct sbx_fwd_conn *c = &sbx_fwd_conns[i];
		if (c->used && c->connecting && now >= c->deadline)
			sbx_fwd_close(c);
	}
	for (int i = 0; i < sbx_udp_hi; i++) {
		struct sbx_udp_flow *f = &sbx_udp_flows[i];
		if (f->used && now >= f->last + SBX_UDP_IDLE_NS)
			sbx_udp_close(f);
	}
}

// sbx_fwd_next is the earliest connect deadline or end of a quiet UDP flow, or -1.
static long long sbx_fwd_next(void) {
	long long next = -1;
	for (int i = 0; i < sbx_fwd_hi; i++) {
		struct sbx_fwd_conn *c = &sbx_fwd_conns[i];
		if (c->used && c->connecting && (next < 0 || c->deadline < next))
			next = c->deadline;
	}
	for (int i = 0; i < sbx_udp_hi; i++) {
		struct sbx_udp_flow *f = &sbx_udp_flows[i];
		if (f->used && (next < 0 || f->last + SBX_UDP_IDLE_NS < next))
			next = f->last + SBX_UDP_IDLE_NS;
	}
	return next;
}

// sbx_fwd_stop closes every listener and connection: the ports are free from here on.
static void sbx_fwd_stop(void) {
	for (int i = 0; i < sbx_fwd_hi; i++)
		if (sbx_fwd_conns[i].used)
			sbx_fwd_close(&sbx_fwd_conns[i]);
	for (int i = 0; i < sbx_fwd_nls; i++) {
		close(sbx_fwd_ls[i].fd);
		if (sbx_fwd_ls[i].inside >= 0)
			close(sbx_fwd_ls[i].inside);
	}
	sbx_fwd_nls = 0;
	if (sbx_binds_fd >= 0)
		close(sbx_binds_fd);
	sbx_binds_fd = -1;
	for (int i = 0; i < sbx_udp_hi; i++)
		if (sbx_udp_flows[i].used)
			sbx_udp_close(&sbx_udp_flows[i]);
	for (int i = 0; i < sbx_udp_nls; i++)
		close(sbx_udp_ls[i].fd);
	sbx_udp_nls = 0;
	if (sbx_fwd_ep >= 0)
		close(sbx_fwd_ep);
	if (sbx_fwd_nl >= 0)
		close(sbx_fwd_nl);
	sbx_fwd_ep = sbx_fwd_nl = -1;
}

static void sbx_idle(const char *spec) {
	if (!sbx_idle_id_of(spec)) {
		errno = EINVAL;
		sbx_idle_fail("_SBX_IDLE: no container id");
	}
	pid_t pid = (pid_t)sbx_idle_field(spec, "pid", 0);
	sbx_idle_logfd = (int)sbx_idle_field(spec, "log", -1);
	sbx_idle_streams[0].fd = (int)sbx_idle_field(spec, "out", -1);
	sbx_idle_streams[0].name = "stdout";
	sbx_idle_streams[1].fd = (int)sbx_idle_field(spec, "err", -1);
	sbx_idle_streams[1].name = "stderr";
	long long deadline = sbx_idle_field(spec, "deadline", 0);
	int stopsig = (int)sbx_idle_field(spec, "sig", SIGTERM);
	long long grace = sbx_idle_field(spec, "grace", 10000000000LL);
	int pty = sbx_idle_streams[1].fd < 0; // the master carries both streams
	if (pid <= 0 || sbx_idle_logfd < 0 || sbx_idle_streams[0].fd < 0) {
		errno = EINVAL;
		sbx_idle_fail("_SBX_IDLE");
	}
	// None of these may reach the finisher (or anything it starts).
	int fds[] = {sbx_idle_logfd, sbx_idle_streams[0].fd, sbx_idle_streams[1].fd};
	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
		if (fds[i] >= 0)
			fcntl(fds[i], F_SETFD, FD_CLOEXEC);

	// The Go side blocked these on the thread that executed us, and a blocked signal stays
	// blocked (and pending) across execve: none is lost, none kills us by its default action.
	// SIGCHLD comes the same way, so waiting needs no pidfd.
	sigset_t sigs;
	sigemptyset(&sigs);
	int fwd[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
	for (size_t i = 0; i < sizeof fwd / sizeof fwd[0]; i++)
		sigaddset(&sigs, fwd[i]);
	sigaddset(&sigs, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &sigs, NULL) < 0)
		sbx_idle_fail("blocking signals");
	int sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		sbx_idle_fail("signalfd");
	// The starter (`sbx run -d`) has read "ok" and waits for the end of this pipe: from now
	// on the supervisor is what it stays.
	long long nsfd = sbx_idle_field(spec, "netns", -1);
	if (nsfd >= 0) {
		sbx_fwd_setup(spec, nsfd);
		// A client gone while its bytes are spliced to it must not end us.
		signal(SIGPIPE, SIG_IGN);
	}
	int ready = (int)sbx_idle_field(spec, "ready", -1);
	if (ready >= 0)
		close(ready);

	int status = -1, timed_out = 0, reaped = 0;
	long long kill_at = 0, drain_until = 0;
	// The init may have exited before the signalfd existed: look once first.
	int check = 1;
	for (;;) {
		if (check && !reaped) {
			int ws;
			pid_t r = waitpid(pid, &ws, WNOHANG);
			if (r == pid) {
				reaped = 1;
				status = WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : WEXITSTATUS(ws);
				// A pty master reads EIO once the last slave is closed; a daemon the
				// container left holding it must not keep us (the Go supervisor's 1s).
				// Pipes are read to their end, as the Go supervisor does.
				drain_until = sbx_idle_now() + 1000000000LL;
			} else if (r < 0 && errno == ECHILD) {
				reaped = 1; // not ours to wait for: nothing can be known
				status = 125;
				drain_until = sbx_idle_now() + 1000000000LL;
			}
		}
		check = 0;
		int open = (sbx_idle_streams[0].fd >= 0) + (sbx_idle_streams[1].fd >= 0);
		long long now = sbx_idle_now();
		if (reaped && (open == 0 || (pty && now >= drain_until)))
			break;
		if (!reaped && deadline > 0 && now >= deadline) {
			timed_out = 1;
			deadline = 0;
			kill(pid, stopsig);
			kill_at = now + grace;
			if (kill_at == now)
				kill_at = now + 1;
		}
		if (!reaped && kill_at > 0 && now >= kill_at) {
			kill(pid, SIGKILL);
			kill_at = 0;
		}
		long long next = -1;
		if (!reaped && deadline > 0)
			next = deadline;
		if (!reaped && kill_at > 0 && (next < 0 || kill_at < next))
			next = kill_at;
		if (reaped && pty)
			next = drain_until;
		long long conn = sbx_fwd_ep >= 0 ? sbx_fwd_next() : -1;
		if (conn >= 0 && (next < 0 || conn < next))
			next = conn;
		int timeout = -1;
		if (next >= 0) {
			long long ms = next <= now ? 0 : (next - now + 999999) / 1000000;
			timeout = ms > 3600000 ? 3600000 : (int)ms; // a --timeout of weeks: wake hourly
		}

		struct pollfd pfd[4];
		int np = 0;
		pfd[np++] = (struct pollfd){.fd = sfd, .events = POLLIN};
		if (sbx_fwd_ep >= 0)
			pfd[np++] = (struct pollfd){.fd = sbx_fwd_ep, .events = POLLIN};
		for (int i = 0; i < 2; i++)
			if (sbx_idle_streams[i].fd >= 0)
				pfd[np++] = (struct pollfd){.fd = sbx_idle_streams[i].fd, .events = POLLIN};
		int n = poll(pfd, (nfds_t)np, timeout);
		if (n < 0 && errno != EINTR)
			sbx_idle_fail("poll");
		if (sbx_fwd_ep >= 0)
			sbx_fwd_run(); // connects that timed out, too
		if (n <= 0)
			continue;
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
				if (si.ssi_signo == SIGCHLD)
					check = 1;
				else if (!reaped)
					kill(pid, (int)si.ssi_signo); // once reaped, the pid may be another's
			}
		}
		for (int i = 1; i < np; i++) {
			if (pfd[i].revents == 0 || pfd[i].fd == sbx_fwd_ep)
				continue;
			for (int k = 0; k < 2; k++)
				if (sbx_idle_streams[k].fd == pfd[i].fd)
					sbx_idle_read(&sbx_idle_streams[k]);
		}
	}
	for (int i = 0; i < 2; i++)
		if (sbx_idle_streams[i].fd >= 0 && sbx_idle_streams[i].len > 0)
			sbx_idle_entry_write(sbx_idle_streams[i].name, sbx_idle_streams[i].buf, sbx_idle_streams[i].len);
	if (timed_out)
		status = 124;
	// The ports are free before the finisher records the exit, as with the Go supervisor.
	sbx_fwd_stop();

	// The Go finisher records the exit and releases the container's network, cgroups and
	// root filesystem. Same thread, same process: still the container's supervisor.
	char st[16];
	*sbx_idle_digits(st, (unsigned long long)status, 1) = '\0';
	char *args[] = {"sbx", "__finish", sbx_idle_id, st, NULL};
	unsetenv("_SBX_IDLE");
	close(sfd);
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_UNBLOCK, &sigs, NULL);
	execv("/proc/self/exe", args);
	sbx_idle_fail("executing the finisher");
}

__attribute__((constructor)) static void sbx_idlesup(int argc, char **argv) {
	const char *spec = getenv("_SBX_IDLE");
	if (spec == NULL || *spec == '\0')
		return;
	// Executed as /proc/self/exe, the process would be named "exe": keep the name it had.
	if (argc > 0) {
		const char *base = strrchr(argv[0], '/');
		prctl(PR_SET_NAME, base != NULL ? base + 1 : argv[0], 0, 0, 0);
	}
	sbx_idle(spec);
}
*/
import "C"
