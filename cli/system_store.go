//go:build !sbx_lite

package cli

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/sbx-dev/sbx/format"
	"github.com/sbx-dev/sbx/userns"
)

// Info is `sbx info`: what sbx resolved and found on this host.
type Info struct {
	Version       string
	Rootless      bool
	UID           int
	UIDMap        string
	GIDMap        string
	ConfigFiles   []string
	Config        any
	Store         StoreInfo
	RuntimeDir    string
	DataDir       string
	Helpers       map[string]string
	CgroupVersion string
	TunUsable     bool
	Kernel        string
	OS, Arch      string
}

// StoreInfo describes the layer store.
type StoreInfo struct {
	Driver     string
	GraphRoot  string
	RunRoot    string
	Images     int
	Containers int
	Layers     int
}

func infoCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:  "info",
		Usage: "Show how sbx is set up on this host",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "format output: json or a Go template"},
		},
		Action: func(c *ucli.Context) error {
			if err := format.Parse(c.String("format")); err != nil {
				return err
			}
			s, err := e.openStore()
			if err != nil {
				return err
			}
			in := Info{
				Version:     e.opts.Version,
				Rootless:    e.paths.Rootless,
				UID:         realUID(),
				ConfigFiles: e.configFiles,
				Config:      e.cfg,
				RuntimeDir:  e.paths.RuntimeDir,
				DataDir:     e.paths.DataDir,
				Helpers:     map[string]string{},
				OS:          runtime.GOOS,
				Arch:        runtime.GOARCH,
			}
			if m, err := userns.ReadMap("/proc/self/uid_map"); err == nil {
				in.UIDMap = userns.FormatMap(m)
			}
			if m, err := userns.ReadMap("/proc/self/gid_map"); err == nil {
				in.GIDMap = userns.FormatMap(m)
			}
			in.Store.Driver = s.GraphDriverName()
			in.Store.GraphRoot = s.GraphRoot()
			in.Store.RunRoot = s.RunRoot()
			if imgs, err := s.Images(); err == nil {
				in.Store.Images = len(imgs)
			}
			if ctrs, err := s.Containers(); err == nil {
				in.Store.Containers = len(ctrs)
			}
			if ls, err := s.Layers(); err == nil {
				in.Store.Layers = len(ls)
			}
			for _, h := range []string{"newuidmap", "newgidmap", "slirp4netns", "pasta", "fuse-overlayfs"} {
				p, err := exec.LookPath(h)
				if err != nil {
					p = "not found"
				}
				in.Helpers[h] = p
			}
			in.CgroupVersion = cgroupVersion()
			in.TunUsable = tunUsable()
			if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
				in.Kernel = strings.TrimSpace(string(data))
			}
			if f := c.String("format"); f != "" {
				if f == "json" {
					f = "{{json .}}"
				}
				return format.Each(e.opts.Stdout, f, []Info{in})
			}
			w := e.opts.Stdout
			fmt.Fprintf(w, "Version:         %s\n", in.Version)
			fmt.Fprintf(w, "Rootless:        %v (uid %d)\n", in.Rootless, in.UID)
			fmt.Fprintf(w, "UID map:         %s\n", in.UIDMap)
			fmt.Fprintf(w, "GID map:         %s\n", in.GIDMap)
			fmt.Fprintf(w, "Config files:    %s\n", orNone(strings.Join(in.ConfigFiles, ", ")))
			fmt.Fprintf(w, "Storage driver:  %s\n", in.Store.Driver)
			fmt.Fprintf(w, "Store:           %s\n", in.Store.GraphRoot)
			fmt.Fprintf(w, "Run root:        %s\n", in.Store.RunRoot)
			fmt.Fprintf(w, "Data dir:        %s\n", in.DataDir)
			fmt.Fprintf(w, "Runtime dir:     %s\n", in.RuntimeDir)
			fmt.Fprintf(w, "Images:          %d\n", in.Store.Images)
			fmt.Fprintf(w, "Containers:      %d\n", in.Store.Containers)
			fmt.Fprintf(w, "Default network: %s (outbound %s, mtu %d, icc %v)\n", e.cfg.Network.Default, e.cfg.Network.Outbound, e.cfg.Network.MTU, e.cfg.Network.ICC)
			fmt.Fprintf(w, "Cgroups:         %s\n", in.CgroupVersion)
			fmt.Fprintf(w, "/dev/net/tun:    %s\n", map[bool]string{true: "usable", false: "not usable (chmod 0666 /dev/net/tun as root)"}[in.TunUsable])
			fmt.Fprintf(w, "Kernel:          %s\n", in.Kernel)
			fmt.Fprintln(w, "Helpers:")
			for _, h := range []string{"newuidmap", "newgidmap", "slirp4netns", "pasta", "fuse-overlayfs"} {
				fmt.Fprintf(w, "  %-15s %s\n", h+":", in.Helpers[h])
			}
			return nil
		},
	}
}

func orNone(s string) string {
	if s == "" {
		return "none (built-in defaults)"
	}
	return s
}

func realUID() int {
	if v := os.Getenv("_CONTAINERS_ROOTLESS_UID"); v != "" {
		var u int
		fmt.Sscan(v, &u)
		return u
	}
	return os.Getuid()
}

// cgroupVersion tells apart a pure cgroup2 host, a hybrid one (cgroup2 mounted beside the
// v1 controllers, where rootless limits are impossible) and a v1 one.
func cgroupVersion() string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "unknown"
	}
	var v1, v2 bool
	for _, line := range strings.Split(string(data), "\n") {
		if i := strings.Index(line, " - "); i >= 0 {
			f := strings.Fields(line[i+3:])
			if len(f) > 0 && f[0] == "cgroup2" {
				v2 = true
			}
			if len(f) > 0 && f[0] == "cgroup" {
				v1 = true
			}
		}
	}
	switch {
	case v1 && v2:
		return "v1 (hybrid, cgroup2 without controllers)"
	case v2:
		return "v2"
	case v1:
		return "v1"
	}
	return "none"
}

func tunUsable() bool {
	f, err := os.OpenFile("/dev/net/tun", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

func systemCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:  "system",
		Usage: "Manage sbx's own state",
		Subcommands: []*ucli.Command{
			{
				Name:  "reset",
				Usage: "Delete every image, layer and container of this user's store",
				Flags: []ucli.Flag{
					&ucli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do it (sbx never prompts)"},
				},
				Action: func(c *ucli.Context) error {
					if !c.Bool("force") {
						return fmt.Errorf("system reset deletes all images, containers and volumes of this user; pass --force to do it")
					}
					rt, err := e.runtime()
					if err != nil {
						return err
					}
					// Containers first: a running one holds its layer mounted.
					ctrs, err := rt.List()
					if err != nil {
						return err
					}
					for _, ctr := range ctrs {
						if err := rt.Remove(ctr, true, true); err != nil {
							return err
						}
					}
					s, err := e.openStore()
					if err != nil {
						return err
					}
					graph := s.GraphRoot()
					// Shutdown(true) unmounts whatever is still mounted so the removal
					// below cannot fail on a busy mount.
					if _, err := s.Shutdown(true); err != nil {
						return fmt.Errorf("shutting the store down: %w", err)
					}
					e.stores.store = nil
					// Removed from inside the user namespace: files owned by subordinate
					// ids are the user's to delete only from here.
					if err := os.RemoveAll(graph); err != nil {
						return err
					}
					// The init programs and seccomp filters kept for starts (run.Runtime.InitDir),
					// and what was known of the images.
					os.RemoveAll(e.programDir())
					os.Remove(e.knownImagesPath())
					return os.RemoveAll(e.paths.DataDir)
				},
			},
		},
	}
}
