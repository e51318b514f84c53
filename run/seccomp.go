package run

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/sbx-dev/sbx/run/proto"
	"github.com/sbx-dev/sbx/seccomp"
)

// compileSeccomp starts compiling p's seccomp filter and returns the wait for it, which
// puts the program in p. The filter for docker's default profile takes about a millisecond
// to build, and nearly every container asks for the same one: a filter built once is kept
// in cacheDir (the user's runtime directory, see seccompCache), and a start finds it there
// in a few microseconds. Otherwise it is built here, on the host side, overlapping with
// starting the container's init, instead of lying on the container's critical path inside
// it; the init only installs it. p's profile and capabilities must be final.
func compileSeccomp(p *proto.Process, cacheDir string) (wait func() error) {
	if p.Seccomp == seccomp.Unconfined {
		return func() error { return nil }
	}
	opts := seccomp.Options{Profile: p.Seccomp, Body: p.SeccompBody, Caps: p.Caps}
	cache := seccompCache(cacheDir, opts)
	if prog, flags, ok := readSeccompCache(cache); ok {
		p.SeccompProg, p.SeccompFlags = prog, flags
		return func() error { return nil }
	}
	var prog []byte
	var flags uintptr
	done := make(chan error, 1)
	go func() {
		f, err := seccomp.Compile(opts)
		if err == nil {
			prog, flags = f.Encode()
			writeSeccompCache(cache, prog, flags)
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

// executableID names the running sbx build: the compiler and the default profile are part
// of it. A rebuilt or reinstalled binary is a new file or has a new modification time.
var executableID = sync.OnceValue(func() string {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		return ""
	}
	return fmt.Sprintf("%d:%d:%d:%d.%d", st.Dev, st.Ino, st.Size, st.Mtim.Sec, st.Mtim.Nsec)
})

// seccompCache is the file that keeps the filter compiled for o by this build; "" when
// there is nowhere to keep it. Everything the compiler reads is in the name's hash.
func seccompCache(dir string, o seccomp.Options) string {
	exe := executableID()
	if dir == "" || exe == "" {
		return ""
	}
	h := sha256.New()
	for _, s := range append([]string{exe, runtime.GOARCH, o.Profile, string(o.Body)}, o.Caps...) {
		binary.Write(h, binary.LittleEndian, uint64(len(s)))
		h.Write([]byte(s))
	}
	return filepath.Join(dir, "seccomp-"+hex.EncodeToString(h.Sum(nil)[:16]))
}

// A cached filter is its flags (8 bytes) followed by the program, in this machine's byte
// order: it never leaves the machine, nor even the boot (the runtime directory is a tmpfs).

func readSeccompCache(path string) (prog []byte, flags uintptr, ok bool) {
	if path == "" {
		return nil, 0, false
	}
	b, err := os.ReadFile(path)
	// A program is whole instructions of 8 bytes; anything else is not one of ours.
	if err != nil || len(b) < 16 || len(b)%8 != 0 {
		return nil, 0, false
	}
	return b[8:], uintptr(binary.NativeEndian.Uint64(b)), true
}

// writeSeccompCache keeps a compiled filter, best effort: through a temporary name, so a
// concurrent start reads a whole filter or none.
func writeSeccompCache(path string, prog []byte, flags uintptr) {
	if path == "" {
		return
	}
	if os.MkdirAll(filepath.Dir(path), 0o700) != nil {
		return
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".seccomp-*")
	if err != nil {
		return
	}
	defer os.Remove(f.Name())
	b := binary.NativeEndian.AppendUint64(nil, uint64(flags))
	_, werr := f.Write(append(b, prog...))
	if cerr := f.Close(); werr == nil && cerr == nil {
		os.Rename(f.Name(), path)
	}
}
