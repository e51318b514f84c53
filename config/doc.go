// Package config owns sbx's configuration files and the directories sbx
// keeps its state in. It is pure host-side code: it takes everything it
// needs (uid, environment, passwd home, a directory probe) as explicit input
// and never touches process-wide state, so the same rules can be evaluated in
// tests and in any process that needs to agree on where things live.
//
// # Directories
//
// sbx uses two directories: a data directory (images, layers, volumes) and a
// runtime directory (locks, container runtime state, sockets). They are
// chosen as follows; the first rule that applies wins.
//
// Data directory:
//
//  1. $SBX_ROOT/data if SBX_ROOT is set (root and rootless alike; it must be
//     an absolute path).
//  2. /var/lib/sbx when running as root.
//  3. $XDG_DATA_HOME/sbx if XDG_DATA_HOME is an absolute path.
//  4. $HOME/.local/share/sbx if HOME is an absolute, usable directory.
//  5. <home from /etc/passwd>/.local/share/sbx if that directory is usable.
//  6. Otherwise sbx refuses to run: set SBX_ROOT or XDG_DATA_HOME.
//
// Runtime directory:
//
//  1. $SBX_ROOT/run if SBX_ROOT is set.
//  2. /run/sbx when running as root.
//  3. $XDG_RUNTIME_DIR/sbx if XDG_RUNTIME_DIR is an absolute, usable
//     directory.
//  4. /run/user/<uid>/sbx if /run/user/<uid> is usable.
//  5. $TMPDIR/sbx-<uid> (TMPDIR if absolute, else /tmp). The runtime
//     directory is never placed under the home directory.
//
// A directory is "usable" when it exists and is owned by, or writable for,
// the invoking user.
//
// # Configuration files
//
// If SBX_CONFIG is set (an absolute path) it is the only configuration file
// read. Otherwise sbx reads /etc/sbx/config.toml and then a per-user file,
// the first of:
//
//   - $XDG_CONFIG_HOME/sbx/config.toml if XDG_CONFIG_HOME is absolute,
//   - $HOME/.config/sbx/config.toml if HOME is an absolute, usable directory,
//   - <home from /etc/passwd>/.config/sbx/config.toml if that is usable.
//
// The same rule applies to root. Files that do not exist are skipped. Later
// files override earlier ones key by key, so the user file only needs the
// keys it changes. Unknown keys are rejected rather than ignored, so that a
// typo cannot silently leave a default in place.
//
// The files are TOML:
//
//	[storage]
//	driver = "overlay"          # overlay, vfs or fuse-overlayfs
//	root = "/srv/sbx"           # optional; overrides the data directory's store
//	mount_program = "/usr/bin/fuse-overlayfs"
//
//	[network]
//	default = "bridge"
//	outbound = "slirp4netns"    # slirp4netns or pasta (the passt package)
//	mtu = 65520                 # 576-65535
//	icc = true
//	subnet = "10.88.0.0/16"     # IPv4 CIDR of the default bridge
//	relay_ports = false         # true: published TCP ports are never handed to servers
package config
