package run

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/sbx-dev/sbx/run/proto"
)

// compiled runs compileSeccomp for caps with the cache in dir and returns the program.
func compiled(t *testing.T, dir string, caps ...string) *proto.Process {
	t.Helper()
	p := &proto.Process{Caps: caps}
	if err := compileSeccomp(p, dir)(); err != nil {
		t.Fatal(err)
	}
	if len(p.SeccompProg) == 0 {
		t.Fatal("no program")
	}
	return p
}

func TestSeccompCacheKeepsTheCompiledFilter(t *testing.T) {
	dir := t.TempDir()
	first := compiled(t, dir, "CAP_CHOWN")
	files, _ := filepath.Glob(filepath.Join(dir, "seccomp-*"))
	if len(files) != 1 {
		t.Fatalf("cache files after one compile: %v", files)
	}
	// From the cache: the same program and flags.
	again := compiled(t, dir, "CAP_CHOWN")
	if !bytes.Equal(first.SeccompProg, again.SeccompProg) || first.SeccompFlags != again.SeccompFlags {
		t.Fatal("the cached filter differs from the compiled one")
	}
	// Other capabilities are another filter (CAP_SYS_ADMIN allows more syscalls).
	admin := compiled(t, dir, "CAP_CHOWN", "CAP_SYS_ADMIN")
	if bytes.Equal(first.SeccompProg, admin.SeccompProg) {
		t.Fatal("CAP_SYS_ADMIN got the filter cached for CAP_CHOWN alone")
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "seccomp-*")); len(files) != 2 {
		t.Fatalf("cache files after two filters: %v", files)
	}
	// A damaged record is compiled again, not installed.
	if err := os.WriteFile(files[0], []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, caps := range [][]string{{"CAP_CHOWN"}, {"CAP_CHOWN", "CAP_SYS_ADMIN"}} {
		p := compiled(t, dir, caps...)
		want := first
		if len(caps) == 2 {
			want = admin
		}
		if !bytes.Equal(p.SeccompProg, want.SeccompProg) {
			t.Fatalf("caps %v: a damaged cache record changed the filter", caps)
		}
	}
}

func TestSeccompWithoutCacheDir(t *testing.T) {
	p := compiled(t, "")
	if len(p.SeccompProg)%8 != 0 {
		t.Fatalf("program of %d bytes", len(p.SeccompProg))
	}
}
