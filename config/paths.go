package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
)

// Env is everything ResolvePaths looks at. Callers fill it from the real
// process; tests fill it by hand, which is why nothing here is read
// implicitly.
type Env struct {
	UID int
	// Getenv looks up an environment variable; nil means an empty
	// environment.
	Getenv func(string) string
	// PasswdHome is the home directory /etc/passwd gives for UID, "" if none.
	// It is the fallback for when HOME is unset or points somewhere unusable,
	// as in test harnesses that set HOME=/no-home.
	PasswdHome string
	// DirUsable reports whether path exists as a directory owned by UID (or
	// writable for it). nil means no directory is usable.
	DirUsable func(path string) bool
}

// Paths is where sbx keeps things. See the package documentation for how
// each field is chosen.
type Paths struct {
	Rootless bool
	// DataDir holds images, layers and volumes.
	DataDir string
	// RuntimeDir holds locks, container runtime state and sockets.
	RuntimeDir string
	// ConfigFiles are the files Load must apply, in order: system first,
	// user last.
	ConfigFiles []string
}

// SystemConfigFile is the machine-wide configuration file.
const SystemConfigFile = "/etc/sbx/config.toml"

// ResolvePaths picks sbx's directories and configuration files from e, in
// the order documented in the package comment.
func ResolvePaths(e Env) (Paths, error) {
	getenv := e.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	usable := func(dir string) bool {
		return e.DirUsable != nil && dir != "" && e.DirUsable(dir)
	}
	// HOME is only trusted when it is a real directory of ours: harnesses
	// and sudo-like tools often leave it pointing at a placeholder or at
	// another user's home.
	home := getenv("HOME")
	if !filepath.IsAbs(home) || !usable(home) {
		home = ""
	}
	passwdHome := e.PasswdHome
	if !filepath.IsAbs(passwdHome) || !usable(passwdHome) {
		passwdHome = ""
	}
	// xdgDir returns $name if it is absolute; the XDG spec says relative
	// values must be ignored.
	xdgDir := func(name string) string {
		if v := getenv(name); filepath.IsAbs(v) {
			return v
		}
		return ""
	}

	p := Paths{Rootless: e.UID != 0}

	configFiles, err := resolveConfigFiles(getenv, xdgDir, home, passwdHome)
	if err != nil {
		return Paths{}, err
	}
	p.ConfigFiles = configFiles

	if root := getenv("SBX_ROOT"); root != "" {
		if !filepath.IsAbs(root) {
			return Paths{}, fmt.Errorf("SBX_ROOT must be an absolute path, got %q", root)
		}
		p.DataDir = filepath.Join(root, "data")
		p.RuntimeDir = filepath.Join(root, "run")
		return p, nil
	}

	if !p.Rootless {
		p.DataDir = "/var/lib/sbx"
		p.RuntimeDir = "/run/sbx"
		return p, nil
	}

	switch {
	case xdgDir("XDG_DATA_HOME") != "":
		p.DataDir = filepath.Join(xdgDir("XDG_DATA_HOME"), "sbx")
	case home != "":
		p.DataDir = filepath.Join(home, ".local", "share", "sbx")
	case passwdHome != "":
		p.DataDir = filepath.Join(passwdHome, ".local", "share", "sbx")
	default:
		return Paths{}, errors.New("cannot find a place for the image store: set SBX_ROOT or XDG_DATA_HOME to a writable directory")
	}

	// The runtime dir holds sockets and locks, so it must be on a local
	// filesystem private to the user; that is why it never falls back to
	// the home directory (which may be NFS) but to TMPDIR.
	uid := strconv.Itoa(e.UID)
	runUser := filepath.Join("/run/user", uid)
	switch xrd := xdgDir("XDG_RUNTIME_DIR"); {
	case xrd != "" && usable(xrd):
		p.RuntimeDir = filepath.Join(xrd, "sbx")
	case usable(runUser):
		p.RuntimeDir = filepath.Join(runUser, "sbx")
	default:
		tmp := getenv("TMPDIR")
		if !filepath.IsAbs(tmp) {
			tmp = "/tmp"
		}
		p.RuntimeDir = filepath.Join(tmp, "sbx-"+uid)
	}
	return p, nil
}

func resolveConfigFiles(getenv, xdgDir func(string) string, home, passwdHome string) ([]string, error) {
	if f := getenv("SBX_CONFIG"); f != "" {
		if !filepath.IsAbs(f) {
			return nil, fmt.Errorf("SBX_CONFIG must be an absolute path, got %q", f)
		}
		return []string{f}, nil
	}
	files := []string{SystemConfigFile}
	switch {
	case xdgDir("XDG_CONFIG_HOME") != "":
		files = append(files, filepath.Join(xdgDir("XDG_CONFIG_HOME"), "sbx", "config.toml"))
	case home != "":
		files = append(files, filepath.Join(home, ".config", "sbx", "config.toml"))
	case passwdHome != "":
		files = append(files, filepath.Join(passwdHome, ".config", "sbx", "config.toml"))
	}
	return files, nil
}
