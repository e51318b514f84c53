package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"

	"github.com/BurntSushi/toml"
)

// Config is sbx's resolved configuration.
type Config struct {
	Storage Storage `toml:"storage"`
	Network Network `toml:"network"`
}

// Storage configures the image and layer store.
type Storage struct {
	// Driver is "overlay" (default), "vfs" or "fuse-overlayfs".
	Driver string `toml:"driver"`
	// Root overrides the image/layer store directory; empty keeps the
	// directory derived from the data directory.
	Root string `toml:"root"`
	// MountProgram is the fuse-overlayfs binary used by that driver.
	MountProgram string `toml:"mount_program"`
}

// Network configures container networking.
type Network struct {
	// Default is the network containers join when none is given.
	Default string `toml:"default"`
	// Outbound is the user-mode network stack: "slirp4netns" or "pasta".
	Outbound string `toml:"outbound"`
	MTU      int    `toml:"mtu"`
	// ICC allows containers on the same bridge to talk to each other.
	ICC bool `toml:"icc"`
	// Subnet is the IPv4 CIDR of the default bridge.
	Subnet string `toml:"subnet"`
	// RelayPorts keeps every published TCP port on the supervisor's relay. By default a
	// server that binds a published port is handed the host's listener instead (see
	// netns/binds.go): loopback speed and the clients' own addresses, but connections from
	// the container's side reach it from the host's loopback.
	RelayPorts bool `toml:"relay_ports"`
}

// Allowed values, kept in one place so Validate's messages list exactly what
// it accepts.
const (
	DriverOverlay       = "overlay"
	DriverVFS           = "vfs"
	DriverFuseOverlayfs = "fuse-overlayfs"

	OutboundSlirp4netns = "slirp4netns"
	OutboundPasta       = "pasta"

	MinMTU = 576   // smallest MTU every IPv4 host must accept (RFC 791)
	MaxMTU = 65535 // largest value the IPv4 total-length field can carry
)

// Default returns the configuration used when no file sets a key.
func Default() Config {
	return Config{
		Storage: Storage{
			Driver:       DriverOverlay,
			MountProgram: "/usr/bin/fuse-overlayfs",
		},
		Network: Network{
			Default:  "bridge",
			Outbound: OutboundSlirp4netns,
			// 65520 is what slirp4netns and pasta use by default; a large
			// MTU is markedly faster for user-mode networking.
			MTU:    65520,
			ICC:    true,
			Subnet: "10.88.0.0/16",
		},
	}
}

// Load starts from Default() and applies each existing file in order (later
// files override earlier ones, key by key: a key absent from a later file
// keeps the earlier value). A file that does not exist is skipped. Returns the
// config and the list of files actually read.
//
// The result is validated; an invalid value is reported with the file that
// set it.
func Load(files []string) (Config, []string, error) {
	cfg := Default()
	var read []string
	// origin records which file last set each key, so a validation error can
	// point at the file to edit.
	origin := map[string]string{}
	known := knownKeys()

	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			// ENOTDIR: a path component is a regular file, which for our
			// purposes is the same as the file not being there.
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				continue
			}
			return Config{}, nil, err // *PathError already names the file
		}
		read = append(read, file)

		// Decoding into the accumulated struct is what gives key-by-key
		// override: BurntSushi/toml leaves fields absent from the input alone.
		md, err := toml.Decode(string(data), &cfg)
		if err != nil {
			return Config{}, nil, decodeError(file, err)
		}
		if err := unknownKeys(file, md, known); err != nil {
			return Config{}, nil, err
		}
		for _, k := range md.Keys() {
			origin[k.String()] = file
		}
	}

	var errs []error
	for _, p := range cfg.problems() {
		if file := origin[p.key]; file != "" {
			errs = append(errs, fmt.Errorf("%s: %s", file, p.msg))
		} else {
			errs = append(errs, errors.New(p.msg))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, nil, err
	}
	return cfg, read, nil
}

// decodeError rewrites a toml error so it leads with the file name; the
// library's own "toml:" prefix means nothing to a user editing a file.
func decodeError(file string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: line %d: %s", file, pe.Position.Line, pe.Message)
	}
	// Type mismatches are plain errors of the form
	// `toml: line N (last key "k"): incompatible types: ...`.
	return fmt.Errorf("%s: %s", file, strings.TrimPrefix(err.Error(), "toml: "))
}

// unknownKeys rejects keys Decode did not store. Besides Undecoded it checks
// for exact spelling, because BurntSushi/toml matches field names
// case-insensitively and "DRIVER" would otherwise be accepted yet be a key no
// documentation mentions.
func unknownKeys(file string, md toml.MetaData, known map[string]bool) error {
	undecoded := map[string]bool{}
	for _, k := range md.Undecoded() {
		undecoded[k.String()] = true
	}
	var errs []error
	var reported []toml.Key
	for _, k := range md.Keys() {
		s := k.String()
		if !undecoded[s] && known[s] {
			continue
		}
		// Report an unknown table once, not once per key inside it.
		if hasPrefix(k, reported) {
			continue
		}
		reported = append(reported, k)
		errs = append(errs, fmt.Errorf("%s: unknown key %q", file, s))
	}
	return errors.Join(errs...)
}

func hasPrefix(k toml.Key, prefixes []toml.Key) bool {
	for _, p := range prefixes {
		if len(p) < len(k) && slices.Equal(p, k[:len(p)]) {
			return true
		}
	}
	return false
}

// knownKeys lists every dotted key Config accepts, derived from the struct
// tags so adding a field cannot forget to whitelist it.
func knownKeys() map[string]bool {
	keys := map[string]bool{}
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			if name == "" || name == "-" {
				continue
			}
			key := prefix + name
			keys[key] = true
			if f.Type.Kind() == reflect.Struct {
				walk(key+".", f.Type)
			}
		}
	}
	walk("", reflect.TypeFor[Config]())
	return keys
}

// Validate reports every invalid value, naming the key, the value and what
// is allowed.
func (c Config) Validate() error {
	var errs []error
	for _, p := range c.problems() {
		errs = append(errs, errors.New(p.msg))
	}
	return errors.Join(errs...)
}

type problem struct {
	key string // dotted TOML key, used by Load to find the file that set it
	msg string
}

func (c Config) problems() []problem {
	var ps []problem
	add := func(key, format string, args ...any) {
		ps = append(ps, problem{key, fmt.Sprintf(format, args...)})
	}

	switch c.Storage.Driver {
	case DriverOverlay, DriverVFS, DriverFuseOverlayfs:
	default:
		add("storage.driver", "storage.driver %q is not supported; use %s, %s or %s",
			c.Storage.Driver, DriverOverlay, DriverVFS, DriverFuseOverlayfs)
	}
	// A relative store root would move with the working directory, silently
	// splitting images across several stores.
	if c.Storage.Root != "" && !filepath.IsAbs(c.Storage.Root) {
		add("storage.root", "storage.root %q must be an absolute path", c.Storage.Root)
	}

	switch c.Network.Outbound {
	case OutboundSlirp4netns, OutboundPasta:
	default:
		add("network.outbound", "network.outbound %q is not supported; use %s or %s",
			c.Network.Outbound, OutboundSlirp4netns, OutboundPasta)
	}
	if c.Network.MTU < MinMTU || c.Network.MTU > MaxMTU {
		add("network.mtu", "network.mtu %d out of range %d-%d", c.Network.MTU, MinMTU, MaxMTU)
	}
	if p, err := netip.ParsePrefix(c.Network.Subnet); err != nil || !p.Addr().Is4() {
		add("network.subnet", "network.subnet %q is not an IPv4 CIDR (for example 10.88.0.0/16)",
			c.Network.Subnet)
	}
	return ps
}
