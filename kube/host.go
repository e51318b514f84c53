package kube

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sbx-dev/sbx/image"
	"github.com/sbx-dev/sbx/run"
	"github.com/sbx-dev/sbx/volumes"
)

// Host carries out generate, play and down on one user's containers.
type Host struct {
	Runtime *run.Runtime
	Images  *image.Images
	// Start starts a created container detached; it returns once the command runs.
	Start func(*run.Container) error
	// InfraRoot is the empty directory that is the root of infra containers; Binary is the
	// sbx binary they run.
	InfraRoot, Binary string
}

// Collect finds the pods that refs (container names or IDs, or the names of played pods)
// belong to: every container that shares a network namespace with a named one is in its pod.
func (h *Host) Collect(refs []string) ([]PodInput, error) {
	all, err := h.Runtime.List()
	if err != nil {
		return nil, err
	}
	byID := map[string]*run.Container{}
	byName := map[string]*run.Container{}
	for _, c := range all {
		byID[c.ID], byName[c.Name] = c, c
	}
	root := func(c *run.Container) *run.Container {
		seen := map[string]bool{}
		for !seen[c.ID] {
			seen[c.ID] = true
			id, ok := strings.CutPrefix(c.Host.NetworkMode, "container:")
			if !ok || byID[id] == nil {
				break
			}
			c = byID[id]
		}
		return c
	}
	var roots []*run.Container
	addRoot := func(r *run.Container) {
		for _, o := range roots {
			if o.ID == r.ID {
				return
			}
		}
		roots = append(roots, r)
	}
	for _, ref := range refs {
		c, err := h.Runtime.Find(ref)
		if err == nil {
			addRoot(root(c))
			continue
		}
		if !errors.Is(err, run.ErrNotFound) {
			return nil, err
		}
		found := false
		for _, c := range all {
			if c.Config.Labels[LabelPod] == ref {
				addRoot(root(c))
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("%w: %s (neither a container nor a played pod)", run.ErrNotFound, ref)
		}
	}
	var pods []PodInput
	for _, r := range roots {
		in := PodInput{Root: r, Name: r.Config.Labels[LabelPod], VolumeNames: map[string]string{}, LinkIPs: map[string]string{}}
		if in.Name == "" {
			in.Name = dnsLabel(r.Name) + "-pod"
		}
		var members []*run.Container
		for _, c := range all { // oldest first, so the namespace's owner comes first
			if root(c).ID == r.ID && c.Config.Labels[LabelInfra] != "true" {
				members = append(members, c)
			}
		}
		if len(members) == 0 {
			return nil, fmt.Errorf("pod %s has no containers besides its infra container", in.Name)
		}
		for _, c := range members {
			m, err := h.member(c)
			if err != nil {
				return nil, err
			}
			in.Members = append(in.Members, m)
			for i := range c.Host.Mounts {
				mnt := &c.Host.Mounts[i]
				if mnt.Type != "volume" {
					continue
				}
				v, err := h.Runtime.Volumes.Get(mnt.Name)
				if err != nil {
					continue
				}
				// --volumes-from records another container's anonymous volume as shared,
				// not anonymous; in a pod it is still the same emptyDir.
				mnt.Anonymous = v.Anonymous
				if v.Anonymous && v.Labels[LabelVolume] != "" {
					in.VolumeNames[mnt.Name] = v.Labels[LabelVolume]
				}
			}
			for _, l := range c.Host.Links {
				name, _, _ := strings.Cut(l, ":")
				if t := byName[name]; t != nil {
					in.LinkIPs[name] = linkIP(t, root(t).ID == r.ID)
				}
			}
		}
		pods = append(pods, in)
	}
	return pods, nil
}

func (h *Host) member(c *run.Container) (Member, error) {
	if c.ImageID == "" {
		return Member{}, fmt.Errorf("%s runs a --rootfs directory, and a pod can only name an image", c.Name)
	}
	m := Member{C: c, ImageName: c.Image}
	img, _, err := h.Images.Resolve(c.ImageID)
	if err != nil {
		return m, nil // the image is gone: Generate says what that means
	}
	cfg, err := h.Images.Config(img)
	if err != nil {
		return Member{}, err
	}
	m.Image = &cfg.Config
	// The stored name the user's name resolves to, if it still means this image.
	if byName, name, err := h.Images.Resolve(c.Image); err == nil && byName.ID == c.ImageID && name != "" {
		m.ImageName = name
	}
	return m, nil
}

// linkIP is the address a link target is reached at: loopback inside one pod.
func linkIP(t *run.Container, samePod bool) string {
	if samePod {
		return "127.0.0.1"
	}
	if !t.Running() {
		return ""
	}
	nets := make([]string, 0, len(t.State.Networks))
	for n := range t.State.Networks {
		nets = append(nets, n)
	}
	sort.Strings(nets)
	for _, n := range nets {
		if ip := t.State.Networks[n].IPAddress; ip != "" {
			return ip
		}
	}
	return ""
}

// Play creates and starts the pods, all or nothing: whatever fails, what was made for
// them is removed again. It returns the names of the containers it started.
func (h *Host) Play(pods []*Pod) ([]string, error) {
	var plans []*PodPlan
	for _, p := range pods {
		plans = append(plans, Plan(p, PlanOptions{InfraRoot: h.InfraRoot, Binary: h.Binary, NewVolumeName: volumes.NewAnonymousName}))
	}
	if err := h.check(plans); err != nil {
		return nil, err
	}
	u := &undo{h: h}
	var names []string
	for _, p := range plans {
		started, err := h.playOne(p, u)
		if err != nil {
			u.run()
			return nil, fmt.Errorf("pod %s: %w", p.Name, err)
		}
		names = append(names, started...)
	}
	return names, nil
}

// check refuses, before anything is made, what would fail half way: names in use, images
// not here, bind sources that must exist and do not.
func (h *Host) check(plans []*PodPlan) error {
	if _, err := os.Stat(h.Binary); err != nil {
		return fmt.Errorf("the sbx binary for the infra container: %w", err)
	}
	for _, p := range plans {
		for _, o := range append([]run.CreateOptions{p.Infra}, p.Containers...) {
			if c, err := h.Runtime.Find(o.Name); err == nil {
				return fmt.Errorf("%w: pod %s: the container name %q is already in use by container %s: `sbx kube down` the file, or remove that container", run.ErrNameInUse, p.Name, o.Name, c.ShortID())
			}
			if o.Image == "" {
				continue
			}
			if _, _, err := h.Images.Resolve(o.Image); err != nil {
				if errors.Is(err, image.ErrNotFound) {
					return fmt.Errorf("pod %s: container %s: unable to find image '%s' locally: load, import or pull it first", p.Name, o.Labels[LabelContainer], o.Image)
				}
				return err
			}
		}
		for _, hp := range p.HostPaths {
			st, err := os.Stat(hp.Path)
			switch {
			case err != nil && !os.IsNotExist(err):
				return fmt.Errorf("pod %s: hostPath %s: %w", p.Name, hp.Path, err)
			case err != nil && (hp.Type == HostPathDirectory || hp.Type == HostPathFile):
				return fmt.Errorf("pod %s: hostPath %s does not exist (type %s)", p.Name, hp.Path, hp.Type)
			case err == nil && hp.Type == HostPathDirectory && !st.IsDir():
				return fmt.Errorf("pod %s: hostPath %s is not a directory (type Directory)", p.Name, hp.Path)
			case err == nil && hp.Type == HostPathFile && !st.Mode().IsRegular():
				return fmt.Errorf("pod %s: hostPath %s is not a file (type File)", p.Name, hp.Path)
			case err == nil && hp.Type == HostPathDirectoryOrCreate && !st.IsDir():
				return fmt.Errorf("pod %s: hostPath %s is not a directory (type DirectoryOrCreate)", p.Name, hp.Path)
			}
		}
	}
	return nil
}

func (h *Host) playOne(p *PodPlan, u *undo) ([]string, error) {
	rt := h.Runtime
	for _, hp := range p.HostPaths {
		if err := u.mkdirAll(hp.Path); err != nil {
			return nil, fmt.Errorf("creating hostPath %s: %w", hp.Path, err)
		}
	}
	for i := range p.Containers {
		for j := range p.Containers[i].Binds {
			b := &p.Containers[i].Binds[j]
			if st, err := os.Stat(b.Source); err == nil {
				b.File = !st.IsDir()
			}
		}
	}
	for _, e := range p.EmptyDirs {
		if _, _, err := rt.Volumes.Ensure(e.Volume, map[string]string{LabelPod: p.Name, LabelVolume: e.Name}, true); err != nil {
			return nil, err
		}
		u.volumes = append(u.volumes, e.Volume)
	}
	// Claims name volumes that may not exist yet: made here, so that a failure removes them.
	for _, o := range p.Containers {
		for _, v := range o.Volumes {
			if _, err := rt.Volumes.Get(v.Name); errors.Is(err, volumes.ErrNotFound) {
				if _, isNew, err := rt.Volumes.Ensure(v.Name, nil, false); err != nil {
					return nil, err
				} else if isNew {
					u.volumes = append(u.volumes, v.Name)
				}
			}
		}
	}
	infra, err := rt.Create(p.Infra)
	if err != nil {
		return nil, fmt.Errorf("the infra container: %w", err)
	}
	u.containers = append(u.containers, infra.ID)
	var ctrs []*run.Container
	for _, o := range p.Containers {
		c, err := rt.Create(o)
		if err != nil {
			return nil, fmt.Errorf("container %s: %w", o.Labels[LabelContainer], err)
		}
		u.containers = append(u.containers, c.ID)
		ctrs = append(ctrs, c)
	}
	if err := h.Start(infra); err != nil {
		return nil, fmt.Errorf("the infra container: %w", err)
	}
	var names []string
	for _, c := range ctrs {
		if err := h.Start(c); err != nil {
			return nil, fmt.Errorf("container %s: %w", c.Config.Labels[LabelContainer], err)
		}
		names = append(names, c.Name)
	}
	return names, nil
}

// undo removes what a failed play made, newest first.
type undo struct {
	h          *Host
	containers []string
	volumes    []string
	dirs       []string
}

func (u *undo) mkdirAll(dir string) error {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || d == "/" {
			break
		}
		missing = append(missing, d)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(missing[i], 0o755); err != nil && !os.IsExist(err) {
			return err
		}
		u.dirs = append(u.dirs, missing[i])
	}
	return nil
}

func (u *undo) run() {
	rt := u.h.Runtime
	for i := len(u.containers) - 1; i >= 0; i-- {
		if c, err := rt.Containers.Load(u.containers[i]); err == nil {
			rt.Remove(c, true, true)
		}
	}
	for _, v := range u.volumes {
		rt.Volumes.Remove(v, nil)
	}
	for i := len(u.dirs) - 1; i >= 0; i-- {
		os.Remove(u.dirs[i]) // only if still empty
	}
}

// Down stops and removes the containers of the named pods, then their emptyDir volumes.
// grace overrides the containers' stop timeouts. It returns the names of the removed
// containers.
func (h *Host) Down(pods []string, grace *time.Duration) ([]string, error) {
	rt := h.Runtime
	all, err := rt.List()
	if err != nil {
		return nil, err
	}
	var removed, errs []string
	for _, pod := range pods {
		var ctrs, infras []*run.Container
		for _, c := range all {
			switch {
			case c.Config.Labels[LabelPod] != pod:
			case c.Config.Labels[LabelInfra] == "true":
				infras = append(infras, c)
			default:
				ctrs = append(ctrs, c)
			}
		}
		if len(ctrs)+len(infras) == 0 {
			errs = append(errs, fmt.Sprintf("no pod %s: nothing to remove", pod))
			continue
		}
		// The pod's containers stop together, as a pod's do, and before the namespace's owner.
		stopAll(rt, ctrs, grace)
		stopAll(rt, infras, grace)
		for _, c := range append(ctrs, infras...) {
			c, err := rt.Containers.Load(c.ID)
			if err != nil {
				continue // gone already (--rm)
			}
			if err := rt.Remove(c, true, true); err != nil {
				errs = append(errs, fmt.Sprintf("removing %s: %v", c.Name, err))
				continue
			}
			removed = append(removed, c.Name)
		}
		vols, err := rt.Volumes.List()
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		for _, v := range vols {
			if v.Labels[LabelPod] != pod {
				continue
			}
			users, err := rt.VolumeUsers(v.Name, "")
			if err == nil {
				err = rt.Volumes.Remove(v.Name, users)
			}
			if err != nil && !errors.Is(err, volumes.ErrNotFound) {
				errs = append(errs, err.Error())
			}
		}
	}
	if len(errs) > 0 {
		return removed, errors.New(strings.Join(errs, "; "))
	}
	return removed, nil
}

func stopAll(rt *run.Runtime, cs []*run.Container, grace *time.Duration) {
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rt.Stop(c, "", grace)
		}()
	}
	wg.Wait()
}
