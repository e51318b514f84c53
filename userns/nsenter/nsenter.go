// Package nsenter joins existing namespaces before the Go runtime starts.
//
// setns(CLONE_NEWUSER) and setns(CLONE_NEWNS) fail with EINVAL in a multi-threaded process,
// and the Go runtime has started threads before main runs. So the join happens in a C
// constructor, which runs while the process is still single-threaded. sbx re-executes
// itself with _SBX_NSENTER=TYPE:FD,... (namespace files it opened, close-on-exec cleared)
// and the constructor enters them in a safe order: the user namespace first (it grants the
// capabilities the others need), the mount namespace last (it changes the root).
//
// Two uses: every sbx command joins the user's holder (user + mount namespaces, and keeps
// its working directory: _SBX_NSENTER_KEEPCWD=1); `sbx exec` joins a running container
// (its ipc, uts, net, pid, cgroup and mount namespaces). Joining a pid namespace only
// affects children, so with _SBX_NSENTER_FORK=1 the constructor forks: the child goes on
// into Go inside the container, the parent stays in C, passes signals on to the child and
// exits with its status.
//
// The common case of the first use needs no re-execution at all: when a holder already
// runs and the command is one that always works inside it (run, ps, exec, ...), the
// constructor of the command itself takes the same locks userns.Enter takes, checks the
// holder record the same way and joins (see sbx_fast_join; FastJoin tells Go). That saves
// a whole start of sbx, about 10 ms. When no holder runs, the constructor starts one itself
// (sbx_spawn_holder) in the plain cases, and joins it before its id maps are written: the
// setuid helpers that write them run while Go starts, and Go finishes the start
// (CompleteHolder) before it starts any process; first use, a missing subordinate range or
// newuidmap (which need warnings and a fallback), and every case it is not sure about
// stay with the Go path.
//
// Having joined, the constructor of `sbx run -d` forks (sbx_detach_fork): the child goes on
// into Go as the command and stays as the container's detached supervisor, and the parent
// waits on a pipe for the child's word and exits with it (DetachPipe). That saves the
// second start of sbx a separate supervisor process would cost.
//
// The same constructor is the whole of the user's namespace holder (_SBX_HOLDER set; see
// package userns): it finishes the holder's setup and then waits in flock until no sbx
// process uses the namespaces any more. Being C, the holder never starts the Go runtime,
// which would cost a container start several milliseconds for nothing. Import this package
// for its side effect from main only.
package nsenter

/*
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int sbx_nsenter_joined;

static void sbx_die(const char *what, const char *detail) {
	fprintf(stderr, "sbx: joining namespaces: %s%s%s: %s\n", what, detail ? " " : "", detail ? detail : "", strerror(errno));
	_exit(125);
}

struct sbx_ns { const char *name; int flag; int fd; };

static pid_t sbx_child;

static void sbx_forward(int sig) {
	if (sbx_child > 0)
		kill(sbx_child, sig);
}

// sbx_relay is the parent's whole life after the fork: pass signals on, wait, and leave with
// the child's status (dying of the same signal, so the caller sees what the child saw).
static void sbx_relay(pid_t child) {
	sbx_child = child;
	// The relay needs none of the descriptors it was given (the sync socket above all:
	// the host side waits for it to close on the child's execve).
	if (syscall(SYS_close_range, 3, ~0U, 0) < 0)
		for (int fd = 3; fd < 4096; fd++)
			close(fd);
	int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU};
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = sbx_forward;
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
	int status;
	for (;;) {
		pid_t r = waitpid(child, &status, 0);
		if (r == child)
			break;
		if (r < 0 && errno != EINTR)
			_exit(125);
	}
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		signal(sig, SIG_DFL);
		kill(getpid(), sig);
		_exit(128 + sig);
	}
	_exit(WEXITSTATUS(status));
}


#include <sys/file.h>
#include <sys/mount.h>

static void sbx_holder_fail(int ready, const char *what) {
	dprintf(ready, "%s: %s\n", what, strerror(errno));
	_exit(1);
}

static int sbx_lock(const char *dir, const char *name) {
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return -1;
	return fd;
}

// sbx_holder is the holder's whole life: fd 3 says "go" once the parent has written the id
// maps, fd 4 carries "ok" or the reason it failed.
static void sbx_holder(const char *runtime_dir) {
	const char *tmpfs = getenv("_SBX_HOLDER_RUN");
	int ready = 4;
	if (tmpfs == NULL) {
		errno = EINVAL;
		sbx_holder_fail(ready, "_SBX_HOLDER_RUN");
	}
	if (getenv("_SBX_HOLDER_STAGE") == NULL) {
		char c = 0;
		ssize_t n;
		do {
			n = read(3, &c, 1);
		} while ((n > 0 && c != '\n') || (n < 0 && errno == EINTR));
		if (n <= 0) {
			errno = n == 0 ? EPIPE : errno;
			sbx_holder_fail(ready, "waiting for the id mapping");
		}
		close(3);
		if (getenv("_SBX_HOLDER_ROOTLESS") != NULL) {
			// execve ran while our uid was still unmapped, which cleared our capabilities
			// in the new user namespace; now that we are uid 0 there, exec again for them.
			setenv("_SBX_HOLDER_STAGE", "2", 1);
			char *argv[] = {"sbx", NULL};
			execv("/proc/self/exe", argv);
			sbx_holder_fail(ready, "re-executing the holder");
		}
	}
	// Slave propagation: host mounts made later still show up here, while our own mounts
	// never leak out to the host.
	if (mount("", "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		sbx_holder_fail(ready, "making / a slave mount");
	if (mount("tmpfs", tmpfs, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") < 0)
		sbx_holder_fail(ready, "mounting the holder's tmpfs");
	// The lifeline: a pipe nobody writes to, whose write end only the holder has. Helpers
	// that must not outlive the holder (the outbound network stack) open the read end as
	// /proc/HOLDER/fd/100 and see end-of-file the moment the holder is gone. The holder has
	// only a handful of descriptors, so 100 and 101 are free and the numbers are fixed.
	int life[2];
	if (pipe2(life, O_CLOEXEC) < 0 || fcntl(life[0], F_DUPFD_CLOEXEC, 100) != 100 ||
	    fcntl(life[1], F_DUPFD_CLOEXEC, 101) != 101)
		sbx_holder_fail(ready, "making the lifeline pipe");
	close(life[0]);
	close(life[1]);
	if (write(ready, "ok\n", 3) != 3)
		_exit(1);
	close(ready);
	// Every sbx process of the user holds holder.refs shared; exclusive means none is left.
	if (sbx_lock(runtime_dir, "holder.refs") < 0)
		_exit(1);
	// Drop our record under the creation lock so that nobody joins a holder that is
	// leaving; the refs lock stays held until exit, so newcomers wait until we are gone.
	int lk = sbx_lock(runtime_dir, "holder.lock");
	if (lk >= 0) {
		char path[PATH_MAX], buf[4096];
		snprintf(path, sizeof path, "%s/holder.toml", runtime_dir);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t n = read(fd, buf, sizeof buf - 1);
			close(fd);
			buf[n > 0 ? n : 0] = '\0';
			char *p = strstr(buf, "pid = ");
			if (p != NULL && atol(p + 6) == (long)getpid())
				unlink(path);
		}
	}
	_exit(0);
}

#include <sys/stat.h>

int sbx_nsenter_reffd = -1;
int sbx_nsenter_uid = -1, sbx_nsenter_gid = -1;

// The commands that always work in the holder's namespaces; anything else (version, help,
// image and volume commands, system) takes the Go path, which decides for itself.
static int sbx_hot_command(int argc, char **argv) {
	static const char *hot[] = {"run", "create", "start", "ps", "exec", "rm", "stop", "kill", "wait", "logs", "inspect", NULL};
	int i = 1;
	if (i < argc && strcmp(argv[i], "--debug") == 0)
		i++;
	if (i >= argc)
		return 0;
	for (const char **h = hot; *h != NULL; h++)
		if (strcmp(argv[i], *h) == 0)
			return 1;
	return 0;
}

// sbx_dir_usable is package cli's dirUsable: a directory that is the user's own or that
// the user may write to.
static int sbx_dir_usable(const char *path, uid_t uid) {
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	return st.st_uid == uid || access(path, W_OK | X_OK) == 0;
}

// sbx_runtime_dir is config.ResolvePaths' runtime directory, read the same way: SBX_ROOT,
// root's, a usable XDG_RUNTIME_DIR, a usable /run/user/UID, else TMPDIR's (or /tmp's)
// sbx-UID. It returns 0 when SBX_ROOT is not absolute (Go then says why) or a path is
// too long.
static int sbx_runtime_dir(char *out, size_t size, uid_t uid) {
	const char *root = getenv("SBX_ROOT");
	if (root != NULL && *root != '\0')
		return root[0] == '/' && snprintf(out, size, "%s/run", root) < (int)size;
	if (uid == 0)
		return snprintf(out, size, "/run/sbx") < (int)size;
	const char *xrd = getenv("XDG_RUNTIME_DIR");
	if (xrd != NULL && xrd[0] == '/' && sbx_dir_usable(xrd, uid))
		return snprintf(out, size, "%s/sbx", xrd) < (int)size;
	char run_user[64];
	snprintf(run_user, sizeof run_user, "/run/user/%u", (unsigned)uid);
	if (sbx_dir_usable(run_user, uid))
		return snprintf(out, size, "%s/sbx", run_user) < (int)size;
	// Under su, runuser or a CI runner there is often neither: TMPDIR then, as Go does. In
	// a shared /tmp only a directory that is the user's alone is trusted (another user could
	// have made it, with a holder record of theirs); anything else is left to Go.
	const char *tmp = getenv("TMPDIR");
	if (tmp == NULL || tmp[0] != '/')
		tmp = "/tmp";
	if (snprintf(out, size, "%s/sbx-%u", tmp, (unsigned)uid) >= (int)size)
		return 0;
	struct stat st;
	return lstat(out, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == uid && (st.st_mode & 022) == 0;
}

// sbx_start_time is field 22 of /proc/PID/stat; 0 for a process that is gone or a zombie.
static unsigned long long sbx_start_time(long pid) {
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (p == NULL || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return 0;
	// p+2 is field 3 (state); the start time is field 22, 19 fields further on.
	p += 2;
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (p == NULL)
			return 0;
		p++;
	}
	return strtoull(p, NULL, 10);
}

static int sbx_argc;
static char **sbx_argv;

// sbx_rename_holder makes a holder cloned from a command show as "sbx" in ps, as one
// started by Go does, rather than as a copy of that command's arguments.
static void sbx_rename_holder(void) {
	if (sbx_argc < 1 || sbx_argv == NULL)
		return;
	char *begin = sbx_argv[0], *end = sbx_argv[sbx_argc - 1] + strlen(sbx_argv[sbx_argc - 1]);
	if (end - begin < 3)
		return;
	memset(begin, 0, end - begin);
	memcpy(begin, "sbx", 3);
}

// sbx_user_name finds uid's login name in /etc/passwd (glibc's getpwuid would want NSS
// modules, which a static binary cannot load). 0 when there is none.
static int sbx_user_name(uid_t uid, char *out, size_t size) {
	FILE *f = fopen("/etc/passwd", "re");
	if (f == NULL)
		return 0;
	char line[1024];
	int found = 0;
	while (!found && fgets(line, sizeof line, f) != NULL) {
		char *name = strtok(line, ":"), *pw = strtok(NULL, ":"), *id = strtok(NULL, ":");
		if (name != NULL && pw != NULL && id != NULL && strtoul(id, NULL, 10) == uid &&
		    strlen(name) < size) {
			strcpy(out, name);
			found = 1;
		}
	}
	fclose(f);
	return found;
}

#define SBX_MAX_RANGES 16

// sbx_subids reads the user's ranges from /etc/subuid or /etc/subgid, in file order, as
// userns.ParseSubIDs does: "name-or-id:start:count" lines.
static int sbx_subids(const char *path, const char *name, uid_t uid, unsigned long ranges[][2]) {
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return 0;
	char line[512], idstr[32];
	snprintf(idstr, sizeof idstr, "%u", (unsigned)uid);
	int n = 0;
	while (n < SBX_MAX_RANGES && fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		char *who = strtok(line, ":"), *start = strtok(NULL, ":"), *count = strtok(NULL, ":");
		if (who == NULL || start == NULL || count == NULL || strtok(NULL, ":") != NULL)
			continue;
		if (strcmp(who, name) != 0 && strcmp(who, idstr) != 0)
			continue;
		char *e1, *e2;
		unsigned long s = strtoul(start, &e1, 10), c = strtoul(count, &e2, 10);
		if (*e1 != '\0' || *e2 != '\0' || c == 0)
			continue;
		ranges[n][0] = s;
		ranges[n][1] = c;
		n++;
	}
	fclose(f);
	return n;
}

// sbx_find_exe looks name up in PATH.
static int sbx_find_exe(const char *name, char *out, size_t size) {
	const char *path = getenv("PATH");
	char buf[4096];
	snprintf(buf, sizeof buf, "%s", path != NULL ? path : "/usr/bin:/bin");
	for (char *save, *dir = strtok_r(buf, ":", &save); dir != NULL; dir = strtok_r(NULL, ":", &save)) {
		if (snprintf(out, size, "%s/%s", *dir ? dir : ".", name) < (int)size && access(out, X_OK) == 0)
			return 1;
	}
	return 0;
}

// sbx_map_exec executes newuidmap or newgidmap for pid with userns.BuildMap's layout: 0 is
// the user, 1.. the subordinate ranges in order. It returns only if execv failed.
static void sbx_map_exec(const char *prog, pid_t pid, unsigned long own, unsigned long ranges[][2], int n) {
	char nums[3 + 3 * SBX_MAX_RANGES][24];
	char *argv[4 + 3 * SBX_MAX_RANGES + 1];
	int a = 0, k = 0;
	argv[a++] = (char *)prog;
	snprintf(nums[k], sizeof nums[k], "%d", (int)pid);
	argv[a++] = nums[k++];
	unsigned long next = 1;
	for (int i = -1; i < n; i++) {
		unsigned long c = i < 0 ? 0 : next, h = i < 0 ? own : ranges[i][0], cnt = i < 0 ? 1 : ranges[i][1];
		snprintf(nums[k], sizeof nums[k], "%lu", c);
		argv[a++] = nums[k++];
		snprintf(nums[k], sizeof nums[k], "%lu", h);
		argv[a++] = nums[k++];
		snprintf(nums[k], sizeof nums[k], "%lu", cnt);
		argv[a++] = nums[k++];
		if (i >= 0)
			next += cnt;
	}
	argv[a] = NULL;
	execv(prog, argv);
}

// sbx_maps starts the helpers that write pid's id maps and returns the pid to wait for
// (-1: no start; see sbx_mapped): a child that runs newuidmap and then, when that worked,
// becomes newgidmap. One after the other, not side by side: each takes a millisecond of
// CPU (a setuid program loading its libraries), and two at once with this process's own
// start are three busy tasks on a two-core machine, which slowed the start about 0.3 to
// 0.45 ms (interleaved A/B, 300 pairs); one at a time they still end before Go needs the
// maps. Their messages are dropped: on failure the Go path runs them again and reports
// them.
static pid_t sbx_maps(const char *newuidmap, const char *newgidmap, pid_t pid, unsigned long uid,
		      unsigned long subuid[][2], int nu, unsigned long gid, unsigned long subgid[][2], int ng) {
	pid_t p = fork();
	if (p != 0)
		return p;
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 1);
		dup2(null, 2);
	}
	pid_t u = fork();
	if (u == 0) {
		sbx_map_exec(newuidmap, pid, uid, subuid, nu);
		_exit(127);
	}
	int status;
	while (u > 0 && waitpid(u, &status, 0) < 0)
		if (errno != EINTR)
			_exit(1);
	if (u < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		_exit(1);
	sbx_map_exec(newgidmap, pid, gid, subgid, ng);
	_exit(127);
}

// sbx_mapped waits for sbx_maps's helpers (-1: they did not start) and reports success.
static int sbx_mapped(pid_t p) {
	if (p < 0)
		return 0;
	int status;
	while (waitpid(p, &status, 0) < 0)
		if (errno != EINTR)
			return 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// sbx_read_map renders /proc/PID/{uid,gid}_map as FormatMap does: "0:1000:1,1:100000:65536".
static void sbx_read_map(pid_t pid, const char *which, char *out, size_t size) {
	char path[64], buf[1024];
	out[0] = '\0';
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, which);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	size_t used = 0;
	for (char *save, *line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		unsigned long c, h, cnt;
		if (sscanf(line, "%lu %lu %lu", &c, &h, &cnt) != 3)
			continue;
		int w = snprintf(out + used, size - used, "%s%lu:%lu:%lu", used ? "," : "", c, h, cnt);
		if (w < 0 || (size_t)w >= size - used)
			break;
		used += w;
	}
}

// sbx_spawn_holder starts the user's holder from this constructor, the way userns.Enter's
// startHolder does, but without the Go runtime: no second start of sbx for the command and,
// rootless, no second exec of the holder (clone gives the child its capabilities in the new
// user namespace; an execve while still unmapped would clear them). Called with holder.lock
// held. It covers the plain cases only: the runtime directories exist and, rootless,
// newuidmap, newgidmap and the user's subordinate ranges are there. Anything else (first
// use, warnings to print, the single-id fallback, a fast start that failed before: see
// sbx_complete_holder) returns -1 and stays with Go.
//
// It does not wait for the id maps: the setuid helpers that write them take about a
// millisecond, which the caller spends joining the new namespaces (allowed before they are
// mapped), starting the Go runtime and reading its command line; sbx_complete_holder,
// called from Go before the process starts another or looks at ids (userns.CompleteHolder),
// waits for them and finishes the start. The rest of the start is kept in sbx_pending until
// then.
static struct {
	int active;       // joined, sbx_complete_holder still to run
	pid_t pid;        // the holder
	pid_t maps; // the newuidmap and newgidmap helpers (0 for root)
	int go, ready;    // the holder's pipes: "go" once mapped, "ok" once set up
	int lk;           // holder.lock, held until the record is written
	char dir[PATH_MAX - 32];
} sbx_pending = {.lk = -1};

// SBX_FAST_FAILED is the marker that keeps the constructor from starting holders once a
// start of its own failed after joining (see sbx_complete_holder): the Go path then starts
// them, with its warnings and fallbacks.
#define SBX_FAST_FAILED "holder-fast-failed"

static pid_t sbx_spawn_holder(const char *dir, uid_t uid) {
	char tmpfs[PATH_MAX], newuidmap[PATH_MAX], newgidmap[PATH_MAX], name[256], failed[PATH_MAX];
	unsigned long subuid[SBX_MAX_RANGES][2], subgid[SBX_MAX_RANGES][2];
	int nu = 0, ng = 0;
	struct stat st;
	snprintf(tmpfs, sizeof tmpfs, "%s/holder-run", dir);
	if (stat(tmpfs, &st) < 0 || !S_ISDIR(st.st_mode))
		return -1;
	snprintf(failed, sizeof failed, "%s/" SBX_FAST_FAILED, dir);
	if (stat(failed, &st) == 0)
		return -1;
	if (uid != 0) {
		if (!sbx_user_name(uid, name, sizeof name))
			snprintf(name, sizeof name, "%u", (unsigned)uid);
		nu = sbx_subids("/etc/subuid", name, uid, subuid);
		ng = sbx_subids("/etc/subgid", name, uid, subgid);
		if (nu == 0 || ng == 0 || !sbx_find_exe("newuidmap", newuidmap, sizeof newuidmap) ||
		    !sbx_find_exe("newgidmap", newgidmap, sizeof newgidmap))
			return -1;
	}
	int gop[2], ready[2];
	if (pipe2(gop, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(ready, O_CLOEXEC) < 0) {
		close(gop[0]);
		close(gop[1]);
		return -1;
	}
	unsigned long flags = CLONE_NEWNS | (uid != 0 ? CLONE_NEWUSER : 0);
	pid_t pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid == 0) {
		// The holder: descriptors 3 and 4 as sbx_holder expects, nothing else; its own
		// session, away from the terminal's signals, as startHolder's Setsid.
		int g = fcntl(gop[0], F_DUPFD, 10), r = fcntl(ready[1], F_DUPFD, 10);
		int null = open("/dev/null", O_RDWR);
		if (g < 0 || r < 0 || null < 0 || dup2(g, 3) < 0 || dup2(r, 4) < 0)
			_exit(1);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (syscall(SYS_close_range, 5, ~0U, 0) < 0)
			for (int fd = 5; fd < 4096; fd++)
				close(fd);
		setsid();
		sbx_rename_holder();
		if (chdir("/") < 0)
			_exit(1);
		setenv("_SBX_HOLDER_RUN", tmpfs, 1);
		unsetenv("_SBX_HOLDER_ROOTLESS");
		unsetenv("_SBX_HOLDER_STAGE");
		sbx_holder(dir); // never returns
	}
	close(gop[0]);
	close(ready[1]);
	if (pid < 0) {
		close(gop[1]);
		close(ready[0]);
		return -1;
	}
	sbx_pending.pid = pid;
	sbx_pending.maps = 0;
	sbx_pending.go = gop[1];
	sbx_pending.ready = ready[0];
	snprintf(sbx_pending.dir, sizeof sbx_pending.dir, "%s", dir);
	if (uid != 0)
		sbx_pending.maps = sbx_maps(newuidmap, newgidmap, pid, uid, subuid, nu, getgid(), subgid, ng);
	return pid;
}

// sbx_abort_holder ends a holder start that has not worked out, and its helpers.
static void sbx_abort_holder(void) {
	if (sbx_pending.pid > 0) {
		kill(sbx_pending.pid, SIGKILL);
		waitpid(sbx_pending.pid, NULL, 0);
	}
	if (sbx_pending.maps != 0)
		sbx_mapped(sbx_pending.maps);
	close(sbx_pending.go);
	close(sbx_pending.ready);
	sbx_pending.pid = 0;
}

// sbx_complete_holder finishes what sbx_spawn_holder started: it waits for the maps, lets
// the holder set itself up, and writes the holder's record, as userns writes it
// (holderRecord), replaced atomically; then lets go of holder.lock. It returns 0, or -1
// when the start failed: the holder is gone then, and this process is in its user
// namespace with no way back, so the caller can only report it; the marker makes the
// next command take the Go path.
int sbx_complete_holder(void) {
	if (!sbx_pending.active)
		return 0;
	sbx_pending.active = 0;
	pid_t pid = sbx_pending.pid;
	int ok = 1;
	if (sbx_pending.maps != 0) {
		ok = sbx_mapped(sbx_pending.maps);
		sbx_pending.maps = 0;
	}
	if (ok)
		ok = write(sbx_pending.go, "go\n", 3) == 3;
	char line[256];
	size_t got = 0;
	while (ok && got < sizeof line - 1) {
		ssize_t n = read(sbx_pending.ready, line + got, sizeof line - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
		if (memchr(line, '\n', got) != NULL)
			break;
	}
	ok = ok && got == 3 && memcmp(line, "ok\n", 3) == 0;
	unsigned long long start = ok ? sbx_start_time(pid) : 0;
	char umap[512], gmap[512], rec[1400], tmp[PATH_MAX], path[PATH_MAX];
	int fd = -1, len = 0;
	if (start != 0) {
		sbx_read_map(pid, "uid_map", umap, sizeof umap);
		sbx_read_map(pid, "gid_map", gmap, sizeof gmap);
		len = snprintf(rec, sizeof rec, "uid_map = \"%s\"\ngid_map = \"%s\"\n\n[process]\n  pid = %d\n  start = %llu\n", umap, gmap, (int)pid, start);
		snprintf(tmp, sizeof tmp, "%s/.holder.toml.tmp%d", sbx_pending.dir, (int)getpid());
		snprintf(path, sizeof path, "%s/holder.toml", sbx_pending.dir);
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	}
	if (fd < 0 || write(fd, rec, len) != len || close(fd) < 0 || rename(tmp, path) < 0) {
		if (fd >= 0)
			unlink(tmp);
		sbx_abort_holder();
		snprintf(path, sizeof path, "%s/" SBX_FAST_FAILED, sbx_pending.dir);
		close(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
		close(sbx_pending.lk);
		return -1;
	}
	close(sbx_pending.go);
	close(sbx_pending.ready);
	close(sbx_pending.lk);
	sbx_pending.lk = -1;
	return 0;
}

// sbx_fast_join joins a running holder without the Go round trip of userns.Enter: the
// common case of a command issued while the user's containers run (or several at once).
// It follows Enter's protocol exactly: holder.refs shared first (from then on the holder
// cannot leave), holder.lock while the record is read and the namespace files opened,
// the pid's start time checked before and after opening them. It never starts a holder
// and never fails a command: whenever anything is not as expected it lets go of what it
// took and returns, and the Go path does the work (and reports errors) as before.
static void sbx_fast_join(int argc, char **argv) {
	if (!sbx_hot_command(argc, argv))
		return;
	// The user's ids as the host sees them: once in the user namespace both read as 0.
	uid_t uid = getuid();
	gid_t gid = getgid();
	char dir[PATH_MAX - 32], path[PATH_MAX];
	if (!sbx_runtime_dir(dir, sizeof dir, uid))
		return;
	snprintf(path, sizeof path, "%s/holder.refs", dir);
	int refs = open(path, O_RDWR | O_CLOEXEC);
	if (refs < 0)
		return;
	int lk = -1, userfd = -1, mntfd = -1, spawned = 0;
	while (flock(refs, LOCK_SH) < 0)
		if (errno != EINTR)
			goto out;
	snprintf(path, sizeof path, "%s/holder.lock", dir);
	lk = open(path, O_RDWR | O_CLOEXEC);
	if (lk < 0)
		goto out;
	while (flock(lk, LOCK_EX) < 0)
		if (errno != EINTR)
			goto out;
	snprintf(path, sizeof path, "%s/holder.toml", dir);
	char rec[4096];
	long pid = 0;
	unsigned long long start = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, rec, sizeof rec - 1);
		close(fd);
		rec[n > 0 ? n : 0] = '\0';
		char *p = strstr(rec, "pid = "), *q = strstr(rec, "start = ");
		if (p != NULL && q != NULL) {
			pid = atol(p + 6);
			start = strtoull(q + 8, NULL, 10);
		}
	}
	if (pid <= 0 || start == 0 || sbx_start_time(pid) != start) {
		// No holder: start one here, under holder.lock as Enter would. Its namespaces
		// exist from the clone on; it is finished later (sbx_complete_holder).
		if ((pid = sbx_spawn_holder(dir, uid)) < 0)
			goto out;
		spawned = 1;
	}
	if (uid != 0) {
		snprintf(path, sizeof path, "/proc/%ld/ns/user", pid);
		if ((userfd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			goto out;
	}
	snprintf(path, sizeof path, "/proc/%ld/ns/mnt", pid);
	if ((mntfd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		goto out;
	// Opened by pid: the pid must still be the holder now that the files are open (our
	// own child cannot have been replaced: it stays a zombie until we reap it).
	if (!spawned && sbx_start_time(pid) != start)
		goto out;
	char cwd[PATH_MAX];
	int havecwd = getcwd(cwd, sizeof cwd) != NULL;
	if (userfd >= 0 && setns(userfd, CLONE_NEWUSER) < 0)
		goto out; // nothing changed yet: the Go path will say why
	// From here on there is no way back: joined the user namespace, the mount one must follow.
	if (setns(mntfd, CLONE_NEWNS) < 0)
		sbx_die("setns", "mnt");
	if (spawned) {
		// holder.lock stays held until the record is written.
		sbx_pending.active = 1;
		sbx_pending.lk = lk;
		spawned = 0;
	} else {
		close(lk);
	}
	lk = -1;
	if (userfd >= 0)
		close(userfd);
	close(mntfd);
	if (havecwd && chdir(cwd) < 0 && chdir("/") < 0)
		sbx_die("chdir", "/");
	sbx_nsenter_joined = 1;
	sbx_nsenter_reffd = refs;
	sbx_nsenter_uid = (int)uid;
	sbx_nsenter_gid = (int)gid;
	return;
out:
	if (spawned)
		sbx_abort_holder();
	if (userfd >= 0)
		close(userfd);
	if (mntfd >= 0)
		close(mntfd);
	if (lk >= 0)
		close(lk);
	close(refs);
}

// sbx_detach_fd is, in the child of a forked `sbx run -d` (sbx_detach_fork), the pipe to
// the parent that waits for it; -1 otherwise.
int sbx_detach_fd = -1;

// The run flags that take a value, long and short names (package cli's run flags; a test
// there keeps the two lists equal).
const char *sbx_run_value_flags[] = {
	"add-host", "cap-add", "cap-drop", "cpus", "dns", "dns-search", "entrypoint", "env", "e",
	"env-file", "expose", "group-add", "hostname", "h", "label", "l", "link", "memory", "m", "mount", "name",
	"network", "net", "pids-limit", "publish", "p", "rootfs", "security-opt", "stop-signal",
	"stop-timeout", "timeout", "tmpfs", "ulimit", "user", "u", "userns", "volume", "v",
	"volumes-from", "workdir", "w", NULL,
};

static int sbx_value_flag(const char *name, size_t len) {
	for (const char **f = sbx_run_value_flags; *f != NULL; f++)
		if (strlen(*f) == len && strncmp(*f, name, len) == 0)
			return 1;
	return 0;
}

// sbx_detached_run reports whether argv is `sbx [--debug] run FLAGS... IMAGE ...` with -d
// (--detach) among the flags, read as Go's flag package reads them: flags end at the first
// argument that is not one, a value flag takes the next argument unless it has "=VALUE",
// and a single dash may group one-letter flags (-dit). Anything it is unsure about is a no:
// the command then takes the ordinary way.
static int sbx_detached_run(int argc, char **argv) {
	int i = 1, detach = 0;
	if (i < argc && strcmp(argv[i], "--debug") == 0)
		i++;
	if (i >= argc || strcmp(argv[i], "run") != 0)
		return 0;
	for (i++; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || a[1] == '\0')
			break; // the image
		if (strcmp(a, "--") == 0)
			return 0;
		int dashes = a[1] == '-' ? 2 : 1;
		const char *name = a + dashes, *eq = strchr(name, '=');
		size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
		if (len == 0)
			return 0;
		int is_detach = (len == 6 && strncmp(name, "detach", 6) == 0) || (len == 1 && name[0] == 'd');
		if (eq != NULL) {
			if (is_detach) {
				if (strcmp(eq + 1, "true") == 0 || strcmp(eq + 1, "1") == 0)
					detach = 1;
				else if (strcmp(eq + 1, "false") == 0 || strcmp(eq + 1, "0") == 0)
					detach = 0;
				else
					return 0;
			}
			continue;
		}
		if (is_detach) {
			detach = 1;
			continue;
		}
		if (sbx_value_flag(name, len)) {
			i++; // its value
			continue;
		}
		if (dashes == 1 && len > 1) {
			// A group of one-letter flags: only flags without a value are understood.
			for (size_t k = 0; k < len; k++) {
				if (sbx_value_flag(name + k, 1))
					return 0;
				if (name[k] == 'd')
					detach = 1;
			}
		}
	}
	return detach;
}

// sbx_detach_fork makes `sbx run -d` its own detached supervisor without a second start of
// sbx. The child goes on into Go, creates and starts the container, and supervises it
// (becoming the idle supervisor); the parent, which the caller waits for, only waits on a
// pipe. The child writes "ok" once the container's command runs (it has printed the ID),
// or its exit status after printing the error, and the pipe closes when the supervisor
// has settled; the parent then exits with that status. A child that closes the pipe
// without a word (it chose the ordinary way, or died) leaves the parent to wait for it
// and exit with its status (sbx_relay).
static void sbx_detach_fork(int argc, char **argv) {
	if (!sbx_detached_run(argc, argv))
		return;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	pid_t child = fork();
	if (child < 0) {
		close(p[0]);
		close(p[1]);
		return;
	}
	if (child == 0) {
		close(p[0]);
		sbx_detach_fd = p[1];
		return;
	}
	close(p[1]);
	char word[32];
	size_t n = 0;
	for (;;) {
		char buf[256];
		ssize_t r = read(p[0], buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (ssize_t k = 0; k < r && n < sizeof word - 1; k++)
			word[n++] = buf[k];
	}
	word[n] = '\0';
	if (n == 0)
		sbx_relay(child);
	if (strncmp(word, "ok", 2) == 0)
		_exit(0);
	int status = atoi(word);
	_exit(status > 0 && status < 256 ? status : 125);
}

__attribute__((constructor)) static void sbx_nsenter(int argc, char **argv, char **envp) {
	(void)envp;
	sbx_argc = argc;
	sbx_argv = argv;
	const char *holder = getenv("_SBX_HOLDER");
	if (holder != NULL && *holder != '\0')
		sbx_holder(holder);
	const char *v = getenv("_SBX_NSENTER");
	if (v == NULL || *v == '\0') {
		// A fresh command (not a re-executed sbx, not a container's init or exec stage,
		// not already inside): join a running holder here if it can be done simply.
		if (getenv("_SBX_INSIDE") == NULL && getenv("_SBX_INIT") == NULL && getenv("_SBX_EXEC") == NULL && getenv("_SBX_REFFD") == NULL) {
			sbx_fast_join(argc, argv);
			if (sbx_nsenter_joined && sbx_detached_run(argc, argv)) {
				// The helpers that map the new holder are this process's children: wait
				// for them here, before the fork.
				if (sbx_complete_holder() < 0)
					sbx_die("starting the namespace holder", "(newuidmap, newgidmap)");
				sbx_detach_fork(argc, argv);
			}
		}
		return;
	}
	struct sbx_ns order[] = {
		{"user", CLONE_NEWUSER, -1}, {"ipc", CLONE_NEWIPC, -1}, {"uts", CLONE_NEWUTS, -1},
		{"net", CLONE_NEWNET, -1}, {"pid", CLONE_NEWPID, -1}, {"cgroup", CLONE_NEWCGROUP, -1},
		{"mnt", CLONE_NEWNS, -1},
	};
	size_t n = sizeof order / sizeof order[0];
	char buf[512];
	if (strlen(v) >= sizeof buf) {
		errno = EINVAL;
		sbx_die("_SBX_NSENTER", NULL);
	}
	strcpy(buf, v);
	for (char *tok = strtok(buf, ","); tok != NULL; tok = strtok(NULL, ",")) {
		char *colon = strchr(tok, ':');
		if (colon == NULL) {
			errno = EINVAL;
			sbx_die("_SBX_NSENTER", tok);
		}
		*colon = '\0';
		size_t i;
		for (i = 0; i < n; i++)
			if (strcmp(order[i].name, tok) == 0)
				break;
		if (i == n) {
			errno = EINVAL;
			sbx_die("unknown namespace", tok);
		}
		order[i].fd = atoi(colon + 1);
	}
	const char *keep = getenv("_SBX_NSENTER_KEEPCWD");
	char cwd[PATH_MAX];
	int havecwd = keep != NULL && getcwd(cwd, sizeof cwd) != NULL;
	for (size_t i = 0; i < n; i++) {
		if (order[i].fd < 0)
			continue;
		if (setns(order[i].fd, order[i].flag) < 0)
			sbx_die("setns", order[i].name);
		close(order[i].fd);
	}
	if (havecwd && chdir(cwd) < 0 && chdir("/") < 0)
		sbx_die("chdir", "/");
	unsetenv("_SBX_NSENTER");
	unsetenv("_SBX_NSENTER_KEEPCWD");
	sbx_nsenter_joined = 1;
	const char *fork_ = getenv("_SBX_NSENTER_FORK");
	if (fork_ != NULL) {
		unsetenv("_SBX_NSENTER_FORK");
		pid_t child = fork();
		if (child < 0)
			sbx_die("fork", NULL);
		if (child > 0)
			sbx_relay(child);
	}
}
*/
import "C"

import (
	"errors"
	"os"
	"sync"
	"unsafe"
)

// Joined reports whether this process entered namespaces at start.
func Joined() bool { return C.sbx_nsenter_joined != 0 }

// CompleteHolder finishes the start of a holder that the constructor began and joined
// before its id maps were written (see sbx_spawn_holder): it waits for the maps, lets the
// holder set itself up and records it. An error leaves this process in a user namespace
// that nothing maps: the caller can only report it and exit (see userns.CompleteHolder).
func CompleteHolder() error {
	if C.sbx_complete_holder() < 0 {
		return errors.New("starting the namespace holder: newuidmap or newgidmap did not map the user's subordinate ids (see /etc/subuid and /etc/subgid); the next command starts it the slow way and says more")
	}
	return nil
}

// FastJoin describes a join of the user's holder made by the constructor itself (no
// re-execution): the shared lock it holds on holder.refs, and the user's real ids as they
// were before joining. ok is false when the constructor did not join that way.
func FastJoin() (refFD, uid, gid int, ok bool) {
	if C.sbx_nsenter_reffd < 0 {
		return -1, -1, -1, false
	}
	return int(C.sbx_nsenter_reffd), int(C.sbx_nsenter_uid), int(C.sbx_nsenter_gid), true
}

// DetachPipe is, in the child of a `sbx run -d` the constructor forked (see
// sbx_detach_fork), the pipe to the parent that the caller waits for; nil otherwise. The
// child writes "ok" once the container runs, or its exit status after printing an error,
// and the parent exits when the pipe closes. Closing it without a word makes the parent
// wait for this process and exit with its status.
func DetachPipe() *os.File {
	detachOnce.Do(func() {
		if C.sbx_detach_fd >= 0 {
			detach = os.NewFile(uintptr(C.sbx_detach_fd), "detach")
		}
	})
	return detach
}

var (
	detachOnce sync.Once
	detach     *os.File
)

// RunValueFlags lists the names of the run flags that the constructor knows take a value.
func RunValueFlags() []string {
	var out []string
	for p := unsafe.Pointer(&C.sbx_run_value_flags[0]); *(**C.char)(p) != nil; p = unsafe.Add(p, unsafe.Sizeof((*C.char)(nil))) {
		out = append(out, C.GoString(*(**C.char)(p)))
	}
	return out
}
