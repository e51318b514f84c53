// Package progfile writes a program that sbx carries inside itself (the container init, the
// image transfer program) to a file it can execute, once per build.
package progfile

import (
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// InDir returns program as an executable file named after name and the build in dir,
// writing it there the first time. dir is the user's runtime directory (a tmpfs cleared at
// boot, the user's own: 0700): whoever may write there is the user, who may run anything
// in their containers anyway. The file is written to a temporary name and renamed, so a
// concurrent sbx never executes half a program. Writing a build's copy removes those of
// older builds but one (see pruneOlderBuilds).
func InDir(dir, name, program string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, name+"-"+buildKey(program))
	if st, err := os.Stat(path); err == nil && st.Size() == int64(len(program)) {
		return path, nil
	}
	f, err := os.CreateTemp(dir, "."+name+"-*")
	if err != nil {
		return "", fmt.Errorf("writing the %s program: %w", name, err)
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
		return "", fmt.Errorf("writing the %s program: %w", name, err)
	}
	pruneOlderBuilds(dir, name, path)
	return path, nil
}

// keepOtherBuilds is how many older builds' copies of a program stay next to a new one
// (the ones written last), so that two builds used in turn (an installed sbx and one under
// development) do not rewrite each other's copy at every switch.
const keepOtherBuilds = 1

// olderCopyGrace spares the copy of an older sbx that has just looked for it and is about
// to execute it.
const olderCopyGrace = time.Minute

// pruneOlderBuilds removes the copies of program name that other builds wrote to dir, but
// for the keepOtherBuilds written last and any written in the last olderCopyGrace. A copy
// is written once per build (the full program is 45 MB, on disk; the transfer program, in
// the runtime directory, 23 MB of memory), so without this every new build would leave
// its copies behind. It is only unlinked: a process running it keeps it until it exits,
// and an older sbx that finds its copy gone writes it again (or, for the full program,
// falls back to the next place).
func pruneOlderBuilds(dir, name, current string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type copyOf struct {
		path    string
		written time.Time
	}
	var others []copyOf
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		if path == current || !isBuildCopy(e.Name(), name) || !e.Type().IsRegular() {
			continue
		}
		if info, err := e.Info(); err == nil {
			others = append(others, copyOf{path, info.ModTime()})
		}
	}
	sort.Slice(others, func(i, j int) bool { return others[i].written.After(others[j].written) })
	for _, c := range others[min(len(others), keepOtherBuilds):] {
		if time.Since(c.written) > olderCopyGrace {
			os.Remove(c.path)
		}
	}
}

// isBuildCopy says whether file is a copy of program name as InDir names them,
// NAME-LENGTH-HASH (see buildKey), and not some other program's whose name starts alike.
func isBuildCopy(file, name string) bool {
	rest, ok := strings.CutPrefix(file, name+"-")
	if !ok {
		return false
	}
	length, hash, ok := strings.Cut(rest, "-")
	if !ok || length == "" || len(hash) != 16 {
		return false
	}
	for _, r := range length {
		if r < '0' || r > '9' {
			return false
		}
	}
	for _, r := range hash {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}

// buildKey names a build of a program: its length and a hash of its first page, which
// holds the Go build ID (a hash of everything the program was built from).
func buildKey(program string) string {
	h := fnv.New64a()
	h.Write([]byte(program[:min(len(program), 4096)]))
	return fmt.Sprintf("%d-%016x", len(program), h.Sum64())
}

// Memfd returns an executable, sealed in-memory copy of program, or nil when the system
// forbids executing memfds (vm.memfd_noexec=2). The file is close-on-exec; a child
// executes it as /proc/self/fd/N.
func Memfd(name, program string) (*os.File, error) {
	if !memfdExecAllowed() {
		return nil, nil
	}
	// MFD_EXEC (Linux 6.3) says the memfd is meant to be executed, which
	// vm.memfd_noexec=1 requires; older kernels refuse the flag and allow it anyway.
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_EXEC)
	if err == unix.EINVAL {
		fd, err = unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		return nil, fmt.Errorf("creating the %s memfd: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	if _, err := f.WriteString(program); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing the %s memfd: %w", name, err)
	}
	if err := unix.Fchmod(fd, 0o500); err != nil {
		f.Close()
		return nil, fmt.Errorf("sealing the %s memfd: %w", name, err)
	}
	const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("sealing the %s memfd: %w", name, err)
	}
	return f, nil
}

// memfdExecAllowed: vm.memfd_noexec=2 forbids executing any memfd.
func memfdExecAllowed() bool {
	v, err := os.ReadFile("/proc/sys/vm/memfd_noexec")
	return err != nil || len(v) == 0 || v[0] != '2'
}

// Executable is the path that executes this program again: os.Executable's, or
// /proc/self/exe when that names no file, as for a program executed from a memfd (the full
// sbx program when no directory could hold it; see package fullbin).
func Executable() (string, error) {
	path, err := os.Executable()
	if err == nil {
		if _, serr := os.Stat(path); serr == nil {
			return path, nil
		}
	}
	if _, serr := os.Stat("/proc/self/exe"); serr == nil {
		return "/proc/self/exe", nil
	}
	return path, err
}
