package run

import (
	"fmt"
	"os"

	"github.com/sbx-dev/sbx/internal/progfile"
	"github.com/sbx-dev/sbx/run/initbin"
)

// initExecutable names the program the supervisor starts as a container's init: the C
// init embedded in sbx (package initbin), or the small Go one, which start in a fraction of
// the time sbx takes, or else sbx itself. A small init is executed from its file in the
// user's runtime directory (InitDir), written once per build and boot; without one, the Go
// init from a memfd filled for this start (the C one is used from its file only). The
// caller closes f (a nil *os.File when there is no memfd, whose Close is a harmless error)
// once the init has started.
//
// With --init the init stays as the container's PID 1: a memfd's pages (unswappable shared
// memory) would stay with it for the container's whole life, where sbx's own pages are the
// page cache every sbx process shares. So --init runs sbx itself.
func (r *Runtime) initExecutable(stays bool) (path string, f *os.File, err error) {
	if !stays && r.InitDir != "" {
		if path, err := initbin.CInDir(r.InitDir); err == nil && path != "" {
			return path, nil, nil
		}
		if path, err := initbin.InDir(r.InitDir); err == nil && path != "" {
			return path, nil, nil
		}
		// A full or read-only runtime directory: the memfd still works.
	}
	if !stays {
		f, err = initbin.Open()
	}
	if stays || err != nil || f == nil {
		// Not fatal: sbx runs the same init code, only slower to start.
		path, err = progfile.Executable()
		return path, nil, err
	}
	// The child inherits the descriptor across fork; execve opens it by this name before
	// close-on-exec shuts it.
	return fmt.Sprintf("/proc/self/fd/%d", f.Fd()), f, nil
}
