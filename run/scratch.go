package run

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// A scratch layer is a container's writable layer on native overlay: a directory of the
// container's own (DATA/containers/ID/layer) over the image's layers, which stay in the
// store. A layer in the store costs every container several milliseconds of the store's
// bookkeeping (its JSON records rewritten under locks when the layer is made, mounted,
// unmounted and deleted); a plain directory is made, mounted and removed in a fraction of
// that. Nothing needs a container's layer to be in the store: it goes with the container's
// record and directory, a restart mounts it again, and an image a container uses is kept
// because `sbx rmi` asks sbx's records (image.Images.UsedBy).

// maxOverlayData is what mount(2) takes as options: one page, with room to spare.
const maxOverlayData = 4000

// scratchLower returns the image layers of imageID as overlay lowerdir, top first: as
// this process found them when it resolved the image (knownImage), as KnownImages has
// them, or from the store.
func (r *Runtime) scratchLower(imageID string) (string, error) {
	if l, ok := r.lowers.Load(imageID); ok {
		return l.(string), nil
	}
	if r.KnownImages != nil {
		if l, ok := r.KnownImages.LowerOf(imageID); ok {
			return l, nil
		}
	}
	s, err := r.Store()
	if err != nil {
		return "", err
	}
	return s.LowerDirs(imageID)
}

// scratchLowerFor returns the lowerdir of a new container from imageID, and ok when it can
// have a scratch layer: native overlay, and image layers whose paths fit in the mount
// options (the store's own mounts shorten them through links; a scratch layer does not,
// so a very deep image takes a store layer).
func (r *Runtime) scratchLowerFor(imageID string) (lower string, ok bool) {
	if !r.ScratchLayers {
		return "", false
	}
	if s, err := r.Store(); err != nil || s.Driver() != "overlay" {
		return "", false
	}
	lower, err := r.scratchLower(imageID)
	// The upper, work and merged directories' paths come on top, each about as long as
	// this one.
	own := len(r.Containers.Path(strings.Repeat("0", 64), "layer/upper"))
	if err != nil || len(lower)+3*own >= maxOverlayData {
		return "", false
	}
	return lower, true
}

// mountScratch makes the container's scratch layer and mounts its root filesystem.
func (r *Runtime) mountScratch(c *Container) (string, error) {
	lower, err := r.scratchLower(c.ImageID)
	if err != nil {
		return "", fmt.Errorf("the image's layers: %w", err)
	}
	dir := r.Containers.Path(c.ID, "layer")
	upper, work, merged := filepath.Join(dir, "upper"), filepath.Join(dir, "work"), filepath.Join(dir, "merged")
	// The container's / is the upper directory's: it keeps the image's mode and owner, as
	// a layer the store makes does.
	var st unix.Stat_t
	top, _, _ := strings.Cut(lower, ":")
	if err := unix.Stat(top, &st); err != nil {
		return "", err
	}
	for _, d := range []string{dir, work, merged} {
		if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return "", err
		}
	}
	if err := os.Mkdir(upper, os.FileMode(st.Mode&0o7777)); err != nil && !errors.Is(err, os.ErrExist) {
		return "", err
	}
	if err := unix.Chmod(upper, st.Mode&0o7777); err != nil {
		return "", err
	}
	if err := unix.Lchown(upper, int(st.Uid), int(st.Gid)); err != nil {
		return "", err
	}
	data := "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work
	if r.Rootless {
		// Mounted in a user namespace: overlay keeps its own attributes in user.* xattrs,
		// as the store's mounts do there.
		data += ",userxattr"
	}
	if c.Host.AutoRemove {
		// volatile: the layer is thrown away at exit, so nothing needs syncing (see
		// createLayer). A layer that is kept is not volatile: after a crash overlay
		// refuses to mount a volatile one again.
		err = unix.Mount("overlay", merged, "overlay", 0, data+",volatile")
	}
	if !c.Host.AutoRemove || errors.Is(err, syscall.EINVAL) {
		err = unix.Mount("overlay", merged, "overlay", 0, data) // kept, or a kernel before 5.10
	}
	if err != nil {
		return "", fmt.Errorf("mounting overlay: %w", err)
	}
	return merged, nil
}

// unmountScratch undoes the mount; the directory goes with the container's record.
func (r *Runtime) unmountScratch(c *Container) {
	merged := r.Containers.Path(c.ID, "layer/merged")
	if err := unix.Unmount(merged, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		r.Logger.Debug("unmounting the scratch layer", "id", c.ID, "err", err)
	}
}

// canOpenTree says whether the kernel has open_tree (Linux 5.2): without it the init
// cannot be given a root filesystem mounted after its start.
var canOpenTree = sync.OnceValue(func() bool {
	fd, err := unix.OpenTree(unix.AT_FDCWD, "/", unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
})

// openTree clones the mount tree at path, the container's root filesystem, as a detached
// mount (open_tree(2)): the init, whose mount namespace was made before the root
// filesystem was mounted, attaches it at the same path (move_mount(2)).
func openTree(path string) (*os.File, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, path, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "rootfs-tree"), nil
}
