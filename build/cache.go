package build

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	cstorage "go.podman.io/storage"

	"github.com/sbx-dev/sbx/state"
)

// The build cache maps a step's key to what the step produced. A key is a hash of the key
// before it (the base image's ID at the start of a stage), the step's expanded text and
// what else decides its result (ARG values a RUN sees, the content of COPY's sources), so
// equal keys mean equal results.
//
// The cache is one TOML file, replaced atomically under a lock. Layers a build is making
// are recorded as pending, with the build's process identity, before they exist: a build
// that is killed leaves them listed, and the next build deletes those whose owner is gone.
// An entry whose layer was deleted since (sbx rmi) is ignored and dropped.
type cache struct {
	path, lock string
}

type cacheFile struct {
	Entries map[string]cacheEntry `toml:"entries"`
	Pending []pendingLayer        `toml:"pending"`
}

// cacheEntry is a step's result: the stage's top layer after it ("" for a scratch stage
// with no layer yet) and when the step was first made, so that a build from the cache
// alone makes the very same image.
type cacheEntry struct {
	Layer   string    `toml:"layer"`
	Created time.Time `toml:"created"`
}

type pendingLayer struct {
	Layer string        `toml:"layer"`
	Owner state.Process `toml:"owner"`
}

func newCache(dir string) (*cache, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &cache{path: filepath.Join(dir, "cache.toml"), lock: filepath.Join(dir, "cache.lock")}, nil
}

// update changes the file under the lock.
func (c *cache) update(fn func(f *cacheFile) error) error {
	l, err := state.LockFile(c.lock)
	if err != nil {
		return err
	}
	defer l.Unlock()
	f, err := c.readLocked()
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		return err
	}
	return state.WriteTOMLAtomic(c.path, f)
}

func (c *cache) readLocked() (*cacheFile, error) {
	f := &cacheFile{}
	if err := state.ReadTOML(c.path, f); err != nil && !errors.Is(err, state.ErrNotExist) {
		return nil, err
	}
	if f.Entries == nil {
		f.Entries = map[string]cacheEntry{}
	}
	return f, nil
}

// read is a snapshot of the entries.
func (c *cache) read() (map[string]cacheEntry, error) {
	l, err := state.LockFileShared(c.lock)
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	f, err := c.readLocked()
	if err != nil {
		return nil, err
	}
	return f.Entries, nil
}

// addPending records that this process is about to create layer id.
func (c *cache) addPending(id string, self state.Process) error {
	return c.update(func(f *cacheFile) error {
		f.Pending = append(f.Pending, pendingLayer{Layer: id, Owner: self})
		return nil
	})
}

// finish records a build's entries and forgets its pending layers.
func (c *cache) finish(self state.Process, entries map[string]cacheEntry, store cstorage.Store) error {
	return c.update(func(f *cacheFile) error {
		for k, e := range entries {
			f.Entries[k] = e
		}
		keep := f.Pending[:0]
		for _, p := range f.Pending {
			if p.Owner != self {
				keep = append(keep, p)
			}
		}
		f.Pending = keep
		// Entries whose layer is gone can never hit again.
		for k, e := range f.Entries {
			if e.Layer != "" && !layerExists(store, e.Layer) {
				delete(f.Entries, k)
			}
		}
		return nil
	})
}

// collect deletes the layers of builds that died before they finished (or, with self,
// the calling build's own after a failure), except layers an image or container has come
// to use.
func (c *cache) collect(store cstorage.Store, self *state.Process) error {
	return c.update(func(f *cacheFile) error {
		var mine []pendingLayer
		keep := f.Pending[:0]
		for _, p := range f.Pending {
			switch {
			case self != nil && p.Owner == *self, self == nil && !p.Owner.Alive():
				mine = append(mine, p)
			default:
				keep = append(keep, p)
			}
		}
		if len(mine) == 0 {
			return nil
		}
		used := usedLayers(store)
		// Newest first: a layer's children go before it.
		for i := len(mine) - 1; i >= 0; i-- {
			id := mine[i].Layer
			if used[id] || !layerExists(store, id) {
				continue
			}
			store.Unmount(id, true)
			if err := store.DeleteLayer(id); err != nil {
				keep = append(keep, mine[i])
			}
		}
		f.Pending = keep
		for k, e := range f.Entries {
			if e.Layer != "" && !layerExists(store, e.Layer) {
				delete(f.Entries, k)
			}
		}
		return nil
	})
}

func layerExists(store cstorage.Store, id string) bool {
	_, err := store.Layer(id)
	return err == nil
}

// usedLayers are the layers images and containers stand on, with all their parents.
func usedLayers(store cstorage.Store) map[string]bool {
	used := map[string]bool{}
	parent := map[string]string{}
	if layers, err := store.Layers(); err == nil {
		for _, l := range layers {
			parent[l.ID] = l.Parent
		}
	}
	var tops []string
	if imgs, err := store.Images(); err == nil {
		for _, img := range imgs {
			tops = append(tops, img.TopLayer)
		}
	}
	if ctrs, err := store.Containers(); err == nil {
		for _, c := range ctrs {
			tops = append(tops, c.LayerID)
		}
	}
	for _, t := range tops {
		for id := t; id != "" && !used[id]; id = parent[id] {
			used[id] = true
		}
	}
	return used
}

// stepKey chains a step onto the key before it.
func stepKey(parent, text, extra string) string {
	h := sha256.New()
	h.Write([]byte(parent))
	h.Write([]byte{0})
	h.Write([]byte(text))
	h.Write([]byte{0})
	h.Write([]byte(extra))
	return hex.EncodeToString(h.Sum(nil))
}

// prune empties the cache and deletes the layers only the cache kept: those of stages
// that are not part of any image, and those of images removed since. Layers images,
// containers or running builds stand on stay.
func (c *cache) prune(store cstorage.Store) (int, error) {
	deleted := 0
	err := c.update(func(f *cacheFile) error {
		used := usedLayers(store)
		parent := map[string]string{}
		if layers, err := store.Layers(); err == nil {
			for _, l := range layers {
				parent[l.ID] = l.Parent
			}
		}
		for _, p := range f.Pending {
			if p.Owner.Alive() {
				for id := p.Layer; id != "" && !used[id]; id = parent[id] {
					used[id] = true
				}
			}
		}
		cand := map[string]bool{}
		for _, e := range f.Entries {
			if e.Layer != "" && !used[e.Layer] {
				if _, ok := parent[e.Layer]; ok {
					cand[e.Layer] = true
				}
			}
		}
		// Children before parents: a layer goes once no other layer stands on it.
		for progress := true; progress; {
			progress = false
			hasChild := map[string]bool{}
			for _, p := range parent {
				if p != "" {
					hasChild[p] = true
				}
			}
			for id := range cand {
				if hasChild[id] {
					continue
				}
				if err := store.DeleteLayer(id); err != nil {
					return fmt.Errorf("deleting layer %s: %w", id[:12], err)
				}
				delete(cand, id)
				delete(parent, id)
				deleted++
				progress = true
			}
		}
		f.Entries = map[string]cacheEntry{}
		return nil
	})
	return deleted, err
}

// Prune empties the build cache (`sbx builder prune`) and returns how many layers it
// deleted.
func (b *Builder) Prune() (int, error) {
	if b.LayerLockShared != nil {
		unlock, err := b.LayerLockShared()
		if err != nil {
			return 0, err
		}
		defer unlock()
	}
	c, err := newCache(b.StateDir)
	if err != nil {
		return 0, err
	}
	return c.prune(b.Images.Store)
}
