package run

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sbx-dev/sbx/run/proto"
)

// initSpec is all that starting a container's init depends on: its namespaces, its program
// and its standard streams. The rest of the container reaches the init later, in its
// config.
type initSpec struct {
	stays     bool   // --init: the init stays as PID 1, and is sbx itself
	netMode   string // "host", "container:ID", or else a network namespace of its own
	keepID    bool   // --userns=keep-id: a user namespace of its own
	tty       bool
	openStdin bool
	withStdin bool // the caller's stdin is streamed in
}

func specOf(c *Container, withStdin bool) initSpec {
	s := initSpec{stays: c.Host.Init, netMode: c.Host.NetworkMode, keepID: c.Host.Userns == "keep-id",
		tty: c.Config.Tty, openStdin: c.Config.OpenStdin, withStdin: withStdin}
	if !strings.HasPrefix(s.netMode, "container:") && s.netMode != "host" {
		s.netMode = "" // one of its own, whichever network it joins
	}
	return s
}

// startedInit is a container's init that has started and waits for its config on syncConn.
type startedInit struct {
	spec     initSpec
	cmd      *exec.Cmd
	st       *streams
	keeper   *keeper
	syncConn *net.UnixConn
	joinNet  bool // it is to join a peer's network namespace, passed after the sync socket
}

// startInit starts a container's init in new namespaces; newSession puts it in a session of
// its own (a detached container's, started before its supervisor leaves the caller's
// session). Every failure path of the caller must reap it (kill) and, once reaped, let it
// go (close).
func (r *Runtime) startInit(s initSpec, newSession bool) (*startedInit, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	parentF, childF := os.NewFile(uintptr(fds[0]), "sync"), os.NewFile(uintptr(fds[1]), "sync-child")
	defer childF.Close()
	conn, err := net.FileConn(parentF)
	parentF.Close()
	if err != nil {
		return nil, err
	}
	p := &startedInit{spec: s, syncConn: conn.(*net.UnixConn)}
	fail := func(err error) (*startedInit, error) {
		p.syncConn.Close()
		return nil, err
	}
	exe, initFile, err := r.initExecutable(s.stays)
	if err != nil {
		return fail(err)
	}
	// The init runs it once started (or never will): its pages go when it execs.
	defer initFile.Close()
	flags := uintptr(syscall.CLONE_NEWPID | syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC | syscall.CLONE_NEWCGROUP)
	var extra []*os.File
	if peer, ok := strings.CutPrefix(s.netMode, "container:"); ok {
		f, err := r.peerNetns(peer)
		if err != nil {
			return fail(err)
		}
		defer f.Close()
		extra = append(extra, f)
		p.joinNet = true
	} else if s.netMode != "host" {
		flags |= syscall.CLONE_NEWNET
	}
	cmd := &exec.Cmd{
		Path: exe,
		Args: []string{"sbx"},
		// One P: the init works on one locked thread, and the threads a second P brings
		// only cost its start and its execve, which must end every other thread first
		// (about 0.14 ms a run). The command gets its own environment (Process.Env).
		Env:        []string{proto.EnvInit + "=1", "GOMAXPROCS=1"},
		ExtraFiles: append([]*os.File{childF}, extra...),
		Dir:        "/",
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: flags,
			// The container dies with its supervisor, whatever kills the supervisor.
			Pdeathsig: syscall.SIGKILL,
			Setsid:    newSession,
		},
	}
	if s.keepID {
		uid, gid := rootlessIDs()
		um, err := keepIDMaps(uid, "/proc/self/uid_map")
		if err != nil {
			return fail(err)
		}
		gm, err := keepIDMaps(gid, "/proc/self/gid_map")
		if err != nil {
			return fail(err)
		}
		cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWUSER
		cmd.SysProcAttr.UidMappings, cmd.SysProcAttr.GidMappings = um, gm
		cmd.SysProcAttr.GidMappingsEnableSetgroups = true
		// Our uid (the user) is id U in the new namespace; the init must be its root to
		// set the container up, so it switches to inner 0 before it executes.
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true}
	}
	p.st = &streams{tty: s.tty, openStdin: s.openStdin}
	if err := p.st.prepare(cmd, s.withStdin); err != nil {
		return fail(err)
	}
	if p.keeper, err = startKeepingThread(cmd); err != nil {
		p.st.abort()
		return fail(fmt.Errorf("starting the container: %w", err))
	}
	p.cmd = cmd
	// The keeper thread goes back to the pool once the init has been reaped (close).
	p.st.started()
	return p, nil
}

// kill ends an init that never got as far as its command, and reaps it.
func (p *startedInit) kill() {
	p.st.abort()
	p.cmd.Process.Kill()
	p.cmd.Wait()
}

// close lets go of a reaped init: its socket and its keeper thread.
func (p *startedInit) close() {
	p.syncConn.Close()
	p.keeper.release()
}

// EarlyInit is the init of a container that is still being created (`sbx run`), started
// at the same time on another thread: its new namespaces and its program's start, a good
// part of a container's start, then overlap the creation. Supervise takes it over when its
// container turns out as expected, and starts another otherwise; the caller must Discard
// it in any case (a no-op once taken over), so that no init outlives a failed run.
type EarlyInit struct {
	spec  initSpec
	done  chan struct{}
	p     *startedInit
	err   error
	taken bool
}

// earlySpec is the init a container made from o starts with, or false when its container
// could not take an early one over anyway (--init, keep-id, another container's network,
// a kernel without open_tree).
func earlySpec(o CreateOptions, withStdin bool) (initSpec, bool) {
	if o.Init || o.Userns == "keep-id" || strings.HasPrefix(o.Network, "container:") || !canOpenTree() {
		return initSpec{}, false
	}
	s := initSpec{tty: o.Tty, openStdin: o.OpenStdin, withStdin: withStdin}
	if o.Network == "host" {
		s.netMode = "host"
	}
	return s, true
}

// StartEarly starts the init of the container o is to create, or returns nil when its
// container could not take it over anyway (see earlySpec). onMain starts it right here, on
// the main thread, which a detached supervisor needs to hand over to the idle one (see
// keeper); otherwise it starts on a thread of its own while the caller goes on. It needs
// only the runtime's InitDir, so it may start before the rest of the runtime is known.
func (r *Runtime) StartEarly(o CreateOptions, withStdin, onMain bool) *EarlyInit {
	s, ok := earlySpec(o, withStdin)
	if !ok {
		return nil
	}
	e := &EarlyInit{spec: s, done: make(chan struct{})}
	start := func() {
		// A detached init leaves the caller's session now; with a terminal it makes a
		// session of its own anyway, for its pty (and setsid(2) refuses a session leader).
		e.p, e.err = r.startInit(s, onMain && !s.tty)
		close(e.done)
	}
	if onMain {
		start()
	} else {
		go start()
	}
	return e
}

// Suits says whether the container o is to create can take this init over: an init
// started from a guess at o (see cli's prestart) is kept only when the guess was right.
func (e *EarlyInit) Suits(o CreateOptions, withStdin bool) bool {
	s, ok := earlySpec(o, withStdin)
	return e != nil && ok && s == e.spec
}

// take returns the early init if it started and suits s, and ends it otherwise.
func (e *EarlyInit) take(s initSpec) *startedInit {
	if e == nil {
		return nil
	}
	<-e.done
	if e.err != nil || e.taken || e.p.spec != s {
		e.Discard()
		return nil
	}
	e.taken = true
	return e.p
}

// Discard ends the early init unless Supervise took it over.
func (e *EarlyInit) Discard() {
	if e == nil {
		return
	}
	<-e.done
	if e.taken || e.p == nil {
		return
	}
	e.taken = true // nobody else may have it now
	e.p.kill()
	e.p.close()
}

// hostConn is the supervisor's end of the sync socket as package proto sees it.
type hostConn struct{ *net.UnixConn }

func (c hostConn) SendMsg(b, oob []byte) error {
	_, _, err := c.WriteMsgUnix(b, oob, nil)
	return err
}

func (c hostConn) RecvMsg(b, oob []byte) (int, int, error) {
	n, oobn, _, _, err := c.ReadMsgUnix(b, oob)
	return n, oobn, err
}
