// Package nsenter joins sbx's per-user namespaces before the Go runtime starts.
//
// setns(CLONE_NEWUSER) and setns(CLONE_NEWNS) fail with EINVAL in a multi-threaded process,
// and the Go runtime has started threads before main runs. So the join happens in a C
// constructor, which runs while the process is still single-threaded: sbx re-executes
// itself with _SBX_NSENTER=USERFD,MNTFD (namespace files it opened, with close-on-exec
// cleared) and the constructor enters them, restores the working directory (joining a mount
// namespace resets it to that namespace's root) and closes the descriptors. Import this
// package for its side effect from main only.
package nsenter

/*
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int sbx_nsenter_joined;

static void sbx_die(const char *what) {
	fprintf(stderr, "sbx: joining the sbx namespaces: %s: %s\n", what, strerror(errno));
	_exit(125);
}

__attribute__((constructor)) static void sbx_nsenter(void) {
	const char *v = getenv("_SBX_NSENTER");
	if (v == NULL || *v == '\0')
		return;
	int userfd = -1, mntfd = -1;
	if (sscanf(v, "%d,%d", &userfd, &mntfd) != 2) {
		errno = EINVAL;
		sbx_die("_SBX_NSENTER");
	}
	char cwd[PATH_MAX];
	int havecwd = getcwd(cwd, sizeof cwd) != NULL;
	// The user namespace first: it grants the capabilities that joining its mount
	// namespace requires.
	if (userfd >= 0) {
		if (setns(userfd, CLONE_NEWUSER) < 0)
			sbx_die("setns user");
		close(userfd);
	}
	if (setns(mntfd, CLONE_NEWNS) < 0)
		sbx_die("setns mnt");
	close(mntfd);
	if (havecwd && chdir(cwd) < 0) {
		// The directory is not visible from the namespace: fall back to / like a shell
		// whose cwd vanished, rather than refuse to work.
		if (chdir("/") < 0)
			sbx_die("chdir");
	}
	unsetenv("_SBX_NSENTER");
	sbx_nsenter_joined = 1;
}
*/
import "C"

// Joined reports whether this process entered sbx's namespaces at start.
func Joined() bool { return C.sbx_nsenter_joined != 0 }
