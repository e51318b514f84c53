// Package initbin carries the container init program (run/initproc/cmd/sbx-init) inside
// sbx, host side. sbx stays one file: the Makefile builds the init first and embeds it
// (build tag sbx_leaninit); a build without it (plain go build, go test, go vet) embeds
// nothing and the supervisor re-executes sbx itself, which runs the same init code.
//
// The supervisor executes the init from a sealed memfd rather than from a file: nothing
// on disk can be swapped under it, and a container that gets hold of its init's
// executable (/proc/1/exe, with --init) can neither change it nor reach the sbx binary.
package initbin

import (
	"fmt"
	"os"

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

// memfdExecAllowed: vm.memfd_noexec=2 forbids executing any memfd; sbx then re-executes
// itself, as a build without the embedded init does.
func memfdExecAllowed() bool {
	v, err := os.ReadFile("/proc/sys/vm/memfd_noexec")
	return err != nil || len(v) == 0 || v[0] != '2'
}
