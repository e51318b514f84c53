package run

import (
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"golang.org/x/term"
)

// streams connects a container process's stdio to the user's (and, for the container's
// main process, to its log): pipes without a terminal, the pty master with one.
type streams struct {
	tty       bool
	openStdin bool
	// child ends, closed in the parent once the child has started
	childEnds  []*os.File
	outR, errR *os.File
	inW        *os.File
	master     *os.File
	copiers    sync.WaitGroup
	restore    func()
}

// prepare creates the pipes for a process without a terminal (a process with one gets
// /dev/null here and its pty from the init) and sets them on cmd.
func (s *streams) prepare(cmd *exec.Cmd, withStdin bool) error {
	if s.tty {
		return nil
	}
	var outW, errW *os.File
	var err error
	if s.outR, outW, err = os.Pipe(); err != nil {
		return err
	}
	if s.errR, errW, err = os.Pipe(); err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	s.childEnds = append(s.childEnds, outW, errW)
	if s.openStdin && withStdin {
		inR, inW, err := os.Pipe()
		if err != nil {
			return err
		}
		cmd.Stdin, s.inW = inR, inW
		s.childEnds = append(s.childEnds, inR)
	}
	return nil
}

// started closes the child's ends in this process, so EOF arrives when the child is done.
func (s *streams) started() {
	for _, f := range s.childEnds {
		f.Close()
	}
	s.childEnds = nil
}

// abort releases everything when the child never ran.
func (s *streams) abort() {
	s.started()
	for _, f := range []*os.File{s.outR, s.errR, s.inW, s.master} {
		if f != nil {
			f.Close()
		}
	}
}

// copy starts moving bytes. out and errw may be nil (log only); logw may be nil (exec).
func (s *streams) copy(stdio Stdio, logw *logWriter) {
	tee := func(dst io.Writer, stream string) (io.Writer, func()) {
		if logw == nil {
			if dst == nil {
				return io.Discard, func() {}
			}
			return dst, func() {}
		}
		sl := logw.Stream(stream)
		if dst == nil {
			return sl, sl.Flush
		}
		return io.MultiWriter(dst, sl), sl.Flush
	}
	if s.master != nil {
		if stdio.Terminal != nil && term.IsTerminal(int(stdio.Terminal.Fd())) {
			if st, err := term.MakeRaw(int(stdio.Terminal.Fd())); err == nil {
				fd := int(stdio.Terminal.Fd())
				s.restore = func() { term.Restore(fd, st) }
			}
			resize(stdio.Terminal, s.master)
		}
		w, flush := tee(stdio.Out, "stdout")
		s.copiers.Add(1)
		go func() { defer s.copiers.Done(); io.Copy(w, s.master); flush() }()
		if s.openStdin && stdio.In != nil {
			go io.Copy(s.master, stdio.In)
		}
		return
	}
	pump := func(src *os.File, dst io.Writer, stream string) {
		defer s.copiers.Done()
		w, flush := tee(dst, stream)
		io.Copy(w, src)
		flush()
		src.Close()
	}
	s.copiers.Add(2)
	go pump(s.outR, stdio.Out, "stdout")
	go pump(s.errR, stdio.Err, "stderr")
	if s.inW != nil {
		go func() { io.Copy(s.inW, stdio.In); s.inW.Close() }()
	}
}

// wait waits for the output to drain after the process exited, and gives the user's
// terminal back.
func (s *streams) wait() {
	if s.master != nil {
		// Once the last holder of the slave is gone the master reads EIO; a process that
		// left a daemon holding it must not keep us here.
		s.master.SetReadDeadline(time.Now().Add(time.Second))
	}
	s.copiers.Wait()
	if s.master != nil {
		s.master.Close()
	}
	if s.restore != nil {
		s.restore()
	}
}

// CatchSignals starts catching the signals sbx forwards, so that none sent while a container
// is being set up is lost; Supervise takes them from there (Stdio.Signals).
func CatchSignals() chan os.Signal {
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, forwarded...)
	return sigs
}

var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH}

// SignalCatch is CatchSignals begun on a goroutine of its own, for a start that has other
// work to do meanwhile: each signal os/signal enables is a round trip to the Go runtime's
// signal-mask thread, several hundred microseconds for these seven while a container's
// init is being started.
type SignalCatch struct {
	sigs chan os.Signal
	done chan struct{}
}

// StartCatchingSignals begins CatchSignals.
func StartCatchingSignals() *SignalCatch {
	c := &SignalCatch{sigs: make(chan os.Signal, 16), done: make(chan struct{})}
	go func() {
		signal.Notify(c.sigs, forwarded...)
		close(c.done)
	}()
	return c
}

// Signals waits until the signals are caught and returns what CatchSignals would; a nil
// SignalCatch calls CatchSignals.
func (c *SignalCatch) Signals() chan os.Signal {
	if c == nil {
		return CatchSignals()
	}
	<-c.done
	return c.sigs
}

// forwardSignals passes the signals a user sends to sbx on to p (the container's init, or
// exec's relay), and keeps the container's terminal the size of the user's. The returned
// function stops it. sigs, when not nil, holds what was caught before p ran: a request to
// end that came before the command even started kills it, since the command could not
// have installed a handler for it yet (a shell's trap) and would otherwise run to the end.
func (s *streams) forwardSignals(p *os.Process, stdio Stdio, sigs chan os.Signal) (stop func()) {
	if sigs == nil {
		sigs = CatchSignals()
	}
	for pending := true; pending; {
		select {
		case sig := <-sigs:
			switch sig {
			case syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT:
				p.Kill()
			case syscall.SIGWINCH:
			default:
				p.Signal(sig)
			}
		default:
			pending = false
		}
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-sigs:
				if sig == syscall.SIGWINCH {
					if s.master != nil && stdio.Terminal != nil {
						resize(stdio.Terminal, s.master)
					}
					continue
				}
				p.Signal(sig)
			case <-done:
				return
			}
		}
	}()
	// The signals stay caught (and are dropped) after stop: the process ends soon after its
	// container, and a signal must not cut the cleanup short. signal.Stop would also cost
	// the end of every run a wait for Go's signal loop, about 0.2 ms here.
	return func() { close(done) }
}
