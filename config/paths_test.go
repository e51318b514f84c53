package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestResolvePaths(t *testing.T) {
	const sys = "/etc/sbx/config.toml"
	tests := []struct {
		name       string
		uid        int
		env        map[string]string
		passwdHome string
		usable     []string
		want       Paths
		wantErr    string
	}{
		{
			name:   "root defaults",
			uid:    0,
			env:    map[string]string{"HOME": "/root"},
			usable: []string{"/root"},
			want: Paths{
				DataDir: "/var/lib/sbx", RuntimeDir: "/run/sbx",
				ConfigFiles: []string{sys, "/root/.config/sbx/config.toml"},
			},
		},
		{
			name: "root ignores XDG dirs for data and runtime",
			uid:  0,
			env: map[string]string{
				"HOME": "/root", "XDG_DATA_HOME": "/x/data", "XDG_RUNTIME_DIR": "/run/user/0",
				"XDG_CONFIG_HOME": "/x/config",
			},
			usable: []string{"/root", "/run/user/0"},
			want: Paths{
				DataDir: "/var/lib/sbx", RuntimeDir: "/run/sbx",
				ConfigFiles: []string{sys, "/x/config/sbx/config.toml"},
			},
		},
		{
			name:       "root with no usable home has only the system config",
			uid:        0,
			env:        map[string]string{"HOME": "/"},
			passwdHome: "/root",
			want: Paths{
				DataDir: "/var/lib/sbx", RuntimeDir: "/run/sbx",
				ConfigFiles: []string{sys},
			},
		},
		{
			name:   "SBX_ROOT as root",
			uid:    0,
			env:    map[string]string{"SBX_ROOT": "/srv/sbx", "HOME": "/root"},
			usable: []string{"/root"},
			want: Paths{
				DataDir: "/srv/sbx/data", RuntimeDir: "/srv/sbx/run",
				ConfigFiles: []string{sys, "/root/.config/sbx/config.toml"},
			},
		},
		{
			name: "SBX_ROOT rootless beats XDG",
			uid:  1000,
			env: map[string]string{
				"SBX_ROOT": "/tmp/t/", "HOME": "/home/u",
				"XDG_DATA_HOME": "/home/u/.data", "XDG_RUNTIME_DIR": "/run/user/1000",
			},
			usable: []string{"/home/u", "/run/user/1000"},
			want: Paths{
				Rootless: true,
				DataDir:  "/tmp/t/data", RuntimeDir: "/tmp/t/run",
				ConfigFiles: []string{sys, "/home/u/.config/sbx/config.toml"},
			},
		},
		{
			name:    "relative SBX_ROOT",
			uid:     1000,
			env:     map[string]string{"SBX_ROOT": "x"},
			wantErr: `SBX_ROOT must be an absolute path, got "x"`,
		},
		{
			name:    "relative SBX_ROOT as root",
			uid:     0,
			env:     map[string]string{"SBX_ROOT": "./sbx"},
			wantErr: `SBX_ROOT must be an absolute path, got "./sbx"`,
		},
		{
			name: "rootless XDG everything",
			uid:  1000,
			env: map[string]string{
				"HOME": "/home/u", "XDG_DATA_HOME": "/xdg/data",
				"XDG_RUNTIME_DIR": "/xdg/run", "XDG_CONFIG_HOME": "/xdg/config",
			},
			usable: []string{"/home/u", "/xdg/run", "/run/user/1000"},
			want: Paths{
				Rootless: true,
				DataDir:  "/xdg/data/sbx", RuntimeDir: "/xdg/run/sbx",
				ConfigFiles: []string{sys, "/xdg/config/sbx/config.toml"},
			},
		},
		{
			name:   "rootless typical desktop",
			uid:    1000,
			env:    map[string]string{"HOME": "/home/u", "XDG_RUNTIME_DIR": "/run/user/1000"},
			usable: []string{"/home/u", "/run/user/1000"},
			want: Paths{
				Rootless: true,
				DataDir:  "/home/u/.local/share/sbx", RuntimeDir: "/run/user/1000/sbx",
				ConfigFiles: []string{sys, "/home/u/.config/sbx/config.toml"},
			},
		},
		{
			name: "relative XDG values are ignored",
			uid:  1000,
			env: map[string]string{
				"HOME": "/home/u", "XDG_DATA_HOME": "data", "XDG_RUNTIME_DIR": "run",
				"XDG_CONFIG_HOME": "config", "TMPDIR": "tmp",
			},
			usable: []string{"/home/u", "run"},
			want: Paths{
				Rootless: true,
				DataDir:  "/home/u/.local/share/sbx", RuntimeDir: "/tmp/sbx-1000",
				ConfigFiles: []string{sys, "/home/u/.config/sbx/config.toml"},
			},
		},
		{
			name:   "unusable XDG_RUNTIME_DIR falls back to /run/user",
			uid:    1000,
			env:    map[string]string{"HOME": "/home/u", "XDG_RUNTIME_DIR": "/run/user/0"},
			usable: []string{"/home/u", "/run/user/1000"},
			want: Paths{
				Rootless: true,
				DataDir:  "/home/u/.local/share/sbx", RuntimeDir: "/run/user/1000/sbx",
				ConfigFiles: []string{sys, "/home/u/.config/sbx/config.toml"},
			},
		},
		{
			name:   "no runtime dir falls back to TMPDIR",
			uid:    1000,
			env:    map[string]string{"HOME": "/home/u", "TMPDIR": "/var/tmp"},
			usable: []string{"/home/u"},
			want: Paths{
				Rootless: true,
				DataDir:  "/home/u/.local/share/sbx", RuntimeDir: "/var/tmp/sbx-1000",
				ConfigFiles: []string{sys, "/home/u/.config/sbx/config.toml"},
			},
		},
		{
			name:       "relative HOME is not used",
			uid:        1000,
			env:        map[string]string{"HOME": "home/u"},
			usable:     []string{"home/u", "/home/u"},
			passwdHome: "/home/u",
			want: Paths{
				Rootless: true,
				DataDir:  "/home/u/.local/share/sbx", RuntimeDir: "/tmp/sbx-1000",
				ConfigFiles: []string{sys, "/home/u/.config/sbx/config.toml"},
			},
		},
		{
			// testscript sets HOME=/no-home and clears XDG variables.
			name:       "testscript with passwd home",
			uid:        1000,
			env:        map[string]string{"HOME": "/no-home", "TMPDIR": "/tmp/ts/tmp"},
			passwdHome: "/home/u",
			usable:     []string{"/home/u"},
			want: Paths{
				Rootless: true,
				DataDir:  "/home/u/.local/share/sbx", RuntimeDir: "/tmp/ts/tmp/sbx-1000",
				ConfigFiles: []string{sys, "/home/u/.config/sbx/config.toml"},
			},
		},
		{
			name:       "testscript without passwd home",
			uid:        1000,
			env:        map[string]string{"HOME": "/no-home", "TMPDIR": "/tmp/ts/tmp"},
			passwdHome: "",
			wantErr:    "cannot find a place for the image store: set SBX_ROOT or XDG_DATA_HOME to a writable directory",
		},
		{
			name:       "unusable passwd home",
			uid:        1000,
			env:        map[string]string{"HOME": "/no-home"},
			passwdHome: "/nonexistent",
			wantErr:    "cannot find a place for the image store",
		},
		{
			// Without a data home, the runtime dir still resolves (to TMPDIR),
			// so SBX_ROOT is not the only escape: XDG_DATA_HOME suffices.
			name: "testscript with XDG_DATA_HOME only",
			uid:  1000,
			env:  map[string]string{"HOME": "/no-home", "TMPDIR": "/tmp/ts/tmp", "XDG_DATA_HOME": "/tmp/ts/data"},
			want: Paths{
				Rootless: true,
				DataDir:  "/tmp/ts/data/sbx", RuntimeDir: "/tmp/ts/tmp/sbx-1000",
				ConfigFiles: []string{sys},
			},
		},
		{
			name:   "SBX_CONFIG replaces both files",
			uid:    1000,
			env:    map[string]string{"HOME": "/home/u", "SBX_CONFIG": "/etc/other.toml", "XDG_CONFIG_HOME": "/xdg/config"},
			usable: []string{"/home/u"},
			want: Paths{
				Rootless: true,
				DataDir:  "/home/u/.local/share/sbx", RuntimeDir: "/tmp/sbx-1000",
				ConfigFiles: []string{"/etc/other.toml"},
			},
		},
		{
			name:    "relative SBX_CONFIG",
			uid:     1000,
			env:     map[string]string{"HOME": "/home/u", "SBX_CONFIG": "sbx.toml"},
			usable:  []string{"/home/u"},
			wantErr: `SBX_CONFIG must be an absolute path, got "sbx.toml"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			usable := map[string]bool{}
			for _, d := range tt.usable {
				usable[d] = true
			}
			got, err := ResolvePaths(Env{
				UID:        tt.uid,
				Getenv:     func(k string) string { return tt.env[k] },
				PasswdHome: tt.passwdHome,
				DirUsable:  func(p string) bool { return usable[p] },
			})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ResolvePaths() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ResolvePaths() error = %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ResolvePaths() =\n  %+v\nwant\n  %+v", got, tt.want)
			}
		})
	}
}

func TestResolvePathsNilFuncs(t *testing.T) {
	// A zero Env must not panic; with nothing usable a rootless user has no
	// data dir.
	if _, err := ResolvePaths(Env{UID: 1000}); err == nil {
		t.Error("ResolvePaths(Env{UID: 1000}) succeeded, want error")
	}
	got, err := ResolvePaths(Env{})
	if err != nil {
		t.Fatal(err)
	}
	want := Paths{DataDir: "/var/lib/sbx", RuntimeDir: "/run/sbx", ConfigFiles: []string{"/etc/sbx/config.toml"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ResolvePaths(Env{}) = %+v, want %+v", got, want)
	}
}
