package volumes

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/BurntSushi/toml"
)

// ErrNotFound is returned for an unknown volume.
var ErrNotFound = errors.New("no such volume")

// ErrInUse is returned when a volume that containers use would be removed.
var ErrInUse = errors.New("volume is in use")

// Volume is one named or anonymous volume: its data lives in DIR/NAME/_data and its metadata
// beside it in DIR/NAME/volume.toml.
type Volume struct {
	Name       string            `toml:"name"`
	Driver     string            `toml:"driver"`
	Mountpoint string            `toml:"mountpoint"`
	CreatedAt  time.Time         `toml:"created_at"`
	Labels     map[string]string `toml:"labels"`
	Anonymous  bool              `toml:"anonymous"`
}

// Store keeps the volumes of one user. Its lock file serialises creation and removal; the
// metadata file is written to a temporary name and renamed into place.
type Store struct {
	Dir string
	// Lock takes the store's exclusive lock and returns its release.
	Lock func(path string) (func(), error)
}

func (s *Store) lock() (func(), error) {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return nil, err
	}
	return s.Lock(filepath.Join(s.Dir, ".lock"))
}

func (s *Store) meta(name string) string { return filepath.Join(s.Dir, name, "volume.toml") }

// NewAnonymousName is a fresh 64-hex name, as docker gives anonymous volumes.
func NewAnonymousName() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Get returns a volume by name.
func (s *Store) Get(name string) (*Volume, error) {
	if err := ValidName(name); err != nil && len(name) != 64 {
		return nil, err
	}
	var v Volume
	data, err := os.ReadFile(s.meta(name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return nil, err
	}
	if _, err := toml.Decode(string(data), &v); err != nil {
		return nil, fmt.Errorf("reading volume %s: %w", name, err)
	}
	return &v, nil
}

// Ensure returns the named volume, creating it when missing (what -v NAME:/dst does).
func (s *Store) Ensure(name string, labels map[string]string, anonymous bool) (*Volume, bool, error) {
	unlock, err := s.lock()
	if err != nil {
		return nil, false, err
	}
	defer unlock()
	if v, err := s.Get(name); err == nil {
		return v, false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return nil, false, err
	}
	v := &Volume{Name: name, Driver: "local", Mountpoint: filepath.Join(s.Dir, name, "_data"),
		CreatedAt: time.Now().UTC().Truncate(time.Second), Labels: labels, Anonymous: anonymous}
	if err := os.MkdirAll(v.Mountpoint, 0o755); err != nil {
		return nil, false, fmt.Errorf("creating volume %s: %w", name, err)
	}
	if err := writeMeta(s.meta(name), v); err != nil {
		os.RemoveAll(filepath.Join(s.Dir, name))
		return nil, false, err
	}
	return v, true, nil
}

func writeMeta(path string, v *Volume) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := toml.NewEncoder(f).Encode(v); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// List returns every volume, by name.
func (s *Store) List() ([]*Volume, error) {
	ents, err := os.ReadDir(s.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*Volume
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		if v, err := s.Get(e.Name()); err == nil {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Remove deletes a volume and its data. users names the containers that use it; a volume
// in use is refused, naming them, unless they are all gone.
func (s *Store) Remove(name string, users []string) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := s.Get(name); err != nil {
		return err
	}
	if len(users) > 0 {
		return fmt.Errorf("%w: remove %s: volume is in use by container %v; remove the container first", ErrInUse, name, users)
	}
	// Metadata first: a crash half way leaves an orphan data directory, never a volume
	// whose data is gone.
	if err := os.Remove(s.meta(name)); err != nil {
		return err
	}
	return os.RemoveAll(filepath.Join(s.Dir, name))
}
