package progfile

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// A new build's copy replaces the older ones, but the last written before it and any
// written in the last minute; files that are not copies of this program (another
// program's, one whose name only starts alike, a temporary file) stay.
func TestInDirKeepsOneOlderBuild(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	var builds []string
	for i, program := range []string{"build one", "build two!", "build three"} {
		path, err := InDir(dir, "sbx-init", program)
		if err != nil {
			t.Fatal(err)
		}
		// Written in this order, an hour apart each.
		if err := os.Chtimes(path, old, old.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
		builds = append(builds, filepath.Base(path))
	}
	others := []string{"sbx-init-extra-0123456789abcdef", "sbx-initx-9-0123456789abcdef", "sbx-full-11-0123456789abcdef", ".sbx-init-123"}
	for _, f := range others {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A fourth build: the first two go, the third (written last before it) stays.
	path, err := InDir(dir, "sbx-init", "build four")
	if err != nil {
		t.Fatal(err)
	}
	got := names(t, dir)
	want := append([]string{builds[2], filepath.Base(path)}, others...)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("after a fourth build: %q, want %q", got, want)
	}
	// Copies written in the last minute stay, whatever their number: an older sbx may be
	// about to execute its own.
	recent, err := InDir(dir, "sbx-init", "build five")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := InDir(dir, "sbx-init", "build six"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(recent); err != nil {
		t.Fatalf("a copy written a moment ago was removed: %v", err)
	}
	for _, p := range []string{recent, filepath.Join(dir, "sbx-init-"+buildKey("build six"))} {
		os.Remove(p)
	}
	// Using a build whose copy is there writes nothing and removes nothing.
	if _, err := InDir(dir, "sbx-init", "build three"); err != nil {
		t.Fatal(err)
	}
	if again := names(t, dir); !slices.Equal(again, want) {
		t.Fatalf("after using a build already there: %q, want %q", again, want)
	}
	// The copy written runs as the program it was given.
	data, err := os.ReadFile(path)
	if err != nil || string(data) != "build four" {
		t.Fatalf("the copy holds %q (%v)", data, err)
	}
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, e := range entries {
		n = append(n, e.Name())
	}
	slices.Sort(n)
	return n
}
