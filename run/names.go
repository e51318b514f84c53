package run

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"os"
	"path/filepath"

	"github.com/sbx-dev/sbx/state"
)

// Words for generated container names, "adjective_noun" as docker users know them.
var (
	nameAdjectives = []string{
		"amber", "bold", "brisk", "calm", "clever", "cosmic", "crisp", "daring", "eager", "fancy",
		"gentle", "glad", "golden", "happy", "hidden", "humble", "jolly", "keen", "lively", "lucid",
		"mellow", "misty", "nimble", "noble", "patient", "quiet", "rapid", "sharp", "silent", "steady",
		"sunny", "swift", "tidy", "vivid", "witty", "zealous",
	}
	nameNouns = []string{
		"alder", "aspen", "badger", "beacon", "birch", "comet", "cedar", "crane", "delta", "ember",
		"falcon", "fjord", "glacier", "harbor", "heron", "island", "juniper", "kestrel", "lagoon", "maple",
		"meadow", "nebula", "otter", "pebble", "quartz", "raven", "river", "sparrow", "summit", "tundra",
		"valley", "willow", "wren", "yarrow", "zephyr",
	}
)

func pick(words []string) string {
	n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(words))))
	return words[n.Int64()]
}

func randomName() string { return pick(nameAdjectives) + "_" + pick(nameNouns) }

// Container names are reserved in a directory next to the records: NAMES/NAME is a
// symbolic link to the ID of the container that holds the name. A link is made before its
// record and removed after it, under one lock, so a link whose record is missing can only
// be left over from a killed sbx, and is taken over.
func (cs *Containers) namesDir() string {
	return filepath.Join(filepath.Dir(cs.Dir), "container-names")
}

func (cs *Containers) lockNames() (*state.Lock, error) {
	if err := os.MkdirAll(cs.namesDir(), 0o700); err != nil {
		return nil, err
	}
	return state.LockFile(filepath.Join(cs.namesDir(), ".lock"))
}

// CreateNamed writes c's new record under c.Name, or returns the ID of the container that
// holds the name (with ErrNameInUse).
func (cs *Containers) CreateNamed(c *Container) (holder string, err error) {
	lk, err := cs.lockNames()
	if err != nil {
		return "", err
	}
	defer lk.Unlock()
	link := filepath.Join(cs.namesDir(), c.Name)
	if id, err := os.Readlink(link); err == nil {
		if _, err := os.Stat(cs.file(id)); err == nil {
			return id, ErrNameInUse
		}
		os.Remove(link)
	}
	if err := os.Symlink(c.ID, link); err != nil {
		return "", fmt.Errorf("reserving the container name: %w", err)
	}
	if err := cs.Create(c); err != nil {
		os.Remove(link)
		return "", err
	}
	return "", nil
}

// RemoveNamed deletes a record and gives its name back.
func (cs *Containers) RemoveNamed(c *Container) error {
	if err := cs.Remove(c.ID); err != nil {
		return err
	}
	lk, err := cs.lockNames()
	if err != nil {
		return err
	}
	defer lk.Unlock()
	link := filepath.Join(cs.namesDir(), c.Name)
	if id, err := os.Readlink(link); err == nil && id == c.ID {
		return os.Remove(link)
	}
	return nil
}
