// Package storage opens sbx's layer store (go.podman.io/storage) with the driver and paths
// sbx's config picks. It runs inside the holder's namespaces (package userns): the store's
// mounts live in the holder's mount namespace and its run root on the holder's tmpfs, so
// they all vanish together when the last sbx process of the user exits.
package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	cstorage "go.podman.io/storage"
	drivers "go.podman.io/storage/drivers"
	"go.podman.io/storage/types"
)

// Options says where the store lives and which driver it uses.
type Options struct {
	GraphRoot    string // layers and images (persistent)
	RunRoot      string // mount bookkeeping (the holder's tmpfs)
	Driver       string // "overlay", "vfs" or "fuse-overlayfs"
	MountProgram string // fuse-overlayfs binary, for Driver "fuse-overlayfs"
	// FeatureCache is a host directory that keeps the driver's kernel feature probes until
	// reboot (see features.go); "" probes at every open.
	FeatureCache string
	// SingleID says the user namespace maps only the user's own id, so files of other
	// owners in layers cannot be chowned: they are kept as the user instead.
	SingleID bool
	Logger   *slog.Logger `json:"-"`
}

// Store is the layer store; callers must Shutdown it.
type Store = cstorage.Store

// Open opens the store, falling back from native overlay to vfs when the kernel or the
// filesystem under GraphRoot cannot do overlay in a user namespace.
func Open(o Options) (Store, error) {
	// Keep podman's storage.conf (system or the user's) from silently changing sbx's store.
	os.Setenv("CONTAINERS_STORAGE_CONF", os.DevNull)
	if err := os.MkdirAll(o.GraphRoot, 0o700); err != nil {
		return nil, fmt.Errorf("creating image store %s: %w", o.GraphRoot, err)
	}
	if err := os.MkdirAll(o.RunRoot, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", o.RunRoot, err)
	}
	driver, driverOpts := o.Driver, []string(nil)
	switch o.Driver {
	case "fuse-overlayfs":
		driver = "overlay"
		driverOpts = append(driverOpts, "overlay.mount_program="+o.MountProgram)
	case "overlay":
		// A store first created with vfs (after an overlay failure) stays vfs: switching
		// drivers would hide every image already stored.
		if _, err := os.Stat(filepath.Join(o.GraphRoot, "vfs")); err == nil {
			if _, err := os.Stat(filepath.Join(o.GraphRoot, "overlay")); err != nil {
				driver = "vfs"
			}
		}
	}
	if o.SingleID {
		driverOpts = append(driverOpts, driver+".ignore_chown_errors=true")
	}
	if driver == "overlay" {
		// The store would bind-mount its overlay directory onto itself (to make it a
		// private mount) when it opens, and unmount it when it shuts down, in every sbx
		// process. The holder's mount namespace is a slave of the host's already, so
		// nothing needs it, and a container mounting its scratch layer (package run)
		// while another process takes that mount down gets EINVAL from overlay.
		driverOpts = append(driverOpts, "overlay.skip_mount_home=true")
	}
	opts := types.StoreOptions{
		GraphRoot:          o.GraphRoot,
		RunRoot:            o.RunRoot,
		GraphDriverName:    driver,
		GraphDriverOptions: driverOpts,
	}
	// The driver's run directory is RunRoot/<driver>: where it looks for its feature records.
	runhome := filepath.Join(o.RunRoot, driver)
	cache := featureCache(o.FeatureCache, o, driver, driverOpts)
	if cache != "" {
		copyFeatures(cache, runhome)
	}
	s, err := cstorage.GetStore(opts)
	if err == nil && cache != "" {
		if _, serr := os.Stat(cache); serr != nil {
			forgetOtherBoots(cache)
		}
		copyFeatures(runhome, cache)
		// Some probes run only when first needed (idmapped lower layers: at the first
		// container's mount); the rest are saved when the store is shut down.
		s = &cachingStore{Store: s, runhome: runhome, cache: cache}
	}
	if err != nil && o.Driver == "overlay" && driver == "overlay" && isNotSupported(err) {
		o.Logger.Warn("overlay is not supported here; using the vfs driver", "err", err)
		fmt.Fprintf(os.Stderr, "sbx: warning: native overlayfs does not work under %s (%v); using the slower vfs driver\n", o.GraphRoot, err)
		os.RemoveAll(filepath.Join(o.GraphRoot, "overlay"))
		opts.GraphDriverName = "vfs"
		opts.GraphDriverOptions = nil
		if o.SingleID {
			opts.GraphDriverOptions = []string{"vfs.ignore_chown_errors=true"}
		}
		s, err = cstorage.GetStore(opts)
	}
	if err != nil {
		return nil, fmt.Errorf("opening the image store %s: %w", o.GraphRoot, err)
	}
	return s, nil
}

func isNotSupported(err error) bool {
	return errors.Is(err, drivers.ErrNotSupported) || errors.Is(err, drivers.ErrIncompatibleFS) ||
		errors.Is(err, drivers.ErrPrerequisites)
}

// cachingStore saves the feature records probed while it was open when it shuts down.
type cachingStore struct {
	cstorage.Store
	runhome, cache string
}

func (s *cachingStore) Shutdown(force bool) ([]string, error) {
	copyFeatures(s.runhome, s.cache)
	return s.Store.Shutdown(force)
}
