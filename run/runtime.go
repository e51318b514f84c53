package run

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sbx-dev/sbx/image/meta"
	"github.com/sbx-dev/sbx/volumes"
)

// Runtime runs containers of one user's store.
type Runtime struct {
	// OpenStore opens the layer store at its first use (see Store): a container on a
	// scratch layer of an image in KnownImages never needs it, and opening it costs about
	// a millisecond (its records read, its driver set up).
	OpenStore  func() (Layers, error)
	Containers *Containers
	Volumes    *volumes.Store
	Rootless   bool
	Logger     *slog.Logger
	// HolderRef is this process's reference on the holder namespaces, handed to detached
	// supervisors so the namespaces outlive the sbx command that started them.
	HolderRef *os.File
	// LayerLockShared takes the store-wide layer lock shared (image loads take it
	// exclusively), so that a failed load's clean-up never mistakes a container's new layer
	// for its own leftovers. It returns the release.
	LayerLockShared func() (func(), error)
	// Net reaches the user's networks; a zero value gives containers no bridge networking.
	Net NetConfig
	// ScratchLayers: the store is configured for native overlay, so containers may have a
	// scratch layer (see scratch.go) if the store opens with it.
	ScratchLayers bool
	// KnownImages, when set, remembers what a start needs of the images users named, so
	// that `sbx run` of a known image does not open the store (see meta.KnownImages).
	KnownImages *meta.KnownImages
	// InitDir is where the container init program is kept for every start, in the user's
	// runtime directory ("" for a memfd per start; see initExecutable), and the seccomp
	// filters compiled by this build (see compileSeccomp).
	InitDir string

	storeOnce sync.Once
	store     Layers
	storeErr  error
	// lowers are the scratch lowerdirs of the images this process resolved, by image ID.
	lowers sync.Map
}

// Store opens the layer store, once per process.
func (r *Runtime) Store() (Layers, error) {
	r.storeOnce.Do(func() {
		if r.OpenStore == nil {
			r.storeErr = errors.New("no layer store")
			return
		}
		r.store, r.storeErr = r.OpenStore()
	})
	return r.store, r.storeErr
}

// StatusError is a failure with docker's exit status for it: 125 for sbx's own errors in
// run, 126 for a command that cannot be executed, 127 for one that does not exist.
type StatusError struct {
	Code int
	Err  error
}

func (e *StatusError) Error() string { return e.Err.Error() }
func (e *StatusError) Unwrap() error { return e.Err }

// Reconcile brings a record in line with reality after a crash: a container whose
// supervisor is gone (killed with SIGKILL, or the machine rebooted) is marked exited, its
// leftover process killed, its root filesystem unmounted, and, with --rm, removed.
func (r *Runtime) Reconcile(c *Container) *Container {
	if abandoned(c) {
		// Checked again under the record's lock: a start replaces the starter.
		if _, err := r.Containers.Update(c.ID, func(c *Container) error {
			if !abandoned(c) {
				return errStarted
			}
			return nil
		}); err == nil {
			if err := r.Delete(c); err != nil {
				r.Logger.Debug("removing a --rm container whose sbx run died before it started", "id", c.ID, "err", err)
			}
			return nil
		}
		if c, _ = r.Containers.Load(c.ID); c == nil {
			return nil
		}
	}
	if c.State.Status != StatusRunning || c.State.Supervisor.Alive() {
		return c
	}
	updated, err := r.Containers.Update(c.ID, func(c *Container) error {
		if c.State.Status != StatusRunning || c.State.Supervisor.Alive() {
			return nil
		}
		if c.State.Pid.Alive() {
			syscall.Kill(c.State.Pid.PID, syscall.SIGKILL)
		}
		c.State.Status = StatusExited
		c.State.ExitCode = 137
		c.State.Error = "the supervisor exited unexpectedly"
		c.State.FinishedAt = time.Now()
		return nil
	})
	if err != nil {
		return c
	}
	r.releaseRootfs(updated)
	r.releaseNetworkOf(updated)
	if updated.Host.AutoRemove {
		if err := r.Delete(updated); err != nil {
			r.Logger.Debug("removing a --rm container after its supervisor died", "id", updated.ID, "err", err)
		}
		return nil
	}
	return updated
}

var errStarted = errors.New("started")

// abandoned is a `sbx run --rm` container whose sbx run died before starting it.
func abandoned(c *Container) bool {
	return c.State.Status == StatusCreated && c.Host.AutoRemove && c.State.Starter.PID != 0 && !c.State.Starter.Alive()
}

// List returns all containers, reconciled, and sweeps up after starts that died between a
// container's store layer and its record (sweepOrphanedLayers).
func (r *Runtime) List() ([]*Container, error) {
	r.sweepOrphanedLayers()
	all, err := r.Containers.List()
	if err != nil {
		return nil, err
	}
	var out []*Container
	for _, c := range all {
		if c = r.Reconcile(c); c != nil {
			out = append(out, c)
		}
	}
	return out, nil
}

// sweepOrphanedLayers removes what a start killed between giving a container its layer in
// the store and writing its record left behind: the layer, the directory it had begun,
// and the marker, which would otherwise keep every container command in the full program
// (see Containers.OrphanedStoreLayers). Only programs with the store see such markers: the
// lite one hands those commands over.
func (r *Runtime) sweepOrphanedLayers() {
	ids := r.Containers.OrphanedStoreLayers()
	if len(ids) == 0 {
		return
	}
	s, err := r.Store()
	if err != nil {
		return
	}
	for _, id := range ids {
		s.Unmount(id)
		if err := s.DeleteContainer(id); err != nil {
			r.Logger.Debug("removing an orphaned container layer", "id", id, "err", err)
			continue
		}
		os.RemoveAll(r.Containers.dir(id))
		r.Containers.UnmarkStoreLayers(id)
	}
}

// Find resolves a container reference, reconciled.
func (r *Runtime) Find(ref string) (*Container, error) {
	c, err := r.Containers.Find(ref)
	if err != nil {
		return nil, err
	}
	if c = r.Reconcile(c); c == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, ref)
	}
	return c, nil
}

// releaseRootfs unmounts the container's layer (a no-op for --rootfs containers).
func (r *Runtime) releaseRootfs(c *Container) {
	if c.Host.Rootfs != "" {
		return
	}
	if c.Host.ScratchLayer {
		r.unmountScratch(c)
		return
	}
	s, err := r.Store()
	if err == nil {
		err = s.Unmount(c.ID)
	}
	if err != nil {
		r.Logger.Debug("unmounting container", "id", c.ID, "err", err)
	}
}

// Delete removes a stopped container: its layer, its record, its logs; with --rm, also its
// anonymous volumes that no other container uses (docker's --rm and rm -v).
func (r *Runtime) Delete(c *Container) error {
	r.releaseRootfs(c)
	if c.Host.AutoRemove {
		defer r.removeAnonymousVolumes(c)
	}
	if c.HasStoreLayer() {
		s, err := r.Store()
		if err == nil {
			err = s.DeleteContainer(c.ID)
		}
		if err != nil {
			return fmt.Errorf("removing the container's layer: %w", err)
		}
	}
	if err := r.Containers.RemoveNamed(c); err != nil {
		return err
	}
	// Last, so that a command that finds no marker finds no record needing the store.
	if c.HasStoreLayer() {
		r.Containers.UnmarkStoreLayers(c.ID)
	}
	return nil
}

// userdata writes the per-container /etc/hostname, /etc/hosts and /etc/resolv.conf that
// are bind-mounted into it.
func (r *Runtime) userdata(c *Container, nw *netSetup) ([]Mount, error) {
	host := c.Host.NetworkMode == "host"
	hostname := c.Config.Hostname
	hosts := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
	if host {
		if data, err := os.ReadFile("/etc/hosts"); err == nil {
			hosts = string(data)
		}
	} else if nw != nil {
		// The container's own address and its links, as docker writes them.
		for _, l := range nw.hosts {
			hosts += l + "\n"
		}
	} else if hostname != "" {
		hosts += "127.0.1.1\t" + hostname + "\n"
	}
	for _, h := range c.Host.ExtraHosts {
		name, ip, _ := strings.Cut(h, ":")
		hosts += ip + "\t" + name + "\n"
	}
	if nw != nil {
		hosts += hostsMarker
		for _, l := range nw.peers {
			hosts += l + "\n"
		}
	}
	files := map[string]string{
		"hostname":    hostname + "\n",
		"hosts":       hosts,
		"resolv.conf": resolvConf(c),
	}
	var mounts []Mount
	for _, name := range []string{"hostname", "hosts", "resolv.conf"} {
		p := r.Containers.Path(c.ID, name)
		// Rewritten in place, not replaced: the file is bind-mounted into the container by
		// inode, and a renamed-over file would leave the container looking at the old one.
		if err := os.WriteFile(p, []byte(files[name]), 0o644); err != nil {
			return nil, err
		}
		mounts = append(mounts, Mount{Type: "bind", Source: p, Destination: "/etc/" + name, File: true, RW: true})
	}
	return mounts, nil
}

// resolvConf derives the container's resolver config from the host's, as docker does:
// loopback nameservers mean nothing inside the container's own network namespace, so
// they are dropped (falling back to public resolvers); --dns and --dns-search replace.
func resolvConf(c *Container) string {
	data, _ := os.ReadFile("/etc/resolv.conf")
	var ns, search, opts []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if c.Host.NetworkMode == "host" || !isLoopback(f[1]) {
				ns = append(ns, f[1])
			}
		case "search":
			search = f[1:]
		case "options":
			opts = append(opts, f[1:]...)
		}
	}
	if len(c.Host.DNS) > 0 {
		ns = c.Host.DNS
	}
	if len(ns) == 0 {
		if bridged(c.Host.NetworkMode) {
			// The outbound stack's resolver forwards to the host's, loopback ones included.
			ns = []string{slirpDNS}
		} else {
			ns = []string{"8.8.8.8", "8.8.4.4"}
		}
	}
	if len(c.Host.DNSSearch) > 0 {
		search = c.Host.DNSSearch
	}
	var b strings.Builder
	for _, n := range ns {
		fmt.Fprintf(&b, "nameserver %s\n", n)
	}
	if len(search) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(search, " "))
	}
	if len(opts) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(opts, " "))
	}
	return b.String()
}

// slirpDNS is the resolver slirp4netns offers in its virtual network.
const slirpDNS = "10.0.2.3"

func isLoopback(ip string) bool {
	return strings.HasPrefix(ip, "127.") || ip == "::1"
}

// logPath is the container's output log.
func (r *Runtime) logPath(id string) string { return r.Containers.Path(id, "ctr.log") }

// LogPath is the container's output log, for `sbx logs`.
func (r *Runtime) LogPath(id string) string { return r.logPath(id) }

// peerNetns opens the network namespace of a running container (--net=container:X).
func (r *Runtime) peerNetns(id string) (*os.File, error) {
	peer, err := r.Find(id)
	if err != nil {
		return nil, fmt.Errorf("--network container: %w", err)
	}
	if !peer.Running() || !peer.State.Pid.Alive() {
		return nil, fmt.Errorf("--network container:%s: the container is not running; start it first", peer.Name)
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", peer.State.Pid.PID))
	if err != nil {
		return nil, fmt.Errorf("opening %s's network namespace: %w", peer.Name, err)
	}
	// Opened by pid: make sure the pid is still that container's init.
	if !peer.State.Pid.Alive() {
		f.Close()
		return nil, fmt.Errorf("--network container:%s: the container stopped", peer.Name)
	}
	return f, nil
}
