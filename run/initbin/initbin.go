// Package initbin carries the container init program (run/initproc/cmd/sbx-init) inside
// sbx, host side. sbx stays one file: the Makefile builds the init first and embeds it
// (build tag sbx_embed); a build without it (plain go build, go test, go vet) embeds
// nothing and the supervisor re-executes sbx itself, which runs the same init code.
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
