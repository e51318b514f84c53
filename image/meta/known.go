package meta

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
)

// KnownImages remembers, from one sbx command to the next, what starting a container needs
// of an image a user named: its ID, its config and its layers' directories. Opening the
// store to find them again costs a container start about a millisecond; the file costs a
// few microseconds.
//
// What is remembered is valid only with the store exactly as it was: every entry goes with
// a stamp of the store's image and layer records (a hash of their whole content, which the
// store rewrites, through a new file, at every change: a tag, a removal, a new layer). A
// stamp that no longer matches makes every entry unknown, and the caller asks the store.
// Only native overlay stores are covered (their record files are named for the driver).
type KnownImages struct {
	Path      string // the file, in the user's runtime directory
	GraphRoot string // the store's graph root
}

// Known is what a container start needs of an image.
type Known struct {
	Name   string          `json:"name"` // as the user gave it
	ID     string          `json:"id"`
	Config ContainerConfig `json:"config"` // the part that seeds a container
	// Lower is the image's layers as overlay lowerdir, top first, when a container of it
	// can have a scratch layer; "" when it cannot.
	Lower string `json:"lower,omitempty"`
}

type knownFile struct {
	Stamp  string  `json:"stamp"`
	Images []Known `json:"images"`
}

// maxKnown bounds the file: a start reads it whole.
const maxKnown = 32

// Stamp identifies the store's current images and layers; "" when it cannot (no overlay
// store there yet).
func (k *KnownImages) Stamp() string {
	h := fnv.New128a()
	h.Write([]byte(k.GraphRoot))
	for _, f := range []string{"overlay-images/images.json", "overlay-layers/layers.json"} {
		b, err := os.ReadFile(filepath.Join(k.GraphRoot, f))
		if err != nil {
			return ""
		}
		fmt.Fprintf(h, "\x00%d\x00", len(b))
		h.Write(b)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func (k *KnownImages) read() (knownFile, bool) {
	var f knownFile
	b, err := os.ReadFile(k.Path)
	if err != nil || json.Unmarshal(b, &f) != nil {
		return knownFile{}, false
	}
	return f, true
}

// Get returns what is known of the image the user called name, if the store has not
// changed since.
func (k *KnownImages) Get(name string) (*Known, bool) {
	f, ok := k.read()
	if !ok {
		return nil, false
	}
	for i := range f.Images {
		if f.Images[i].Name == name {
			if f.Stamp == "" || f.Stamp != k.Stamp() {
				return nil, false
			}
			return &f.Images[i], true
		}
	}
	return nil, false
}

// LowerOf returns the scratch lowerdir of the image with ID id, if an image known by any
// name has that ID and the store has not changed since: what starting a created or
// stopped container again needs of its image.
func (k *KnownImages) LowerOf(id string) (string, bool) {
	f, ok := k.read()
	if !ok {
		return "", false
	}
	for _, kn := range f.Images {
		if kn.ID == id && kn.Lower != "" {
			if f.Stamp == "" || f.Stamp != k.Stamp() {
				return "", false
			}
			return kn.Lower, true
		}
	}
	return "", false
}

// Put remembers kn, found in the store as stamp says it was. The caller takes stamp before
// it reads the store and checks it again after: an entry must never claim a store newer
// than what it was read from. Best effort: a failed write costs the next start a store
// open, nothing more.
func (k *KnownImages) Put(stamp string, kn Known) {
	if stamp == "" {
		return
	}
	f, ok := k.read()
	if !ok || f.Stamp != stamp {
		f = knownFile{Stamp: stamp}
	}
	kept := []Known{kn}
	for _, e := range f.Images {
		if e.Name != kn.Name && len(kept) < maxKnown {
			kept = append(kept, e)
		}
	}
	f.Images = kept
	b, err := json.Marshal(f)
	if err != nil {
		return
	}
	// Through a temporary name: a concurrent start reads a whole file or the old one.
	tmp, err := os.CreateTemp(filepath.Dir(k.Path), ".known-*")
	if err != nil {
		return
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(b)
	if cerr := tmp.Close(); werr == nil && cerr == nil {
		os.Rename(tmp.Name(), k.Path)
	}
}

// Forget removes the file (the store is being reset).
func (k *KnownImages) Forget() { os.Remove(k.Path) }
