package run

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sbx-dev/sbx/netns"
)

// handoff says whether the idle supervisor can take over a detached container's
// supervision with fwd, its published ports (nil: none), and what it then needs to relay them.
func handoff(fwd *netns.Forwarder) ([]netns.Listener, *os.File, string, bool) {
	if fwd == nil {
		return nil, nil, "", true
	}
	return fwd.Handoff()
}

// envIdle makes sbx start as the idle supervisor; package idlesup's constructor reads it.
const envIdle = "_SBX_IDLE"

// handOver makes this detached supervisor, once its container's command runs, the idle
// supervisor of package idlesup: the same process re-executed from the main thread, which
// forked the init (see keeper), in C only, a few hundred KiB instead of the Go runtime's
// megabytes. It logs the output, passes signals on, enforces --timeout and, when the
// container has exited, runs `sbx __finish`, which ends the way supervise does
// (FinishDetached). handOver returns only when it could not execute (not on the main
// thread, or execve failed); everything is then as it was and the Go supervisor goes on.
//
// What crosses the execve is the init's pid (still this process's child, and the thread
// that forked it is the one that survives execve), the output descriptors, the log, the
// starter's pipe (closed once the idle supervisor runs), the descriptors in hold, and the
// --timeout deadline on CLOCK_MONOTONIC, which counts on across execve.
//
// Published ports cross too: the listening sockets, TCP and UDP (bound in the host's network
// namespace, and staying there), the bridge namespace the idle supervisor enters to dial
// the container, the outbound device that decides whether a client's address is kept, and
// the init's bind listener, with which a server that binds a published port is handed the
// port's host listener (netns/binds.go).
func (r *Runtime) handOver(k *keeper, c *Container, st *streams, logw *logWriter, ready *os.File, hold []*os.File, ls []netns.Listener, ns *os.File, outbound string, binds *os.File) error {
	if !k.main {
		return errors.New("the supervisor does not run on the main thread")
	}
	out, errFD := -1, -1
	if st.master != nil {
		out = int(st.master.Fd())
	} else {
		out, errFD = int(st.outR.Fd()), int(st.errR.Fd())
	}
	logFD := int(logw.f.Fd())
	spec := fmt.Sprintf("id=%s,pid=%d,out=%d,err=%d,log=%d", c.ID, k.pid, out, errFD, logFD)
	if d := c.Host.Timeout.Duration; d > 0 {
		var now unix.Timespec
		if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &now); err != nil {
			return err
		}
		grace := time.Duration(c.Host.StopTimeout) * time.Second
		spec += fmt.Sprintf(",deadline=%d,sig=%d,grace=%d", now.Nano()+int64(d), stopSignal(c.Config.StopSignal), int64(grace))
	}
	fds := []int{out, logFD}
	if ready != nil {
		spec += fmt.Sprintf(",ready=%d", ready.Fd())
		fds = append(fds, int(ready.Fd()))
	}
	if errFD >= 0 {
		fds = append(fds, errFD)
	}
	for _, f := range hold {
		fds = append(fds, int(f.Fd()))
	}
	if len(ls) > 0 {
		var tcp, udp []string
		for _, l := range ls {
			if l.UDP {
				udp = append(udp, fmt.Sprintf("%d@%s", l.FD, l.Target))
			} else {
				tcp = append(tcp, fmt.Sprintf("%d@%s", l.FD, l.Target))
			}
			fds = append(fds, l.FD)
		}
		spec += fmt.Sprintf(",netns=%d", ns.Fd())
		if len(tcp) > 0 {
			spec += ",tcp=" + strings.Join(tcp, "+")
		}
		if len(udp) > 0 {
			spec += ",udp=" + strings.Join(udp, "+")
		}
		if binds != nil {
			spec += fmt.Sprintf(",binds=%d", binds.Fd())
			fds = append(fds, int(binds.Fd()))
		}
		// The outbound device's name is last: it is the one field that is not a number.
		spec += ",outbound=" + outbound
		fds = append(fds, int(ns.Fd()))
	}
	for _, fd := range fds {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
			return err
		}
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, envIdle+"=") {
			env = append(env, kv)
		}
	}
	env = append(env, envIdle+"="+spec)
	// Blocked on the thread that executes, these stay blocked and pending across execve
	// until the idle supervisor reads them from its signalfd: none is lost in between, and
	// none kills it by its default action first. (One that the Go runtime takes on another
	// thread in the last moments is passed on by forwardSignals, unless execve wins.)
	var block unix.Sigset_t
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGCHLD} {
		block.Val[(sig-1)/64] |= 1 << ((uint(sig) - 1) % 64)
	}
	var old unix.Sigset_t
	err := unix.PthreadSigmask(unix.SIG_BLOCK, &block, &old)
	if err == nil {
		// The command line is the supervisor's, whichever command was supervising.
		err = syscall.Exec("/proc/self/exe", []string{"sbx", "__supervise", c.ID}, env)
		unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
	}
	for _, fd := range fds {
		unix.CloseOnExec(fd)
	}
	return fmt.Errorf("executing the idle supervisor: %w", err)
}
