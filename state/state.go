// Package state owns sbx's on-disk bookkeeping primitives, host side: whole-file atomic TOML
// writes, advisory file locks, and process identities (pid plus start time) that cannot be
// fooled by pid reuse. Everything that records state goes through here so that a killed sbx
// never leaves a half-written file behind.
package state

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"golang.org/x/sys/unix"
)

// ErrNotExist is returned by ReadTOML when the file is absent.
var ErrNotExist = errors.New("state file does not exist")

// WriteTOMLAtomic encodes v and replaces path with it so that readers see either the old or
// the new content, never a mix: temp file in the same directory, fsync, rename, fsync dir.
func WriteTOMLAtomic(path string, v any) error {
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(v); err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	return WriteFileAtomic(path, buf.Bytes(), 0o644)
}

// WriteFileAtomic is WriteTOMLAtomic for raw bytes.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	return writeAtomic(path, data, mode, true)
}

// ReplaceTOML is WriteTOMLAtomic without the fsyncs: readers and a killed writer still see
// the old or the new content, never a mix, but a power loss may bring the old one back. It
// is for runtime state (which process runs a container, how it ended), which a reboot makes
// stale anyway and which the next sbx command reconciles; it keeps fsync off the path of
// every container start.
func ReplaceTOML(path string, v any) error {
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(v); err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	return writeAtomic(path, buf.Bytes(), 0o644, false)
}

func writeAtomic(path string, data []byte, mode os.FileMode, durable bool) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op once renamed
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if durable {
		if err := f.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("syncing %s: %w", path, err)
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replacing %s: %w", path, err)
	}
	if !durable {
		return nil
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// ReadTOML decodes path into v; ErrNotExist when it is missing.
func ReadTOML(path string, v any) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return ErrNotExist
	}
	if err != nil {
		return err
	}
	if _, err := toml.Decode(string(data), v); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	return nil
}

// Lock is an flock(2) on a file. Locks die with the process, so a killed sbx never leaves
// one held.
type Lock struct{ f *os.File }

// LockFile takes an exclusive lock on path, creating it if needed; it blocks.
func LockFile(path string) (*Lock, error) { return lockFile(path, unix.LOCK_EX) }

// LockFileShared takes a shared lock on path, creating it if needed; it blocks.
func LockFileShared(path string) (*Lock, error) { return lockFile(path, unix.LOCK_SH) }

// LockExisting takes an exclusive lock on path, which must exist (os.ErrNotExist
// otherwise): a lock that must not bring back a file someone is removing.
func LockExisting(path string) (*Lock, error) { return lockOpen(path, unix.LOCK_EX, 0) }

func lockFile(path string, how int) (*Lock, error) { return lockOpen(path, how, os.O_CREATE) }

func lockOpen(path string, how, create int) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|create, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock %s: %w", path, err)
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return &Lock{f: f}, nil
}

// File exposes the locked file, for handing the lock to a child process.
func (l *Lock) File() *os.File { return l.f }

// Unlock releases the lock.
func (l *Lock) Unlock() {
	if l == nil || l.f == nil {
		return
	}
	unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	l.f.Close()
	l.f = nil
}

// Process identifies a process by pid and kernel start time (clock ticks since boot), so a
// recycled pid is never mistaken for the process that was recorded.
type Process struct {
	PID   int    `toml:"pid"`
	Start uint64 `toml:"start"`
}

// Self returns the identity of the calling process.
func Self() (Process, error) { return Identify(os.Getpid()) }

// Identify reads pid's start time from /proc.
func Identify(pid int) (Process, error) {
	start, err := startTime(pid)
	if err != nil {
		return Process{}, err
	}
	return Process{PID: pid, Start: start}, nil
}

// Alive reports whether the recorded process still runs (and is not a zombie).
func (p Process) Alive() bool {
	if p.PID <= 0 {
		return false
	}
	start, err := startTime(p.PID)
	return err == nil && start == p.Start
}

func startTime(pid int) (uint64, error) {
	// One read into a buffer on the stack: the lease table checks every lease's owner on
	// each change, and os.ReadFile's stat and second read doubled that cost. The file is a
	// few hundred bytes (the command name is at most 15 of them).
	fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/stat", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	var buf [1024]byte
	n, err := unix.Read(fd, buf[:])
	unix.Close(fd)
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may contain spaces and parentheses: parse after the last ')'.
	s := string(buf[:n])
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("parsing /proc/%d/stat", pid)
	}
	fields := strings.Fields(s[i+1:])
	// fields[0] is field 3 (state); start time is field 22.
	if len(fields) < 20 {
		return 0, fmt.Errorf("parsing /proc/%d/stat", pid)
	}
	if fields[0] == "Z" || fields[0] == "X" {
		return 0, fmt.Errorf("process %d is a zombie", pid)
	}
	return strconv.ParseUint(fields[19], 10, 64)
}
