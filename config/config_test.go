package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefault(t *testing.T) {
	want := Config{
		Storage: Storage{Driver: "overlay", MountProgram: "/usr/bin/fuse-overlayfs"},
		Network: Network{Default: "bridge", Outbound: "slirp4netns", MTU: 65520, ICC: true, Subnet: "10.88.0.0/16"},
	}
	if got := Default(); !reflect.DeepEqual(got, want) {
		t.Errorf("Default() = %+v, want %+v", got, want)
	}
	if err := Default().Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}
}

func TestLoadNoFiles(t *testing.T) {
	dir := t.TempDir()
	cfg, read, err := Load([]string{
		filepath.Join(dir, "missing.toml"),
		filepath.Join(dir, "nodir", "config.toml"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(read) != 0 {
		t.Errorf("read = %v, want none", read)
	}
	if !reflect.DeepEqual(cfg, Default()) {
		t.Errorf("cfg = %+v, want defaults", cfg)
	}
}

func TestLoadPrecedence(t *testing.T) {
	dir := t.TempDir()
	system := writeFile(t, dir, "system.toml", `
[storage]
driver = "vfs"
root = "/srv/sbx"

[network]
mtu = 1500
icc = false
`)
	user := writeFile(t, dir, "user.toml", `
[storage]
driver = "fuse-overlayfs"

[network]
outbound = "pasta"
relay_ports = true
`)
	missing := filepath.Join(dir, "missing.toml")

	cfg, read, err := Load([]string{system, missing, user})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{system, user}; !reflect.DeepEqual(read, want) {
		t.Errorf("read = %v, want %v", read, want)
	}
	want := Default()
	want.Storage.Driver = "fuse-overlayfs" // user overrides system
	want.Storage.Root = "/srv/sbx"         // only system sets it
	want.Network.MTU = 1500
	want.Network.ICC = false // a false from an earlier file survives
	want.Network.Outbound = "pasta"
	want.Network.RelayPorts = true
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("cfg = %+v\nwant  %+v", cfg, want)
	}

	// Reversed order: the system file now has the last word on driver.
	cfg, _, err = Load([]string{user, system})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Storage.Driver != "vfs" {
		t.Errorf("driver = %q, want vfs", cfg.Storage.Driver)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []string // substrings of the error; "FILE" is replaced by the path
	}{
		{
			name:    "unknown key",
			content: "[storage]\ndrivr = \"vfs\"\n",
			want:    []string{`FILE: unknown key "storage.drivr"`},
		},
		{
			name:    "unknown table reported once",
			content: "[netwrok]\nmtu = 1500\nicc = true\n",
			want:    []string{`FILE: unknown key "netwrok"`},
		},
		{
			name:    "unknown top-level key",
			content: "debug = true\n",
			want:    []string{`FILE: unknown key "debug"`},
		},
		{
			name:    "wrong case is unknown",
			content: "[storage]\nDRIVER = \"vfs\"\n",
			want:    []string{`FILE: unknown key "storage.DRIVER"`},
		},
		{
			name:    "syntax error",
			content: "[storage]\ndriver = \"vfs\"\nroot = /srv\n",
			want:    []string{"FILE: line 3:"},
		},
		{
			name:    "bad table header",
			content: "\n\n\n\n[network]]\n",
			want:    []string{"FILE: line 5:"},
		},
		{
			name:    "wrong type",
			content: "[network]\nmtu = \"1500\"\n",
			want:    []string{"FILE: line 2", "network.mtu", "incompatible types"},
		},
		{
			name:    "table where value expected",
			content: "storage = 1\n",
			want:    []string{"FILE: "},
		},
		{
			name:    "invalid value names file",
			content: "[network]\nmtu = 70000\n",
			want:    []string{"FILE: network.mtu 70000 out of range 576-65535"},
		},
		{
			name:    "invalid driver names file",
			content: "[storage]\ndriver = \"btrfs\"\n",
			want:    []string{`FILE: storage.driver "btrfs"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Not named *.toml, so a leaked "toml:" prefix can be spotted.
			file := writeFile(t, t.TempDir(), "sbx.conf", tt.content)
			_, _, err := Load([]string{file})
			if err == nil {
				t.Fatal("Load succeeded, want error")
			}
			for _, w := range tt.want {
				w = strings.ReplaceAll(w, "FILE", file)
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "toml:") {
				t.Errorf("error %q leaks the library prefix", err)
			}
		})
	}
}

func TestLoadBlamesLastSetter(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "a.toml", "[network]\nsubnet = \"10.0.0.0/8\"\n")
	bad := writeFile(t, dir, "b.toml", "[network]\nsubnet = \"fd00::/64\"\n")
	_, _, err := Load([]string{good, bad})
	if err == nil {
		t.Fatal("Load succeeded, want error")
	}
	if !strings.HasPrefix(err.Error(), bad+": network.subnet") {
		t.Errorf("error %q should name %s", err, bad)
	}
}

func TestLoadUnreadable(t *testing.T) {
	dir := t.TempDir()
	// A directory exists but cannot be read as a file: that is an error,
	// not a skipped file.
	_, _, err := Load([]string{dir})
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("Load(dir) error = %v, want one naming %s", err, dir)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   []string // substrings; empty means valid
	}{
		{"defaults", func(*Config) {}, nil},
		{"vfs", func(c *Config) { c.Storage.Driver = "vfs" }, nil},
		{"fuse-overlayfs", func(c *Config) { c.Storage.Driver = "fuse-overlayfs" }, nil},
		{"pasta", func(c *Config) { c.Network.Outbound = "pasta" }, nil},
		{"mtu min", func(c *Config) { c.Network.MTU = 576 }, nil},
		{"mtu max", func(c *Config) { c.Network.MTU = 65535 }, nil},
		{"absolute root", func(c *Config) { c.Storage.Root = "/srv/sbx" }, nil},
		{"other subnet", func(c *Config) { c.Network.Subnet = "172.30.0.0/24" }, nil},
		{
			"unknown driver", func(c *Config) { c.Storage.Driver = "btrfs" },
			[]string{`storage.driver "btrfs"`, "overlay", "vfs", "fuse-overlayfs"},
		},
		{
			"empty driver", func(c *Config) { c.Storage.Driver = "" },
			[]string{`storage.driver ""`},
		},
		{
			"relative root", func(c *Config) { c.Storage.Root = "store" },
			[]string{`storage.root "store" must be an absolute path`},
		},
		{
			"unknown outbound", func(c *Config) { c.Network.Outbound = "vpnkit" },
			[]string{`network.outbound "vpnkit"`, "slirp4netns", "pasta"},
		},
		{
			"mtu too big", func(c *Config) { c.Network.MTU = 70000 },
			[]string{"network.mtu 70000 out of range 576-65535"},
		},
		{
			"mtu too small", func(c *Config) { c.Network.MTU = 575 },
			[]string{"network.mtu 575 out of range 576-65535"},
		},
		{
			"mtu zero", func(c *Config) { c.Network.MTU = 0 },
			[]string{"network.mtu 0 out of range"},
		},
		{
			"subnet without prefix", func(c *Config) { c.Network.Subnet = "10.88.0.0" },
			[]string{`network.subnet "10.88.0.0" is not an IPv4 CIDR`},
		},
		{
			"subnet garbage", func(c *Config) { c.Network.Subnet = "bridge" },
			[]string{`network.subnet "bridge"`},
		},
		{
			"ipv6 subnet", func(c *Config) { c.Network.Subnet = "fd00::/64" },
			[]string{`network.subnet "fd00::/64" is not an IPv4 CIDR`},
		},
		{
			"ipv4-mapped subnet", func(c *Config) { c.Network.Subnet = "::ffff:10.0.0.0/104" },
			[]string{"is not an IPv4 CIDR"},
		},
		{
			"several problems reported together",
			func(c *Config) { c.Network.MTU = 1; c.Storage.Driver = "zfs" },
			[]string{"network.mtu 1", `storage.driver "zfs"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.modify(&c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate() = nil, want error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
