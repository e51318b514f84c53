package initproc

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sbx-dev/sbx/run/proto"
	"github.com/sbx-dev/sbx/seccomp"
)

// startProcess turns the calling thread into the container's process: terminal, limits,
// working directory, user, capabilities, seccomp; then executes the command (or, with
// Init, runs it as a child of a reaping PID 1). It returns only on failure.
func startProcess(sync proto.FD, p *proto.Process, pid1 bool) error {
	if p.TTY {
		if err := setupTTY(sync, p.UID); err != nil {
			return err
		}
	}
	for _, r := range p.Rlimits {
		if err := unix.Setrlimit(r.Resource, &unix.Rlimit{Cur: r.Soft, Max: r.Hard}); err != nil {
			return fail(125, "setting ulimit %d: %v", r.Resource, err)
		}
	}
	if err := enterWorkdir(p.Cwd, p.UID, p.GID); err != nil {
		return err
	}
	// Resolve the command with the container's PATH before privileges go, so the error can
	// be docker's "executable file not found" (127) or "permission denied" (126).
	path, err := lookPath(p)
	if err != nil {
		return err
	}
	var filter *seccomp.Filter
	if p.Seccomp != seccomp.Unconfined {
		if filter, err = seccomp.Decode(p.SeccompProg, p.SeccompFlags); err != nil {
			return fail(125, "%v", err)
		}
	}
	// Without no_new_privs, installing a filter takes CAP_SYS_ADMIN, so it goes in while we
	// still hold every capability; the calls left to make (setresuid, capset, execve) are
	// all allowed by docker's profile.
	if filter != nil && !p.NoNewPrivs {
		if err := filter.Install(); err != nil {
			return fail(125, "installing the seccomp filter: %v", err)
		}
	}
	if err := dropBounding(p.Caps); err != nil {
		return fail(125, "dropping capabilities: %v", err)
	}
	if err := switchUser(p, p.Init && pid1); err != nil {
		return err
	}
	if err := setCaps(p.Caps); err != nil {
		return fail(125, "setting capabilities: %v", err)
	}
	if p.NoNewPrivs {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fail(125, "setting no_new_privs: %v", err)
		}
		// Last, so the filter judges only the container's own calls.
		if filter != nil {
			if err := filter.Install(); err != nil {
				return fail(125, "installing the seccomp filter: %v", err)
			}
		}
	}
	// Nothing but stdio goes into the container: descriptors the user's shell or CI runner
	// left open in sbx (and sbx's own) close on execve. The sync socket already does, which
	// is how the supervisor learns that the command runs.
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fail(125, "closing inherited descriptors: %v", err)
	}
	if p.Init && pid1 {
		return reap(sync, path, p)
	}
	if err := limitPids(p, 0); err != nil {
		return err
	}
	// The sync socket is close-on-exec: the supervisor reads EOF once execve succeeded.
	err = unix.Exec(path, p.Args, p.Env)
	return execError(p.Args[0], err)
}

func execError(name string, err error) error {
	if errors.Is(err, unix.EACCES) || errors.Is(err, unix.ENOEXEC) || errors.Is(err, unix.EISDIR) {
		return fail(126, "exec: %q: permission denied", name)
	}
	if errors.Is(err, unix.ENOENT) {
		return fail(127, "exec: %q: no such file or directory", name)
	}
	return fail(126, "exec %q: %v", name, err)
}

func envValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v
		}
	}
	return ""
}

// lookPath finds the command as docker does: a name with a slash is used as is; otherwise
// it is searched in the container's PATH.
func lookPath(p *proto.Process) (string, error) {
	if len(p.Args) == 0 {
		return "", fail(125, "no command specified")
	}
	name := p.Args[0]
	if strings.Contains(name, "/") {
		st, err := os.Stat(name)
		if err != nil {
			return "", fail(127, "exec: %q: no such file or directory", name)
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return "", fail(126, "exec: %q: permission denied", name)
		}
		return name, nil
	}
	path := envValue(p.Env, "PATH")
	if path == "" {
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	denied := false
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		c := filepath.Join(dir, name)
		st, err := os.Stat(c)
		if err != nil || st.IsDir() {
			continue
		}
		if st.Mode()&0o111 == 0 {
			denied = true
			continue
		}
		return c, nil
	}
	if denied {
		return "", fail(126, "exec: %q: permission denied", name)
	}
	return "", fail(127, "exec: %q: executable file not found in $PATH", name)
}

// enterWorkdir changes into the working directory, creating it as docker does when the
// image lacks it; a file in its place is an error.
func enterWorkdir(dir string, uid, gid uint32) error {
	if dir == "" {
		dir = "/"
	}
	st, err := os.Stat(dir)
	switch {
	case err == nil && !st.IsDir():
		return fail(125, "working directory %s is not a directory", dir)
	case os.IsNotExist(err):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fail(125, "creating working directory %s: %v", dir, err)
		}
		os.Chown(dir, int(uid), int(gid))
	case err != nil:
		return fail(125, "working directory %s: %v", dir, err)
	}
	if err := unix.Chdir(dir); err != nil {
		return fail(125, "entering working directory %s: %v", dir, err)
	}
	return nil
}

// switchUser takes the container's user and groups. Go's syscall.Setresuid and friends
// change every thread of the process, by signalling each one in turn; a process about to
// execve needs only its own thread changed (execve ends the others), so unless this
// process stays as the reaping PID 1 (allThreads) the calls are made for this thread
// alone, which spares a start three rounds of signals.
func switchUser(p *proto.Process, allThreads bool) error {
	// Keep the permitted set across setuid so setCaps can pick what stays.
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return fail(125, "keepcaps: %v", err)
	}
	groups := make([]int, len(p.AdditionalGIDs))
	for i, g := range p.AdditionalGIDs {
		groups[i] = int(g)
	}
	setgroups, setresgid, setresuid := syscall.Setgroups, syscall.Setresgid, syscall.Setresuid
	if !allThreads {
		setgroups, setresgid, setresuid = threadSetgroups, threadSetresgid, threadSetresuid
	}
	if err := setgroups(groups); err != nil && !errors.Is(err, syscall.EPERM) {
		return fail(125, "setting groups: %v", err)
	}
	if err := setresgid(int(p.GID), int(p.GID), int(p.GID)); err != nil {
		return fail(125, "setting gid %d: %v (is it mapped in this user namespace?)", p.GID, err)
	}
	if err := setresuid(int(p.UID), int(p.UID), int(p.UID)); err != nil {
		return fail(125, "setting uid %d: %v (is it mapped in this user namespace?)", p.UID, err)
	}
	unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0)
	return nil
}

// The thread-only versions: the raw system calls, on the calling (locked) thread.
func threadSetgroups(gids []int) error {
	g := make([]uint32, len(gids))
	for i, v := range gids {
		g[i] = uint32(v)
	}
	var p unsafe.Pointer
	if len(g) > 0 {
		p = unsafe.Pointer(&g[0])
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(g)), uintptr(p), 0); e != 0 {
		return e
	}
	return nil
}

func threadSetresgid(r, e, s int) error {
	if _, _, errno := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(r), uintptr(e), uintptr(s)); errno != 0 {
		return errno
	}
	return nil
}

func threadSetresuid(r, e, s int) error {
	if _, _, errno := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(r), uintptr(e), uintptr(s)); errno != 0 {
		return errno
	}
	return nil
}

// reap is --init: stay PID 1, run the command as a child, pass signals on, reap every
// orphan, and exit with the command's status.
func reap(sync proto.FD, path string, p *proto.Process) error {
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs)
	cmd := &exec.Cmd{Path: path, Args: p.Args, Env: p.Env, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	if p.TTY {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	}
	// The reaper stays a Go program: its own threads are not the command's to count.
	if err := limitPids(p, threads()); err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return execError(p.Args[0], err)
	}
	sync.Close() // started: the supervisor may stop waiting
	child := cmd.Process.Pid
	go func() {
		for s := range sigs {
			if s == syscall.SIGCHLD || s == syscall.SIGURG {
				continue
			}
			syscall.Kill(child, s.(syscall.Signal))
		}
	}()
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			os.Exit(125)
		}
		if pid != child {
			continue
		}
		if ws.Signaled() {
			os.Exit(128 + int(ws.Signal()))
		}
		os.Exit(ws.ExitStatus())
	}
}

// limitPids sets --pids-limit (plus extra for the caller's own threads) in the container's
// pids cgroup, through the files the supervisor opened for it. After execve the command is
// one thread, so the limit is then the user's exactly.
func limitPids(p *proto.Process, extra int) error {
	if p.PidsLimit <= 0 {
		return nil
	}
	for _, f := range p.PidsFiles {
		if _, err := f.WriteString(strconv.FormatInt(p.PidsLimit+int64(extra), 10)); err != nil {
			return fail(125, "setting --pids-limit: %v", err)
		}
		f.Close()
	}
	return nil
}

// threads is how many threads this process has (its Go runtime's).
func threads() int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}
