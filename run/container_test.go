package run

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sbx-dev/sbx/state"
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

// Each container with a layer in the store keeps the lite program's hand-over on until it
// is gone: the last one's removal ends it, and markers made and dropped side by side never
// leave it off while one remains.
func TestStoreLayerMarkers(t *testing.T) {
	cs := &Containers{Dir: filepath.Join(t.TempDir(), "containers")}
	if cs.HasStoreLayers() {
		t.Fatal("a new store reports store layers")
	}
	a, b := NewID(), NewID()
	for _, id := range []string{a, b} {
		if err := cs.MarkStoreLayers(id); err != nil {
			t.Fatal(err)
		}
	}
	cs.UnmarkStoreLayers(a)
	if !cs.HasStoreLayers() {
		t.Fatal("one container's removal dropped the other's marker")
	}
	cs.UnmarkStoreLayers(b)
	if cs.HasStoreLayers() {
		t.Fatal("no marker left after the last container's removal")
	}

	// Side by side: a container that stays is always seen.
	stay := NewID()
	if err := cs.MarkStoreLayers(stay); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	for range 4 {
		go func() {
			for range 200 {
				id := NewID()
				if err := cs.MarkStoreLayers(id); err != nil {
					done <- err
					return
				}
				cs.UnmarkStoreLayers(id)
			}
			done <- nil
		}()
	}
	for range 200 {
		if !cs.HasStoreLayers() {
			t.Fatal("a marker that stays was not seen while others came and went")
		}
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	cs.UnmarkStoreLayers(stay)
	if cs.HasStoreLayers() {
		t.Fatal("markers left behind")
	}
}

// The single marker of earlier builds goes once no record needs the store.
func TestLegacyStoreLayersMarker(t *testing.T) {
	cs := &Containers{Dir: filepath.Join(t.TempDir(), "containers")}
	deep := &Container{ID: NewID(), Name: "deep"}
	scratch := &Container{ID: NewID(), Name: "scratch", Host: Host{ScratchLayer: true}}
	for _, c := range []*Container{deep, scratch} {
		if _, err := cs.CreateNamed(c); err != nil {
			t.Fatal(err)
		}
	}
	legacy := filepath.Join(cs.Dir, legacyStoreLayersMarker)
	if err := os.WriteFile(legacy, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if !cs.HasStoreLayers() {
		t.Fatal("the old marker is not seen")
	}
	// A store-layer record remains: the old marker stays.
	other := NewID()
	cs.MarkStoreLayers(other)
	cs.UnmarkStoreLayers(other)
	if !cs.HasStoreLayers() {
		t.Fatal("the old marker went while a record needs the store")
	}
	if err := cs.RemoveNamed(deep); err != nil {
		t.Fatal(err)
	}
	cs.UnmarkStoreLayers(deep.ID)
	if cs.HasStoreLayers() {
		t.Fatal("the old marker stayed with no record needing the store")
	}
}

// fakeLayers is a layer store that only records which containers' layers were deleted.
type fakeLayers struct {
	Layers
	deleted []string
}

func (f *fakeLayers) Unmount(id string) error { return nil }
func (f *fakeLayers) DeleteContainer(id string) error {
	f.deleted = append(f.deleted, id)
	return nil
}

// A start killed between a container's store layer and its record leaves a marker and a
// layer with nothing to remove them by: the next listing removes both, and leaves the
// markers of starts under way and of containers with a record.
func TestOrphanedStoreLayersSwept(t *testing.T) {
	cs := &Containers{Dir: filepath.Join(t.TempDir(), "containers")}
	store := &fakeLayers{}
	r := &Runtime{Containers: cs, OpenStore: func() (Layers, error) { return store, nil },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}

	// A maker that is gone: a child that has exited and been reaped.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead, err := state.Identify(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	dead.PID = cmd.Process.Pid
	orphan, underway, recorded := NewID(), NewID(), NewID()
	for _, id := range []string{orphan, underway, recorded} {
		if err := cs.MarkStoreLayers(id); err != nil {
			t.Fatal(err)
		}
	}
	marker := filepath.Join(cs.Dir, storeLayersDir, orphan)
	if err := os.WriteFile(marker, []byte(fmt.Sprintf("%d %d\n", dead.PID, dead.Start)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(cs.dir(orphan), 0o700); err != nil { // the directory it had begun
		t.Fatal(err)
	}
	if _, err := cs.CreateNamed(&Container{ID: recorded, Name: "recorded"}); err != nil {
		t.Fatal(err)
	}
	// The recorded container's maker is gone too (a `sbx create` that has exited).
	if err := os.WriteFile(filepath.Join(cs.Dir, storeLayersDir, recorded), []byte(fmt.Sprintf("%d %d\n", dead.PID, dead.Start)), 0o600); err != nil {
		t.Fatal(err)
	}

	if _, err := r.List(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(store.deleted, []string{orphan}) {
		t.Fatalf("layers deleted: %v, want only the orphan's", store.deleted)
	}
	if _, err := os.Lstat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the orphan's marker is still there (%v)", err)
	}
	if _, err := os.Lstat(cs.dir(orphan)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the orphan's directory is still there (%v)", err)
	}
	for _, id := range []string{underway, recorded} {
		if _, err := os.Lstat(filepath.Join(cs.Dir, storeLayersDir, id)); err != nil {
			t.Errorf("a marker that is not an orphan's went: %v", err)
		}
	}
}
