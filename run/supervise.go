package run

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sbx-dev/sbx/netns"
	"github.com/sbx-dev/sbx/run/proto"
	"github.com/sbx-dev/sbx/run/spec"
	"github.com/sbx-dev/sbx/state"
)

// Stdio is where a supervised container's streams go. Nil writers mean the log only.
type Stdio struct {
	In       io.Reader
	Out, Err io.Writer
	// Terminal is the user's terminal, put in raw mode and kept in size with the container's
	// pty when the container has one.
	Terminal *os.File
	// Signals, from CatchSignals, holds the signals sent to sbx since before the container
	// was created; nil: Supervise starts catching them itself.
	Signals chan os.Signal
	// Hold, for a detached supervisor, are descriptors it keeps open until the container is
	// gone and released (its reference on the user's namespace holder). They keep their
	// numbers when the supervisor becomes the idle one and then the finisher.
	Hold []*os.File
	// Early is the container's init if it was started while the container was being
	// created (Runtime.StartEarly); nil, or one that does not suit it, starts another.
	Early *EarlyInit
	// Ready, for a detached supervisor, is the pipe its starter waits on. Started reports
	// on it; Supervise closes it once the supervisor has settled: after the handover to the
	// idle supervisor (which closes it), so that a script that looks for the supervisor
	// right after `sbx run -d` never catches it in the middle of execve.
	Ready *os.File
}

// Started is called once the container's command runs (or failed to start).
type Started func(err error)

// Supervise starts the container's init and stays with it until it exits; it returns the
// exit status docker would report (128+N for signal N, 124 for --timeout). It is the body
// of `sbx run` in the foreground and of the detached supervisor.
func (r *Runtime) Supervise(id string, stdio Stdio, started Started) (int, error) {
	if started == nil {
		started = func(error) {}
	}
	self, err := state.Self()
	if err != nil {
		return 125, err
	}
	c, err := r.Containers.Update(id, func(c *Container) error {
		if c.Running() && c.State.Supervisor.Alive() {
			return fmt.Errorf("%w: %s", ErrRunning, c.Name)
		}
		c.State = State{Status: StatusRunning, Supervisor: self, StartedAt: time.Now(), Detached: stdio.Out == nil}
		return nil
	})
	if err != nil {
		started(err)
		return 125, err
	}
	status, err := r.supervise(c, stdio, started)
	r.finish(c, status, err)
	return status, err
}

// SuperviseContainer is Supervise for a container the caller has in hand. One that Create
// recorded as supervised by this very process (CreateOptions.SuperviseHere) starts without
// another rewrite of its record.
func (r *Runtime) SuperviseContainer(c *Container, stdio Stdio, started Started) (int, error) {
	self, err := state.Self()
	if err != nil || c.State.Status != StatusRunning || c.State.Supervisor != self {
		return r.Supervise(c.ID, stdio, started)
	}
	if started == nil {
		started = func(error) {}
	}
	status, err := r.supervise(c, stdio, started)
	r.finish(c, status, err)
	return status, err
}

// FinishDetached is the last stage of a detached supervisor that handed the waiting over to
// the idle one (package idlesup): the container exited with status and its output is in
// the log. It releases what supervise releases on its way out, in the same order (cgroups,
// then the network), and records the exit with finish. It runs in the supervisor's own
// process, so the record still names it as the supervisor until it exits.
func (r *Runtime) FinishDetached(id string, status int) error {
	c, err := r.Containers.Load(id)
	if err != nil {
		return err
	}
	removeCgroups(c.ID, containerLimits(c))
	if bridged(c.Host.NetworkMode) && r.Net.Networks != nil {
		space, err := netns.OpenExisting(r.Net.Dir)
		if err != nil {
			r.Logger.Debug("opening the bridge namespace", "id", c.ID, "err", err)
		} else {
			// The idle supervisor closed the listeners before executing us: there is no
			// forwarder to close here.
			(&netSetup{r: r, c: c, space: space}).release()
		}
	}
	r.finish(c, status, nil)
	return nil
}

// finish records how the container ended and releases what it held. A --rm container's
// record goes at once: recording its end first would be a write for nobody (sbx wait
// waits for the supervisor to be gone, and then the record is), and a killed supervisor
// leaves a record that the next sbx command finishes all the same.
func (r *Runtime) finish(c *Container, status int, runErr error) {
	if c.Host.AutoRemove {
		r.Delete(c) // unmounts first
		return
	}
	updated, _ := r.Containers.Update(c.ID, func(c *Container) error {
		c.State.Status = StatusExited
		c.State.ExitCode = status
		c.State.FinishedAt = time.Now()
		c.State.Pid = state.Process{}
		c.State.Networks, c.State.Ports = nil, nil
		if runErr != nil {
			c.State.Error = runErr.Error()
		}
		return nil
	})
	if updated == nil {
		updated = c
	}
	r.releaseRootfs(updated)
}

func (r *Runtime) supervise(c *Container, stdio Stdio, started Started) (int, error) {
	// Signals sent while the container is set up are kept and handled once it runs.
	// They stay caught once it ends (see forwardSignals).
	if stdio.Signals == nil {
		stdio.Signals = CatchSignals()
	}
	fail := func(code int, err error) (int, error) {
		started(err)
		return code, &StatusError{Code: code, Err: err}
	}
	// The init is started first, and its start (new namespaces, the program's own start)
	// overlaps the root filesystem, the network and the config made here; it waits for
	// the config. It gets the root filesystem as a mount tree (open_tree), since mounts
	// made here after its start are not in its mount namespace. With keep-id the init has
	// a user namespace of its own, where that tree would not be its to mount, and a kernel
	// before 5.2 has no open_tree: the root filesystem comes first then, as it used to.
	var (
		cmd      *exec.Cmd
		st       *streams
		keeper   *keeper
		syncConn *net.UnixConn
		joinNet  bool
		early    = c.Host.Userns != "keep-id" && canOpenTree()
	)
	// killInit ends a started init that never got as far as its command.
	killInit := func() {
		st.abort()
		cmd.Process.Kill()
		cmd.Wait()
	}
	// start starts the init, or takes over the one started while the container was
	// being created (Stdio.Early).
	start := func() error {
		spec := specOf(c, stdio.In != nil)
		p := stdio.Early.take(spec)
		if p == nil {
			var err error
			if p, err = r.startInit(spec, false); err != nil {
				return err
			}
		}
		cmd, st, keeper, syncConn, joinNet = p.cmd, p.st, p.keeper, p.syncConn, p.joinNet
		return nil
	}
	defer func() {
		if syncConn != nil {
			syncConn.Close()
		}
		if keeper != nil {
			keeper.release()
		}
	}()
	if early {
		if err := start(); err != nil {
			return fail(125, err)
		}
	}
	// failStarted is fail for an init that may have started.
	failStarted := func(code int, err error) (int, error) {
		if keeper != nil {
			killInit()
		}
		return fail(code, err)
	}

	rootfs := c.Host.Rootfs
	if c.Host.ScratchLayer {
		mp, err := r.mountScratch(c)
		if err != nil {
			return failStarted(125, fmt.Errorf("mounting the container's root filesystem: %w", err))
		}
		rootfs = mp
	} else if rootfs == "" {
		s, err := r.Store()
		mp := ""
		if err == nil {
			mp, err = s.Mount(c.ID)
		}
		if err != nil {
			return failStarted(125, fmt.Errorf("mounting the container's root filesystem: %w", err))
		}
		rootfs = mp
	}
	if err := copyUp(c, rootfs); err != nil {
		return failStarted(125, err)
	}
	var nw *netSetup
	var err error
	if bridged(c.Host.NetworkMode) && r.Net.Networks != nil {
		if nw, err = r.prepareNetwork(c); err != nil {
			return failStarted(125, err)
		}
		// The addresses and ports are held until the container is gone.
		defer nw.release()
	}
	cfg, err := r.initConfig(c, rootfs, nw)
	if err != nil {
		return failStarted(125, err)
	}
	seccompReady := compileSeccomp(&cfg.Process, r.InitDir)
	logw, err := newLogWriter(r.logPath(c.ID))
	if err != nil {
		return failStarted(125, err)
	}
	defer logw.Close()
	var rootTree *os.File
	if early {
		if rootTree, err = openTree(rootfs); err != nil {
			return failStarted(125, fmt.Errorf("handing the root filesystem to the container: %w", err))
		}
		defer rootTree.Close()
		cfg.RootfsTree = true
	} else if err := start(); err != nil {
		return fail(125, err)
	}
	if joinNet {
		cfg.NewNet, cfg.JoinNet = false, proto.SyncFD+1
	}
	pid, _ := state.Identify(cmd.Process.Pid)
	// Limits first: the init is still the Go program waiting for its config, and the
	// threads its runtime starts while it waits count against --pids-limit.
	if err := applyCgroups(c.ID, cmd.Process.Pid, containerLimits(c)); err != nil {
		killInit()
		removeCgroups(c.ID, containerLimits(c))
		return fail(125, err)
	}
	defer removeCgroups(c.ID, containerLimits(c))
	pidsFiles, err := openPidsMax(c.ID, containerLimits(c))
	if err != nil {
		killInit()
		return fail(125, err)
	}
	var sendFDs []int // the pids.max files, and the root filesystem's tree
	for _, f := range pidsFiles {
		defer f.Close()
		sendFDs = append(sendFDs, int(f.Fd()))
	}
	cfg.Process.PidsLimit = c.Host.PidsLimit
	if err := seccompReady(); err != nil {
		killInit()
		return fail(125, err)
	}
	// The init sets up its root filesystem while the network is attached here; it waits
	// for the word that its interfaces are in place before it starts the command.
	cfg.WaitNetwork = nw != nil
	// Binds of published TCP ports come here, to be handed the host's listener.
	cfg.BindNotify = nw != nil && nw.fwd != nil && nw.fwd.TCP() && !r.Net.RelayPorts
	if rootTree != nil {
		sendFDs = append(sendFDs, int(rootTree.Fd())) // last, as Config.RootfsTree says
	}
	if err := proto.Send(hostConn{syncConn}, cfg, sendFDs...); err != nil {
		killInit()
		return fail(125, fmt.Errorf("configuring the container: %w", err))
	}
	if nw != nil {
		if err := nw.attach(cmd.Process.Pid); err != nil {
			killInit()
			return fail(125, err)
		}
		// Refused only when the init has gone already: what it said, read below, is why.
		proto.Send(hostConn{syncConn}, proto.Message{Stage: proto.StageNetwork})
	}
	// One write for both: each rewrite of a record is a new file (see state.ReplaceTOML).
	r.Containers.Update(c.ID, func(c *Container) error {
		c.State.Pid = pid
		if nw != nil {
			c.State.Networks, c.State.Ports = nw.endpoints, nw.ports
		}
		return nil
	})
	var binds *os.File // the init's bind listener (Config.BindNotify)
	for {
		var m proto.Message
		files, err := proto.Receive(hostConn{syncConn}, &m)
		if proto.IsEOF(err) {
			break // the socket closed on execve: the command runs
		}
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			defer st.abort()
			// The init died before it could report: what it printed says why.
			if why := lastLine(st.errR); why != "" {
				return fail(125, fmt.Errorf("starting the container: %s", why))
			}
			return fail(125, fmt.Errorf("starting the container: the init exited (%v)", cmd.ProcessState))
		}
		if m.Error != "" {
			st.abort()
			cmd.Wait()
			code := m.ExitCode
			if code == 0 {
				code = 125
			}
			return fail(code, errors.New(m.Error))
		}
		if m.Stage == proto.StagePTY && len(files) > 0 {
			st.master = files[0]
		}
		if m.Stage == proto.StageBindNotify && len(files) > 0 {
			binds = files[0]
			defer binds.Close()
		}
	}
	started(nil)

	// Signals sent to sbx go to the container's init.
	stopSignals := st.forwardSignals(cmd.Process, stdio, stdio.Signals)
	if stdio.Out == nil {
		// Detached: from here on this process only waits, logs and relays published ports.
		// The small idle supervisor does that instead, relaying the ports itself. handOver
		// returns only if it could not be started; the Go supervisor (and its forwarder)
		// then stays.
		var fwd *netns.Forwarder
		if nw != nil {
			fwd = nw.fwd
		}
		err := errors.New("the bridge namespace cannot be entered")
		if ls, ns, outbound, ok := handoff(fwd); ok {
			err = r.handOver(keeper, c, st, logw, stdio.Ready, stdio.Hold, ls, ns, outbound, binds)
		}
		r.Logger.Debug("keeping the Go supervisor", "id", c.ID, "err", err)
		if stdio.Ready != nil {
			stdio.Ready.Close()
		}
		ShedStartupMemory()
	}
	if nw != nil && nw.fwd != nil {
		nw.fwd.Serve()
		if binds != nil {
			nw.fwd.ServeBinds(binds)
		}
	}
	st.copy(stdio, logw)
	var timedOut atomic.Bool // set by the timer's goroutine
	var timer *time.Timer
	if c.Host.Timeout.Duration > 0 {
		timer = time.AfterFunc(c.Host.Timeout.Duration, func() {
			timedOut.Store(true)
			stopProcess(cmd.Process.Pid, c.Config.StopSignal, time.Duration(c.Host.StopTimeout)*time.Second)
		})
	}
	waitErr := cmd.Wait()
	stopSignals()
	if timer != nil {
		timer.Stop()
	}
	st.wait()
	status := exitStatus(cmd.ProcessState, waitErr)
	if timedOut.Load() {
		return 124, nil
	}
	return status, nil
}

func exitStatus(ps *os.ProcessState, err error) int {
	if ps == nil {
		return 125
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok {
		return ps.ExitCode()
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// stopSignal is the signal a container's StopSignal names; SIGTERM by default.
func stopSignal(name string) syscall.Signal {
	if name != "" {
		if s, err := spec.ParseSignal(name); err == nil {
			return syscall.Signal(s)
		}
	}
	return syscall.SIGTERM
}

// stopProcess sends the stop signal, then SIGKILL after grace.
func stopProcess(pid int, stopSig string, grace time.Duration) {
	syscall.Kill(pid, stopSignal(stopSig))
	if !waitGone(pid, grace) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// waitGone waits up to d for pid to exit, with a pidfd: no polling loop.
func waitGone(pid int, d time.Duration) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return true // already gone
	}
	defer unix.Close(fd)
	ms := int(d / time.Millisecond)
	if d <= 0 {
		ms = 0
	}
	for {
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, ms)
		if err == unix.EINTR {
			continue
		}
		return err == nil && n > 0
	}
}

func resize(from *os.File, to *os.File) {
	ws, err := unix.IoctlGetWinsize(int(from.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return
	}
	unix.IoctlSetWinsize(int(to.Fd()), unix.TIOCSWINSZ, ws)
}

// logWriter appends docker json-file style lines: {"log":"...","stream":"stdout","time":"..."}.
type logWriter struct {
	mu sync.Mutex
	f  *os.File
}

func newLogWriter(path string) (*logWriter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the container log: %w", err)
	}
	return &logWriter{f: f}, nil
}

func (l *logWriter) Close() error { return l.f.Close() }

// Stream returns a writer that logs complete lines of one stream; Flush logs a trailing
// partial line.
func (l *logWriter) Stream(name string) *streamLog { return &streamLog{l: l, name: name} }

type streamLog struct {
	l    *logWriter
	name string
	buf  []byte
}

func (s *streamLog) Write(p []byte) (int, error) {
	s.buf = append(s.buf, p...)
	for {
		i := bytes.IndexByte(s.buf, '\n')
		if (i < 0 && len(s.buf) >= maxLogLine) || i >= maxLogLine {
			// docker's json-file splits long lines: the rest follows in the next entry.
			i = maxLogLine - 1
		}
		if i < 0 {
			break
		}
		s.l.write(s.name, string(s.buf[:i+1]))
		s.buf = s.buf[i+1:]
	}
	return len(p), nil
}

// maxLogLine is the longest log entry; the idle supervisor (package idlesup) splits at the
// same length.
const maxLogLine = 16 * 1024

// Flush logs what is left of an unterminated last line.
func (s *streamLog) Flush() {
	if len(s.buf) > 0 {
		s.l.write(s.name, string(s.buf))
		s.buf = nil
	}
}

func (l *logWriter) write(stream, line string) {
	entry := LogEntry{Log: line, Stream: stream, Time: time.Now().UTC()}
	data, _ := jsonMarshal(entry)
	l.mu.Lock()
	l.f.Write(append(data, '\n'))
	l.mu.Unlock()
}

// lastLine reads what is buffered in a dead process's stderr pipe and returns its last line.
func lastLine(f *os.File) string {
	if f == nil {
		return ""
	}
	f.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	data, _ := io.ReadAll(io.LimitReader(f, 64*1024))
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// keeper is the OS thread that forked a container's init. Pdeathsig fires when the thread
// that forked exits, not the process; Go ends any thread whose goroutine exits locked
// (package netns does that on purpose), so the forking thread is kept, locked and idle,
// until the init is reaped.
//
// Best of all the keeper is the process's main thread, which lives as long as the process.
// Only then may the supervisor execute the idle one (handOver): execve from another thread
// ends the keeper first, and the init with it, and an execve from the keeper on another
// thread would leave the thread-group leader a zombie for a moment, in which another sbx
// (reconciling, checking leases) would take the supervisor for dead. The main goroutine is
// locked to the main thread (this package's init), so a supervisor running on it forks and
// executes there.
type keeper struct {
	pid  int           // the init
	main bool          // the keeper is the main thread, which the caller runs on
	done chan struct{} // ends another keeper thread
}

func init() {
	// Keeps the main goroutine on the main thread: see keeper.
	runtime.LockOSThread()
}

// ReleaseMainThread lets the main goroutine off the main thread, in a command that never
// hands a supervisor over (a foreground run, whose init starts from a keeper thread of its
// own). While the main goroutine is locked, Go starts every new thread through its
// template thread, one more wake-up each, which cost a container's start about 0.2 ms
// (0.3 ms rootless; interleaved A/B, 300 pairs). Call it from the main goroutine.
func ReleaseMainThread() { runtime.UnlockOSThread() }

// startKeepingThread starts cmd from the main thread when called on it, else from a new
// keeper thread.
func startKeepingThread(cmd *exec.Cmd) (*keeper, error) {
	// Locked first: a goroutine that merely runs on the main thread now (the main one, once
	// ReleaseMainThread let it go, or any other) could fork from another thread a moment
	// later, one that a goroutine ending locked (netns) may take down, and the init with it.
	runtime.LockOSThread()
	if unix.Gettid() == unix.Getpid() {
		err := cmd.Start()
		runtime.UnlockOSThread()
		if err != nil {
			return nil, err
		}
		return &keeper{pid: cmd.Process.Pid, main: true}, nil
	}
	runtime.UnlockOSThread()
	k := &keeper{done: make(chan struct{})}
	started := make(chan error)
	go func() {
		runtime.LockOSThread()
		err := cmd.Start()
		started <- err
		if err == nil {
			<-k.done
		}
		runtime.UnlockOSThread()
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	k.pid = cmd.Process.Pid
	return k, nil
}

// release lets the thread go back to the pool: the init has been reaped.
func (k *keeper) release() {
	if !k.main {
		close(k.done)
	}
}
