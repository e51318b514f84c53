// Package cli defines sbx's commands (urfave/cli/v2) with docker's names and flags. It runs
// host side: it resolves paths and config, enters the user's holder namespaces when a command
// needs the store, and calls into the packages that do the work. Commands write their
// output to the app's writers and return errors; main turns errors into the one-line message
// and the exit status.
package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/sbx-dev/sbx/config"
	"github.com/sbx-dev/sbx/image"
	"github.com/sbx-dev/sbx/image/transferjob"
	"github.com/sbx-dev/sbx/run"
	"github.com/sbx-dev/sbx/state"
	"github.com/sbx-dev/sbx/storage"
	"github.com/sbx-dev/sbx/userns"
)

// Options is what main hands the app.
type Options struct {
	Version string
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	// HolderRef is this process's reference on the holder namespaces (nil outside them).
	HolderRef *os.File
}

// env is the per-invocation context shared by commands, built lazily: `sbx version` must not
// read config or touch the store.
type env struct {
	opts   Options
	logger *slog.Logger
	debug  bool // --debug: child programs log too

	paths       *config.Paths
	cfg         config.Config
	configFiles []string
	store       storage.Store
	// early is the init of the container a foreground `sbx run` creates, started before
	// the command line was parsed (see prestart); the run action takes it or ends it.
	early *run.EarlyInit
}

func (e *env) resolve() error {
	if e.paths != nil {
		return nil
	}
	uid := os.Getuid()
	if userns.Inside() {
		// Inside the holder we appear as root; the paths belong to the real user.
		if v := os.Getenv("_CONTAINERS_ROOTLESS_UID"); v != "" {
			uid, _ = strconv.Atoi(v)
		}
	}
	home := ""
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		home = u.HomeDir
	}
	p, err := config.ResolvePaths(config.Env{
		UID:        uid,
		Getenv:     os.Getenv,
		PasswdHome: home,
		DirUsable:  func(path string) bool { return dirUsable(path, uid) },
	})
	if err != nil {
		return err
	}
	cfg, files, err := config.Load(p.ConfigFiles)
	if err != nil {
		return err
	}
	e.paths, e.cfg, e.configFiles = &p, cfg, files
	return nil
}

// dirUsable: the directory exists and is the user's own or writable by them. Checked with
// stat and access(2) rather than by writing, so probing never creates anything.
func dirUsable(path string, uid int) bool {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return false
	}
	if int(st.Uid) == uid {
		return true
	}
	return unix.Access(path, unix.W_OK|unix.X_OK) == nil
}

// enter moves this process into the user's holder namespaces (re-executing sbx; it does not
// return on success) unless it already runs there.
func (e *env) enter() error {
	if err := e.resolve(); err != nil {
		return err
	}
	if userns.Inside() {
		return nil
	}
	return userns.Enter(userns.Options{
		RuntimeDir: e.paths.RuntimeDir,
		TmpfsDir:   filepath.Join(e.paths.RuntimeDir, "holder-run"),
		Rootless:   e.paths.Rootless,
		Logger:     e.logger,
	})
}

// openStore enters the namespaces and opens the layer store.
func (e *env) openStore() (storage.Store, error) {
	if e.store != nil {
		return e.store, nil
	}
	o, err := e.storeOptions()
	if err != nil {
		return nil, err
	}
	s, err := storage.Open(o)
	if err != nil {
		return nil, err
	}
	e.store = s
	return s, nil
}

// storeOptions enters the namespaces and says how to open the layer store.
func (e *env) storeOptions() (storage.Options, error) {
	if err := e.enter(); err != nil {
		return storage.Options{}, err
	}
	graph := filepath.Join(e.paths.DataDir, "storage")
	if e.cfg.Storage.Root != "" {
		graph = e.cfg.Storage.Root
	}
	return storage.Options{
		GraphRoot:    graph,
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
	if e.store != nil {
		e.store.Shutdown(false)
		e.store = nil
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

// programDir is where the programs sbx carries are written to be executed (see progfile).
func (e *env) programDir() string { return filepath.Join(e.paths.RuntimeDir, "init") }

// knownImagesPath is the file of image.KnownImages, kept until reboot like the store's run
// root.
func (e *env) knownImagesPath() string { return filepath.Join(e.paths.RuntimeDir, "known-images.json") }

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
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
