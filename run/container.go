// Package run owns containers on the host side: their records (one TOML file each, written
// atomically under a per-container lock), creating them in the layer store, and the
// supervisor that starts a container's init in new namespaces, relays its terminal and
// output, forwards signals, and records how it ended. It runs inside the user's holder
// namespaces; the code inside the container's own namespaces is package initproc.
package run

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sbx-dev/sbx/state"
)

// Errors callers check with errors.Is.
var (
	ErrNotFound  = errors.New("no such container")
	ErrNameInUse = errors.New("conflict")
	ErrRunning   = errors.New("container is running")
)

// Status values, docker's words.
const (
	StatusCreated = "created"
	StatusRunning = "running"
	StatusExited  = "exited"
)

// Container is one container's record: its configuration, fixed at create, and its state.
type Container struct {
	ID      string    `toml:"id"`
	Name    string    `toml:"name"`
	Created time.Time `toml:"created"`
	Image   string    `toml:"image"`    // as the user named it
	ImageID string    `toml:"image_id"` // "" with --rootfs
	Config  Config    `toml:"config"`
	Host    Host      `toml:"host"`
	State   State     `toml:"state"`
}

// Config is what docker's inspect calls Config: the process and its environment.
type Config struct {
	Entrypoint   []string          `toml:"entrypoint"`
	Cmd          []string          `toml:"cmd"`
	Env          []string          `toml:"env"`
	WorkingDir   string            `toml:"working_dir"`
	User         string            `toml:"user"`
	Hostname     string            `toml:"hostname"`
	Tty          bool              `toml:"tty"`
	OpenStdin    bool              `toml:"open_stdin"`
	StopSignal   string            `toml:"stop_signal"`
	Labels       map[string]string `toml:"labels"`
	ExposedPorts []string          `toml:"exposed_ports"`
	Volumes      []string          `toml:"volumes"` // image VOLUMEs
}

// Host is docker's HostConfig: how the container is run.
type Host struct {
	Rootfs      string   `toml:"rootfs"` // --rootfs DIR
	AutoRemove  bool     `toml:"auto_remove"`
	ReadOnly    bool     `toml:"read_only"`
	Privileged  bool     `toml:"privileged"`
	CapAdd      []string `toml:"cap_add"`
	CapDrop     []string `toml:"cap_drop"`
	Caps        []string `toml:"caps"`      // resolved
	GroupAdd    []string `toml:"group_add"` // --group-add: names or gids, resolved at each start and exec
	NoNewPrivs  bool     `toml:"no_new_privileges"`
	Seccomp     string   `toml:"seccomp"`
	Init        bool     `toml:"init"`
	NetworkMode string   `toml:"network_mode"`
	Userns      string   `toml:"userns"` // "" or "keep-id"
	Binds       []string `toml:"binds"`
	Mounts      []Mount  `toml:"mounts"`
	Tmpfs       []string `toml:"tmpfs"`
	Ulimits     []Ulimit `toml:"ulimits"`
	Memory      int64    `toml:"memory"`
	NanoCPUs    int64    `toml:"nano_cpus"`
	PidsLimit   int64    `toml:"pids_limit"`
	Timeout     Duration `toml:"timeout"`
	StopTimeout int      `toml:"stop_timeout"`
	ExtraHosts  []string `toml:"extra_hosts"`
	DNS         []string `toml:"dns"`
	DNSSearch   []string `toml:"dns_search"`
	// Networks the container joins when NetworkMode names a bridge network ("bridge" or a
	// user network): the first is NetworkMode, the rest come from `network connect`.
	Networks     []string      `toml:"networks"`
	PortBindings []PortBinding `toml:"port_bindings"` // -p, one entry per port
	PublishAll   bool          `toml:"publish_all"`   // -P
	Links        []string      `toml:"links"`         // --link NAME:ALIAS, resolved to "name:alias"
	// ScratchLayer: the writable layer is a directory of the container's own over the
	// image's layers, not a layer of the store (see scratch.go).
	ScratchLayer bool `toml:"scratch_layer,omitempty"`
}

// PortBinding is one published port: HostPort 0 means any free port.
type PortBinding struct {
	HostIP        string `toml:"host_ip"` // "" is every address
	HostPort      int    `toml:"host_port"`
	ContainerPort int    `toml:"container_port"`
	Proto         string `toml:"proto"` // tcp or udp
}

// Endpoint is the container's attachment to one network while it runs.
type Endpoint struct {
	NetworkID  string `toml:"network_id"`
	IPAddress  string `toml:"ip_address"`
	PrefixLen  int    `toml:"prefix_len"`
	Gateway    string `toml:"gateway"`
	MacAddress string `toml:"mac_address"`
}

// Mount is one mount of the container, as docker's inspect .Mounts shows it.
type Mount struct {
	Type        string   `toml:"type"` // bind, volume, tmpfs
	Name        string   `toml:"name"`
	Source      string   `toml:"source"`
	Destination string   `toml:"destination"`
	Mode        string   `toml:"mode"`
	RW          bool     `toml:"rw"`
	Options     []string `toml:"options"`
	File        bool     `toml:"file"`
	// CopyUp fills an empty volume with what the image has at Destination, once (docker's
	// behaviour for volumes, never for binds).
	CopyUp bool `toml:"copy_up"`
	// Anonymous volumes go with their container on --rm and rm -v.
	Anonymous bool `toml:"anonymous"`
}

// Ulimit is one --ulimit, resolved.
type Ulimit struct {
	Name     string `toml:"name"`
	Resource int    `toml:"resource"`
	Soft     uint64 `toml:"soft"`
	Hard     uint64 `toml:"hard"`
}

// Duration is a time.Duration that TOML stores as text.
type Duration struct{ time.Duration }

func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	d.Duration = v
	return err
}

// State is the runtime state.
type State struct {
	Status     string        `toml:"status"`
	Pid        state.Process `toml:"pid"`        // the container's init, on the host
	Supervisor state.Process `toml:"supervisor"` // the sbx process that waits for it
	ExitCode   int           `toml:"exit_code"`
	Error      string        `toml:"error"`
	StartedAt  time.Time     `toml:"started_at"`
	FinishedAt time.Time     `toml:"finished_at"`
	// Starter is the `sbx run --rm` that created the container and is about to start it;
	// the start replaces it. A created --rm container whose starter died will never run,
	// and the next sbx command removes it.
	Starter state.Process `toml:"starter"`
	// Detached says the supervisor writes output only to the log.
	Detached bool `toml:"detached"`
	// While running: the network attachments by network name, and the ports really bound
	// (HostPort filled in for -P and port 0).
	Networks map[string]Endpoint `toml:"networks"`
	Ports    []PortBinding       `toml:"ports"`
}

// Running reports whether the container runs according to its record.
func (c *Container) Running() bool { return c.State.Status == StatusRunning }

// ShortID is the 12-character ID docker prints.
func (c *Container) ShortID() string { return c.ID[:12] }

// Containers is the directory of container records: DIR/ID/container.toml, DIR/ID/lock.
type Containers struct {
	Dir string
}

// storeLayersDir, in the records' directory, holds a marker per container that has (or is
// getting) its writable layer in the layer store rather than a scratch layer: its removal,
// or the clean-up after its crash, needs the store. While the directory is there, the lite
// program (see cli/lite.go) hands the container commands over to the full one. A
// container's marker goes once its layer and record are gone, and the directory with the
// last marker, so that one container of a deep image does not slow every later command.
const storeLayersDir = "store-layers.d"

// legacyStoreLayersMarker is the single marker file of earlier builds, which stayed until
// `system reset`. It goes once no record needs the store (see UnmarkStoreLayers).
const legacyStoreLayersMarker = "store-layers"

// MarkStoreLayers records that container id is getting a layer in the store, and which
// process gives it one (its state.Process), so that a crash between the layer and the
// record can be told from a start under way (OrphanedStoreLayers).
func (cs *Containers) MarkStoreLayers(id string) error {
	dir := filepath.Join(cs.Dir, storeLayersDir)
	self, _ := state.Self()
	maker := fmt.Sprintf("%d %d\n", self.PID, self.Start)
	for {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		f, err := os.OpenFile(filepath.Join(dir, id), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err == nil {
			_, err = f.WriteString(maker)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			return err
		}
		// The removal of the last other marker took the directory away in between.
		if !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
}

// UnmarkStoreLayers drops container id's marker, once its layer and its record are gone,
// and the directory with the last marker: rmdir(2) removes only an empty one, so a marker
// made meanwhile keeps it, or makes it again (MarkStoreLayers).
func (cs *Containers) UnmarkStoreLayers(id string) {
	dir := filepath.Join(cs.Dir, storeLayersDir)
	os.Remove(filepath.Join(dir, id))
	unix.Rmdir(dir)
	legacy := filepath.Join(cs.Dir, legacyStoreLayersMarker)
	if _, err := os.Lstat(legacy); err != nil {
		return
	}
	// Containers being created by this build have markers of their own: the old one
	// stands only for the records that need the store.
	all, err := cs.List()
	if err != nil {
		return
	}
	for _, c := range all {
		if c.HasStoreLayer() {
			return
		}
	}
	os.Remove(legacy)
}

// orphanAge is how old a marker of an earlier build (one without its maker) must be to
// count as a crash's: a start writes its record milliseconds after its marker.
const orphanAge = 10 * time.Minute

// OrphanedStoreLayers lists the containers whose layer may be in the store with no record
// to remove it by: the process that made the marker is gone and wrote no record (it was
// killed between the two), or, for a marker without its maker, no record came in
// orphanAge.
func (cs *Containers) OrphanedStoreLayers() []string {
	dir := filepath.Join(cs.Dir, storeLayersDir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		id := e.Name()
		if len(id) != 64 || cs.hasRecord(id) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, id))
		if err != nil {
			continue
		}
		var maker state.Process
		if n, _ := fmt.Sscanf(string(data), "%d %d", &maker.PID, &maker.Start); n == 2 {
			if maker.Alive() {
				continue
			}
		} else if info, err := e.Info(); err != nil || time.Since(info.ModTime()) < orphanAge {
			continue
		}
		// Looked at again now that the maker is known gone: it may have written the
		// record before it went.
		if !cs.hasRecord(id) {
			out = append(out, id)
		}
	}
	return out
}

func (cs *Containers) hasRecord(id string) bool {
	_, err := os.Lstat(cs.file(id))
	return err == nil
}

// HasStoreLayers says whether a container may have its layer in the store.
func (cs *Containers) HasStoreLayers() bool {
	for _, name := range []string{storeLayersDir, legacyStoreLayersMarker} {
		if _, err := os.Lstat(filepath.Join(cs.Dir, name)); !errors.Is(err, os.ErrNotExist) {
			return true
		}
	}
	return false
}

// HasStoreLayer says whether c's writable layer is in the layer store: neither a --rootfs
// directory nor a scratch layer.
func (c *Container) HasStoreLayer() bool { return c.Host.Rootfs == "" && !c.Host.ScratchLayer }

func (cs *Containers) dir(id string) string  { return filepath.Join(cs.Dir, id) }
func (cs *Containers) file(id string) string { return filepath.Join(cs.Dir, id, "container.toml") }

// Path returns a per-container file path (logs, hosts, ...).
func (cs *Containers) Path(id, name string) string { return filepath.Join(cs.Dir, id, name) }

// NewID returns a fresh 64-hex container ID.
func NewID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Create writes a new record; its directory must not exist yet.
func (cs *Containers) Create(c *Container) error {
	if err := os.MkdirAll(cs.Dir, 0o700); err != nil {
		return err
	}
	if err := os.Mkdir(cs.dir(c.ID), 0o700); err != nil {
		return fmt.Errorf("creating container directory: %w", err)
	}
	if err := os.WriteFile(filepath.Join(cs.dir(c.ID), "lock"), nil, 0o600); err != nil {
		return fmt.Errorf("creating container directory: %w", err)
	}
	if c.Host.AutoRemove {
		// A --rm container does not outlive a reboot: its record needs no fsync. A record
		// lost to a power cut leaves only an empty directory, which List skips.
		return state.ReplaceTOML(cs.file(c.ID), c)
	}
	return state.WriteTOMLAtomic(cs.file(c.ID), c)
}

// lock takes a record's lock. The lock file is made with the record and goes with its
// directory, and taking it never makes it again: an update racing a removal finds the
// record gone instead of leaving a lock file behind in a directory being removed.
func (cs *Containers) lock(id string) (*state.Lock, error) {
	l, err := state.LockExisting(filepath.Join(cs.dir(id), "lock"))
	if errors.Is(err, os.ErrNotExist) {
		if _, serr := os.Stat(cs.file(id)); serr == nil {
			// A record written before records came with their lock file. (Remove takes
			// the record away before the lock file, so this is never a removal's.)
			return state.LockFile(filepath.Join(cs.dir(id), "lock"))
		}
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return l, err
}

// Save rewrites a record's configuration, as durably as Create wrote it.
func (cs *Containers) Save(c *Container) error {
	l, err := cs.lock(c.ID)
	if err != nil {
		return err
	}
	defer l.Unlock()
	if c.Host.AutoRemove {
		return state.ReplaceTOML(cs.file(c.ID), c)
	}
	return state.WriteTOMLAtomic(cs.file(c.ID), c)
}

// Load reads a record by full ID.
func (cs *Containers) Load(id string) (*Container, error) {
	var c Container
	if err := state.ReadTOML(cs.file(id), &c); err != nil {
		if errors.Is(err, state.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		return nil, err
	}
	return &c, nil
}

// Update changes a record under its lock; fn sees the current content.
func (cs *Containers) Update(id string, fn func(c *Container) error) (*Container, error) {
	l, err := cs.lock(id)
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	c, err := cs.Load(id)
	if err != nil {
		return nil, err
	}
	if err := fn(c); err != nil {
		return c, err
	}
	// Updates change runtime state only; the configuration was written durably by Create.
	return c, state.ReplaceTOML(cs.file(id), c)
}

// Remove deletes a record and its directory (logs, hosts files), under the record's lock
// and the record first: an update waiting for the lock, or coming later, finds no record
// and writes nothing into the directory being removed.
func (cs *Containers) Remove(id string) error {
	if l, err := cs.lock(id); err == nil {
		defer l.Unlock()
	}
	if err := os.Remove(cs.file(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return os.RemoveAll(cs.dir(id))
}

// List returns every record, oldest first. Half-created directories (no record) are skipped.
func (cs *Containers) List() ([]*Container, error) {
	ents, err := os.ReadDir(cs.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*Container
	for _, e := range ents {
		if !e.IsDir() || len(e.Name()) != 64 {
			continue
		}
		c, err := cs.Load(e.Name())
		if err != nil {
			continue
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, nil
}

// Find resolves a name, a full ID or a unique ID prefix, as docker does.
func (cs *Containers) Find(ref string) (*Container, error) {
	ref = strings.TrimPrefix(ref, "/")
	all, err := cs.List()
	if err != nil {
		return nil, err
	}
	for _, c := range all {
		if c.ID == ref || c.Name == ref {
			return c, nil
		}
	}
	var match []*Container
	for _, c := range all {
		if strings.HasPrefix(c.ID, ref) {
			match = append(match, c)
		}
	}
	switch len(match) {
	case 1:
		return match[0], nil
	case 0:
		return nil, fmt.Errorf("%w: %s", ErrNotFound, ref)
	}
	return nil, fmt.Errorf("multiple containers match %q: use more of the ID", ref)
}
