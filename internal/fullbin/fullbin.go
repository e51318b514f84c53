// Package fullbin carries the full sbx program inside the lite one. `make sbx` builds sbx
// twice: the full program (every command, the layer store and the image library), then the
// lite one (build tag sbx_lite) with the full one embedded. The lite program does what a
// container start needs without the store and hands everything else over to the full one
// (see package cli's lite.go); a build without the tag embeds nothing and is the full
// program itself.
package fullbin

import (
	"os"

	"github.com/sbx-dev/sbx/internal/progfile"
)

// name is the program's file name before its build key (see progfile.InDir).
const name = "sbx-full"

// InDir returns the full program as a file in dir, writing it there the first time (and
// then removing the copies of older builds: see progfile.InDir).
func InDir(dir string) (string, error) { return progfile.InDir(dir, name, program) }

// Memfd returns the full program as a sealed in-memory file, for when no directory will do
// (see progfile.Memfd).
func Memfd() (*os.File, error) { return progfile.Memfd(name, program) }
