//go:build !sbx_lite

package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sbx-dev/sbx/image"
	"github.com/sbx-dev/sbx/image/transferjob"
	"github.com/sbx-dev/sbx/run"
	"github.com/sbx-dev/sbx/run/layers"
	"github.com/sbx-dev/sbx/state"
	"github.com/sbx-dev/sbx/storage"
	"github.com/sbx-dev/sbx/userns"
)

// storeState is the layer store an invocation opened (at most one).
type storeState struct{ store storage.Store }

// openStore enters the namespaces and opens the layer store.
func (e *env) openStore() (storage.Store, error) {
	if e.stores.store != nil {
		return e.stores.store, nil
	}
	o, err := e.storeOptions()
	if err != nil {
		return nil, err
	}
	s, err := storage.Open(o)
	if err != nil {
		return nil, err
	}
	e.stores.store = s
	return s, nil
}

// storeOptions enters the namespaces and says how to open the layer store.
func (e *env) storeOptions() (storage.Options, error) {
	if err := e.enter(); err != nil {
		return storage.Options{}, err
	}
	return storage.Options{
		GraphRoot:    e.graphRoot(),
		RunRoot:      filepath.Join(e.paths.RuntimeDir, "holder-run", "storage"),
		Driver:       e.cfg.Storage.Driver,
		MountProgram: e.cfg.Storage.MountProgram,
		FeatureCache: filepath.Join(e.paths.RuntimeDir, "storage-features"),
		SingleID:     e.paths.Rootless && singleIDMapped(),
		Logger:       e.logger,
	}, nil
}

// singleIDMapped reports whether this user namespace maps just one id (no subuid range).
func singleIDMapped() bool {
	m, err := userns.ReadMap("/proc/self/uid_map")
	return err == nil && len(m) == 1 && m[0].Count == 1
}

func (e *env) close() {
	if e.stores.store != nil {
		e.stores.store.Shutdown(false)
		e.stores.store = nil
	}
}

// tmpDir is scratch space on the store's filesystem, for archives being unpacked.
func (e *env) tmpDir() (string, error) {
	d := filepath.Join(e.paths.DataDir, "tmp")
	if err := os.MkdirAll(d, 0o700); err != nil {
		return "", fmt.Errorf("creating %s: %w", d, err)
	}
	return d, nil
}

// images returns the image service on the opened store.
func (e *env) images() (*image.Images, error) {
	s, err := e.openStore()
	if err != nil {
		return nil, err
	}
	m := &image.Images{Store: s}
	m.LayerLock = func() (func(), error) {
		l, err := state.LockFile(e.layerLockPath())
		if err != nil {
			return nil, err
		}
		return l.Unlock, nil
	}
	return m, nil
}

// layerLockPath is the lock that writers of new image layers take (see image.Images).
func (e *env) layerLockPath() string { return filepath.Join(e.paths.DataDir, "layers.lock") }

// transfer runs an image load, import, pull or save (see transferjob). quiet suppresses
// the progress, which goes to a terminal only.
func (e *env) transfer(ctx context.Context, req transferjob.Request, quiet bool) ([]transferjob.Loaded, error) {
	o, err := e.storeOptions()
	if err != nil {
		return nil, err
	}
	tmp, err := e.tmpDir()
	if err != nil {
		return nil, err
	}
	req.Store = o
	req.LayerLock = e.layerLockPath()
	req.BlobInfoCacheDir = filepath.Join(e.paths.DataDir, "cache")
	req.TmpDir = tmp
	req.AuthFile = authFile()
	req.Progress = !quiet && isTerminal(e.opts.Stderr)
	req.Debug = e.debug
	stdio := transferjob.Stdio{In: e.opts.Stdin, Out: e.opts.Stdout, Err: e.opts.Stderr}
	return transferjob.Run(ctx, req, stdio, e.programDir())
}

// openLayers opens the layer store for the container runtime (run.Runtime.OpenStore).
func (e *env) openLayers() (run.Layers, error) {
	m, err := e.images()
	if err != nil {
		return nil, err
	}
	return &layers.Store{Images: m}, nil
}

// authFile picks the registry credentials file: $REGISTRY_AUTH_FILE (podman's variable),
// then $DOCKER_CONFIG/config.json (docker's); "" lets the image library search its usual
// places ($XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json, ...).
func authFile() string {
	if f := os.Getenv("REGISTRY_AUTH_FILE"); f != "" {
		return f
	}
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return filepath.Join(d, "config.json")
	}
	return ""
}

// serves says whether this program runs the command args itself: the full program runs
// them all (see lite.go for the lite one).
func (e *env) serves(args []string) bool { return true }

// handover is the lite program's (see lite.go); the full program never hands over.
func (e *env) handover(args []string) error { return nil }
