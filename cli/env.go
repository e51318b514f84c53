// Package cli defines sbx's commands (urfave/cli/v2) with docker's names and flags. It runs
// host side: it resolves paths and config, enters the user's holder namespaces when a command
// needs the store, and calls into the packages that do the work. Commands write their
// output to the app's writers and return errors; main turns errors into the one-line message
// and the exit status.
package cli

import (
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/sbx-dev/sbx/config"
	"github.com/sbx-dev/sbx/run"
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
	stores      storeState // the opened layer store, in the programs that link it (store.go)
	// early is the init of the container a foreground `sbx run` creates, started before
	// the command line was parsed (see prestart); the run action takes it or ends it.
	early *run.EarlyInit
	// caught catches the signals that run forwards, from prestart on (nil: not begun).
	caught *run.SignalCatch
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

// programDir is where the programs sbx carries are written to be executed (see progfile).
func (e *env) programDir() string { return filepath.Join(e.paths.RuntimeDir, "init") }

// graphRoot is where the layer store keeps its images and layers.
func (e *env) graphRoot() string {
	if e.cfg.Storage.Root != "" {
		return e.cfg.Storage.Root
	}
	return filepath.Join(e.paths.DataDir, "storage")
}

// knownImagesPath is the file of meta.KnownImages, kept until reboot like the store's run
// root.
func (e *env) knownImagesPath() string { return filepath.Join(e.paths.RuntimeDir, "known-images.json") }

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
