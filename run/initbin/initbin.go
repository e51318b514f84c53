// Package initbin carries the container init programs inside sbx, host side: the C init
// (run/cinit), which every container runs but one with --init, and the Go one
// (run/initproc/cmd/sbx-init), which is the fallback wherever the C one cannot serve. sbx
// stays one file: the Makefile builds both inits first and embeds them (build tag
// sbx_embed); a build without them (plain go build, go test, go vet) embeds nothing and
// the supervisor re-executes sbx itself, which runs the Go init's code.
//
// The supervisor executes the init from a file written once into the user's runtime
// directory (InDir), or, failing that, from a sealed memfd filled for the start (Open).
// Either way a container never sees the program: the init executes the container's
// command, and --init runs sbx itself.
package initbin

import (
	"os"

	"github.com/sbx-dev/sbx/internal/progfile"
)

// Open returns an executable, sealed in-memory copy of the init program, or nil when this
// build has none. The file is close-on-exec; a child executes it as /proc/self/fd/N.
func Open() (*os.File, error) {
	if len(program) == 0 {
		return nil, nil
	}
	return progfile.Memfd("sbx-init", program)
}

// InDir returns the init as a file in dir, writing it there the first time. Filling a
// memfd costs each start about two milliseconds (2.9 MB copied into fresh pages); the file
// is written once per build into dir (see progfile.InDir), and every container's init
// shares its pages. "" when this build has none.
func InDir(dir string) (string, error) {
	if len(program) == 0 {
		return "", nil
	}
	return progfile.InDir(dir, "sbx-init", program)
}

// CInDir is InDir for the C init (run/cinit): a static C program starts about 0.8 ms
// sooner than the Go init, on the path of every container start. It does what the Go
// init does, except stay as a reaping PID 1 (--init). "" when this build has none.
func CInDir(dir string) (string, error) {
	if len(cprogram) == 0 {
		return "", nil
	}
	return progfile.InDir(dir, "sbx-cinit", cprogram)
}
