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
// exits with its status. Import this package for its side effect from main only.
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

__attribute__((constructor)) static void sbx_nsenter(void) {
	const char *v = getenv("_SBX_NSENTER");
	if (v == NULL || *v == '\0')
		return;
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

// Joined reports whether this process entered namespaces at start.
func Joined() bool { return C.sbx_nsenter_joined != 0 }
