package run

import (
	"fmt"

	"github.com/sbx-dev/sbx/run/proto"
	"github.com/sbx-dev/sbx/seccomp"
)

// compileSeccomp starts compiling p's seccomp filter and returns the wait for it, which
// puts the program in p. The filter for docker's default profile takes one or two
// milliseconds to build. Built here, on the host side, it overlaps with starting the
// container's init, instead of lying on the container's critical path inside it; the init
// only installs it. p's profile and capabilities must be final.
func compileSeccomp(p *proto.Process) (wait func() error) {
	if p.Seccomp == seccomp.Unconfined {
		return func() error { return nil }
	}
	opts := seccomp.Options{Profile: p.Seccomp, Body: p.SeccompBody, Caps: p.Caps}
	var prog []byte
	var flags uintptr
	done := make(chan error, 1)
	go func() {
		f, err := seccomp.Compile(opts)
		if err == nil {
			prog, flags = f.Encode()
		}
		done <- err
	}()
	return func() error {
		if err := <-done; err != nil {
			return fmt.Errorf("seccomp: %w", err)
		}
		p.SeccompProg, p.SeccompFlags = prog, flags
		return nil
	}
}
