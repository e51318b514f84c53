// Package idlesup is a detached container's supervisor once the container's command runs:
// a small C program in the sbx binary, run by a constructor before the Go runtime starts.
//
// The Go supervisor (run.Runtime.Supervise) sets the container up and starts it; from then
// on, for a detached container without published ports, it has little left to do but wait,
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
// _SBX_IDLE is id=ID,pid=N,out=FD,err=FD,log=FD[,ready=FD][,deadline=NS,sig=N,grace=NS]: the
// container, its init, the output descriptors (err=-1 with a pty), the log (opened O_APPEND),
// the starter's pipe, closed once running, and for --timeout the absolute
// CLOCK_MONOTONIC deadline, the stop signal and the stop timeout. The Go side blocks the
// signals handled here before it executes us, so none is lost or fatal in between.
//
// Import this package for its side effect from main only.
package idlesup

/*
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
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
		int timeout = -1;
		if (next >= 0) {
			long long ms = next <= now ? 0 : (next - now + 999999) / 1000000;
			timeout = ms > 3600000 ? 3600000 : (int)ms; // a --timeout of weeks: wake hourly
		}

		struct pollfd pfd[3];
		int np = 0;
		pfd[np++] = (struct pollfd){.fd = sfd, .events = POLLIN};
		for (int i = 0; i < 2; i++)
			if (sbx_idle_streams[i].fd >= 0)
				pfd[np++] = (struct pollfd){.fd = sbx_idle_streams[i].fd, .events = POLLIN};
		int n = poll(pfd, (nfds_t)np, timeout);
		if (n < 0 && errno != EINTR)
			sbx_idle_fail("poll");
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
			if (pfd[i].revents == 0)
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

	// The Go finisher records the exit and releases the container's network, cgroups and
	// root filesystem. Same thread, same process: still the container's supervisor.
	char st[16];
	*sbx_idle_digits(st, (unsigned long long)status, 1) = '\0';
	char *args[] = {"sbx", "__finish", sbx_idle_id, st, NULL};
	unsetenv("_SBX_IDLE");
	close(sfd);
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
