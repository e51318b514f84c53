package run

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"syscall"

	"github.com/sbx-dev/sbx/volumes"
)

// addVolumes resolves a new container's mounts in docker's order of precedence: the user's
// binds and volumes, then --volumes-from, then the image's VOLUMEs as anonymous volumes,
// each destination mounted once.
func (r *Runtime) addVolumes(c *Container, o CreateOptions) error {
	taken := map[string]bool{}
	add := func(m Mount) {
		if !taken[m.Destination] {
			taken[m.Destination] = true
			c.Host.Mounts = append(c.Host.Mounts, m)
		}
	}
	for _, m := range o.Binds {
		add(m)
	}
	for _, t := range o.Tmpfs {
		taken[t.Dest] = true
	}
	var created []string
	undo := func() {
		for _, name := range created {
			r.Volumes.Remove(name, nil)
		}
	}
	for _, sp := range o.Volumes {
		m, isNew, err := r.volumeMount(sp.Name, sp.Destination, !sp.ReadOnly)
		if err != nil {
			undo()
			return err
		}
		if isNew && m.Anonymous {
			created = append(created, m.Name)
		}
		add(m)
	}
	for _, ref := range o.VolumesFrom {
		name, mode, _ := strings.Cut(ref, ":")
		if mode != "" && mode != "ro" && mode != "rw" {
			undo()
			return fmt.Errorf("invalid --volumes-from %q: the mode must be ro or rw", ref)
		}
		src, err := r.Find(name)
		if err != nil {
			undo()
			return fmt.Errorf("--volumes-from %s: %w", name, err)
		}
		for _, m := range src.Host.Mounts {
			if m.Type != "volume" && m.Type != "bind" {
				continue
			}
			// The mounts are shared, not inherited: they stay the source container's to remove.
			m.Anonymous = false
			switch mode {
			case "ro":
				m.RW, m.Mode = false, "ro"
			case "rw":
				m.RW, m.Mode = true, "rw"
			}
			add(m)
		}
	}
	for _, dest := range c.Config.Volumes {
		if taken[dest] {
			continue
		}
		m, _, err := r.volumeMount("", dest, true)
		if err != nil {
			undo()
			return err
		}
		created = append(created, m.Name)
		add(m)
	}
	return nil
}

// volumeMount gets (or, for "" or a new name, creates) a volume and describes its mount.
func (r *Runtime) volumeMount(name, dest string, rw bool) (Mount, bool, error) {
	anonymous := name == ""
	if anonymous {
		name = volumes.NewAnonymousName()
	}
	v, isNew, err := r.Volumes.Ensure(name, nil, anonymous)
	if err != nil {
		return Mount{}, false, err
	}
	mode := "rw"
	if !rw {
		mode = "ro"
	}
	return Mount{Type: "volume", Name: v.Name, Source: v.Mountpoint, Destination: dest, RW: rw, Mode: mode,
		CopyUp: true, Anonymous: v.Anonymous}, isNew, nil
}

// VolumeUsers lists the containers whose mounts use volume name.
func (r *Runtime) VolumeUsers(name string, except string) ([]string, error) {
	all, err := r.Containers.List()
	if err != nil {
		return nil, err
	}
	var users []string
	for _, c := range all {
		if c.ID == except {
			continue
		}
		for _, m := range c.Host.Mounts {
			if m.Type == "volume" && m.Name == name {
				users = append(users, c.Name)
				break
			}
		}
	}
	return users, nil
}

// removeAnonymousVolumes deletes c's anonymous volumes that no other container uses.
func (r *Runtime) removeAnonymousVolumes(c *Container) {
	for _, m := range c.Host.Mounts {
		if m.Type != "volume" || !m.Anonymous {
			continue
		}
		if users, err := r.VolumeUsers(m.Name, c.ID); err == nil && len(users) == 0 {
			r.Volumes.Remove(m.Name, nil)
		}
	}
}

// copyUp fills empty volumes with the image's content at their destination, before the
// container first sees them, as docker does.
func copyUp(c *Container, rootfs string) error {
	for _, m := range c.Host.Mounts {
		if !m.CopyUp {
			continue
		}
		if empty, err := dirEmpty(m.Source); err != nil || !empty {
			continue
		}
		src, err := securejoin.SecureJoin(rootfs, m.Destination)
		if err != nil {
			continue
		}
		st, err := os.Lstat(src)
		if err != nil || !st.IsDir() {
			continue
		}
		if err := copyTree(src, m.Source); err != nil {
			return fmt.Errorf("copying the image's %s into its volume: %w", m.Destination, err)
		}
		// Owner and mode of the mount point come from the image's directory.
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			os.Lchown(m.Source, int(sys.Uid), int(sys.Gid))
		}
		os.Chmod(m.Source, st.Mode().Perm())
	}
	return nil
}

func dirEmpty(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return false, err
}

// copyTree copies a directory tree with owners, modes and symlinks (this process is root
// of the user namespace, so every owner in the image can be kept).
func copyTree(src, dst string) error {
	return filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel == "." {
			return nil
		}
		target := filepath.Join(dst, rel)
		st := fi.Sys().(*syscall.Stat_t)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := os.Symlink(link, target); err != nil {
				return err
			}
		case fi.IsDir():
			if err := os.Mkdir(target, fi.Mode().Perm()); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			if err := copyFile(p, target, fi.Mode().Perm()); err != nil {
				return err
			}
		default:
			return nil // devices, fifos, sockets: not copied into volumes
		}
		os.Lchown(target, int(st.Uid), int(st.Gid))
		if fi.Mode()&os.ModeSymlink == 0 {
			os.Chmod(target, fi.Mode()&(os.ModePerm|os.ModeSetuid|os.ModeSetgid|os.ModeSticky))
		}
		return nil
	})
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
