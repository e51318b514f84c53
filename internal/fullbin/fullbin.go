// Package fullbin carries the full sbx program inside the lite one. `make sbx` builds sbx
// twice: the full program (every command, the layer store and the image library), then the
// lite one (build tag sbx_lite) with the full one embedded. The lite program does what a
// container start needs without the store and hands everything else over to the full one
// (see package cli's lite.go); a build without the tag embeds nothing and is the full
// program itself.
package fullbin

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sbx-dev/sbx/internal/progfile"
)

// name is the program's file name before its build key (see progfile.InDir).
const name = "sbx-full"

// InDir returns the full program as a file in dir, writing it there the first time, and
// then removes the files of other builds written over a minute ago: unlike the init's
// runtime directory, dir is on disk and outlives a reboot, and each build is tens of MB.
func InDir(dir string) (string, error) {
	path, err := progfile.InDir(dir, name, program)
	if err != nil {
		return "", err
	}
	if old, _ := filepath.Glob(filepath.Join(dir, name+"-*")); len(old) > 1 && justWritten(path) {
		for _, p := range old {
			// A minute spares an older sbx that is about to execute its own program.
			if st, err := os.Stat(p); err == nil && p != path && strings.HasPrefix(filepath.Base(p), name+"-") &&
				time.Since(st.ModTime()) > time.Minute {
				os.Remove(p)
			}
		}
	}
	return path, nil
}

// justWritten says the file at path is new: other builds are looked for only then, not at
// every handover.
func justWritten(path string) bool {
	st, err := os.Stat(path)
	return err == nil && time.Since(st.ModTime()) < time.Second
}

// Memfd returns the full program as a sealed in-memory file, for when no directory will do
// (see progfile.Memfd).
func Memfd() (*os.File, error) { return progfile.Memfd(name, program) }
