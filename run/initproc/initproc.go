// Package initproc is the part of sbx that runs inside a container's namespaces: the
// re-executed sbx that the supervisor started with new pid, mount, uts, ipc, net and cgroup
// namespaces (it is PID 1 there). It reads its proto.Config from the sync socket, builds
// the container's filesystem view (root, /proc, /dev, /sys, volumes, masked paths),
// pivots into it, drops to the container's user, capabilities and seccomp filter, and
// executes the command. It imports only what that needs: never image or storage code.
package initproc

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/sbx-dev/sbx/run/proto"
)

// setupError carries the exit status docker uses for the failure.
type setupError struct {
	code int
	err  error
}

func (e *setupError) Error() string { return e.err.Error() }

func fail(code int, format string, args ...any) error {
	return &setupError{code: code, err: fmt.Errorf(format, args...)}
}

// Main is the whole life of the container init; it returns only on failure, with the exit
// status to use.
func Main() int {
	// Credentials and capabilities are per thread: do everything, up to execve, on one.
	runtime.LockOSThread()
	sync, err := proto.SyncConn()
	if err != nil {
		fmt.Fprintf(os.Stderr, "sbx init: sync socket: %v\n", err)
		return 125
	}
	var cfg proto.Config
	files, err := proto.Receive(sync, &cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sbx init: reading config: %v\n", err)
		return 125
	}
	if cfg.RootfsTree && len(files) > 0 {
		cfg.Tree, files = files[len(files)-1], files[:len(files)-1]
	}
	cfg.Process.PidsFiles = files
	err = run(sync, &cfg)
	code := 125
	var se *setupError
	if errors.As(err, &se) {
		code = se.code
	}
	proto.Send(sync, proto.Message{Error: err.Error(), ExitCode: code})
	return code
}

func run(sync proto.FD, cfg *proto.Config) error {
	if cfg.JoinNet != 0 {
		// A network namespace belongs to a thread: this one, which stays locked and is
		// the one that mounts sysfs and executes the command.
		if err := unix.Setns(cfg.JoinNet, unix.CLONE_NEWNET); err != nil {
			return fail(125, "joining the network namespace: %v", err)
		}
		unix.Close(cfg.JoinNet)
	}
	if err := setupRootfs(cfg); err != nil {
		return err
	}
	if err := setHostname(cfg); err != nil {
		return err
	}
	if cfg.NewNet {
		if err := loopbackUp(); err != nil {
			return fail(125, "bringing up lo: %v", err)
		}
	}
	if cfg.WaitNetwork {
		var m proto.Message
		if _, err := proto.Receive(sync, &m); err != nil || m.Stage != proto.StageNetwork {
			return fail(125, "waiting for the network: %v", err)
		}
	}
	return startProcess(sync, &cfg.Process, true)
}
