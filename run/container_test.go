package run

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// An update that comes after (or waits through) a removal finds no record and leaves
// nothing behind. (Another sbx reconciling a container while `sbx rm` removed it used to
// make its lock file again in the directory being removed: "directory not empty".)
func TestUpdateDuringRemove(t *testing.T) {
	cs := &Containers{Dir: filepath.Join(t.TempDir(), "containers")}
	c := &Container{ID: NewID(), Name: "racer"}
	if _, err := cs.CreateNamed(c); err != nil {
		t.Fatal(err)
	}
	l, err := cs.lock(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	updated := make(chan error)
	go func() {
		_, err := cs.Update(c.ID, func(c *Container) error { c.State.Status = StatusExited; return nil })
		updated <- err
	}()
	// Remove takes the lock the update may be waiting for: let it in after the removal.
	removed := make(chan error)
	go func() { removed <- cs.RemoveNamed(c) }()
	l.Unlock()
	if err := <-removed; err != nil {
		t.Fatalf("RemoveNamed: %v", err)
	}
	if err := <-updated; err != nil && !errors.Is(err, ErrNotFound) {
		t.Fatalf("Update: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cs.Dir, c.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the container's directory is still there (%v)", err)
	}
	if _, err := cs.Update(c.ID, func(*Container) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Update after Remove: %v, want ErrNotFound", err)
	}
	if _, err := os.Stat(filepath.Join(cs.Dir, c.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("an update after the removal made the directory again (%v)", err)
	}
}
