// Package initbin carries the container init program (run/initproc/cmd/sbx-init) inside
// sbx, host side. sbx stays one file: the Makefile builds the init first and embeds it
// (build tag sbx_leaninit); a build without it (plain go build, go test, go vet) embeds
// nothing and the supervisor re-executes sbx itself, which runs the same init code.
//
// The supervisor executes the init from a file written once into the user's runtime
// directory (InDir), or, failing that, from a sealed memfd filled for the start (Open).
// Either way a container never sees the program: the init executes the container's
// command, and --init runs sbx itself.
package initbin

import (
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Open returns an executable, sealed in-memory copy of the init program, or nil when this
// build has none. The file is close-on-exec; a child executes it as /proc/self/fd/N.
func Open() (*os.File, error) {
	if len(program) == 0 || !memfdExecAllowed() {
		return nil, nil
	}
	// MFD_EXEC (Linux 6.3) says the memfd is meant to be executed, which
	// vm.memfd_noexec=1 requires; older kernels refuse the flag and allow it anyway.
	fd, err := unix.MemfdCreate("sbx-init", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_EXEC)
	if err == unix.EINVAL {
		fd, err = unix.MemfdCreate("sbx-init", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		return nil, fmt.Errorf("creating the init's memfd: %w", err)
	}
	f := os.NewFile(uintptr(fd), "sbx-init")
	if _, err := f.WriteString(program); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing the init's memfd: %w", err)
	}
	if err := unix.Fchmod(fd, 0o500); err != nil {
		f.Close()
		return nil, fmt.Errorf("sealing the init's memfd: %w", err)
	}
	const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("sealing the init's memfd: %w", err)
	}
	return f, nil
}

// InDir returns the init as a file in dir, writing it there the first time. Filling a
// memfd costs each start about two milliseconds (2.9 MB copied into fresh pages); the file
// is written once per build into dir (the user's runtime directory, a tmpfs cleared at
// boot, the user's own: 0700), and every container's init shares its pages. Whoever may
// write there is the user, who may run anything in their containers anyway. "" when this
// build has none. The files of older builds stay until reboot or `sbx system reset`.
func InDir(dir string) (string, error) {
	if len(program) == 0 {
		return "", nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "sbx-init-"+buildKey())
	if st, err := os.Stat(path); err == nil && st.Size() == int64(len(program)) {
		return path, nil
	}
	f, err := os.CreateTemp(dir, ".sbx-init-*")
	if err != nil {
		return "", fmt.Errorf("writing the init program: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.WriteString(program)
	if err == nil {
		err = f.Chmod(0o500)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return "", fmt.Errorf("writing the init program: %w", err)
	}
	return path, nil
}

// buildKey names this build's init: the program's length and a hash of its first page,
// which holds the Go build ID (a hash of everything the program was built from).
func buildKey() string {
	h := fnv.New64a()
	h.Write([]byte(program[:min(len(program), 4096)]))
	return fmt.Sprintf("%d-%016x", len(program), h.Sum64())
}

// memfdExecAllowed: vm.memfd_noexec=2 forbids executing any memfd; sbx then re-executes
// itself, as a build without the embedded init does.
func memfdExecAllowed() bool {
	v, err := os.ReadFile("/proc/sys/vm/memfd_noexec")
	return err != nil || len(v) == 0 || v[0] != '2'
}
