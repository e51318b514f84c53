package run

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sbx-dev/sbx/image/meta"
	"github.com/sbx-dev/sbx/run/spec"
	"github.com/sbx-dev/sbx/state"
	"github.com/sbx-dev/sbx/volumes"
)

// CreateOptions are `sbx create`/`sbx run` flags, parsed but not yet checked against the
// image or the host.
type CreateOptions struct {
	Image       string   // image reference, or "" with Rootfs
	Rootfs      string   // --rootfs DIR
	Cmd         []string // after the image name
	Entrypoint  *string  // --entrypoint ("" clears the image's)
	Name        string
	Env         []string // resolved -e and --env-file, in order
	WorkingDir  string
	User        string
	Hostname    string
	Tty         bool
	OpenStdin   bool
	AutoRemove  bool
	ReadOnly    bool
	Privileged  bool
	CapAdd      []string
	CapDrop     []string
	GroupAdd    []string // supplementary groups: names in the image's /etc/group, or gids
	Security    spec.Security
	Init        bool
	Network     string
	Userns      string // "" or "keep-id"
	Binds       []Mount
	Volumes     []volumes.Spec // named and anonymous volumes (-v NAME:/dst, -v /dst, --mount type=volume)
	VolumesFrom []string       // CONTAINER[:ro|rw]
	Tmpfs       []spec.Tmpfs
	Ulimits     []spec.Ulimit
	Memory      int64
	NanoCPUs    int64
	PidsLimit   int64
	Timeout     time.Duration
	StopSignal  string
	StopTimeout int
	ExtraHosts  []string
	DNS         []string
	DNSSearch   []string
	Labels      map[string]string
	Publish     []PortBinding // -p, one entry per port (ranges expanded)
	PublishAll  bool          // -P
	Expose      []string      // --expose, "80/tcp"
	Links       []string      // --link NAME[:ALIAS]

	// EntrypointArgv replaces the image's ENTRYPOINT with a whole argument vector (a
	// Kubernetes container's command), which --entrypoint's single string cannot express.
	EntrypointArgv []string
	// StartNow says the caller starts the container right away (`sbx run`): with
	// AutoRemove, a caller killed before the start leaves nothing behind.
	StartNow bool
	// SuperviseHere says the caller is also the container's supervisor (`sbx run` in the
	// foreground, or as its own detached supervisor: Detach): the record says so from the
	// start, and SuperviseContainer need not rewrite it.
	SuperviseHere, Detach bool
}

// knownImage finds what a new container needs of the image the user called name: in
// KnownImages when the store has not changed since it was last asked, else in the store,
// and then remembers it for the next start.
func (r *Runtime) knownImage(name string) (*meta.Known, error) {
	cache := r.KnownImages
	if !r.ScratchLayers {
		cache = nil // the cache covers native overlay stores only
	}
	if cache != nil {
		if kn, ok := cache.Get(name); ok {
			if kn.Lower != "" {
				r.lowers.Store(kn.ID, kn.Lower)
			}
			return kn, nil
		}
	}
	var stamp string
	if cache != nil {
		stamp = cache.Stamp() // before the store is read: see KnownImages.Put
	}
	layers, err := r.Store()
	if err != nil {
		return nil, err
	}
	id, cfg, err := layers.Image(name)
	if err != nil {
		if errors.Is(err, meta.ErrNotFound) {
			return nil, fmt.Errorf("unable to find image '%s' locally: load, import or pull it first", name)
		}
		return nil, err
	}
	kn := &meta.Known{Name: name, ID: id, Config: cfg}
	if lower, ok := r.scratchLowerFor(id); ok {
		kn.Lower = lower
		r.lowers.Store(id, lower)
	}
	if cache != nil && stamp != "" && cache.Stamp() == stamp {
		cache.Put(stamp, *kn)
	}
	return kn, nil
}

// Create makes a container: its layer on top of the image (or nothing, with --rootfs), its
// name reserved in the store, its record. Nothing runs yet.
func (r *Runtime) Create(o CreateOptions) (*Container, error) {
	if o.Name != "" {
		if err := spec.ValidName(o.Name); err != nil {
			return nil, err
		}
	}
	if o.Hostname != "" {
		if err := spec.ValidHostname(o.Hostname); err != nil {
			return nil, err
		}
	}
	var netPeer *Container
	switch {
	case o.Network == "none", o.Network == "host", o.Network == "private":
	case strings.HasPrefix(o.Network, "container:"):
		if o.Hostname != "" {
			return nil, fmt.Errorf("conflicting options: --hostname and --network container:%s (the container takes the other one's)", strings.TrimPrefix(o.Network, "container:"))
		}
		peer, err := r.Find(strings.TrimPrefix(o.Network, "container:"))
		if err != nil {
			return nil, fmt.Errorf("--network %s: %w", o.Network, err)
		}
		netPeer = peer
	default:
		name := o.Network
		if name == "" || name == "default" {
			name = r.defaultNetwork()
		}
		if name == "none" || name == "host" {
			o.Network = name // config.toml's default may be either
			break
		}
		if r.Net.Networks == nil {
			return nil, fmt.Errorf("network %q: bridge networking is not available here: use --net=none or --net=host", name)
		}
		n, err := r.Net.Networks.Get(name)
		if err != nil {
			return nil, fmt.Errorf("network %s not found: create it with 'sbx network create %s', or pick one of 'sbx network ls'", name, name)
		}
		o.Network = n.Name
	}
	mode := networkMode(o.Network)
	if (len(o.Publish) > 0 || o.PublishAll) && !bridged(mode) {
		return nil, fmt.Errorf("conflicting options: -p/-P publish ports of a container's own network, which --network %s does not give it", o.Network)
	}
	if len(o.Links) > 0 && !bridged(mode) {
		return nil, fmt.Errorf("conflicting options: --link needs a bridge network, not --network %s", o.Network)
	}
	var linkList []string
	for _, v := range o.Links {
		l, t, err := r.linkTarget(v)
		if err != nil {
			return nil, err
		}
		l.Name = t.Name
		linkList = append(linkList, l.String())
	}
	switch o.Userns {
	case "", "host":
	case "keep-id":
		if !r.Rootless {
			return nil, fmt.Errorf("--userns=keep-id is for rootless sbx: as root, ids in the container are the host's already")
		}
	default:
		return nil, fmt.Errorf("invalid --userns %q: use keep-id", o.Userns)
	}
	if err := r.checkLimits(o); err != nil {
		return nil, err
	}
	caps, err := spec.Capabilities(o.CapAdd, o.CapDrop, o.Privileged, spec.CapNames())
	if err != nil {
		return nil, err
	}
	c := &Container{
		ID:      NewID(),
		Name:    o.Name,
		Created: time.Now().UTC(),
		Config: Config{
			User: o.User, Tty: o.Tty, OpenStdin: o.OpenStdin, Labels: o.Labels,
			StopSignal: o.StopSignal,
		},
		Host: Host{
			Rootfs: o.Rootfs, AutoRemove: o.AutoRemove, ReadOnly: o.ReadOnly, Privileged: o.Privileged,
			CapAdd: o.CapAdd, CapDrop: o.CapDrop, Caps: caps, GroupAdd: o.GroupAdd,
			NoNewPrivs: o.Security.NoNewPrivileges, Seccomp: o.Security.Seccomp, Init: o.Init,
			NetworkMode: mode, Timeout: Duration{o.Timeout}, Links: linkList, PublishAll: o.PublishAll,
			StopTimeout: o.StopTimeout, ExtraHosts: o.ExtraHosts, DNS: o.DNS, DNSSearch: o.DNSSearch,
			Memory: o.Memory, NanoCPUs: o.NanoCPUs, PidsLimit: o.PidsLimit,
		},
	}
	if bridged(mode) {
		c.Host.Networks = []string{mode}
	}
	for _, p := range o.Publish {
		c.Host.PortBindings = append(c.Host.PortBindings, p)
	}
	if c.Host.StopTimeout == 0 {
		c.Host.StopTimeout = 10
	}
	var imageID string
	var ic meta.ContainerConfig
	if o.Rootfs != "" {
		st, err := os.Stat(o.Rootfs)
		if err != nil || !st.IsDir() {
			return nil, fmt.Errorf("--rootfs %s: not a directory", o.Rootfs)
		}
		abs, _ := filepath.Abs(o.Rootfs)
		c.Host.Rootfs = abs
		c.Image = abs
	} else {
		kn, err := r.knownImage(o.Image)
		if err != nil {
			return nil, err
		}
		imageID = kn.ID
		ic = kn.Config
		c.Image = o.Image
		c.ImageID = kn.ID
		c.Host.ScratchLayer = kn.Lower != ""
	}
	c.Config.Entrypoint = ic.Entrypoint
	c.Config.Cmd = ic.Cmd
	if o.Entrypoint != nil || o.EntrypointArgv != nil {
		c.Config.Entrypoint = nil
		switch {
		case o.EntrypointArgv != nil:
			c.Config.Entrypoint = o.EntrypointArgv
		case *o.Entrypoint != "":
			c.Config.Entrypoint = []string{*o.Entrypoint}
		}
		// docker: a new entrypoint drops the image's CMD.
		c.Config.Cmd = nil
	}
	if len(o.Cmd) > 0 {
		c.Config.Cmd = o.Cmd
	}
	if len(c.Config.Entrypoint)+len(c.Config.Cmd) == 0 {
		return nil, fmt.Errorf("no command specified: the image has no CMD or ENTRYPOINT; give one after the image name")
	}
	c.Config.WorkingDir = ic.WorkingDir
	if o.WorkingDir != "" {
		if !filepath.IsAbs(o.WorkingDir) {
			return nil, fmt.Errorf("the working directory %q is invalid: it needs to be an absolute path", o.WorkingDir)
		}
		c.Config.WorkingDir = o.WorkingDir
	}
	if c.Config.User == "" {
		c.Config.User = ic.User
	}
	if o.Userns == "keep-id" {
		c.Host.Userns = "keep-id"
		if o.User == "" {
			// Inside, the user is who they are outside (podman's keep-id does the same).
			uid, gid := rootlessIDs()
			c.Config.User = fmt.Sprintf("%d:%d", uid, gid)
		}
	}
	if c.Config.StopSignal == "" {
		c.Config.StopSignal = ic.StopSignal
	}
	exposed := map[string]bool{}
	for p := range ic.ExposedPorts {
		exposed[p] = true
	}
	for _, p := range o.Expose {
		exposed[p] = true
	}
	for _, p := range o.Publish {
		// docker: a published port is an exposed one.
		exposed[fmt.Sprintf("%d/%s", p.ContainerPort, p.Proto)] = true
	}
	for p := range exposed {
		c.Config.ExposedPorts = append(c.Config.ExposedPorts, p)
	}
	sort.Strings(c.Config.ExposedPorts)
	for v := range ic.Volumes {
		c.Config.Volumes = append(c.Config.Volumes, v)
	}
	sort.Strings(c.Config.Volumes)
	c.Config.Hostname = o.Hostname
	if netPeer != nil {
		c.Host.NetworkMode = "container:" + netPeer.ID
		c.Config.Hostname = netPeer.Config.Hostname
	}
	if c.Config.Hostname == "" {
		c.Config.Hostname = c.ID[:12]
	}
	c.Config.Env = spec.MergeEnv(ic.Env, o.Env, c.Config.Hostname)
	for _, t := range o.Tmpfs {
		c.Host.Mounts = append(c.Host.Mounts, Mount{Type: "tmpfs", Source: "tmpfs", Destination: t.Dest, RW: !t.ReadOnly, Options: tmpfsOptions(t)})
		c.Host.Tmpfs = append(c.Host.Tmpfs, t.Dest)
	}
	for _, u := range o.Ulimits {
		c.Host.Ulimits = append(c.Host.Ulimits, Ulimit{Name: u.Name, Resource: u.Resource, Soft: u.Soft, Hard: u.Hard})
	}

	c.State.Status = StatusCreated
	if o.StartNow && o.AutoRemove {
		c.State.Starter, _ = state.Self()
	}
	if self, err := state.Self(); err == nil && o.SuperviseHere {
		// As Supervise would record it: a crash from here on is a supervisor's crash.
		c.State = State{Status: StatusRunning, Supervisor: self, StartedAt: time.Now(), Detached: o.Detach}
	}
	if r.LayerLockShared != nil {
		unlock, err := r.LayerLockShared()
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	if err := r.createLayer(c, imageID); err != nil {
		return nil, err
	}
	if err := r.createNamed(c); err != nil {
		r.deleteLayer(c)
		return nil, err
	}
	// Volumes only once the name is ours: a refused name must not leave volumes behind.
	if err := r.addVolumes(c, o); err != nil {
		r.Containers.RemoveNamed(c)
		r.deleteLayer(c)
		return nil, err
	}
	if len(c.Host.Mounts) > 0 {
		if err := r.Containers.Save(c); err != nil {
			r.Containers.RemoveNamed(c)
			r.deleteLayer(c)
			r.removeAnonymousVolumes(c)
			return nil, err
		}
	}
	return c, nil
}

func tmpfsOptions(t spec.Tmpfs) []string {
	opts := []string{}
	if t.NoExec {
		opts = append(opts, "noexec")
	}
	if t.NoSuid {
		opts = append(opts, "nosuid")
	}
	if t.NoDev {
		opts = append(opts, "nodev")
	}
	if t.ReadOnly {
		opts = append(opts, "ro")
	}
	if d := t.Data(); d != "" {
		opts = append(opts, strings.Split(d, ",")...)
	}
	return opts
}

// defaultNetwork is the network of a container given none: config.toml's choice.
func (r *Runtime) defaultNetwork() string {
	if r.Net.Default != "" {
		return r.Net.Default
	}
	return "bridge"
}

func networkMode(n string) string {
	switch n {
	case "", "default":
		return "bridge"
	case "private":
		return "none"
	}
	return n
}

// checkLimits refuses resource limits the host cannot enforce, rather than ignoring them.
func (r *Runtime) checkLimits(o CreateOptions) error {
	return checkCgroups(limits{memory: o.Memory, nanoCPUs: o.NanoCPUs, pidsLimit: o.PidsLimit}, r.Rootless)
}

// createLayer gives the container its writable layer in the store. A --rootfs container
// has none, and neither does a scratch-layer one (see mountScratch).
func (r *Runtime) createLayer(c *Container, imageID string) error {
	if !c.HasStoreLayer() {
		return nil
	}
	// A --rm container's layer is thrown away when it exits, so, as podman does, it is
	// volatile: its records are written without fsync and its overlay is mounted
	// "volatile", which spares the unmount a sync of the whole filesystem under the store
	// (tens of milliseconds, hundreds when other writers keep the disk busy). After a power
	// loss such a layer may be left over; it was to be removed anyway.
	s, err := r.Store()
	if err != nil {
		return err
	}
	if err := r.Containers.MarkStoreLayers(c.ID); err != nil {
		return err
	}
	if err := s.CreateContainer(c.ID, imageID, c.Host.AutoRemove); err != nil {
		return fmt.Errorf("creating the container: %w", err)
	}
	return nil
}

// deleteLayer undoes createLayer.
func (r *Runtime) deleteLayer(c *Container) {
	if c.HasStoreLayer() {
		if s, err := r.Store(); err == nil && s.DeleteContainer(c.ID) == nil {
			r.Containers.UnmarkStoreLayers(c.ID)
		}
	}
}

// createNamed writes the new container's record under its name, or under a drawn one:
// another sbx may draw the same name at the same moment, so a clash with a drawn name
// just means drawing again. A name held by a container that is gone (its supervisor
// killed, and it was --rm) is released by reconciling that container first.
func (r *Runtime) createNamed(c *Container) error {
	generated := c.Name == ""
	for attempt := 0; ; attempt++ {
		if generated {
			c.Name = randomName()
		}
		holder, err := r.Containers.CreateNamed(c)
		switch {
		case err == nil:
			return nil
		case !errors.Is(err, ErrNameInUse):
			return err
		case generated && attempt < 20:
			continue
		case !generated && attempt == 0:
			if old, lerr := r.Containers.Load(holder); lerr == nil && r.Reconcile(old) == nil {
				continue
			}
		}
		return fmt.Errorf("%w: the container name \"/%s\" is already in use by container %q: remove (or rename) that container to reuse the name", ErrNameInUse, c.Name, holder)
	}
}
